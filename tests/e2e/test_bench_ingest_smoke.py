"""Issue 10 ("Done when": ingesting mixed context events in batches is measured): `sales bench ingest` keeps
working. A tiny stream on a temporary SQLite database, the service as in production (subprocesses), two
concurrent clients, no timing assertions: every event of the eight context types is answered, re-deliveries
are DUPLICATE, only the deliberately bad events are PARKED, and the read models hold what the stream says."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from sales.bench.ingest import MIX, TRIGGER_MIX, generate, lag_for
from sales.core.http import dumps
from tests.events_schema import errors_of

pytestmark = [pytest.mark.e2e]

ROOT = Path(__file__).resolve().parents[2]
SALES = str(Path(sys.executable).with_name("sales"))


@pytest.mark.parametrize("dispatch", ["keyed", "shared"])
def test_generated_stream_is_valid_and_reproducible(dispatch: str) -> None:
    """Every generated event validates against its schema in docs/events/ (the bad ones excepted); the same
    seed gives the same mix with fresh ids; a refund or an expiry comes after its payment: in the same lane
    (keyed dispatch) or at least `lag` events later (shared dispatch)."""
    now = datetime(2026, 11, 28, 9, tzinfo=UTC)
    lag = lag_for(20, 2, dispatch)
    assert (lag == 0) is (dispatch == "keyed")
    stream = generate(400, seed=10, tag="a", lag=lag, now=now, bad_share=0.01)
    again = generate(400, seed=10, tag="b", lag=lag, now=now, bad_share=0.01)
    assert stream.by_type() == again.by_type() and stream.duplicates == again.duplicates
    assert {e["id"] for e in stream.events}.isdisjoint({e["id"] for e in again.events})
    assert set(stream.by_type()) == set(MIX)
    invalid = [e for e in json.loads(dumps(stream.events), parse_float=Decimal) if errors_of(e)]
    assert len(invalid) == stream.bad > 0
    assert len(stream.events) == 400 and len({e["id"] for e in stream.events}) == 400 - stream.duplicates
    paid = {e["data"]["order_id"]: i for i, e in enumerate(stream.events) if e["type"] == "billing.payment.completed"}
    lane_of = {id(e): n for n, lane in enumerate(stream.lanes(2, 20)) for batch in lane for e in batch}
    dependents = 0
    for i, e in enumerate(stream.events):
        if e["type"] in ("billing.refund.completed", "entitlements.plan.expired"):
            dependents += 1
            assert i - paid[e["data"]["order_id"]] >= max(lag, 1), e
            assert lane_of[id(e)] == lane_of[id(stream.events[paid[e["data"]["order_id"]]])]
    assert dependents


def test_bench_ingest_smoke(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SALES_")}
    env["SALES_DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'ingest.db'}"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")]))
    done = subprocess.run([SALES, "bench", "ingest", "--events", "400", "--batch-size", "20", "--clients", "2",
                           "--workers", "1", "--bad-share", "0.01", "--results-dir", str(tmp_path / "results")],
                          env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"

    summary = json.loads((tmp_path / "results" / "ingest_events.json").read_text())
    assert summary["events"] == 400 and summary["rejected_batches"] == summary["retried_batches"] == 0
    assert summary["batches"] >= 20 and summary["http_status"] == {"200": summary["batches"]}
    expected = summary["expected_outcomes"]
    assert expected["PARKED"] > 0 and expected["DUPLICATE"] > 0
    assert summary["outcomes"] == {**expected, "IGNORED": 0, "FAILED": 0}
    assert summary["inbox_after"] == {"PROCESSED": expected["PROCESSED"], "PARKED": expected["PARKED"]}
    assert summary["read_models_match"] is True
    for key in ("events_per_s", "batches_per_s", "service_cpu_ms_per_event"):
        assert summary[key] > 0, key
    assert set(summary["batch_latency_ms"]) == {"p50", "p95", "p99"}
    assert len(summary["load_average"]["before"]) == 3
    detail = json.loads(next((tmp_path / "results" / "tmp").glob("ingest-*.json")).read_text())
    assert set(detail["by_type"]) == set(MIX)


def test_triggers_stream_shape() -> None:
    """Issue 11 (`--mix triggers`): usage and view events only after a prefix of payments, each payer's usage on
    the plan they bought (with its order), usage crossing 80% of a quota for some users, runs of 5+ views
    without a contact."""
    now = datetime(2026, 11, 28, 9, tzinfo=UTC)
    stream = generate(400, seed=10, tag="t", lag=0, now=now, mix="triggers")
    by_type = stream.by_type()
    payments = by_type.pop("billing.payment.completed")
    assert set(by_type) == set(TRIGGER_MIX) and sum(by_type.values()) == 400 and len(stream.events) == 400 + payments
    assert all(e["type"] == "billing.payment.completed" for e in stream.events[:payments])
    assert not [e for e in json.loads(dumps(stream.events), parse_float=Decimal) if errors_of(e)]
    bought = {e["data"]["user_id"]: e["data"] for e in stream.events[:payments]}
    usage = [e["data"] for e in stream.events if e["type"] == "entitlements.usage.updated"]
    assert all(u["plan_id"] == bought[u["user_id"]]["plan_id"] and u["order_id"] == bought[u["user_id"]]["order_id"]
               for u in usage if u["user_id"] in bought)
    assert any(u["used"] * 100 >= u["quota"] * 80 for u in usage)
    run: dict[str, int] = {}
    longest = 0
    for e in stream.events:
        if e["type"] == "engagement.property.viewed":
            user = e["data"]["user_id"]
            run[user] = 0 if e["data"]["contacted"] else run.get(user, 0) + 1
            longest = max(longest, run[user])
    assert longest >= 5


def test_bench_ingest_triggers_smoke(tmp_path: Path) -> None:
    """Issue 11: `sales bench ingest --mix triggers` evaluates the upsell triggers on the stream and reports the
    upsells created and the suppressed decisions (UPR-005 caps the runs of views)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SALES_")}
    env["SALES_DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'triggers.db'}"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")]))
    done = subprocess.run([SALES, "bench", "ingest", "--mix", "triggers", "--events", "400", "--batch-size", "20",
                           "--clients", "2", "--workers", "1", "--results-dir", str(tmp_path / "results")],
                          env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"

    summary = json.loads((tmp_path / "results" / "ingest_events.json").read_text())
    assert summary["mix"] == "triggers" and summary["events"] > 400
    expected = summary["expected_outcomes"]
    assert summary["outcomes"] == {**expected, "IGNORED": 0, "FAILED": 0} and summary["read_models_match"] is True
    assert summary["upsells_created"] > 0 and summary["decisions"]["CREATED"] == summary["upsells_created"]
    assert set(summary["upsells_by_trigger"]) <= {"QUOTA_THRESHOLD", "VIEWS_WITHOUT_CONTACT"}
    assert summary["decisions"]["SUPPRESSED"] > 0 and "UPR-005" in summary["suppressed_by_rule"]
    assert summary["events_per_s"] > 0 and summary["service_cpu_ms_per_event"] > 0
