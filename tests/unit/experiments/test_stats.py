"""Issue 16: the experiment statistics equal GrowthBook's gbstats (the reference) to 4 significant digits,
including a zero-conversion arm and tiny samples; SRM; the always-valid sequential p-value; the power calculation."""
from __future__ import annotations

import math

import pytest
from gbstats.bayesian.tests import EffectBayesianABTest
from gbstats.frequentist.tests import SequentialTwoSidedTTest, TwoSidedTTest
from gbstats.models.statistics import ProportionStatistic
from gbstats.utils import check_srm

from sales.experiments import stats

CASES = [  # (control users, conversions), (treatment users, conversions)
    ((1000, 100), (1000, 130)),
    ((5000, 250), (5100, 300)),
    ((20000, 1000), (19800, 1010)),
    ((10, 2), (12, 5)),  # tiny
    ((3, 1), (4, 2)),  # tinier
    ((2, 1), (2, 1)),
    ((400, 20), (380, 12)),  # treatment worse
]


def close(ours: float | None, reference: float) -> bool:
    """Equal to 4 significant digits."""
    return ours is not None and (ours == reference or math.isclose(ours, reference, rel_tol=5e-5, abs_tol=1e-12))


def reference(a: tuple[int, int], b: tuple[int, int]):  # type: ignore[no-untyped-def]
    sa, sb = ProportionStatistic(n=a[0], sum=a[1]), ProportionStatistic(n=b[0], sum=b[1])
    return (TwoSidedTTest(sa, sb).compute_result(), SequentialTwoSidedTTest(sa, sb).compute_result(),
            EffectBayesianABTest(sa, sb).compute_result())


@pytest.mark.parametrize("a, b", CASES)
def test_frequentist_sequential_and_bayesian_match_gbstats(a, b):
    ours = stats.compare(stats.Arm(*a), stats.Arm(*b))
    frequentist, sequential, bayesian = reference(a, b)
    assert ours.reason is None and frequentist.error_message is None and bayesian.error_message is None
    assert close(ours.relative_lift, frequentist.expected)
    assert close(ours.ci[0], frequentist.ci[0]) and close(ours.ci[1], frequentist.ci[1])
    assert close(ours.p_value, frequentist.p_value)
    assert close(ours.sequential_p_value, sequential.p_value)
    assert close(ours.sequential_ci[0], sequential.ci[0]) and close(ours.sequential_ci[1], sequential.ci[1])
    assert close(ours.chance_to_win, bayesian.chance_to_win)
    assert close(ours.credible_interval[0], bayesian.ci[0]) and close(ours.credible_interval[1], bayesian.ci[1])


@pytest.mark.parametrize("a, b, reason", [
    ((500, 20), (480, 0), "ZERO_NEGATIVE_VARIANCE"),  # a treatment without conversions
    ((500, 0), (480, 10), "ZERO_NEGATIVE_BASELINE_VARIATION"),  # a control without conversions
    ((0, 0), (480, 10), "NO_UNITS_IN_VARIATION"),
    ((1, 1), (1, 0), "ZERO_NEGATIVE_VARIANCE"),
    ((50, 50), (50, 49), "ZERO_NEGATIVE_VARIANCE"),  # everyone converted
])
def test_where_gbstats_has_no_answer_the_figures_are_null_with_its_reason(a, b, reason):
    ours = stats.compare(stats.Arm(*a), stats.Arm(*b))
    assert ours.reason == reason
    assert (ours.relative_lift, ours.p_value, ours.chance_to_win, ours.ci, ours.credible_interval,
            ours.sequential_p_value) == (None,) * 6
    if a[0] and b[0]:
        frequentist, _, bayesian = reference(a, b)
        assert frequentist.error_message is not None and bayesian.error_message is not None


def test_srm_flags_5000_vs_4600_and_not_5000_vs_4950():
    flagged = stats.srm_p_value([5000, 4600], [0.5, 0.5])
    assert close(flagged, check_srm([5000, 4600], [0.5, 0.5]))
    assert flagged == pytest.approx(4.456e-5, rel=1e-3) and stats.is_srm(flagged)
    fine = stats.srm_p_value([5000, 4950], [0.5, 0.5])
    assert close(fine, check_srm([5000, 4950], [0.5, 0.5])) and not stats.is_srm(fine)
    assert close(stats.srm_p_value([700, 200, 100], [0.7, 0.2, 0.1]), check_srm([700, 200, 100], [0.7, 0.2, 0.1]))
    assert stats.srm_p_value([0, 0], [0.5, 0.5]) == 1.0


def test_the_sequential_p_value_is_more_conservative_than_the_fixed_horizon_one():
    ours = stats.compare(stats.Arm(5000, 250), stats.Arm(5000, 310))
    assert ours.p_value < 0.05 < ours.sequential_p_value


@pytest.mark.parametrize("baseline, effect, expected", [
    (0.05, 0.5, 1471), (0.05, 0.1, 31234), (0.10, 0.2, 3841), (0.2, 0.05, 25583)])
def test_minimum_sample_per_variant_alpha_005_power_08(baseline, effect, expected):
    assert stats.minimum_sample(baseline, effect) == expected


def test_guardrail_is_defined_when_the_control_has_no_events():
    worse = stats.guardrail(stats.Arm(200, 0), stats.Arm(200, 20))
    assert worse.worse and worse.p_value < 0.001 and worse.control_rate == 0.0
    same = stats.guardrail(stats.Arm(200, 10), stats.Arm(200, 11))
    assert not same.worse
    assert stats.guardrail(stats.Arm(0, 0), stats.Arm(10, 1)).p_value is None
