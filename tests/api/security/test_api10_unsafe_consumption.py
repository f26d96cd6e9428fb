"""OWASP API10:2023 Unsafe Consumption of APIs (issue 20). What other systems send us is untrusted input, held to
the same contract as a request: every consumed event type (walked from the handler registry and its schema in
docs/events/, so a new handler is covered without anyone listing it) is sent malformed, wrong-typed, oversized and
hostile data, over HTTP and as a JetStream delivery. Each such event is refused (422/400/413, nothing stored) or
parked at once (PARKED, never retried, never PROCESSED) and writes nothing to any table but the inbox. The
outbound side: every client the service opens to another system has a timeout (checked on the source, so a new
client is covered), and the one response it consumes - the identity service's JWKS - is validated: a garbled key
set is a 401, never a 500."""
from __future__ import annotations

import ast
import asyncio
import json
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import jwt
import orjson
import pytest
from sqlalchemy import func, select, text

from sales.core.tables import inbox_events
from sales.events import registry
from sales.events.config import EventSettings
from sales.events.consumer import InboundConsumer
from sales.events.repository import envelope_of
from sales.models import metadata
from tests.events_schema import SCHEMAS

API = "/api/v1/sales"
SRC = Path(__file__).resolve().parents[3] / "src" / "sales"
TEXT_LIMIT = 10_000  # a string far longer than any column of the service (a body of them stays under 1 MiB)


def _consumed_types() -> list[str]:
    registry.load_handlers()
    return sorted(registry._HANDLERS)


def _schema_properties(type_: str) -> dict[str, Any]:
    document = json.loads((SCHEMAS / f"{type_}.schema.json").read_text())
    return document["properties"]["data"].get("properties", {})


def _types_of(schema: dict[str, Any]) -> list[str]:
    declared = schema.get("type", [])
    return [declared] if isinstance(declared, str) else list(declared)


def _wrong_typed(schema: dict[str, Any]) -> Any:
    """A value of another JSON type than the property's (numbers as numeric strings: never coerced)."""
    types = [t for t in _types_of(schema) if t != "null"]
    if "enum" in schema or "const" in schema:
        return "NOT_ONE_OF_THEM"
    if not types or types[0] == "string":
        return 12345
    return {"number": "1000", "integer": "7", "boolean": "true", "array": {"0": "x"}, "object": ["x"]}[types[0]]


def _hostile(schema: dict[str, Any]) -> Any:
    """Right JSON type, hostile value: NUL bytes and markup in oversized text, absurd numbers, huge arrays."""
    types = [t for t in _types_of(schema) if t != "null"] or ["string"]
    return {"string": "<script>x</script>\u0000" + "x" * TEXT_LIMIT, "number": 10 ** 40, "integer": -(10 ** 30),
            "boolean": "1", "array": ["x" * 100] * 500, "object": {"__proto__": {"admin": True}}}[types[0]]


def _plausible(schema: dict[str, Any]) -> Any:
    """A value a sender could well send: of the property's type and format."""
    types = [t for t in _types_of(schema) if t != "null"]
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    if schema.get("format") == "uuid":
        return str(uuid.uuid4())
    if schema.get("format") == "date-time":
        return "2026-01-10T10:00:00Z"
    if schema.get("format") == "date":
        return "2026-01-10"
    if schema.get("pattern") == "^[A-Z]{3}$":
        return "INR"
    kind = types[0] if types else "string"
    return {"string": "ok", "number": schema.get("minimum", 1), "integer": max(schema.get("minimum", 1), 1),
            "boolean": True, "array": [], "object": {}}[kind]


def _free_text(schema: dict[str, Any]) -> bool:
    return "string" in _types_of(schema) and not {"enum", "const", "format", "pattern"} & set(schema)


def _datas(type_: str) -> Iterator[tuple[str, Any]]:
    properties = _schema_properties(type_)
    yield "null", None
    yield "a string", "billing says hi"
    yield "an array", [{"id": str(uuid.uuid4())}]
    yield "a number", 42
    yield "an empty object", {}
    yield "every field wrong-typed", {name: _wrong_typed(schema) for name, schema in properties.items()}
    yield "every field hostile", {name: _hostile(schema) for name, schema in properties.items()}
    plausible = {name: _plausible(schema) for name, schema in properties.items()}
    for name, schema in properties.items():  # otherwise plausible, one text far longer than any column
        if _free_text(schema):
            yield f"{name} of {TEXT_LIMIT} characters", {**plausible, name: "<b>" + "x" * TEXT_LIMIT}
    for name, schema in properties.items():  # one field wrong, the others hostile-free but also unusable
        yield f"{name} wrong-typed", {n: (_wrong_typed(s) if n == name else _hostile(s))
                                      for n, s in properties.items()}


def _event(type_: str, data: Any, **attributes: Any) -> dict[str, Any]:
    return {"specversion": "1.0", "id": str(uuid.uuid4()), "source": "/mysqrft/partner", "type": type_,
            "time": "2026-01-10T10:00:00Z", "datacontenttype": "application/json", "data": data, **attributes}


async def _counts(engine) -> dict[str, int]:  # type: ignore[no-untyped-def]
    async with engine.connect() as conn:
        return {name: int((await conn.execute(select(func.count()).select_from(table))).scalar())
                for name, table in metadata.tables.items() if name != "clock_state"}


def _service(auth) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return auth.headers("SERVICE", sub=uuid.uuid4())


# --- consumed events over HTTP --------------------------------------------------------------------------------

@pytest.mark.parametrize("type_", _consumed_types())
async def test_bad_data_of_every_consumed_type_is_refused_or_parked_and_writes_nothing(client, auth, engine, type_):
    """Refused (422: e.g. NUL characters, which no column may hold) or parked at once; nothing else stored."""
    before = await _counts(engine)
    wrong, parked = [], 0
    for label, data in _datas(type_):  # one a request: together they are larger than a request may be
        body = json.dumps(_event(type_, data)).encode()  # the standard library writes numbers of any size
        response = await client.post(f"{API}/events", content=body, headers=_service(auth))
        if response.status_code == 422 and response.json()["code"] == "malformed_event":
            continue
        outcome = response.json()["items"][0] if response.status_code == 200 else {"status": response.status_code}
        if outcome["status"] != "PARKED" or not outcome.get("error"):
            wrong.append((label, outcome["status"]))
        parked += 1
    assert wrong == [], f"{type_}: neither refused nor parked at once"
    after = await _counts(engine)
    assert after.pop("inbox_events") == before.pop("inbox_events") + parked
    assert after == before, f"{type_}: bad data wrote rows"
    async with engine.connect() as conn:
        statuses = (await conn.execute(select(inbox_events.c.status).distinct())).scalars().all()
        stored = (await conn.execute(select(inbox_events).limit(3))).all()
    assert statuses == (["PARKED"] if parked else [])
    assert all(isinstance(envelope_of(row), dict) for row in stored)  # stored as received, sealed


@pytest.mark.parametrize(("label", "body", "status"), [
    ("not JSON", b"<xml>billing</xml>", 400),
    ("NaN is not JSON", b'{"specversion": "1.0", "id": "a", "data": NaN}', 400),
    ("JSON nested 5000 deep", b"[" * 5000 + b"]" * 5000, 400),
    ("an empty batch", b"[]", 422),
    ("not an event", b'"billing.payment.completed"', 422),
])
async def test_malformed_bodies_are_refused_and_store_nothing(client, auth, engine, label, body, status):
    before = await _counts(engine)
    response = await client.post(f"{API}/events", content=body, headers=_service(auth))
    assert response.status_code == status, (label, response.text)
    assert response.headers["content-type"].startswith("application/problem+json")
    assert await _counts(engine) == before


@pytest.mark.parametrize(("label", "attributes"), [
    ("an id of 10,000 characters", {"id": "x" * 10_000}),
    ("an id with a NUL byte", {"id": "evt\u00001"}),
    ("a numeric id", {"id": 12345}),
    ("another spec version", {"specversion": "0.3"}),
    ("a source that is an object", {"source": {"host": "evil"}}),
    ("a type that is a list", {"type": ["billing.payment.completed"]}),
    ("a time that is not a time", {"time": "yesterday"}),
])
async def test_hostile_envelopes_refuse_the_whole_batch(client, auth, engine, label, attributes):
    """A good event in the same batch is not stored either: the batch is refused as a whole (422)."""
    good = _event("leads.lead.created", {"lead_id": str(uuid.uuid4())})
    before = await _counts(engine)
    response = await client.post(f"{API}/events", content=orjson.dumps([good, _event("billing.payment.completed",
                                                                                     {}, **attributes)]),
                                 headers=_service(auth))
    assert response.status_code == 422, (label, response.text)
    assert response.json()["code"] == "malformed_event"
    assert await _counts(engine) == before


async def test_oversized_bodies_and_batches_are_refused(client, auth, engine, settings):
    before = await _counts(engine)
    huge = orjson.dumps([_event("leads.lead.created", {"note": "x" * settings.max_body_bytes})])
    response = await client.post(f"{API}/events", content=huge, headers=_service(auth))
    assert response.status_code == 413, response.text
    many = orjson.dumps([_event("leads.lead.created", {}) for _ in range(501)])
    response = await client.post(f"{API}/events", content=many, headers=_service(auth))
    assert response.status_code == 422 and "at most 500" in response.text
    assert await _counts(engine) == before


async def test_only_services_may_send_events(client, auth, engine):
    before = await _counts(engine)
    body = orjson.dumps(_event("billing.payment.completed", {}))
    assert (await client.post(f"{API}/events", content=body)).status_code == 401
    for role in ("RM", "SUPERVISOR", "SALES_ADMIN", "FINANCE"):
        response = await client.post(f"{API}/events", content=body, headers=auth.headers(role))
        assert response.status_code == 403, role
    assert await _counts(engine) == before


# --- consumed events over JetStream ---------------------------------------------------------------------------

class _Delivery:
    def __init__(self, data: bytes, seq: int) -> None:
        self.data, self.metadata = data, SimpleNamespace(sequence=SimpleNamespace(stream=seq))
        self.acked = self.naked = False

    async def ack(self) -> None:
        self.acked = True

    async def nak(self, delay: float | None = None) -> None:
        self.naked = True


@pytest.mark.parametrize(("label", "raw"), [
    ("not JSON", b"\xff\xfe\x00garbage"),
    ("JSON nested 5000 deep", b"[" * 5000 + b"]" * 5000),
    ("an envelope with a NUL in its id", orjson.dumps(_event("billing.payment.completed", {}, id="a\u0000b"))),
    ("a megabyte of text", orjson.dumps("x" * (1024 * 1024))),
    ("wrong-typed data", orjson.dumps(_event("billing.payment.completed", {"amount": "2999", "plan_id": 7}))),
    ("hostile data", orjson.dumps(_event("users.preferences.updated", {"user_id": "' OR 1=1 --",
                                                                        "language": "\u0000" * 10}))),
])
async def test_bad_deliveries_are_parked_acknowledged_and_write_nothing(engine, label, raw):
    before = await _counts(engine)
    consumer = InboundConsumer(engine, EventSettings(), asyncio.Event(), name="test", frozen_clock_allowed=True)
    delivery = _Delivery(raw, seq=7)
    await consumer._handle(SimpleNamespace(name="BILLING"), delivery)
    assert delivery.acked and not delivery.naked, label  # parked for a person, not redelivered forever
    after = await _counts(engine)
    assert after.pop("inbox_events") == before.pop("inbox_events") + 1
    assert after == before
    async with engine.connect() as conn:
        row = (await conn.execute(select(inbox_events))).one()
        if conn.dialect.name == "postgresql":  # PostgreSQL refuses NUL in text: none reached the row
            assert (await conn.execute(text("SELECT count(*) FROM inbox_events WHERE strpos(last_error, "
                                            "chr(1)) > 0"))).scalar() == 0
    assert row.status == "PARKED" and row.last_error and "\u0000" not in row.last_error + row.id


# --- outbound calls -------------------------------------------------------------------------------------------

_OUTBOUND = {  # callables that open a connection to another system, and the keyword that bounds the wait
    "PyJWKClient": ("timeout",),
    "from_url": ("socket_timeout", "socket_connect_timeout"),  # redis
    "connect": ("connect_timeout",),  # nats
    "urlopen": ("timeout",), "create_connection": ("timeout",),
    "Client": ("timeout",), "AsyncClient": ("timeout",), "ClientSession": ("timeout",),  # httpx / aiohttp
    "request": ("timeout",), "get": ("timeout",), "post": ("timeout",),  # requests.*, httpx.*
}
_CLIENT_MODULES = {"jwt", "redis", "nats", "urllib", "request", "socket", "httpx", "requests", "aiohttp"}
_IN_PROCESS = {  # clients that reach no other system, with the reason
    ("ops/drill.py", "AsyncClient"): "the restore drill drives our own app in process (httpx.ASGITransport)",
}


def _outbound_calls() -> Iterator[tuple[str, int, str, set[str]]]:
    for path in SRC.rglob("*.py"):
        if "bench" in path.parts:  # load generators talking to our own API on this machine
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                    isinstance(node.func.value, ast.Name | ast.Attribute):
                owner = node.func.value.id if isinstance(node.func.value, ast.Name) else node.func.value.attr
                if owner in _CLIENT_MODULES and node.func.attr in _OUTBOUND:
                    yield str(path.relative_to(SRC)), node.lineno, node.func.attr, {k.arg for k in node.keywords}


def test_every_outbound_client_has_a_timeout():
    found = list(_outbound_calls())
    assert {call for _, _, call, _ in found} >= {"PyJWKClient", "from_url", "connect"}  # JWKS, Redis, NATS
    missing = [(path, line, call) for path, line, call, keywords in found
               if not set(_OUTBOUND[call]) <= keywords and (path, call) not in _IN_PROCESS]
    assert missing == []


class _JWKS(BaseHTTPRequestHandler):
    """Serves what the path asks for: the identity service misbehaving."""
    BODIES = {"/html": (200, b"<html>maintenance</html>"), "/list": (200, b"[]"), "/null": (200, b"null"),
              "/keys-text": (200, b'{"keys": "none"}'), "/no-keys": (200, b'{"keys": []}'),
              "/bad-key": (200, b'{"keys": [{"kty": "RSA", "kid": "k1", "n": "!!", "e": "AQAB"}]}'),
              "/error": (500, b'{"error": "down"}'), "/redirect": (302, b"")}

    def do_GET(self) -> None:  # noqa: N802
        status, body = self.BODIES[self.path]
        self.send_response(status)
        if status == 302:
            self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def jwks_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _JWKS)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def rs256_token() -> str:
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = datetime.now(UTC)
    return jwt.encode({"sub": str(uuid.uuid4()), "roles": ["SALES_ADMIN"], "iat": now,
                       "exp": now + timedelta(minutes=5)}, key, algorithm="RS256", headers={"kid": "k1"})


@pytest.mark.parametrize("path", sorted(_JWKS.BODIES) + ["/closed-port"])
async def test_a_garbled_or_unreachable_key_set_is_401_not_500(settings, engine, jwks_server, rs256_token, path):
    from sales.app import create_app
    import httpx

    url = "http://127.0.0.1:9/jwks" if path == "/closed-port" else jwks_server + path
    app = create_app(settings.model_copy(update={"jwt_jwks_url": url}), engine=engine)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get(f"{API}/rms", headers={"Authorization": f"Bearer {rs256_token}"})
    assert response.status_code == 401, (path, response.text)
    assert response.json()["code"] == "not_authenticated"


# --- the travel-time provider's answers ------------------------------------------------------------------------

class _Provider:
    def __init__(self, answer: Any) -> None:
        self.answer = answer

    def minutes(self, points: Any) -> Any:
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer(len(points)) if callable(self.answer) else self.answer


@pytest.mark.parametrize(("label", "answer"), [
    ("a timeout", TimeoutError("maps service did not answer in 2 s")),
    ("a failure", ConnectionError("maps service refused")),
    ("not a matrix", {"rows": []}),
    ("too few rows", lambda n: [[0] * n]),
    ("a short row", lambda n: [[0] * n for _ in range(n - 1)] + [[0]]),
    ("negative minutes", lambda n: [[0 if i == j else -5 for j in range(n)] for i in range(n)]),
    ("fractional minutes", lambda n: [[0 if i == j else 4.5 for j in range(n)] for i in range(n)]),
    ("minutes as text", lambda n: [[0 if i == j else "4" for j in range(n)] for i in range(n)]),
    ("booleans", lambda n: [[0 if i == j else True for j in range(n)] for i in range(n)]),
    ("a week's drive", lambda n: [[0 if i == j else 7 * 24 * 60 for j in range(n)] for i in range(n)]),
    ("travel to itself", lambda n: [[3] * n for _ in range(n)]),
])
async def test_an_unusable_travel_time_answer_plans_nothing(client, auth, engine, monkeypatch, label, answer):
    """Issue 15's planner only takes a provider's matrix after checking it: 502 travel_times_unavailable, and no
    plan, stop, event or audit row is written."""
    from sales.visits import service as visits_service
    from tests.api.visits.helpers import create_plan, plan_body, setup

    s = await setup(client, auth, engine)
    before = await _counts(engine)
    monkeypatch.setattr(visits_service, "travel_times", lambda: _Provider(answer))
    response = await create_plan(client, s["rm_headers"], s["pipeline"]["id"],
                                 plan_body([x["id"] for x in s["listings"]]))
    assert response.status_code == 502, (label, response.text)
    assert response.json()["code"] == "travel_times_unavailable"
    assert await _counts(engine) == before
