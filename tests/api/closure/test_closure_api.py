"""Issue 15 §5: the deal checklist per deal type (GET/PATCH /pipelines/{id}/checklist), document uploads
(POST /pipelines/{id}/documents: PDF/JPEG/PNG by content, size limit, SHA-256, on disk), and CLOSED_WON refused
(409 naming the missing items) from AGREEMENT_PENDING until the checklist is complete."""
from __future__ import annotations

import hashlib
import uuid
from pathlib import Path

import pytest

from sales.closure.models import deal_documents
from tests.builders import API, make_lead, make_pipeline, make_rm_with_team, move
from tests.checks import audit_rows, count

PDF = b"%PDF-1.7\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64
RENT_ITEMS = ["agreement_drafted", "token_amount_received", "id_documents_collected", "move_in_date_fixed"]


@pytest.fixture
def documents_dir(app, tmp_path):  # type: ignore[no-untyped-def]
    """Documents go to a fresh directory, with a 4 KiB limit, for this test."""
    original = app.state.settings
    app.state.settings = original.model_copy(update={"documents_dir": str(tmp_path), "max_document_bytes": 4096})
    yield tmp_path
    app.state.settings = original


async def _world(client, auth, engine, segment="TENANT"):  # type: ignore[no-untyped-def]
    team, rm = await make_rm_with_team(client, auth.admin)
    lead = await make_lead(engine, segment=segment)
    pipeline = await make_pipeline(client, auth.admin, rm_id=rm["id"], lead_id=str(lead["id"]))
    return team, rm, pipeline, auth.rm(uuid.UUID(rm["id"]))


async def test_rent_checklist_by_default_and_ticking(client, auth, engine):
    _, rm, pipeline, headers = await _world(client, auth, engine)
    path = f"{API}/pipelines/{pipeline['id']}/checklist"
    r = await client.get(path, headers=headers)
    assert r.status_code == 200
    assert r.json()["deal_type"] == "RENT" and r.json()["missing_items"] == RENT_ITEMS
    assert r.json()["complete"] is False and r.json()["version"] == 0
    r = await client.patch(path, json={"agreement_drafted": True, "token_amount_received": True}, headers=headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["missing_items"] == ["id_documents_collected", "move_in_date_fixed"] and body["version"] == 1
    ticked = next(i for i in body["items"] if i["key"] == "agreement_drafted")
    assert ticked["done"] is True and ticked["done_by"] == rm["id"]
    r = await client.patch(path, json={"agreement_drafted": False}, headers=headers)
    assert "agreement_drafted" in r.json()["missing_items"]
    assert [a.action for a in await audit_rows(engine, entity_type="pipeline", action="checklist.updated")] == [
        "checklist.updated", "checklist.updated"]


async def test_a_buyers_deal_is_a_sale_and_the_type_can_change(client, auth, engine):
    _, _, pipeline, headers = await _world(client, auth, engine, segment="BUYER")
    path = f"{API}/pipelines/{pipeline['id']}/checklist"
    assert (await client.get(path, headers=headers)).json()["deal_type"] == "SALE"
    r = await client.patch(path, json={"move_in_date_fixed": True}, headers=headers)
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "move_in_date_fixed"]
    r = await client.patch(path, json={"deal_type": "RENT", "move_in_date_fixed": True}, headers=headers)
    assert r.status_code == 200 and r.json()["deal_type"] == "RENT"


async def test_closed_won_from_agreement_pending_waits_for_the_checklist(client, auth, engine):
    _, _, pipeline, headers = await _world(client, auth, engine)
    assert (await move(client, headers, pipeline["id"], "AGREEMENT_PENDING")).status_code == 200
    r = await move(client, headers, pipeline["id"], "CLOSED_WON", deal_value=30000)
    assert r.status_code == 409, r.text
    assert r.json()["code"] == "checklist_incomplete" and r.json()["missing_items"] == RENT_ITEMS
    path = f"{API}/pipelines/{pipeline['id']}/checklist"
    await client.patch(path, json={k: True for k in RENT_ITEMS[:3]}, headers=headers)
    r = await move(client, headers, pipeline["id"], "CLOSED_WON", deal_value=30000)
    assert r.status_code == 409 and r.json()["missing_items"] == ["move_in_date_fixed"]
    await client.patch(path, json={"move_in_date_fixed": True}, headers=headers)
    r = await move(client, headers, pipeline["id"], "CLOSED_WON", deal_value=30000)
    assert r.status_code == 200 and r.json()["stage"] == "CLOSED_WON"
    r = await client.patch(path, json={"move_in_date_fixed": False}, headers=headers)
    assert r.status_code == 409  # a closed deal's checklist stays as it was


async def test_a_started_checklist_gates_a_direct_close_too(client, auth, engine):
    _, _, pipeline, headers = await _world(client, auth, engine)
    await client.patch(f"{API}/pipelines/{pipeline['id']}/checklist", json={"agreement_drafted": True},
                       headers=headers)
    r = await move(client, headers, pipeline["id"], "CLOSED_WON", deal_value=30000)
    assert r.status_code == 409 and "token_amount_received" in r.json()["missing_items"]


async def test_checklist_scoping_and_bad_input(client, auth, engine):
    team, _, pipeline, headers = await _world(client, auth, engine)
    path = f"{API}/pipelines/{pipeline['id']}/checklist"
    assert (await client.get(path)).status_code == 401
    assert (await client.get(path, headers=auth.headers("CUSTOMER"))).status_code == 403
    assert (await client.patch(path, json={"agreement_drafted": True},
                               headers=auth.headers("FINANCE_ADMIN"))).status_code == 403
    assert (await client.get(path, headers=auth.rm(uuid.uuid4()))).status_code == 404
    assert (await client.get(path, headers=auth.supervisor(uuid.UUID(team["id"])))).status_code == 200
    assert (await client.get(f"{API}/pipelines/{uuid.uuid4()}/checklist", headers=auth.admin)).status_code == 404
    for body in ({"agreement_drafted": "yes"}, {"unknown_item": True}, {"deal_type": "LEASE"},
                 {"agreement_drafted": None}):
        r = await client.patch(path, json=body, headers=headers)
        assert r.status_code == 422, (body, r.text)
    assert (await client.get(path, headers=headers)).json()["version"] == 0


async def _upload(client, headers, pipeline_id, name, content, content_type="application/octet-stream", kind=None):  # type: ignore[no-untyped-def]
    data = {"kind": kind} if kind else None
    return await client.post(f"{API}/pipelines/{pipeline_id}/documents", headers=headers,
                             files={"file": (name, content, content_type)}, data=data)


async def test_documents_are_checked_by_content_and_kept_with_their_checksum(client, auth, engine, documents_dir):
    _, rm, pipeline, headers = await _world(client, auth, engine)
    r = await _upload(client, headers, pipeline["id"], "agreement.pdf", PDF, "application/pdf", kind="AGREEMENT")
    assert r.status_code == 201, r.text
    doc = r.json()
    digest = hashlib.sha256(PDF).hexdigest()
    assert (doc["kind"], doc["content_type"], doc["size_bytes"], doc["sha256"], doc["uploaded_by"]) == (
        "AGREEMENT", "application/pdf", len(PDF), digest, rm["id"])
    assert (Path(documents_dir) / digest[:2] / f"{digest}.pdf").read_bytes() == PDF
    for name, content in (("id.png", PNG), ("id.JPG", JPEG), ("id.jpeg", JPEG)):
        assert (await _upload(client, headers, pipeline["id"], name, content)).status_code == 201
    r = await client.get(f"{API}/pipelines/{pipeline['id']}/documents", headers=headers)
    assert [d["filename"] for d in r.json()] == ["agreement.pdf", "id.png", "id.JPG", "id.jpeg"]


async def test_uploads_too_big_wrong_type_or_spoofed_are_refused(client, auth, engine, documents_dir):
    _, _, pipeline, headers = await _world(client, auth, engine)
    cases = [
        ("big.pdf", PDF + b"\x00" * 5000, "application/pdf", 413),   # over the (test) limit of 4096 bytes
        ("notes.txt", b"just some text", "text/plain", 415),         # not a document type
        ("run.pdf", b"MZ\x90\x00 executable", "application/pdf", 415),  # a .pdf name on non-PDF content
        ("photo.pdf", PNG, "application/pdf", 415),                  # spoofed extension: PNG content
        ("scan.png", PDF, "image/png", 415),                         # spoofed extension: PDF content
        ("scan.pdf", PDF, "image/png", 415),                         # declared type disagrees with content
        ("noextension", PDF, "application/pdf", 415),
        ("empty.pdf", b"", "application/pdf", 422),
    ]
    for name, content, content_type, status in cases:
        r = await _upload(client, headers, pipeline["id"], name, content, content_type)
        assert r.status_code == status, (name, r.text)
    r = await _upload(client, headers, pipeline["id"], "a.pdf", PDF, kind="PASSPORT")
    assert r.status_code == 422
    r = await client.post(f"{API}/pipelines/{pipeline['id']}/documents", headers=headers, json={"file": "x"})
    assert r.status_code == 422
    assert await count(engine, deal_documents) == 0
    assert list(Path(documents_dir).iterdir()) == []


async def test_document_scoping(client, auth, engine, documents_dir):
    _, _, pipeline, _ = await _world(client, auth, engine)
    assert (await _upload(client, {}, pipeline["id"], "a.pdf", PDF)).status_code == 401
    assert (await _upload(client, auth.headers("FINANCE_ADMIN"), pipeline["id"], "a.pdf", PDF)).status_code == 403
    assert (await _upload(client, auth.rm(uuid.uuid4()), pipeline["id"], "a.pdf", PDF)).status_code == 404
    assert (await client.get(f"{API}/pipelines/{pipeline['id']}/documents",
                             headers=auth.rm(uuid.uuid4()))).status_code == 404
    assert await count(engine, deal_documents) == 0
