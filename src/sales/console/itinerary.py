"""The itinerary of a visit plan drawn on a plot of its coordinates (issue 15): pure geometry for the SVG, no
map tiles. Longitude runs right, latitude up, both on one scale (degrees of longitude shrunk by cos(latitude))."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

WIDTH, HEIGHT, MARGIN = 640, 420, 36


@dataclass(frozen=True)
class Mark:
    x: float
    y: float
    label: str
    title: str
    kind: str  # start | stop | unscheduled


def plot(plan: Any) -> dict[str, Any]:
    """Marks for the start, each scheduled stop in order and the unscheduled stops, and the route through them."""
    points = [(plan.start["lat"], plan.start["lon"])] + [(s.lat, s.lon) for s in plan.itinerary] + [
        (s.lat, s.lon) for s in plan.unscheduled]
    mid_lat = math.radians(sum(lat for lat, _ in points) / len(points))
    xs = [lon * math.cos(mid_lat) for _, lon in points]
    ys = [lat for lat, _ in points]
    span = max(max(xs) - min(xs), max(ys) - min(ys)) or 1e-6
    scale = min(WIDTH - 2 * MARGIN, HEIGHT - 2 * MARGIN) / span

    def at(i: int) -> tuple[float, float]:
        return (round(MARGIN + (xs[i] - min(xs)) * scale, 1), round(HEIGHT - MARGIN - (ys[i] - min(ys)) * scale, 1))

    marks = [Mark(*at(0), label="S", title="Start", kind="start")]
    for n, stop in enumerate(plan.itinerary, start=1):
        when = stop.start_at.strftime("%H:%M") if stop.start_at else ""
        marks.append(Mark(*at(n), label=str(stop.position), kind="stop",
                          title=f"{stop.position}. listing {stop.listing_id} at {when} UTC ({stop.status})"))
    offset = len(plan.itinerary) + 1
    for n, stop in enumerate(plan.unscheduled):
        marks.append(Mark(*at(offset + n), label="×", kind="unscheduled",
                          title=f"listing {stop.listing_id}: {stop.status}"))
    route = " ".join(f"{m.x},{m.y}" for m in marks[:offset])
    return {"width": WIDTH, "height": HEIGHT, "marks": marks, "route": route}
