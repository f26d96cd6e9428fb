"""Tables of the shared kernel: clock, audit, outbox, inbox, idempotency."""
from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, MetaData, SmallInteger, String, Table, Text, text

from sales.core.types import JSONType, UTCDateTime, UUIDType, BigIntPK

metadata = MetaData(naming_convention={
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
})

clock_state = Table(
    "clock_state", metadata,
    Column("id", SmallInteger, primary_key=True),
    Column("frozen_at", UTCDateTime, nullable=True),
)

audit_log = Table(
    "audit_log", metadata,
    Column("seq", BigIntPK, primary_key=True, autoincrement=True),
    Column("id", UUIDType, nullable=False, unique=True),
    Column("at", UTCDateTime, nullable=False),
    Column("actor_id", UUIDType, nullable=True),
    Column("actor_roles", JSONType, nullable=False),
    Column("action", String(64), nullable=False),
    Column("entity_type", String(64), nullable=False),
    Column("entity_id", String(64), nullable=False),
    Column("before", JSONType, nullable=True),
    Column("after", JSONType, nullable=True),
    Column("request_id", String(64), nullable=True),
    # Tamper evidence (sales.core.audit_chain): the row's place in its partition's hash chain.
    Column("partition", Integer, nullable=True),
    Column("chain_pos", BigInteger, nullable=True),
    Column("prev_hash", String(64), nullable=True),
    Column("hash", String(64), nullable=True),
    Index("ix_audit_log_entity", "entity_type", "entity_id", "seq"),
    Index("uq_audit_log_chain", "partition", "chain_pos", unique=True),
    Index("ix_audit_log_actor", "actor_id", "seq"),
    Index("ix_audit_log_at", "at"),
)

# The head of each audit hash chain: how many rows it holds and the last one's hash (sales.core.audit_chain).
audit_chain = Table(
    "audit_chain", metadata,
    Column("partition", Integer, primary_key=True, autoincrement=False),
    Column("length", BigInteger, nullable=False),
    Column("head_hash", String(64), nullable=False),
    # The archived start of the chain (sales.retention): rows 1..archived_length moved to the archive, the last
    # one's hash is where verification of the rows still here starts.
    Column("archived_length", BigInteger, nullable=False, server_default=text("0")),
    Column("archived_hash", String(64), nullable=False, server_default=text("'" + "0" * 64 + "'")),
)

outbox_events = Table(
    "outbox_events", metadata,
    Column("seq", BigIntPK, primary_key=True, autoincrement=True),
    Column("id", UUIDType, nullable=False, unique=True),
    Column("type", String(128), nullable=False),
    Column("subject", String(64), nullable=False),
    Column("envelope", JSONType, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("published_at", UTCDateTime, nullable=True),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    # Commit-ordered position, assigned by the sequencer (sales.events.repository.sequence) once the row
    # is visible; `seq` is allocation order, which concurrent PostgreSQL transactions can commit out of.
    Column("pos", BigInteger, nullable=True),
    Index("ix_outbox_events_unpublished", "seq", postgresql_where=text("published_at IS NULL"),
          sqlite_where=text("published_at IS NULL")),
    Index("uq_outbox_events_pos", "pos", unique=True),
    Index("ix_outbox_events_unsequenced", "seq", postgresql_where=text("pos IS NULL"),
          sqlite_where=text("pos IS NULL")),
)

inbox_events = Table(
    "inbox_events", metadata,
    Column("id", String(128), primary_key=True),
    Column("type", String(128), nullable=False),
    Column("source", String(256), nullable=False),
    # The CloudEvent as received (JSON text), sealed with the PII cipher: events carry customer contacts.
    Column("sealed_envelope", Text, nullable=False, info={"sealed": True}),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("last_error", Text, nullable=True),
    Column("received_at", UTCDateTime, nullable=False),
    Column("processed_at", UTCDateTime, nullable=True),
    Column("next_attempt_at", UTCDateTime, nullable=True),  # when a FAILED event is retried (backoff)
    Index("ix_inbox_events_status", "status", "received_at"),
)

idempotency_keys = Table(
    "idempotency_keys", metadata,
    Column("actor", String(64), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("method", String(8), nullable=False),
    Column("path", String(512), nullable=False),  # for people reading the table; request_hash decides
    Column("request_hash", String(64), nullable=False),
    Column("principal_hash", String(64), nullable=False),  # sub, roles and teams of the first request
    # NULL while the first request runs; then its response, the body encrypted (it may hold customer PII).
    Column("status_code", SmallInteger, nullable=True),
    Column("content_type", String(128), nullable=True),
    Column("response_body", Text, nullable=True, info={"sealed": True}),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Index("ix_idempotency_keys_expires_at", "expires_at"),
)
