"""The `archive` job (issue 20, PRD §8.5 retention): expired rows move to gzip JSON-lines files with a manifest
proving the count; all or nothing per run; a crashed run leaves nothing lost or duplicated; the audit trail still
verifies from its archived anchor and still shows tampering in what remains. Time is the test clock's."""
from __future__ import annotations

import asyncio
import gzip
import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, update

from sales import cli
from sales.core.audit_chain import verify
from sales.core.tables import audit_chain, audit_log
from sales.pipelines.models import pipeline_stage_history, sales_pipelines
from sales.retention import archive
from sales.retention.config import get_archive_settings
from sales.retention.models import archive_manifests
from sales.retention.schedule import SEVEN_YEARS
from sales.settings import get_settings
from tests.allocation_builders import run_job, set_clock
from tests.builders import API, make_pipeline, make_rm_with_team, move

T0 = datetime(2026, 1, 17, 10, 0, tzinfo=UTC)
LATER = T0 + timedelta(days=400)
EXPIRY = T0 + SEVEN_YEARS + timedelta(days=1)  # T0's rows are past 7 years, LATER's are not


def _iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def archive_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "archive"
    monkeypatch.setenv("SALES_ARCHIVE_DIR", str(directory))
    get_archive_settings.cache_clear()
    yield directory
    get_archive_settings.cache_clear()


@pytest.fixture
async def history(client, auth, engine) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Two pipelines worked at T0; the second worked again at LATER. The clock then stands at EXPIRY."""
    await set_clock(client, auth.admin, _iso(T0))
    _, rm = await make_rm_with_team(client, auth.admin)
    rm_headers = auth.rm(uuid.UUID(rm["id"]))
    old = await make_pipeline(client, rm_headers, rm_id=rm["id"])
    kept = await make_pipeline(client, rm_headers, rm_id=rm["id"])
    for pipeline in (old, kept):
        assert (await move(client, rm_headers, pipeline["id"], "CONTACTED")).status_code == 200
    await set_clock(client, auth.admin, _iso(LATER))
    response = await client.put(f"{API}/pipelines/{kept['id']}", json={"notes": "called back"}, headers=rm_headers)
    assert response.status_code == 200, response.text
    await set_clock(client, auth.admin, _iso(EXPIRY))
    async with engine.connect() as conn:
        audit_rows = (await conn.execute(select(audit_log))).mappings().all()
        history_rows = (await conn.execute(select(pipeline_stage_history))).mappings().all()
    return {"old": old, "kept": kept, "rm": rm, "audit": [dict(r) for r in audit_rows],
            "history": [dict(r) for r in history_rows]}


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in gzip.decompress(path.read_bytes()).splitlines()]


async def _count(engine, table, *where) -> int:  # type: ignore[no-untyped-def]
    async with engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(table).where(*where))).scalar())


async def _findings(engine) -> list[str]:  # type: ignore[no-untyped-def]
    async with engine.connect() as conn:
        return [str(f) for f in (await verify(conn)).findings]


async def test_expired_rows_move_to_files_with_a_manifest_proving_the_count(client, auth, engine, history,
                                                                           archive_dir):
    """PRD §8.5: 7-year communication records and audit rows leave; younger rows and kept tables stay."""
    old_audit = [r for r in history["audit"] if r["at"] < EXPIRY - SEVEN_YEARS]
    old_history = [r for r in history["history"] if r["changed_at"] < EXPIRY - SEVEN_YEARS]
    assert old_audit and len(old_audit) < len(history["audit"]) and old_history == history["history"]

    result = await run_job(client, auth.admin, "archive")

    assert result["tables"]["audit_log"] == len(old_audit)
    assert result["tables"]["pipeline_stage_history"] == len(old_history)  # both pipelines' steps were at T0
    assert result["tables"]["sales_pipelines"] == 1  # the old one; the other changed at LATER
    assert result["processed"] == sum(result["tables"].values())
    run_dir = Path(result["directory"])
    assert run_dir.parent == archive_dir and run_dir.name.endswith(result["run_id"])
    async with engine.connect() as conn:
        manifests = (await conn.execute(select(archive_manifests))).mappings().all()
        pipelines = (await conn.execute(select(sales_pipelines.c.id))).scalars().all()
    assert {m["table_name"]: m["rows_selected"] for m in manifests} == result["tables"]
    for manifest in manifests:
        path = archive_dir / manifest["path"]
        assert path == run_dir / f"{manifest['table_name']}.jsonl.gz"
        assert manifest["rows_selected"] == manifest["rows_written"] == manifest["rows_deleted"] == len(_lines(path))
        assert manifest["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        assert manifest["bytes"] == path.stat().st_size
    on_disk = json.loads((run_dir / "manifest.json").read_text())
    assert on_disk["run_id"] == result["run_id"]
    assert {f["table_name"]: (f["rows_written"], f["sha256"]) for f in on_disk["files"]} == \
        {m["table_name"]: (m["rows_written"], m["sha256"]) for m in manifests}
    # the files hold the rows as they were; the database no longer does
    archived_audit = _lines(run_dir / "audit_log.jsonl.gz")
    assert sorted(r["id"] for r in archived_audit) == sorted(str(r["id"]) for r in old_audit)
    assert {r["pipeline_id"] for r in _lines(run_dir / "pipeline_stage_history.jsonl.gz")} == \
        {str(r["pipeline_id"]) for r in old_history}
    assert [r["id"] for r in _lines(run_dir / "sales_pipelines.jsonl.gz")] == [history["old"]["id"]]
    assert [str(p) for p in pipelines] == [history["kept"]["id"]]
    assert await _count(engine, audit_log, audit_log.c.at < EXPIRY - SEVEN_YEARS) == 0
    assert await _count(engine, pipeline_stage_history) == 0
    # the trail verifies from the archived anchors, and the run itself is audited
    assert await _findings(engine) == []
    async with engine.connect() as conn:
        runs = (await conn.execute(select(audit_log).where(audit_log.c.action == "retention.archived"))).all()
    assert len(runs) == 1 and runs[0].entity_id == result["run_id"] and runs[0].after["tables"] == result["tables"]


async def test_a_second_run_moves_nothing_and_rms_and_teams_are_kept(client, auth, engine, history, archive_dir):
    first = await run_job(client, auth.admin, "archive")
    assert first["processed"] > 0
    again = await run_job(client, auth.admin, "archive")
    assert again["processed"] == 0 and again["run_id"] is None and again["orphans_removed"] == 0
    assert [p.name for p in archive_dir.iterdir()] == [Path(first["directory"]).name]
    response = await client.get(f"/api/v1/sales/rms/{history['rm']['id']}", headers=auth.admin)
    assert response.status_code == 200


async def test_batches_are_bounded_and_rerunning_moves_each_row_once(engine, history, tmp_path):
    """One transaction per run, at most batch_size rows per table; run until idle: every row exactly once."""
    directory = tmp_path / "batches"
    runs = []
    while True:
        async with engine.begin() as conn:
            result = await archive.run(conn, EXPIRY, directory=directory, batch_size=2)
        if not result["processed"]:
            break
        assert all(n <= 2 for n in result["tables"].values())
        runs.append(result)
    assert len(runs) >= 2
    archived = [line for path in directory.glob("*/audit_log.jsonl.gz") for line in _lines(path)]
    expected = [str(r["id"]) for r in history["audit"] if r["at"] < EXPIRY - SEVEN_YEARS]
    assert sorted(r["id"] for r in archived) == sorted(expected)  # none lost, none twice
    steps = [line for path in directory.glob("*/pipeline_stage_history.jsonl.gz") for line in _lines(path)]
    assert len(steps) == len({r["seq"] for r in steps}) == len(history["history"])
    assert await _findings(engine) == []


async def test_a_run_that_crashed_before_commit_leaves_no_row_lost_or_duplicated(engine, history, tmp_path):
    """The files of a run whose transaction never committed (a crash) are deleted by the next run, which moves
    the same rows again: each archived once, in a run recorded in the manifests."""
    directory = tmp_path / "crash"
    async with engine.connect() as conn:
        transaction = await conn.begin()
        crashed = await archive.run(conn, EXPIRY, directory=directory, batch_size=1000)
        await transaction.rollback()  # as if the process died before COMMIT
    assert crashed["processed"] > 0 and Path(crashed["directory"]).is_dir()
    assert await _count(engine, archive_manifests) == 0
    assert await _count(engine, audit_log) == len(history["audit"])

    async with engine.begin() as conn:
        rerun = await archive.run(conn, EXPIRY, directory=directory, batch_size=1000)
    assert rerun["orphans_removed"] == 1 and not Path(crashed["directory"]).exists()
    assert rerun["tables"] == crashed["tables"]
    assert [p.name for p in directory.iterdir()] == [Path(rerun["directory"]).name]
    archived = _lines(Path(rerun["directory"]) / "audit_log.jsonl.gz")
    assert len(archived) == len({r["id"] for r in archived}) == rerun["tables"]["audit_log"]
    assert await _findings(engine) == []


async def test_a_count_mismatch_rolls_the_batch_back(engine, history, tmp_path, monkeypatch):
    """All or nothing: a file that does not hold every selected row fails the run; nothing is deleted and the
    run's directory is removed."""
    directory = tmp_path / "mismatch"
    real_write = archive._write

    def short_write(run_dir, table, rows):  # type: ignore[no-untyped-def]
        return real_write(run_dir, table, rows[:-1] if table == "pipeline_stage_history" else rows)

    monkeypatch.setattr(archive, "_write", short_write)
    with pytest.raises(archive.ArchiveMismatch, match="pipeline_stage_history: selected [0-9]+, written [0-9]+, deleted"):
        async with engine.begin() as conn:
            await archive.run(conn, EXPIRY, directory=directory, batch_size=1000)
    assert list(directory.iterdir()) == []
    assert await _count(engine, pipeline_stage_history) == len(history["history"])
    assert await _count(engine, audit_log) == len(history["audit"])
    assert await _count(engine, archive_manifests) == 0


async def test_verify_still_finds_tampering_in_what_remains(client, auth, engine, history, archive_dir):
    await run_job(client, auth.admin, "archive")
    async with engine.connect() as conn:
        anchored = (await conn.execute(select(audit_chain).where(audit_chain.c.archived_length > 0))).first()
        first_left = (await conn.execute(select(audit_log).where(
            audit_log.c.partition == anchored.partition, audit_log.c.chain_pos == anchored.archived_length + 1)
        )).first()
        edited = (await conn.execute(select(audit_log).where(audit_log.c.action != "retention.archived")
                                     .order_by(audit_log.c.seq).limit(1))).first()
    assert await _findings(engine) == []
    async with engine.begin() as conn:
        await conn.execute(update(audit_log).where(audit_log.c.seq == edited.seq).values(action="forged"))
    found = await _findings(engine)
    assert found == [f"partition {edited.partition}, position {edited.chain_pos} (audit row seq {edited.seq}): "
                     "content does not match its hash (edited)"]
    if first_left is not None:  # a partition with rows after its anchor: deleting the first one is found too
        async with engine.begin() as conn:
            await conn.execute(audit_log.delete().where(audit_log.c.seq == first_left.seq))
        assert any(f.startswith(f"partition {anchored.partition}, position ") and
                   ("missing" in f or "head records" in f) for f in await _findings(engine))


async def test_moving_the_anchor_to_hide_deleted_rows_is_found(client, auth, engine, history, archive_dir):
    """Rows deleted at a chain's start and the anchor moved past them without their hash: verify says where."""
    await run_job(client, auth.admin, "archive")
    async with engine.begin() as conn:
        anchored = (await conn.execute(select(audit_chain).where(audit_chain.c.archived_length > 0))).first()
        await conn.execute(update(audit_chain).where(audit_chain.c.partition == anchored.partition)
                           .values(archived_length=anchored.archived_length - 1))
    found = await _findings(engine)
    assert found and all(f"partition {anchored.partition}" in f for f in found)


async def test_a_broken_chain_is_never_archived(client, auth, engine, history, archive_dir):
    """The job re-checks every audit row it would move: an edited old row keeps its partition in place (and
    verify keeps reporting it), the other partitions are archived."""
    victim = next(r for r in history["audit"] if r["at"] < EXPIRY - SEVEN_YEARS)
    async with engine.begin() as conn:
        await conn.execute(update(audit_log).where(audit_log.c.seq == victim["seq"]).values(entity_id="forged"))
    result = await run_job(client, auth.admin, "archive")
    assert result["audit_partitions_refused"] == [victim["partition"]]
    assert await _count(engine, audit_log, audit_log.c.seq == victim["seq"]) == 1
    assert [f for f in await _findings(engine) if "edited" in f] == [
        f"partition {victim['partition']}, position {victim['chain_pos']} (audit row seq {victim['seq']}): content "
        "does not match its hash (edited)"]


async def test_the_cli_job_runner_archives_until_idle(engine, history, settings, tmp_path, monkeypatch):
    directory = tmp_path / "cli"
    monkeypatch.setenv("SALES_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("SALES_ENV", "test")
    monkeypatch.setenv("SALES_ARCHIVE_DIR", str(directory))
    monkeypatch.setenv("SALES_ARCHIVE_BATCH_SIZE", "3")
    get_settings.cache_clear()
    get_archive_settings.cache_clear()
    try:
        outcome = await asyncio.to_thread(CliRunner().invoke, cli.main, ["jobs", "run", "archive", "--until-idle"])
        unknown = await asyncio.to_thread(CliRunner().invoke, cli.main, ["jobs", "run", "no-such-job"])
    finally:
        get_settings.cache_clear()
        get_archive_settings.cache_clear()
    assert outcome.exit_code == 0, outcome.output
    runs = [json.loads(line) for line in outcome.output.splitlines()]
    assert len(runs) >= 2 and runs[-1]["processed"] == 0 and all(r["job"] == "archive" for r in runs)
    assert sum(r["tables"].get("audit_log", 0) for r in runs) == \
        len([r for r in history["audit"] if r["at"] < EXPIRY - SEVEN_YEARS])
    assert unknown.exit_code == 2 and "unknown job 'no-such-job'" in unknown.output
    assert await _findings(engine) == []


async def test_only_admins_run_the_archive(client, auth, history, archive_dir):
    response = await client.post("/api/v1/sales/admin/jobs/archive/run", headers=auth.rm(uuid.uuid4()))
    assert response.status_code == 403
    assert (await client.post("/api/v1/sales/admin/jobs/archive/run")).status_code == 401
    assert not archive_dir.exists()
