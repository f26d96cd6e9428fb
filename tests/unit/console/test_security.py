"""Console sign-in throttling and device cookies (PRD §8.4; issue 9 item 12), pure."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sales.console import security

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
KEY = security.device_key(b"k" * 32)


def _failures(count: int, *, minutes_ago: int = 1) -> list[datetime]:
    return [NOW - timedelta(minutes=minutes_ago)] * count


@pytest.mark.parametrize(("account_and_ip", "ip", "account", "scope"), [
    (4, 4, 4, None),
    (5, 5, 5, "account_and_ip"),
    (0, 20, 20, "ip"),
    (0, 0, 49, None),
    (0, 0, 50, "account"),
])
def test_throttle_scopes(account_and_ip, ip, account, scope):
    refused = security.throttle(account_and_ip_failures=_failures(account_and_ip), ip_failures=_failures(ip),
                                account_failures=_failures(account), now=NOW)
    assert (refused.scope if refused else None) == scope


def test_the_longest_wait_is_reported():
    refused = security.throttle(account_and_ip_failures=_failures(5, minutes_ago=10),
                                ip_failures=[], account_failures=_failures(50, minutes_ago=1), now=NOW)
    assert refused == security.Throttle("account", 14 * 60 + 1)


def test_a_device_cookie_yields_its_id_only_with_the_servers_signature():
    cookie, device_id = security.new_device(KEY)
    assert security.device_id(KEY, cookie) == device_id
    token = cookie.split(".")[0]
    assert device_id not in cookie and device_id == security.token_digest(token)
    assert security.device_id(security.device_key(b"other" * 8), cookie) is None
    for forged in (token, device_id, f"{token}.", f"{token}.{'A' * 43}", "", None, cookie + "x" * 100):
        assert security.device_id(KEY, forged) is None
