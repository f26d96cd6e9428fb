"""The console's dashboard pages are served from snapshots (issue 18, PRD §8.1 "dashboard < 2 s"):
a snapshot is shown with its age, the API stays live, the dashboards-refresh job recomputes what is read and drops
what is not, and scope is checked before a snapshot is served."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from sales.core.db import unit_of_work
from sales.dashboards import snapshots
from sales.dashboards.models import dashboard_snapshots
from sales.dashboards.schemas import ScopeDashboard
from tests.api.console.test_console_auth import _sign_in, _user
from tests.api.console.test_console_dashboards import table_rows
from tests.api.dashboards.helpers import DASHBOARDS, allocation
from tests.api.dashboards.test_team_and_city import JANUARY
from tests.api.dashboards.test_team_and_city import world as world  # noqa: F401
from tests.api.targets.helpers import NOW, at
from tests.builders import freeze_clock

PAGES = "/console/dashboards"


def lead_to_close(html: str) -> str:
    return next(row[1] for row in table_rows(html, "kpis") if row[0] == "Lead-to-close (%)")


async def _snapshots(engine) -> int:
    async with engine.connect() as conn:
        return (await conn.execute(select(func.count()).select_from(dashboard_snapshots))).scalar_one()


async def test_page_serves_its_snapshot_with_its_age_while_the_api_is_live(client, auth, engine, world):  # noqa: F811
    await _sign_in(client, await _user(engine, role="SALES_ADMIN"))
    path = f"{PAGES}/team/{world['team']['id']}"
    first = await client.get(path, params=JANUARY)
    assert lead_to_close(first.text) == "50.00" and "just now" in first.text  # 2 won / 4 allocated
    await allocation(engine, rm_id=world["priya"]["id"], allocated_at="2026-01-07T09:00:00Z",
                     sla_deadline="2026-01-07T09:30:00Z")  # 2 won / 5 allocated now
    await freeze_clock(client, auth.admin, at="2026-01-20T10:05:00Z")
    again = await client.get(path, params=JANUARY)
    assert lead_to_close(again.text) == "50.00" and "5 min ago" in again.text
    api = (await client.get(f"{DASHBOARDS}/team/{world['team']['id']}", headers=auth.admin, params=JANUARY)).json()
    assert api["kpis"]["lead_to_close_percentage"]["value"] == 40.0
    await freeze_clock(client, auth.admin, at="2026-01-20T10:31:00Z")  # older than SERVE_FOR: measured again
    later = await client.get(path, params=JANUARY)
    assert lead_to_close(later.text) == "40.00" and "just now" in later.text


async def test_the_job_refreshes_what_is_read_and_drops_what_is_not(client, auth, engine, world,  # noqa: F811
                                                                    monkeypatch):
    monkeypatch.setattr(snapshots, "WARM_BATCH", 0)  # the cities kept warm: the next test
    await _sign_in(client, await _user(engine, role="SALES_ADMIN"))
    for path in (f"{PAGES}/team/{world['team']['id']}", f"{PAGES}/city/Bangalore"):
        assert (await client.get(path, params=JANUARY)).status_code == 200
    assert (await client.get(f"{PAGES}/forecast", params={"scope": "city", "scope_id": "Bangalore"})
            ).status_code == 200
    assert await _snapshots(engine) == 3
    await allocation(engine, rm_id=world["priya"]["id"], allocated_at="2026-01-07T09:00:00Z",
                     sla_deadline="2026-01-07T09:30:00Z")
    async with unit_of_work(engine) as conn:
        assert (await snapshots.refresh(conn, now=at(NOW) + timedelta(minutes=5)))["refreshed"] == 0  # young
        done = await snapshots.refresh(conn, now=at(NOW) + timedelta(minutes=11))
    assert (done["refreshed"], done["dropped"]) == (3, 0)
    await freeze_clock(client, auth.admin, at="2026-01-20T10:12:00Z")
    page = await client.get(f"{PAGES}/team/{world['team']['id']}", params=JANUARY)
    assert lead_to_close(page.text) == "40.00" and "1 min ago" in page.text  # the job's, not recomputed
    async with unit_of_work(engine) as conn:
        done = await snapshots.refresh(conn, now=at(NOW) + timedelta(days=8))
    assert done["dropped"] == 3 and await _snapshots(engine) == 0


async def test_the_job_keeps_every_citys_page_and_forecast_of_the_month_warm(client, auth, engine,
                                                                            world):  # noqa: F811
    async with unit_of_work(engine) as conn:
        first = await snapshots.refresh(conn, now=at(NOW))
        cities = {row.scope_key for row in (await conn.execute(select(dashboard_snapshots))).all()}
    assert (first["warmed"], first["refreshed"]) == (4, 0) and cities == {"bangalore", "city:bangalore",
                                                                          "pune", "city:pune"}
    async with unit_of_work(engine) as conn:
        assert (await snapshots.refresh(conn, now=at(NOW) + timedelta(minutes=5)))["warmed"] == 0  # young
    await _sign_in(client, await _user(engine, role="SALES_ADMIN"))
    await freeze_clock(client, auth.admin, at="2026-01-20T10:05:00Z")
    for path, params in ((f"{PAGES}/city/Bangalore", {}), (f"{PAGES}/forecast", {"scope": "city",
                                                                                   "scope_id": "Bangalore"})):
        page = await client.get(path, params=params)
        assert page.status_code == 200 and "5 min ago" in page.text  # the job's snapshot, not measured live
    api = (await client.get(f"{DASHBOARDS}/city/Bangalore", headers=auth.admin)).json()
    async with unit_of_work(engine) as conn:
        kept = (await conn.execute(select(dashboard_snapshots.c.payload)
                                   .where(dashboard_snapshots.c.kind == "city",
                                          dashboard_snapshots.c.scope_key == "bangalore"))).scalar_one()
    kept_board, api_board = ScopeDashboard.model_validate(kept), ScopeDashboard.model_validate(api)
    assert (kept_board.kpis, kept_board.funnel, kept_board.workload) == (api_board.kpis, api_board.funnel,
                                                                         api_board.workload)
    async with unit_of_work(engine) as conn:
        again = await snapshots.refresh(conn, now=at(NOW) + timedelta(minutes=11))
    assert again["warmed"] + again["refreshed"] == 4  # all four again (two of them read, so refreshed)


async def test_a_snapshot_is_never_served_outside_the_callers_scope(client, engine, world):  # noqa: F811
    admin = await _user(engine, role="SALES_ADMIN")
    await _sign_in(client, admin)
    assert (await client.get(f"{PAGES}/team/{world['team']['id']}")).status_code == 200
    assert (await client.get(f"{PAGES}/rm/{world['priya']['id']}")).status_code == 200
    await _sign_in(client, await _user(engine, role="RM", rm_id=world["arjun"]["id"]))
    assert (await client.get(f"{PAGES}/rm/{world['priya']['id']}")).status_code == 404
    await _sign_in(client, await _user(engine, role="SUPERVISOR", teams=[world["other_team"]["id"]]))
    assert (await client.get(f"{PAGES}/rm/{world['priya']['id']}")).status_code == 404
    assert (await client.get(f"{PAGES}/team/{world['team']['id']}")).status_code == 404
    assert (await client.get(f"{PAGES}/forecast", params={"scope": "team", "scope_id": world["team"]["id"]})
            ).status_code == 404
