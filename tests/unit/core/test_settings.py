"""Configuration refused at start-up, and the token keys each configuration accepts (ARCHITECTURE §2.1, §2.2)."""
from __future__ import annotations

import os

import pytest

from sales.settings import DEV_JWT_SECRET, ConfigurationError, Settings, load_settings

PII_KEY = "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE="
STRONG_SECRET = "s" * 32
JWKS_URL = "https://id.mysqrft.example/.well-known/jwks.json"


@pytest.fixture(autouse=True)
def _no_sales_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith("SALES_")]:
        monkeypatch.delenv(name)


@pytest.mark.parametrize(("env", "named"), [
    ({}, "SALES_JWT_SECRET is required"),
    ({"SALES_JWT_SECRET": DEV_JWT_SECRET}, "SALES_JWT_SECRET is the published development secret"),
    ({"SALES_JWT_SECRET": "s" * 31}, "SALES_JWT_SECRET must be at least 32 bytes"),
    ({"SALES_JWT_SECRET": "é" * 15}, "SALES_JWT_SECRET must be at least 32 bytes"),  # 30 bytes in UTF-8
    ({"SALES_JWT_SECRET": STRONG_SECRET, "SALES_JWT_JWKS_URL": JWKS_URL},
     "SALES_JWT_SECRET and SALES_JWT_JWKS_URL are both set"),
    ({"SALES_JWT_JWKS_URL": "http://id.mysqrft.example/jwks"}, "SALES_JWT_JWKS_URL must be an https:// URL"),
    ({"SALES_JWT_JWKS_URL": "file:///etc/passwd"}, "SALES_JWT_JWKS_URL: must be an https://"),
])
def test_production_refuses_weak_or_ambiguous_token_keys(monkeypatch, env, named):
    """issue 9 item 1: no built-in secret, a short one or both kinds of key in production; one line each."""
    monkeypatch.setenv("SALES_ENV", "production")
    monkeypatch.setenv("SALES_PII_KEY", PII_KEY)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError) as refused:
        load_settings()
    assert named in str(refused.value) and "\n" not in str(refused.value)


@pytest.mark.parametrize(("env", "hs256_secret"), [
    ({"env": "production", "jwt_secret": STRONG_SECRET}, STRONG_SECRET),
    ({"env": "production", "jwt_jwks_url": JWKS_URL}, None),
    ({"env": "development"}, DEV_JWT_SECRET),
    ({"env": "test", "jwt_jwks_url": "http://localhost:9000/jwks"}, None),
    ({"env": "development", "jwt_secret": "short", "jwt_jwks_url": JWKS_URL}, "short"),
])
def test_hs256_is_accepted_only_with_a_configured_secret_or_the_dev_fallback(env, hs256_secret):
    """issue 9 item 1: the development secret stands in only outside production and only without a JWKS."""
    assert Settings(pii_key=PII_KEY, **env).hs256_secret == hs256_secret


def test_docs_and_metrics_settings(monkeypatch):
    """issue 9 item 13: docs on by default, /metrics on the API unless a port is given; a bad port is refused."""
    defaults = load_settings()
    assert defaults.docs_enabled and defaults.metrics_port is None
    monkeypatch.setenv("SALES_DOCS_ENABLED", "false")
    monkeypatch.setenv("SALES_METRICS_PORT", "9464")
    assert (load_settings().docs_enabled, load_settings().metrics_port) == (False, 9464)
    monkeypatch.setenv("SALES_METRICS_PORT", "70000")
    with pytest.raises(ConfigurationError, match="SALES_METRICS_PORT"):
        load_settings()


def test_worker_metrics_listen_on_loopback_unless_widened(monkeypatch):
    """Same class as issue 9 item 13: the worker's /metrics is internal by default, like the API's."""
    from sales.events.config import EventSettings

    assert EventSettings().worker_metrics_host == "127.0.0.1"
    monkeypatch.setenv("SALES_WORKER_METRICS_HOST", "0.0.0.0")
    assert EventSettings().worker_metrics_host == "0.0.0.0"


K1, K2 = "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=", "YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXphYmNkZWY="


def test_the_pii_key_ring_from_configuration():
    """issue 20: SALES_PII_KEYS="kid:base64,..." with SALES_PII_ACTIVE_KEY; SALES_PII_KEY stays key id "default"."""
    import base64

    settings = Settings(env="production", jwt_secret=STRONG_SECRET, pii_keys=f"k1:{K1},k2:{K2}", pii_active_key="k2")
    assert settings.pii_key_ring == {"k1": base64.b64decode(K1), "k2": base64.b64decode(K2)}
    assert settings.pii_active_key_id == "k2" and settings.pii_key_bytes == base64.b64decode(K2)
    both = Settings(pii_key=K1, pii_keys=f"k2:{K2}", pii_active_key="k2")
    assert set(both.pii_key_ring) == {"default", "k2"} and both.pii_key_ring["default"] == base64.b64decode(K1)
    assert Settings(pii_key=K1).pii_active_key_id == "default"
    assert Settings(pii_keys=f"only:{K1}").pii_active_key_id == "only"


@pytest.mark.parametrize(("env", "named"), [
    ({"SALES_PII_KEYS": K1}, "SALES_PII_KEYS must be kid:base64 entries"),
    ({"SALES_PII_KEYS": f"k 1:{K1}"}, "SALES_PII_KEYS must be kid:base64 entries"),
    ({"SALES_PII_KEYS": "k1:c2hvcnQ="}, "SALES_PII_KEYS key 'k1' must be base64 of 32 bytes"),
    ({"SALES_PII_KEYS": f"k1:{K1},k1:{K2}"}, "names key id 'k1' twice"),
    ({"SALES_PII_KEYS": f"k1:{K1},k2:{K2}"}, "SALES_PII_ACTIVE_KEY is required when SALES_PII_KEYS holds several"),
    ({"SALES_PII_KEYS": f"k1:{K1}", "SALES_PII_ACTIVE_KEY": "k9"}, "SALES_PII_ACTIVE_KEY 'k9' is not a key id"),
    ({"SALES_PII_KEYS": f"default:{K2}", "SALES_PII_KEY": K1}, "names key id 'default', which is SALES_PII_KEY's"),
])
def test_a_bad_key_ring_is_refused_at_start_up(monkeypatch, env, named):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError) as refused:
        load_settings()
    assert named in str(refused.value) and "\n" not in str(refused.value)


def test_production_takes_a_key_ring_instead_of_one_key(monkeypatch):
    monkeypatch.setenv("SALES_ENV", "production")
    monkeypatch.setenv("SALES_JWT_SECRET", STRONG_SECRET)
    with pytest.raises(ConfigurationError, match="SALES_PII_KEY is required in production"):
        load_settings()
    monkeypatch.setenv("SALES_PII_KEYS", f"k1:{K1}")
    assert set(load_settings().pii_key_ring) == {"k1"}  # no development key in production
