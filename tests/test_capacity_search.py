"""The capacity search's procedure against simulated services whose capacity is known."""

from __future__ import annotations

import random

import pytest

from tierbench.capacity.search import STEP_OVERHEAD_S, capacity_search
from tierbench.capacity.settings import CapacitySettings
from tierbench.capacity.steps import StepResult


class Simulated:
    """A service that keeps its SLO up to `capacity` iterations/s; a clock that advances by
    each step's length."""

    def __init__(
        self,
        capacity: float,
        flaky_at: set[float] | None = None,
        noisy_probe_at: set[float] | None = None,
    ):
        self.capacity = capacity
        self.now = 0.0
        self.flaky_at = flaky_at or set()
        self.noisy_probe_at = noisy_probe_at or set()
        self.calls: list[tuple[float, str]] = []

    def clock(self) -> float:
        return self.now

    def __call__(self, rate: float, phase: str, warmup_s: float, hold_s: float) -> StepResult:
        self.now += warmup_s + hold_s + STEP_OVERHEAD_S
        self.calls.append((rate, phase))
        noisy = phase == "probe" and rate in self.noisy_probe_at
        passed = rate <= self.capacity and not (
            (phase == "confirm" and rate in self.flaky_at) or noisy
        )
        return StepResult(
            name=f"{len(self.calls):02d}",
            phase=phase,
            requested_rate=rate,
            offered_rate=rate,
            warmup_s=warmup_s,
            hold_s=hold_s,
            started_at="",
            # Overloaded, a service still achieves about its capacity.
            achieved_rate=min(rate, 1.08 * self.capacity),
            # A noisy probe misses the SLO only just; an overloaded step by far.
            percentile_ms=300.0 if noisy else 100.0 if passed else 2000.0,
            passed=passed,
            reasons=[] if passed else ["p99 over the SLO"],
        )


@pytest.mark.parametrize("capacity", [3.3, 17.0, 100.0, 1234.5, 7777.0])
def test_the_answer_is_within_precision_below_the_true_capacity(capacity):
    settings = CapacitySettings()
    service = Simulated(capacity)
    outcome = capacity_search(service, settings, clock=service.clock)
    assert outcome.best is not None and outcome.confirmed and outcome.converged
    best = outcome.best.requested_rate
    assert best <= capacity
    assert outcome.failing.requested_rate > capacity
    assert outcome.failing.requested_rate / best <= 1 + settings.precision
    assert capacity / best <= 1 + settings.precision
    # Probes first, doubling; the answer passed a full step and its confirmation.
    probes = [rate for rate, phase in service.calls if phase == "probe"]
    assert probes[:2] == [settings.start_rate, 2 * settings.start_rate] or capacity < 8
    assert [phase for rate, phase in service.calls if rate == best][-2:] == ["step", "confirm"]
    assert outcome.search_s <= settings.time_budget_s
    assert len(outcome.steps) == len(service.calls)


def test_a_rate_that_fails_its_confirmation_counts_as_failing():
    service = Simulated(100.0, flaky_at=set())
    first = capacity_search(service, CapacitySettings(), clock=service.clock).best.requested_rate
    flaky = Simulated(100.0, flaky_at={first})
    outcome = capacity_search(flaky, CapacitySettings(), clock=flaky.clock)
    assert outcome.best.requested_rate < first
    assert outcome.confirmed
    assert "confirm" in [p for r, p in flaky.calls if r == first]


def test_below_the_first_probe_the_search_goes_down():
    service = Simulated(0.7)
    outcome = capacity_search(service, CapacitySettings(start_rate=4), clock=service.clock)
    assert outcome.best is not None and outcome.best.requested_rate <= 0.7
    assert outcome.converged


def test_a_runtime_that_never_meets_the_slo_has_no_capacity():
    service = Simulated(0.0)
    outcome = capacity_search(service, CapacitySettings(), clock=service.clock)
    assert outcome.best is None and outcome.failing is not None
    assert min(rate for rate, _ in service.calls) >= CapacitySettings().min_rate


def test_passing_up_to_the_search_bound_says_so():
    service = Simulated(1e9)
    settings = CapacitySettings(max_rate=500)
    outcome = capacity_search(service, settings, clock=service.clock)
    assert outcome.reached_max_rate and outcome.failing is None
    assert outcome.best.requested_rate == 500 and outcome.confirmed


def test_the_time_budget_bounds_the_search():
    service = Simulated(5000.0)
    settings = CapacitySettings(time_budget_s=60)
    outcome = capacity_search(service, settings, clock=service.clock)
    assert outcome.budget_exhausted
    assert service.now <= 60


def test_noisy_steps_still_end_near_the_capacity():
    rng = random.Random(7)

    class Noisy(Simulated):
        def __call__(self, rate, phase, warmup_s, hold_s):
            result = super().__call__(rate, phase, warmup_s, hold_s)
            # Within 3 % of the capacity a step may go either way.
            if abs(rate / self.capacity - 1) < 0.03:
                result.passed = rng.random() < 0.5
            return result

    for capacity in (50.0, 400.0, 2500.0):
        service = Noisy(capacity)
        outcome = capacity_search(service, CapacitySettings(), clock=service.clock)
        assert 0.9 * capacity <= outcome.best.requested_rate <= 1.03 * capacity


def test_a_probe_that_fails_by_chance_does_not_bound_the_search():
    """A probe's p99 rests on few requests: a slow one at a low rate must not end the
    staircase there. The failing probe is held again as a full step, which passes."""
    service = Simulated(300.0, noisy_probe_at={8.0})
    outcome = capacity_search(service, CapacitySettings(), clock=service.clock)
    assert (8.0, "step") in service.calls
    assert 0.95 * 300 <= outcome.best.requested_rate <= 300


def test_an_overloaded_steps_achieved_rate_aims_the_bisection():
    """The first full step aims between the best pass and what the failing probe still
    achieved, not at the middle of the factor-of-two bracket the probes left."""
    service = Simulated(300.0)
    capacity_search(service, CapacitySettings(), clock=service.clock)
    first_full = next(rate for rate, phase in service.calls if phase == "step")
    achieved_when_failing = 1.08 * 300
    assert first_full == pytest.approx((256 * achieved_when_failing * 1.02) ** 0.5)
    assert first_full < (256 * 512) ** 0.5
    full_steps = [rate for rate, phase in service.calls if phase != "probe"]
    assert len(full_steps) <= 5
