"""Travel-time matrices between points (issue 15). The planner only sees minutes; a provider turns coordinates
into them. The default is straight-line (haversine) distance at a city speed; a maps service can replace it by
implementing `TravelTimes` and being returned from `travel_times()`. The planner takes minutes only through
`checked_minutes`: a provider's answer is untrusted input (OWASP API10) - a failure, a matrix of the wrong shape or
a value that is not a whole number of minutes within a day is `TravelTimesUnavailable` (502), never a plan built
on it. A remote provider must bound its own calls with a timeout (tests/api/security/test_api10_* checks clients)."""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from sales.settings import get_settings
from sales.visits.errors import TravelTimesUnavailable

EARTH_RADIUS_KM = 6371.0088
MAX_TRAVEL_MINUTES = 24 * 60  # a leg longer than a day is no answer for a day's visit plan


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


def checked_minutes(provider: TravelTimes, points: Sequence[Point]) -> list[list[int]]:
    """The provider's matrix, validated: n x n whole minutes in 0..MAX_TRAVEL_MINUTES, zero on the diagonal."""
    try:
        matrix = provider.minutes(points)
    except Exception as exc:  # noqa: BLE001 - a remote provider's failure or timeout, whatever its type
        raise TravelTimesUnavailable(f"the travel-time provider failed ({type(exc).__name__})") from None
    size = len(points)
    if not isinstance(matrix, list) or len(matrix) != size or \
            any(not isinstance(row, list) or len(row) != size for row in matrix):
        raise TravelTimesUnavailable(f"the travel-time provider did not answer a {size} x {size} matrix")
    for i, row in enumerate(matrix):
        for j, value in enumerate(row):
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_TRAVEL_MINUTES \
                    or (i == j and value != 0):
                raise TravelTimesUnavailable(f"the travel-time provider answered {value!r} minutes from point {i} "
                                             f"to point {j}")
    return matrix
