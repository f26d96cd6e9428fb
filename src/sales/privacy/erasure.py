"""`sales customers erase USER_ID` (issue 20, PRD §8.5 data protection): the customer anonymized everywhere,
financial records kept intact and explainable.

What it does, in one transaction:
- finds who the customer is (name, phone, email) from their leads and handoff context, and every row tied to them:
  leads (customer_id), the leads' allocations and pipelines, the pipelines' history, tasks, visits, documents,
  requirements, shortlists, shares and feedback, the customer's handoffs, refunds (user_id) with their timeline and
  evidence, upsells, notifications to them, the outbox events and audit rows of all those;
- contact columns become NULL, notes and comments NULL, share links are deleted (the links stop working),
  preferences and property views (activity) are deleted; every other text and JSON value of those rows keeps its
  words with the customer's name, phone and email replaced by `[erased]` (a refund reason stays a reason);
- phone and email are also replaced wherever else they appear in plain text/JSON, in consumed event envelopes and
  in stored idempotent responses;
- audit rows keep who did what when, with the personal data redacted; the chains they sit on are re-sealed and
  the erase's own audit row records each chain's head hash before and after (`sales audit verify` stays green);
- orders, refunds, commissions and payouts keep every amount, date, id and status.

Idempotent: a second run finds nothing left to change and records nothing. Evidence and document files stay in
the file store with their financial record (retention schedule, docs/security.md).
"""
from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from sqlalchemy import JSON, ColumnElement, String, Table, Text, and_, cast, delete, false, literal, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncConnection

from sales.allocation.models import rm_allocations
from sales.closure.models import deal_documents
from sales.core import audit, audit_chain
from sales.core.pii import cipher
from sales.core.sealed import SealedJSON, SealedText
from sales.core.tables import audit_log, idempotency_keys, inbox_events, outbox_events
from sales.customers.models import customer_preferences, customer_property_views
from sales.handoffs.models import handoffs
from sales.journey.models import feedback, requirements, shares, shortlist_versions, shortlists
from sales.leads.models import leads
from sales.leads.repository import customer_of
from sales.models import metadata
from sales.notifications.models import notifications
from sales.pipelines.models import pipeline_stage_history, sales_pipelines
from sales.refunds.models import refund_events, refund_evidence, refunds
from sales.tasks.models import tasks
from sales.upsell.models import upsell_decisions, upsells
from sales.visits.models import visit_plans, visit_stops

ERASED = "[erased]"
BATCH = 1000
# Columns whose whole value is the customer's (contacts, notes, comments): NULL after the erase.
CLEARED = {(c.table.name, c.name) for c in (
    leads.c.customer_name, leads.c.customer_phone, leads.c.customer_email, sales_pipelines.c.notes, tasks.c.notes,
    visit_stops.c.notes, shortlists.c.notes, shortlist_versions.c.notes, feedback.c.comment, handoffs.c.context,
    refund_evidence.c.note)}
# Whose whole value is a file name the customer chose: replaced (NOT NULL columns).
RENAMED = {(c.table.name, c.name) for c in (refund_evidence.c.filename, deal_documents.c.filename)}
# Tables left alone: money and ids only, or handled on their own below.
SKIPPED = {audit_log.name, inbox_events.name, idempotency_keys.name}


@dataclass
class Identity:
    user_id: UUID
    names: set[str] = field(default_factory=set)
    phones: set[str] = field(default_factory=set)
    emails: set[str] = field(default_factory=set)

    def pattern(self, *, names: bool = True) -> re.Pattern[str] | None:
        """The customer's name (whole and each word of 3+ letters), phone (any spacing of its last 10 digits) and
        email, case-insensitive. `names=False` outside the customer's own rows: a name is not unique, a phone or
        email is."""
        parts = [re.escape(e) for e in self.emails]
        for phone in self.phones:
            digits = re.sub(r"\D", "", phone)[-10:]
            if len(digits) >= 6:
                parts.append(r"(?:\+?\d{1,3}[\s-]*)?" + r"[\s-]*".join(digits))
        if names:
            words = {w for n in self.names for w in re.split(r"\s+", n) if len(w) >= 3}
            parts += [rf"\b{re.escape(n)}\b" for n in sorted(self.names | words, key=len, reverse=True) if n.strip()]
        return re.compile("|".join(parts), re.IGNORECASE) if parts else None

    def needles(self) -> list[str]:
        """What a LIKE search looks for in plain columns outside the customer's rows."""
        return sorted(self.emails | self.phones)


def scrub(value: Any, pattern: re.Pattern[str] | None) -> Any:
    """The value with every match replaced by [erased], inside any JSON-like structure."""
    if pattern is None or value is None:
        return value
    if isinstance(value, str):
        return pattern.sub(ERASED, value)
    if isinstance(value, dict):
        return {k: scrub(v, pattern) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v, pattern) for v in value]
    return value


@dataclass
class Erasure:
    user_id: UUID
    tables: dict[str, int] = field(default_factory=dict)  # rows changed (or deleted) per table
    resealed: dict[int, tuple[str, str]] = field(default_factory=dict)  # audit partition -> (head before, after)

    def count(self, table: str, rows: int) -> None:
        if rows:
            self.tables[table] = self.tables.get(table, 0) + rows

    @property
    def changed(self) -> int:
        return sum(self.tables.values())


async def erase(conn: AsyncConnection, user_id: UUID, *, now: Any) -> Erasure:
    result = Erasure(user_id)
    who = await _identity(conn, user_id)
    linked = await _linked_rows(conn, user_id)
    entity_ids = await _entity_ids(conn, user_id, linked)
    linked[outbox_events] = outbox_events.c.subject.in_(sorted(entity_ids))  # the events about them
    own = who.pattern()
    for table, where in linked.items():
        await _scrub_rows(conn, table, where, own, result)
    await _revoke_shares(conn, _ids_of(linked, shortlists), now, result)
    for table, where in ((customer_preferences, customer_preferences.c.user_id == user_id),
                         (customer_property_views, customer_property_views.c.user_id == user_id)):
        result.count(table.name, (await conn.execute(delete(table).where(where))).rowcount or 0)
    others = who.pattern(names=False)
    await _sweep_plain_columns(conn, who.needles(), others, result=result)
    await _scrub_sealed(conn, inbox_events, inbox_events.c.sealed_envelope, who, others, result)
    await _scrub_sealed(conn, idempotency_keys, idempotency_keys.c.response_body, who, others, result)
    await _scrub_audit(conn, entity_ids, own, result)
    if result.changed:
        await audit.record(conn, None, action="customer.erased", entity_type="customer", entity_id=user_id, at=now,
                           after={"user_id": str(user_id), "tables": dict(sorted(result.tables.items())),
                                  "audit_chains_resealed": {str(p): {"head_before": b, "head_after": a}
                                                            for p, (b, a) in sorted(result.resealed.items())}})
    return result


async def _identity(conn: AsyncConnection, user_id: UUID) -> Identity:
    who = Identity(user_id)
    for row in (await conn.execute(select(leads).where(leads.c.customer_id == user_id))).all():
        _learn(who, customer_of(row))
    for (context,) in (await conn.execute(select(handoffs.c.context).where(handoffs.c.user_id == user_id))).all():
        if isinstance(context, dict) and isinstance(context.get("customer"), dict):
            _learn(who, context["customer"])
    return who


def _learn(who: Identity, customer: dict[str, Any]) -> None:
    for key, bucket in (("name", who.names), ("phone", who.phones), ("email", who.emails)):
        if isinstance(customer.get(key), str) and customer[key].strip():
            bucket.add(customer[key].strip())


async def _linked_rows(conn: AsyncConnection, user_id: UUID) -> dict[Table, ColumnElement[bool]]:
    """Each table with the condition selecting the customer's rows in it (ids resolved now: a stable set)."""
    async def ids(query: Any) -> list[Any]:
        return list((await conn.execute(query)).scalars().all())

    lead_ids = await ids(select(leads.c.id).where(leads.c.customer_id == user_id))
    handoff_rows = (await conn.execute(select(handoffs.c.lead_id, handoffs.c.pipeline_ids)
                                       .where(handoffs.c.user_id == user_id))).all()
    lead_ids += [r.lead_id for r in handoff_rows if r.lead_id is not None]
    pipeline_ids = await ids(select(sales_pipelines.c.id).where(sales_pipelines.c.lead_id.in_(lead_ids)))
    pipeline_ids += [UUID(str(p)) for r in handoff_rows for p in (r.pipeline_ids or [])]
    shortlist_ids = await ids(select(shortlists.c.id).where(shortlists.c.pipeline_id.in_(pipeline_ids)))
    plan_ids = await ids(select(visit_plans.c.id).where(visit_plans.c.pipeline_id.in_(pipeline_ids)))
    refund_ids = await ids(select(refunds.c.id).where(refunds.c.user_id == user_id))
    return {
        leads: leads.c.customer_id == user_id,
        rm_allocations: rm_allocations.c.lead_id.in_(lead_ids),
        sales_pipelines: sales_pipelines.c.id.in_(pipeline_ids),
        pipeline_stage_history: pipeline_stage_history.c.pipeline_id.in_(pipeline_ids),
        tasks: tasks.c.pipeline_id.in_(pipeline_ids),
        visit_plans: visit_plans.c.id.in_(plan_ids),
        visit_stops: visit_stops.c.plan_id.in_(plan_ids),
        deal_documents: deal_documents.c.pipeline_id.in_(pipeline_ids),
        requirements: or_(requirements.c.pipeline_id.in_(pipeline_ids), requirements.c.customer_id == user_id),
        shortlists: shortlists.c.id.in_(shortlist_ids),
        shortlist_versions: shortlist_versions.c.shortlist_id.in_(shortlist_ids),
        feedback: feedback.c.pipeline_id.in_(pipeline_ids),
        handoffs: handoffs.c.user_id == user_id,
        refunds: refunds.c.id.in_(refund_ids),
        refund_events: refund_events.c.refund_id.in_(refund_ids),
        refund_evidence: refund_evidence.c.refund_id.in_(refund_ids),
        upsells: upsells.c.user_id == user_id,
        upsell_decisions: upsell_decisions.c.user_id == user_id,
        notifications: and_(notifications.c.recipient_type == "CUSTOMER", notifications.c.recipient_id == user_id),
    }


async def _revoke_shares(conn: AsyncConnection, shortlist_ids: Any, now: Any, result: Erasure) -> None:
    """The customer's shortlist links stop working: each share's token hash becomes a random one nobody holds
    (the share rows stay: feedback given through them keeps its share)."""
    query = (select(shares.c.id, shares.c.expires_at)
             .where(shares.c.shortlist_id.in_(shortlist_ids), shares.c.token_hash.not_like("erased:%")))
    for share in (await conn.execute(query)).all():
        await conn.execute(update(shares).where(shares.c.id == share.id).values(
            token_hash=f"erased:{secrets.token_hex(28)}", expires_at=min(share.expires_at, now)))
        result.count(shares.name, 1)


def _ids_of(linked: dict[Table, ColumnElement[bool]], table: Table) -> Any:
    return select(table.c.id).where(linked[table])


def _text_columns(table: Table) -> list[Any]:
    return [c for c in table.columns if not c.primary_key and not c.foreign_keys
            and isinstance(c.type, String | Text | JSON | SealedText | SealedJSON)
            and c.name not in ("id", "status", "type", "stage", "source", "kind", "sha256", "storage_path",
                               "storage_key", "content_type", "dedupe_key", "subject", "token_hash")]


async def _scrub_rows(conn: AsyncConnection, table: Table, where: ColumnElement[bool],
                      pattern: re.Pattern[str] | None, result: Erasure, *, theirs: bool = True) -> None:
    """`theirs`: the customer's own rows (contacts and notes cleared, file names replaced); otherwise only the
    matches of `pattern` are replaced."""
    columns = _text_columns(table)
    keys = list(table.primary_key.columns)
    if not columns:
        return
    for row in (await conn.execute(select(*keys, *columns).where(where))).all():
        changes = {}
        for column in columns:
            old = row._mapping[column.name]
            name = (table.name, column.name)
            if theirs and name in CLEARED:
                new = None
            else:
                new = ERASED if theirs and name in RENAMED else scrub(old, pattern)
            if theirs and table is requirements and column.name == "data" and isinstance(new, dict):
                new = {k: v for k, v in new.items() if k != "near"}  # where the customer lives or works
            if new != old:
                changes[column.name] = new
        if changes:
            match = and_(*(k == row._mapping[k.name] for k in keys))
            await conn.execute(update(table).where(match).values(changes))
            result.count(table.name, 1)


async def _sweep_plain_columns(conn: AsyncConnection, needles: list[str], pattern: re.Pattern[str] | None, *,
                               result: Erasure) -> None:
    """The customer's phone and email wherever else they were written in plain text (LIKE on each column)."""
    if not needles or pattern is None:
        return
    for table in metadata.sorted_tables:
        if table.name in SKIPPED:
            continue
        plain = [c for c in _text_columns(table) if not isinstance(c.type, SealedText | SealedJSON)
                 and not c.info.get("sealed")]
        for column in plain:
            found = or_(*(cast(column, Text).contains(n, autoescape=True) for n in needles))
            await _scrub_rows(conn, table, found, pattern, result, theirs=False)


async def _scrub_sealed(conn: AsyncConnection, table: Table, column: Any, who: Identity,
                        pattern: re.Pattern[str] | None, result: Erasure) -> None:
    """A column sealed by its repository (event envelopes, idempotent responses): opened row by row."""
    keys = list(table.primary_key.columns)
    own = who.pattern()
    aead, marker = cipher(), str(who.user_id)
    position = tuple_(*keys) if len(keys) > 1 else keys[0]
    last: tuple[Any, ...] | None = None
    while True:  # keyset batches: the table may hold millions of rows
        query = select(*keys, column).where(column.is_not(None))
        if last is not None:
            bound = [literal(v, k.type) for k, v in zip(keys, last, strict=True)]
            query = query.where(position > (tuple_(*bound) if len(bound) > 1 else bound[0]))
        rows = (await conn.execute(query.order_by(*keys).limit(BATCH))).all()
        for row in rows:
            plain = aead.decrypt(row._mapping[column.name])
            new = scrub(plain, own) if plain and marker in plain else scrub(plain, pattern)
            if new != plain:
                match = and_(*(k == row._mapping[k.name] for k in keys))
                await conn.execute(update(table).where(match).values({column.name: aead.encrypt(new)}))
                result.count(table.name, 1)
        if len(rows) < BATCH:
            return
        last = tuple(rows[-1][:len(keys)])


async def _entity_ids(conn: AsyncConnection, user_id: UUID, linked: dict[Table, ColumnElement[bool]]) -> set[str]:
    found: set[str] = {str(user_id)}
    for table, where in linked.items():
        key = table.c.get("id")
        if key is not None:
            found.update(str(i) for i in (await conn.execute(select(key).where(where))).scalars().all())
    return found


async def _scrub_audit(conn: AsyncConnection, entity_ids: Iterable[str], pattern: re.Pattern[str] | None,
                       result: Erasure) -> None:
    """Audit rows of the customer's entities: snapshots redacted, then their chains re-sealed from the first
    redacted position."""
    ids = sorted(entity_ids)
    if not ids or pattern is None:
        return
    first: dict[int, int] = {}
    query = select(audit_log.c.seq, audit_log.c.partition, audit_log.c.chain_pos, audit_log.c.before,
                   audit_log.c.after).where(audit_log.c.entity_id.in_(ids) if ids else false())
    for row in (await conn.execute(query)).all():
        before, after = scrub(row.before, pattern), scrub(row.after, pattern)
        if (before, after) != (row.before, row.after):
            await conn.execute(update(audit_log).where(audit_log.c.seq == row.seq).values(before=before, after=after))
            result.count(audit_log.name, 1)
            if row.partition is not None:
                first[int(row.partition)] = min(first.get(int(row.partition), row.chain_pos), row.chain_pos)
    for partition, position in sorted(first.items()):
        result.resealed[partition] = await audit_chain.reseal(conn, partition, position)
