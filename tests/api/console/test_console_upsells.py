"""The console's upsell page (issue 11 "Console: a PRODUCT_MANAGER page with the funnel (chart and table) and the
trigger configuration"): the same use cases as GET /upsells/funnel and GET/PUT /upsells/triggers with the session's
principal; strict CSP markup (no executable inline script, no handlers, no style attributes)."""
from __future__ import annotations

from html import unescape
import json
import re

import pytest

from tests.api.console.test_console_auth import _csrf, _sign_in, _user
from tests.api.upsell.helpers import UPSELLS
from tests.api.upsell.test_funnel import data_set
from tests.builders import make_rm, make_team
from tests.checks import audit_rows

PAGE = "/console/upsells"
SAVE = "/console/upsells/triggers"
WINDOW = {"from": "2026-01-10", "to": "2026-01-10"}


def assert_csp_clean(html: str) -> None:
    assert not re.search(r"<script(?![^>]*\b(src=|type=\"application/json\"))[^>]*>", html), "inline script"
    assert not re.search(r"\son[a-z]+\s*=", html), "inline event handler"
    assert not re.search(r"\sstyle\s*=", html), "style attribute"


def rows(html: str) -> list[list[str]]:
    """The funnel table's rows (body and total) as their cells' text."""
    table = html[html.index('<table id="upsell-funnel-table">'):]
    table = table[table.index("<tbody>") if "<tbody>" in table[:table.index("</table>")] else table.index("<tfoot>"):
                  table.index("</table>")]
    return [[re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row)]
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", table, re.S)]


def form_values(html: str) -> dict[str, object]:
    values: dict[str, object] = {"csrf_token": _csrf(html)}
    for name in ("version", "quota_threshold_percent", "views_without_contact", "offer_window_days",
                 "attribution_window_days", "boost_expected_extra_views"):
        values[name] = re.search(rf'name="{name}" value="([^"]*)"', html).group(1)  # type: ignore[union-attr]
    values["enabled_triggers"] = re.findall(r'name="enabled_triggers" value="([A-Z_]+)" checked', html)
    return values


@pytest.mark.parametrize("role,status", [
    ("PRODUCT_MANAGER", 200), ("SALES_ADMIN", 200), ("FINANCE_ADMIN", 200), ("RM", 403), ("SUPERVISOR", 403),
    ("SUPPORT_AGENT", 403),
])
async def test_each_role_sees_or_is_refused_the_page(client, auth, engine, role, status):
    """PRODUCT_MANAGER and SALES_ADMIN see the funnel and the form; FINANCE_ADMIN the funnel only (as the API)."""
    team = await make_team(client, auth.admin)
    rm = await make_rm(client, auth.admin, team_id=team["id"])
    email = await _user(engine, role=role, rm_id=rm["id"] if role == "RM" else None,
                        teams=[team["id"]] if role == "SUPERVISOR" else None)
    await _sign_in(client, email)
    page = await client.get(PAGE)
    assert page.status_code == status, page.text
    if status == 403:
        assert "Not available for your role" in page.text and 'href="/console/upsells"' not in page.text
        return
    assert_csp_clean(page.text)
    assert 'href="/console/upsells" aria-current="page">Upsells</a>' in page.text
    assert 'id="upsell-funnel-chart" data-chart="upsell-funnel-data"' in page.text
    assert '<script type="application/json" id="upsell-funnel-data">' in page.text
    has_form = 'action="/console/upsells/triggers"' in page.text
    assert has_form is (role != "FINANCE_ADMIN")


async def test_signed_out_goes_to_the_login_page(client):
    response = await client.get(PAGE)
    assert response.status_code == 303 and response.headers["location"].startswith("/console/login")


async def test_funnel_by_channel_on_a_hand_computed_data_set(client, auth, engine):
    """Five upsells (tests/api/upsell/test_funnel.py), four created on 2026-01-10: by channel EMAIL 2 created,
    1 presented, 1 clicked, 0 converted, 2 expired; IN_APP_BANNER 2, 2, 1, 1 converted for ₹1,349.10, 1 dismissed;
    total conversion 1/3 = 33.33% (PRD §9)."""
    await data_set(client, auth)
    await _sign_in(client, await _user(engine, role="PRODUCT_MANAGER"))
    page = await client.get(PAGE, params={**WINDOW, "group_by": "channel"})
    assert page.status_code == 200, page.text
    assert rows(page.text) == [
        ["EMAIL", "2", "1", "1", "0", "0", "2", "0.00%", "₹0.00"],
        ["IN_APP_BANNER", "2", "2", "1", "1", "1", "0", "50.00%", "₹1,349.10"],
        ["Total", "4", "3", "2", "1", "1", "2", "33.33%", "₹1,349.10"]]
    chart = re.search(r'id="upsell-funnel-data">(.*?)</script>', page.text).group(1)  # type: ignore[union-attr]
    assert json.loads(unescape(chart)) == {
        "labels": ["Created", "Presented", "Clicked", "Converted", "Dismissed", "Expired"],
        "datasets": [{"label": "EMAIL", "data": [2, 1, 1, 0, 0, 2]},
                     {"label": "IN_APP_BANNER", "data": [2, 2, 1, 1, 1, 0]}], "axis": "Upsells"}
    # The API agrees.
    api = (await client.get(f"{UPSELLS}/funnel", params={"from": "2026-01-10T00:00:00Z", "to": "2026-01-11T00:00:00Z"},
                            headers=auth.headers("PRODUCT_MANAGER"))).json()
    assert api["total"]["created"] == 4 and api["total"]["revenue"] == 1349.1


async def test_funnel_by_variant_total_only_and_bad_period(client, auth, engine):
    await data_set(client, auth)
    await _sign_in(client, await _user(engine, role="FINANCE_ADMIN"))
    by_variant = await client.get(PAGE, params={**WINDOW, "group_by": "variant"})
    *groups, total_row = [r[:2] for r in rows(by_variant.text)]  # NULL sorts first on SQLite, last on PostgreSQL
    assert (sorted(groups), total_row) == ([["(none)", "1"], ["A", "2"], ["B", "1"]], ["Total", "4"])
    total = await client.get(PAGE, params={"from": "2026-01-10", "to": "2026-01-18"})  # the fifth, 8 days later
    assert rows(total.text) == [["Total", "5", "3", "2", "1", "1", "2", "33.33%", "₹1,349.10"]]
    for params, message in [({"from": "2026-01-11", "to": "2026-01-10"}, "must start on or before its last day"),
                            ({"from": "10/01/2026"}, "From: enter a date as YYYY-MM-DD."),
                            ({"to": "9999-12-31"}, "To: enter a date as YYYY-MM-DD."),
                            ({"from": "0001-01-01", "to": "0001-01-01"}, "To: enter a date as YYYY-MM-DD."),
                            ({"from": "2000-01-01", "to": "2026-01-10"}, "at most ten years"),
                            ({"group_by": "city"}, "Group by: choose trigger")]:
        bad = await client.get(PAGE, params=params)
        assert bad.status_code == 422 and message in bad.text and 'id="period-error"' in bad.text


async def test_product_manager_saves_the_configuration_as_the_next_version(client, auth, engine):
    """Saved through PUT /upsells/triggers' use case: the next version, audited, read back by the API."""
    await _sign_in(client, await _user(engine, role="PRODUCT_MANAGER"))
    page = await client.get(PAGE)
    values = form_values(page.text)
    assert values["version"] == "0" and values["quota_threshold_percent"] == "80"
    assert set(values["enabled_triggers"]) == {  # type: ignore[arg-type]
        "LOW_LISTING_VIEWS", "PLAN_EXPIRED", "QUOTA_THRESHOLD", "VIEWS_WITHOUT_CONTACT"}
    values.update(quota_threshold_percent="82.5", views_without_contact="6",
                  enabled_triggers=["QUOTA_THRESHOLD", "PLAN_EXPIRED"])
    saved = await client.post(SAVE, data=values)
    assert saved.status_code == 303 and saved.headers["location"] == "/console/upsells?saved=1"
    stored = (await client.get(f"{UPSELLS}/triggers", headers=auth.headers("SALES_ADMIN"))).json()
    assert (stored["version"], stored["quota_threshold_percent"], stored["views_without_contact"],
            stored["enabled_triggers"]) == (1, 82.5, 6, ["PLAN_EXPIRED", "QUOTA_THRESHOLD"])
    after = await client.get(saved.headers["location"])
    assert "Saved version 1 of the trigger configuration." in after.text
    assert form_values(after.text)["quota_threshold_percent"] == "82.5"
    [audited] = await audit_rows(engine, action="upsell.triggers.updated")
    assert audited.entity_id == "1"


async def test_a_stale_version_is_an_inline_error_and_nothing_is_saved(client, auth, engine):
    await _sign_in(client, await _user(engine, role="SALES_ADMIN"))
    values = form_values((await client.get(PAGE)).text)
    put = await client.put(f"{UPSELLS}/triggers", json={"version": 0, "quota_threshold_percent": 90},
                           headers=auth.headers("PRODUCT_MANAGER"))
    assert put.status_code == 200 and put.json()["version"] == 1
    values["quota_threshold_percent"] = "85"
    stale = await client.post(SAVE, data=values)
    assert stale.status_code == 409
    assert 'id="triggers-error"' in stale.text and "Version 1 is in force, not 0. Someone saved" in stale.text
    assert 'value="85"' in stale.text  # what was typed is kept
    stored = (await client.get(f"{UPSELLS}/triggers", headers=auth.headers("SALES_ADMIN"))).json()
    assert (stored["version"], stored["quota_threshold_percent"]) == (1, 90)


@pytest.mark.parametrize("field,value,message", [
    ("quota_threshold_percent", "eighty", "Quota threshold: enter a percentage"),
    ("quota_threshold_percent", "101", "Quota threshold: Input should be less than or equal to 100"),
    ("offer_window_days", "0", "Offer window: Input should be greater than or equal to 1"),
    ("views_without_contact", "5.5", "Views without contact: enter a whole number."),
    ("enabled_triggers", ["SPAM"], "Enabled triggers: choose among the listed triggers."),
])
async def test_bad_figures_are_inline_errors_naming_the_field(client, auth, engine, field, value, message):
    await _sign_in(client, await _user(engine, role="PRODUCT_MANAGER"))
    values = form_values((await client.get(PAGE)).text)
    values[field] = value
    bad = await client.post(SAVE, data=values)
    assert bad.status_code == 422 and message in bad.text, bad.text
    assert (await client.get(f"{UPSELLS}/triggers", headers=auth.headers("SALES_ADMIN"))).json()["version"] == 0


async def test_saving_needs_the_session_csrf_token_and_a_configuring_role(client, auth, engine):
    await _sign_in(client, await _user(engine, role="PRODUCT_MANAGER"))
    values = form_values((await client.get(PAGE)).text)
    for token in (None, "forged"):
        forged = {k: v for k, v in values.items() if k != "csrf_token"} | ({"csrf_token": token} if token else {})
        refused = await client.post(SAVE, data=forged)
        assert refused.status_code == 403 and "Request rejected" in refused.text
    assert (await client.get(f"{UPSELLS}/triggers", headers=auth.headers("SALES_ADMIN"))).json()["version"] == 0
    # FINANCE_ADMIN reads the funnel but may not change the triggers (PUT /upsells/triggers is 403 for them).
    await _sign_in(client, await _user(engine, role="FINANCE_ADMIN"))
    token = _csrf((await client.get(PAGE)).text)
    refused = await client.post(SAVE, data={**values, "csrf_token": token})
    assert refused.status_code == 403 and "Not available for your role" in refused.text
    assert (await client.get(f"{UPSELLS}/triggers", headers=auth.headers("SALES_ADMIN"))).json()["version"] == 0
