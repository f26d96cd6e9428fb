"""Reads of the lead read model for other domains."""
from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection

from sales.leads import repository


async def customer_contact(conn: AsyncConnection, *, customer_id: UUID) -> dict[str, Any] | None:
    """The customer's name, phone and email as their newest lead gave them, decrypted (callers mask them for
    whoever is not entitled); None when no lead names this customer."""
    row = await repository.latest_of_customer(conn, customer_id)
    return repository.customer_of(row) if row is not None else None
