"""issue 20 crash safety (PRD §8.3 availability, RPO 0 for allocation; §8.5 auditable commissions): a burst of
allocations, pipeline stage changes, refund approvals and commission approvals (then a payout) against real
`sales serve` and `sales worker` processes on a throwaway PostgreSQL cluster; in the middle of it PostgreSQL is
stopped with `immediate` mode and the API and the worker are SIGKILLed; everything is restarted and every write
that was not acknowledged is retried with its Idempotency-Key. Then: every acknowledged write is there, nothing is
half-written, no RM is over capacity (LAR-002), no refund was sent twice (RFR-003/004), no line paid twice, the
outbox is complete and reaches JetStream once each in order, and retrying an acknowledged write replays its answer.

The crash comes after a number of acknowledged writes (not after a delay), and the checks hold wherever it falls.
The throwaway cluster is created here with initdb/pg_ctl on a port of its own: the machine's PostgreSQL is never
stopped."""
from __future__ import annotations

import asyncio
import queue
import shutil
import signal
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from sales import migrate
from sales.core.auth import issue_token
from sales.core.http import dumps
from sales.ops import invariants
from sales.ops.cluster import DEFAULT_BIN_DIR, Cluster, unavailable, workspace
from sales.settings import Settings
from tests.e2e.event_harness import (
    IN_CI, NATS_SERVER, SECRET, NatsServer, Proc, assert_delivered_once_in_order, free_port, read_stream,
    start_server, start_worker,
)

pytestmark = pytest.mark.e2e

API = "/api/v1/sales"
CITY, LOCALITY = "Nagpur", "Sitabuldi"
RMS, CAPACITY, LEADS = 2, 3, 8           # 8 leads for 6 places: the last are queued, never squeezed in
PIPELINES, STAGES = 4, ("CONTACTED", "REQUIREMENTS_CAPTURED", "SHORTLIST_SENT")
REFUNDS, SALES = 4, 4
CRASH_AFTER = 10                          # acknowledged writes before the crash (of 29)
WORKERS = 6                               # concurrent clients


def _fail_or_skip(message: str) -> None:
    if IN_CI:
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@dataclass
class Stack:
    """The throwaway cluster, the private NATS server and the service's processes, restartable."""

    root: Path
    logs: Path
    cluster: Cluster
    nats: NatsServer
    port: int = field(default_factory=free_port)
    api: Proc | None = None
    worker: Proc | None = None
    db: Any = None

    @property
    def url(self) -> str:
        return self.cluster.url("sales")

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}{API}"

    def start_service(self) -> None:
        self.worker = start_worker(self.logs, self.url, self.nats.url, name="worker",
                                   SALES_WORKER_JOB_INTERVALS="sla-sweep=3600")
        # waits for its port; generously: a busy CI machine imports slowly, and nothing here is timed
        self.api = start_server(self.logs, self.url, self.nats.url, self.port, timeout=120)

    def crash(self) -> None:
        """PostgreSQL stopped at once (no checkpoint), the API and the worker SIGKILLed."""
        self.cluster.stop("immediate")
        assert self.api is not None and self.worker is not None
        assert self.api.kill(signal.SIGKILL) == -signal.SIGKILL
        assert self.worker.kill(signal.SIGKILL) == -signal.SIGKILL

    def stop(self) -> None:
        for proc in (self.api, self.worker):
            if proc is not None:
                proc.kill(signal.SIGKILL)   # the cluster is thrown away next


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    if problem := unavailable(DEFAULT_BIN_DIR):
        _fail_or_skip(problem)
    if not Path(NATS_SERVER).exists():
        _fail_or_skip(f"{NATS_SERVER} is not installed")
    root = workspace("sales-crash-")
    cluster = Cluster(root=root, name="primary")
    nats_server = NatsServer(tmp_path)
    stack = Stack(root=root, logs=tmp_path, cluster=cluster, nats=nats_server)
    try:
        cluster.init()
        cluster.start()
        cluster.create_database("sales")
        migrate.upgrade(stack.url)
        nats_server.start()
        stack.start_service()
        stack.db = Database(stack.url)
        yield stack
    finally:
        if stack.db is not None:
            stack.db.close()
        stack.stop()
        nats_server.stop()
        cluster.destroy()
        shutil.rmtree(root, ignore_errors=True)


# --- the client side ---------------------------------------------------------------------------------------------

class Client:
    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.settings = Settings(env="test", database_url=stack.url, jwt_secret=SECRET)
        self.admin = self.headers("SALES_ADMIN")
        self.finance = self.headers("FINANCE_ADMIN")
        self.agent = self.headers("SUPPORT_AGENT")
        self.service = self.headers("SERVICE")

    def headers(self, role: str, sub: str | None = None) -> dict[str, str]:
        token = issue_token(self.settings, sub=uuid.UUID(sub) if sub else uuid.uuid4(), roles=[role], team_ids=[])
        return {"Authorization": f"Bearer {token}"}

    def send(self, method: str, path: str, body: Any, headers: dict[str, str], key: str | None = None
             ) -> httpx.Response:
        extra = {"Content-Type": "application/json", **({"Idempotency-Key": key} if key else {})}
        return httpx.request(method, f"{self.stack.base_url}{path}", content=dumps(body) if body is not None else None,
                             headers={**headers, **extra}, timeout=30)

    def ok(self, method: str, path: str, body: Any, headers: dict[str, str]) -> Any:
        response = self.send(method, path, body, headers)
        assert response.status_code < 300, f"{method} {path}: {response.status_code} {response.text}"
        return response.json()


@dataclass
class Op:
    """One write of the burst, sent with its own Idempotency-Key (the same on every retry)."""

    kind: str
    method: str
    path: str
    body: Any
    headers: dict[str, str]
    key: str = field(default_factory=lambda: f"crash-{uuid.uuid4()}")
    first: tuple[int, bytes] | None = None           # (status, body) of the first acknowledged answer
    attempts: int = 0
    replayed_on_retry: bool = False

    @property
    def acknowledged(self) -> bool:
        return self.first is not None


def _world(client: Client) -> dict[str, Any]:
    """RMs with room for RMS x CAPACITY leads, pipelines to move, refund requests waiting for an agent, earned commissions."""
    client.ok("PUT", "/admin/clock", {"now": "2026-01-05T12:00:00Z"}, client.admin)
    rms = []
    for i in range(RMS):
        rm_id = str(uuid.uuid4())
        rms.append(client.ok("POST", "/rms", {
            "id": rm_id, "name": f"Crash RM {i}", "email": f"crash.{rm_id[:8]}@mysqrft.com", "city": CITY,
            "zone": "Central", "localities": [LOCALITY], "property_types": ["RESIDENTIAL"], "segments": ["BUYER"],
            "capacity": CAPACITY, "base_salary": "40000.00"}, client.admin))
    seller_id = str(uuid.uuid4())
    seller = client.ok("POST", "/rms", {"id": seller_id, "name": "Seller", "email": f"s.{seller_id[:8]}@mysqrft.com",
                                        "city": "Pune", "localities": ["Baner"], "capacity": 25,
                                        "base_salary": "40000.00"}, client.admin)
    catalog = client.ok("POST", "/plans", {
        "code": f"TENANT_{uuid.uuid4().hex[:8].upper()}", "name": "Tenant Premium", "user_type": "TENANT", "tier": 1,
        "price": Decimal("1499.00"), "duration_days": 45,
        "features": {"owner_contacts": 25, "relationship_manager": False}}, client.admin)
    client.ok("POST", "/commissions/plans", {"plan_key": "SUBSCRIPTION_NEW", "commission_type": "PERCENTAGE",
                                             "rate": Decimal("5.00"), "effective_from": "2026-01-01T00:00:00Z"},
              client.finance)
    for _ in range(SALES):
        client.ok("PUT", f"/orders/{uuid.uuid4()}", {
            "payment_id": str(uuid.uuid4()), "user_id": str(uuid.uuid4()), "user_type": "TENANT",
            "plan_id": catalog["id"], "amount": Decimal("2000.00"), "currency": "INR",
            "paid_at": "2026-01-05T10:00:00Z", "rm_id": seller["id"], "transaction_type": "SUBSCRIPTION_NEW"},
            client.service)
    client.ok("PUT", "/admin/clock", {"now": "2026-02-10T11:00:00Z"}, client.admin)
    client.ok("POST", "/admin/jobs/commissions-earn/run", None, client.admin)
    lines = client.ok("GET", f"/commissions?rm_id={seller['id']}&limit=100", None, client.finance)["items"]
    assert sorted(line["status"] for line in lines) == ["EARNED"] * SALES
    refunds = []
    for _ in range(REFUNDS):
        user, order_id = str(uuid.uuid4()), str(uuid.uuid4())
        client.ok("PUT", f"/orders/{order_id}", {
            "payment_id": str(uuid.uuid4()), "user_id": user, "user_type": "TENANT", "plan_id": catalog["id"],
            "amount": Decimal("1499.00"), "currency": "INR", "paid_at": "2026-02-08T10:00:00Z"}, client.service)
        client.ok("PUT", f"/usage/{user}", {"items": [{"plan_id": catalog["id"], "order_id": order_id,
                                                       "quota_name": "owner_contacts", "quota": 25, "used": 12,
                                                       "at": "2026-02-09T10:00:00Z"}]}, client.service)
        refund = client.ok("POST", "/refunds", {"order_id": order_id, "type": "REFUND", "reason": "Owners silent"},
                           client.headers("CUSTOMER", sub=user))
        assert refund["status"] == "PENDING_APPROVAL", refund
        refunds.append(refund)
    pipelines = [client.ok("POST", "/pipelines", {
        "lead_id": str(uuid.uuid4()), "rm_id": seller["id"], "source": "REFERRAL", "deal_value": "4200000.00",
        "expected_close_date": "2026-04-15"}, client.admin) for _ in range(PIPELINES)]
    return {"rms": rms, "seller": seller, "lines": lines, "refunds": refunds, "pipelines": pipelines}


def _chains(client: Client, world: dict[str, Any]) -> list[list[Op]]:
    """Each chain runs in order (a pipeline's stages; the approvals before the payout); chains run concurrently."""
    chains: list[list[Op]] = []
    for i in range(LEADS):
        chains.append([Op("allocation", "POST", "/allocations", {
            "lead_id": str(uuid.uuid4()), "customer": {"name": f"Crash Customer {i}", "phone": "+91-9876543210"},
            "city": CITY, "zone": "Central", "locality": LOCALITY, "property_type": "RESIDENTIAL", "segment": "BUYER",
            "source": "WEBSITE", "expected_deal_value": "3000000.00"}, client.admin)])
    for pipeline in world["pipelines"]:
        chains.append([Op("stage", "PATCH", f"/pipelines/{pipeline['id']}/stage", {"stage": stage}, client.admin)
                       for stage in STAGES])
    for refund in world["refunds"]:
        chains.append([Op("refund", "POST", f"/refunds/{refund['id']}/approve", {"reason": "owners silent"},
                          client.agent)])
    approvals = [Op("commission", "POST", f"/commissions/{line['id']}/approve", None, client.finance)
                 for line in world["lines"]]
    chains.append([*approvals, Op("payout", "POST", "/commissions/payouts",
                                  {"period": "2026-01", "reference": "NEFT-CRASH-0001"}, client.finance)])
    # interleave the kinds so the crash falls among all of them
    order = sorted(range(len(chains)), key=lambda i: (i * 7919) % len(chains))
    return [chains[i] for i in order]


def _run_chain(client: Client, chain: list[Op], *, on_ack: Any, stop: threading.Event) -> None:
    """Send the chain's unacknowledged writes in order; give up at the first that is not acknowledged."""
    for op in chain:
        if op.acknowledged:
            continue
        if stop.is_set():
            return
        op.attempts += 1
        try:
            response = client.send(op.method, op.path, op.body, op.headers, op.key)
        except httpx.HTTPError:
            return                      # the API is gone: retried after the restart
        if response.status_code >= 300:
            assert response.status_code >= 500 or response.status_code == 409 and \
                response.json()["code"] == "idempotency_in_progress", f"{op.kind}: {response.text}"
            return
        op.first = (response.status_code, response.content)
        op.replayed_on_retry = response.headers.get("idempotent-replayed") == "true"
        on_ack()


def _burst(client: Client, chains: list[list[Op]], *, crash_after: int | None, crash: Any) -> None:
    acked, lock, crashed, stop = [0], threading.Lock(), threading.Event(), threading.Event()

    def on_ack() -> None:
        with lock:
            acked[0] += 1
            if crash_after is not None and acked[0] == crash_after:
                crashed.set()

    work: queue.Queue[list[Op]] = queue.Queue()
    for chain in chains:
        work.put(chain)

    def worker() -> None:
        while not stop.is_set():
            try:
                chain = work.get_nowait()
            except queue.Empty:
                return
            _run_chain(client, chain, on_ack=on_ack, stop=stop)

    with ThreadPoolExecutor(WORKERS) as pool:
        futures = [pool.submit(worker) for _ in range(WORKERS)]
        if crash_after is not None:
            while not crashed.wait(0.05):
                assert not all(f.done() for f in futures), "the burst ended before the crash point"
            crash()                      # requests are in flight on the other threads
            stop.set()
        for future in futures:
            future.result()


# --- the database side -------------------------------------------------------------------------------------------

class Database:
    """Reads of the throwaway database from the test's thread: one event loop, one engine, reconnected at will."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.loop = asyncio.new_event_loop()
        self.engine = create_async_engine(url, pool_size=1, pool_pre_ping=True)

    def run(self, fn: Any) -> Any:
        async def go() -> Any:
            async with self.engine.connect() as conn:
                return await fn(conn)
        return self.loop.run_until_complete(go())

    def close(self) -> None:
        self.loop.run_until_complete(self.engine.dispose())
        self.loop.close()


def q(stack: Stack, statement: str, **params: Any) -> list[Any]:
    async def fetch(conn: Any) -> list[Any]:
        return list((await conn.execute(text(statement), params)).all())
    return stack.db.run(fetch)


def _wait_relayed(stack: Stack, *, timeout: float = 90) -> list[Any]:
    """Every outbox event published (the restarted worker's relay catches up); the rows by commit position."""
    deadline = time.monotonic() + timeout
    while True:
        rows = q(stack, "SELECT id, subject, pos, published_at FROM outbox_events ORDER BY pos NULLS LAST, seq")
        if rows and all(r.published_at is not None for r in rows):
            return rows
        assert time.monotonic() < deadline, \
            f"{sum(r.published_at is None for r in rows)} of {len(rows)} events unpublished after {timeout:.0f}s"
        time.sleep(0.2)


def test_crash_mid_burst_keeps_every_acknowledged_write_and_retries_converge(stack: Stack) -> None:
    client = Client(stack)
    t0 = time.monotonic()
    world = _world(client)
    print(f"crash drill: world after {time.monotonic() - t0:.1f}s")
    chains = _chains(client, world)
    ops = [op for chain in chains for op in chain]
    _burst(client, chains, crash_after=CRASH_AFTER, crash=stack.crash)
    acknowledged_before = [op for op in ops if op.acknowledged]
    assert len(acknowledged_before) >= CRASH_AFTER and len(acknowledged_before) < len(ops)

    # restart: PostgreSQL runs crash recovery, then the API and the worker come back
    print(f"crash drill: burst after {time.monotonic() - t0:.1f}s")
    stack.cluster.start()
    stack.start_service()
    print(f"crash drill: restarted after {time.monotonic() - t0:.1f}s")
    for op in acknowledged_before:   # PRD §8.3: an acknowledged write survives the crash
        assert_present(stack, op)
    # a claim whose request died with the API blocks its key for 5 minutes (409): let them lapse
    client.ok("PUT", "/admin/clock", {"advance_seconds": 301}, client.admin)
    _burst(client, chains, crash_after=None, crash=None)
    unfinished = [op for op in ops if not op.acknowledged]
    assert unfinished == [], [(op.kind, op.path) for op in unfinished]

    # idempotent retries converge: an acknowledged write retried with its key is answered as the first time
    with ThreadPoolExecutor(WORKERS) as pool:
        answers = list(pool.map(lambda op: client.send(op.method, op.path, op.body, op.headers, op.key), ops))
    for op, again in zip(ops, answers, strict=True):
        assert (again.status_code, again.content) == op.first, op.kind
        assert again.headers.get("idempotent-replayed") == "true"

    print(f"crash drill: retried after {time.monotonic() - t0:.1f}s")
    check_allocations(stack, world, ops)
    check_pipelines(stack, world)
    check_refunds(stack, world, ops)
    check_commissions(stack, world, ops)
    claims = q(stack, "SELECT count(*) AS n FROM idempotency_keys WHERE status_code IS NULL")
    assert claims[0].n == 0, "a request's claim was left behind"

    # the outbox is complete and in order, and reaches JetStream once per event, per aggregate in order
    print(f"crash drill: checked after {time.monotonic() - t0:.1f}s")
    rows = _wait_relayed(stack)
    print(f"crash drill: relayed after {time.monotonic() - t0:.1f}s")
    assert stack.db.run(invariants.outbox_problems) == []
    assert stack.db.run(invariants.audit_problems) == []
    order: dict[str, list[str]] = {}
    for row in rows:
        order.setdefault(row.subject, []).append(str(row.id))
    stored = asyncio.run(read_stream(stack.nats.url, start_seq=1, want={str(r.id) for r in rows}))
    assert_delivered_once_in_order(order, stored)
    print(f"crash drill: streamed after {time.monotonic() - t0:.1f}s; {len(acknowledged_before)} of {len(ops)} "
          f"writes acknowledged before the crash, {sum(op.attempts > 1 for op in ops)} retried, "
          f"{sum(op.replayed_on_retry for op in ops)} of them had committed unanswered")


def assert_present(stack: Stack, op: Op) -> None:
    assert op.first is not None
    body = orjson.loads(op.first[1])
    if op.kind == "allocation" and op.first[0] == 201:
        [row] = q(stack, "SELECT rm_id, status FROM rm_allocations WHERE id = :i", i=body["id"])
        assert (str(row.rm_id), row.status) == (body["rm_id"], body["status"])
    elif op.kind == "allocation":
        assert op.first[0] == 202 and body["status"] == "QUEUED"
        assert q(stack, "SELECT 1 FROM outbox_events WHERE type = 'sales.lead.queued' AND subject = :s",
                 s=body["lead_id"])
    elif op.kind == "stage":
        rows = q(stack, "SELECT 1 FROM pipeline_stage_history WHERE pipeline_id = :p AND to_stage = :s",
                 p=body["id"], s=op.body["stage"])
        assert len(rows) == 1
    elif op.kind == "refund":
        [row] = q(stack, "SELECT status, amount FROM refunds WHERE id = :i", i=body["id"])
        assert (row.status, str(row.amount)) == ("PROCESSING", f"{Decimal(str(body['amount'])):.2f}")
    elif op.kind == "commission":
        [row] = q(stack, "SELECT status FROM commissions WHERE id = :i", i=body["id"])
        assert row.status in ("APPROVED", "PAID")
    else:
        [row] = q(stack, "SELECT reference, lines FROM commission_payouts WHERE id = :i", i=body["id"])
        assert (row.reference, row.lines) == ("NEFT-CRASH-0001", body["lines"])


def check_allocations(stack: Stack, world: dict[str, Any], ops: list[Op]) -> None:
    """LAR-002: nobody above capacity, and each RM's live-lead counter equals their live allocations (an
    allocation is never half-written: the row, the counter, the audit row and the event, or nothing)."""
    for rm in world["rms"]:
        [row] = q(stack, "SELECT active_leads, capacity, override_leads FROM rms WHERE id = :i", i=rm["id"])
        live = q(stack, "SELECT count(*) AS n FROM rm_allocations WHERE rm_id = :i AND status IN "
                        "('PENDING','ACCEPTED','ACTIVE','ESCALATED')", i=rm["id"])[0].n
        assert row.active_leads == live <= row.capacity == CAPACITY and row.override_leads == 0
    statuses = Counter(op.first[0] for op in ops if op.kind == "allocation" and op.first)
    assert statuses[201] == RMS * CAPACITY and statuses[202] == LEADS - RMS * CAPACITY, statuses
    counts = q(stack, """SELECT (SELECT count(*) FROM rm_allocations) AS rows,
        (SELECT count(*) FROM audit_log WHERE action = 'allocation.created') AS audited,
        (SELECT count(*) FROM outbox_events WHERE type = 'sales.lead.allocated') AS events,
        (SELECT count(*) FROM outbox_events WHERE type = 'sales.lead.queued') AS queued""")[0]
    placed = RMS * CAPACITY
    assert (counts.rows, counts.audited, counts.events, counts.queued) == (placed, placed, placed, LEADS - placed)


def check_pipelines(stack: Stack, world: dict[str, Any]) -> None:
    for pipeline in world["pipelines"]:
        [row] = q(stack, "SELECT stage FROM sales_pipelines WHERE id = :i", i=pipeline["id"])
        assert row.stage == STAGES[-1]
        moves = q(stack, "SELECT to_stage FROM pipeline_stage_history WHERE pipeline_id = :i AND from_stage IS NOT "
                         "NULL ORDER BY changed_at, seq", i=pipeline["id"])
        assert [m.to_stage for m in moves] == list(STAGES)     # each move once, in order
    counts = q(stack, """SELECT (SELECT count(*) FROM audit_log WHERE action = 'pipeline.stage_changed') AS audited,
        (SELECT count(*) FROM outbox_events WHERE type = 'sales.pipeline.stage_changed') AS events""")[0]
    assert (counts.audited, counts.events) == (PIPELINES * len(STAGES),) * 2


def check_refunds(stack: Stack, world: dict[str, Any], ops: list[Op]) -> None:
    """RFR-004: each approved once; Billing is asked to pay each refund exactly once."""
    for refund in world["refunds"]:
        [row] = q(stack, "SELECT status FROM refunds WHERE id = :i", i=refund["id"])
        assert row.status == "PROCESSING"
        sent = q(stack, "SELECT count(*) AS n FROM outbox_events WHERE type = 'sales.refund.requested' "
                        "AND subject = :i", i=refund["id"])[0].n
        assert sent == 1, f"refund {refund['id']} sent to Billing {sent} times"
        audited = q(stack, "SELECT count(*) AS n FROM audit_log WHERE action = 'refund.approved' AND entity_id = :i",
                    i=refund["id"])[0].n
        assert audited == 1


def check_commissions(stack: Stack, world: dict[str, Any], ops: list[Op]) -> None:
    """CMR: every line approved once and paid once, in the one payout, whose total is the lines' sum."""
    [payout] = q(stack, "SELECT id, reference, lines, total FROM commission_payouts")
    paid = q(stack, "SELECT id, final_amount, payout_reference FROM commissions WHERE status = 'PAID'")
    assert sorted(str(r.id) for r in paid) == sorted(line["id"] for line in world["lines"])
    assert {r.payout_reference for r in paid} == {"NEFT-CRASH-0001"} and payout.lines == SALES
    assert payout.total == sum(r.final_amount for r in paid) == Decimal("100.00") * SALES   # 5 % of 2,000.00
    events = q(stack, "SELECT subject, count(*) AS n FROM outbox_events WHERE type = 'sales.commission.paid' "
                      "GROUP BY subject")
    assert sorted((e.subject, e.n) for e in events) == sorted((line["id"], 1) for line in world["lines"])
    approvals = q(stack, "SELECT count(*) AS n FROM audit_log WHERE action = 'commission.approved'")[0].n
    assert approvals == SALES
