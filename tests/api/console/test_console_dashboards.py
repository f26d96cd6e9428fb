"""The console's dashboard pages (issue 18, US-SALE-040, PRD §9.1/§9.3): the API's figures as tables and charts,
role gates as the API's, period and scope switches, CSV export of every table with formula-safe cells."""
from __future__ import annotations

import csv
import io
import re
import uuid

import pytest

from tests.api.console.test_console_auth import _sign_in, _user
from tests.api.console.test_console_upsells import assert_csp_clean
from tests.api.dashboards.test_team_and_city import JANUARY
from tests.api.dashboards.test_team_and_city import world as world  # noqa: F401  (the hand-computed data set)
from tests.api.targets.helpers import team_of

PAGES = "/console/dashboards"


def table_rows(html: str, name: str) -> list[list[str]]:
    body = html[html.index(f'<table id="table-{name}">'):]
    body = body[:body.index("</table>")]
    return [[re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row)]
            for row in re.findall(r"<tr>(.*?)</tr>", body[body.index("<tbody>"):], re.S)]


def read_csv(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


async def _as(client, engine, role: str, *, rm_id: str | None = None, teams: list[str] | None = None) -> None:
    await _sign_in(client, await _user(engine, role=role, rm_id=rm_id, teams=teams))


@pytest.mark.parametrize("role,status", [("SUPERVISOR", 200), ("SALES_ADMIN", 200), ("RM", 403),
                                         ("FINANCE_ADMIN", 403), ("PRODUCT_MANAGER", 403)])
async def test_team_page_is_gated_like_the_api(client, engine, world, role, status):  # noqa: F811
    await _as(client, engine, role, rm_id=world["priya"]["id"] if role == "RM" else None,
              teams=[world["team"]["id"]] if role == "SUPERVISOR" else None)
    page = await client.get(f"{PAGES}/team/{world['team']['id']}", params=JANUARY)
    assert page.status_code == status, page.text
    if status == 200:
        assert 'href="/console/dashboards" aria-current="page">Dashboards</a>' in page.text


async def test_team_page_shows_the_api_kpis_as_tables_and_charts(client, engine, world):  # noqa: F811
    """PRD §9.1: lead-to-close 2 won / 4 allocated = 50.00%; SLA 2 of 4; workload per RM; CSP-clean markup."""
    await _as(client, engine, "SUPERVISOR", teams=[world["team"]["id"]])
    page = await client.get(f"{PAGES}/team/{world['team']['id']}", params=JANUARY)
    assert page.status_code == 200, page.text
    assert_csp_clean(page.text)
    assert 'href="/console/dashboards" aria-current="page">Dashboards</a>' in page.text
    kpis = {row[0]: row[1:] for row in table_rows(page.text, "kpis")}
    assert kpis["Lead-to-close (%)"][:3] == ["50.00", "&gt; 15", "yes"]
    assert kpis["SLA compliance (%)"][:3] == ["50.00", "&gt; 95", "no"]
    assert kpis["Deal cycle (days)"][0] == "12.75"
    assert table_rows(page.text, "workload") == [["Arjun Rao", "1", "25", "4.00"], ["Priya Patel", "2", "25", "8.00"]]
    for chart in ("funnel-data", "workload-data"):
        assert f'<script type="application/json" id="{chart}">' in page.text
    for name in ("kpis", "funnel", "health", "workload"):
        assert f'data-export="{name}"' in page.text


async def test_every_table_exports_as_csv_with_the_page_figures(client, engine, world):  # noqa: F811
    await _as(client, engine, "SALES_ADMIN")
    path = f"{PAGES}/team/{world['team']['id']}"
    response = await client.get(path, params={**JANUARY, "format": "csv", "table": "kpis"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].startswith('attachment; filename="team-')
    rows = read_csv(response.text)
    assert rows[0] == ["KPI", "Value", "Target", "Met", "Why no value"]
    assert ["Lead-to-close (%)", "50.00", "> 15", "yes", ""] in rows
    upsell = next(r for r in rows if r[0] == "Upsell conversion (%)")
    assert upsell[1] == "" and upsell[4]
    workload = read_csv((await client.get(path, params={**JANUARY, "format": "csv", "table": "workload"})).text)
    assert workload == [["RM", "Open pipelines", "Capacity", "Utilization (%)"], ["Arjun Rao", "1", "25", "4.00"],
                        ["Priya Patel", "2", "25", "8.00"]]
    unknown = await client.get(path, params={"format": "csv", "table": "nope"})
    assert unknown.status_code == 422 and "kpis, funnel, health, workload" in unknown.text


async def test_csv_text_cells_never_start_a_formula(client, auth, engine, world):  # noqa: F811
    """A name starting with = + - @ is exported with a leading apostrophe (CSV injection)."""
    team, _ = await team_of(client, auth.admin, "=HYPERLINK(\"http://x\")", "@SUM(A1)", "+1 Deals", "-Minus")
    await _as(client, engine, "SALES_ADMIN")
    response = await client.get(f"{PAGES}/team/{team['id']}", params={"format": "csv", "table": "workload"})
    names = sorted(row[0] for row in read_csv(response.text)[1:])
    assert names == ["'+1 Deals", "'-Minus", "'=HYPERLINK(\"http://x\")", "'@SUM(A1)"]


async def test_scope_404_and_bad_period_422(client, engine, world):  # noqa: F811
    await _as(client, engine, "SUPERVISOR", teams=[world["other_team"]["id"]])
    assert (await client.get(f"{PAGES}/team/{world['team']['id']}")).status_code == 404
    assert (await client.get(f"{PAGES}/city/Bangalore")).status_code == 200  # their team is in Bangalore
    assert (await client.get(f"{PAGES}/city/Pune")).status_code == 404
    assert (await client.get(f"{PAGES}/rm/{world['priya']['id']}")).status_code == 404
    snapped = await client.get(f"{PAGES}/city/Bangalore", params={"period_type": "QUARTERLY",
                                                                  "period_start": "2026-02-14"})
    assert snapped.status_code == 200 and "Quarter 01 Jan 2026 – 31 Mar 2026" in snapped.text  # the day's quarter
    assert (await client.get(f"{PAGES}/city/Bangalore", params={"period_start": "01/02/2026"})).status_code == 422
    assert (await client.get(f"{PAGES}/city/Bangalore", params={"period_type": "HOURLY"})).status_code == 422


async def test_rm_sees_their_own_dashboard_only(client, engine, world):  # noqa: F811
    """US-SALE-040: the RM's page; another RM's is a 404 page; /console/dashboards takes an RM to theirs."""
    await _as(client, engine, "RM", rm_id=world["priya"]["id"])
    index = await client.get(PAGES)
    assert index.status_code == 303 and index.headers["location"] == f"{PAGES}/rm/{world['priya']['id']}"
    page = await client.get(f"{PAGES}/rm/{world['priya']['id']}", params=JANUARY)
    assert page.status_code == 200, page.text
    assert_csp_clean(page.text)
    assert 'id="scope-switch"' not in page.text  # nothing else to switch to
    pipeline = {row[0]: row[1:] for row in table_rows(page.text, "pipeline")}
    assert pipeline["Negotiation"] == ["1", "50000.00"] and pipeline["New"][0] == "1"
    assert (await client.get(f"{PAGES}/rm/{world['arjun']['id']}")).status_code == 404
    assert (await client.get(f"{PAGES}/team/{world['team']['id']}")).status_code == 403
    exported = read_csv((await client.get(f"{PAGES}/rm/{world['priya']['id']}",
                                          params={**JANUARY, "format": "csv", "table": "commissions"})).text)
    assert exported[0] == ["Status", "Amount (INR)"] and ["Pending", "300.00"] in exported


async def test_switches_keep_the_period_and_lead_to_the_page(client, engine, world):  # noqa: F811
    await _as(client, engine, "SALES_ADMIN")
    team_id = world["team"]["id"]
    moved = await client.get(PAGES, params={"view": "city:Bangalore", **JANUARY})
    assert moved.status_code == 303
    assert moved.headers["location"] == f"{PAGES}/city/Bangalore?period_type=MONTHLY&period_start=2026-01-01"
    moved = await client.get(PAGES, params={"view": f"forecast-team:{team_id}"})
    assert moved.headers["location"] == f"{PAGES}/forecast?scope=team&scope_id={team_id}"
    page = await client.get(f"{PAGES}/team/{team_id}", params=JANUARY)
    assert f'<option value="team:{team_id}" selected>' in page.text
    assert f'href="{PAGES}/team/{team_id}?period_type=MONTHLY&amp;period_start=2025-12-01" rel="prev"' in page.text
    assert f'href="{PAGES}/team/{team_id}?period_type=MONTHLY&amp;period_start=2026-02-01" rel="next"' in page.text
    index = await client.get(PAGES)
    assert index.status_code == 200 and f'href="{PAGES}/team/{team_id}"' in index.text


async def test_forecast_page_shows_the_forecast_and_backtest(client, engine, world):  # noqa: F811
    await _as(client, engine, "SUPERVISOR", teams=[world["team"]["id"]])
    page = await client.get(f"{PAGES}/forecast", params={"scope": "city", "scope_id": "bangalore",
                                                         "period": "QUARTERLY"})
    assert page.status_code == 200, page.text
    assert_csp_clean(page.text)
    assert [r[0] for r in table_rows(page.text, "forecast")] == ["Month", "Quarter"]
    assert len(table_rows(page.text, "backtest")) == 6
    assert '<option value="QUARTERLY" selected>' in page.text
    default = await client.get(f"{PAGES}/forecast")  # the supervisor's first team
    assert default.status_code == 200 and f'value="{world["team"]["id"]}"' in default.text
    exported = read_csv((await client.get(f"{PAGES}/forecast", params={
        "scope": "team", "scope_id": world["team"]["id"], "format": "csv", "table": "backtest"})).text)
    assert exported[0] == ["Period start", "Period end", "Forecast", "Actual", "Accuracy (%)"] and len(exported) == 7
    assert (await client.get(f"{PAGES}/forecast", params={"scope": "team", "scope_id": str(uuid.uuid4())})
            ).status_code == 404
    assert (await client.get(f"{PAGES}/forecast", params={"scope": "team", "scope_id": "x",
                                                          "period": "YEARLY"})).status_code == 422
