"""Directory use cases: load -> check -> persist -> audit. Never commits."""
from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncConnection

from sales.core import audit, hooks
from sales.core.auth import Principal
from sales.core.errors import Forbidden, InvalidInput, SalesError
from sales.core.fields import query_integer
from sales.core.pii import mask_email, mask_phone
from sales.core.http import after_name_and_id, cursor_after
from sales.directory import repository
from sales.directory.errors import CapacityBelowLoad, LeaveOverlaps, RMExists, RMNotFound, TeamExists, TeamNotFound
from sales.directory.permissions import manages_rm, sees_rm_salary
from sales.directory.schemas import (AvailabilityChange, ImportResult, LeaveCreate, LeaveRead, RMCreate, RMRead,
                                     RMUpdate, TeamCreate, TeamRead, TeamUpdate)


def _rm_read(row: Any, principal: Principal) -> RMRead:
    """The RM's record as this caller may see it: staff who neither manage the RM nor pay commissions get the
    contact details masked (like customer PII) and no base salary."""
    rm = RMRead.model_validate(row._mapping)
    hidden: dict[str, Any] = {}
    if not manages_rm(principal, rm_id=rm.id, team_id=rm.team_id):
        hidden.update(email=mask_email(rm.email), phone=mask_phone(rm.phone))
    if not sees_rm_salary(principal, rm_id=rm.id, team_id=rm.team_id):
        hidden.update(base_salary=None)
    return rm.model_copy(update=hidden) if hidden else rm


# --- teams -------------------------------------------------------------------------------------

async def create_team(conn: AsyncConnection, principal: Principal, *, data: TeamCreate, now: datetime) -> TeamRead:
    """Create a team (SALES_ADMIN)."""
    team_id = data.id or uuid.uuid4()
    if await repository.get_team(conn, team_id):
        raise TeamExists(f"team {team_id} already exists")
    row = await repository.insert_team(conn, {**data.model_dump(exclude={"id"}), "id": team_id,
                                              "created_at": now, "updated_at": now})
    if row is None:
        raise TeamExists(f"team {team_id} already exists")
    team = TeamRead.model_validate(row._mapping)
    await audit.record(conn, principal, action="team.created", entity_type="team", entity_id=team.id, at=now,
                       after=team)
    return team


async def get_team(conn: AsyncConnection, principal: Principal, *, team_id: UUID,
                   for_update: bool = False) -> TeamRead:
    """A team in the principal's scope; `for_update` locks it for a read-then-write."""
    row = await repository.get_team(conn, team_id, scope=repository.readable_teams(principal), for_update=for_update)
    if row is None:
        raise TeamNotFound(f"team {team_id} not found")
    return TeamRead.model_validate(row._mapping)


async def update_team(conn: AsyncConnection, principal: Principal, *, team_id: UUID, data: TeamUpdate,
                      now: datetime) -> TeamRead:
    before = await get_team(conn, principal, team_id=team_id, for_update=True)
    if data.id is not None and data.id != team_id:
        raise InvalidInput(("id",), "id cannot be changed")
    values = data.model_dump(exclude_unset=True, exclude={"id"})
    for required in ("name", "city"):
        if required in values and values[required] is None:
            raise InvalidInput((required,), "may not be null")
    row = await repository.update_team(conn, team_id, {**values, "updated_at": now})
    team = TeamRead.model_validate(row._mapping)
    await audit.record(conn, principal, action="team.updated", entity_type="team", entity_id=team_id, at=now,
                       before=before, after=team)
    return team


async def list_teams(conn: AsyncConnection, principal: Principal, *, city: str | None, limit: int,
                     cursor: list[Any] | None) -> list[TeamRead]:
    rows = await repository.list_teams(conn, scope=repository.readable_teams(principal), city=city, limit=limit,
                                       after=_after(cursor))
    return [TeamRead.model_validate(r._mapping) for r in rows]


_AFTER_NAME = after_name_and_id(200)  # teams and RMs are listed by name (String(200)), then id


def _after(cursor: list[Any] | None) -> tuple[str, UUID] | None:
    return cursor_after(cursor, _AFTER_NAME)


async def cities_of_teams(conn: AsyncConnection, team_ids: frozenset[UUID]) -> set[str]:
    """Normalised city names of these teams (for city-scoped views such as queued leads)."""
    return {" ".join(city.lower().split()) for city in await repository.team_cities(conn, team_ids)}


# --- RMs ---------------------------------------------------------------------------------------

async def _check_team(conn: AsyncConnection, team_id: UUID | None) -> None:
    if team_id is not None and not await repository.existing_team_ids(conn, {team_id}):
        raise InvalidInput(("team_id",), f"unknown team {team_id}")


async def create_rm(conn: AsyncConnection, principal: Principal, *, data: RMCreate, now: datetime) -> RMRead:
    """Add an RM to the directory (SALES_ADMIN)."""
    await _check_team(conn, data.team_id)
    if await repository.existing_rm_ids(conn, [data.id]):
        raise RMExists(f"RM {data.id} already exists")
    row = await repository.insert_rm(conn, {**data.model_dump(mode="json"), "id": data.id,
                                            "team_id": data.team_id, "max_deal_value": data.max_deal_value,
                                            "base_salary": data.base_salary, "created_at": now, "updated_at": now})
    if row is None:
        raise RMExists(f"RM {data.id} already exists")
    rm = _rm_read(row, principal)
    await audit.record(conn, principal, action="rm.created", entity_type="rm", entity_id=rm.id, at=now, after=rm)
    return rm


async def get_rm(conn: AsyncConnection, principal: Principal, *, rm_id: UUID, for_update: bool = False) -> RMRead:
    """An RM in the principal's scope; `for_update` locks the row, so what is read stays true until commit."""
    row = await repository.get_rm(conn, rm_id, scope=repository.readable_rms(principal), for_update=for_update)
    if row is None:
        raise RMNotFound(f"RM {rm_id} not found")
    return _rm_read(row, principal)


async def update_rm(conn: AsyncConnection, principal: Principal, *, rm_id: UUID, data: RMUpdate,
                    now: datetime) -> RMRead:
    """Change an RM's record; fields left out keep their values (SALES_ADMIN)."""
    before = await get_rm(conn, principal, rm_id=rm_id, for_update=True)
    if data.id is not None and data.id != rm_id:
        raise InvalidInput(("id",), "id cannot be changed")
    values = _db_values(data, exclude_unset=True)
    if "team_id" in values:
        await _check_team(conn, values["team_id"])
    for required in ("name", "email", "city", "base_salary", "capacity", "performance_score", "status",
                     "availability", "is_backup", "localities", "property_types", "segments", "shifts"):
        if required in values and values[required] is None:
            raise InvalidInput((required,), "may not be null")
    if values.get("capacity") is not None and values["capacity"] < before.active_leads:
        raise CapacityBelowLoad(f"RM has {before.active_leads} active leads; reassign some before lowering "
                                f"capacity to {values['capacity']}")
    row = await repository.update_rm(conn, rm_id, {**values, "updated_at": now})
    rm = _rm_read(row, principal)
    await audit.record(conn, principal, action="rm.updated", entity_type="rm", entity_id=rm_id, at=now,
                       before=before, after=rm)
    await _announce_availability(conn, principal, before=before, after=rm, now=now)
    return rm


def _db_values(data: RMCreate | RMUpdate, *, exclude_unset: bool) -> dict[str, Any]:
    plain = data.model_dump(mode="json", exclude_unset=exclude_unset, exclude={"id"})
    exact = data.model_dump(exclude_unset=exclude_unset, include={"team_id", "max_deal_value", "base_salary"})
    return {**plain, **exact}


async def list_rms(conn: AsyncConnection, principal: Principal, *, filters: dict[str, Any], limit: int,
                   cursor: list[Any] | None) -> list[RMRead]:
    rows = await repository.list_rms(conn, scope=repository.readable_rms(principal), filters=filters, limit=limit,
                                     after=_after(cursor))
    return [_rm_read(r, principal) for r in rows]


async def _manageable_rm(conn: AsyncConnection, principal: Principal, rm_id: UUID) -> RMRead:
    """The RM themself, their team's supervisor or SALES_ADMIN; others who can see the RM get 403.
    The RM's row stays locked until commit: changes to one RM (availability, leaves) queue one behind the
    other, so each sees the one before (no overlapping leaves, an audit trail whose `before` is true)."""
    rm = await get_rm(conn, principal, rm_id=rm_id, for_update=True)
    if not manages_rm(principal, rm_id=rm_id, team_id=rm.team_id):
        raise Forbidden("only the RM, their supervisor or a SALES_ADMIN may do this")
    return rm


async def change_availability(conn: AsyncConnection, principal: Principal, *, rm_id: UUID,
                              data: AvailabilityChange, now: datetime) -> RMRead:
    """Go ONLINE or OFFLINE; offline RMs receive no new leads."""
    before = await _manageable_rm(conn, principal, rm_id)
    row = await repository.update_rm(conn, rm_id, {"availability": data.availability.value, "updated_at": now})
    rm = _rm_read(row, principal)
    await audit.record(conn, principal, action="rm.availability_changed", entity_type="rm", entity_id=rm_id,
                       at=now, before={"availability": before.availability}, after={"availability": rm.availability})
    await _announce_availability(conn, principal, before=before, after=rm, now=now)
    return rm


async def _announce_availability(conn: AsyncConnection, principal: Principal, *, before: RMRead, after: RMRead,
                                now: datetime) -> None:
    """Issue 17: an RM who just went OFFLINE or INACTIVE gives up their unacted leads; one who is back (ONLINE and
    ACTIVE again) re-enters round robin without a burst (the allocation domain reacts in this transaction)."""
    was_away = before.status == "INACTIVE" or before.availability == "OFFLINE"
    if was_away and after.status == "ACTIVE" and after.availability == "ONLINE":
        await hooks.emit("rm.available", conn, principal=principal, rm_id=after.id, team_id=after.team_id,
                         city=after.city, now=now)
        return
    if after.status == "INACTIVE" and before.status != "INACTIVE":
        why = "INACTIVE"
    elif after.availability == "OFFLINE" and before.availability != "OFFLINE":
        why = "OFFLINE"
    else:
        return
    await hooks.emit("rm.unavailable", conn, principal=principal, rm_id=after.id, team_id=after.team_id,
                     city=after.city, why=why, now=now)


async def add_leave(conn: AsyncConnection, principal: Principal, *, rm_id: UUID, data: LeaveCreate,
                    now: datetime) -> LeaveRead:
    """Record a leave; the RM receives no leads on those days, and one that covers today moves their unacted
    leads away at once (issue 17)."""
    rm = await _manageable_rm(conn, principal, rm_id)
    if await repository.overlapping_leave(conn, rm_id, data.start_date, data.end_date):
        raise LeaveOverlaps("this leave overlaps one already recorded")
    row = await repository.insert_leave(conn, {**data.model_dump(), "id": uuid.uuid4(), "rm_id": rm_id,
                                               "created_by": principal.sub, "created_at": now})
    leave = LeaveRead.model_validate(row._mapping)
    await audit.record(conn, principal, action="rm.leave_added", entity_type="rm_leave", entity_id=leave.id,
                       at=now, after=leave)
    await hooks.emit("rm.unavailable", conn, principal=principal, rm_id=rm_id, team_id=rm.team_id, city=rm.city,
                     why="LEAVE", now=now, leave=(leave.start_date, leave.end_date))
    return leave


async def list_leaves(conn: AsyncConnection, principal: Principal, *, rm_id: UUID) -> list[LeaveRead]:
    await get_rm(conn, principal, rm_id=rm_id)
    return [LeaveRead.model_validate(r._mapping) for r in await repository.list_leaves(conn, rm_id)]


# --- CSV import --------------------------------------------------------------------------------

_LIST_FIELDS = ("localities", "property_types", "segments")
_INTEGER_FIELDS = ("capacity", "performance_score")  # RMCreate takes JSON integers only: read from the text here
MAX_CSV_FIELD = 128 * 1024  # characters in one cell


def _read_csv(content: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header and the non-blank rows with the line each ends on (the line a user sees in an editor).

    csv's own field limit (also 128 KB) is lifted while parsing, so that an over-long cell is reported by
    row and column instead of aborting the parse; the whole file is already in memory."""
    previous = csv.field_size_limit(len(content) + 1)
    reader = csv.reader(io.StringIO(content))
    try:
        header = next(reader, [])
        rows = [(reader.line_num, row) for row in reader if row]
    except csv.Error as exc:
        raise InvalidInput(("file",), f"line {reader.line_num}: {exc}") from None
    finally:
        csv.field_size_limit(previous)
    return [name.strip() for name in header], rows


def _header_errors(header: list[str]) -> list[dict[str, Any]]:
    repeated = sorted({name for name in header if header.count(name) > 1})
    return [{"loc": ["header", name], "msg": "column appears more than once"} for name in repeated]


def _csv_record(header: list[str], values: list[str]) -> dict[str, Any]:
    if len(values) > len(header):
        raise ValueError("row has more values than the header has columns")
    record: dict[str, Any] = {}
    for key, raw in zip(header, values):
        value = raw.strip()
        if len(value) > MAX_CSV_FIELD:
            raise _CellError(key, f"longer than {MAX_CSV_FIELD} characters")
        if value == "":
            continue
        if key in _LIST_FIELDS:
            record[key] = [part.strip() for part in value.replace(";", "|").split("|") if part.strip()]
        elif key == "shifts":
            record[key] = _json_cell(key, value)
        elif key in _INTEGER_FIELDS:
            record[key] = _integer_cell(key, value)
        elif key == "is_backup":
            record[key] = value.lower() in ("1", "true", "yes", "y")
        else:
            record[key] = value
    return record


def _integer_cell(key: str, value: str) -> int:
    try:
        return query_integer(value)
    except ValueError as exc:
        raise _CellError(key, str(exc)) from None


def _json_cell(key: str, value: str) -> Any:
    try:
        return json.loads(value)
    except (ValueError, RecursionError):
        raise _CellError(key, "not valid JSON (or nested too deeply)") from None


class _CellError(ValueError):
    def __init__(self, column: str, msg: str) -> None:
        super().__init__(msg)
        self.column = column


async def import_rms(conn: AsyncConnection, principal: Principal, *, content: str, now: datetime) -> ImportResult:
    """Create or update RMs from CSV; any invalid row rejects the whole file with per-row errors."""
    header, rows = _read_csv(content)
    if "id" not in header:
        raise InvalidInput(("file",), "CSV needs a header row with at least id, name, email, city")
    if repeated := _header_errors(header):
        raise ImportRejected("a column appears more than once; nothing was imported", extra={"errors": repeated})
    errors: list[dict[str, Any]] = []
    lines: list[tuple[int, RMCreate]] = []  # (CSV line number, row): errors name the line the user sees
    for line, values in rows:
        try:
            lines.append((line, RMCreate.model_validate(_csv_record(header, values))))
        except ValidationError as exc:
            errors += [{"loc": ["row", line, *[str(p) for p in e["loc"]]], "msg": e["msg"]} for e in exc.errors()]
        except _CellError as exc:
            errors.append({"loc": ["row", line, exc.column], "msg": str(exc)})
        except ValueError as exc:
            errors.append({"loc": ["row", line], "msg": str(exc)})
    if not lines and not errors:
        raise InvalidInput(("file",), "CSV has no rows")
    seen: set[UUID] = set()
    for line, item in lines:
        if item.id in seen:
            errors.append({"loc": ["row", line, "id"], "msg": "duplicate id in file"})
        seen.add(item.id)
    known_teams = await repository.existing_team_ids(conn, {p.team_id for _, p in lines if p.team_id})
    for line, item in lines:
        if item.team_id and item.team_id not in known_teams:
            errors.append({"loc": ["row", line, "team_id"], "msg": f"unknown team {item.team_id}"})
    if errors:
        raise ImportRejected(f"{len(errors)} error(s); nothing was imported", extra={"errors": errors})
    parsed = [item for _, item in lines]
    existing = await repository.existing_rm_ids(conn, [p.id for p in parsed])
    created = updated = 0
    for item in parsed:
        if item.id in existing:
            await update_rm(conn, principal, rm_id=item.id,
                            data=RMUpdate.model_validate(item.model_dump(exclude_unset=True)), now=now)
            updated += 1
        else:
            await create_rm(conn, principal, data=item, now=now)
            created += 1
    return ImportResult(created=created, updated=updated, ids=[p.id for p in parsed])


class ImportRejected(SalesError):
    status_code, code, title = 422, "import_rejected", "Import rejected"
