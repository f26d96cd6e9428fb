"""`sales bench ingest`: ingest a mixed stream of context events through POST /api/v1/sales/events
(issue 10, "Done when": 100,000 mixed context events in batches, events/s and service CPU per event).

1. Generate a reproducible stream (`--seed`) of CloudEvents of the eight context types the read models
   consume, valid against docs/events/, in plausible proportions (MIX: property views and plan usage
   dominate), with ~2% re-deliveries of an earlier event (same id), and 3% of the usage, stats, preferences
   and listing events an older fact delivered after a newer one (accepted, but they must change nothing).
   An event that needs an earlier one (a refund, an expiry or usage of an order; stats of a listing) comes
   after it. Ids are fresh for each run (a run tag), so runs repeat on the same database; the mix does not
   change.
   Dispatch `keyed` (default): client i posts the events of the users and listings that hash to i, in
   order, as a bus partitioned by key delivers them; concurrent batches then never touch the same rows.
   Dispatch `shared`: any client posts the next batch of the stream, so concurrent batches update the same
   users' and listings' rows (a dependent event comes >= `lag` events after its prerequisite).
2. Start the service as in production (sales.bench.server.running_service: `sales serve --workers N` and
   `sales worker`), create the demo plans through POST /plans (orders and usage need them).
3. Post the batches (`--batch-size`, default 500 = the endpoint's maximum) from `--clients` concurrent
   clients as SERVICE with the load generator process (sales.bench.load, mode "batches"; a batch answered
   with an error is sent again, and counted); the harness measures the service processes' CPU time
   (sales.bench.harness.load_run).
4. Check the inbox (every event of the run PROCESSED or DUPLICATE, nothing FAILED/PARKED except the
   deliberately bad ones of `--bad-share`) and that the read models hold exactly what the stream says.
5. Print events/s, batches/s, batch latency, service CPU per event, outcomes, the load average; write
   `<results-dir>/ingest_events.json` (and the full detail under `<results-dir>/tmp/`).

`--mix triggers` (issue 11, "Done when": trigger evaluation over 100,000 usage and view events): the same run
with a stream of `entitlements.usage.updated` and `engagement.property.viewed` only (TRIGGER_MIX), after a
prefix of payments (TRIGGER_PAYERS of the users buy a paid plan first; the prefix comes on top of `--events`),
over the last TRIGGER_SPAN so those plans are live, with fewer users (about 50 events each): usage climbs
faster for a share of heavy users (TRIGGER_HEAVY) so they cross the 80% quota threshold (QUOTA_THRESHOLD,
UPR-002), and views rarely come with a contact so runs of 5 views fire VIEWS_WITHOUT_CONTACT (UPR-003) until
the frequency cap (UPR-005) suppresses them. The summary adds the upsells created and the decisions
(CREATED / SUPPRESSED) of the run's users, read from the upsells and upsell_decisions tables at the end.
"""
from __future__ import annotations

import asyncio
import json
import os
import random
import shutil
import tempfile
import time
import uuid
from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable

import httpx
from sqlalchemy import case, func, select

from sales.bench.harness import git_commit, load_run
from sales.bench.server import bench_token, running_service
from sales.catalog.demo import DEMO_PLANS
from sales.core.clock import wall_now
from sales.core.http import dumps
from sales.inventory.demo import LOCALITY_CENTRES, _listing
from sales.inventory.enums import DealType, ListingStatus
from sales.notifications.enums import Channel
from sales.settings import Settings

API = "/api/v1/sales"
# Share of each type in the stream (per cent of new events, before re-deliveries).
MIX: dict[str, int] = {
    "engagement.property.viewed": 45,
    "entitlements.usage.updated": 25,
    "inventory.listing.stats": 10,
    "billing.payment.completed": 6,
    "inventory.listing.upserted": 6,
    "users.preferences.updated": 5,
    "entitlements.plan.expired": 2,
    "billing.refund.completed": 1,
}
# `--mix triggers`: usage and views only (after a prefix of payments); see the module docstring.
TRIGGER_MIX: dict[str, int] = {"engagement.property.viewed": 55, "entitlements.usage.updated": 45}
MIXES = {"context": MIX, "triggers": TRIGGER_MIX}
TRIGGER_SPAN = timedelta(days=1)
TRIGGER_PAYERS = 0.35  # share of users who buy a paid plan in the prefix
TRIGGER_HEAVY = 0.3  # share of users whose usage climbs fast (crosses 80% of the larger quotas)
TRIGGER_CONTACT = 0.04  # chance a view comes with a contact (else runs of views without contact)
SOURCES = {"billing": "/mysqrft/billing", "entitlements": "/mysqrft/entitlements", "users": "/mysqrft/users",
           "engagement": "/mysqrft/engagement", "inventory": "/mysqrft/inventory"}
USER_TYPES = [("TENANT", 60), ("OWNER", 25), ("BUYER", 15)]
# Paid plans bought per user type (codes of catalog.demo.DEMO_PLANS) and how often.
PAID = {"TENANT": [("TENANT_PREMIUM", 70), ("TENANT_PRIME", 30)],
        "OWNER": [("OWNER_LISTING_BOOST", 65), ("OWNER_PREMIUM_VISIBILITY", 35)],
        "BUYER": [("BUYER_ASSIST", 100)]}
FREE = {"TENANT": "TENANT_BASIC", "OWNER": "OWNER_BASIC", "BUYER": "BUYER_BASIC"}
LANGUAGES = ["en", "en", "en", "hi-IN", "kn", "mr", "ta", "te"]
SPAN = timedelta(days=90)  # the stream's facts happen over the 90 days before the run
LAG_BATCHES_PER_CLIENT = 4
OUTCOMES = ("PROCESSED", "DUPLICATE", "IGNORED", "FAILED", "PARKED")


@dataclass
class Options:
    events: int = 100_000
    batch_size: int = 500
    clients: int = 4
    seed: int = 10
    workers: int = 2
    dispatch: str = "keyed"  # or "shared": any client posts the next batch of the stream
    mix: str = "context"  # or "triggers" (issue 11): usage and views after a prefix of payments
    dup_share: float = 0.02
    stale_share: float = 0.03
    bad_share: float = 0.0
    settle_seconds: float = 60.0
    results_dir: Path = Path("bench/results")


# --- the stream ---------------------------------------------------------------------------------------

@dataclass
class _Order:
    order_id: str
    user_id: str
    user_type: str
    plan: dict[str, Any]
    amount: Decimal
    paid_at: datetime
    pos: int
    refunded: Decimal = Decimal("0.00")
    refunds: int = 0
    expired: bool = False


@dataclass
class Stream:
    """The generated events in delivery order and what the service must end up with."""

    events: list[dict[str, Any]]
    keys: list[str]  # per event: the entity it is about (the user, or the listing), for keyed dispatch
    tag: str
    lag: int
    duplicates: int = 0
    stale: int = 0
    bad: int = 0
    expected: dict[str, Any] = field(default_factory=dict)

    def batches(self, size: int) -> list[list[dict[str, Any]]]:
        """Shared dispatch: consecutive batches of the stream; any client posts the next one."""
        return [self.events[i:i + size] for i in range(0, len(self.events), size)]

    def lanes(self, clients: int, size: int) -> list[list[list[dict[str, Any]]]]:
        """Keyed dispatch: client i gets the events whose entity hashes to i, in stream order, in batches,
        as an event bus partitioned by key delivers them (the events of one user or listing in order)."""
        picked: list[list[dict[str, Any]]] = [[] for _ in range(clients)]
        for event, key in zip(self.events, self.keys):
            picked[uuid.UUID(key).int % clients].append(event)
        return [[lane[i:i + size] for i in range(0, len(lane), size)] for lane in picked]

    def by_type(self) -> dict[str, int]:
        return dict(sorted(Counter(e["type"] for e in self.events).items()))


def _z(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _pick(rng: random.Random, weighted: list[tuple[Any, int]]) -> Any:
    return rng.choices([v for v, _ in weighted], weights=[w for _, w in weighted])[0]


class _Generator:
    """Builds the stream. `rng` draws every choice (the same for a seed), `ids` every id (fresh per run)."""

    def __init__(self, *, events: int, seed: int, tag: str, lag: int, now: datetime, dup_share: float,
                 stale_share: float, bad_share: float, mix: str = "context") -> None:
        self.n, self.tag, self.lag, self.mix = events, tag, lag, mix
        triggers = mix == "triggers"
        self.rng = random.Random(seed)
        self.ids = random.Random(f"{seed}:{tag}")
        self.dup_share, self.stale_share, self.bad_share = dup_share, stale_share, bad_share
        self.span = TRIGGER_SPAN if triggers else SPAN
        self.start = (now - self.span).replace(microsecond=0)
        self.plans = {p["code"]: p for p in DEMO_PLANS}
        self.events: list[dict[str, Any]] = []
        self.originals: list[int] = []  # positions of first deliveries of valid events (re-delivery candidates)
        n_users = max(8, events // 50) if triggers else max(40, events // 5)
        self.users = [(self._uuid(), _pick(self.rng, USER_TYPES)) for _ in range(n_users)]
        self.heavy = {u for u, _ in self.users if self.rng.random() < TRIGGER_HEAVY} if triggers else set()
        self.held: dict[str, _Order] = {}  # triggers mix: the plan each payer bought in the prefix
        self.owners = [u for u, t in self.users if t == "OWNER"] or [self.users[0][0]]
        self.pool = self._listing_pool(max(12, events * 3 // 100))
        self.unlisted = list(range(len(self.pool)))  # pool indexes not upserted yet
        self.listed: list[int] = []  # pool indexes in the order of their first upsert
        self.listed_pos: list[int] = []  # positions of those first upserts (ascending)
        self.listing_state: dict[int, dict[str, Any]] = {}  # pool index -> {"version", "stats_at", ...}
        self.orders: list[_Order] = []  # in stream order
        self.order_pos: list[int] = []  # their positions (ascending), for bisect
        self.order_user: dict[str, str] = {}
        self.usage: dict[tuple[str, str, str], tuple[datetime, int]] = {}
        self.prefs: dict[str, datetime] = {}
        self.views = 0
        self.refund_total = Decimal("0.00")
        self.stale = self.bad = self.duplicates = 0

    # ids and time

    def _uuid(self) -> str:
        return str(uuid.UUID(int=self.ids.getrandbits(128), version=4))

    def _at(self, pos: int) -> datetime:
        """When the fact of the event at `pos` happened: the stream walks through SPAN, a few minutes of jitter."""
        return self.start + self.span * (pos / self.n) + timedelta(seconds=self.rng.randrange(0, 600))

    def _listing_pool(self, size: int) -> list[dict[str, Any]]:
        places = [(city, loc, centre) for city, locs in LOCALITY_CENTRES.items() for loc, centre in locs.items()]
        pool = []
        for i in range(size):
            city, locality, centre = places[i % len(places)]
            listing = _listing(self.rng, city, locality, centre, self.start)
            listing["id"], listing["owner_id"] = self._uuid(), self.rng.choice(self.owners)
            pool.append(listing)
        return pool

    def _envelope(self, type_: str, data: dict[str, Any], at: datetime) -> dict[str, Any]:
        return {"specversion": "1.0", "id": f"ingest-{self.tag}-{len(self.events):07d}",
                "source": SOURCES[type_.split(".", 1)[0]], "type": type_, "time": _z(at),
                "datacontenttype": "application/json", "data": data}

    # the stream

    def build(self) -> Stream:
        types = list(MIXES[self.mix].items())
        if self.mix == "triggers":
            self._payment_prefix()
        while len(self.events) < self.n:
            pos = len(self.events)
            if self.originals and self.rng.random() < self.dup_share:
                # A re-delivery: usually soon after the first one (same or a concurrent batch), sometimes later.
                window = self.originals[-2000:]
                self.events.append(self.events[self.rng.choice(window)])
                self.duplicates += 1
                continue
            at = self._at(pos)
            if self.bad_share and self.rng.random() < self.bad_share:
                self.events.append(self._bad(at))
                self.bad += 1
                continue
            type_ = _pick(self.rng, types)
            envelope = self._make(type_, pos, at)
            self.events.append(envelope)
            self.originals.append(pos)
        return Stream(events=self.events, keys=[self._key(e) for e in self.events], tag=self.tag, lag=self.lag,
                      duplicates=self.duplicates, stale=self.stale, bad=self.bad, expected=self._expected())

    def _payment_prefix(self) -> None:
        """Triggers mix: TRIGGER_PAYERS of the users buy a paid plan first (on top of the `n` usage and views)."""
        payers = [(u, t) for u, t in self.users if self.rng.random() < TRIGGER_PAYERS]
        self.n += len(payers)
        for user_id, user_type in payers:
            pos = len(self.events)
            plan = self.plans[_pick(self.rng, PAID[user_type])]
            order = _Order(order_id=self._uuid(), user_id=user_id, user_type=user_type, plan=plan,
                           amount=plan["price"], paid_at=self.start, pos=pos)
            self.orders.append(order)
            self.order_pos.append(pos)
            self.order_user[order.order_id] = user_id
            self.held[user_id] = order
            self.events.append(self._envelope("billing.payment.completed", {
                "payment_id": self._uuid(), "order_id": order.order_id, "user_id": user_id, "user_type": user_type,
                "plan_id": str(plan["id"]), "amount": order.amount, "currency": "INR", "paid_at": _z(self.start)},
                self.start))
            self.originals.append(pos)

    def _key(self, event: dict[str, Any]) -> str:
        data = event["data"]
        if event["type"].startswith("inventory."):
            return data.get("listing_id") or data["id"]
        if event["type"] == "billing.refund.completed":
            return self.order_user[data["order_id"]]
        return data["user_id"]

    def _make(self, type_: str, pos: int, at: datetime) -> dict[str, Any]:
        """The event of `type_`; when its prerequisites are not far enough back yet, another type's."""
        maker = {"billing.payment.completed": self._payment, "billing.refund.completed": self._refund,
                 "entitlements.plan.expired": self._expiry, "entitlements.usage.updated": self._usage,
                 "users.preferences.updated": self._preferences, "engagement.property.viewed": self._view,
                 "inventory.listing.upserted": self._upsert, "inventory.listing.stats": self._stats}[type_]
        made = maker(pos, at)
        if made is None:  # no candidate yet: a refund -> a payment, an expiry -> usage, stats -> a listing
            fallback = {"billing.refund.completed": self._payment, "entitlements.plan.expired": self._usage,
                        "inventory.listing.stats": self._upsert}[type_]
            made = fallback(pos, at)
        return made

    def _ready(self, pos: int) -> int:
        """How many orders (the first ones) have their payment at least `lag` events back."""
        return bisect_right(self.order_pos, pos - self.lag)

    def _payment(self, pos: int, at: datetime) -> dict[str, Any]:
        ready = self._ready(pos)
        if ready and self.rng.random() < 0.15:  # a renewal or an upgrade of a recent buyer
            prior = self.orders[self.rng.randrange(max(0, ready - 500), ready)]
            user_id, user_type = prior.user_id, prior.user_type
        else:
            user_id, user_type = self.rng.choice(self.users)
        plan = self.plans[_pick(self.rng, PAID[user_type])]
        order = _Order(order_id=self._uuid(), user_id=user_id, user_type=user_type, plan=plan, amount=plan["price"],
                       paid_at=at, pos=pos)
        self.orders.append(order)
        self.order_pos.append(pos)
        self.order_user[order.order_id] = user_id
        return self._envelope("billing.payment.completed", {
            "payment_id": self._uuid(), "order_id": order.order_id, "user_id": user_id, "user_type": user_type,
            "plan_id": str(plan["id"]), "amount": order.amount, "currency": "INR", "paid_at": _z(at)}, at)

    def _candidate(self, pos: int, ok: Callable[[_Order], bool]) -> _Order | None:
        ready = self._ready(pos)
        for _ in range(12 if ready else 0):
            order = self.orders[self.rng.randrange(ready)]
            if ok(order):
                return order
        return None

    def _refund(self, pos: int, at: datetime) -> dict[str, Any] | None:
        order = self._candidate(pos, lambda o: o.refunds < 2 and o.refunded < o.amount and not o.expired)
        if order is None:
            return None
        left = order.amount - order.refunded
        amount = left if self.rng.random() < 0.5 else max(
            Decimal("1.00"), (left * Decimal(self.rng.randrange(10, 50)) / 100).quantize(Decimal("0.01")))
        order.refunded += amount
        order.refunds += 1
        self.refund_total += amount
        completed = max(at, order.paid_at + timedelta(hours=1))
        return self._envelope("billing.refund.completed", {
            "refund_id": self._uuid(), "order_id": order.order_id, "amount": amount, "completed_at": _z(completed)},
            completed)

    def _expiry(self, pos: int, at: datetime) -> dict[str, Any] | None:
        """Entitlements expires plans whose period is over (paid_at + the plan's days <= now of the stream)."""
        order = self._candidate(pos, lambda o: not o.expired and o.refunded < o.amount
                                and o.paid_at + timedelta(days=o.plan["duration_days"]) <= at)
        if order is None:
            return None
        order.expired = True
        expired_at = order.paid_at + timedelta(days=order.plan["duration_days"])
        return self._envelope("entitlements.plan.expired", {
            "user_id": order.user_id, "plan_id": str(order.plan["id"]), "order_id": order.order_id,
            "expired_at": _z(expired_at)}, at)

    def _usage(self, pos: int, at: datetime) -> dict[str, Any]:
        if self.mix == "triggers":  # the usage of a user's current plan: the one bought in the prefix, else free
            user_id, user_type = self.rng.choice(self.users)
            order = self.held.get(user_id)
            if order is not None and order.pos > pos - self.lag:
                order = None
        else:
            order = self._candidate(pos, lambda o: not o.expired and o.refunded < o.amount) \
                if self.rng.random() < 0.7 else None
            if order is None:
                user_id, user_type = self.rng.choice(self.users)
        if order is not None:
            user_id, plan, order_id = order.user_id, order.plan, order.order_id
        else:
            plan, order_id = self.plans[FREE[user_type]], None
        quotas = sorted((k, v) for k, v in plan["features"].items() if isinstance(v, int) and not isinstance(v, bool))
        name, quota = self.rng.choice(quotas)
        key = (user_id, str(plan["id"]), name)
        last = self.usage.get(key)
        if last is not None and self.rng.random() < self.stale_share:
            # An older counter delivered late: stored nothing, changes nothing.
            measured, used = last[0] - timedelta(minutes=self.rng.randrange(1, 4000)), max(0, last[1] - 1)
            self.stale += 1
        else:
            measured = max(at, last[0] + timedelta(seconds=1)) if last else at
            step = max(4, quota // 6) if user_id in self.heavy else 4
            used = min(quota, (last[1] if last else 0) + self.rng.randrange(0, step))
            self.usage[key] = (measured, used)
        data = {"user_id": user_id, "plan_id": str(plan["id"]), "quota_name": name, "quota": quota, "used": used,
                "at": _z(measured)}
        if order_id:
            data["order_id"] = order_id
        return self._envelope("entitlements.usage.updated", data, measured)

    def _preferences(self, pos: int, at: datetime) -> dict[str, Any]:
        user_id = self.rng.choice(self.users)[0]
        last = self.prefs.get(user_id)
        if last is not None and self.rng.random() < self.stale_share:
            set_at = last - timedelta(minutes=self.rng.randrange(1, 4000))
            self.stale += 1
        else:
            set_at = max(at, last + timedelta(seconds=1)) if last else at
            self.prefs[user_id] = set_at
        channels = list(Channel)
        opted_out = sorted(self.rng.sample(channels, self.rng.choice([0, 0, 0, 1, 2])), key=channels.index)
        preferred = self.rng.choice([c for c in channels if c not in opted_out] + [None])
        return self._envelope("users.preferences.updated", {
            "user_id": user_id, "marketing_opt_out": self.rng.random() < 0.15,
            "channels_opted_out": [c.value for c in opted_out],
            "preferred_channel": preferred.value if preferred else None,
            "language": self.rng.choice(LANGUAGES), "updated_at": _z(set_at)}, set_at)

    def _view(self, pos: int, at: datetime) -> dict[str, Any]:
        user_id = self.rng.choice(self.users)[0]
        self.views += 1
        contact = TRIGGER_CONTACT if self.mix == "triggers" else 0.08
        return self._envelope("engagement.property.viewed", {
            "user_id": user_id, "property_id": self.rng.choice(self.pool)["id"], "viewed_at": _z(at),
            "contacted": self.rng.random() < contact}, at)

    def _upsert(self, pos: int, at: datetime) -> dict[str, Any]:
        if self.unlisted and (not self.listed or self.rng.random() < 0.6):
            index = self.unlisted.pop(self.rng.randrange(len(self.unlisted)))
            self.listed.append(index)
            self.listed_pos.append(pos)
            self.listing_state[index] = {"version": at, "stats_at": None}
            version = at
        else:
            index = self.rng.choice(self.listed)
            listing, state = self.pool[index], self.listing_state[index]
            if self.rng.random() < self.stale_share:
                version = state["version"] - timedelta(minutes=self.rng.randrange(1, 4000))
                self.stale += 1
            else:  # a change in Inventory: the price moves, or the property is let out / sold / back
                version = max(at, state["version"] + timedelta(seconds=1))
                state["version"] = version
                listing["price"] = (listing["price"] * Decimal(self.rng.randrange(95, 106)) / 100).quantize(
                    Decimal("1"))
                taken = ListingStatus.LET_OUT if listing["deal_type"] == DealType.RENT.value else ListingStatus.SOLD
                listing["status"] = self.rng.choice([ListingStatus.AVAILABLE, ListingStatus.AVAILABLE, taken]).value
        listing = self.pool[index]
        data = {k: v for k, v in listing.items() if k not in ("created_at", "updated_at")}
        data.update(listed_at=_z(listing["listed_at"]), updated_at=_z(version),
                    available_from=listing["available_from"].isoformat() if listing["available_from"] else None)
        return self._envelope("inventory.listing.upserted", data, version)

    def _stats(self, pos: int, at: datetime) -> dict[str, Any] | None:
        k = bisect_right(self.listed_pos, pos - self.lag)
        if not k:
            return None
        index = self.listed[self.rng.randrange(k)]
        state = self.listing_state[index]
        if state["stats_at"] is not None and self.rng.random() < self.stale_share:
            measured = state["stats_at"] - timedelta(minutes=self.rng.randrange(1, 4000))
            self.stale += 1
        else:
            measured = max(at, state["stats_at"] + timedelta(seconds=1)) if state["stats_at"] else at
            state["stats_at"] = measured
        return self._envelope("inventory.listing.stats", {
            "listing_id": self.pool[index]["id"], "views_7d": int(self.rng.expovariate(1 / 25)), "at": _z(measured)},
            measured)

    def _bad(self, at: datetime) -> dict[str, Any]:
        """Deliberately bad data (`--bad-share`): parked at once, never applied."""
        user_id = self.rng.choice(self.users)[0]
        if self.rng.random() < 0.5:
            return self._envelope("entitlements.usage.updated", {
                "user_id": user_id, "plan_id": str(self.plans["TENANT_BASIC"]["id"]), "quota_name": "owner_contacts",
                "quota": 5, "used": -1, "at": _z(at)}, at)
        return self._envelope("users.preferences.updated", {"user_id": user_id, "marketing_opt_out": "sometimes"}, at)

    def _expected(self) -> dict[str, Any]:
        return {
            "orders": len(self.orders), "refunded_total": self.refund_total,
            "expired_orders": sum(o.expired for o in self.orders),
            "listings": len(self.listed), "listings_with_stats": sum(
                1 for s in self.listing_state.values() if s["stats_at"] is not None),
            "views": self.views, "usage_rows": len(self.usage), "preferences": len(self.prefs),
            "order_ids": [o.order_id for o in self.orders], "listing_ids": [self.pool[i]["id"] for i in self.listed],
            "user_ids": [u for u, _ in self.users],
        }


def generate(events: int, *, seed: int, tag: str, lag: int, now: datetime, dup_share: float = 0.02,
             stale_share: float = 0.03, bad_share: float = 0.0, mix: str = "context") -> Stream:
    """The stream of `events` CloudEvents (re-deliveries included; with `mix="triggers"` plus the prefix of
    payments)."""
    return _Generator(events=events, seed=seed, tag=tag, lag=lag, now=now, dup_share=dup_share,
                      stale_share=stale_share, bad_share=bad_share, mix=mix).build()


def lag_for(batch_size: int, clients: int, dispatch: str = "keyed") -> int:
    """How far back a prerequisite must be. None with keyed dispatch (a prerequisite is about the same user
    or listing, so the same client posted it in an earlier batch or earlier in the same one) or one client;
    with shared dispatch several rounds of every client's batch, so its batch has committed."""
    return 0 if clients <= 1 or dispatch == "keyed" else batch_size * clients * LAG_BATCHES_PER_CLIENT


# --- the run --------------------------------------------------------------------------------------------

def seed_plans(base_url: str) -> int:
    """The demo plans through POST /plans (409 when they exist already: then they must be the same plan)."""
    headers = {"Authorization": f"Bearer {bench_token(uuid.uuid4(), ['SALES_ADMIN'])}",
               "Content-Type": "application/json"}
    created = 0
    with httpx.Client(base_url=f"{base_url}{API}", headers=headers, timeout=30) as client:
        for plan in DEMO_PLANS:
            response = client.post("/plans", content=dumps(plan))
            if response.status_code == 201:
                created += 1
                continue
            existing = client.get(f"/plans/{plan['id']}")
            if existing.status_code != 200 or existing.json()["code"] != plan["code"]:
                raise RuntimeError(f"cannot create plan {plan['code']}: {response.status_code} {response.text[:300]}")
    return created


async def _inbox_and_read_models(settings: Settings, stream: Stream) -> dict[str, Any]:
    """Inbox statuses of this run's events and what the read models hold of them."""
    from sales.core.db import create_engine
    from sales.core.tables import inbox_events as i
    from sales.customers.models import customer_preferences, customer_property_views
    from sales.inventory.models import listings
    from sales.orders.models import orders
    from sales.usage.models import plan_usage

    expected = stream.expected
    engine = create_engine(settings)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(select(i.c.status, func.count()).where(i.c.id.like(f"ingest-{stream.tag}-%"))
                                      .group_by(i.c.status))
            inbox = {status: n for status, n in rows.all()}

            async def count(column: Any, ids: list[str], *aggregates: Any) -> list[Any]:
                totals: list[Any] = [0] * (1 + len(aggregates))
                for start in range(0, len(ids), 500):
                    chunk = [uuid.UUID(x) for x in ids[start:start + 500]]
                    row = (await conn.execute(select(func.count(), *aggregates).where(column.in_(chunk)))).one()
                    totals = [a + (b or 0) for a, b in zip(totals, row)]
                return totals

            n_orders, refunded, expired = await count(orders.c.order_id, expected["order_ids"],
                                                      func.sum(orders.c.refunded_amount),
                                                      func.sum(case((orders.c.status == "EXPIRED", 1), else_=0)))
            n_listings, with_stats = await count(listings.c.id, expected["listing_ids"],
                                                 func.count(listings.c.views_7d))
            (n_usage,) = await count(plan_usage.c.user_id, expected["user_ids"])
            (n_prefs,) = await count(customer_preferences.c.user_id, expected["user_ids"])
            views = (await conn.execute(select(func.count()).where(
                customer_property_views.c.id.like(f"event:ingest-{stream.tag}-%")))).scalar()
    finally:
        await engine.dispose()
    found = {"orders": n_orders, "refunded_total": Decimal(refunded).quantize(Decimal("0.01")),
             "expired_orders": expired, "listings": n_listings, "listings_with_stats": with_stats, "views": views,
             "usage_rows": n_usage, "preferences": n_prefs}
    want = {k: v for k, v in expected.items() if k in found}
    return {"inbox": inbox, "read_models": found, "read_models_expected": want,
            "read_models_match": found == want}


async def _upsells(settings: Settings, stream: Stream) -> dict[str, Any]:
    """Issue 11: what the triggers made of the run's users: upsells created (by trigger) and the gating
    decisions (by outcome, and the suppressed ones by blocking rule), from the upsells and upsell_decisions
    tables."""
    from sales.core.db import create_engine
    from sales.upsell.models import upsell_decisions as d
    from sales.upsell.models import upsells as u

    created: Counter[str] = Counter()
    outcomes: Counter[str] = Counter()
    blocked: Counter[str] = Counter()
    engine = create_engine(settings)
    try:
        async with engine.connect() as conn:
            ids = stream.expected["user_ids"]
            for start in range(0, len(ids), 500):
                chunk = [uuid.UUID(x) for x in ids[start:start + 500]]
                rows = await conn.execute(select(u.c.trigger_event, func.count()).where(u.c.user_id.in_(chunk))
                                          .group_by(u.c.trigger_event))
                created.update(dict(rows.all()))
                rows = await conn.execute(select(d.c.outcome, func.count()).where(d.c.user_id.in_(chunk))
                                          .group_by(d.c.outcome))
                outcomes.update(dict(rows.all()))
                rows = await conn.execute(select(d.c.rules).where(d.c.user_id.in_(chunk),
                                                                  d.c.outcome == "SUPPRESSED"))
                for (rules,) in rows.all():
                    blocked.update(r["rule"] for r in rules if not r.get("passed"))
    finally:
        await engine.dispose()
    return {"upsells_created": sum(created.values()), "upsells_by_trigger": dict(sorted(created.items())),
            "decisions": {o: outcomes.get(o, 0) for o in ("CREATED", "SUPPRESSED")},
            "suppressed_by_rule": dict(sorted(blocked.items()))}


def _expected_outcomes(stream: Stream) -> dict[str, int]:
    return {"PROCESSED": len(stream.events) - stream.duplicates - stream.bad, "DUPLICATE": stream.duplicates,
            "PARKED": stream.bad}


def run(settings: Settings, options: Options, *, echo: Callable[[str], None] = print) -> dict[str, Any]:
    from sales import migrate

    t0 = time.perf_counter()
    say = echo

    def echo(line: str) -> None:  # noqa: F811 - every line carries the seconds since the start
        say(f"[{time.perf_counter() - t0:6.1f}s] {line}")

    started = wall_now()
    tag = uuid.uuid4().hex[:10]
    lag = lag_for(options.batch_size, options.clients, options.dispatch)
    migrate.upgrade(settings.database_url)
    stream = generate(options.events, seed=options.seed, tag=tag, lag=lag, now=started, dup_share=options.dup_share,
                      stale_share=options.stale_share, bad_share=options.bad_share, mix=options.mix)
    if options.dispatch == "keyed":
        lanes = stream.lanes(options.clients, options.batch_size)
        batches = [batch for lane in lanes for batch in lane]
        starts = [sum(len(lane) for lane in lanes[:i]) for i in range(len(lanes))]
        lane_indexes: list[list[int]] | None = [list(range(start, start + len(lane)))
                                                for start, lane in zip(starts, lanes)]
    else:
        batches, lane_indexes = stream.batches(options.batch_size), None
    workdir = Path(tempfile.mkdtemp(prefix="sales-ingest-"))
    try:
        batches_file = workdir / "batches.jsonl"
        with open(batches_file, "wb") as f:
            for batch in batches:
                f.write(dumps(batch) + b"\n")
        echo(f"generated {len(stream.events)} events in {len(batches)} batches of <= {options.batch_size} (seed "
             f"{options.seed}, run {tag}, {batches_file.stat().st_size / 1e6:.1f} MB): {stream.by_type()}; "
             f"{stream.duplicates} re-deliveries, {stream.stale} late older facts, {stream.bad} bad; "
             f"dispatch {options.dispatch}" + (f" (events per client {[sum(len(b) for b in lane) for lane in lanes]})"
                                               if lane_indexes else f", prerequisites >= {lag} events earlier"))
        options.results_dir.mkdir(parents=True, exist_ok=True)
        (options.results_dir / "tmp").mkdir(exist_ok=True)
        detail: dict[str, Any] = {
            "commit": git_commit(), "started_at": started.isoformat(),
            "database": settings.database_url.split("://")[0],
            "options": {k: str(v) if isinstance(v, Path) else v for k, v in options.__dict__.items()},
            "run_tag": tag, "lag_events": lag,
            "stream": {"events": len(stream.events), "by_type": stream.by_type(), "duplicates": stream.duplicates,
                       "late_older_facts": stream.stale, "bad": stream.bad}}
        with running_service(settings, settings.database_url, workers=options.workers,
                             log_path=options.results_dir / "tmp" / "ingest-service.log") as service:
            detail["plans_created"] = seed_plans(service["url"])
            echo(f"service up at {service['url']} (workers {options.workers}, worker: {service['worker']}); "
                 f"plans created: {detail['plans_created']}; posting with {options.clients} clients ...")
            load_before = os.getloadavg()
            plan = {"name": "ingest", "mode": "batches", "base_url": service["url"], "concurrency": options.clients,
                    "token": bench_token(uuid.uuid4(), ["SERVICE"]), "batches_file": str(batches_file), "timeout": 300,
                    **({"lanes": lane_indexes} if lane_indexes else {})}
            result = load_run(plan, service_pids=service["pids"], workdir=workdir)
            load_after = os.getloadavg()
            ingest = result["ingest"]
            settle_until = time.monotonic() + options.settle_seconds
            check = asyncio.run(_inbox_and_read_models(settings, stream))
            while check["inbox"].get("FAILED") and time.monotonic() < settle_until:  # the worker retries them
                time.sleep(2)
                check = asyncio.run(_inbox_and_read_models(settings, stream))
            upsells = asyncio.run(_upsells(settings, stream))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    outcomes = Counter[str]()
    for per_status in ingest["outcomes"].values():
        outcomes.update(per_status)
    posted = sum(outcomes.values())
    op = result["operations"].get("ingest_batch", {})
    wall = ingest["posting_wall_s"]
    summary = {
        "events": len(stream.events), "batches": ingest["batches"], "batch_size": options.batch_size,
        "clients": options.clients, "dispatch": options.dispatch, "mix": options.mix,
        "service_workers": options.workers, "seed": options.seed, "commit": detail["commit"],
        "database": detail["database"],
        "events_per_s": round(posted / wall, 1),
        "batches_per_s": round((ingest["batches"] - len(ingest["rejected_batches"])) / wall, 2),
        "batch_latency_ms": {"p50": op.get("p50_ms"), "p95": op.get("p95_ms"), "p99": op.get("p99_ms")},
        "service_cpu_ms_per_event": round(1000 * result["service_cpu_s"] / max(1, posted), 3),
        "service_cpu_pct_of_one_core": result["service_cpu_pct_of_one_core"],
        "generator_cpu_pct_of_one_core": result["generator_cpu_pct_of_one_core"],
        "outcomes": {s: outcomes.get(s, 0) for s in OUTCOMES},
        "expected_outcomes": _expected_outcomes(stream),
        "rejected_batches": len(ingest["rejected_batches"]), "retried_batches": len(ingest["retried_batches"]),
        "http_status": op.get("status"),
        "inbox_after": check["inbox"], "read_models_match": check["read_models_match"],
        "upsells_created": upsells["upsells_created"], "upsells_by_trigger": upsells["upsells_by_trigger"],
        "decisions": upsells["decisions"], "suppressed_by_rule": upsells["suppressed_by_rule"],
        "load_average": {"before": [round(x, 2) for x in load_before], "after": [round(x, 2) for x in load_after]},
        "machine_cpu_busy_pct": result["machine_cpu_busy_pct"], "posting_wall_s": wall,
        "started_at": started.isoformat(),
    }
    detail.update(summary=summary, by_type=ingest["outcomes"], problems=ingest["problems"],
                  http_errors=op.get("errors"), read_models=check["read_models"],
                  read_models_expected=check["read_models_expected"])
    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    (options.results_dir / "tmp" / f"ingest-{stamp}.json").write_text(json.dumps(detail, indent=1, default=str))
    (options.results_dir / "ingest_events.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    for line in report_lines(summary, detail):
        echo(line)
    return detail


def report_lines(summary: dict[str, Any], detail: dict[str, Any]) -> list[str]:
    lat = summary["batch_latency_ms"]
    lines = [
        f"ingested {summary['events']} events in {summary['posting_wall_s']} s: {summary['events_per_s']} events/s, "
        f"{summary['batches_per_s']} batches/s of {summary['batch_size']} ({summary['mix']} mix, "
        f"{summary['clients']} clients, "
        f"{summary['dispatch']} dispatch, "
        f"{summary['service_workers']} service workers, {summary['database']})",
        f"batch latency p50 {lat['p50']} ms, p95 {lat['p95']} ms, p99 {lat['p99']} ms; HTTP {summary['http_status']}"
        f" ({summary['retried_batches']} batches sent again, {summary['rejected_batches']} never accepted)",
        f"service CPU {summary['service_cpu_ms_per_event']} ms per event ({summary['service_cpu_pct_of_one_core']}% "
        f"of one core); generator {summary['generator_cpu_pct_of_one_core']}%; machine busy "
        f"{summary['machine_cpu_busy_pct']}%",
        f"load average before {summary['load_average']['before']}, after {summary['load_average']['after']}",
        f"outcomes {summary['outcomes']} (expected {summary['expected_outcomes']}); inbox after "
        f"{summary['inbox_after']}",
        f"read models match the stream: {summary['read_models_match']}"
        + ("" if summary["read_models_match"] else
           f" (found {detail['read_models']}, expected {detail['read_models_expected']})"),
        f"upsells created {summary['upsells_created']} {summary['upsells_by_trigger']}; decisions "
        f"{summary['decisions']}, suppressed by {summary['suppressed_by_rule']}",
    ]
    for type_, statuses in detail["by_type"].items():
        lines.append(f"  {type_:32s} {statuses}")
    for problem in detail["problems"][:5]:
        lines.append(f"  problem: {problem}")
    return lines


def failures(summary: dict[str, Any]) -> list[str]:
    """What makes the command exit non-zero: anything FAILED/PARKED beyond the deliberate, batches answered
    with an error, read models that do not match the stream."""
    problems = []
    outcomes, expected = summary["outcomes"], summary["expected_outcomes"]
    if summary["retried_batches"] or summary["rejected_batches"]:
        problems.append(f"{summary['retried_batches']} batches had to be sent again, {summary['rejected_batches']} "
                        f"were never accepted (HTTP {summary['http_status']})")
    if outcomes["PARKED"] != expected["PARKED"] or summary["inbox_after"].get("PARKED", 0) != expected["PARKED"]:
        problems.append(f"PARKED {outcomes['PARKED']} (inbox {summary['inbox_after'].get('PARKED', 0)}), "
                        f"expected {expected['PARKED']}")
    if outcomes["FAILED"] or summary["inbox_after"].get("FAILED"):
        problems.append(f"FAILED on delivery {outcomes['FAILED']}, still FAILED "
                        f"{summary['inbox_after'].get('FAILED', 0)}")
    if outcomes["IGNORED"]:
        problems.append(f"IGNORED {outcomes['IGNORED']}")
    if not summary["read_models_match"]:
        problems.append("the read models do not hold what the stream says")
    return problems
