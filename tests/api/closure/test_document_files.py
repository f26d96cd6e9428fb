"""Issue 15 §5: deal documents leave no orphan files. A request whose transaction rolls back after its file was
written removes that file (unless another committed row names the same content), the `files-sweep` job removes
unreferenced files left by a crash once older than SALES_FILES_SWEEP_HOURS, and the same holds in an
S3-compatible store (moto's S3 server on a local port, through boto3)."""
from __future__ import annotations

import hashlib
import os
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sales.closure import service as closure_service, storage
from sales.closure.models import deal_documents
from sales.core import files
from sales.core.errors import Conflict
from tests.api.closure.test_closure_api import PDF, PNG, _upload, _world, documents_dir  # noqa: F401
from tests.checks import count

DIGEST = hashlib.sha256(PDF).hexdigest()
KEY = f"{DIGEST[:2]}/{DIGEST}.pdf"


def _fail_after_the_file(monkeypatch):  # type: ignore[no-untyped-def]
    """The audit write after the file and the row fails with a 409: the request's transaction rolls back."""
    async def conflict(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise Conflict("a concurrent change came first")
    monkeypatch.setattr(closure_service.audit, "record", conflict)


async def test_a_rolled_back_upload_leaves_no_file(client, auth, engine, documents_dir, monkeypatch):
    _, _, pipeline, headers = await _world(client, auth, engine)
    _fail_after_the_file(monkeypatch)
    r = await _upload(client, headers, pipeline["id"], "agreement.pdf", PDF)
    assert r.status_code == 409, r.text
    assert await count(engine, deal_documents) == 0
    assert not (Path(documents_dir) / KEY).exists()


async def test_a_rollback_keeps_a_file_another_document_shares(client, auth, engine, documents_dir, monkeypatch):
    _, _, first, headers = await _world(client, auth, engine)
    assert (await _upload(client, headers, first["id"], "agreement.pdf", PDF)).status_code == 201
    _, _, second, other = await _world(client, auth, engine)
    _fail_after_the_file(monkeypatch)
    assert (await _upload(client, other, second["id"], "agreement.pdf", PDF)).status_code == 409
    assert (Path(documents_dir) / KEY).read_bytes() == PDF  # the first pipeline's document still has its file
    assert await count(engine, deal_documents) == 1


async def test_files_sweep_removes_old_unreferenced_files_only(client, auth, engine, app, documents_dir,
                                                               tmp_path_factory):
    _, _, pipeline, headers = await _world(client, auth, engine)
    assert (await _upload(client, headers, pipeline["id"], "agreement.pdf", PDF)).status_code == 201
    store = files.LocalFileStore(documents_dir)
    store.put("ab/orphan-old.png", PNG)
    store.put("ab/orphan-young.png", PNG + b"young")
    day_ago = time.time() - 25 * 3600
    for key in (KEY, "ab/orphan-old.png"):
        os.utime(Path(documents_dir) / key, (day_ago, day_ago))
    (Path(documents_dir) / "ab" / ".upload-in-progress").write_bytes(b"%PDF-")  # another writer's temporary
    settings = app.state.settings.model_copy(update={"evidence_dir": str(tmp_path_factory.mktemp("evidence"))})
    removed = await storage.sweep(settings, engine, now=datetime.now(UTC))
    assert removed == 1
    assert sorted(k for k, _ in store.keys()) == sorted([KEY, "ab/orphan-young.png"])
    assert (Path(documents_dir) / "ab" / ".upload-in-progress").exists()


async def test_discard_puts_the_file_back_when_a_row_naming_it_committed_meanwhile(engine, tmp_path):
    store = files.LocalFileStore(tmp_path)
    store.put(KEY, PDF)
    answers = iter([set(), {KEY}])  # unreferenced when checked, referenced right after the delete

    async def referenced(conn, keys):  # type: ignore[no-untyped-def]
        return next(answers)

    assert await files.discard(store, KEY, engine=engine, referenced=referenced) is False
    assert store.get(KEY) == PDF


async def test_a_committed_upload_restores_a_file_a_concurrent_rollback_removed(engine, tmp_path):
    store = files.LocalFileStore(tmp_path)
    winner = files.TrackedStore(store, engine=engine, referenced=storage.referenced)
    loser = files.TrackedStore(store, engine=engine, referenced=storage.referenced)
    await loser.put(KEY, PDF)   # created by the request that will roll back
    await winner.put(KEY, PDF)  # the same content, found already there
    await loser.settle(False)   # no committed row names it yet: deleted
    assert not store.exists(KEY)
    await winner.settle(True)   # the winner's row committed: its file is put back
    assert store.get(KEY) == PDF


# --- an S3-compatible store ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def s3_server():  # type: ignore[no-untyped-def]
    moto_server = pytest.importorskip("moto.server")
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_documents(app, s3_server):  # type: ignore[no-untyped-def]
    """This test's documents go to a fresh bucket on the local S3 server."""
    bucket = f"docs-{uuid.uuid4().hex[:12]}"
    original = app.state.settings
    settings = original.model_copy(update={
        "files_s3_endpoint": s3_server, "files_s3_bucket": bucket, "files_s3_access_key": "test",
        "files_s3_secret_key": "test", "max_document_bytes": 4096})
    store = storage.document_store(settings)
    store.client.create_bucket(Bucket=bucket)
    app.state.settings = settings
    yield store
    app.state.settings = original


async def test_documents_go_to_the_s3_store_with_their_checksum(client, auth, engine, s3_documents):
    _, rm, pipeline, headers = await _world(client, auth, engine)
    r = await _upload(client, headers, pipeline["id"], "agreement.pdf", PDF, "application/pdf", kind="AGREEMENT")
    assert r.status_code == 201, r.text
    assert r.json()["sha256"] == DIGEST
    assert s3_documents.get(KEY) == PDF
    head = s3_documents.client.head_object(Bucket=s3_documents.bucket, Key=f"documents/{KEY}", ChecksumMode="ENABLED")
    assert head["ContentLength"] == len(PDF)
    assert [k for k, _ in s3_documents.keys()] == [KEY]
    # refused uploads write nothing to the bucket
    assert (await _upload(client, headers, pipeline["id"], "photo.pdf", PNG, "application/pdf")).status_code == 415
    assert [k for k, _ in s3_documents.keys()] == [KEY]


async def test_a_rolled_back_upload_leaves_no_object(client, auth, engine, s3_documents, monkeypatch):
    _, _, pipeline, headers = await _world(client, auth, engine)
    _fail_after_the_file(monkeypatch)
    assert (await _upload(client, headers, pipeline["id"], "agreement.pdf", PDF)).status_code == 409
    assert list(s3_documents.keys()) == []
    assert await count(engine, deal_documents) == 0


async def test_files_sweep_in_the_s3_store(client, auth, engine, app, s3_documents, tmp_path_factory):
    _, _, pipeline, headers = await _world(client, auth, engine)
    assert (await _upload(client, headers, pipeline["id"], "agreement.pdf", PDF)).status_code == 201
    s3_documents.put("ab/orphan.png", PNG)
    now = datetime.now(UTC)
    settings = app.state.settings.model_copy(update={"evidence_dir": str(tmp_path_factory.mktemp("evidence"))})
    assert await storage.sweep(settings, engine, now=now) == 0  # nothing older than 24 hours yet
    assert await storage.sweep(settings, engine, now=now + timedelta(hours=25)) == 1
    assert [k for k, _ in s3_documents.keys()] == [KEY]
