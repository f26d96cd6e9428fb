"""Experiment statistics (issue 16), pure: the same formulas as GrowthBook's gbstats (v0.8) on SciPy.

A conversion arm is gbstats' `ProportionStatistic` (mean p = conversions / users, variance p(1-p)). Against the
control (a) a treatment (b) is compared on the relative lift (p_b - p_a) / p_a with the delta-method variance
  var = v_b / (p_a^2 n_b) + v_a p_b^2 / (p_a^4 n_a)
- frequentist: gbstats `TwoSidedTTest` (Welch-Satterthwaite degrees of freedom, Student t), alpha 0.05;
- sequential: gbstats `SequentialTwoSidedTTest` (always-valid p-value and interval of Waudby-Smith et al.,
  tuning parameter 5000), valid however often the results are looked at;
- Bayesian: gbstats `EffectBayesianABTest` with its default improper prior: the posterior of the lift is
  Normal(lift, var): chance to win = P(lift > 0) and the 95% credible interval;
- sample ratio mismatch: gbstats `check_srm` (chi-square goodness of fit against the weights).
Where gbstats answers its uninformative default (zero baseline, zero variance, an empty arm) the figures here are
None with gbstats' reason code, never a NaN. Guardrails use a one-sided pooled two-proportion z-test, which stays
defined when an arm has no events (a control without dismissals must not hide a treatment with many).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

from scipy.stats import chi2, norm, t

ALPHA = 0.05
POWER = 0.8
SEQUENTIAL_TUNING = 5000.0
SRM_THRESHOLD = 0.001
BASELINE_ZERO = "ZERO_NEGATIVE_BASELINE_VARIATION"
ZERO_VARIANCE = "ZERO_NEGATIVE_VARIANCE"
NO_UNITS = "NO_UNITS_IN_VARIATION"


@dataclass(frozen=True)
class Arm:
    users: int
    conversions: int

    @property
    def rate(self) -> float:
        return self.conversions / self.users if self.users else 0.0

    @property
    def variance(self) -> float:
        return self.rate * (1 - self.rate)


@dataclass(frozen=True)
class Comparison:
    """A treatment against the control; every figure None (with `reason`) when it cannot be computed."""

    relative_lift: float | None
    ci: tuple[float, float] | None
    p_value: float | None
    sequential_p_value: float | None
    sequential_ci: tuple[float, float] | None
    chance_to_win: float | None
    credible_interval: tuple[float, float] | None
    reason: str | None = None

    @property
    def significantly_better(self) -> bool:
        return self.p_value is not None and self.relative_lift is not None and (
            self.p_value < ALPHA and self.relative_lift > 0)


NOT_COMPUTABLE = dict(relative_lift=None, ci=None, p_value=None, sequential_p_value=None, sequential_ci=None,
                      chance_to_win=None, credible_interval=None)


def _relative_variance(a: Arm, b: Arm) -> float:
    return b.variance / (a.rate ** 2 * b.users) + a.variance * b.rate ** 2 / (a.rate ** 4 * a.users)


def _welch_dof(a: Arm, b: Arm) -> float:
    return (b.variance / b.users + a.variance / a.users) ** 2 / (
        b.variance ** 2 / (b.users ** 2 * (b.users - 1)) + a.variance ** 2 / (a.users ** 2 * (a.users - 1)))


def _not_computable(a: Arm, b: Arm) -> str | None:
    """gbstats' order of checks: an empty arm, a zero baseline, then a zero variance in either arm."""
    if a.users == 0 or b.users == 0:
        return NO_UNITS
    if a.rate == 0:
        return BASELINE_ZERO
    if a.variance <= 0 or b.variance <= 0:
        return ZERO_VARIANCE
    return None


def sequential(lift: float, variance: float, n: int, *, alpha: float = ALPHA,
               tuning: float = SEQUENTIAL_TUNING) -> tuple[float, tuple[float, float]]:
    """gbstats SequentialTwoSidedTTest: the always-valid p-value (eq. 155) and interval (eq. 9)."""
    rho = math.sqrt((-2 * math.log(alpha) + math.log(-2 * math.log(alpha) + 1)) / tuning)
    s2 = variance * n
    tr2p1 = n * rho ** 2 + 1
    st2 = lift ** 2 * n / variance
    evalue = math.exp(rho ** 2 * st2 / (2 * tr2p1)) / math.sqrt(tr2p1)
    width = math.sqrt(s2) * math.sqrt(2 * tr2p1 * math.log(math.sqrt(tr2p1) / alpha) / (n * rho) ** 2)
    return min(1 / evalue, 1.0), (lift - width, lift + width)


def compare(control: Arm, treatment: Arm, *, alpha: float = ALPHA) -> Comparison:
    """Relative lift of `treatment` over `control`, frequentist, sequential and Bayesian (gbstats defaults)."""
    reason = _not_computable(control, treatment)
    if reason is not None:
        return Comparison(**NOT_COMPUTABLE, reason=reason)
    lift = (treatment.rate - control.rate) / control.rate
    variance = _relative_variance(control, treatment)
    sd = math.sqrt(variance)
    dof = _welch_dof(control, treatment)
    p_value = float(2 * (1 - t.cdf(abs(lift / sd), dof)))
    width = float(t.ppf(1 - alpha / 2, dof)) * sd
    seq_p, seq_ci = sequential(lift, variance, control.users + treatment.users, alpha=alpha)
    low, high = norm.ppf([alpha / 2, 1 - alpha / 2], lift, sd)
    return Comparison(relative_lift=lift, ci=(lift - width, lift + width), p_value=p_value,
                      sequential_p_value=seq_p, sequential_ci=seq_ci,
                      chance_to_win=float(norm.sf(0, lift, sd)), credible_interval=(float(low), float(high)))


def srm_p_value(users: Sequence[int], weights: Sequence[float]) -> float:
    """gbstats check_srm: chi-square of the observed users against the expected split (1 with no users)."""
    total = sum(users)
    if not total:
        return 1.0
    weights = [float(w) for w in weights]
    total_weight = sum(weights)
    x = sum((o - w / total_weight * total) ** 2 / (w / total_weight * total)
            for o, w in zip(users, weights) if w > 0)
    return float(chi2.sf(x, len(users) - 1))


def is_srm(p_value: float) -> bool:
    return p_value < SRM_THRESHOLD


def minimum_sample(baseline_rate: float, minimum_detectable_effect: float, *, alpha: float = ALPHA,
                   power: float = POWER) -> int:
    """Users per variant to detect a relative lift of `minimum_detectable_effect` over `baseline_rate` with a
    two-sided two-proportion z-test (pooled variance under H0, unpooled under H1)."""
    p1 = baseline_rate
    p2 = baseline_rate * (1 + minimum_detectable_effect)
    pooled = (p1 + p2) / 2
    z_alpha = norm.ppf(1 - alpha / 2)
    z_beta = norm.ppf(power)
    n = (z_alpha * math.sqrt(2 * pooled * (1 - pooled)) + z_beta * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))) ** 2 \
        / (p2 - p1) ** 2
    return math.ceil(n)


@dataclass(frozen=True)
class Guardrail:
    control_rate: float | None
    variant_rate: float | None
    p_value: float | None  # one-sided: the variant's rate is higher (worse) than the control's
    worse: bool


def guardrail(control: Arm, treatment: Arm, *, alpha: float = ALPHA) -> Guardrail:
    """Is the treatment's rate of a bad outcome (dismissal, opt-out) significantly higher than the control's?"""
    if control.users == 0 or treatment.users == 0:
        return Guardrail(control.rate if control.users else None, treatment.rate if treatment.users else None,
                         None, False)
    pooled = (control.conversions + treatment.conversions) / (control.users + treatment.users)
    se = math.sqrt(pooled * (1 - pooled) * (1 / control.users + 1 / treatment.users))
    if se == 0:
        return Guardrail(control.rate, treatment.rate, None, False)
    p_value = float(norm.sf((treatment.rate - control.rate) / se))
    return Guardrail(control.rate, treatment.rate, p_value, p_value < alpha)
