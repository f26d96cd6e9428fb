"""The load generator: its own process, asyncio + aiohttp (+ uvloop), driven by a JSON plan.

    python -m sales.bench.load PLAN.json RESULT.json

Mixed mode: `users` virtual users (RMs, supervisors, lead intake, upsell campaigns: POST /upsells as SERVICE),
each pausing ~1 s (uniform think_min..think_max) between requests, so the offered load is steady. Closed mode:
`concurrency` clients repeat one operation back to back (saturation). Batches mode: `concurrency` clients post
the prepared CloudEvent batches of `batches_file` (one JSON array per line) to POST /events, each batch once,
back to back, or each client its own list of them in order (`lanes`); a batch that is not accepted is sent
again (up to `retries` times). The per-event outcomes the service answers are counted (`sales bench ingest`).
Latency is measured from sending the request to having read the whole body, for requests that *start* after
the ramp-up. The generator reports its own CPU time so a saturated generator is visible.
"""
from __future__ import annotations

import asyncio
import json
import random
import resource
import sys
import time
import uuid
from collections import defaultdict
from typing import Any

import aiohttp

API = "/api/v1/sales"
UNLISTED_LOCALITY = "Outer Ring Farms"  # a locality no seeded RM lists: its leads go to the city stage
NEXT_STAGE = {"NEW": "CONTACTED", "CONTACTED": "REQUIREMENTS_CAPTURED", "REQUIREMENTS_CAPTURED": "SHORTLIST_SENT",
              "SHORTLIST_SENT": "VISIT_SCHEDULED", "VISIT_SCHEDULED": "VISIT_COMPLETED",
              "VISIT_COMPLETED": "NEGOTIATION", "NEGOTIATION": "AGREEMENT_PENDING",
              # winning needs the deal's closure checklist (issue 15), which the load does not fill: its pipelines
              # end lost, which costs the same stage change
              "AGREEMENT_PENDING": "CLOSED_LOST"}
LOSS_REASON = "Went with a competitor"  # a lost deal needs one (PIP rules); without it the close was a 422
FIRST = ["Priya", "Rahul", "Ananya", "Vikram", "Sneha", "Arjun", "Kavya", "Rohan", "Meera", "Aditya"]
LAST = ["Patel", "Sharma", "Iyer", "Reddy", "Nair", "Gupta", "Menon", "Joshi", "Rao", "Kulkarni"]
SOURCES = ["WEBSITE", "MOBILE_APP", "INBOUND_CALL", "WHATSAPP", "REFERRAL", "CAMPAIGN", "PARTNER"]
RM_MIX = [("pipeline_get", 35), ("queue", 25), ("pipeline_list", 20), ("stage_change", 20)]
SUPERVISOR_MIX = [("workload", 50), ("stats", 50)]


class Recorder:
    def __init__(self) -> None:
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.status: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.errors: dict[str, list[str]] = defaultdict(list)
        self.measure_from = 0.0
        self.measure_to = float("inf")
        self.total = 0  # every request, ramp-up included (for CPU per request)

    async def call(self, session: aiohttp.ClientSession, op: str, method: str, url: str, *, headers: dict,
                   json_body: Any = None, data: bytes | None = None) -> tuple[int, bytes]:
        started = time.perf_counter()
        try:
            async with session.request(method, url, headers=headers, json=json_body, data=data) as response:
                body = await response.read()
                status = response.status
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            body, status = repr(exc).encode(), 0
        elapsed = time.perf_counter() - started
        self.total += 1
        if self.measure_from <= started < self.measure_to:
            self.latency[op].append(elapsed)
            self.status[op][str(status)] += 1
            if (status == 0 or status >= 400) and len(self.errors[op]) < 5:
                self.errors[op].append(f"{status} {body[:300].decode(errors='replace')}")
        return status, body


class World:
    """What the virtual users act on, from the plan."""

    def __init__(self, plan: dict) -> None:
        self.base = plan["base_url"] + API
        self.rms = plan["rms"]
        self.supervisors = plan["supervisors"]
        self.intake = plan["intake"]
        self.localities = plan["localities"]
        self.locality_weights = [loc["weight"] for loc in self.localities]
        self.rng = random.Random(plan.get("seed", 1))
        # Open pipelines per RM, moved along as stage changes succeed.
        self.open = [[p for p in rm["pipelines"] if p[1] in NEXT_STAGE] for rm in self.rms]
        self.upsell = plan.get("upsell")  # {"token", "customers": [{user_id, user_type, target_plan_id}]}

    def lead(self, *, city_only: bool = False) -> dict:
        """A new lead in a seeded locality; `city_only`: in a locality of its city no RM lists (the engine's city
        stage: every RM of the city is a candidate)."""
        rng = self.rng
        loc = rng.choices(self.localities, weights=self.locality_weights)[0]
        first, last = rng.choice(FIRST), rng.choice(LAST)
        segment = rng.choice(loc["segments"])
        value = rng.randrange(50, 400) * 5_000 if segment == "BUYER" else rng.randrange(10, 160) * 500
        return {"lead_id": str(uuid.uuid4()),
                "customer": {"name": f"{first} {last}", "phone": f"+91-9{rng.randrange(10**8, 10**9)}",
                             "email": f"{first.lower()}.{rng.randrange(10**6)}@example.com"},
                "city": loc["city"], "zone": loc["zone"],
                "locality": UNLISTED_LOCALITY if city_only else loc["locality"],
                "property_type": rng.choice(loc["property_types"]), "segment": segment,
                "expected_deal_value": f"{value}.00", "source": rng.choice(SOURCES)}


async def rm_action(rec: Recorder, session: aiohttp.ClientSession, world: World, i: int, op: str) -> None:
    rm = world.rms[i]
    headers = {"Authorization": f"Bearer {rm['token']}"}
    if op == "queue":
        await rec.call(session, op, "GET", f"{world.base}/allocations/rm/{rm['id']}/queue", headers=headers)
    elif op == "pipeline_list":
        await rec.call(session, op, "GET", f"{world.base}/pipelines?limit=250", headers=headers)
    elif op == "pipeline_list_50":
        await rec.call(session, op, "GET", f"{world.base}/pipelines?limit=50", headers=headers)
    elif op == "pipeline_get":
        pipeline = world.rng.choice(rm["pipelines"])
        await rec.call(session, op, "GET", f"{world.base}/pipelines/{pipeline[0]}", headers=headers)
    elif op == "stage_change":
        open_ = world.open[i]
        if not open_:
            return await rm_action(rec, session, world, i, "pipeline_get")
        pipeline = world.rng.choice(open_)
        target = NEXT_STAGE[pipeline[1]]
        body = {"stage": target, **({"loss_reason": LOSS_REASON} if target == "CLOSED_LOST" else {})}
        status, _ = await rec.call(session, op, "PATCH", f"{world.base}/pipelines/{pipeline[0]}/stage",
                                   headers=headers, json_body=body)
        if status == 200:
            pipeline[1] = target
        if status != 200 or target not in NEXT_STAGE:  # closed now, or moved/transferred elsewhere
            if pipeline in open_:
                open_.remove(pipeline)


async def supervisor_action(rec: Recorder, session: aiohttp.ClientSession, world: World, i: int, op: str) -> None:
    sup = world.supervisors[i]
    headers = {"Authorization": f"Bearer {sup['token']}"}
    if op == "workload":
        await rec.call(session, op, "GET", f"{world.base}/allocations/workload?team_id={sup['team_id']}",
                       headers=headers)
    else:
        await rec.call(session, op, "GET", f"{world.base}/pipelines/stats?team_id={sup['team_id']}", headers=headers)


async def allocate(rec: Recorder, session: aiohttp.ClientSession, world: World, op: str = "allocation") -> None:
    """`allocation`: a lead in a seeded locality; `allocation_city`: in one no RM lists (the city stage)."""
    headers = {"Authorization": f"Bearer {world.intake['token']}"}
    await rec.call(session, op, "POST", f"{world.base}/allocations", headers=headers,
                   json_body=world.lead(city_only=op == "allocation_city"))


async def upsell_create(rec: Recorder, session: aiohttp.ClientSession, world: World, rng: random.Random) -> None:
    """POST /upsells as SERVICE (issue 11): a campaign offer of the customer's next plan up, through the gating
    (201, or 409 upsell_suppressed when the customer already had 3 this week: UPR-005)."""
    customer = rng.choice(world.upsell["customers"])
    await rec.call(session, "upsell_create", "POST", f"{world.base}/upsells",
                   headers={"Authorization": f"Bearer {world.upsell['token']}"},
                   json_body={**customer, "trigger_event": "CAMPAIGN", "channel": "IN_APP_BANNER",
                              "trigger_context": {"campaign": "bench"}})


def _pick(rng: random.Random, mix: list[tuple[str, int]], enabled: set[str]) -> str | None:
    choices = [(op, w) for op, w in mix if op in enabled]
    if not choices:
        return None
    return rng.choices([op for op, _ in choices], weights=[w for _, w in choices])[0]


async def mixed(plan: dict, rec: Recorder, session: aiohttp.ClientSession) -> None:
    world = World(plan)
    enabled = set(plan["operations"])
    users = plan["users"]
    n_sup = min(len(world.supervisors), max(1, round(users * plan.get("supervisor_share", 0.1))))
    n_intake = max(1, round(users * plan.get("intake_share", 0.04))) if "allocation" in enabled else 0
    n_upsell = max(1, round(users * plan.get("upsell_share", 0.02))) \
        if "upsell_create" in enabled and world.upsell else 0
    n_rm = users - n_sup - n_intake - n_upsell
    stop_at = time.perf_counter() + plan["ramp"] + plan["duration"]
    think = (plan.get("think_min", 0.5), plan.get("think_max", 1.5))

    async def user(kind: str, index: int, slot: int) -> None:
        rng = random.Random(f"{kind}-{index}-{slot}")  # str seeds are reproducible; hash() of a str is not
        await asyncio.sleep(rng.uniform(0, plan["ramp"]))  # arrivals spread over the ramp-up
        walked = False
        while time.perf_counter() < stop_at:
            if kind in ("rm", "supervisor"):
                mix = [(op, w) for op, w in (RM_MIX if kind == "rm" else SUPERVISOR_MIX) if op in enabled]
                # Each user's first measured action walks the mix, so even a short run records every operation.
                if not walked and mix and time.perf_counter() >= rec.measure_from:
                    op, walked = mix[slot % len(mix)][0], True
                else:
                    op = _pick(rng, mix, enabled)
                if op:
                    action = rm_action if kind == "rm" else supervisor_action
                    await action(rec, session, world, index, op)
            elif kind == "upsell":
                await upsell_create(rec, session, world, rng)
            else:
                await allocate(rec, session, world)
            await asyncio.sleep(rng.uniform(*think))

    tasks = [user("rm", i % len(world.rms), i) for i in range(n_rm)]
    tasks += [user("supervisor", i % len(world.supervisors), i) for i in range(n_sup)]
    tasks += [user("intake", i, i) for i in range(n_intake)]
    tasks += [user("upsell", i, i) for i in range(n_upsell)]
    rec.users = {"rm": n_rm, "supervisor": n_sup, "intake": n_intake, "upsell": n_upsell}  # type: ignore[attr-defined]
    await asyncio.gather(*tasks)


async def closed(plan: dict, rec: Recorder, session: aiohttp.ClientSession) -> None:
    world = World(plan)
    op = plan["operation"]
    stop_at = time.perf_counter() + plan["ramp"] + plan["duration"]

    async def client(index: int) -> None:
        rng = random.Random(index)
        while time.perf_counter() < stop_at:
            if op == "healthz":  # the HTTP stack's floor: no auth, no database
                await rec.call(session, op, "GET", f"{plan['base_url']}/healthz", headers={})
            elif op in ("allocation", "allocation_city"):
                await allocate(rec, session, world, op)
            elif op == "upsell_create":
                await upsell_create(rec, session, world, rng)
            elif op in ("workload", "stats"):
                await supervisor_action(rec, session, world, rng.randrange(len(world.supervisors)), op)
            else:
                await rm_action(rec, session, world, rng.randrange(len(world.rms)), op)

    await asyncio.gather(*(client(i) for i in range(plan["concurrency"])))


async def batches(plan: dict, rec: Recorder, session: aiohttp.ClientSession) -> dict:
    """Post every prepared batch once: `concurrency` clients taking the next batch as they finish one, or
    each client its own `lanes[c]` in order; count the outcome of each event by type and status (PROCESSED,
    DUPLICATE, IGNORED, FAILED, PARKED)."""
    with open(plan["batches_file"], "rb") as f:
        bodies = [line.rstrip(b"\n") for line in f if line.strip()]
    url = f"{plan['base_url']}{API}/events"
    headers = {"Authorization": f"Bearer {plan['token']}", "Content-Type": "application/json"}
    outcomes: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    problems: list[dict] = []
    rejected: list[int] = []
    retried: list[int] = []
    shared = iter(range(len(bodies)))  # shared by the clients: each batch is posted once
    lanes = plan.get("lanes")  # or each client posts its own batches in order (keyed dispatch)
    started = time.perf_counter()

    async def client(c: int) -> None:
        for i in (lanes[c] if lanes else shared):
            # A producer sends a batch again when it was not accepted (5xx, timeout): nothing of it was kept.
            for attempt in range(1 + plan.get("retries", 3)):
                if attempt:
                    retried.append(i)
                    await asyncio.sleep(1.0)
                status, body = await rec.call(session, "ingest_batch", "POST", url, headers=headers,
                                              data=bodies[i])
                if status == 200:
                    break
            else:
                rejected.append(i)
                continue
            for item in json.loads(body)["items"]:
                outcomes[item["type"]][item["status"]] += 1
                if item["status"] in ("FAILED", "PARKED") and len(problems) < 50:
                    problems.append({"batch": i, **item})

    await asyncio.gather(*(client(c) for c in range(len(lanes) if lanes else plan["concurrency"])))
    return {"batches": len(bodies), "posting_wall_s": round(time.perf_counter() - started, 3),
            "outcomes": {t: dict(s) for t, s in sorted(outcomes.items())}, "problems": problems,
            "rejected_batches": rejected, "retried_batches": retried}


def _ms(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return round(ordered[rank - 1] * 1000, 2)


async def run(plan: dict) -> dict:
    rec = Recorder()
    connector = aiohttp.TCPConnector(limit=0, ttl_dns_cache=None, force_close=False)
    timeout = aiohttp.ClientTimeout(total=plan.get("timeout", 30))
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    wall0 = time.perf_counter()
    extra: dict[str, Any] = {}
    if plan["mode"] != "batches":  # batches: every request is measured, however long the run takes
        rec.measure_from = wall0 + plan["ramp"]
        rec.measure_to = wall0 + plan["ramp"] + plan["duration"]
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        if plan["mode"] == "mixed":
            await mixed(plan, rec, session)
        elif plan["mode"] == "batches":
            extra["ingest"] = await batches(plan, rec, session)
        else:
            await closed(plan, rec, session)
    wall = time.perf_counter() - wall0
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    window = extra["ingest"]["posting_wall_s"] if "ingest" in extra else plan["duration"]
    operations = {}
    for op, values in rec.latency.items():
        ok = sum(n for s, n in rec.status[op].items() if s.startswith("2"))
        operations[op] = {"p50_ms": _ms(values, 50), "p95_ms": _ms(values, 95), "p99_ms": _ms(values, 99),
                          "rps": round(len(values) / window, 1), "ok_rps": round(ok / window, 1),
                          "count": len(values), "status": dict(rec.status[op]), "errors": rec.errors[op]}
    return {"mode": plan["mode"], "operations": operations, "users": getattr(rec, "users", None),
            "concurrency": plan.get("concurrency"), "duration_s": window, "requests_total": rec.total,
            "generator_cpu_s": round(cpu, 2), "generator_wall_s": round(wall, 2),
            "generator_cpu_pct_of_one_core": round(100 * cpu / wall, 1), **extra}


def main() -> None:
    plan_path, out_path = sys.argv[1], sys.argv[2]
    with open(plan_path) as f:
        plan = json.load(f)
    try:
        import uvloop
    except ImportError:  # pragma: no cover
        result = asyncio.run(run(plan))
    else:
        result = uvloop.run(run(plan))
    with open(out_path, "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main()
