"""POST /rms/import: a CSV of RMs, all or nothing, with per-row errors."""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import update

from sales.directory.models import rms
from tests.builders import API, make_rm, make_team
from tests.checks import assert_problem, audit_rows, row_counts

HEADER = ("id,name,email,phone,team_id,city,zone,localities,property_types,segments,max_deal_value,capacity,"
          "base_salary,performance_score,is_backup,status,availability,shifts")


def _row(rm_id: str, *, name: str = "Priya Patel", email: str | None = None, team_id: str = "",
         capacity: str = "20", **overrides: str) -> str:
    values = {"id": rm_id, "name": name, "email": email or f"rm-{rm_id[:8]}@mysqrft.com", "phone": "+91-9811111111",
              "team_id": team_id, "city": "Bangalore", "zone": "South", "localities": "Koramangala|HSR Layout",
              "property_types": "RESIDENTIAL", "segments": "TENANT;BUYER", "max_deal_value": "",
              "capacity": capacity, "base_salary": "40000.00", "performance_score": "70", "is_backup": "false",
              "status": "ACTIVE", "availability": "ONLINE", "shifts": "", **overrides}
    return ",".join(values[c] for c in HEADER.split(","))


def _csv(*rows: str) -> bytes:
    return ("\n".join([HEADER, *rows]) + "\n").encode()


async def _import(client, auth, content: bytes, content_type: str = "text/csv"):  # type: ignore[no-untyped-def]
    return await client.post(f"{API}/rms/import", content=content,
                             headers={**auth.admin, "Content-Type": content_type})


async def test_import_creates_rms_from_csv(client, auth, engine):
    team = await make_team(client, auth.admin)
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    shifts = '"[{""weekday"": 0, ""start"": ""09:00"", ""end"": ""18:00""}]"'
    response = await _import(client, auth, _csv(_row(a, team_id=team["id"], max_deal_value="2500000.00"),
                                                _row(b, name="Rahul Rao", is_backup="yes", shifts=shifts)))
    assert response.status_code == 201, response.text
    assert response.json() == {"created": 2, "updated": 0, "ids": [a, b]}
    first = (await client.get(f"{API}/rms/{a}", headers=auth.admin)).json()
    assert (first["team_id"], first["localities"], first["segments"], first["capacity"], first["max_deal_value"]) == (
        team["id"], ["Koramangala", "HSR Layout"], ["TENANT", "BUYER"], 20, 2500000.0)
    second = (await client.get(f"{API}/rms/{b}", headers=auth.admin)).json()
    assert second["is_backup"] is True and second["shifts"] == [{"weekday": 0, "start": "09:00", "end": "18:00"}]
    assert len(await audit_rows(engine, action="rm.created")) == 2


async def test_import_as_multipart_upload(client, auth):
    rm_id = str(uuid.uuid4())
    response = await client.post(f"{API}/rms/import", headers=auth.admin,
                                 files={"file": ("rms.csv", _csv(_row(rm_id)), "text/csv")})
    assert response.status_code == 201, response.text
    assert response.json() == {"created": 1, "updated": 0, "ids": [rm_id]}


async def test_import_updates_known_rms_and_keeps_unlisted_columns(client, auth, engine):
    existing = await make_rm(client, auth.admin, performance_score=90, zone="East")
    new = str(uuid.uuid4())
    content = ("id,name,email,city,capacity\n"
               f"{existing['id']},Renamed,{existing['email']},Bangalore,12\n"
               f"{new},Newbie,newbie@mysqrft.com,Pune,\n").encode()
    response = await _import(client, auth, content)
    assert response.status_code == 201, response.text
    assert response.json() == {"created": 1, "updated": 1, "ids": [existing["id"], new]}
    updated = (await client.get(f"{API}/rms/{existing['id']}", headers=auth.admin)).json()
    assert (updated["name"], updated["capacity"], updated["performance_score"], updated["zone"]) == (
        "Renamed", 12, 90, "East")
    created = (await client.get(f"{API}/rms/{new}", headers=auth.admin)).json()
    assert created["capacity"] == 25  # empty cell = default


async def test_invalid_rows_reject_the_whole_file_with_per_row_errors(client, auth, engine):
    good, bad_email, bad_team, bad_score = (str(uuid.uuid4()) for _ in range(4))
    before = await row_counts(engine)
    response = await _import(client, auth, _csv(
        _row(good), _row(bad_email, email="not-an-email"), _row(bad_team, team_id=str(uuid.uuid4())),
        _row(bad_score, performance_score="140"), _row("nope")))
    body = assert_problem(response, 422, "import_rejected")
    locs = [e["loc"] for e in body["errors"]]
    assert ["row", 3, "email"] in locs
    assert ["row", 4, "team_id"] in locs
    assert ["row", 5, "performance_score"] in locs
    assert ["row", 6, "id"] in locs
    assert not any(loc[1] == 2 for loc in locs)
    assert await row_counts(engine) == before


async def test_duplicate_ids_in_the_file_are_reported_on_their_row(client, auth, engine):
    rm_id = str(uuid.uuid4())
    response = await _import(client, auth, _csv(_row(str(uuid.uuid4()), performance_score="x"), _row(rm_id),
                                                _row(rm_id)))
    body = assert_problem(response, 422, "import_rejected")
    locs = [e["loc"] for e in body["errors"]]
    assert ["row", 2, "performance_score"] in locs and ["row", 4, "id"] in locs
    assert (await row_counts(engine))["rms"] == 0


async def test_a_row_failing_after_others_were_written_rolls_back_the_whole_import(client, auth, engine):
    busy = await make_rm(client, auth.admin, capacity=10)
    async with engine.begin() as conn:
        await conn.execute(update(rms).where(rms.c.id == uuid.UUID(busy["id"])).values(active_leads=8))
    before = await row_counts(engine)
    response = await _import(client, auth, _csv(_row(str(uuid.uuid4())), _row(busy["id"], email=busy["email"],
                                                                             capacity="2")))
    assert_problem(response, 409, "capacity_below_active_leads")
    assert await row_counts(engine) == before


async def test_row_with_more_values_than_columns_is_reported(client, auth):
    response = await _import(client, auth, f"id,name,email,city\n{uuid.uuid4()},A,a@mysqrft.com,Pune,extra\n".encode())
    body = assert_problem(response, 422, "import_rejected")
    assert body["errors"][0]["loc"] == ["row", 2]


async def test_unknown_column_is_reported(client, auth):
    response = await _import(client, auth, f"id,name,email,city,colour\n{uuid.uuid4()},A,a@mysqrft.com,Pune,red\n".encode())
    body = assert_problem(response, 422, "import_rejected")
    assert ["row", 2, "colour"] in [e["loc"] for e in body["errors"]]


async def test_empty_or_headerless_files_are_422(client, auth):
    for content in (b"", b"name,email\nA,a@b.com\n", HEADER.encode() + b"\n"):
        response = await _import(client, auth, content)
        assert_problem(response, 422, "validation_error", loc=["body", "file"])


async def test_non_utf8_file_is_422(client, auth):
    response = await _import(client, auth, "id,name\n1,Zoë\n".encode("utf-16"))
    assert_problem(response, 422, "validation_error", loc=["body", "file"])


async def test_multipart_without_a_file_field_is_422(client, auth):
    response = await client.post(f"{API}/rms/import", headers=auth.admin, files={"other": ("x.csv", b"id\n")})
    assert_problem(response, 422, "validation_error", loc=["body", "file"])


async def test_a_field_over_128_kb_is_422_naming_its_row_and_column(client, auth, engine):
    """issue 9 item 7: csv's field limit error was a 500."""
    before = await row_counts(engine)
    response = await _import(client, auth, _csv(_row(str(uuid.uuid4())), _row(str(uuid.uuid4()), name="N" * 140_000)))
    body = assert_problem(response, 422, "import_rejected")
    assert [e["loc"] for e in body["errors"]] == [["row", 3, "name"]]
    assert await row_counts(engine) == before


async def test_an_over_long_shifts_cell_is_422_naming_its_column(client, auth):
    response = await _import(client, auth, _csv(_row(str(uuid.uuid4()), shifts='"' + "[" * 140_000 + '"')))
    body = assert_problem(response, 422, "import_rejected")
    assert body["errors"][0]["loc"] == ["row", 2, "shifts"]


async def test_deeply_nested_shifts_cell_is_422_naming_its_column(client, auth, engine):
    """issue 9 item 7: json.loads' RecursionError on a shifts cell was a 500."""
    response = await _import(client, auth, _csv(_row(str(uuid.uuid4()), shifts="[" * 5000 + "]" * 5000)))
    body = assert_problem(response, 422, "import_rejected")
    assert body["errors"][0]["loc"] == ["row", 2, "shifts"]
    assert (await row_counts(engine))["rms"] == 0


async def test_a_header_given_twice_is_422_naming_it(client, auth, engine):
    """issue 9 item 15: the last of two `name` columns silently won."""
    content = f"id,name,email,city,name\n{uuid.uuid4()},Priya,p@mysqrft.com,Pune,Rahul\n".encode()
    body = assert_problem(await _import(client, auth, content), 422, "import_rejected")
    assert body["errors"] == [{"loc": ["header", "name"], "msg": "column appears more than once"}]
    padded = f"id, city ,email,name,city\n{uuid.uuid4()},Pune,p@mysqrft.com,Priya,Delhi\n".encode()
    body = assert_problem(await _import(client, auth, padded), 422, "import_rejected")
    assert body["errors"][0]["loc"] == ["header", "city"]
    assert (await row_counts(engine))["rms"] == 0


@pytest.mark.parametrize(("overrides", "column"), [
    ({"base_salary": "40_000"}, "base_salary"), ({"base_salary": "४००००"}, "base_salary"),
    ({"max_deal_value": "2.5e6"}, "max_deal_value"), ({"name": "Pri\x00ya"}, "name"),
    ({"localities": "Kora\x00mangala"}, "localities"),
])
async def test_money_forms_decimal_accepts_and_nul_are_refused_per_cell(client, auth, engine, overrides, column):
    """issue 9 items 7 and 15: '40_000' and non-ASCII digits were stored; NUL was a 500 on PostgreSQL."""
    body = assert_problem(await _import(client, auth, _csv(_row(str(uuid.uuid4()), **overrides))), 422,
                          "import_rejected")
    assert body["errors"][0]["loc"][:3] == ["row", 2, column]
    assert (await row_counts(engine))["rms"] == 0


async def test_a_bare_carriage_return_is_422_not_500(client, auth):
    response = await _import(client, auth, f"id,name,email,city\r{uuid.uuid4()},A,a@mysqrft.com,Pune\n".encode())
    assert_problem(response, 422, "validation_error", loc=["body", "file"])
