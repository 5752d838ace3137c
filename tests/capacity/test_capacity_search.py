"""The capacity search's procedure against simulated services whose capacity is known."""

from __future__ import annotations

import json
import random

import pytest

from conftest import DATA
from tierbench.capacity.search import STEP_OVERHEAD_S, RateLattice, capacity_search
from tierbench.capacity.settings import CapacitySettings
from tierbench.capacity.steps import StepResult

RECORDED = DATA / "capacity"


class Simulated:
    """A service that keeps its SLO up to `capacity` iterations/s and whose CPU is full at
    `cpu_ceiling` (by default 5 % above the capacity); a clock that advances by each step's
    length. `flaky_at`: rates whose confirmations fail; `noisy_probe_at`: rates whose
    probes fail only just."""

    def __init__(
        self,
        capacity: float,
        flaky_at: set[float] | None = None,
        noisy_probe_at: set[float] | None = None,
        cpu_ceiling: float | None = None,
        load_ceiling: float | None = None,
    ):
        self.capacity = capacity
        self.cpu_ceiling = cpu_ceiling or max(capacity, 1.0) * 1.05
        self.load_ceiling = load_ceiling
        self.now = 0.0
        self.flaky_at = flaky_at or set()
        self.noisy_probe_at = noisy_probe_at or set()
        self.calls: list[tuple[float, str]] = []

    def clock(self) -> float:
        return self.now

    def __call__(self, rate: float, phase: str, warmup_s: float, hold_s: float) -> StepResult:
        self.now += warmup_s + hold_s + STEP_OVERHEAD_S
        self.calls.append((rate, phase))
        noisy = phase == "probe" and any(abs(rate - r) < 1e-9 for r in self.noisy_probe_at)
        flaky = phase == "confirm" and any(abs(rate - r) < 1e-9 for r in self.flaky_at)
        passed = rate <= self.capacity and not (flaky or noisy)
        achieved = min(rate, 1.08 * self.capacity)
        return StepResult(
            name=f"{len(self.calls):02d}",
            phase=phase,
            requested_rate=rate,
            offered_rate=rate,
            warmup_s=warmup_s,
            hold_s=hold_s,
            started_at=f"{self.now:012.3f}",
            # Overloaded, a service still achieves about its capacity.
            achieved_rate=achieved,
            rps=5 * achieved,
            cpu_pct=min(100.0, 100.0 * achieved / self.cpu_ceiling),
            cpu_cores=min(1.0, achieved / self.cpu_ceiling),
            load_side_share=None
            if self.load_ceiling is None
            else min(1.0, rate / self.load_ceiling),
            # A noisy probe misses the SLO only just; an overloaded step by far.
            percentile_ms=300.0 if noisy else 100.0 if passed else 2000.0,
            passed=passed,
            reasons=[] if passed else ["p99 over the SLO"],
        )

    def rates(self, phase: str | None = None) -> list[float]:
        return [rate for rate, p in self.calls if phase is None or p == phase]


@pytest.mark.parametrize("capacity", [3.3, 17.0, 100.0, 1234.5, 7777.0])
def test_the_answer_passed_k_of_k_holds_within_one_lattice_step_of_the_capacity(capacity):
    settings = CapacitySettings()
    service = Simulated(capacity)
    outcome = capacity_search(service, settings, clock=service.clock)
    assert outcome.best is not None and outcome.confirmed and outcome.converged
    best = outcome.best.requested_rate
    assert best <= capacity < outcome.failing.requested_rate
    lattice = RateLattice(settings.precision)
    assert lattice.neighbours(best, outcome.failing.requested_rate)
    assert capacity / best <= 1 + 1.1 * settings.precision
    # k full holds at the answer, all passed.
    holds = [phase for rate, phase in service.calls if rate == best and phase != "probe"]
    assert len(holds) == settings.confirmations == outcome.confirmations == 3
    assert len(outcome.capacity_steps) == 3 and all(s.passed for s in outcome.capacity_steps)
    assert outcome.search_s <= settings.time_budget_s
    assert len(outcome.steps) == len(service.calls)


def test_rates_lie_on_one_lattice_so_searches_land_on_the_same_rates():
    settings = CapacitySettings()
    lattice = RateLattice(settings.precision)
    answers = set()
    for start in (8.0, 5.0, 13.0):
        service = Simulated(150.0)
        outcome = capacity_search(service, CapacitySettings(start_rate=start), service.clock)
        for rate in service.rates():
            assert rate == pytest.approx(lattice.nearest(rate))
        answers.add(outcome.best.requested_rate)
    assert len(answers) == 1


def test_the_utilisation_law_brings_the_probes_to_the_knee():
    """CPU per iteration measured by the first probe predicts where the CPU fills up: the
    probes jump there instead of doubling from the start rate (8, 16, ... 2048 is nine)."""
    service = Simulated(2000.0)
    outcome = capacity_search(service, CapacitySettings(), clock=service.clock)
    probes = service.rates("probe")
    assert probes[:3] == [8, 64, 512]
    assert len(probes) <= 4
    assert outcome.prediction is not None
    assert outcome.prediction.rate == pytest.approx(service.cpu_ceiling, rel=0.01)
    assert outcome.confirmed


def test_the_probes_stop_short_of_where_the_load_sides_cpus_fill():
    """On a contended tier the runtime's CPU would allow far more than the host's CPUs,
    shared with k6, can offer: the probes aim at the lower of the two ceilings, and never
    overload the load side several times over."""
    service = Simulated(500.0, cpu_ceiling=3000.0, load_ceiling=550.0)
    outcome = capacity_search(service, CapacitySettings(), clock=service.clock)
    assert max(service.rates()) <= 1.1 * 550
    assert outcome.prediction.load_side_rate == pytest.approx(550.0, rel=0.01)
    assert outcome.confirmed and outcome.best.requested_rate <= 500


def test_a_service_far_below_its_cpu_prediction_is_still_bracketed():
    """A concurrency-bound service: CPU nearly idle, so the prediction is ten times too
    high; failing steps' achieved rate brings the search down to the knee."""
    service = Simulated(120.0, cpu_ceiling=1200.0)
    outcome = capacity_search(service, CapacitySettings(), clock=service.clock)
    assert outcome.confirmed and outcome.best.requested_rate <= 120
    assert outcome.best.requested_rate >= 120 / (1 + 1.1 * CapacitySettings().precision)
    assert outcome.search_s <= CapacitySettings().time_budget_s


def test_a_rate_that_fails_a_confirmation_counts_as_failing_and_the_search_goes_down():
    plain = Simulated(100.0)
    rate = capacity_search(plain, CapacitySettings(), clock=plain.clock).best.requested_rate
    flaky = Simulated(100.0, flaky_at={rate})
    outcome = capacity_search(flaky, CapacitySettings(), clock=flaky.clock)
    assert outcome.best.requested_rate < rate
    assert outcome.failing.requested_rate == rate
    assert outcome.confirmed
    assert "confirm" in [p for r, p in flaky.calls if r == rate]


def test_confirmations_that_keep_failing_never_end_with_no_capacity():
    """The recorded sequence of a search that once answered "none" (httpbin at tier m):
    probes passed up to 256 it/s, full steps at 359 and 425 passed, then every
    confirmation failed. The search goes down until a rate passes k of k."""
    recorded = json.loads((RECORDED / "confirmations_fail.json").read_text())
    failing_confirmations = {round(r, 6) for r in recorded["confirmations_fail_at_or_above"]}

    class Recorded(Simulated):
        def __call__(self, rate, phase, warmup_s, hold_s):
            result = super().__call__(rate, phase, warmup_s, hold_s)
            if phase == "confirm" and rate >= min(failing_confirmations):
                result.passed, result.reasons = False, ["p99 over the SLO"]
                result.percentile_ms = 900.0
            return result

    service = Recorded(recorded["passes_up_to"])
    outcome = capacity_search(service, CapacitySettings(), clock=service.clock)
    assert outcome.best is not None, "a rate passed, so the capacity is not none"
    assert outcome.best.requested_rate < min(failing_confirmations)
    assert outcome.search_s <= CapacitySettings().time_budget_s
    if not outcome.confirmed:
        assert outcome.unconfirmed_why == "time budget"
    # Given the time, it goes down until a rate passes k of k.
    service = Recorded(recorded["passes_up_to"])
    outcome = capacity_search(service, CapacitySettings(time_budget_s=400), clock=service.clock)
    assert outcome.confirmed and outcome.confirmations == 3
    assert outcome.best.requested_rate < min(failing_confirmations)
    assert outcome.failing.requested_rate >= min(failing_confirmations)


def test_below_the_first_probe_the_search_goes_down():
    service = Simulated(0.7)
    outcome = capacity_search(service, CapacitySettings(start_rate=4), clock=service.clock)
    assert outcome.best is not None and outcome.best.requested_rate <= 0.7
    assert outcome.confirmed


def test_a_runtime_that_never_meets_the_slo_has_no_capacity():
    service = Simulated(0.0)
    outcome = capacity_search(service, CapacitySettings(), clock=service.clock)
    assert outcome.best is None and outcome.failing is not None
    assert min(service.rates()) >= CapacitySettings().min_rate


def test_passing_up_to_the_search_bound_says_so():
    service = Simulated(1e9)
    settings = CapacitySettings(max_rate=500)
    outcome = capacity_search(service, settings, clock=service.clock)
    assert outcome.reached_max_rate and outcome.failing is None
    assert outcome.best.requested_rate == 500 and outcome.confirmed


def test_the_time_budget_bounds_the_search_and_the_answer_says_it_is_unconfirmed():
    service = Simulated(5000.0)
    settings = CapacitySettings(time_budget_s=60)
    outcome = capacity_search(service, settings, clock=service.clock)
    assert outcome.budget_exhausted
    assert service.now <= 60
    assert outcome.best is not None and not outcome.confirmed
    assert outcome.unconfirmed_why == "time budget"
    assert outcome.confirmations < settings.confirmations


def test_k_is_configurable():
    service = Simulated(100.0)
    outcome = capacity_search(service, CapacitySettings(confirmations=5), clock=service.clock)
    assert outcome.confirmations == 5 and outcome.confirmed


def test_noisy_steps_still_end_near_the_capacity():
    rng = random.Random(7)

    class Noisy(Simulated):
        def __call__(self, rate, phase, warmup_s, hold_s):
            result = super().__call__(rate, phase, warmup_s, hold_s)
            # Within 3 % of the capacity a step may go either way.
            if abs(rate / self.capacity - 1) < 0.03:
                result.passed = rng.random() < 0.5
                result.reasons = [] if result.passed else ["p99 over the SLO"]
            return result

    # Noise at the knee costs holds: confirmations fail and the search goes down. Given
    # the time for it, the answer still lands near the capacity, confirmed.
    settings = CapacitySettings(time_budget_s=240)
    for capacity in (50.0, 400.0, 2500.0):
        service = Noisy(capacity)
        outcome = capacity_search(service, settings, clock=service.clock)
        assert 0.9 * capacity <= outcome.best.requested_rate <= 1.03 * capacity
        assert outcome.confirmed


def test_a_probe_that_fails_by_chance_does_not_bound_the_search():
    """A probe's p99 rests on few requests: a slow one at a low rate must not end the
    staircase there. The failing probe is held again as a full step, which passes."""
    service = Simulated(300.0, noisy_probe_at={8.0})
    outcome = capacity_search(service, CapacitySettings(), clock=service.clock)
    assert (8.0, "step") in service.calls
    assert 0.95 * 300 <= outcome.best.requested_rate <= 300


class WarmingUp(Simulated):
    """A runtime placed afresh that still warms up through a probe's short warm-up: its
    probes above `cold_above` fail, only just, where full steps (3 s warm-up) pass. As
    recorded for ts at xs (docs/example/capacity/steps/ts-xs.csv): probes at 25.9, 40.7
    and 51.8 it/s failed at p99 300-317 ms, the full steps at the same rates passed at
    108-117 ms."""

    def __init__(self, capacity: float, cold_above: float):
        super().__init__(capacity)
        self.cold_above = cold_above
        self.warmups: list[tuple[str, float]] = []

    def __call__(self, rate, phase, warmup_s, hold_s):
        result = super().__call__(rate, phase, warmup_s, hold_s)
        self.warmups.append((phase, warmup_s))
        if phase == "probe" and warmup_s < 3 and self.cold_above < rate <= self.capacity:
            result.passed, result.reasons = False, ["p99 303 ms > SLO 250 ms"]
            result.percentile_ms = 303.0
        return result


def test_a_probe_that_failed_where_its_full_step_passed_makes_the_probes_warm_up_longer():
    settings = CapacitySettings()
    service = WarmingUp(78.0, cold_above=4.0)
    outcome = capacity_search(service, settings, clock=service.clock)
    # One probe paid for a full step; the probes after it warmed up as a full step does,
    # and passed.
    held_again = [
        rate
        for (rate, phase), before in zip(service.calls[1:], service.calls, strict=False)
        if phase == "step" and before == (rate, "probe")
    ]
    assert len(held_again) == 1, service.calls
    first = service.calls.index((held_again[0], "step"))
    later_probes = [w for phase, w in service.warmups[first:] if phase == "probe"]
    assert later_probes and all(w == settings.warmup_s for w in later_probes)
    assert outcome.probe_warmup_s == settings.warmup_s
    assert outcome.confirmed and 0.95 * 78 <= outcome.best.requested_rate <= 78


def test_after_a_probe_failed_by_chance_the_probes_go_on_warming_up_longer():
    """A probe that failed by chance at the first rate: its full step passes, so the
    probes go on, warming up as a full step does, and the search still ends at the
    capacity."""
    settings = CapacitySettings()
    service = WarmingUp(300.0, cold_above=1e9)
    service.noisy_probe_at = {8.0}
    outcome = capacity_search(service, settings, clock=service.clock)
    probes = [w for phase, w in service.warmups if phase == "probe"]
    assert probes[0] == settings.probe_warmup_s and len(probes) >= 2
    assert all(w == settings.warmup_s for w in probes[1:])
    assert outcome.confirmed and 0.95 * 300 <= outcome.best.requested_rate <= 300


class OptimisticProbes(Simulated):
    """A runtime whose probes pass above what its full steps hold: something it does
    every few seconds (a tracing SDK's batch export every 5 s) falls outside a probe's 3 s
    but inside every full step. As recorded for python at xs
    (docs/example/capacity/steps/python-xs.csv): probes passed at 8, 11.5 and 14.2 it/s,
    and full steps failed at 17.5, 16.0, 15.1, 14.6, 14.2, 13.8 and 12.6."""

    def __init__(self, capacity: float, probes_pass_up_to: float):
        super().__init__(capacity, cpu_ceiling=probes_pass_up_to * 1.2)
        self.probes_pass_up_to = probes_pass_up_to

    def __call__(self, rate, phase, warmup_s, hold_s):
        result = super().__call__(rate, phase, warmup_s, hold_s)
        if phase == "probe" and rate <= self.probes_pass_up_to:
            result.passed, result.reasons, result.percentile_ms = True, [], 110.0
        if phase != "probe" and not result.passed:
            result.percentile_ms = 350.0  # a backlog, not an overload: the rate achieved
            result.achieved_rate = rate
        return result


def test_a_rate_only_a_probe_passed_is_held_before_the_bracket_above_it():
    """In 6 of the 11 searches in docs/example at 3723d5e whose first failing full step
    lay above a rate only a probe had passed, every full step between the two failed too
    (`python benchmarks/probe_trust.py` there): python at l, s and xs, and in the tracing
    sweep python at m and s and python-notrace at m. The search holds that rate first,
    and bisects below it when it fails."""
    service = OptimisticProbes(11.0, probes_pass_up_to=14.5)
    outcome = capacity_search(service, CapacitySettings(), clock=service.clock)
    full = [(rate, phase) for rate, phase in service.calls if phase != "probe"]
    best_probe = max(rate for rate, phase in service.calls if phase == "probe")
    assert full[0][0] > best_probe and full[1] == (best_probe, "step"), service.calls
    # Four full steps fail above the capacity, where one lattice step at a time down to
    # the probe's rate and below took six.
    assert len([rate for rate, _ in full if rate > 11.0]) <= 4, service.calls
    assert outcome.confirmed and outcome.best.requested_rate <= 11.0
    # Where the probes were right, the hold passes and the bracket goes on above it.
    service = Simulated(300.0)
    outcome = capacity_search(service, CapacitySettings(), clock=service.clock)
    assert outcome.confirmed and 0.95 * 300 <= outcome.best.requested_rate <= 300
