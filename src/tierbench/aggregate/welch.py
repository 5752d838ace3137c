"""Welch's t-test for the difference of two means with unequal variances.

The Student t distribution's CDF comes from the regularized incomplete beta function
(continued fraction, modified Lentz), so no statistics package is needed; the quantile
is found by bisection on the CDF.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass


def _beta_fraction(a: float, b: float, x: float) -> float:
    tiny, epsilon = 1e-300, 1e-15
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    result = d
    for m in range(1, 500):
        for numerator in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            result *= c * d
        if abs(c * d - 1.0) < epsilon:
            break
    return result


def regularized_beta(a: float, b: float, x: float) -> float:
    """I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
    log_front += a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _beta_fraction(a, b, x) / a
    return 1.0 - math.exp(log_front) * _beta_fraction(b, a, 1.0 - x) / b


def t_cdf(t: float, dof: float) -> float:
    """P(T <= t) for Student's t with `dof` degrees of freedom."""
    tail = 0.5 * regularized_beta(dof / 2.0, 0.5, dof / (dof + t * t))
    return 1.0 - tail if t >= 0 else tail


def t_quantile(p: float, dof: float) -> float:
    """The t with P(T <= t) = p."""
    low, high = -1e6, 1e6
    for _ in range(200):
        middle = (low + high) / 2.0
        if t_cdf(middle, dof) < p:
            low = middle
        else:
            high = middle
    return (low + high) / 2.0


@dataclass(frozen=True)
class WelchResult:
    difference: float  # mean of the candidate minus mean of the baseline
    standard_error: float
    dof: float
    low: float  # the confidence interval of the difference
    high: float
    p_value: float  # two-sided
    confidence: float


def welch(
    base_mean: float,
    base_sd: float,
    base_n: int,
    cand_mean: float,
    cand_sd: float,
    cand_n: int,
    confidence: float = 0.95,
) -> WelchResult | None:
    """The difference of the two means with its standard error and confidence interval;
    None when either side has fewer than two values (no spread to judge by)."""
    if base_n < 2 or cand_n < 2:
        return None
    base_var, cand_var = base_sd**2 / base_n, cand_sd**2 / cand_n
    difference = cand_mean - base_mean
    standard_error = math.sqrt(base_var + cand_var)
    if standard_error == 0.0:
        p_value = 1.0 if difference == 0.0 else 0.0
        return WelchResult(difference, 0.0, math.inf, difference, difference, p_value, confidence)
    dof = (base_var + cand_var) ** 2 / (base_var**2 / (base_n - 1) + cand_var**2 / (cand_n - 1))
    critical = t_quantile((1.0 + confidence) / 2.0, dof)
    statistic = difference / standard_error
    p_value = 2.0 * (1.0 - t_cdf(abs(statistic), dof))
    return WelchResult(
        difference,
        standard_error,
        dof,
        difference - critical * standard_error,
        difference + critical * standard_error,
        p_value,
        confidence,
    )


@dataclass(frozen=True)
class SampleDifference:
    """Two samples' means and the difference of the first from the second."""

    first: float | None  # the first sample's mean
    second: float | None
    difference: float | None  # first − second
    low: float | None  # its confidence interval (None with fewer than two values a side)
    high: float | None

    @property
    def measurable(self) -> bool | None:
        """Whether the interval excludes zero; None where there is no interval."""
        if self.low is None or self.high is None:
            return None
        return self.low > 0 or self.high < 0


def sample_difference(
    first: Sequence[float | None], second: Sequence[float | None], confidence: float = 0.95
) -> SampleDifference:
    """The means of both samples (nulls left out) and first − second with its Welch
    interval (None with fewer than two values on a side)."""
    ones = [v for v in first if v is not None]
    twos = [v for v in second if v is not None]
    mean_one = statistics.fmean(ones) if ones else None
    mean_two = statistics.fmean(twos) if twos else None
    if len(ones) < 2 or len(twos) < 2:
        diff = None if mean_one is None or mean_two is None else mean_one - mean_two
        return SampleDifference(mean_one, mean_two, diff, None, None)
    result = welch(
        mean_two,
        statistics.stdev(twos),
        len(twos),
        mean_one,
        statistics.stdev(ones),
        len(ones),
        confidence,
    )
    assert result is not None
    return SampleDifference(mean_one, mean_two, result.difference, result.low, result.high)
