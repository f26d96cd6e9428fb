"""The customer context panel on the console's pipeline page (issue 10 §3): the same use case as
GET /customers/{id} with the session's principal; accessible markup without inline scripts, handlers or styles
(strict CSP: script-src 'self')."""
from __future__ import annotations

import re
import uuid

from tests.api.console.test_console_auth import _sign_in, _user
from tests.api.customers.test_context import build_world
from tests.builders import make_pipeline


def panel(html: str) -> str:
    start = html.index('<section class="panel ctx" id="customer-context"')
    return html[start:html.index("</main>", start)]


def assert_csp_clean(html: str) -> None:
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline <script> block"
    assert not re.search(r"\son[a-z]+\s*=", html), "inline event handler"


async def test_rm_sees_plans_usage_orders_activity_and_other_pipelines(client, auth, engine):
    w = await build_world(client, auth, engine)
    await _sign_in(client, await _user(engine, role="RM", rm_id=w.rm_a["id"]))
    page = await client.get(f"/console/pipelines/{w.pipeline_a['id']}")
    assert page.status_code == 200, page.text
    assert_csp_clean(page.text)
    html = panel(page.text)
    assert "style=" not in html
    assert '<h2 id="ctx-title">Customer context</h2>' in html
    # The plan with its usage bar: a labelled <meter>, the numbers also as text.
    assert "<strong>Tenant Premium</strong>" in html
    meter = re.search(r'<meter id="(q-1-1)-meter" [^>]*>', html)
    assert meter and 'value="84.0"' in meter.group(0) and 'aria-labelledby="q-1-1 q-1-1-text"' in meter.group(0)
    assert "21 of 25 used (84.0%)" in html and "2 used (unlimited)" in html
    # Orders and refunds, exactly.
    assert f'id="order-{w.order_id}"' in html and f'id="order-{w.expired_order_id}"' in html
    assert "₹1,499.00" in html and "₹499.50" in html and "Partially refunded" in html and "₹1,999.00" in html
    assert '<th scope="col">Paid</th>' in html
    # Activity and preferences.
    assert "<dt>Last 7 days</dt><dd>3 views, 2 contacts</dd>" in html
    assert "<dt>Last 30 days</dt><dd>5 views, 3 contacts</dd>" in html
    assert "<dt>Preferred channel</dt><dd>WhatsApp</dd>" in html and "<dt>Opted out of</dt><dd>SMS</dd>" in html
    # Other open pipelines: the other RM's, not this one; not a link (the RM may not open it).
    assert f'id="ctx-pipeline-{w.pipeline_b["id"]}"' in html and "with Rohan Iyer (Indiranagar)" in html
    assert f'id="ctx-pipeline-{w.pipeline_a["id"]}"' not in html
    assert f'href="/console/pipelines/{w.pipeline_b["id"]}"' not in html
    # The contact on the page is in full for the assigned RM.
    assert "+91-9876543210" in page.text


async def test_finance_sees_the_panel_masked_and_product_sees_no_orders(client, auth, engine):
    w = await build_world(client, auth, engine)
    await _sign_in(client, await _user(engine, role="FINANCE_ADMIN"))
    html = panel((await client.get(f"/console/pipelines/{w.pipeline_a['id']}")).text)
    assert "Contact details are masked for your role." in html and "₹1,499.00" in html
    # Org-wide readers may open every pipeline: the other one is a link.
    assert f'href="/console/pipelines/{w.pipeline_b["id"]}"' in html
    client.cookies.clear()
    await _sign_in(client, await _user(engine, role="PRODUCT_MANAGER"))
    html = panel((await client.get(f"/console/pipelines/{w.pipeline_a['id']}")).text)
    assert "Orders are not shown to your role." in html and "₹1,499.00" not in html
    assert "<strong>Tenant Premium</strong>" in html


async def test_a_lead_without_a_customer_account_shows_an_empty_panel(client, auth, engine):
    w = await build_world(client, auth, engine)
    bare = await make_pipeline(client, auth.admin, rm_id=w.rm_a["id"], lead_id=str(uuid.uuid4()))
    await _sign_in(client, await _user(engine, role="RM", rm_id=w.rm_a["id"]))
    page = await client.get(f"/console/pipelines/{bare['id']}")
    assert page.status_code == 200
    assert "This lead names no customer account" in panel(page.text)
