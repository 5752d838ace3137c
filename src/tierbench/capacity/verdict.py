"""Why a cell's search stopped where it did (`limited_by`), from the evidence of the lowest
failing step above the answer, and whether the answer is a capacity or a lower bound.

In order: `memory` (an OOM kill, or the working set near the limit), `load-generator`
(the load side's CPUs had no idle time left by the host's own counters, k6 the larger
user of them; on a contended tier the host's CPUs, shared with the runtime; or iterations
dropped while latency was still within the SLO: k6 ran short of VUs, not the runtime of
speed), `upstream` (the same, with the support services the larger user: a mock LLM or a
database set the limit), `cpu` (the runtime at its CPU limit, or throttled in a fifth of
CFS periods or more), `errors` (errors broke the step with CPU to spare), and `latency`
(the SLO broke with CPU to spare: a concurrency limit, a single-threaded loop, an
upstream's latency). When the load generator, an upstream or the search's own bound
stopped the search, the figure is a lower bound of the runtime's capacity and is reported
as "≥ N req/s", never as a capacity.

Beside the cause, the utilisation law's prediction (the rate at which the CPU limit would
be full, from the CPU per iteration of the passing steps) is set against what was found:
a runtime that stopped far below it was not CPU-bound, whatever else stopped it.
"""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass, field
from typing import Any

from tierbench.capacity.load_side import LoadSide, load_side
from tierbench.capacity.search import SearchOutcome
from tierbench.capacity.settings import CapacitySettings
from tierbench.capacity.steps import StepResult

# A share of a resource counted as full: the working set of the memory limit, the CPU
# limit's share a runtime uses at its knee.
SATURATED = 0.9
# The host's counters: CPUs idle less than 5 % of a hold had no room left for the load
# generator's bursts (a saturated k6 core reads 97-100 % busy here).
CPUS_FULL = 0.95
# On a contended tier the runtime shares the host's CPUs with the load generator, and its
# requests wait behind k6's in the run queue before the CPUs are full.
CONTENDED_BUSY = 0.8
# Share of CFS periods throttled counted as CPU-bound: in a throttled period the runtime
# used its whole quota, and its requests waited for the next period.
THROTTLED = 0.2
# Found below this share of the utilisation law's prediction: not CPU-bound.
FAR_BELOW_PREDICTION = 0.8
# A step whose SLO broke with CPU to spare while it offered this share of the load side's
# measured ceiling or more was broken by the load side: k6's bursts need room on its cores.
NEAR_LOAD_SIDE = 0.85
LOWER_BOUND_CAUSES = ("load-generator", "upstream", "search-bound")


@dataclass(frozen=True)
class Verdict:
    capacity_rps: float | None  # HTTP requests per second, the mean of the capacity's holds
    capacity_rate: float | None  # iterations per second offered at the capacity
    lower_bound: bool
    limited_by: str
    reason: str
    latency_ms_at_capacity: float | None  # the SLO's percentile, the worst of the holds
    cpu_pct_at_capacity: float | None
    memory_pct_at_capacity: float | None
    memory_peak_bytes: float | None  # the highest working set over every passing step
    failed_at_rate: float | None = None  # the lowest failing rate above the capacity
    failed_at_rps: float | None = None  # ... in requests per second offered
    confirmations: int = 0  # full holds the capacity rate passed
    confirmations_needed: int = 0  # k
    unconfirmed_why: str | None = None
    predicted_rps: float | None = None  # the utilisation law's CPU-bound ceiling
    iterations_per_s: float | None = None  # achieved at the capacity, the mean of its holds
    p99_ms_by_name_at_capacity: dict[str, float] = field(default_factory=dict)
    load_side_ceiling_rps: float | None = None  # where the load side's cores would be full

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def confirmed(self) -> bool:
        return self.capacity_rps is not None and self.confirmations >= self.confirmations_needed

    @property
    def shown(self) -> str:
        """The capacity as people read it: "1,234 req/s", or "≥ 1,234 req/s"."""
        if self.capacity_rps is None:
            return "none"
        return f"{'≥ ' if self.lower_bound else ''}{self.capacity_rps:,.0f} req/s"


def _load_side_full(step: StepResult, shared: bool) -> str | None:
    """The load side's CPUs had no room left, by the host's counters (or, where none were
    read, by the counted processes); the evidence in words, or None."""
    k6, support = step.k6_cpu_cores or 0.0, step.support_cpu_cores or 0.0
    if step.load_cpus_busy is not None:
        if step.load_cpus_busy < (CONTENDED_BUSY if shared else CPUS_FULL):
            return None
        which = "the host's CPUs, shared with the runtime," if shared else "the load side's CPUs"
        return (
            f"{which} were {step.load_cpus_busy:.0%} busy by the host's counters (k6 "
            f"{k6:.2f} cores, the support services {support:.2f}"
            + (f", the runtime {step.cpu_cores or 0:.2f}" if shared else "")
            + ")"
        )
    if step.k6_cpu_cores is not None and step.k6_cpu_cores >= SATURATED:
        return f"k6 used {step.k6_cpu_cores:.2f} of a core"
    if step.load_side_share is not None and step.load_side_share >= SATURATED:
        return f"the load side's counted processes used {step.load_side_share:.0%} of its cores"
    return None


def _short_of_vus(step: StepResult, settings: CapacitySettings) -> str | None:
    within_slo = step.percentile_ms is not None and step.percentile_ms <= settings.slo_ms
    if not (step.dropped_iterations and within_slo):
        return None
    vus = step.vus_max or 0
    busy = (
        f"all {vus:.0f} VUs it may start were busy (raise capacity.max_vus)"
        if vus >= settings.max_vus
        else f"all {vus:.0f} VUs it had started were busy (it may start {settings.max_vus})"
    )
    return (
        f"k6 dropped {step.dropped_iterations} iterations while {settings.percentile_label} "
        f"was {step.percentile_ms:.0f} ms, within the SLO: {busy}; the load generator ran "
        "short, not the runtime"
    )


def _cpu_bound(step: StepResult) -> str | None:
    cpu_full = step.cpu_pct is not None and step.cpu_pct >= 100 * SATURATED
    throttled = step.throttled_share is not None and step.throttled_share >= THROTTLED
    if not (cpu_full or throttled):
        return None
    parts = []
    if step.cpu_pct is not None:
        parts.append(f"CPU at {step.cpu_pct:.0f} % of the limit")
    if step.throttled_share is not None:
        parts.append(f"throttled in {step.throttled_share:.0%} of CFS periods")
    return ", ".join(parts)


def _cause(step: StepResult, settings: CapacitySettings, shared: bool) -> tuple[str, str]:
    """(limited_by, the evidence in words) of a failing step."""
    if step.oom_killed:
        return "memory", "the runtime was OOM-killed"
    if step.memory_pct is not None and step.memory_pct >= 100 * SATURATED:
        return "memory", f"the working set reached {step.memory_pct:.0f} % of the memory limit"
    if evidence := _load_side_full(step, shared):
        support_led = (step.support_cpu_cores or 0.0) > (step.k6_cpu_cores or 0.0)
        return ("upstream" if support_led else "load-generator"), evidence
    if evidence := _short_of_vus(step, settings):
        return "load-generator", evidence
    if evidence := _cpu_bound(step):
        return "cpu", evidence
    latency_broke = any(r.startswith(settings.percentile_label) for r in step.reasons)
    spare = "" if step.cpu_pct is None else f" with CPU at {step.cpu_pct:.0f} % of the limit"
    if not latency_broke and any(r.startswith("errors") for r in step.reasons):
        return "errors", f"errors broke the step{spare}"
    if not latency_broke and any(r.startswith("spans lost") for r in step.reasons):
        return "tracing", f"spans lost: the tracing SDK dropped spans{spare}"
    return "latency", f"the SLO broke{spare}"


def _without_failure(outcome: SearchOutcome, settings: CapacitySettings, shared: bool):
    best = outcome.best
    if outcome.reached_max_rate:
        why = (
            f"every step passed up to the search's bound of {settings.max_rate:g} "
            "iterations/s (raise capacity.max_rate)"
        )
    else:
        why = "the search ended before any step failed"
    if best is not None and (evidence := _load_side_full(best, shared)):
        return "load-generator", evidence
    return "search-bound", why


def _mean(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.fmean(known) if known else None


def _prediction_words(found_rps: float | None, predicted_rps: float | None, cause: str) -> str:
    """What the utilisation law says of the answer."""
    if found_rps is None or not predicted_rps:
        return ""
    share = found_rps / predicted_rps
    law = f"the utilisation law (CPU limit ÷ CPU per request) predicts {predicted_rps:,.0f} req/s"
    if cause == "cpu":
        return f" Found {share:.0%} of what {law}."
    if share < FAR_BELOW_PREDICTION and cause not in ("memory", "load-generator", "upstream"):
        return f" Not CPU-bound: it stopped at {share:.0%} of what {law}."
    return f" {law[0].upper()}{law[1:]}: found {share:.0%} of it."


def _reason(
    outcome: SearchOutcome,
    limited_by: str,
    evidence: str,
    capacity_rps: float | None,
    failed_at_rps: float | None,
    predicted_rps: float | None,
) -> str:
    """Why the search stopped where it did, in words."""
    failing = outcome.failing
    at = (
        f" at {failing.offered_rate:.3g} iterations/s (offered {failed_at_rps or 0:,.0f} req/s: "
        f"{'; '.join(failing.reasons)})"
        if failing is not None
        else ""
    )
    if outcome.best is None:
        reason = f"No rate passed: {evidence}{at}."
    elif limited_by in LOWER_BOUND_CAUSES:
        reason = (
            f"At least {capacity_rps:,.0f} req/s: the search stopped because {evidence}{at}, "
            "so this is a lower bound of the runtime's capacity, not its capacity."
        )
    else:
        reason = f"Limited by {limited_by}: {evidence}{at}."
    reason += _prediction_words(capacity_rps, predicted_rps, limited_by)
    if outcome.best is not None and outcome.confirmations < outcome.needed:
        reason += (
            f" Passed {outcome.confirmations} of {outcome.needed} full holds at this rate "
            f"({outcome.unconfirmed_why or 'search ended'}): unconfirmed."
        )
    return reason


def load_side_bound(limited_by: str, offered_rps: float | None, side: LoadSide | None) -> bool:
    """Whether a step whose SLO broke with CPU to spare (`latency`, `errors`) offered so
    much of the load side's measured ceiling that the load side, not the runtime, may have
    broken it. `offered_rps` is the failing step's (or, where it is unknown, the capacity's):
    on a coarse lattice the capacity lies a whole step below the rate that failed."""
    ceiling = None if side is None else side.ceiling_rps
    if limited_by not in ("latency", "errors") or not offered_rps or not ceiling:
        return False
    return offered_rps >= NEAR_LOAD_SIDE * ceiling


def _near_load_side(
    limited_by: str, evidence: str, offered_rps: float | None, side: LoadSide | None
) -> tuple[str, str]:
    """A failure `load_side_bound` calls the load side's: (limited_by, evidence) then say so
    with the ceiling."""
    if not load_side_bound(limited_by, offered_rps, side):
        return limited_by, evidence
    assert side is not None and side.ceiling_rps and offered_rps
    return "load-generator", (
        f"{evidence}, in a step that offered {offered_rps / side.ceiling_rps:.0%} of the load "
        "side's measured ceiling"
    )


def classify(
    outcome: SearchOutcome,
    settings: CapacitySettings,
    shared_with_runtime: bool = False,
    load_side_cores: int = 0,
) -> Verdict:
    """The verdict of a search. `shared_with_runtime`: the tier was contended, so the
    runtime and the load side shared the host's cores; `load_side_cores`: how many the
    load side had, for its measured ceiling (`tierbench.capacity.load_side`)."""
    best, failing, holds = outcome.best, outcome.failing, outcome.capacity_steps or []
    if failing is None:
        limited_by, evidence = _without_failure(outcome, settings, shared_with_runtime)
    else:
        limited_by, evidence = _cause(failing, settings, shared_with_runtime)
    capacity_rps = _mean([s.rps for s in holds]) if holds else None
    per_iteration = _mean([s.requests_per_iteration for s in holds]) or (
        failing.requests_per_iteration if failing else None
    )
    failed_at_rps = (
        failing.offered_rate * per_iteration if failing is not None and per_iteration else None
    )
    side = load_side(outcome.steps, load_side_cores, shared_with_runtime)
    limited_by, evidence = _near_load_side(
        limited_by, evidence, failed_at_rps or capacity_rps, side
    )
    prediction = outcome.prediction
    predicted_rps = prediction.rate * per_iteration if prediction and per_iteration else None
    latencies = [s.percentile_ms for s in holds if s.percentile_ms is not None]
    passing = [s for s in outcome.steps if s.passed and s.memory_peak_bytes is not None]
    reason = _reason(outcome, limited_by, evidence, capacity_rps, failed_at_rps, predicted_rps)
    if side is not None and limited_by in ("load-generator", "upstream"):
        reason += f" The load side's measured ceiling: {side.words()}."
    return Verdict(
        capacity_rps=capacity_rps,
        capacity_rate=None if best is None else best.offered_rate,
        lower_bound=limited_by in LOWER_BOUND_CAUSES,
        limited_by=limited_by,
        reason=reason,
        latency_ms_at_capacity=max(latencies) if latencies else None,
        cpu_pct_at_capacity=_mean([s.cpu_pct for s in holds]),
        memory_pct_at_capacity=max(
            (s.memory_pct for s in holds if s.memory_pct is not None), default=None
        ),
        memory_peak_bytes=max((s.memory_peak_bytes for s in passing), default=None),
        failed_at_rate=None if failing is None else failing.offered_rate,
        failed_at_rps=failed_at_rps,
        confirmations=outcome.confirmations,
        confirmations_needed=outcome.needed,
        unconfirmed_why=outcome.unconfirmed_why,
        predicted_rps=predicted_rps,
        iterations_per_s=_mean([s.achieved_rate for s in holds]),
        p99_ms_by_name_at_capacity=_worst_by_name(holds),
        load_side_ceiling_rps=None if side is None else side.ceiling_rps,
    )


def _worst_by_name(holds: list[StepResult]) -> dict[str, float]:
    """Each request name's p99, the worst of the capacity's holds."""
    worst: dict[str, float] = {}
    for step in holds:
        for name, value in step.p99_ms_by_name.items():
            if value is not None:
                worst[name] = max(worst.get(name, value), value)
    return dict(sorted(worst.items()))


def failed_start_verdict(evidence: dict[str, Any]) -> Verdict:
    """The verdict of a cell whose runtime never started at this tier: no capacity, and
    why (an OOM kill at start is the memory limit's doing)."""
    oom = bool(evidence.get("oom_killed"))
    return Verdict(
        capacity_rps=None,
        capacity_rate=None,
        lower_bound=False,
        limited_by="memory" if oom else "failed-to-start",
        reason=f"The runtime failed to start at this tier: {evidence.get('reason', 'unknown')}.",
        latency_ms_at_capacity=None,
        cpu_pct_at_capacity=None,
        memory_pct_at_capacity=None,
        memory_peak_bytes=None,
    )
