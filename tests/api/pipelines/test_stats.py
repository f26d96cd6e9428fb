"""GET /pipelines/stats: counts and values per stage, weighted value, win rate, cycle time, overdue count."""
from __future__ import annotations

import uuid

import pytest

from sales.pipelines.enums import Stage
from tests.builders import API, freeze_clock, make_pipeline, make_rm, make_team, move
from tests.checks import assert_problem

ZERO = {"count": 0, "deal_value": 0.0}


@pytest.fixture
async def book(client, auth):  # type: ignore[no-untyped-def]
    """Five pipelines over two teams and cities; 'today' is 2026-01-20.

    | # | RM   | city      | stage       | value    | prob | created    | expected close | closed     |
    | 1 | asha | Bangalore | NEW         | 10000.10 | 20   | 2026-01-12 | 2026-01-10 (overdue)        |
    | 2 | asha | Bangalore | NEGOTIATION | 20000.20 | 80   | 2026-01-12 | 2026-03-01     |            |
    | 3 | asha | Bangalore | CLOSED_WON  | 30000.30 | 100  | 2026-01-10 | 2026-01-15     | 2026-01-20 |
    | 4 | dev  | Pune      | CLOSED_LOST | 5000.05  | 0    | 2026-01-15 | 2026-01-01     | 2026-01-20 |
    | 5 | dev  | Pune      | CONTACTED   | (none)   | 30   | 2026-01-15 | 2026-01-18 (overdue)        |
    """
    south = await make_team(client, auth.admin, city="Bangalore")
    west = await make_team(client, auth.admin, city="Pune")
    asha = await make_rm(client, auth.admin, team_id=south["id"])
    dev = await make_rm(client, auth.admin, team_id=west["id"], city="Pune")
    await freeze_clock(client, auth.admin, at="2026-01-10T10:00:00Z")
    p3 = await make_pipeline(client, auth.admin, rm_id=asha["id"], deal_value="30000.30",
                             expected_close_date="2026-01-15")
    await freeze_clock(client, auth.admin, at="2026-01-12T10:00:00Z")
    await make_pipeline(client, auth.admin, rm_id=asha["id"], deal_value="10000.10", expected_close_date="2026-01-10")
    p2 = await make_pipeline(client, auth.admin, rm_id=asha["id"], deal_value="20000.20",
                             expected_close_date="2026-03-01")
    await freeze_clock(client, auth.admin, at="2026-01-15T23:30:00Z")
    p4 = await make_pipeline(client, auth.admin, rm_id=dev["id"], deal_value="5000.05", expected_close_date="2026-01-01")
    p5 = await make_pipeline(client, auth.admin, rm_id=dev["id"], deal_value=None, expected_close_date="2026-01-18")
    await freeze_clock(client, auth.admin, at="2026-01-20T10:00:00Z")
    for pipeline_id, change in ((p2["id"], {"stage": "NEGOTIATION"}), (p5["id"], {"stage": "CONTACTED"}),
                                (p3["id"], {"stage": "CLOSED_WON"}),
                                (p4["id"], {"stage": "CLOSED_LOST", "loss_reason": "budget"})):
        assert (await move(client, auth.admin, pipeline_id, **change)).status_code == 200
    return {"asha": asha, "dev": dev, "south": south, "west": west}


def _stages(**given):  # type: ignore[no-untyped-def]
    return {stage.value: given.get(stage.value, ZERO) for stage in Stage}


async def test_stats_over_everything(client, auth, book):
    response = await client.get(f"{API}/pipelines/stats", headers=auth.admin)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "stages": _stages(NEW={"count": 1, "deal_value": 10000.10}, CONTACTED={"count": 1, "deal_value": 0.0},
                          NEGOTIATION={"count": 1, "deal_value": 20000.20},
                          CLOSED_WON={"count": 1, "deal_value": 30000.30},
                          CLOSED_LOST={"count": 1, "deal_value": 5000.05}),
        "total_count": 5, "open_count": 3, "total_deal_value": 65000.65,
        "weighted_pipeline_value": 18000.18,  # (10000.10 x 20 + 20000.20 x 80 + 0 x 30) / 100
        "won_count": 1, "lost_count": 1, "win_rate": 50.0,
        "avg_cycle_time_days": 7.5,  # (10 + 5) / 2, by calendar date in UTC
        "overdue_count": 2,
    }
    text = response.text
    for fragment in ('"total_deal_value":65000.65', '"weighted_pipeline_value":18000.18', '"win_rate":50.00',
                     '"avg_cycle_time_days":7.50', '"NEW":{"count":1,"deal_value":10000.10}',
                     '"SHORTLIST_SENT":{"count":0,"deal_value":0.00}'):
        assert fragment in text, fragment


async def test_stats_are_scoped_to_the_rm(client, auth, book):
    response = await client.get(f"{API}/pipelines/stats", headers=auth.rm(book["asha"]["id"]))
    body = response.json()
    assert body["stages"] == _stages(NEW={"count": 1, "deal_value": 10000.10},
                                     NEGOTIATION={"count": 1, "deal_value": 20000.20},
                                     CLOSED_WON={"count": 1, "deal_value": 30000.30})
    assert {k: v for k, v in body.items() if k != "stages"} == {
        "total_count": 3, "open_count": 2, "total_deal_value": 60000.60, "weighted_pipeline_value": 18000.18,
        "won_count": 1, "lost_count": 0, "win_rate": 100.0, "avg_cycle_time_days": 10.0, "overdue_count": 1}


@pytest.mark.parametrize("filters", [{"city": "Pune"}, {"team_id": "west"}, {"rm_id": "dev"}, {"supervisor": "west"}])
async def test_stats_for_a_city_team_rm_or_supervisor(client, auth, book, filters):
    if "supervisor" in filters:
        headers, params = auth.supervisor(uuid.UUID(book["west"]["id"])), {}
    else:
        headers = auth.admin
        params = {k: book[v]["id"] if v in book else v for k, v in filters.items()}
    body = (await client.get(f"{API}/pipelines/stats", params=params, headers=headers)).json()
    assert {k: v for k, v in body.items() if k != "stages"} == {
        "total_count": 2, "open_count": 1, "total_deal_value": 5000.05, "weighted_pipeline_value": 0.0,
        "won_count": 0, "lost_count": 1, "win_rate": 0.0, "avg_cycle_time_days": 5.0, "overdue_count": 1}


@pytest.mark.parametrize(("params", "total"), [
    ({"created_from": "2026-01-12T00:00:00Z"}, 4), ({"created_to": "2026-01-11T00:00:00Z"}, 1),
    ({"expected_close_from": "2026-01-15", "expected_close_to": "2026-01-31"}, 2), ({"stage": "NEW"}, 1),
    ({"outcome": "PENDING"}, 3),
])
async def test_stats_date_and_stage_filters(client, auth, book, params, total):
    body = (await client.get(f"{API}/pipelines/stats", params=params, headers=auth.admin)).json()
    assert body["total_count"] == total


async def test_stats_with_nothing_in_scope(client, auth, book):
    body = (await client.get(f"{API}/pipelines/stats", headers=auth.rm(uuid.uuid4()))).json()
    assert body == {"stages": _stages(), "total_count": 0, "open_count": 0, "total_deal_value": 0.0,
                    "weighted_pipeline_value": 0.0, "won_count": 0, "lost_count": 0, "win_rate": None,
                    "avg_cycle_time_days": None, "overdue_count": 0}


async def test_stats_bad_filter_is_422(client, auth):
    assert_problem(await client.get(f"{API}/pipelines/stats", params={"stage": "X"}, headers=auth.admin), 422,
                   "validation_error", loc=["query", "stage"])
