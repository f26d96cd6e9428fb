#!/usr/bin/env python3
"""Issue 19, the read path: GET /pipelines/{id} and GET /pipelines?limit=50/250 in process (the real app with
production settings, as `sales bench baseline` captures it, called over ASGI directly: no socket, no HTTP
client) on a seeded database. Read-only.

    SALES_DATABASE_URL=... PYTHONPATH=src .venv/bin/python bench/pipeline_read_inprocess.py \
        [--requests 300] [--rounds 3] [--ops get,list50,list250] [--profile out.txt] [--dump out.jsonl]

Prints one JSON line per round and operation: process CPU per request (not wall time: the machine is shared)
and the load average. `--dump` writes instead the responses (status, headers without X-Request-ID, body) of a
fixed set of reads as RM, supervisor, SUPPORT_AGENT (masked PII) and SALES_ADMIN, and of refusals (odd
Authorization headers, roles without access, bad parameters: 401/403/404/422), to compare two versions of
the code byte for byte. The script only uses what every version of the service has (create_app, the bench
token), so it can run against an older `src` (`git archive`) for A/B figures.
"""
from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import time
import uuid
from typing import Any

import asyncpg

from sales.bench import capture
from sales.bench.harness import asyncpg_dsn
from sales.bench.server import bench_token
from sales.settings import get_settings

API = "/api/v1/sales"


async def call(app: Any, path: str, token: str | None, query: str = "", *,
               authorization: str | None = None) -> tuple[int, list, bytes]:
    """GET `path` with `Bearer <token>`, or with the raw `authorization` header given (none when both are None)."""
    if token is not None:
        authorization = f"Bearer {token}"
    auth = [] if authorization is None else [(b"authorization", authorization.encode())]
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": query.encode(), "root_path": "",
             "headers": [(b"host", b"bench"), *auth],
             "client": ("127.0.0.1", 40000), "server": ("bench", 80), "state": {}}
    status, headers, body = 0, [], bytearray()

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        nonlocal status, headers
        if message["type"] == "http.response.start":
            status, headers = message["status"], list(message.get("headers", []))
        else:
            body.extend(message.get("body", b""))

    await app(scope, receive, send)
    return status, headers, bytes(body)


class Lifespan:
    """The app's lifespan (start-up and shutdown), as uvicorn runs it."""

    def __init__(self, app: Any) -> None:
        self.app, self.inbox, self.outbox = app, asyncio.Queue(), asyncio.Queue()

    async def __aenter__(self) -> Lifespan:
        self.task = asyncio.create_task(self.app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}},
                                                 self.inbox.get, self.outbox.put))
        await self.inbox.put({"type": "lifespan.startup"})
        message = await self.outbox.get()
        assert message["type"] == "lifespan.startup.complete", message
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.inbox.put({"type": "lifespan.shutdown"})
        await self.outbox.get()
        await self.task


async def subjects(dsn: str) -> dict[str, Any]:
    """An RM with the most pipelines (>= 251), their supervisor, and another RM's pipeline."""
    conn = await asyncpg.connect(dsn)
    try:
        rm = await conn.fetchrow("SELECT p.rm_id, r.team_id, t.supervisor_id FROM sales_pipelines p "
                                 "JOIN rms r ON r.id = p.rm_id JOIN teams t ON t.id = r.team_id "
                                 "WHERE t.supervisor_id IS NOT NULL "
                                 "GROUP BY 1, 2, 3 ORDER BY count(*) DESC, 1 LIMIT 1")
        own = [str(r["id"]) for r in await conn.fetch(
            "SELECT id FROM sales_pipelines WHERE rm_id = $1 ORDER BY id", rm["rm_id"])]
        other = await conn.fetchval("SELECT p.id FROM sales_pipelines p JOIN rms r ON r.id = p.rm_id "
                                    "WHERE r.team_id <> $1 ORDER BY p.id LIMIT 1", rm["team_id"])
    finally:
        await conn.close()
    return {"rm": str(rm["rm_id"]), "team": str(rm["team_id"]), "own": own, "other": str(other),
            "tokens": {"rm": bench_token(rm["rm_id"], ["RM"]),
                       "supervisor": bench_token(rm["supervisor_id"], ["SUPERVISOR"], team_ids=[rm["team_id"]]),
                       "support": bench_token(uuid.UUID(int=7), ["SUPPORT_AGENT"]),
                       "admin": bench_token(uuid.UUID(int=8), ["SALES_ADMIN"])}}


async def dump(app: Any, s: dict[str, Any], out: str) -> None:
    """The responses of a fixed set of reads, one JSON line each (X-Request-ID left out: it is random)."""
    own = s["own"]
    lines = []
    for who, token in s["tokens"].items():
        reads = [("list250", "/pipelines", "limit=250"), ("list50", "/pipelines", "limit=50"),
                 ("list_default", "/pipelines", ""),
                 ("filtered", "/pipelines", "limit=100&stage=NEGOTIATION"),
                 ("filtered_rm", "/pipelines", f"limit=20&rm_id={s['rm']}"),
                 ("filtered_team", "/pipelines", f"limit=20&team_id={s['team']}&outcome=PENDING"),
                 ("stats", "/pipelines/stats", ""), ("stats_team", "/pipelines/stats", f"team_id={s['team']}"),
                 *[(f"get{i}", f"/pipelines/{own[i]}", "") for i in (0, 1, len(own) // 2, len(own) - 1)],
                 ("get_other", f"/pipelines/{s['other']}", ""), ("get_unknown", f"/pipelines/{uuid.UUID(int=1)}", "")]
        for name, path, query in reads:
            status, headers, body = await call(app, API + path, token, query)
            lines.append({"who": who, "read": name, "status": status, "body": body.decode(),
                          "headers": _headers_shown(headers)})
            if name == "list50" and status == 200:  # the next page through its cursor
                cursor = json.loads(body)["next_cursor"]
                if cursor:
                    status, headers, body = await call(app, API + "/pipelines", token, f"limit=50&cursor={cursor}")
                    lines.append({"who": who, "read": "list50_page2", "status": status, "body": body.decode(),
                                  "headers": _headers_shown(headers)})
    lines += await refusals(app, s)
    with open(out, "w") as f:
        for line in lines:
            f.write(json.dumps(line, sort_keys=True) + "\n")
    print(json.dumps({"dumped": len(lines), "to": out}))


def _headers_shown(headers: list) -> list:
    return [[k.decode(), v.decode()] for k, v in headers if k != b"x-request-id"]


async def refusals(app: Any, s: dict[str, Any]) -> list[dict[str, Any]]:
    """Who is refused what: odd Authorization headers and roles without access against reads of several routers,
    with bad path and query parameters (401, 403, 404, 422 and their bodies). The queue's `time_left_seconds`
    moves with the clock: compare two dumps taken in the same minutes, or mask it."""
    rm = s["tokens"]["rm"]
    headers = {"none": None, "empty": "", "scheme_only": "Bearer", "blank_token": "Bearer  ", "basic": "Basic abc",
               "lower_case": f"bearer {rm}", "padded": f"Bearer   {rm}  ", "malformed": "Bearer abc.def.ghi",
               "customer": f"Bearer {bench_token(uuid.UUID(int=9), ['CUSTOMER'])}",
               "no_sales_role": f"Bearer {bench_token(uuid.UUID(int=10), ['OTHER'])}", "rm": f"Bearer {rm}"}
    reads = [(f"/pipelines/{s['own'][0]}", ""), ("/pipelines/not-a-uuid", ""), ("/pipelines", "limit=0"),
             ("/pipelines", "limit=abc"), ("/pipelines", "stage=%00"), (f"/allocations/rm/{s['rm']}/queue", ""),
             ("/allocations/workload", f"team_id={s['team']}"), ("/teams", ""), ("/audit", "limit=2"),
             (f"/rms/{s['rm']}", ""), ("/no-such-route", "")]
    lines = []
    for who, authorization in headers.items():
        for path, query in reads:
            status, shown, body = await call(app, API + path, None, query, authorization=authorization)
            lines.append({"who": who, "read": f"{path}?{query}", "status": status, "body": body.decode(),
                          "headers": _headers_shown(shown)})
    return lines


async def measure(app: Any, s: dict[str, Any], ops: list[str], requests: int, rounds: int,
                  profile: str | None) -> None:
    own, token = s["own"], s["tokens"]["rm"]
    targets = {"get": lambda i: (f"{API}/pipelines/{own[i % len(own)]}", ""),
               "list50": lambda i: (f"{API}/pipelines", "limit=50"),
               "list250": lambda i: (f"{API}/pipelines", "limit=250"),
               "healthz": lambda i: ("/healthz", "")}
    for op in ops:  # warm-up: caches, prepared statements, token cache
        for i in range(30):
            path, query = targets[op](i)
            status, _, _ = await call(app, path, token, query)
            assert status == 200, (op, status)
    profiler = None
    if profile and profile.endswith(".pstats"):  # deterministic: CPU shares by function (inflated by the tracing)
        import cProfile
        profiler = cProfile.Profile(time.process_time)
        profiler.enable()
    elif profile:
        from pyinstrument import Profiler
        profiler = Profiler(async_mode="enabled", interval=0.0005)
        profiler.start()
    for round_ in range(rounds):
        for op in ops:
            target = targets[op]
            cpu = time.process_time()
            for i in range(requests):
                path, query = target(i)
                await call(app, path, token, query)
            cpu = time.process_time() - cpu
            print(json.dumps({"round": round_, "op": op, "requests": requests,
                              "cpu_ms": round(cpu * 1000 / requests, 3),
                              "load": [round(x, 2) for x in os.getloadavg()]}), flush=True)
    if profile and profile.endswith(".pstats"):
        profiler.disable()
        profiler.dump_stats(profile)
    elif profiler:
        profiler.stop()
        with open(profile, "w") as f:
            f.write(profiler.output_text(unicode=False, show_all=False))


async def main(args: argparse.Namespace) -> None:
    from sales.app import create_app
    from sales.core.db import create_engine

    settings = capture._app_settings(get_settings())
    s = await subjects(asyncpg_dsn(settings.database_url))
    engine = create_engine(settings)
    app = create_app(settings, engine=engine)
    async with Lifespan(app):
        if args.gc == "unfreeze":  # as before the app's start-up froze its objects (issue 19 step 3)
            gc.unfreeze()
        elif args.gc == "off":
            gc.disable()
        if args.dump:
            await dump(app, s, args.dump)
        else:
            await measure(app, s, args.ops.split(","), args.requests, args.rounds, args.profile)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--ops", default="get,list50,list250")
    parser.add_argument("--profile")
    parser.add_argument("--dump")
    parser.add_argument("--gc", choices=["default", "unfreeze", "off"], default="default",
                        help="unfreeze: undo the start-up's gc.freeze(); off: no cyclic collection (a bound)")
    asyncio.run(main(parser.parse_args()))
