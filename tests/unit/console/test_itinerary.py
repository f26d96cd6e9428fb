"""Issue 15: the itinerary plot: start, stops in order and unscheduled stops inside the drawing, north up."""
from __future__ import annotations

from types import SimpleNamespace as NS

from sales.console.itinerary import HEIGHT, MARGIN, WIDTH, plot


def _stop(position, lat, lon):  # type: ignore[no-untyped-def]
    return NS(position=position, lat=lat, lon=lon, start_at=None, listing_id="L", status="REQUESTED")


def test_marks_fit_the_drawing_and_north_is_up():
    plan = NS(start={"lat": 12.93, "lon": 77.62}, itinerary=[_stop(1, 12.95, 77.62), _stop(2, 12.95, 77.65)],
              unscheduled=[_stop(None, 12.90, 77.60)])
    drawing = plot(plan)
    marks = drawing["marks"]
    assert [m.kind for m in marks] == ["start", "stop", "stop", "unscheduled"]
    assert all(MARGIN - 0.1 <= m.x <= WIDTH - MARGIN + 0.1 and MARGIN - 0.1 <= m.y <= HEIGHT - MARGIN + 0.1
               for m in marks)
    assert marks[1].y < marks[0].y  # further north is higher up
    assert marks[2].x > marks[1].x  # further east is further right
    assert drawing["route"].split() == [f"{m.x},{m.y}" for m in marks[:3]]


def test_a_single_point_does_not_divide_by_zero():
    drawing = plot(NS(start={"lat": 12.93, "lon": 77.62}, itinerary=[], unscheduled=[]))
    assert len(drawing["marks"]) == 1
