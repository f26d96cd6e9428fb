"""Every event the tests in this package make the service publish must match its JSON Schema."""
from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.events_schema import assert_outbox_valid


@pytest.fixture(autouse=True)
async def _emitted_events_match_schemas(engine) -> AsyncIterator[None]:  # type: ignore[no-untyped-def]
    yield
    async with engine.connect() as conn:
        await assert_outbox_valid(conn)
