"""Teams and the RM directory: /api/v1/sales/teams, /api/v1/sales/rms."""
from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import Query, Request
from starlette.datastructures import UploadFile  # what request.form() returns (FastAPI's is a subclass)

from sales.core.errors import InvalidInput
from sales.core.fields import QueryBoolean, Text
from sales.core.http import CityFilter, Conn, Now, Page, Paging, make_router, page_of, respond
from sales.directory import service
from sales.directory.enums import Availability, RMStatus
from sales.directory.permissions import AvailabilityWrite, DirectoryAdmin, DirectoryRead
from sales.directory.schemas import (AvailabilityChange, ImportResult, LeaveCreate, LeaveRead, RMCreate, RMRead,
                                     RMUpdate, TeamCreate, TeamRead, TeamUpdate)
from sales.directory.schemas import IMPORT_BODY

router = make_router(tags=["directory"])


@router.post("/teams", status_code=201, response_model=TeamRead)
async def create_team(data: TeamCreate, principal: DirectoryAdmin, conn: Conn, now: Now):
    """Create a team."""
    return respond(await service.create_team(conn, principal, data=data, now=now), 201)


@router.get("/teams", response_model=Page[TeamRead])
async def list_teams(principal: DirectoryRead, conn: Conn, paging: Paging, city: CityFilter = None):
    """Teams the caller may see, by name."""
    teams = await service.list_teams(conn, principal, city=city, limit=paging.limit, cursor=paging.cursor)
    return respond(page_of(teams, paging.limit, lambda t: (t.name, t.id)))


@router.get("/teams/{team_id}", response_model=TeamRead)
async def get_team(team_id: UUID, principal: DirectoryRead, conn: Conn):
    """One team."""
    return respond(await service.get_team(conn, principal, team_id=team_id))


@router.put("/teams/{team_id}", response_model=TeamRead)
async def update_team(team_id: UUID, data: TeamUpdate, principal: DirectoryAdmin, conn: Conn, now: Now):
    """Change a team's name, city or supervisor."""
    return respond(await service.update_team(conn, principal, team_id=team_id, data=data, now=now))


@router.post("/rms", status_code=201, response_model=RMRead)
async def create_rm(data: RMCreate, principal: DirectoryAdmin, conn: Conn, now: Now):
    """Add an RM (id = the RM's platform user id)."""
    return respond(await service.create_rm(conn, principal, data=data, now=now), 201)


@router.post("/rms/import", status_code=201, response_model=ImportResult,
             openapi_extra={"requestBody": IMPORT_BODY})
async def import_rms(request: Request, principal: DirectoryAdmin, conn: Conn, now: Now):
    """Create or update RMs from a CSV (raw text/csv body or multipart field `file`); all or nothing."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        form = await request.form()
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise InvalidInput(("file",), "multipart upload needs a `file` field")
        raw = await upload.read()
    else:
        raw = await request.body()
    try:
        content = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput(("file",), "CSV must be UTF-8") from None
    return respond(await service.import_rms(conn, principal, content=content, now=now), 201)


@router.get("/rms", response_model=Page[RMRead])
async def list_rms(principal: DirectoryRead, conn: Conn, paging: Paging, team_id: UUID | None = None,
                   city: CityFilter = None, zone: Annotated[Text | None, Query(max_length=100)] = None,
                   status: RMStatus | None = None,
                   availability: Availability | None = None, is_backup: QueryBoolean | None = None):
    """RMs the caller may see, by name."""
    filters = {"team_id": team_id, "city": city, "zone": zone, "is_backup": is_backup,
               "status": status.value if status else None, "availability": availability.value if availability else None}
    rms = await service.list_rms(conn, principal, filters=filters, limit=paging.limit, cursor=paging.cursor)
    return respond(page_of(rms, paging.limit, lambda r: (r.name, r.id)))


@router.get("/rms/{rm_id}", response_model=RMRead)
async def get_rm(rm_id: UUID, principal: DirectoryRead, conn: Conn):
    """One RM."""
    return respond(await service.get_rm(conn, principal, rm_id=rm_id))


@router.put("/rms/{rm_id}", response_model=RMRead)
async def update_rm(rm_id: UUID, data: RMUpdate, principal: DirectoryAdmin, conn: Conn, now: Now):
    """Change an RM's record; fields left out keep their values."""
    return respond(await service.update_rm(conn, principal, rm_id=rm_id, data=data, now=now))


@router.patch("/rms/{rm_id}/availability", response_model=RMRead)
async def change_availability(rm_id: UUID, data: AvailabilityChange, principal: AvailabilityWrite, conn: Conn,
                              now: Now):
    """Go ONLINE or OFFLINE (the RM themself, their supervisor or SALES_ADMIN)."""
    return respond(await service.change_availability(conn, principal, rm_id=rm_id, data=data, now=now))


@router.post("/rms/{rm_id}/leaves", status_code=201, response_model=LeaveRead)
async def add_leave(rm_id: UUID, data: LeaveCreate, principal: AvailabilityWrite, conn: Conn, now: Now):
    """Record a leave (the RM themself, their supervisor or SALES_ADMIN)."""
    return respond(await service.add_leave(conn, principal, rm_id=rm_id, data=data, now=now), 201)


@router.get("/rms/{rm_id}/leaves", response_model=Page[LeaveRead])
async def list_leaves(rm_id: UUID, principal: DirectoryRead, conn: Conn):
    """An RM's leaves, by start date."""
    return respond({"items": await service.list_leaves(conn, principal, rm_id=rm_id), "next_cursor": None})
