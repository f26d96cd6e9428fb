"""`sales users ...`: console users from the command line."""
from __future__ import annotations

import asyncio
import sys
import uuid

import click


@click.group()
def users() -> None:
    """Console users (sign-in accounts for /console)."""


@users.command("create")
@click.option("--email", required=True)
@click.option("--password", required=True, help="At least 10 characters.")
@click.option("--role", required=True, help="RM, SUPERVISOR, SALES_ADMIN, FINANCE_ADMIN, SUPPORT_AGENT, PRODUCT_MANAGER")
@click.option("--rm-id", default=None, help="For RM users: the RM id they act as.")
@click.option("--team", "teams", multiple=True, help="Team UUID (supervisors: teams supervised); repeat for several.")
@click.option("--name", default=None)
def create(email: str, password: str, role: str, rm_id: str | None, teams: tuple[str, ...], name: str | None) -> None:
    """Create a console user (password stored as an Argon2id hash)."""
    from sales.core.errors import SalesError
    from sales.settings import ConfigurationError, get_settings

    try:
        settings = get_settings()
    except ConfigurationError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)
    try:
        rm = uuid.UUID(rm_id) if rm_id else None
        team_ids = [uuid.UUID(t) for t in teams]
    except ValueError as exc:
        click.echo(f"invalid argument: {exc}", err=True)
        sys.exit(2)
    if settings.is_sqlite:
        from sales import migrate
        migrate.upgrade(settings.database_url)
    try:
        user = asyncio.run(_create(settings, email=email, password=password, role=role, rm_id=rm, team_ids=team_ids,
                                   name=name))
    except SalesError as exc:
        errors = exc.extra.get("errors") or []
        where = f" ({errors[0]['loc'][-1]})" if errors else ""
        click.echo(f"could not create user{where}: {exc.detail}", err=True)
        sys.exit(1)
    click.echo(f"created {user.role} user {user.email} ({user.id})")


async def _create(settings, **kwargs):  # type: ignore[no-untyped-def]
    from sales.console import service
    from sales.core.clock import business_now
    from sales.core.db import create_engine, unit_of_work

    engine = create_engine(settings)
    try:
        async with unit_of_work(engine) as conn:
            now = await business_now(conn, frozen_allowed=not settings.is_production)
            return await service.create_user(conn, None, now=now, **kwargs)
    finally:
        await engine.dispose()


@users.command("demo")
def demo() -> None:
    """Print the demo console accounts (development data from `sales seed --demo`)."""
    from sales.demo import DEMO_CONSOLE_USERS
    from sales.settings import ConfigurationError, get_settings

    try:
        settings = get_settings()
    except ConfigurationError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)
    if settings.is_production:
        click.echo("sales users demo is refused in production (SALES_ENV=production): demo accounts are "
                   "development data", err=True)
        sys.exit(2)

    click.echo("Console sign-in: http://127.0.0.1:8000/console/login")
    for email, password, role in DEMO_CONSOLE_USERS:
        click.echo(f"  {role:<16} {email:<34} password: {password}")
