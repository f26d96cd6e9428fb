"""Pure shortlist rules (issue 14 §3-4): edits, version diffs, share tokens and the public form token. No I/O."""
from __future__ import annotations

import hashlib
import hmac
import secrets
from collections import deque
from datetime import datetime, timedelta
from typing import Any

from sales.core.errors import InvalidInput

TOKEN_BYTES = 24  # secrets.token_urlsafe(24): 192 bits, 32 URL-safe characters
FEEDBACK_LIMIT = 30  # reactions per share link and client address ...
FEEDBACK_WINDOW = timedelta(minutes=10)  # ... within this window


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    """What is stored: a leaked table gives no working links."""
    return hashlib.sha256(token.encode()).hexdigest()


def form_token(key: bytes, token: str) -> str:
    """The customer page's form token, bound to its share token (HMAC): a form of another shortlist fails."""
    return hmac.new(key, b"shortlist-feedback:" + token.encode(), hashlib.sha256).hexdigest()


def form_token_valid(key: bytes, token: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(form_token(key, token), given or "")


def apply_changes(items: list[dict[str, Any]], *, remove: list[str], add: list[dict[str, Any]],
                  order: list[str] | None, notes: dict[str, str | None]) -> list[dict[str, Any]]:
    """Remove, then add (at the end), then reorder (the full new order), then item notes; 422 naming the field
    for an id not on the list (or already on it)."""
    by_id = {i["listing_id"]: dict(i) for i in items}
    sequence = [i["listing_id"] for i in items]
    for n, listing_id in enumerate(remove):
        if listing_id not in by_id:
            raise InvalidInput(("remove", n), f"listing {listing_id} is not on the shortlist")
        sequence.remove(listing_id)
        del by_id[listing_id]
    for n, item in enumerate(add):
        if item["listing_id"] in by_id:
            raise InvalidInput(("add", n), f"listing {item['listing_id']} is already on the shortlist")
        by_id[item["listing_id"]] = dict(item)
        sequence.append(item["listing_id"])
    if order is not None:
        if sorted(order) != sorted(sequence) or len(set(order)) != len(order):
            raise InvalidInput(("order",), "order must list every listing on the shortlist exactly once")
        sequence = list(order)
    for n, (listing_id, note) in enumerate(notes.items()):
        if listing_id not in by_id:
            raise InvalidInput(("item_notes", n, "listing_id"), f"listing {listing_id} is not on the shortlist")
        by_id[listing_id]["note"] = note
    return [{**by_id[lid], "position": p} for p, lid in enumerate(sequence, start=1)]


def diff(previous: list[dict[str, Any]], current: list[dict[str, Any]], *, previous_notes: str | None,
         notes: str | None) -> dict[str, Any]:
    """What changed between two versions: added / removed listing ids, moved ones (from -> to position),
    item notes changed, and whether the shortlist's notes changed."""
    before = {i["listing_id"]: i for i in previous}
    after = {i["listing_id"]: i for i in current}
    return {
        "added": [i["listing_id"] for i in current if i["listing_id"] not in before],
        "removed": [i["listing_id"] for i in previous if i["listing_id"] not in after],
        "moved": [{"listing_id": lid, "from": before[lid]["position"], "to": i["position"]}
                  for lid, i in after.items() if lid in before and before[lid]["position"] != i["position"]],
        "notes_changed": [lid for lid, i in after.items() if lid in before and before[lid].get("note") != i.get("note")],
        "shortlist_notes_changed": previous_notes != notes,
    }


class SlidingWindow:
    """In-process rate limit per key (one API replica; Redis would share it across replicas)."""

    def __init__(self, limit: int = FEEDBACK_LIMIT, window: timedelta = FEEDBACK_WINDOW) -> None:
        self.limit, self.window = limit, window
        self.hits: dict[Any, deque[datetime]] = {}

    def allow(self, key: Any, now: datetime) -> bool:
        hits = self.hits.setdefault(key, deque())
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if len(hits) >= self.limit:
            return False
        hits.append(now)
        if len(self.hits) > 100_000:  # bound the memory: drop the oldest keys
            for stale in list(self.hits)[:50_000]:
                del self.hits[stale]
        return True
