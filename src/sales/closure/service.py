"""Deal-closure use cases (issue 15): the checklist, documents, and the gate on CLOSED_WON. Never commits."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection

from sales.closure import repository, rules
from sales.closure.enums import DealType, DocumentKind
from sales.closure.errors import ChecklistChanged, ChecklistIncomplete, DocumentTooLarge, UnsupportedDocument
from sales.closure.schemas import ChecklistItem, ChecklistRead, ChecklistUpdate, DocumentRead
from sales.core import audit, files, hooks
from sales.core.auth import Principal
from sales.core.errors import InvalidInput
from sales.pipelines import repository as pipelines_repository
from sales.pipelines.enums import Stage
from sales.pipelines.errors import PipelineClosed, PipelineNotFound


async def _pipeline(conn: AsyncConnection, principal: Principal, pipeline_id: UUID, *, for_update: bool = False
                    ) -> Any:
    row = await pipelines_repository.get(conn, pipeline_id, scope=pipelines_repository.readable(principal),
                                         for_update=for_update)
    if row is None:
        raise PipelineNotFound(f"pipeline {pipeline_id} not found")
    return row


async def _state(conn: AsyncConnection, pipeline: Any) -> tuple[DealType, dict[str, Any], Any]:
    stored = await repository.checklist(conn, pipeline.id)
    if stored is not None:
        return DealType(stored.deal_type), dict(stored.items), stored
    return rules.default_deal_type(await repository.lead_segment(conn, pipeline.lead_id)), {}, None


def _read(pipeline_id: UUID, deal_type: DealType, items: dict[str, Any], stored: Any) -> ChecklistRead:
    rows = [ChecklistItem(key=key, label=label, done=key in items,
                          done_at=items[key]["done_at"] if key in items else None,
                          done_by=items[key]["done_by"] if key in items else None)
            for key, label in rules.CHECKLISTS[deal_type]]
    missing = rules.missing(deal_type, set(items))
    return ChecklistRead(pipeline_id=pipeline_id, deal_type=deal_type, items=rows, complete=not missing,
                         missing_items=missing, version=stored.version if stored else 0,
                         updated_at=stored.updated_at if stored else None)


async def get_checklist(conn: AsyncConnection, principal: Principal, *, pipeline_id: UUID) -> ChecklistRead:
    pipeline = await _pipeline(conn, principal, pipeline_id)
    return _read(pipeline_id, *await _state(conn, pipeline))


async def update_checklist(conn: AsyncConnection, principal: Principal, *, pipeline_id: UUID, data: ChecklistUpdate,
                           now: datetime) -> ChecklistRead:
    """Tick or untick items of the deal's type, or change the type; items of another type are refused (422)."""
    pipeline = await _pipeline(conn, principal, pipeline_id, for_update=True)
    if Stage(pipeline.stage).is_closed:
        raise PipelineClosed(f"pipeline {pipeline_id} is closed at {pipeline.stage}")
    deal_type, items, stored = await _state(conn, pipeline)
    before = _read(pipeline_id, deal_type, items, stored)
    changes = data.model_dump(exclude_unset=True)
    if changes.get("deal_type") is not None:
        deal_type = DealType(changes["deal_type"])
    keys = {key for key, _ in rules.CHECKLISTS[deal_type]}
    items = {key: value for key, value in items.items() if key in keys}
    for key, done in changes.items():
        if key == "deal_type":
            continue
        if done is None:
            raise InvalidInput((key,), "true or false")
        if key not in keys:
            raise InvalidInput((key,), f"not an item of a {deal_type} deal's checklist")
        if not done:
            items.pop(key, None)
        elif key not in items:
            items[key] = {"done_at": now.isoformat(), "done_by": str(principal.sub)}
    if not await repository.save_checklist(conn, {"pipeline_id": pipeline_id, "deal_type": deal_type.value,
                                                  "items": items, "updated_by": principal.sub, "updated_at": now},
                                           version=stored.version if stored else 0):
        raise ChecklistChanged(f"the checklist of pipeline {pipeline_id} changed meanwhile; read it again")
    after = await get_checklist(conn, principal, pipeline_id=pipeline_id)
    await audit.record(conn, principal, action="checklist.updated", entity_type="pipeline", entity_id=pipeline_id,
                       at=now, before=before.model_dump(mode="json"), after=after.model_dump(mode="json"))
    return after


@hooks.subscribe("pipeline.stage_changing")
async def gate_closed_won(conn: AsyncConnection, *, pipeline_id: UUID, lead_id: UUID, current: Stage, target: Stage,
                          **_: Any) -> None:
    """CLOSED_WON waits for a complete checklist once closure has begun: from AGREEMENT_PENDING, or whenever the
    checklist has been worked on (409 naming the missing items)."""
    if target is not Stage.CLOSED_WON:
        return
    stored = await repository.checklist(conn, pipeline_id)
    if current is not Stage.AGREEMENT_PENDING and stored is None:
        return
    deal_type = (DealType(stored.deal_type) if stored is not None
                 else rules.default_deal_type(await repository.lead_segment(conn, lead_id)))
    missing = rules.missing(deal_type, set(stored.items) if stored is not None else set())
    if missing:
        raise ChecklistIncomplete(f"the {deal_type} checklist is incomplete: {', '.join(missing)}",
                                  extra={"missing_items": missing})


# --- documents ----------------------------------------------------------------------------------------------

def _document(row: Any) -> DocumentRead:
    return DocumentRead(id=row.id, pipeline_id=row.pipeline_id, kind=row.kind, filename=row.filename,
                        content_type=row.content_type, size_bytes=row.size_bytes, sha256=row.sha256,
                        uploaded_by=row.uploaded_by, uploaded_at=row.uploaded_at)


async def upload_document(conn: AsyncConnection, principal: Principal, *, pipeline_id: UUID, filename: str,
                          declared_type: str | None, content: bytes, kind: DocumentKind, store: files.TrackedStore,
                          max_bytes: int, now: datetime) -> DocumentRead:
    """Keep a PDF/JPEG/PNG (by its content; a name or declared type that disagrees is refused) up to
    `max_bytes`, with its SHA-256. The file is written before the row (a row never names a missing file); the
    tracked store removes it again if the transaction does not commit."""
    await _pipeline(conn, principal, pipeline_id, for_update=True)
    if len(content) > max_bytes:
        raise DocumentTooLarge(f"the document has {len(content)} bytes; at most {max_bytes} are accepted",
                               extra={"max_bytes": max_bytes})
    if not content:
        raise InvalidInput(("file",), "the document is empty")
    content_type, problem = rules.document_problem(filename=filename, declared=declared_type, content=content)
    if content_type is None:
        raise UnsupportedDocument(problem)
    digest = files.sha256_of(content)
    document_id = uuid.uuid4()
    values = {"id": document_id, "pipeline_id": pipeline_id, "kind": kind.value, "filename": filename,
              "content_type": content_type, "size_bytes": len(content), "sha256": digest,
              "storage_key": f"{digest[:2]}/{digest}{rules.extension_of(filename)}", "uploaded_by": principal.sub,
              "uploaded_at": now}
    await store.put(values["storage_key"], content)
    await repository.insert_document(conn, values)
    await audit.record(conn, principal, action="document.uploaded", entity_type="pipeline", entity_id=pipeline_id,
                       at=now, after={k: v for k, v in values.items() if k != "storage_key"})
    return DocumentRead.model_validate({k: v for k, v in values.items() if k != "storage_key"})


async def list_documents(conn: AsyncConnection, principal: Principal, *, pipeline_id: UUID) -> list[DocumentRead]:
    await _pipeline(conn, principal, pipeline_id)
    return [_document(row) for row in await repository.documents(conn, pipeline_id)]
