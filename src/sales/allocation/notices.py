"""What allocation tells people, through notifications.request (issue 10 §4). Staff messages are transactional.

- US-SALE-010: a new lead to its RM, with the SLA deadline.
- US-SALE-031: a reassignment to both RMs (the one who gave the lead up is not told when they did it themself).
- LAR-006 escalation path: an escalated lead to the team's supervisor.
- §2.2.5 queue depth monitoring: an RM's (or the team's) PENDING queue beyond its threshold to the team's
  supervisor, once per crossing (issue 17; the team room highlights every queue over it).

The supervisor of a team is `teams.supervisor_id`; for a team without one the request is addressed to
SUPERVISOR with `recipient.id` null and `recipient.team_id` set (Communications resolves the team's supervisors).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection

from sales.allocation import repository
from sales.allocation.config import AllocationRules
from sales.allocation.schemas import AllocationRead
from sales.core.auth import Principal
from sales.directory import repository as directory_repository
from sales.notifications import service as notifications
from sales.notifications.enums import RecipientType


async def _notify_supervisor(conn: AsyncConnection, team_id: UUID | None, *, template: str, dedupe_key: str,
                             data: dict[str, Any], now: datetime) -> None:
    if team_id is None:  # an RM outside any team has no supervisor to tell
        return
    team = await directory_repository.get_team(conn, team_id)
    if team is None:
        return
    await notifications.request(conn, recipient_type=RecipientType.SUPERVISOR, recipient_id=team.supervisor_id,
                                team_id=team_id, template=template, data=data, dedupe_key=dedupe_key,
                                transactional=True, now=now)


async def allocation_created(conn: AsyncConnection, principal: Principal | None, *, allocation: AllocationRead,
                             lead: Any, previous: Any, config: AllocationRules, queue_depth: int,
                             now: datetime) -> None:
    """A lead was allocated (new, or moved from `previous`): tell the RM(s), and the supervisor if the RM's
    queue (`queue_depth`, counted by `repository.insert_allocation`) is now over the threshold."""
    await notifications.request(
        conn, recipient_type=RecipientType.RM, recipient_id=allocation.rm_id, template="lead_assigned",
        dedupe_key=f"lead_assigned:{allocation.id}", transactional=True, now=now, data={
            "allocation_id": allocation.id, "lead_id": allocation.lead_id, "pipeline_id": allocation.pipeline_id,
            "priority": allocation.priority, "sla_deadline": allocation.sla_deadline,
            "is_reassignment": allocation.is_reassignment, "previous_rm_id": allocation.previous_rm_id,
            "city": lead.city, "locality": lead.locality, "property_type": lead.property_type,
            "segment": lead.segment})
    if previous is not None and (principal is None or principal.sub != previous.rm_id):
        await notifications.request(
            conn, recipient_type=RecipientType.RM, recipient_id=previous.rm_id, template="lead_reassigned_away",
            dedupe_key=f"lead_reassigned_away:{allocation.id}", transactional=True, now=now, data={
                "allocation_id": previous.id, "new_allocation_id": allocation.id, "lead_id": allocation.lead_id,
                "to_rm_id": allocation.rm_id, "reason": allocation.reassignment_reason})
    await _check_queue_depth(conn, rm_id=allocation.rm_id, team_id=allocation.team_id, depth=queue_depth,
                             config=config, now=now)


async def _check_queue_depth(conn: AsyncConnection, *, rm_id: UUID, team_id: UUID | None, depth: int,
                             config: AllocationRules, now: datetime) -> None:
    """§2.2.5, issue 17: the supervisor is told when an RM's PENDING queue (`depth`) passes `queue_depth_alert`, or
    the team's passes `team_queue_depth_alert`, once per crossing: again only after the queue was back at or under
    the threshold."""
    checks: list[tuple[str, str, UUID | None, int, int]] = []
    if depth > config.queue_depth_alert:  # at or under it, insert_allocation turned the alert off
        checks.append(("RM", f"rm:{rm_id}", rm_id, depth, config.queue_depth_alert))
    if team_id is not None and config.team_queue_depth_alert is not None:
        checks.append(("TEAM", f"team:{team_id}", None, await repository.team_pending_count(conn, team_id),
                       config.team_queue_depth_alert))
    for scope, key, who, count, threshold in checks:
        if await repository.queue_alert_crossed(conn, key, depth=count, threshold=threshold, now=now):
            await _notify_supervisor(conn, team_id, template="queue_depth_alert", now=now,
                                     dedupe_key=f"queue_depth_alert:{key}:{now.isoformat()}", data={
                                         "team_id": team_id, "rm_id": who, "queue_depth": count,
                                         "threshold": threshold, "scope": scope})


async def lead_escalated(conn: AsyncConnection, *, row: Any, lead: Any, sla_breaches: int, now: datetime) -> None:
    """LAR-006: the lead breached its SLA too often and is escalated to the team's supervisor."""
    await _notify_supervisor(conn, row.team_id, template="lead_escalated", dedupe_key=f"lead_escalated:{row.id}",
                             now=now, data={"allocation_id": row.id, "lead_id": lead.id, "rm_id": row.rm_id,
                                            "team_id": row.team_id, "sla_breaches": sla_breaches,
                                            "sla_deadline": row.sla_deadline, "city": lead.city,
                                            "locality": lead.locality, "reason": "SLA_BREACH"})


async def rm_unavailable(conn: AsyncConnection, *, rm_id: UUID, team_id: UUID | None, why: str,
                         moved: list[dict[str, Any]], queued: list[UUID], kept: int, now: datetime) -> None:
    """Issue 17: an RM became unavailable; their unacted leads were reallocated (or queued), `kept` accepted or
    active leads stay with them until the supervisor moves them."""
    await _notify_supervisor(conn, team_id, template="rm_unavailable", now=now,
                             dedupe_key=f"rm_unavailable:{rm_id}:{now.isoformat()}", data={
                                 "rm_id": rm_id, "team_id": team_id, "reason": "RM_UNAVAILABLE", "why": why,
                                 "reallocated": moved, "queued": queued, "kept_live_leads": kept})
