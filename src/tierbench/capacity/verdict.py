"""Why a cell's search stopped where it did (`limited_by`), from the evidence of the lowest
failing step above the answer, and whether the answer is a capacity or a lower bound.

In order: `memory` (an OOM kill, or the working set near the limit), `load-generator`
(k6 near a full core, the load side's cores full, on a contended tier the host's cores
as full as they get, or iterations dropped while latency
was still within the SLO: k6 ran short of VUs, not the runtime of speed; a step that
dropped iterations only for want of VUs is held again with a larger pool first), `upstream` (the
support services' containers used the load side's cores: a mock LLM or a database set
the limit), `cpu` (the runtime at its CPU limit, or throttled in a fifth of CFS periods or more),
`errors` (errors broke the step with CPU to spare), and `latency` (the SLO broke with
CPU to spare: a single-threaded loop, an upstream's latency). When the load generator,
an upstream or the search's own bound stopped the search, the figure is a lower bound of
the runtime's capacity and is reported as "≥ N req/s", never as a capacity.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from tierbench.capacity.search import SearchOutcome
from tierbench.capacity.settings import CapacitySettings
from tierbench.capacity.steps import StepResult

SATURATED = 0.9  # share of a resource counted as full
# Share of CFS periods throttled counted as CPU-bound: in a throttled period the runtime
# used its whole quota, and its requests waited for the next period.
THROTTLED = 0.2
# On a contended tier the runtime, k6 and the support services share the host's cores, and
# what the sampler does not count (the engine, the sampler itself, the kernel's loopback
# network) takes its share too: counted processes at this share of the host's cores leave
# the runtime no core it could still have had.
CONTENDED_FULL = 0.8
LOWER_BOUND_CAUSES = ("load-generator", "upstream", "search-bound")


@dataclass(frozen=True)
class Verdict:
    capacity_rps: float | None  # HTTP requests per second at the best step
    capacity_rate: float | None  # iterations per second offered at the best step
    lower_bound: bool
    limited_by: str
    reason: str
    latency_ms_at_capacity: float | None
    cpu_pct_at_capacity: float | None
    memory_pct_at_capacity: float | None
    memory_peak_bytes: float | None  # the highest working set over every passing step

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def shown(self) -> str:
        """The capacity as people read it: "1,234 req/s", or "≥ 1,234 req/s"."""
        if self.capacity_rps is None:
            return "none"
        return f"{'≥ ' if self.lower_bound else ''}{self.capacity_rps:,.0f} req/s"


def _load_generator(
    step: StepResult, settings: CapacitySettings, shared: bool = False
) -> str | None:
    if step.k6_cpu_cores is not None and step.k6_cpu_cores >= SATURATED:
        return f"k6 used {step.k6_cpu_cores:.2f} of a core"
    if shared and step.load_side_share is not None and step.load_side_share >= CONTENDED_FULL:
        return (
            f"the host's cores were {step.load_side_share:.0%} busy, shared by the runtime "
            f"({step.cpu_cores or 0:.2f} cores), k6 ({step.k6_cpu_cores or 0:.2f}) and the "
            f"support services ({step.support_cpu_cores or 0:.2f}): this tier asks for more "
            "cores than the host can keep apart from the load generator"
        )
    support = step.support_cpu_cores or 0.0
    if (
        step.load_side_share is not None
        and step.load_side_share >= SATURATED
        and support <= (step.k6_cpu_cores or 0.0)
    ):
        return f"the load side's cores were {step.load_side_share:.0%} busy, mostly with k6"
    within_slo = step.percentile_ms is not None and step.percentile_ms <= settings.slo_ms
    if step.dropped_iterations and within_slo:
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
    return None


def _upstream(step: StepResult) -> str | None:
    support = step.support_cpu_cores or 0.0
    if (
        step.load_side_share is not None
        and step.load_side_share >= SATURATED
        and support > (step.k6_cpu_cores or 0.0)
    ):
        return (
            f"the support services used {support:.2f} cores and the load side's cores were "
            f"{step.load_side_share:.0%} busy"
        )
    return None


def _cause(step: StepResult, settings: CapacitySettings, shared: bool) -> tuple[str, str]:
    """(limited_by, the evidence in words) of a failing step."""
    if step.oom_killed:
        return "memory", "the runtime was OOM-killed"
    if step.memory_pct is not None and step.memory_pct >= 100 * SATURATED:
        return "memory", f"the working set reached {step.memory_pct:.0f} % of the memory limit"
    if evidence := _load_generator(step, settings, shared):
        return "load-generator", evidence
    if evidence := _upstream(step):
        return "upstream", evidence
    cpu_full = step.cpu_pct is not None and step.cpu_pct >= 100 * SATURATED
    throttled = step.throttled_share is not None and step.throttled_share >= THROTTLED
    if cpu_full or throttled:
        parts = []
        if step.cpu_pct is not None:
            parts.append(f"CPU at {step.cpu_pct:.0f} % of the limit")
        if step.throttled_share is not None:
            parts.append(f"throttled in {step.throttled_share:.0%} of CFS periods")
        return "cpu", ", ".join(parts)
    latency_broke = any(r.startswith(settings.percentile_label) for r in step.reasons)
    spare = "" if step.cpu_pct is None else f" with CPU at {step.cpu_pct:.0f} % of the limit"
    if not latency_broke and any(r.startswith("errors") for r in step.reasons):
        return "errors", f"errors broke the step{spare}"
    return "latency", f"the SLO broke{spare}"


def classify(
    outcome: SearchOutcome, settings: CapacitySettings, shared_with_runtime: bool = False
) -> Verdict:
    """The verdict of a search. `shared_with_runtime`: the tier was contended, so the
    runtime and the load side shared the host's cores."""
    best, failing = outcome.best, outcome.failing
    passing = [s for s in outcome.steps if s.passed and s.memory_peak_bytes is not None]
    memory_peak = max((s.memory_peak_bytes for s in passing), default=None)
    if failing is None:
        limited_by, evidence = (
            "search-bound",
            (
                f"every step passed up to the search's bound of {settings.max_rate:g} iterations/s "
                "(raise capacity.max_rate)"
                if outcome.reached_max_rate
                else "the search ran out of time before any step failed"
            ),
        )
        if best is not None and (why := _load_generator(best, settings, shared_with_runtime)):
            limited_by, evidence = "load-generator", why
    else:
        limited_by, evidence = _cause(failing, settings, shared_with_runtime)
    at = (
        f" at {failing.offered_rate:.3g} iterations/s ({failing.rps or 0:,.0f} req/s: "
        f"{'; '.join(failing.reasons)})"
        if failing is not None
        else ""
    )
    lower_bound = limited_by in LOWER_BOUND_CAUSES
    if best is None:
        reason = f"No rate passed: {evidence}{at}."
    elif lower_bound:
        reason = (
            f"At least {best.rps:,.0f} req/s: the search stopped because {evidence}{at}, so "
            "this is a lower bound of the runtime's capacity, not its capacity."
        )
    else:
        reason = f"Limited by {limited_by}: {evidence}{at}."
    if best is not None and not outcome.confirmed:
        reason += " The best step was not confirmed by a second run (time budget)."
    return Verdict(
        capacity_rps=None if best is None else best.rps,
        capacity_rate=None if best is None else best.offered_rate,
        lower_bound=lower_bound,
        limited_by=limited_by,
        reason=reason,
        latency_ms_at_capacity=None if best is None else best.percentile_ms,
        cpu_pct_at_capacity=None if best is None else best.cpu_pct,
        memory_pct_at_capacity=None if best is None else best.memory_pct,
        memory_peak_bytes=memory_peak,
    )


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
