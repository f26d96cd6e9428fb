"""Guarantees per plan (GET/PUT /guarantees), GUARANTEE_CLAIM requests under their guarantee's terms, and claim
evidence (POST /refunds/{id}/evidence) (issue 12; PRD §2.2.3, US-SALE-020)."""
from __future__ import annotations

import hashlib
import uuid
from decimal import Decimal
from pathlib import Path

import pytest

from sales.refunds.models import plan_guarantees, refund_evidence, refunds
from tests.api.refunds.test_refund_requests_api import REFUNDS, body, bought
from tests.builders import API
from tests.checks import assert_problem, audit_rows, count, events, exact_json, fetch
from tests.commerce_builders import send

GUARANTEES = f"{API}/guarantees"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64
PDF = b"%PDF-1.7\n" + b"x" * 64


def prime(plan_id, **overrides):  # type: ignore[no-untyped-def]
    """Prime: full refund if fewer than 3 owners respond within 10 days."""
    return {"plan_id": plan_id, "description": "Full refund if fewer than 3 owners respond within 10 days",
            "window_days": 10, "condition": {"metric": "owner_responses", "lt": 3, "within_days": 10},
            "refund_percentage": 100, "evidence_required": ["contact_log"], **overrides}


async def plan_of(client, auth, order):  # type: ignore[no-untyped-def]
    response = await client.get(f"{API}/orders/{order['order_id']}", headers=auth.headers("SALES_ADMIN"))
    return response.json()["plan_id"]


async def guaranteed_order(client, auth, **guarantee):  # type: ignore[no-untyped-def]
    order = await bought(client, auth)  # 1499.00 paid 2026-01-05T10:00Z; clock 2026-01-07T11:00Z
    plan_id = await plan_of(client, auth, order)
    response = await send(client, "PUT", GUARANTEES, {"items": [prime(plan_id, **guarantee)]}, auth.admin)
    assert response.status_code == 200, response.text
    return order, plan_id


def claim(order, **overrides):  # type: ignore[no-untyped-def]
    return body(order, type="GUARANTEE_CLAIM", reason="Only 1 owner responded in 10 days", **overrides)


@pytest.fixture
def evidence_dir(app, tmp_path):  # type: ignore[no-untyped-def]
    """Evidence stored under a temporary directory, at most 1,024 bytes a file."""
    settings = app.state.settings
    app.state.settings = settings.model_copy(update={"evidence_dir": str(tmp_path), "max_evidence_bytes": 1024})
    yield tmp_path
    app.state.settings = settings


async def test_sales_admin_puts_guarantees_staff_read_them(client, auth, engine):
    order, plan_id = await guaranteed_order(client, auth)
    for role in ("SUPPORT_AGENT", "SUPERVISOR", "SALES_ADMIN", "FINANCE_ADMIN"):
        response = await client.get(GUARANTEES, headers=auth.headers(role))
        assert response.status_code == 200, response.text
        [got] = response.json()["items"]
        assert {k: got[k] for k in prime(plan_id)} == prime(plan_id)
    assert [a.action for a in await audit_rows(engine, entity_type="plan_guarantee")] == ["guarantee.changed"]
    # the same set again changes nothing; an empty set removes it
    assert (await send(client, "PUT", GUARANTEES, {"items": [prime(plan_id)]}, auth.admin)).status_code == 200
    assert len(await audit_rows(engine, entity_type="plan_guarantee")) == 1
    response = await send(client, "PUT", GUARANTEES, {"items": []}, auth.admin)
    assert (response.status_code, response.json()["items"]) == (200, [])
    assert await count(engine, plan_guarantees) == 0


async def test_guarantees_auth_and_bad_input(client, auth, engine):
    order = await bought(client, auth)
    plan_id = await plan_of(client, auth, order)
    assert_problem(await client.get(GUARANTEES), 401, "not_authenticated")
    for role in ("CUSTOMER", "RM", "PRODUCT_MANAGER"):
        assert_problem(await client.get(GUARANTEES, headers=auth.headers(role)), 403, "forbidden")
    for role in ("SUPPORT_AGENT", "SUPERVISOR", "FINANCE_ADMIN", "CUSTOMER"):
        assert_problem(await send(client, "PUT", GUARANTEES, {"items": [prime(plan_id)]}, auth.headers(role)),
                       403, "forbidden")
    for bad, loc in [
            ({"plan_id": str(uuid.uuid4())}, ["body", "items", 0, "plan_id"]),
            ({"window_days": 0}, ["body", "items", 0, "window_days"]),
            ({"refund_percentage": 101}, ["body", "items", 0, "refund_percentage"]),
            ({"refund_percentage": "100"}, ["body", "items", 0, "refund_percentage"]),
            ({"description": ""}, ["body", "items", 0, "description"]),
            ({"condition": {"metric": "owner_responses", "within_days": 10}}, ["body", "items", 0, "condition"]),
            ({"condition": {"metric": "owner_responses", "lt": 3, "gt": 1}}, ["body", "items", 0, "condition"]),
            ({"evidence_required": ["Bad Kind"]}, ["body", "items", 0, "evidence_required", 0])]:
        item = {**prime(plan_id), **bad}
        assert_problem(await send(client, "PUT", GUARANTEES, {"items": [item]}, auth.admin), 422,
                       "validation_error", loc=loc)
    twice = {"items": [prime(plan_id), prime(plan_id)]}
    assert_problem(await send(client, "PUT", GUARANTEES, twice, auth.admin), 422, "validation_error",
                   loc=["body", "items", 1, "plan_id"])
    assert await count(engine, plan_guarantees) == 0


async def test_a_claim_within_the_guarantee_window_is_investigated_for_its_percentage(client, auth, engine):
    order, _ = await guaranteed_order(client, auth, refund_percentage=50)
    response = await send(client, "POST", REFUNDS, claim(order), order["customer"])
    assert response.status_code == 201, response.text
    got = exact_json(response)
    assert (got["type"], got["status"], got["approval"], got["refundable_amount"], got["requested_amount"]) == (
        "GUARANTEE_CLAIM", "UNDER_INVESTIGATION", "SUPPORT_AGENT", Decimal("749.50"), Decimal("749.50"))
    assert [(r["id"], r["passed"]) for r in got["rules"]] == [
        ("GUARANTEE", True), ("GUARANTEE-WINDOW", True), ("GUARANTEE-AMOUNT", True), ("RFR-005", True),
        ("RFR-004", True)]
    assert await events(engine, type="sales.refund.requested") == []
    # a claim is never approved automatically, even under Rs. 500
    other, _ = await guaranteed_order(client, auth, refund_percentage=10)
    small = exact_json(await send(client, "POST", REFUNDS, claim(other), other["customer"]))
    assert (small["status"], small["requested_amount"], small["approval"]) == (
        "UNDER_INVESTIGATION", Decimal("149.90"), "SUPPORT_AGENT")


async def test_eligibility_of_a_claim_shows_the_guarantees_terms(client, auth):
    order, _ = await guaranteed_order(client, auth)
    response = await client.get(f"{REFUNDS}/eligibility/{order['order_id']}", params={"type": "GUARANTEE_CLAIM"},
                                headers=order["customer"])
    assert response.status_code == 200, response.text
    got = exact_json(response)
    assert (got["type"], got["eligible"], got["refundable_amount"], got["approval"]) == (
        "GUARANTEE_CLAIM", True, Decimal("1499.00"), "SUPPORT_AGENT")
    terms = got["rules"][0]
    assert (terms["id"], terms["figures"]["condition"], terms["figures"]["evidence_required"]) == (
        "GUARANTEE", {"metric": "owner_responses", "lt": 3, "within_days": 10}, ["contact_log"])
    assert_problem(await client.get(f"{REFUNDS}/eligibility/{order['order_id']}", params={"type": "X"},
                                    headers=order["customer"]), 422, "validation_error", loc=["query", "type"])


async def test_a_claim_without_a_guarantee_or_after_its_window_is_recorded_rejected(client, auth):
    plain = await bought(client, auth)
    got = exact_json(await send(client, "POST", REFUNDS, claim(plain), plain["customer"]))
    assert (got["status"], got["decision_reason"]) == ("REJECTED", "not eligible: GUARANTEE")
    # a 2-day window: the clock is 2 days and 1 hour after payment
    late, _ = await guaranteed_order(client, auth, window_days=2)
    got = exact_json(await send(client, "POST", REFUNDS, claim(late), late["customer"]))
    assert (got["status"], got["decision_reason"]) == ("REJECTED", "not eligible: GUARANTEE-WINDOW")
    window = next(r for r in got["rules"] if r["id"] == "GUARANTEE-WINDOW")
    assert window["figures"]["deadline"] == "2026-01-07T10:00:00Z"


async def test_evidence_on_a_claim_then_an_agent_approves_it(client, auth, engine, evidence_dir):
    order, _ = await guaranteed_order(client, auth)
    refund = exact_json(await send(client, "POST", REFUNDS, claim(order), order["customer"]))
    url = f"{REFUNDS}/{refund['id']}/evidence"
    # the guarantee asks for a contact_log: no approval without it
    problem = assert_problem(await send(client, "POST", f"{REFUNDS}/{refund['id']}/approve", {},
                                        auth.headers("SUPPORT_AGENT")), 409, "evidence_missing")
    assert problem["missing_evidence"] == ["contact_log"]
    response = await client.post(url, files={"file": ("inbox.png", PNG, "image/png")},
                                 data={"note": "Only one owner answered", "kind": "contact_log"},
                                 headers=order["customer"])
    assert response.status_code == 201, response.text
    got = response.json()
    digest = hashlib.sha256(PNG).hexdigest()
    assert (got["content_type"], got["size_bytes"], got["sha256"], got["kind"], got["note"], got["filename"]) == (
        "image/png", len(PNG), digest, "contact_log", "Only one owner answered", "inbox.png")
    assert (Path(evidence_dir) / refund["id"] / digest).read_bytes() == PNG
    for name, content in (("scan.pdf", PDF), ("photo.jpg", JPEG)):
        assert (await client.post(url, files={"file": (name, content, "application/octet-stream")},
                                  headers=auth.headers("SUPPORT_AGENT"))).status_code == 201
    response = await send(client, "POST", f"{REFUNDS}/{refund['id']}/approve", {"reason": "verified"},
                          auth.headers("SUPPORT_AGENT"))
    assert response.status_code == 200, response.text
    detail = exact_json(response)
    assert (detail["status"], detail["amount"]) == ("PROCESSING", Decimal("1499.00"))
    assert [e["content_type"] for e in detail["evidence"]] == ["image/png", "application/pdf", "image/jpeg"]
    assert [s["kind"] for s in detail["timeline"]] == ["REQUESTED", "AWAITING_DECISION", "EVIDENCE_ADDED",
                                                      "EVIDENCE_ADDED", "EVIDENCE_ADDED", "APPROVED",
                                                      "SENT_TO_BILLING"]
    # decided: no more evidence
    assert_problem(await client.post(url, files={"file": ("x.png", PNG, "image/png")}, headers=order["customer"]),
                   409, "evidence_not_accepted")


async def test_evidence_bad_input_scoping_and_auth(client, auth, engine, evidence_dir):
    order, _ = await guaranteed_order(client, auth)
    refund = exact_json(await send(client, "POST", REFUNDS, claim(order), order["customer"]))
    url = f"{REFUNDS}/{refund['id']}/evidence"
    for files, data, loc in [
            ({"file": ("a.png", b"GIF89a" + b"\x00" * 10, "image/png")}, {}, ["body", "file"]),  # not by its name
            ({"file": ("big.pdf", b"%PDF-" + b"x" * 1100, "application/pdf")}, {}, ["body", "file"]),  # > 1024
            ({"file": ("a.png", PNG, "image/png")}, {"kind": "selfie"}, ["body", "kind"]),
            ({"file": ("a.png", PNG, "image/png")}, {"note": "x" * 1001}, ["body", "note"]),
            ({"file": ("a.png", PNG, "image/png")}, {"note": "bad\x00"}, ["body", "note"]),
            ({}, {"note": "no file"}, ["body", "file"])]:
        assert_problem(await client.post(url, files=files or None, data=data, headers=order["customer"]), 422,
                       "validation_error", loc=loc)
    assert_problem(await client.post(url, files={"file": ("a.png", PNG, "image/png")}), 401, "not_authenticated")
    for role in ("RM", "FINANCE_ADMIN", "SERVICE"):
        assert_problem(await client.post(url, files={"file": ("a.png", PNG, "image/png")},
                                         headers=auth.headers(role)), 403, "forbidden")
    assert_problem(await client.post(url, files={"file": ("a.png", PNG, "image/png")},
                                     headers=auth.headers("CUSTOMER")), 404, "refund_not_found")
    assert await count(engine, refund_evidence) == 0
    assert list(Path(evidence_dir).rglob("*")) == []
    # a plain REFUND takes no evidence
    plain = await bought(client, auth)
    pending = exact_json(await send(client, "POST", REFUNDS, body(plain), plain["customer"]))
    assert_problem(await client.post(f"{REFUNDS}/{pending['id']}/evidence",
                                     files={"file": ("a.png", PNG, "image/png")}, headers=plain["customer"]),
                   409, "evidence_not_accepted")
    assert sorted(r.type for r in await fetch(engine, refunds)) == ["GUARANTEE_CLAIM", "REFUND"]


async def test_evidence_of_a_rolled_back_request_leaves_no_file(client, auth, engine, evidence_dir, monkeypatch):
    """Issue 15 (no orphan files): the file is written before its row; a later failure removes it again."""
    from sales.core.errors import Conflict
    from sales.refunds import service as refunds_service

    async def conflict(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise Conflict("a concurrent change came first")

    order, _ = await guaranteed_order(client, auth)
    refund = exact_json(await send(client, "POST", REFUNDS, claim(order), order["customer"]))
    monkeypatch.setattr(refunds_service.audit, "record", conflict)
    response = await client.post(f"{REFUNDS}/{refund['id']}/evidence", headers=order["customer"],
                                 files={"file": ("inbox.png", PNG, "image/png")})
    assert response.status_code == 409, response.text
    assert await count(engine, refund_evidence) == 0
    assert [p for p in Path(evidence_dir).rglob("*") if p.is_file()] == []


async def test_files_sweep_keeps_evidence_a_row_names(client, auth, engine, app, evidence_dir):
    """Issue 15 (files-sweep): an old evidence file no row names goes; the claim's own evidence stays."""
    import os
    import time
    from datetime import UTC, datetime

    from sales.closure import storage

    order, _ = await guaranteed_order(client, auth)
    refund = exact_json(await send(client, "POST", REFUNDS, claim(order), order["customer"]))
    response = await client.post(f"{REFUNDS}/{refund['id']}/evidence", headers=order["customer"],
                                 files={"file": ("inbox.png", PNG, "image/png")})
    assert response.status_code == 201, response.text
    kept = Path(evidence_dir) / refund["id"] / hashlib.sha256(PNG).hexdigest()
    orphan = Path(evidence_dir) / str(uuid.uuid4()) / hashlib.sha256(PDF).hexdigest()
    orphan.parent.mkdir()
    orphan.write_bytes(PDF)
    old = time.time() - 25 * 3600
    for path in (kept, orphan):
        os.utime(path, (old, old))
    settings = app.state.settings.model_copy(update={"documents_dir": str(Path(evidence_dir) / "no-documents")})
    assert await storage.sweep(settings, engine, now=datetime.now(UTC)) == 1
    assert kept.read_bytes() == PNG and not orphan.exists()
