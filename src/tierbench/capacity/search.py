"""The capacity search of one cell: where the knee is, then exactly where, then again.

1. **Probes**: a geometric staircase of short constant-rate steps (x2 each) from
   `start_rate`, an open-model ramp that stops at the first rate that fails. Short
   probes find the knee within a factor of two for a few seconds of load, and never
   hold the runtime far past it (an overloaded runtime's queue would poison what follows).
   A probe holds too few requests for a sure p99 (at a low rate it is nearly the slowest
   request), so a probe that failed on latency alone, and only just, is held again as a
   full step before it bounds the search: if the full step passes, the staircase climbs.
2. **Bisection**: full steps (warm-up, then a measured hold) at the geometric midpoint of
   the highest passing rate and the likely knee below the lowest failing one (an
   overloaded step still achieves about what the runtime can serve), until the best pass
   and the lowest failure are within `precision` (5 %) of each other. A rate that passed
   only a probe is held again before it counts.
3. **Confirmation**: the best rate is run once more; if it fails now, it counts as
   failing, and the search goes on below it.

The answer is the highest rate that passed a full step and its confirmation. Every step
is kept. A time budget bounds the search; a search that runs out says so.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from tierbench.capacity.settings import CapacitySettings
from tierbench.capacity.steps import StepResult

# run(rate, phase, warmup_s, hold_s) -> the judged step
StepRunner = Callable[[float, str, float, float], StepResult]
# A probe that failed on latency alone, within this multiple of the SLO, is held again.
DOUBTFUL_LATENCY = 2.0
# Seconds a step costs beyond its load (k6 start, summary, tidy, cool-down), for the budget.
STEP_OVERHEAD_S = 2.5


class SearchStopped(Exception):
    """Raised by a step runner when no further step can run (the runtime cannot be placed
    again after it died): the search ends with what the steps so far say."""


@dataclass
class SearchOutcome:
    steps: list[StepResult] = field(default_factory=list)
    best: StepResult | None = None  # the confirmed best step
    failing: StepResult | None = None  # the lowest failing step above the best
    converged: bool = False  # best and failing within `precision` (or max_rate reached)
    confirmed: bool = False
    reached_max_rate: bool = False
    budget_exhausted: bool = False
    stopped: str | None = None  # why the search ended early, when a step runner stopped it
    search_s: float = 0.0


@dataclass
class _Knowledge:
    """What the steps so far say about each rate."""

    passed: dict[float, list[str]] = field(default_factory=dict)  # rate -> phases passed
    failed: dict[float, StepResult] = field(default_factory=dict)

    def record(self, rate: float, result: StepResult) -> None:
        failure = self.failed.get(rate)
        if result.passed and failure is not None and failure.phase == "probe":
            # A full step outweighs a probe: its hold is longer, its p99 surer.
            del self.failed[rate]
            failure = None
        if result.passed and failure is None:
            self.passed.setdefault(rate, []).append(result.phase)
        elif not result.passed:
            self.passed.pop(rate, None)
            self.failed[rate] = result

    def likely_ceiling(self, lo: float, precision: float) -> float:
        """Where the knee probably is, below the lowest failing rate: an overloaded step
        still achieves about what the runtime can serve, so the highest rate achieved in
        a failing step is a close upper estimate. The next step aims between it and the
        best pass; only real failures count for convergence."""
        hi = self.lowest_failure
        assert hi is not None
        achieved = [
            r.achieved_rate
            for r in self.failed.values()
            if r.achieved_rate and r.achieved_rate > lo
        ]
        estimate = min([hi, *(a * 1.02 for a in achieved)])
        return max(estimate, lo * (1 + precision))

    @property
    def lowest_failure(self) -> float | None:
        return min(self.failed) if self.failed else None

    def best_pass(self) -> float | None:
        ceiling = self.lowest_failure
        below = [r for r in self.passed if ceiling is None or r < ceiling]
        return max(below) if below else None

    def full_passes(self, rate: float) -> int:
        return sum(1 for phase in self.passed.get(rate, []) if phase != "probe")


def capacity_search(
    run: StepRunner, settings: CapacitySettings, clock: Callable[[], float] = time.monotonic
) -> SearchOutcome:
    started = clock()
    outcome = SearchOutcome()
    known = _Knowledge()
    full_step_s = settings.warmup_s + settings.hold_s + STEP_OVERHEAD_S
    probe_s = settings.probe_warmup_s + settings.probe_hold_s + STEP_OVERHEAD_S

    def step(rate: float, phase: str) -> StepResult:
        if phase == "probe":
            result = run(rate, phase, settings.probe_warmup_s, settings.probe_hold_s)
        else:
            result = run(rate, phase, settings.warmup_s, settings.hold_s)
        outcome.steps.append(result)
        known.record(rate, result)
        return result

    def affordable(seconds: float) -> bool:
        if clock() - started + seconds <= settings.time_budget_s:
            return True
        outcome.budget_exhausted = True
        return False

    try:
        _search(step, settings, affordable, probe_s, full_step_s, outcome, known)
    except SearchStopped as stop:
        outcome.stopped = str(stop)
    _finish(outcome, known, settings)
    outcome.search_s = clock() - started
    return outcome


def _search(step, settings, affordable, probe_s, full_step_s, outcome, known) -> None:
    _probe_upwards(step, settings, affordable, probe_s, outcome)
    if known.best_pass() is None:
        _probe_downwards(step, settings, affordable, probe_s, known)
    while (lo := known.best_pass()) is not None:
        hi = known.lowest_failure
        if hi is not None and hi / lo > 1 + settings.precision:
            rate, phase = math.sqrt(lo * known.likely_ceiling(lo, settings.precision)), "step"
        elif known.full_passes(lo) == 0:
            rate, phase = lo, "step"
        elif known.full_passes(lo) == 1:
            rate, phase = lo, "confirm"
        else:
            break
        if not affordable(full_step_s):
            break
        step(rate, phase)
        if known.best_pass() is None and hi is not None:
            # Everything that passed has now failed a full step: look lower again.
            _probe_downwards(step, settings, affordable, probe_s, known)


def _finish(outcome: SearchOutcome, known: _Knowledge, settings: CapacitySettings) -> None:
    best = known.best_pass()
    if best is not None and known.full_passes(best) >= 1:
        outcome.best = next(
            s
            for s in reversed(outcome.steps)
            if s.phase != "probe" and s.passed and s.requested_rate == best
        )
        outcome.confirmed = known.full_passes(best) >= 2
    hi = known.lowest_failure
    outcome.failing = known.failed[hi] if hi is not None else None
    if best is not None:
        outcome.converged = (hi is not None and hi / best <= 1 + settings.precision) or (
            hi is None and outcome.reached_max_rate
        )


def doubtful(result: StepResult, settings: CapacitySettings) -> bool:
    """A failure that only its latency, and only just, decided: a probe's short hold may
    have caught one slow request. An overloaded probe (drops, a rate not achieved, a p99
    far past the SLO) is no doubt."""
    label = settings.percentile_label
    return (
        bool(result.reasons)
        and all(reason.startswith(label) for reason in result.reasons)
        and result.percentile_ms is not None
        and result.percentile_ms <= DOUBTFUL_LATENCY * settings.slo_ms
    )


def _probe_upwards(step, settings, affordable, probe_s, outcome) -> None:
    rate = settings.start_rate
    full_step_s = settings.warmup_s + settings.hold_s + STEP_OVERHEAD_S
    while affordable(probe_s):
        probe = step(rate, "probe")
        if not probe.passed and not (
            doubtful(probe, settings) and affordable(full_step_s) and step(rate, "step").passed
        ):
            return
        if rate >= settings.max_rate:
            outcome.reached_max_rate = True
            return
        rate = min(rate * 2, settings.max_rate)


def _probe_downwards(step, settings, affordable, probe_s, known) -> None:
    rate = (known.lowest_failure or settings.start_rate) / 2
    while rate >= settings.min_rate and affordable(probe_s):
        if step(rate, "probe").passed:
            return
        rate /= 2
