"""The `sales` command: serve, worker, migrate, seed, token, bench, audit, ops, jobs, keys, customers."""
from __future__ import annotations

import asyncio
import sys
import uuid

import click

from sales.settings import ConfigurationError, get_settings


def _settings():  # type: ignore[no-untyped-def]
    try:
        return get_settings()
    except ConfigurationError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)


@click.group()
def main() -> None:
    """MySqrft Sales service."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int)
@click.option("--tls-cert", type=click.Path(exists=True, dir_okay=False), default=None,
              help="PEM certificate (chain): serve HTTPS, TLS 1.3 only. Needs --tls-key.")
@click.option("--tls-key", type=click.Path(exists=True, dir_okay=False), default=None, help="PEM private key.")
def serve(host: str, port: int, workers: int, tls_cert: str | None, tls_key: str | None) -> None:
    """Serve the API and console (SQLite databases are migrated automatically)."""
    import contextlib

    import uvicorn

    from sales import metrics, migrate, serving
    from sales.core.tls import tls13_only

    if (tls_cert is None) != (tls_key is None):
        click.echo("--tls-cert and --tls-key go together", err=True)
        sys.exit(2)
    tls = {"ssl_certfile": tls_cert, "ssl_keyfile": tls_key, "ssl_context_factory": tls13_only} if tls_cert else {}
    settings = _settings()
    if settings.is_sqlite:
        migrate.upgrade(settings.database_url)
    elif migrate.pending(settings.database_url):
        click.echo("database is not migrated to the newest schema: run `sales migrate` first", err=True)
        sys.exit(1)
    with contextlib.ExitStack() as stack:
        if settings.metrics_port:
            try:
                stack.enter_context(metrics.served_on_loopback(settings.metrics_port, processes=workers))
            except OSError as exc:
                click.echo(f"SALES_METRICS_PORT: cannot listen on {metrics.LOOPBACK}:{settings.metrics_port} "
                           f"({exc.strerror})", err=True)
                sys.exit(2)
        options = {"log_level": "warning", "access_log": False, "proxy_headers": True, **tls}
        if workers > 1:  # a listening socket per worker (SO_REUSEPORT): connections spread evenly
            serving.serve_workers(workers, host=host, port=port, options=options)
        else:
            uvicorn.run("sales.asgi:app", host=host, port=port, **options)


@main.command("migrate")
def migrate_cmd() -> None:
    """Apply schema migrations to SALES_DATABASE_URL."""
    from sales import migrate

    settings = _settings()
    migrate.upgrade(settings.database_url)
    click.echo("database migrated")


@main.command()
@click.option("--demo", is_flag=True, required=True, help="Load the demo data set (only into an empty database).")
def seed(demo: bool) -> None:
    """Load demo data if the database holds no RM yet."""
    from sales import migrate
    from sales.demo import seed_demo

    settings = _settings()
    if settings.is_production:
        click.echo("sales seed --demo is refused in production (SALES_ENV=production): its console accounts "
                   "have published passwords", err=True)
        sys.exit(2)
    if settings.is_sqlite:
        migrate.upgrade(settings.database_url)
    loaded = asyncio.run(seed_demo(settings))
    click.echo("demo data loaded" if loaded else "database already has data; demo data not loaded")


@main.command()
@click.option("--relay/--no-relay", default=True, show_default=True, help="Relay the outbox to NATS.")
@click.option("--jobs/--no-jobs", default=True, show_default=True, help="Run the periodic jobs.")
@click.option("--consume/--no-consume", default=True, show_default=True,
              help="Consume the other domains' JetStream streams.")
def worker(relay: bool, jobs: bool, consume: bool) -> None:
    """Run the outbox relay, the event consumers and the periodic jobs until SIGTERM."""
    from sales import migrate
    from sales import worker as worker_module
    from sales.events.config import load_event_settings

    settings = _settings()
    try:
        events = load_event_settings()
    except ConfigurationError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)
    if settings.is_sqlite:
        migrate.upgrade(settings.database_url)
    elif migrate.pending(settings.database_url):
        click.echo("database is not migrated to the newest schema: run `sales migrate` first", err=True)
        sys.exit(1)
    sys.exit(worker_module.main(settings, events, relay=relay, jobs=jobs, consume=consume))


@main.command()
@click.option("--sub", "sub", default=None, help="User UUID (random when omitted).")
@click.option("--role", "roles", multiple=True, required=True, help="Role; repeat for several.")
@click.option("--team", "teams", multiple=True, help="Team UUID; repeat for several.")
@click.option("--name", default=None)
@click.option("--hours", default=12, show_default=True, type=int, help="Lifetime of the token.")
def token(sub: str | None, roles: tuple[str, ...], teams: tuple[str, ...], name: str | None, hours: int) -> None:
    """Print a development JWT (refused in production)."""
    from datetime import timedelta

    from sales.core.auth import Role, issue_token

    settings = _settings()
    if settings.is_production:
        click.echo("sales token is for development only (SALES_ENV=production)", err=True)
        sys.exit(2)
    try:
        parsed_roles = [Role(r.upper()).value for r in roles]
        subject = uuid.UUID(sub) if sub else uuid.uuid4()
        team_ids = [uuid.UUID(t) for t in teams]
    except ValueError as exc:
        click.echo(f"invalid argument: {exc}", err=True)
        sys.exit(2)
    try:
        click.echo(issue_token(settings, sub=subject, roles=parsed_roles, team_ids=team_ids, name=name,
                               ttl=timedelta(hours=hours)))
    except ConfigurationError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)


@main.group()
def bench() -> None:
    """Benchmarks at PRD scale (ISSUE 6; `ingest` also runs on SQLite). See docs/performance.md."""
    if _settings().is_production:  # synthetic RMs, leads and dev tokens; `seed --replace` empties the tables
        click.echo("sales bench is refused in production (SALES_ENV=production)", err=True)
        sys.exit(2)


@bench.command("seed")
@click.option("--scale", type=click.Choice(["smoke", "prd", "x10"]), default="prd", show_default=True)
@click.option("--replace", is_flag=True, help="Empty the service's tables first.")
@click.option("--workers", type=int, default=None, help="Generator processes (default: CPUs, at most 4).")
def bench_seed(scale: str, replace: bool, workers: int | None) -> None:
    """Fill SALES_DATABASE_URL (migrated, PostgreSQL) with benchmark data via COPY."""
    from sales.bench.cli import seed_command

    seed_command(_settings(), scale=scale, replace=replace, workers=workers)


@bench.command("pipeline-list")
@click.option("--requests", type=int, default=200, show_default=True, help="Requests per round.")
@click.option("--rounds", type=int, default=5, show_default=True)
def bench_pipeline_list(requests: int, rounds: int) -> None:
    """Time the bench RM's 250-pipeline list through HTTP and as the raw query."""
    from sales.bench.cli import pipeline_list_command

    pipeline_list_command(_settings(), requests=requests, rounds=rounds)


@bench.command("suggestions")
@click.option("--listings", type=int, default=50_000, show_default=True, help="Synthetic listings (replaced).")
@click.option("--requests", type=int, default=200, show_default=True, help="Requests per round.")
@click.option("--rounds", type=int, default=3, show_default=True)
def bench_suggestions(listings: int, requests: int, rounds: int) -> None:
    """Time GET /pipelines/{id}/suggestions over N listings (issue 14) through HTTP, with service CPU."""
    from sales.bench.cli import suggestions_command

    suggestions_command(_settings(), listings=listings, requests=requests, rounds=rounds)


from sales.console.cli import users as _console_users  # noqa: E402

main.add_command(_console_users)

from sales.privacy.cli import customers as _customers, keys as _keys  # noqa: E402

main.add_command(_keys)
main.add_command(_customers)


@bench.command("run")
@click.option("--scale", type=click.Choice(["smoke", "prd", "x10"]), default="prd", show_default=True)
@click.option("--smoke", is_flag=True, help="Tiny and quick (CI): 20 users for seconds; latest.json untouched.")
@click.option("--users", type=int, default=500, show_default=True)
@click.option("--duration", type=float, default=60, show_default=True, help="Seconds of mixed load measured.")
@click.option("--saturation-seconds", type=float, default=20, show_default=True)
@click.option("--cost-seconds", type=float, default=8, show_default=True,
              help="Seconds per operation of the cost runs (service CPU per request).")
@click.option("--cost-only", is_flag=True, help="Only the cost runs (incl. the /healthz floor); latest.json untouched.")
@click.option("--results-dir", type=click.Path(), default="bench/results", show_default=True)
def bench_run(scale: str, smoke: bool, users: int, duration: float, saturation_seconds: float, cost_seconds: float,
              cost_only: bool, results_dir: str) -> None:
    """The ISSUE 6 harness on a seeded database: mixed load, saturation, CPU per request, pgbench; writes
    latest.json."""
    from sales.bench.cli import run_command

    run_command(_settings(), scale=scale, smoke=smoke, users=users, duration=duration,
                saturation_seconds=saturation_seconds, cost_seconds=cost_seconds, cost_only=cost_only,
                results_dir=results_dir)


@bench.command("baseline")
@click.option("--clients", type=int, default=16, show_default=True)
@click.option("--seconds", type=float, default=20, show_default=True, help="Seconds of pgbench per operation.")
@click.option("--no-pgbench", is_flag=True, help="Only capture, write the scripts and print the statement counts.")
@click.option("--results-dir", type=click.Path(), default="bench/results", show_default=True)
def bench_baseline(clients: int, seconds: float, no_pgbench: bool, results_dir: str) -> None:
    """The raw-SQL baseline alone (issue 19): capture the statements of one allocation and one pipeline list in
    process, write pgbench scripts running exactly those, print the counts side by side and run pgbench."""
    from sales.bench.cli import baseline_command

    baseline_command(_settings(), clients=clients, seconds=seconds, run_pgbench=not no_pgbench,
                     results_dir=results_dir)


@bench.command("ingest")
@click.option("--events", type=click.IntRange(1), default=100_000, show_default=True)
@click.option("--batch-size", type=click.IntRange(1, 500), default=500, show_default=True,
              help="Events per POST /events (500 at most).")
@click.option("--clients", type=click.IntRange(1), default=4, show_default=True, help="Concurrent clients.")
@click.option("--seed", type=int, default=10, show_default=True, help="The mix of events (ids are new per run).")
@click.option("--workers", type=click.IntRange(1), default=2, show_default=True, help="`sales serve` workers.")
@click.option("--dispatch", type=click.Choice(["keyed", "shared"]), default="keyed", show_default=True,
              help="keyed: each client posts the events of its users/listings in order (as a partitioned bus); "
                   "shared: any client posts the next batch.")
@click.option("--mix", type=click.Choice(["context", "triggers"]), default="context", show_default=True,
              help="context: the eight context event types (issue 10); triggers: usage and view events after a "
                   "prefix of payments, shaped so upsell triggers fire (issue 11).")
@click.option("--bad-share", type=click.FloatRange(0, 0.5), default=0.0, show_default=True,
              help="Share of deliberately bad events (parked).")
@click.option("--results-dir", type=click.Path(), default="bench/results", show_default=True)
def bench_ingest(events: int, batch_size: int, clients: int, seed: int, workers: int, dispatch: str, mix: str,
                 bad_share: float, results_dir: str) -> None:
    """Ingest mixed context events (issue 10) through POST /events in batches: events/s, CPU per event."""
    from sales.bench.cli import ingest_command

    ingest_command(_settings(), events=events, batch_size=batch_size, clients=clients, seed=seed, workers=workers,
                   dispatch=dispatch, mix=mix, bad_share=bad_share, results_dir=results_dir)



@bench.command("commissions")
@click.option("--rms", "rms_count", type=click.IntRange(1), default=1000, show_default=True)
@click.option("--transactions", type=click.IntRange(1), default=100_000, show_default=True)
@click.option("--workers", type=click.IntRange(1, 64), default=8, show_default=True,
              help="Sales calculated at a time (own transactions; one RM's sales stay in order).")
@click.option("--seed", type=int, default=13, show_default=True)
@click.option("--results-dir", type=click.Path(), default="bench/results", show_default=True)
def bench_commissions(rms_count: int, transactions: int, workers: int, seed: int, results_dir: str) -> None:
    """PRD §8.2: a month of commission calculations (issue 13), then earn, batch-approve and pay it. Replaces
    the commission tables' rows and its own bench RMs in SALES_DATABASE_URL (migrated)."""
    from sales.bench.cli import commissions_command

    commissions_command(_settings(), rms_count=rms_count, transactions=transactions, workers=workers, seed=seed,
                        results_dir=results_dir)

@main.group()
def audit() -> None:
    """The audit trail's tamper evidence."""


@audit.command("verify")
def audit_verify() -> None:
    """Walk every audit hash chain; report each edited, inserted or deleted row (exit 1 when any)."""
    from sales.core.audit_chain import verify
    from sales.core.db import create_engine

    settings = _settings()

    async def run():  # type: ignore[no-untyped-def]
        engine = create_engine(settings)
        try:
            async with engine.connect() as conn:
                return await verify(conn)
        finally:
            await engine.dispose()

    report = asyncio.run(run())
    for finding in report.findings:
        click.echo(str(finding))
    verdict = "intact" if report.intact else f"TAMPERED: {len(report.findings)} finding(s)"
    click.echo(f"audit trail {verdict}: {report.rows} rows in {report.partitions} chains")
    sys.exit(0 if report.intact else 1)


@main.group()
def ops() -> None:
    """Operations drills (docs/operations.md)."""


@ops.command("restore-drill")
@click.option("--rounds", type=click.IntRange(1, 1000), default=5, show_default=True,
              help="Write rounds before the backup and before the target instant (half as many after it).")
@click.option("--pg-bin", default=None, help="PostgreSQL programs (default: $SALES_PG_BIN_DIR or "
              "/usr/lib/postgresql/15/bin).")
@click.option("--keep", is_flag=True, help="Keep the scratch directory (clusters stopped) to look at.")
def restore_drill(rounds: int, pg_bin: str | None, keep: bool) -> None:
    """Base backup + WAL archive of a scratch cluster, restored to an instant in another one, then checked
    (row counts, `sales audit verify`, outbox order). Exit 1 when anything does not match. Never touches
    SALES_DATABASE_URL."""
    from sales.ops import drill
    from sales.ops.cluster import DEFAULT_BIN_DIR, unavailable

    bin_dir = pg_bin or DEFAULT_BIN_DIR
    if problem := unavailable(bin_dir):
        click.echo(problem, err=True)
        sys.exit(2)
    report = drill.run(rounds=rounds, bin_dir=bin_dir, keep=keep, say=lambda line: click.echo(f"drill: {line}"))
    for problem in report.problems:
        click.echo(f"drill: PROBLEM: {problem}")
    total = sum(seconds for _, seconds in report.steps)
    verdict = "passed" if report.ok else f"FAILED ({len(report.problems)} problem(s))"
    click.echo(f"restore drill {verdict} in {total:.1f}s" + (f"; kept {report.workdir}" if keep else ""))
    sys.exit(0 if report.ok else 1)


@main.group()
def jobs() -> None:
    """The periodic jobs `sales worker` runs, on demand."""


@jobs.command("list")
def jobs_list() -> None:
    """Name and interval of every periodic job."""
    from sales.worker import discover_jobs

    for name, job in sorted(discover_jobs().items()):
        click.echo(f"{name}\tevery {job.interval_seconds:g} s")


@jobs.command("run")
@click.argument("name")
@click.option("--until-idle", is_flag=True, help="Run again while a run processed something (e.g. `archive` "
                                                 "working through a backlog one batch per run).")
def jobs_run(name: str, until_idle: bool) -> None:
    """Run one job now, each run in its own transaction, and print what it did (JSON, one line a run)."""
    from sales.core.clock import business_now
    from sales.core.db import create_engine, unit_of_work
    from sales.core.http import dumps
    from sales.worker import discover_jobs

    settings = _settings()
    registered = discover_jobs()
    if name not in registered:
        click.echo(f"unknown job {name!r}; known: {', '.join(sorted(registered))}", err=True)
        sys.exit(2)

    async def run() -> None:
        engine = create_engine(settings)
        try:
            while True:
                async with unit_of_work(engine) as conn:
                    now = await business_now(conn, frozen_allowed=not settings.is_production)
                    result = await registered[name].run(conn, now)
                click.echo(dumps({"job": name, **result}).decode())
                if not until_idle or not result.get("processed"):
                    return
        finally:
            await engine.dispose()

    try:
        asyncio.run(run())
    except ConfigurationError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
