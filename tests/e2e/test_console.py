"""The console in a real browser: sign-in, the RM's desk, the supervisor's room, sessions and CSRF."""
from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import PASSWORD, LiveApp, shot, sign_in

pytestmark = pytest.mark.e2e


def _login_as(page: Any, live: LiveApp, world: dict[str, Any], who: str) -> None:
    user = world["users"][who]
    sign_in(page, live.base_url, user["email"], user["password"])


def test_sign_in_see_queue_and_accept_a_lead(page, live, world):
    """US-SALE-010: the RM sees their live leads with priority and SLA countdown, and accepts one in place."""
    page.goto(f"{live.base_url}/console/login")
    shot(page, "login", live.backend)
    _login_as(page, live, world, "rm")
    expect(page).to_have_url(re.compile(r"/console$"))
    queue = page.locator("#queue")
    for alloc in world["allocations"]:
        expect(queue.locator(f"#alloc-{alloc['id']}")).to_be_visible()
    first = queue.locator(".q-item").first
    expect(first.locator(".sla")).to_have_text(re.compile(r"(\d+h )?\d+m.* left"))
    expect(first.locator(".prio")).to_have_text(re.compile(r"P[1-5]"))
    shot(page, "rm-desk", live.backend)
    target = world["allocations"][0]["id"]
    item = queue.locator(f"#alloc-{target}")
    item.get_by_role("button", name=re.compile("^Accept")).click()
    expect(page.locator("#flash")).to_contain_text("Lead accepted")
    expect(page.locator(f"#alloc-{target}")).to_contain_text("Accepted")
    expect(page.locator(f"#alloc-{target}").get_by_role("button", name=re.compile("^Accept"))).to_have_count(0)
    assert live.ok("GET", f"/allocations/{target}")["status"] == "ACCEPTED"


def test_reject_needs_a_reason_and_keeps_what_was_typed(page, live, world):
    _login_as(page, live, world, "rm")
    target = world["allocations"][1]["id"]
    item = page.locator(f"#alloc-{target}")
    item.locator("summary").click()
    item.get_by_label("Reason for rejecting").fill("Outside my localities")
    item.get_by_role("button", name="Reject lead").click()
    expect(page.locator("#flash")).to_contain_text("Lead rejected")
    expect(page.locator(f"#alloc-{target}")).to_have_count(0)
    assert live.ok("GET", f"/allocations/{target}")["status"] == "REASSIGNED"


def test_move_a_card_and_see_it_persist_after_reload(page, live, world):
    _login_as(page, live, world, "rm")
    pid = world["pipeline"]["id"]
    card = page.locator(f"#card-{pid}")
    expect(page.locator('.col[data-stage="NEW"]').locator(f"#card-{pid}")).to_be_visible()
    card.get_by_label(re.compile("^Move .* to stage")).select_option("CONTACTED")
    card.get_by_role("button", name="Move").click()
    expect(page.locator('.col[data-stage="CONTACTED"]').locator(f"#card-{pid}")).to_be_visible()
    # Drag and drop does the same.
    page.locator(f"#card-{pid}").drag_to(page.locator('.col[data-stage="SHORTLIST_SENT"]'))
    expect(page.locator('.col[data-stage="SHORTLIST_SENT"]').locator(f"#card-{pid}")).to_be_visible()
    page.reload()
    expect(page.locator('.col[data-stage="SHORTLIST_SENT"]').locator(f"#card-{pid}")).to_be_visible()
    assert live.ok("GET", f"/pipelines/{pid}")["stage"] == "SHORTLIST_SENT"


def test_forbidden_moves_show_their_errors_inline(page, live, world):
    """Closing as lost needs a loss reason; an RM may not move a pipeline back. Errors appear on the card."""
    _login_as(page, live, world, "rm")
    pid = world["pipeline"]["id"]
    card = page.locator(f"#card-{pid}")
    card.get_by_label(re.compile("^Move .* to stage")).select_option("CLOSED_LOST")
    card.get_by_role("button", name="Move").click()
    error = page.locator(f"#card-{pid} .card-error")
    expect(error).to_contain_text("A loss reason is required")
    shot(page, "rm-desk-inline-error", live.backend)
    assert live.ok("GET", f"/pipelines/{pid}")["stage"] == "NEW"
    page.locator(f"#card-{pid}").get_by_label("Loss reason").fill("Bought elsewhere")
    page.locator(f"#card-{pid}").get_by_role("button", name="Move to Closed lost").click()
    expect(page.locator('.col[data-stage="CLOSED_LOST"]').locator(f"#card-{pid}")).to_be_visible()
    # Backwards is for supervisors.
    other = world["allocations"][2]["pipeline_id"]
    live.ok("PATCH", f"/pipelines/{other}/stage", json={"stage": "NEGOTIATION"})
    page.reload()
    card = page.locator(f"#card-{other}")
    card.get_by_label(re.compile("^Move .* to stage")).select_option("CONTACTED")
    card.get_by_role("button", name="Move").click()
    expect(page.locator(f"#card-{other} .card-error")).to_contain_text("needs a supervisor")
    page.reload()
    expect(page.locator('.col[data-stage="NEGOTIATION"]').locator(f"#card-{other}")).to_be_visible()


def test_pipeline_detail_shows_history_and_saves_notes(page, live, world):
    _login_as(page, live, world, "rm")
    pid = world["pipeline"]["id"]
    live.ok("PATCH", f"/pipelines/{pid}/stage", json={"stage": "CONTACTED"})
    page.goto(f"{live.base_url}/console/pipelines/{pid}")
    expect(page.get_by_role("heading", name="Stage history")).to_be_visible()
    expect(page.locator(".timeline")).to_contain_text("New → Contacted")
    page.get_by_role("textbox", name="Notes").fill("Visit booked for Saturday 11:00")
    page.get_by_role("button", name="Save notes").click()
    expect(page.get_by_text("Notes saved.")).to_be_visible()
    expect(page.get_by_role("textbox", name="Notes")).to_have_value("Visit booked for Saturday 11:00")
    shot(page, "pipeline-detail", live.backend)
    # issue 10 §3: a lead naming the customer's account shows the customer context panel on its page.
    _, ctx_pipeline = _customer_with_context(live, world)
    page.goto(f"{live.base_url}/console/pipelines/{ctx_pipeline}")
    panel = page.locator("#customer-context")
    expect(panel.get_by_role("heading", name="Customer context")).to_be_visible()
    expect(panel.get_by_role("meter", name=re.compile("Owner contacts"))).to_have_attribute("value", "84.0")
    expect(panel).to_contain_text("21 of 25 used (84.0%)")
    expect(panel.get_by_role("row", name=re.compile("Tenant Premium"))).to_contain_text("₹1,499.00")
    expect(panel).to_contain_text("₹499.50")
    expect(panel).to_contain_text("2 views, 1 contact")
    expect(panel).to_contain_text("WhatsApp")
    expect(panel.get_by_role("link", name="Contacted")).to_have_attribute("href", f"/console/pipelines/{pid}")
    shot(page, "pipeline-customer-context", live.backend)


def _customer_with_context(live: LiveApp, world: dict[str, Any]) -> tuple[str, str]:
    """A customer account with a paid, partly refunded plan at 84% of its contacts, preferences and two recent
    views; their new lead goes to the world's RM, and the world's pipeline is theirs too. Returns (customer id,
    the new lead's pipeline id)."""
    tag, rm = world["tag"], world["rm"]
    customer = str(uuid.uuid4())
    plan = live.ok("POST", "/plans", json={"code": f"TENANT_PREMIUM_{tag}", "name": "Tenant Premium",
                                           "user_type": "TENANT", "tier": 1, "price": "1499.00", "duration_days": 45,
                                           "features": {"owner_contacts": 25}})
    order_id = str(uuid.uuid4())
    service = live.token("SERVICE")

    def deliver(type_: str, data: dict[str, Any]) -> None:
        envelope = {"specversion": "1.0", "id": str(uuid.uuid4()), "source": "/mysqrft/e2e", "type": type_,
                    "time": "2026-03-01T10:00:00Z", "datacontenttype": "application/json", "data": data}
        [outcome] = live.ok("POST", "/events", token=service, json=envelope)["items"]
        assert outcome["status"] == "PROCESSED", outcome

    deliver("billing.payment.completed", {
        "payment_id": str(uuid.uuid4()), "order_id": order_id, "user_id": customer, "user_type": "TENANT",
        "plan_id": plan["id"], "amount": 1499.00, "currency": "INR", "paid_at": "2026-02-20T10:00:00Z"})
    deliver("billing.refund.completed", {"refund_id": str(uuid.uuid4()), "order_id": order_id, "amount": 499.50,
                                         "completed_at": "2026-02-22T10:00:00Z"})
    deliver("entitlements.usage.updated", {"user_id": customer, "order_id": order_id, "plan_id": plan["id"],
                                           "quota_name": "owner_contacts", "quota": 25, "used": 21,
                                           "at": "2026-03-01T09:00:00Z"})
    live.ok("PUT", f"/customers/{customer}/preferences", token=service, json={
        "marketing_opt_out": False, "preferred_channel": "WHATSAPP", "updated_at": "2026-02-01T00:00:00Z"})
    for day, contacted in (("2026-02-28", True), ("2026-03-01", False)):
        live.ok("POST", f"/customers/{customer}/activity", token=service, json={
            "property_id": str(uuid.uuid4()), "viewed_at": f"{day}T12:00:00Z", "contacted": contacted})
    allocation = live.ok("POST", "/allocations", json={
        "lead_id": str(uuid.uuid4()),
        "customer": {"id": customer, "name": f"Ira Shah {tag}", "phone": "+91-9822222222"},
        "city": rm["city"], "zone": "West", "locality": "Baner", "property_type": "RESIDENTIAL", "segment": "TENANT",
        "source": "WEBSITE", "rm_id": rm["id"], "reason": "e2e customer context"})
    # The world's other pipeline belongs to the same customer: it shows as another open pipeline.
    live.ok("POST", "/allocations", json={
        "lead_id": world["pipeline"]["lead_id"], "customer": {"id": customer, "name": f"Ira Shah {tag}"},
        "city": rm["city"], "zone": "West", "locality": "Baner", "property_type": "RESIDENTIAL", "segment": "TENANT",
        "source": "WEBSITE", "rm_id": rm["id"], "reason": "e2e customer context"})
    return customer, allocation["pipeline_id"]


def test_supervisor_reassigns_single_and_bulk(page, live, world):
    """US-SALE-031: individual and bulk reassignment with a reason, in the supervisor's room."""
    _login_as(page, live, world, "supervisor")
    expect(page).to_have_url(re.compile(r"/console/team"))
    expect(page.get_by_role("heading", name=re.compile("Team room"))).to_be_visible()
    expect(page.locator("table").first).to_contain_text("Priya Patel")
    expect(page.locator("#funnel-chart")).to_be_visible()
    shot(page, "supervisor-room", live.backend)
    first, second, third = (a["id"] for a in world["allocations"])
    page.get_by_label(re.compile("^Select lead")).first.wait_for()
    page.locator(f'input[name=allocation_ids][value="{first}"]').check()
    page.get_by_label("Reassign selected to").select_option(world["other"]["id"])
    page.get_by_label("Reason").fill("Balancing workload")
    page.get_by_role("button", name="Reassign", exact=True).click()
    expect(page.get_by_text("1 lead reassigned.")).to_be_visible()
    assert live.ok("GET", f"/allocations/{first}")["status"] == "REASSIGNED"
    page.locator(f'input[name=allocation_ids][value="{second}"]').check()
    page.locator(f'input[name=allocation_ids][value="{third}"]').check()
    page.get_by_label("Reassign selected to").select_option(world["other"]["id"])
    page.get_by_label("Reason").fill("Priya on leave")
    page.get_by_role("button", name="Reassign", exact=True).click()
    expect(page.get_by_text("2 leads reassigned.")).to_be_visible()
    for allocation_id in (second, third):
        assert live.ok("GET", f"/allocations/{allocation_id}")["status"] == "REASSIGNED"
    rohan = page.locator("tbody tr", has_text="Rohan Iyer").first
    expect(rohan).to_contain_text("3 / 25")


def test_admin_pages_rules_simulation_and_users(page, live, world):
    _login_as(page, live, world, "admin")
    page.goto(f"{live.base_url}/console/rules")
    expect(page.get_by_label("Rule configuration (JSON)")).to_contain_text("sla_minutes")
    page.get_by_role("button", name=re.compile("Simulate")).click()
    expect(page.locator(".stat", has_text="Leads")).to_be_visible()
    shot(page, "rules", live.backend)
    page.goto(f"{live.base_url}/console/users")
    page.get_by_label("Email").fill(f"new.{world['tag']}@mysqrft.com")
    page.get_by_label("Password").fill("another-good-password")
    page.get_by_label("Role").select_option("FINANCE_ADMIN")
    page.get_by_role("button", name="Create user").click()
    expect(page.get_by_text(f"Created new.{world['tag']}@mysqrft.com")).to_be_visible()
    shot(page, "users", live.backend)


def test_session_expires_after_30_idle_minutes(page, live, world):
    """PRD §8.4: 30 minutes without activity on the business clock ends the session; activity extends it."""
    _login_as(page, live, world, "rm")
    expect(page).to_have_url(re.compile(r"/console$"))
    live.advance_clock(29 * 60)
    page.reload()
    expect(page).to_have_url(re.compile(r"/console$"))  # activity at 29 minutes keeps it alive
    live.advance_clock(29 * 60)
    page.reload()
    expect(page).to_have_url(re.compile(r"/console$"))
    live.advance_clock(30 * 60 + 1)
    page.reload()
    expect(page).to_have_url(re.compile(r"/console/login"))
    expect(page.locator(".alert-info")).to_contain_text("30 minutes without activity")


def test_second_sign_in_on_the_same_device_ends_the_first(page, context, live, world):
    _login_as(page, live, world, "rm")
    first = next(c for c in context.cookies() if c["name"] == "sales_session")
    _login_as(page, live, world, "supervisor")
    expect(page).to_have_url(re.compile(r"/console/team"))
    context.add_cookies([{**first}])  # the first session's cookie, back on the same device
    page.goto(f"{live.base_url}/console")
    expect(page).to_have_url(re.compile(r"/console/login"))
    expect(page.locator(".alert-info")).to_contain_text("signed in again on this device")


def test_csrf_token_is_required(page, live, world):
    _login_as(page, live, world, "rm")
    pid = world["pipeline"]["id"]
    page.goto(f"{live.base_url}/console/pipelines/{pid}")
    page.evaluate("document.querySelector('form[action$=\"/notes\"] input[name=csrf_token]').value = 'forged'")
    page.get_by_role("textbox", name="Notes").fill("should not be saved")
    page.get_by_role("button", name="Save notes").click()
    expect(page.get_by_role("heading", name="Request rejected")).to_be_visible()
    assert live.ok("GET", f"/pipelines/{pid}")["notes"] == "Wants a 3BHK near Baner"
    status = page.evaluate("""async () => (await fetch('/console/pipelines/%s/notes', {method: 'POST',
        headers: {'Content-Type': 'application/x-www-form-urlencoded'}, body: 'notes=x'})).status""" % pid)
    assert status == 403


def test_desk_is_usable_at_phone_width(browser, live, world):
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = ctx.new_page()
    try:
        _login_as(page, live, world, "rm")
        expect(page.locator("#queue .q-item").first).to_be_visible()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"page scrolls sideways at phone width ({width}px)"
        shot(page, "rm-desk-phone", live.backend)
    finally:
        ctx.close()


def test_every_page_runs_under_the_strict_content_security_policy(page, live, world):
    """issue 9 item 9: the console sends a strict CSP (no inline scripts or styles, no eval); the browser
    reports nothing it had to block on any page, htmx swaps included, and script-set styles still apply."""
    blocked: list[str] = []
    page.on("console", lambda msg: blocked.append(msg.text) if "Content Security Policy" in msg.text else None)
    pid = world["pipeline"]["id"]
    tour = {"rm": ["/console", f"/console/pipelines/{pid}"], "supervisor": ["/console/team"],
            "admin": ["/console/rules", "/console/users", "/console/upsells"]}
    for who, paths in tour.items():
        _login_as(page, live, world, who)
        for path in paths:
            page.goto(f"{live.base_url}{path}")
            page.wait_for_load_state("networkidle")
            if path == "/console":
                page.locator("#queue").dispatch_event("queue-refresh")  # the queue's 30 s self-refresh
                page.wait_for_load_state("networkidle")
            if path == "/console/team":
                width = page.locator(".util-bar > span").first.evaluate("bar => bar.style.width")
                assert width.endswith("%"), width
    assert blocked == []


def test_product_manager_sees_the_upsell_funnel_and_saves_a_threshold(page, live, world):
    """issue 11: the product manager's upsell page shows the funnel as a chart and a table, and saves the trigger
    configuration's quota threshold (UPR-002) as its next version, under the strict CSP."""
    blocked: list[str] = []
    page.on("console", lambda msg: blocked.append(msg.text) if "Content Security Policy" in msg.text else None)
    tag, service = world["tag"], live.token("SERVICE")
    plan = live.ok("POST", "/plans", json={"code": f"TENANT_PLUS_{tag}", "name": "Tenant Plus", "user_type": "TENANT",
                                           "tier": 1, "price": "1499.00", "duration_days": 45,
                                           "features": {"owner_contacts": 25}})
    trigger = f"E2E_{tag.upper()}"
    for presented in (True, False):
        upsell = live.ok("POST", "/upsells", token=service, json={
            "user_id": str(uuid.uuid4()), "user_type": "TENANT", "target_plan_id": plan["id"],
            "trigger_event": trigger, "channel": "IN_APP_BANNER"})
        if presented:
            live.ok("PATCH", f"/upsells/{upsell['id']}/response", token=service, json={"response": "PRESENTED"})
    before = live.ok("GET", "/upsells/triggers")["version"]
    email = f"pm.{tag}@mysqrft.com"
    live.create_user(email=email, password=PASSWORD, role="PRODUCT_MANAGER")
    sign_in(page, live.base_url, email, PASSWORD)
    page.get_by_role("link", name="Upsells").click()
    expect(page).to_have_url(re.compile(r"/console/upsells"))
    expect(page.get_by_role("heading", name="Upsells", exact=True)).to_be_visible()
    page.get_by_label("Group by").select_option("trigger")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"group_by=trigger"))
    chart = page.locator("#upsell-funnel-chart")
    expect(chart).to_be_visible()
    page.wait_for_function("document.getElementById('upsell-funnel-chart')._chart !== undefined")
    row = page.get_by_role("row", name=re.compile(trigger))
    expect(row.locator("td")).to_have_text(["2", "1", "0", "0", "0", "0", "0.00%", "₹0.00"])
    shot(page, "upsells", live.backend)
    threshold = page.get_by_label("Quota threshold (%)")
    threshold.fill("85.5")
    page.get_by_role("button", name=re.compile("^Save as version")).click()
    expect(page.get_by_text(f"Saved version {before + 1} of the trigger configuration.")).to_be_visible()
    expect(page.get_by_label("Quota threshold (%)")).to_have_value("85.5")
    stored = live.ok("GET", "/upsells/triggers")
    assert (stored["version"], stored["quota_threshold_percent"]) == (before + 1, 85.5)
    assert blocked == []


def test_product_manager_creates_an_experiment_and_sees_its_charts(page, live, world):
    """issue 16: the product manager creates an A/B test from the console, starts it, and its page draws the
    conversion over time and the interval plot, under the strict CSP."""
    blocked: list[str] = []
    page.on("console", lambda msg: blocked.append(msg.text) if "Content Security Policy" in msg.text else None)
    tag = world["tag"]
    email = f"pm.exp.{tag}@mysqrft.com"
    live.create_user(email=email, password=PASSWORD, role="PRODUCT_MANAGER")
    sign_in(page, live.base_url, email, PASSWORD)
    page.get_by_role("link", name="Experiments").click()
    expect(page.get_by_role("heading", name="Upsell experiments")).to_be_visible()
    page.get_by_label("Name").fill(f"Copy test {tag}")
    page.get_by_label("Trigger").fill(f"E2E_EXP_{tag.upper()}")
    page.get_by_label("Control message").fill("Upgrade now")
    page.get_by_label("Treatment message").fill("Save Rs. 500")
    page.get_by_role("button", name="Create draft").click()
    expect(page.get_by_role("heading", name=f"Copy test {tag}")).to_be_visible()
    page.get_by_role("button", name="Start").click()
    expect(page.locator("#experiment-status")).to_have_text("RUNNING")
    for canvas in ("timeline-chart", "interval-chart"):
        page.wait_for_function(f"document.getElementById('{canvas}')._chart !== undefined")
    shot(page, "experiment", live.backend)
    assert blocked == []
