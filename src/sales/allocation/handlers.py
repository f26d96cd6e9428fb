"""Consumed events the allocation domain reacts to (PRD §5.4)."""
from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from sales.allocation.schemas import LeadAllocationRequest
from sales.allocation.service import allocate_lead
from sales.events.payloads import object_data
from sales.events.registry import ConsumedEvent, handles

LEAD_FACTS = ("lead_id", "customer", "city", "zone", "locality", "property_type", "segment",
              "expected_deal_value", "source", "intent")


@handles("leads.lead.created")
async def lead_created(conn: AsyncConnection, event: ConsumedEvent) -> None:
    """PRD §5.4: a new lead triggers the allocation workflow."""
    # Only the lead's facts: an upstream event may carry more fields, and may never name the RM itself.
    data = {k: v for k, v in object_data(event).items() if k in LEAD_FACTS}
    request = LeadAllocationRequest.model_validate(data)
    await allocate_lead(conn, event.principal, request=request, now=event.now)
