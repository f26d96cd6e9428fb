"""Console sign-in, sessions, CSRF and throttling through the app (SQLite and PostgreSQL), PRD §8.4."""
from __future__ import annotations

import re
import uuid

import httpx
import pytest

from sales.console import service
from sales.core.clock import business_now
from sales.core.db import unit_of_work
from tests.builders import API, make_pipeline, make_rm, make_team

PASSWORD = "correct-horse-battery"


async def _user(engine, *, role: str = "SALES_ADMIN", rm_id: str | None = None, teams: list[str] | None = None,
                email: str | None = None) -> str:
    email = email or f"{role.lower()}.{uuid.uuid4().hex[:6]}@mysqrft.com"
    async with unit_of_work(engine) as conn:
        now = await business_now(conn, frozen_allowed=True)
        await service.create_user(conn, None, email=email, password=PASSWORD, role=role, name=None,
                                  rm_id=uuid.UUID(rm_id) if rm_id else None,
                                  team_ids=[uuid.UUID(t) for t in teams or []], now=now)
    return email


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


async def _sign_in(client: httpx.AsyncClient, email: str, password: str = PASSWORD, **extra: str) -> httpx.Response:
    page = await client.get("/console/login")
    return await client.post("/console/login", data={"email": email, "password": password,
                                                     "csrf_token": _csrf(page.text), **extra})


async def test_login_page_has_labelled_fields_and_sets_device_cookie(client):
    response = await client.get("/console/login")
    assert response.status_code == 200
    assert '<label for="email">Email</label>' in response.text
    assert '<label for="password">Password</label>' in response.text
    assert ">Sign in</button>" in response.text
    cookies = response.headers.get_list("set-cookie")
    assert any(c.startswith("sales_device=") and "HttpOnly" in c and "SameSite=lax" in c for c in cookies)


async def test_sign_in_sets_an_httponly_lax_session_cookie_and_opens_the_console(client, engine):
    email = await _user(engine)
    response = await _sign_in(client, email)
    assert response.status_code == 303 and response.headers["location"] == "/console"
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith("sales_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie  # plain HTTP here
    assert (await client.get("/console/team")).status_code == 200


async def test_wrong_password_is_401_and_names_no_detail(client, engine):
    email = await _user(engine)
    response = await _sign_in(client, email, "wrong-password-123")
    assert response.status_code == 401
    assert "The email or password is incorrect." in response.text
    unknown = await _sign_in(client, "nobody@mysqrft.com", "wrong-password-123")
    assert unknown.status_code == 401 and "The email or password is incorrect." in unknown.text


async def test_sign_in_without_the_form_token_is_rejected(client, engine):
    email = await _user(engine)
    await client.get("/console/login")
    response = await client.post("/console/login", data={"email": email, "password": PASSWORD, "csrf_token": "x"})
    assert response.status_code == 403
    assert "sales_session" not in client.cookies


async def test_console_writes_need_the_session_csrf_token(client, auth, engine):
    team = await make_team(client, auth.admin)
    rm = await make_rm(client, auth.admin, team_id=team["id"])
    pipeline = await make_pipeline(client, auth.admin, rm_id=rm["id"])
    email = await _user(engine, role="RM", rm_id=rm["id"])
    await _sign_in(client, email)
    path = f"/console/pipelines/{pipeline['id']}/notes"
    assert (await client.post(path, data={"notes": "forged"})).status_code == 403
    assert (await client.post(path, data={"notes": "forged", "csrf_token": "nope"})).status_code == 403
    page = await client.get(f"/console/pipelines/{pipeline['id']}")
    ok = await client.post(path, data={"notes": "Visit on Saturday", "csrf_token": _csrf(page.text)})
    assert ok.status_code == 303
    ok = await client.post(f"/console/pipelines/{pipeline['id']}/stage", data={"stage": "CONTACTED"},
                           headers={"X-CSRF-Token": _csrf(page.text), "HX-Request": "true"})
    assert ok.status_code == 200
    stored = (await client.get(f"{API}/pipelines/{pipeline['id']}", headers=auth.admin)).json()
    assert stored["notes"] == "Visit on Saturday" and stored["stage"] == "CONTACTED"


async def test_session_ends_after_30_idle_minutes_on_the_business_clock(client, auth, engine):
    await client.put(f"{API}/admin/clock", json={"now": "2026-03-02T09:00:00Z"}, headers=auth.admin)
    email = await _user(engine)
    await _sign_in(client, email)
    await client.put(f"{API}/admin/clock", json={"advance_seconds": 29 * 60}, headers=auth.admin)
    assert (await client.get("/console/team")).status_code == 200  # activity: the idle timer restarts
    await client.put(f"{API}/admin/clock", json={"advance_seconds": 29 * 60}, headers=auth.admin)
    assert (await client.get("/console/team")).status_code == 200
    await client.put(f"{API}/admin/clock", json={"advance_seconds": 30 * 60}, headers=auth.admin)
    expired = await client.get("/console/team")
    assert expired.status_code == 303 and expired.headers["location"].startswith("/console/login?reason=expired")
    # ...and it stays ended, even if the clock were set back.
    await client.put(f"{API}/admin/clock", json={"now": "2026-03-02T09:00:00Z"}, headers=auth.admin)
    assert (await client.get("/console/team")).status_code == 303


async def test_htmx_requests_are_redirected_with_a_header_when_signed_out(client):
    response = await client.get("/console/desk/queue", headers={"HX-Request": "true"})
    assert response.status_code == 200 and response.headers["HX-Redirect"] == "/console/login"


async def test_second_sign_in_on_the_same_device_ends_the_first(client, engine):
    first_email, second_email = await _user(engine), await _user(engine)
    await _sign_in(client, first_email)
    first_cookie = client.cookies.get("sales_session")
    await _sign_in(client, second_email)
    assert client.cookies.get("sales_session") != first_cookie
    client.cookies.set("sales_session", first_cookie, path="/console")
    response = await client.get("/console/team")
    assert response.status_code == 303 and "reason=replaced" in response.headers["location"]


async def test_other_devices_keep_their_sessions(app, engine):
    email = await _user(engine)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as laptop, \
            httpx.AsyncClient(transport=transport, base_url="http://test") as phone:
        await _sign_in(laptop, email)
        await _sign_in(phone, email)
        assert (await laptop.get("/console/team")).status_code == 200
        assert (await phone.get("/console/team")).status_code == 200


async def test_a_session_cookie_is_worthless_on_another_device(app, engine):
    email = await _user(engine)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as mine, \
            httpx.AsyncClient(transport=transport, base_url="http://test") as thief:
        await _sign_in(mine, email)
        await thief.get("/console/login")  # the thief's own device id
        thief.cookies.set("sales_session", mine.cookies.get("sales_session"), path="/console")
        assert (await thief.get("/console/team")).status_code == 303


async def test_sign_out_ends_the_session(client, engine):
    email = await _user(engine)
    await _sign_in(client, email)
    cookie = client.cookies.get("sales_session")
    page = await client.get("/console/team")
    out = await client.post("/console/logout", data={"csrf_token": _csrf(page.text)})
    assert out.status_code == 303 and "reason=signed_out" in out.headers["location"]
    client.cookies.set("sales_session", cookie, path="/console")
    assert (await client.get("/console/team")).status_code == 303


async def test_failed_sign_ins_are_throttled_per_account(client, engine):
    email = await _user(engine)
    for _ in range(5):
        assert (await _sign_in(client, email, "wrong-password-123")).status_code == 401
    locked = await _sign_in(client, email)  # even the right password, for now
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 0
    assert "Too many failed sign-in attempts" in locked.text


async def test_the_throttle_lifts_after_the_window_on_the_business_clock(client, auth, engine):
    await client.put(f"{API}/admin/clock", json={"now": "2026-03-02T09:00:00Z"}, headers=auth.admin)
    email = await _user(engine)
    for _ in range(5):
        await _sign_in(client, email, "wrong-password-123")
    assert (await _sign_in(client, email)).status_code == 429
    await client.put(f"{API}/admin/clock", json={"advance_seconds": 16 * 60}, headers=auth.admin)
    assert (await _sign_in(client, email)).status_code == 303


async def test_failed_sign_ins_are_throttled_per_ip(client, engine):
    email = await _user(engine)
    for n in range(20):
        assert (await _sign_in(client, f"guess{n}@mysqrft.com", "wrong-password-123")).status_code == 401
    assert (await _sign_in(client, email)).status_code == 429


@pytest.mark.parametrize("role,page,status", [
    ("RM", "/console/team", 403), ("RM", "/console/rules", 403), ("SUPERVISOR", "/console/rules", 403),
    ("SUPERVISOR", "/console/users", 403), ("FINANCE_ADMIN", "/console/overview", 200),
    ("SALES_ADMIN", "/console/users", 200), ("SALES_ADMIN", "/console/rules", 200),
])
async def test_pages_follow_the_roles(client, auth, engine, role, page, status):
    team = await make_team(client, auth.admin)
    rm = await make_rm(client, auth.admin, team_id=team["id"])
    email = await _user(engine, role=role, rm_id=rm["id"] if role == "RM" else None,
                        teams=[team["id"]] if role == "SUPERVISOR" else None)
    await _sign_in(client, email)
    assert (await client.get(page)).status_code == status


async def test_rm_desk_renders_their_pipelines_with_pii_and_not_others(client, auth, engine):
    team = await make_team(client, auth.admin)
    rm = await make_rm(client, auth.admin, team_id=team["id"])
    other = await make_rm(client, auth.admin, team_id=team["id"], name="Rohan Iyer")
    mine = await make_pipeline(client, auth.admin, rm_id=rm["id"])
    theirs = await make_pipeline(client, auth.admin, rm_id=other["id"])
    email = await _user(engine, role="RM", rm_id=rm["id"])
    await _sign_in(client, email)
    desk = await client.get("/console")
    assert desk.status_code == 200
    assert f'id="card-{mine["id"]}"' in desk.text and f'id="card-{theirs["id"]}"' not in desk.text
    assert (await client.get(f"/console/pipelines/{theirs['id']}")).status_code == 404


async def test_admin_creates_a_console_user_and_bad_input_keeps_the_form(client, engine):
    email = await _user(engine)
    await _sign_in(client, email)
    page = await client.get("/console/users")
    token = _csrf(page.text)
    short = await client.post("/console/users", data={"email": "new@mysqrft.com", "password": "short", "role": "SALES_ADMIN",
                                                      "csrf_token": token})
    assert short.status_code == 422 and "Password: Must be at least 10 characters" in short.text
    assert 'value="new@mysqrft.com"' in short.text
    ok = await client.post("/console/users", data={"email": "new@mysqrft.com", "password": "long-enough-pw",
                                                   "role": "FINANCE_ADMIN", "csrf_token": token})
    assert ok.status_code == 303
    dup = await client.post("/console/users", data={"email": "NEW@mysqrft.com", "password": "long-enough-pw",
                                                    "role": "FINANCE_ADMIN", "csrf_token": token})
    assert dup.status_code == 409
    fresh = httpx.AsyncClient(transport=client._transport, base_url="http://test")
    async with fresh:
        assert (await _sign_in(fresh, "new@mysqrft.com", "long-enough-pw")).status_code == 303


def _browser(app, address: str = "127.0.0.1") -> httpx.AsyncClient:  # type: ignore[no-untyped-def]
    """A browser of its own (cookie jar) at a source address."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(address, 40000)), base_url="http://test")


async def test_a_stranger_cannot_lock_the_owner_out(app, engine):
    """issue 9 item 12: failures are throttled per account and source address together."""
    email = await _user(engine)
    async with _browser(app, "203.0.113.9") as stranger, _browser(app) as owner:
        for _ in range(5):
            assert (await _sign_in(stranger, email, "wrong-password-123")).status_code == 401
        assert (await _sign_in(stranger, email)).status_code == 429  # locked for that address, right password too
        assert (await _sign_in(owner, email)).status_code == 303
        assert (await owner.get("/console/team")).status_code == 200


async def test_an_attack_from_many_addresses_meets_a_ceiling_on_the_account(app, engine):
    """issue 9 item 12: a looser per-account ceiling (50 failures in 15 minutes from anywhere) still holds."""
    from sales.console import repository

    email = await _user(engine)
    async with unit_of_work(engine) as conn:
        now = await business_now(conn, frozen_allowed=True)
        for n in range(49):  # ten addresses, each under its own limits
            await repository.record_attempt(conn, email=email, ip=f"198.51.100.{n // 5}", at=now, succeeded=False)
    async with _browser(app) as owner:
        assert (await _sign_in(owner, email)).status_code == 303  # 49: not yet, and a success resets nothing
    async with _browser(app, "198.51.100.200") as stranger:
        assert (await _sign_in(stranger, email, "wrong-password-123")).status_code == 401
    async with _browser(app) as owner:
        locked = await _sign_in(owner, email)
        assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 0


async def test_signing_in_with_someone_elses_device_id_does_not_end_their_session(app, engine):
    """issue 9 item 12: the device id stored with a session (and audited) cannot be replayed as a device cookie."""
    from sqlalchemy import select

    from sales.console.models import console_sessions

    victim_email, attacker_email = await _user(engine), await _user(engine)
    async with _browser(app) as victim, _browser(app, "203.0.113.9") as attacker:
        assert (await _sign_in(victim, victim_email)).status_code == 303
        async with engine.connect() as conn:
            victims_device = (await conn.execute(select(console_sessions.c.device_id))).scalar_one()
        for planted in (victims_device, victim.cookies.get("sales_device").split(".")[0]):
            page = await attacker.get("/console/login")
            attacker.cookies.set("sales_device", planted, domain="test.local", path="/console")
            signed_in = await attacker.post("/console/login", data={
                "email": attacker_email, "password": PASSWORD, "csrf_token": _csrf(page.text)})
            assert signed_in.status_code == 303
            assert attacker.cookies.get("sales_device") != planted  # the server issued its own
            assert (await victim.get("/console/team")).status_code == 200


async def test_a_device_cookie_is_issued_by_the_server_and_cannot_be_edited(client, engine):
    """issue 9 item 12: a value a client makes up is replaced; a signed-in device's cookie cannot be altered."""
    client.cookies.set("sales_device", "chosen-by-the-client-0123456789", domain="test.local", path="/console")
    page = await client.get("/console/login")
    issued = next(c for c in page.headers.get_list("set-cookie") if c.startswith("sales_device="))
    assert "chosen-by-the-client" not in issued
    email = await _user(engine)
    await _sign_in(client, email)
    assert (await client.get("/console/team")).status_code == 200
    token, signature = client.cookies.get("sales_device").split(".")
    client.cookies.set("sales_device", f"{token}.{signature[::-1]}", domain="test.local", path="/console")
    assert (await client.get("/console/team")).status_code == 303


async def test_console_cookies_are_secure_in_production(settings, engine):
    """Same class as issue 9 item 13: production never sends the console's cookies over plain HTTP, even when
    TLS ends at a proxy and the request reaches the app as http."""
    from sales.app import create_app
    from sales.settings import Settings
    from tests.conftest import TEST_SECRET

    production = Settings(env="production", database_url=settings.database_url, jwt_secret=TEST_SECRET,
                          pii_key="A" * 43 + "=", log_level="WARNING")
    async with _browser(create_app(production, engine=engine)) as browser:
        page = await browser.get("/console/login")
    cookies = page.headers.get_list("set-cookie")
    assert {c.split("=")[0] for c in cookies} == {"sales_login_csrf", "sales_device"}
    assert all("Secure" in c for c in cookies)
