"""Travel-time matrices between points (issue 15). The planner only sees minutes; a provider turns coordinates
into them. The default is straight-line (haversine) distance at a city speed; a maps service can replace it by
implementing `TravelTimes` and being returned from `travel_times()`."""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from sales.settings import get_settings

EARTH_RADIUS_KM = 6371.0088


@dataclass(frozen=True)
class Point:
    lat: float
    lon: float


class TravelTimes(Protocol):
    def minutes(self, points: Sequence[Point]) -> list[list[int]]:
        """Whole minutes from each point to each other (not necessarily symmetric)."""


def haversine_km(a: Point, b: Point) -> float:
    lat1, lat2 = math.radians(a.lat), math.radians(b.lat)
    d_lat, d_lon = lat2 - lat1, math.radians(b.lon - a.lon)
    h = math.sin(d_lat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(d_lon / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


@dataclass(frozen=True)
class HaversineTravelTimes:
    """Great-circle distance at `speed_kmh`, rounded up to the minute."""

    speed_kmh: float = 20.0

    def minutes(self, points: Sequence[Point]) -> list[list[int]]:
        return [[0 if a == b else math.ceil(haversine_km(a, b) / self.speed_kmh * 60 - 1e-9) for b in points]
                for a in points]


def travel_times() -> TravelTimes:
    """The configured provider: SALES_VISIT_SPEED_KMH (default 20 km/h) over haversine distances."""
    return HaversineTravelTimes(speed_kmh=get_settings().visit_speed_kmh)
