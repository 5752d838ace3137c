"""The capacity search of one cell: predict the knee, bracket it, confirm it k of k times.

1. **Probes**: short constant-rate steps from `start_rate`. Each passing probe measures
   the runtime's CPU per iteration, and the utilisation law turns that into the rate at
   which its CPU limit would be full (limit ÷ CPU seconds per iteration). The probes jump
   towards that prediction (×1.25 to ×8 a probe) and stop once near it, or at the first
   failure, so the search spends its time at the knee, not climbing to it. A probe that
   failed only just, on latency alone, is held again as a full step; where that passes,
   the probes from then on warm up as long as a full step.
2. **Bracket**: full steps (a warm-up, then a hold long enough for a growing backlog to
   show) between the best passing rate and the lowest failing one: before any failure,
   aimed just below the prediction and then at it; after, at the geometric midpoint of
   the best pass and the likely knee (an overloaded step still achieves about what the
   runtime can serve). Where only a probe passed at the best rate, that rate is held
   first, and then the bracket above it halved; below a rate where a probe passed and a
   full step failed, the bracket is halved too. Rates lie on one fixed geometric lattice
   (ratio 1 + `precision`), the same for every search, so repeated searches land on the
   same rates.
3. **Confirmation**: once the best pass and the lowest failure are neighbours on the
   lattice, the best pass is held until it passed `confirmations` (k) full holds. A hold
   that fails makes its rate a failing one and the search goes on below it (1, 2, 4
   lattice steps down as such rates add up), so the
   answer is the highest rate that passed k of k holds, with the lowest failing rate
   above it.

Every step is kept. A time budget bounds the search: one that runs out reports its best
rate with the holds it passed (n of k), never "none" while a rate passed.
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
STEP_OVERHEAD_S = 3.0
# Probes climb by at least this factor and at most that one, towards PROBE_AIM of the
# prediction, and stop once they reach NEAR_PREDICTION of it: the full steps take over.
# A runtime's CPU per iteration falls as its rate rises (fixed costs spread over more
# requests), so a prediction from a low rate is low: the probes climb to refine it.
PROBE_FACTORS = (1.25, 8.0)
PROBE_AIM = 0.8
NEAR_PREDICTION = 0.75
# Below this share of the prediction, the first full step aims at BELOW_PREDICTION of it
# (a runtime's latency knee lies a little below its CPU limit, so that step most likely
# passes); above it, the next step tests the prediction itself.
CLOSE_TO_PREDICTION = 0.8
BELOW_PREDICTION = 0.92


class SearchStopped(Exception):
    """Raised by a step runner when no further step can run (the runtime cannot be placed
    again after it died): the search ends with what the steps so far say."""


class RateLattice:
    """The rates a search may offer: 2^(i/n) iterations per second, n chosen so that
    neighbours differ by about `precision`."""

    def __init__(self, precision: float):
        self.per_octave = max(1, round(math.log(2) / math.log1p(precision)))

    def index(self, rate: float) -> float:
        return math.log2(rate) * self.per_octave

    def rate(self, index: int) -> float:
        return 2 ** (index / self.per_octave)

    def nearest(self, rate: float) -> float:
        return self.rate(round(self.index(rate)))

    def below(self, rate: float) -> float:
        """The highest lattice rate at or below `rate`."""
        return self.rate(math.floor(self.index(rate) + 1e-9))

    def neighbours(self, lo: float, hi: float) -> bool:
        """No lattice rate lies strictly between lo and hi."""
        return round(self.index(hi)) - round(self.index(lo)) <= 1

    def between(self, lo: float, target: float, hi: float) -> float:
        """The lattice rate nearest `target` strictly between lo and hi (lo < hi, not
        neighbours)."""
        low, high = round(self.index(lo)) + 1, round(self.index(hi)) - 1
        return self.rate(min(max(round(self.index(target)), low), high))


@dataclass
class Prediction:
    """The utilisation law's CPU-bound ceiling, from one passing step's CPU per iteration;
    and where the load side's cores would be full, from what its processes used of them in
    that step."""

    rate: float  # iterations per second at which the CPU limit would be full
    step: str  # the step it comes from
    cpu_ms_per_iteration: float
    load_side_rate: float | None = None  # ... at which the load side's CPUs would be full

    @property
    def ceiling(self) -> float:
        """Where the search aims: the lower of the runtime's and the load side's ceilings
        (on a contended tier they share the host's CPUs, and past the load side's the
        steps measure the load generator, not the runtime)."""
        return min(self.rate, self.load_side_rate or self.rate)


@dataclass
class SearchOutcome:
    steps: list[StepResult] = field(default_factory=list)
    best: StepResult | None = None  # a passing full step at the capacity rate
    capacity_steps: list[StepResult] = field(default_factory=list)  # all of them
    failing: StepResult | None = None  # the lowest failing step above the best
    confirmations: int = 0  # full holds the capacity rate passed
    needed: int = 3  # full holds a confirmed capacity passed (k)
    converged: bool = False  # best and failing neighbours on the lattice (or max_rate)
    reached_max_rate: bool = False
    budget_exhausted: bool = False
    stopped: str | None = None  # why the search ended early, when a step runner stopped it
    unconfirmed_why: str | None = None  # why the capacity passed fewer than k holds
    prediction: Prediction | None = None
    search_s: float = 0.0
    # Set when the probes were made to warm up as long as a full step (a probe failed
    # where the full step at its rate passed).
    probe_warmup_s: float | None = None

    @property
    def confirmed(self) -> bool:
        return self.best is not None and self.confirmations >= self.needed


@dataclass
class _Knowledge:
    """What the steps so far say about each rate."""

    passed: dict[float, list[StepResult]] = field(default_factory=dict)
    failed: dict[float, StepResult] = field(default_factory=dict)

    def record(self, result: StepResult) -> None:
        rate = result.requested_rate
        failure = self.failed.get(rate)
        if result.passed and failure is not None and failure.phase == "probe":
            # A full step outweighs a probe: its hold is longer, its p99 surer.
            del self.failed[rate]
            failure = None
        if result.passed and failure is None:
            self.passed.setdefault(rate, []).append(result)
        elif not result.passed and (failure is None or failure.phase == "probe"):
            self.failed[rate] = result

    @property
    def lowest_failure(self) -> float | None:
        return min(self.failed) if self.failed else None

    def candidates(self) -> list[float]:
        """Rates that passed and lie below every failure, highest first."""
        ceiling = self.lowest_failure
        return sorted((r for r in self.passed if ceiling is None or r < ceiling), reverse=True)

    def best_pass(self) -> float | None:
        candidates = self.candidates()
        return candidates[0] if candidates else None

    def full_passes(self, rate: float) -> list[StepResult]:
        return [s for s in self.passed.get(rate, []) if s.phase != "probe"]

    def probe_overshot(self) -> bool:
        """A rate whose probe passed failed a full hold."""
        return any(
            any(s.phase == "probe" for s in self.passed.get(rate, [])) for rate in self.failed
        )

    def likely_ceiling(self, lo: float) -> float | None:
        """Where the knee probably is, below the lowest failing rate: an overloaded step
        still achieves about what the runtime can serve, so the highest rate achieved in
        a failing step is a close upper estimate."""
        hi = self.lowest_failure
        if hi is None:
            return None
        achieved = [
            r.achieved_rate * 1.02
            for r in self.failed.values()
            if r.achieved_rate and r.achieved_rate > lo
        ]
        return min([hi, *achieved])

    def prediction(self) -> Prediction | None:
        """The utilisation law's ceiling from the highest passing step that measured CPU."""
        measured = [
            s
            for rate in self.candidates()
            for s in self.passed[rate]
            if s.cpu_pct and s.achieved_rate and s.cpu_pct > 0
        ]
        if not measured:
            return None
        step = max(measured, key=lambda s: (s.requested_rate, s.phase != "probe"))
        share = step.cpu_pct / 100
        # What the load side's own processes used of its cores (the runtime's too where
        # they share them): the host's busy share would count whatever else ran there.
        used = step.load_side_share
        return Prediction(
            rate=step.achieved_rate / share,
            step=step.name,
            cpu_ms_per_iteration=1000 * (step.cpu_cores or 0.0) / step.achieved_rate,
            load_side_rate=step.achieved_rate / used if used and used > 0.02 else None,
        )


class _Search:
    def __init__(self, run: StepRunner, settings: CapacitySettings, clock: Callable[[], float]):
        self.run, self.settings, self.clock = run, settings, clock
        self.started = clock()
        self.outcome = SearchOutcome(needed=settings.confirmations)
        self.known = _Knowledge()
        self.lattice = RateLattice(settings.precision)
        self.full_s = settings.warmup_s + settings.hold_s + STEP_OVERHEAD_S
        self.probe_warmup_s = settings.probe_warmup_s

    @property
    def probe_s(self) -> float:
        """What a probe costs the budget, at the probes' warm-up of the moment."""
        return self.probe_warmup_s + self.settings.probe_hold_s + STEP_OVERHEAD_S

    def step(self, rate: float, phase: str) -> StepResult:
        if phase == "probe":
            result = self.run(rate, phase, self.probe_warmup_s, self.settings.probe_hold_s)
        else:
            result = self.run(rate, phase, self.settings.warmup_s, self.settings.hold_s)
        self.outcome.steps.append(result)
        self.known.record(result)
        return result

    def full_step(self, rate: float) -> StepResult:
        return self.step(rate, "confirm" if self.known.full_passes(rate) else "step")

    def affordable(self, seconds: float) -> bool:
        if self.clock() - self.started + seconds <= self.settings.time_budget_s:
            return True
        self.outcome.budget_exhausted = True
        return False

    def doubtful(self, result: StepResult) -> bool:
        return doubtful(result, self.settings)

    def probe_upwards(self) -> None:
        settings = self.settings
        rate = self.lattice.nearest(min(settings.start_rate, settings.max_rate))
        while self.affordable(self.probe_s):
            probe = self.step(rate, "probe")
            if not probe.passed:
                if not (
                    self.doubtful(probe)
                    and self.affordable(self.full_s)
                    and self.step(rate, "step").passed
                ):
                    return
                self.warm_probes_longer()
            if rate >= settings.max_rate:
                self.outcome.reached_max_rate = True
                return
            prediction = self.known.prediction()
            if prediction is not None and rate >= NEAR_PREDICTION * prediction.ceiling:
                return
            low, high = PROBE_FACTORS
            aim = None if prediction is None else PROBE_AIM * prediction.ceiling / rate
            factor = 2.0 if aim is None else min(high, max(low, aim))
            rate = min(self.lattice.nearest(rate * factor), settings.max_rate)

    def warm_probes_longer(self) -> None:
        """A probe failed where the full step at its rate passed: what the full step has
        and the probe lacks is its longer warm-up (a runtime placed afresh still compiling
        or filling its caches through the probe's). The probes from here on warm up as
        long as a full step does, so they stop failing where full holds pass."""
        if self.probe_warmup_s < self.settings.warmup_s:
            self.probe_warmup_s = self.outcome.probe_warmup_s = self.settings.warmup_s

    def probe_downwards(self) -> bool:
        """Probes at half the lowest failure, and half again, until one passes."""
        rate = self.lattice.below((self.known.lowest_failure or self.settings.start_rate) / 2)
        while rate >= self.settings.min_rate and self.affordable(self.probe_s):
            if self.step(rate, "probe").passed:
                return True
            rate = self.lattice.below(rate / 2)
        return False

    def aim(self, lo: float, hi: float | None) -> float:
        """The next full step's rate above the best pass `lo`."""
        prediction = self.known.prediction()
        if hi is None:
            if prediction is None:
                target = 2 * lo
            elif lo < CLOSE_TO_PREDICTION * prediction.ceiling:
                target = BELOW_PREDICTION * prediction.ceiling
            else:
                target = max(prediction.ceiling * 1.02, lo * 1.06)
            above = self.lattice.rate(round(self.lattice.index(lo)) + 1)
            rate = max(self.lattice.nearest(min(target, 4 * lo)), above)
            return min(rate, self.settings.max_rate)
        if self.known.full_passes(hi):
            # hi passed full holds before it failed one: the knee lies just below it. Each
            # further rate that does the same doubles the way down (1, 2, 4 lattice
            # steps), so a search whose confirmations keep failing reaches a rate that
            # holds within its budget. (Where only a probe passed at hi, its short hold
            # says little of the knee: the bracket below it is halved, as any.)
            flaky = sum(1 for rate in self.known.failed if self.known.full_passes(rate))
            down = (1 + self.settings.precision) ** (2 ** (flaky - 1))
            return self.lattice.between(lo, hi / down, hi)
        ceiling = self.known.likely_ceiling(lo) or hi
        if prediction is not None:
            ceiling = min(ceiling, max(prediction.ceiling * 1.02, lo))
        return self.lattice.between(lo, math.sqrt(lo * max(ceiling, lo)), hi)

    def holds_to_finish(self, lo: float, hi: float | None, needed: int) -> int:
        """Full holds a bracketing step commits the search to, so that it still ends
        confirmed: the step and what `lo` still needs, should the step fail; or, going
        down to the neighbour of a rate that passed holds before it failed one, the k
        holds of that neighbour, which most likely passes."""
        if hi is not None and self.known.full_passes(hi):
            return self.settings.confirmations
        return 1 + max(needed, 0)

    def unproven_probe_pass(self, lo: float, hi: float | None) -> bool:
        """Only a probe passed at the best rate `lo` and a full step failed above it: lo
        is held before the bracket above it. A probe's few seconds miss what a runtime
        does every few seconds, and where they did, every rate between failed too
        (docs/capacity.md, the search). Once a probe's rate has failed its full hold, the
        lower probes are no surer, and the bracket is halved from there."""
        return hi is not None and not self.known.full_passes(lo) and not self.known.probe_overshot()

    def settled(self, lo: float, hi: float | None) -> bool:
        """Nothing left to bracket: lo's neighbour on the lattice failed, or lo is the
        search's upper bound."""
        if hi is None:
            return lo >= self.settings.max_rate
        return self.lattice.neighbours(lo, hi)

    def search(self) -> None:
        self.probe_upwards()
        while True:
            lo, hi = self.known.best_pass(), self.known.lowest_failure
            if lo is None:
                if hi is None or not self.probe_downwards():
                    return
                continue
            needed = self.settings.confirmations - len(self.known.full_passes(lo))
            if self.settled(lo, hi):
                if lo >= self.settings.max_rate:
                    self.outcome.reached_max_rate = True
                if needed <= 0 or not self.affordable(self.full_s):
                    return
                self.full_step(lo)
            elif self.affordable(self.full_s * self.holds_to_finish(lo, hi, needed)):
                self.full_step(lo if self.unproven_probe_pass(lo, hi) else self.aim(lo, hi))
            elif needed > 0 and self.affordable(self.full_s):
                # No time left to finish confirmed: hold again what passed a full hold,
                # or a probe's pass yet to be held (as above); else, where only a probe
                # passed, the rate the bracket aims at, nearer the knee (a probe-only
                # rate needs k holds as much as any).
                again = self.known.full_passes(lo) or self.unproven_probe_pass(lo, hi)
                self.full_step(lo if again else self.aim(lo, hi))
            else:
                return

    def finish(self) -> SearchOutcome:
        outcome, known, k = self.outcome, self.known, self.settings.confirmations
        outcome.prediction = known.prediction()
        candidates = known.candidates()
        confirmed = [r for r in candidates if len(known.full_passes(r)) >= k]
        if confirmed:
            rate = confirmed[0]
        elif candidates:
            rate = candidates[0]
        elif known.passed:
            # Every rate that passed lies above a failure: the lowest of them is what the
            # record can say, unconfirmed.
            rate = min(known.passed)
        else:
            rate = None
        if rate is not None:
            holds = known.full_passes(rate)
            outcome.capacity_steps = holds or known.passed[rate]
            outcome.best = outcome.capacity_steps[-1]
            outcome.confirmations = len(holds)
            if outcome.confirmations < k:
                outcome.unconfirmed_why = self._unconfirmed_why(rate, candidates)
        above = [r for r in known.failed if rate is None or r > rate]
        outcome.failing = known.failed[min(above)] if above else None
        if rate is not None:
            outcome.converged = (
                self.lattice.neighbours(rate, min(above)) if above else outcome.reached_max_rate
            )
        outcome.search_s = self.clock() - self.started
        return outcome

    def _unconfirmed_why(self, rate: float, candidates: list[float]) -> str:
        if self.outcome.stopped:
            return "the runtime could not be placed again"
        if rate not in candidates:
            return "a lower rate failed after this one passed"
        if self.outcome.budget_exhausted:
            return "time budget"
        return "search ended"


def capacity_search(
    run: StepRunner, settings: CapacitySettings, clock: Callable[[], float] = time.monotonic
) -> SearchOutcome:
    search = _Search(run, settings, clock)
    try:
        search.search()
    except SearchStopped as stop:
        search.outcome.stopped = str(stop)
    return search.finish()


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
