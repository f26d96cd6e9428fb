"""Issue 17 item 6: a city's rules store only what differs from the default '*'; a later change to the default
reaches every city that did not override the field; GET /allocations/rules shows where each value comes from."""
from __future__ import annotations

from tests.api.allocation.helpers import allocated, start
from tests.api.allocation.test_rules_simulate import _get, _put
from tests.builders import make_rm, make_team


async def test_a_default_change_reaches_cities_that_did_not_override_the_field(client, auth):
    await start(client, auth.admin)  # 10:30 UTC
    await _put(client, auth, "*", sla_minutes=90)
    city = await _put(client, auth, "Bangalore", sla_minutes=60, queue_depth_alert=5)
    assert city["overrides"] == {"sla_minutes": 60, "queue_depth_alert": 5}

    await _put(client, auth, "*", sla_minutes=100, overflow_to_backup=False, skill_match={"segment": False})
    bangalore = await _get(client, auth.admin, "Bangalore")
    assert bangalore["inherited"] is False and bangalore["version"] == 1
    assert bangalore["overrides"] == {"sla_minutes": 60, "queue_depth_alert": 5}
    effective = bangalore["rules"]
    assert (effective["sla_minutes"], effective["queue_depth_alert"], effective["overflow_to_backup"]) == (60, 5, False)
    assert effective["skill_match"] == {"property_type": True, "segment": False, "deal_size": True}
    sources = bangalore["sources"]
    assert (sources["sla_minutes"], sources["queue_depth_alert"]) == ("CITY", "CITY")
    assert (sources["overflow_to_backup"], sources["skill_match.segment"]) == ("DEFAULT", "DEFAULT")
    assert (sources["skill_match.property_type"], sources["max_sla_breaches"]) == ("BUILT_IN", "BUILT_IN")

    default = await _get(client, auth.admin, "*")
    assert default["overrides"] == {"sla_minutes": 100, "overflow_to_backup": False,
                                    "skill_match": {"segment": False}}
    mumbai = await _get(client, auth.admin, "Mumbai")
    assert mumbai["inherited"] is True and mumbai["overrides"] == {} and mumbai["rules"]["sla_minutes"] == 100
    assert mumbai["sources"]["sla_minutes"] == "DEFAULT"

    # The engine allocates with the effective rules: Bangalore's own 60-minute SLA.
    team = await make_team(client, auth.admin)
    await make_rm(client, auth.admin, team_id=team["id"])
    assert (await allocated(client, auth.headers("SERVICE")))["sla_deadline"] == "2026-01-17T11:30:00Z"


async def test_setting_a_city_field_to_the_default_value_drops_the_override(client, auth):
    await start(client, auth.admin)
    await _put(client, auth, "*", sla_minutes=90)
    await _put(client, auth, "Bangalore", sla_minutes=60)
    back = await _put(client, auth, "Bangalore", sla_minutes=90)
    assert back["overrides"] == {} and back["sources"]["sla_minutes"] == "DEFAULT" and back["version"] == 2
    await _put(client, auth, "*", sla_minutes=45)
    assert (await _get(client, auth.admin, "Bangalore"))["rules"]["sla_minutes"] == 45
