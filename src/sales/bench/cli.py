"""Implementations behind `sales bench ...` (sales/cli.py stays thin)."""
from __future__ import annotations

import asyncio
import json
import sys

import click

from sales.core.clock import wall_now
from sales.settings import Settings


def _dsn(settings: Settings) -> str:
    from sales.bench.seed import asyncpg_dsn

    try:
        return asyncpg_dsn(settings.database_url)
    except ValueError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)


def seed_command(settings: Settings, *, scale: str, replace: bool, workers: int | None) -> None:
    from sales.bench.seed import SeedInconsistent, SeedRefused, seed

    dsn = _dsn(settings)
    click.echo(f"seeding scale={scale} into {dsn.rsplit('/', 1)[-1]}")
    try:
        report = asyncio.run(seed(dsn, scale, pii_key=settings.pii_key_bytes, replace=replace, workers=workers,
                                  now=wall_now(), echo=click.echo))
    except (SeedRefused, SeedInconsistent) as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)
    click.echo(f"seeded in {report.total_seconds} s: {report.rms} RMs, {report.teams} teams, "
               f"{report.pipelines} pipelines, {report.history} stage changes, {report.leads} leads, "
               f"{report.allocations} allocations ({report.live_allocations} live)")
    click.echo(f"bench RM with {report.bench_rm_pipelines} pipelines: {report.bench_rm_id}")
    click.echo(json.dumps(report.as_dict()))


def pipeline_list_command(settings: Settings, *, requests: int, rounds: int) -> None:
    from sales.bench import pipeline_list

    _dsn(settings)
    result = pipeline_list.run(settings, requests=requests, rounds=rounds)
    http, raw = result["http"], result["raw_asyncpg"]
    click.echo(f"RM {result['rm_id']}: {result['pipelines_of_rm']} of {result['pipelines_total']} pipelines, "
               f"{result['response_bytes']} bytes")
    click.echo(f"HTTP GET /pipelines?limit=250: median {http['median_ms']} ms, p95 {http['p95_ms']} ms "
               f"(round medians {http['round_medians_ms']})")
    click.echo(f"raw asyncpg query:            median {raw['median_ms']} ms, p95 {raw['p95_ms']} ms")
    click.echo(json.dumps(result))


def suggestions_command(settings: Settings, *, listings: int, requests: int, rounds: int) -> None:
    from sales.bench import suggestions

    _dsn(settings)
    result = suggestions.run(settings, listings=listings, requests=requests, rounds=rounds)
    click.echo(f"{result['listings_total']} listings ({result['bench_listings']} bench listings)")
    for name, shape in result["shapes"].items():
        click.echo(f"GET /pipelines/{{id}}/suggestions?limit={result['limit']} [{name}]: median {shape['median_ms']} ms, "
                   f"p95 {shape['p95_ms']} ms, service CPU {shape['service_cpu_ms_per_request']} ms/request, "
                   f"{shape['suggestions']} suggestions")
    click.echo(json.dumps(result))


def run_command(settings: Settings, *, scale: str, smoke: bool, users: int, duration: float,
                saturation_seconds: float, results_dir: str, cost_seconds: float = 8.0,
                cost_only: bool = False) -> None:
    from pathlib import Path

    from sales.bench import harness

    _dsn(settings)
    if smoke:
        options = harness.Options.smoke(Path(results_dir))
    else:
        options = harness.Options(scale=scale, users=users, duration=duration,
                                  saturation_seconds=saturation_seconds, results_dir=Path(results_dir),
                                  cost_seconds=cost_seconds, cost_only=cost_only)
    try:
        harness.run(settings, options, echo=click.echo)
    except RuntimeError as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)


def baseline_command(settings: Settings, *, clients: int, seconds: float, run_pgbench: bool,
                     results_dir: str) -> None:
    from pathlib import Path

    from sales.bench import harness

    _dsn(settings)
    try:
        result = harness.baseline(settings, results_dir=Path(results_dir), clients=clients, seconds=seconds,
                                  run_pgbench=run_pgbench, echo=click.echo)
    except RuntimeError as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)
    click.echo(json.dumps(result))


def ingest_command(settings: Settings, *, events: int, batch_size: int, clients: int, seed: int, workers: int,
                   dispatch: str, bad_share: float, results_dir: str, mix: str = "context") -> None:
    from pathlib import Path

    from sales.bench import ingest

    options = ingest.Options(events=events, batch_size=batch_size, clients=clients, seed=seed, workers=workers,
                             dispatch=dispatch, mix=mix, bad_share=bad_share, results_dir=Path(results_dir))
    try:
        detail = ingest.run(settings, options, echo=click.echo)
    except RuntimeError as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)
    problems = ingest.failures(detail["summary"])
    for problem in problems:
        click.echo(f"FAILED CHECK: {problem}", err=True)
    if problems:
        sys.exit(1)


def commissions_command(settings: Settings, *, rms_count: int, transactions: int, workers: int, seed: int,
                        results_dir: str) -> None:
    import os
    from pathlib import Path

    from sales.bench import commission_month

    result = asyncio.run(commission_month.run(settings, rms_count=rms_count, transactions=transactions,
                                              workers=workers, seed=seed))
    result["load_average"] = [round(x, 2) for x in os.getloadavg()]
    result["measured_at"] = wall_now().isoformat()
    Path(results_dir).mkdir(parents=True, exist_ok=True)
    (Path(results_dir) / "commission_month.json").write_text(json.dumps(result, indent=2) + "\n")
    click.echo(json.dumps(result))
