"""`sales keys rotate` and `sales customers erase USER_ID` (issue 20, data protection)."""
from __future__ import annotations

import asyncio
import sys
import uuid
from typing import Any

import click


def _settings() -> Any:
    from sales.settings import ConfigurationError, get_settings

    try:
        return get_settings()
    except ConfigurationError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)


@click.group()
def keys() -> None:
    """Keys of the customer PII sealed at rest (SALES_PII_KEYS, SALES_PII_ACTIVE_KEY)."""


@keys.command("rotate")
@click.option("--batch", type=click.IntRange(1, 10_000), default=500, show_default=True,
              help="Values re-encrypted per transaction.")
def rotate(batch: int) -> None:
    """Re-encrypt every sealed value under the active key, in batches, while the service runs; counts per table.
    Idempotent: values already under the active key are left alone."""
    from sales.core.db import create_engine
    from sales.core.pii import PiiCipher
    from sales.privacy.rotation import RotationError, rotate as run_rotation

    settings = _settings()
    aead = PiiCipher(settings.pii_key_ring, settings.pii_active_key_id)

    async def run() -> Any:
        engine = create_engine(settings)
        try:
            return await run_rotation(engine, aead, batch=batch, frozen_allowed=not settings.is_production)
        finally:
            await engine.dispose()

    try:
        report = asyncio.run(run())
    except RotationError as exc:
        click.echo(f"cannot rotate: {exc}", err=True)
        sys.exit(1)
    for table, counts in sorted(report.per_table().items()):
        click.echo(f"{table}: {counts['rotated']} rotated, {counts['changed']} changed meanwhile (left as written)")
    click.echo(f"rotated {report.rotated} values to key {report.active_key!r}")


@click.group()
def customers() -> None:
    """Customers' personal data."""


@customers.command("erase")
@click.argument("user_id")
def erase(user_id: str) -> None:
    """Anonymize the customer USER_ID everywhere; orders, refunds and commissions keep their amounts, dates, ids
    and reasons (without personal data). Audited; idempotent."""
    from sales.core.clock import business_now
    from sales.core.db import create_engine, unit_of_work
    from sales.privacy.erasure import erase as run_erase

    try:
        customer = uuid.UUID(user_id)
    except ValueError:
        click.echo(f"invalid USER_ID {user_id!r}: must be a UUID", err=True)
        sys.exit(2)
    settings = _settings()

    async def run() -> Any:
        engine = create_engine(settings)
        try:
            async with unit_of_work(engine) as conn:
                now = await business_now(conn, frozen_allowed=not settings.is_production)
                return await run_erase(conn, customer, now=now)
        finally:
            await engine.dispose()

    result = asyncio.run(run())
    for table, rows in sorted(result.tables.items()):
        click.echo(f"{table}: {rows} rows")
    if result.resealed:
        click.echo(f"audit chains re-sealed: {', '.join(str(p) for p in sorted(result.resealed))}")
    click.echo(f"customer {customer} erased" if result.changed else f"customer {customer}: nothing left to erase")
