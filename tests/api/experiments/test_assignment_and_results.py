"""Issue 16: users are assigned (GrowthBook hash v2 + bucket ranges) when an upsell of the experiment's trigger is
created: the variant key, message, channel and delay go on the upsell; exposure counts when PRESENTED; results per
variant and each treatment against the control as gbstats computes them."""
from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from gbstats.bayesian.tests import EffectBayesianABTest
from gbstats.frequentist.tests import TwoSidedTTest
from gbstats.models.statistics import ProportionStatistic
from growthbook.core import chooseVariation, gbhash, getBucketRanges

from tests.api.experiments.helpers import (EXPERIMENTS, create_experiment, expose, results, start_experiment,
                                           users_in)
from tests.api.upsell.helpers import create, start


async def test_an_upsell_of_the_trigger_gets_the_users_variant_its_message_channel_and_delay(client, auth):
    """US-SALE-003: upsell messaging and timing are A/B tested: the user's variant decides the message, channel and
    delay of the upsell they get."""
    plans = await start(client, auth)
    pm = auth.headers("PRODUCT_MANAGER")
    experiment = await start_experiment(client, pm, seed="banner-2026")
    [user] = users_in(experiment, "saving", 1)
    [other] = users_in(experiment, "control", 1)
    r = await create(client, auth.headers("SERVICE"), plans["premium"], user, trigger_event=experiment["trigger"],
                     channel="IN_APP_BANNER")
    assert r.status_code == 201, r.text
    upsell = r.json()
    assert (upsell["experiment_id"], upsell["experiment_variant"], upsell["message"], upsell["channel"],
            upsell["present_after"]) == (experiment["id"], "saving", "Save Rs. 500 with Premium", "IN_APP_MODAL",
                                         "2026-01-10T10:30:00Z")
    control = (await create(client, auth.headers("SERVICE"), plans["premium"], other,
                            trigger_event=experiment["trigger"])).json()
    assert (control["experiment_variant"], control["message"], control["channel"], control["present_after"]) == (
        "control", "Upgrade to Premium", "IN_APP_BANNER", "2026-01-10T10:00:00Z")
    unrelated = (await create(client, auth.headers("SERVICE"), plans["premium"], str(uuid.uuid4()))).json()
    assert (unrelated["experiment_id"], unrelated["experiment_variant"], unrelated["message"]) == (None, None, None)
    r = await client.get(f"{EXPERIMENTS}/{experiment['id']}/assignment/{user}", headers=pm)
    assert r.status_code == 200, r.text
    n = gbhash("banner-2026", user, 2)
    assert r.json() == {"experiment_id": experiment["id"], "user_id": user, "in_experiment": True,
                        "variant": "saving", "hash": n, "served": "saving"}
    assert chooseVariation(n, getBucketRanges(2, 1.0, [0.5, 0.5])) == 1


async def test_assignment_follows_growthbook_for_many_users_and_coverage(client, auth):
    await start(client, auth)
    pm = auth.headers("PRODUCT_MANAGER")
    variants = [{"key": "a", "weight": Decimal("0.2"), "message": "A", "control": True},
                {"key": "b", "weight": Decimal("0.3"), "message": "B"},
                {"key": "c", "weight": Decimal("0.5"), "message": "C"}]
    experiment = await create_experiment(client, pm, seed="cov", variants=variants, coverage=Decimal("0.4"))
    ranges = getBucketRanges(3, 0.4, [0.2, 0.3, 0.5])
    for user in [str(uuid.UUID(int=i * 104729)) for i in range(1, 41)]:
        r = await client.get(f"{EXPERIMENTS}/{experiment['id']}/assignment/{user}", headers=pm)
        index = chooseVariation(gbhash("cov", user, 2), ranges)
        expected = None if index < 0 else "abc"[index]
        assert (r.json()["variant"], r.json()["in_experiment"]) == (expected, expected is not None)
        assert r.json()["served"] is None  # a DRAFT serves nothing


async def test_a_user_outside_the_coverage_gets_no_variant(client, auth):
    plans = await start(client, auth)
    experiment = await start_experiment(client, auth.headers("PRODUCT_MANAGER"), coverage=Decimal("0.1"))
    outside = next(u for u in (str(uuid.uuid4()) for _ in range(1000))
                   if not 0 <= gbhash(experiment["seed"], u, 2) < 0.05
                   and not 0.5 <= gbhash(experiment["seed"], u, 2) < 0.55)
    upsell = (await create(client, auth.headers("SERVICE"), plans["premium"], outside,
                           trigger_event=experiment["trigger"])).json()
    assert (upsell["experiment_id"], upsell["experiment_variant"]) == (None, None)


async def test_results_count_exposed_users_and_match_gbstats(client, auth):
    plans = await start(client, auth)
    pm = auth.headers("PRODUCT_MANAGER")
    experiment = await start_experiment(client, pm, baseline_rate=Decimal("0.4"),
                                        minimum_detectable_effect=Decimal("1.0"))
    assert experiment["minimum_sample_per_variant"] == 23
    await expose(client, auth, plans["premium"], experiment["trigger"], users_in(experiment, "control", 12),
                 converted=4, dismissed=2)
    await expose(client, auth, plans["premium"], experiment["trigger"], users_in(experiment, "saving", 10),
                 converted=6)
    # created but never PRESENTED: not exposed, not counted
    [idle] = users_in(experiment, "saving", 1)
    assert (await create(client, auth.headers("SERVICE"), plans["premium"], idle,
                         trigger_event=experiment["trigger"])).status_code == 201
    found = await results(client, pm, experiment["id"])
    headline = ("relative_lift", "confidence_interval", "p_value", "chance_to_win", "credible_interval",
                "sequential_p_value")
    [comparison] = found["comparisons"]
    assert found["variants"] == [
        {"key": "control", "control": True, "weight": 0.5, "users": 12, "conversions": 4,
         "conversion_rate": 4 / 12, "revenue": 4 * 1499.0, **{f: None for f in headline}},
        {"key": "saving", "control": False, "weight": 0.5, "users": 10, "conversions": 6,
         "conversion_rate": 0.6, "revenue": 6 * 1499.0, **{f: comparison[f] for f in headline}}]
    a, b = ProportionStatistic(n=12, sum=4), ProportionStatistic(n=10, sum=6)
    frequentist = TwoSidedTTest(a, b).compute_result()
    bayesian = EffectBayesianABTest(a, b).compute_result()
    assert comparison["relative_lift"] == pytest.approx(frequentist.expected, rel=5e-5)
    assert comparison["confidence_interval"] == pytest.approx(frequentist.ci, rel=5e-5)
    assert comparison["p_value"] == pytest.approx(frequentist.p_value, rel=5e-5)
    assert comparison["chance_to_win"] == pytest.approx(bayesian.chance_to_win, rel=5e-5)
    assert comparison["credible_interval"] == pytest.approx(bayesian.ci, rel=5e-5)
    assert comparison["enough_data"] is False and comparison["reason"].startswith("MINIMUM_SAMPLE_NOT_REACHED")
    assert found["enough_data"] is False and found["minimum_sample_per_variant"] == 23
    assert found["sample_ratio_mismatch"] is False and 0.001 < found["srm_p_value"] <= 1
    dismissal = next(g for g in found["guardrails"] if g["metric"] == "dismissal_rate")
    assert (dismissal["control_rate"], dismissal["variant_rate"], dismissal["state"]) == (2 / 12, 0.0, "OK")
    assert [(p["variant"], p["users"], p["conversions"]) for p in found["timeline"]] == [
        ("control", 12, 4), ("saving", 10, 6)]


async def test_a_zero_conversion_arm_answers_null_figures_with_the_reason(client, auth):
    plans = await start(client, auth)
    pm = auth.headers("PRODUCT_MANAGER")
    experiment = await start_experiment(client, pm)
    await expose(client, auth, plans["premium"], experiment["trigger"], users_in(experiment, "control", 3),
                 converted=1)
    await expose(client, auth, plans["premium"], experiment["trigger"], users_in(experiment, "saving", 2))
    [comparison] = (await results(client, pm, experiment["id"]))["comparisons"]
    assert comparison == {"variant": "saving", "relative_lift": None, "confidence_interval": None, "p_value": None,
                          "significant": False, "sequential_p_value": None, "sequential_interval": None,
                          "chance_to_win": None, "credible_interval": None, "enough_data": False,
                          "reason": "ZERO_NEGATIVE_VARIANCE"}


async def test_results_of_an_experiment_without_users(client, auth):
    await start(client, auth)
    pm = auth.headers("PRODUCT_MANAGER")
    experiment = await create_experiment(client, pm)
    found = await results(client, pm, experiment["id"])
    assert [(v["users"], v["conversion_rate"], v["revenue"]) for v in found["variants"]] == [(0, None, 0.0)] * 2
    assert (found["srm_p_value"], found["sample_ratio_mismatch"], found["timeline"]) == (1.0, False, [])
    assert found["comparisons"][0]["reason"] == "NO_UNITS_IN_VARIATION"


async def test_the_opt_out_guardrail_counts_users_who_opted_out_after_exposure(client, auth):
    from tests.allocation_builders import advance
    from tests.builders import API
    from tests.commerce_builders import send

    plans = await start(client, auth)
    pm = auth.headers("PRODUCT_MANAGER")
    experiment = await start_experiment(client, pm)
    await expose(client, auth, plans["premium"], experiment["trigger"], users_in(experiment, "control", 20))
    treated = users_in(experiment, "saving", 20)
    await expose(client, auth, plans["premium"], experiment["trigger"], treated)
    await advance(client, auth.admin, 600)
    for user in treated[:9]:
        r = await send(client, "PUT", f"{API}/customers/{user}/preferences",
                       {"marketing_opt_out": True, "channels_opted_out": []}, auth.admin)
        assert r.status_code in (200, 201), r.text
    found = await results(client, pm, experiment["id"])
    opt_out = next(g for g in found["guardrails"] if g["metric"] == "opt_out_rate")
    assert (opt_out["control_rate"], opt_out["variant_rate"], opt_out["state"]) == (0.0, 0.45, "WORSE")
    assert opt_out["p_value"] < 0.001


async def test_an_engine_trigger_from_an_event_is_assigned_too(client, auth):
    """A QUOTA_THRESHOLD upsell fired by entitlements.usage.updated (UPR-002) gets the experiment's variant."""
    from tests.commerce_builders import event, statuses

    plans = await start(client, auth)
    experiment = await start_experiment(client, auth.headers("PRODUCT_MANAGER"), trigger="QUOTA_THRESHOLD")
    [user] = users_in(experiment, "saving", 1)
    usage = {"user_id": user, "plan_id": plans["basic"]["id"], "quota_name": "owner_contacts", "quota": 10,
             "used": 9, "at": "2026-01-10T09:00:00Z"}
    assert await statuses(client, auth, event("entitlements.usage.updated", usage,
                                              source="/mysqrft/entitlements")) == ["PROCESSED"]
    [upsell] = (await client.get(f"{EXPERIMENTS[:-len('/experiments')]}", params={"user_id": user},
                                 headers=auth.headers("SERVICE"))).json()["items"]
    assert (upsell["trigger_event"], upsell["experiment_id"], upsell["experiment_variant"], upsell["channel"],
            upsell["message"]) == ("QUOTA_THRESHOLD", experiment["id"], "saving", "IN_APP_MODAL",
                                   "Save Rs. 500 with Premium")
