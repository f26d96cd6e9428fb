"""The dashboard pages in a real browser (issue 18): a supervisor opens their team's dashboard, switches period and
scope, exports a table as CSV and opens the forecast; an RM opens their own dashboard. Charts draw under the strict
CSP (no violation reported), and every page is screenshotted."""
from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import LiveApp, shot, sign_in

pytestmark = pytest.mark.e2e


def _watch_console(page: Any) -> list[str]:
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"{m.text} {m.location.get('url')}")
            if m.type == "error" and not m.location.get("url", "").endswith("/favicon.ico") else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    return problems


def _charts_drawn(page: Any, *ids: str) -> None:
    for chart_id in ids:
        canvas = page.locator(f"#{chart_id}")
        expect(canvas).to_be_visible()
        assert page.evaluate(f"() => !!window.Chart && !!window.Chart.getChart(document.getElementById('{chart_id}'))")


def _csv(download: Any) -> list[list[str]]:
    return list(csv.reader(Path(download.path()).read_text(encoding="utf-8").splitlines()))


def test_supervisor_switches_period_and_scope_and_exports(page: Any, live: LiveApp, world: dict[str, Any]) -> None:
    problems = _watch_console(page)
    team, rm, other = world["team"], world["rm"], world["other"]
    live.ok("PATCH", f"/pipelines/{world['pipeline']['id']}/stage", json={"stage": "CONTACTED"},
            token=live.token("RM", sub=rm["id"]))
    sup = world["users"]["supervisor"]
    sign_in(page, live.base_url, sup["email"], sup["password"])
    page.get_by_role("link", name="Dashboards").click()
    expect(page.locator("#table-scopes")).to_contain_text(team["name"])
    page.get_by_role("link", name=team["name"]).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(team["name"])
    expect(page.locator("#table-kpis")).to_contain_text("Lead-to-close (%)")
    expect(page.locator("#table-workload")).to_contain_text(rm["name"])
    expect(page.locator("#table-workload")).to_contain_text(other["name"])
    _charts_drawn(page, "funnel-chart", "workload-chart")
    shot(page, "dashboard-team", live.backend)

    # Period: the quarter, then the one before it.
    page.locator("#period-switch").get_by_label("Period").select_option("QUARTERLY")
    page.locator("#period-switch").get_by_label("Including the day").fill("2026-02-14")
    page.locator("#period-switch").get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"period_type=QUARTERLY"))
    expect(page.locator("main")).to_contain_text("Quarter 01 Jan 2026 – 31 Mar 2026")
    page.get_by_role("link", name="Previous period").click()
    expect(page.locator("main")).to_contain_text("Quarter 01 Oct 2025 – 31 Dec 2025")

    # Export a table as CSV: the same rows as on the page.
    with page.expect_download() as download:
        page.locator('[data-export="workload"]').click()
    rows = _csv(download.value)
    assert rows[0] == ["RM", "Open pipelines", "Capacity", "Utilization (%)"]
    assert sorted(r[0] for r in rows[1:]) == sorted([rm["name"], other["name"]])
    assert download.value.suggested_filename.endswith("-workload.csv")

    # Scope: the team's city, keeping the period.
    page.locator("#scope-switch").get_by_label("Scope").select_option(f"city:{team['city']}")
    page.locator("#scope-switch").get_by_role("button", name="Go").click()
    expect(page).to_have_url(re.compile(r"/console/dashboards/city/.*period_type=QUARTERLY"))
    expect(page.get_by_role("heading", level=1)).to_contain_text(team["city"])
    _charts_drawn(page, "funnel-chart", "workload-chart")
    shot(page, "dashboard-city", live.backend)

    # The forecast of the team, then its quarterly back-test.
    page.locator("#scope-switch").get_by_label("Scope").select_option(f"forecast-team:{team['id']}")
    page.locator("#scope-switch").get_by_role("button", name="Go").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Revenue forecast")
    expect(page.locator("#table-backtest tbody tr")).to_have_count(6)
    page.locator("#period-switch").get_by_label("Back-test").select_option("QUARTERLY")
    page.locator("#period-switch").get_by_role("button", name="Show").click()
    expect(page.locator("#table-backtest")).to_contain_text("2025-10-01")
    _charts_drawn(page, "horizon-chart", "backtest-chart")
    shot(page, "dashboard-forecast", live.backend)
    with page.expect_download() as download:
        page.locator('[data-export="forecast"]').click()
    assert [r[0] for r in _csv(download.value)] == ["Horizon", "Month", "Quarter"]
    assert not problems, problems


def test_rm_opens_their_own_dashboard(page: Any, live: LiveApp, world: dict[str, Any]) -> None:
    problems = _watch_console(page)
    user = world["users"]["rm"]
    sign_in(page, live.base_url, user["email"], user["password"])
    page.get_by_role("link", name="Dashboards").click()
    expect(page).to_have_url(re.compile(rf"/console/dashboards/rm/{world['rm']['id']}"))
    expect(page.get_by_role("heading", level=1)).to_have_text(world["rm"]["name"])
    expect(page.locator("#scope-switch")).to_have_count(0)
    _charts_drawn(page, "trend-chart", "stage-chart")
    page.locator("#period-switch").get_by_label("Period").select_option("WEEKLY")
    page.locator("#period-switch").get_by_role("button", name="Show").click()
    expect(page.locator("main")).to_contain_text("Week 23 Feb 2026 – 01 Mar 2026")  # the week of the 1st shown
    shot(page, "dashboard-rm", live.backend)
    with page.expect_download() as download:
        page.locator('[data-export="pipeline"]').click()
    rows = _csv(download.value)
    # the three allocated leads (25, 40 and 55 lakh) and the pipeline of 42 lakh, all still NEW
    assert rows[0] == ["Stage", "Pipelines", "Deal value (INR)"] and ["New", "4", "16200000.00"] in rows
    assert not problems, problems
