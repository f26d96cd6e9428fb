"""The console's experiments pages (issue 16 "Console page for PRODUCT_MANAGER: list, create, and the results with
conversion over time per variant and the interval plot"): the same use cases as /upsells/experiments with the
session's principal; strict CSP markup."""
from __future__ import annotations

import json
import re
from html import unescape

import pytest

from tests.api.console.test_console_auth import _csrf, _sign_in, _user
from tests.api.console.test_console_upsells import assert_csp_clean
from tests.api.experiments.helpers import EXPERIMENTS, expose, start_experiment, users_in
from tests.api.upsell.helpers import start
from tests.checks import audit_rows

PAGE = "/console/experiments"
FORM = {"name": "Modal copy", "hypothesis": "", "trigger": "QUOTA_THRESHOLD", "control_message": "Upgrade now",
        "treatment_key": "saving", "treatment_message": "Save Rs. 500", "treatment_channel": "IN_APP_MODAL",
        "treatment_delay": "15", "treatment_share": "40", "coverage": "80", "baseline": "5", "effect": "20"}


def chart(html: str, element_id: str) -> dict:
    raw = re.search(rf'id="{element_id}">(.*?)</script>', html, re.S).group(1)  # type: ignore[union-attr]
    return json.loads(unescape(raw))


@pytest.mark.parametrize("role,status", [("PRODUCT_MANAGER", 200), ("SALES_ADMIN", 200), ("FINANCE_ADMIN", 403),
                                         ("SUPPORT_AGENT", 403)])
async def test_each_role_sees_or_is_refused_the_page(client, engine, role, status):
    await _sign_in(client, await _user(engine, role=role))
    page = await client.get(PAGE)
    assert page.status_code == status, page.text
    if status == 200:
        assert_csp_clean(page.text)
        assert 'href="/console/experiments" aria-current="page">Experiments</a>' in page.text
        assert 'action="/console/experiments"' in page.text


async def test_a_product_manager_creates_a_draft_and_starts_it(client, auth, engine):
    await start(client, auth)
    await _sign_in(client, await _user(engine, role="PRODUCT_MANAGER"))
    page = await client.get(PAGE)
    created = await client.post(PAGE, data={**FORM, "csrf_token": _csrf(page.text)})
    assert created.status_code == 303, created.text
    location = created.headers["location"]
    experiment_id = location.rsplit("/", 1)[1]
    api = (await client.get(f"{EXPERIMENTS}/{experiment_id}", headers=auth.admin)).json()
    assert [(v["key"], v["weight"], v["message"], v["channel"], v["delay_minutes"], v["control"])
            for v in api["variants"]] == [("control", 0.6, "Upgrade now", None, None, True),
                                          ("saving", 0.4, "Save Rs. 500", "IN_APP_MODAL", 15, False)]
    assert (api["coverage"], api["baseline_rate"], api["minimum_detectable_effect"], api["status"]) == (
        0.8, 0.05, 0.2, "DRAFT")
    detail = await client.get(location)
    assert detail.status_code == 200 and "Modal copy" in detail.text
    assert_csp_clean(detail.text)
    started = await client.post(f"{location}/status", data={"status": "RUNNING", "csrf_token": _csrf(detail.text)})
    assert started.status_code == 303
    assert (await client.get(f"{EXPERIMENTS}/{experiment_id}", headers=auth.admin)).json()["status"] == "RUNNING"
    assert [a.action for a in await audit_rows(engine, entity_type="upsell_experiment")] == [
        "experiment.created", "experiment.started"]
    listed = await client.get(PAGE)
    assert f'href="/console/experiments/{experiment_id}">Modal copy</a>' in listed.text


@pytest.mark.parametrize("field, value, message", [
    ("treatment_share", "abc", "Treatment share: enter a percentage"),
    ("coverage", "150", "Coverage: enter a percentage between 0 and 100."),
    ("baseline", "0", "Baseline"),
    ("treatment_key", "bad key!", "Treatment key"),
])
async def test_a_bad_field_is_shown_inline_and_nothing_is_created(client, auth, engine, field, value, message):
    await _sign_in(client, await _user(engine, role="PRODUCT_MANAGER"))
    page = await client.get(PAGE)
    bad = await client.post(PAGE, data={**FORM, field: value, "csrf_token": _csrf(page.text)})
    assert bad.status_code == 422, bad.text
    assert message in unescape(bad.text) and f'id="{field}"' in bad.text and 'aria-invalid="true"' in bad.text
    r = await client.get(EXPERIMENTS, headers=auth.admin)
    assert r.json()["items"] == []


async def test_the_results_page_has_the_figures_the_timeline_and_the_intervals(client, auth, engine):
    plans = await start(client, auth)
    experiment = await start_experiment(client, auth.headers("PRODUCT_MANAGER"))
    await expose(client, auth, plans["premium"], experiment["trigger"], users_in(experiment, "control", 6),
                 converted=2)
    await expose(client, auth, plans["premium"], experiment["trigger"], users_in(experiment, "saving", 5),
                 converted=3)
    await _sign_in(client, await _user(engine, role="PRODUCT_MANAGER"))
    page = await client.get(f"{PAGE}/{experiment['id']}")
    assert page.status_code == 200, page.text
    assert_csp_clean(page.text)
    api = (await client.get(f"{EXPERIMENTS}/{experiment['id']}/results", headers=auth.admin)).json()
    timeline = chart(page.text, "timeline-data")
    assert timeline["kind"] == "lines" and timeline["labels"] == ["2026-01-10"]
    assert [(d["label"], d["data"]) for d in timeline["datasets"]] == [("control", [33.3333]), ("saving", [60.0])]
    intervals = chart(page.text, "interval-data")
    [comparison] = api["comparisons"]
    assert intervals["labels"] == ["saving"]
    assert intervals["datasets"][0]["data"] == [[round(comparison["confidence_interval"][0] * 100, 4),
                                                 round(comparison["confidence_interval"][1] * 100, 4)]]
    assert intervals["datasets"][1]["data"] == [[round(comparison["credible_interval"][0] * 100, 4),
                                                 round(comparison["credible_interval"][1] * 100, 4)]]
    assert "33.33%" in page.text and "60.00%" in page.text


async def test_an_unknown_experiment_page_is_404(client, engine):
    await _sign_in(client, await _user(engine, role="PRODUCT_MANAGER"))
    page = await client.get(f"{PAGE}/00000000-0000-0000-0000-000000000001")
    assert page.status_code == 404 and "Experiment not found" in page.text
