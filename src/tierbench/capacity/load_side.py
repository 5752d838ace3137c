"""The load side's measured ceiling: what k6 and the support services spend per request on
the user's own script, and the rate at which the load side's cores would be full.

Every capacity step records the CPU that k6 and the support services used over its hold
(their own counters) and the requests it served. Over a search's passing steps, a straight
line through CPU against req/s separates what each costs per request (its slope) from what
it spends whatever the rate (its intercept: k6's own ticking, an idle event loop); the
ceiling is the rate at which the line reaches the load side's cores. Where the steps span
too narrow a range of rates for a line, CPU per request at the busiest steps stands in
(an upper estimate of the cost, so a lower estimate of the ceiling). On a contended tier
the runtime shares those cores, and its own CPU counts too. A cell stopped by the load
side says so with this figure; capacity.md and `tierbench doctor` state it."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from tierbench.capacity.steps import StepResult

# A line needs this many passing steps, whose rates span at least this factor.
MIN_STEPS = 3
MIN_SPAN = 2.0
# Without a line: the busiest passing steps that CPU per request is taken over.
BUSIEST_STEPS = 3


@dataclass(frozen=True)
class Cost:
    """One process group's CPU as a line in the request rate: cores = fixed + ms × rps."""

    ms_per_request: float
    fixed_cores: float = 0.0


@dataclass(frozen=True)
class LoadSide:
    k6: Cost
    support: Cost
    runtime: Cost  # counted only where the runtime shares the cores
    cores: int
    shared: bool  # the runtime shared the load side's cores (a contended tier)
    steps: int  # the steps it was measured over
    fitted: bool  # a line through the steps (else CPU per request at the busiest)

    def _parts(self) -> list[Cost]:
        return [self.k6, self.support, *([self.runtime] if self.shared else [])]

    @property
    def ceiling_rps(self) -> float | None:
        """Requests per second at which the load side's cores would be full."""
        ms = sum(part.ms_per_request for part in self._parts())
        room = self.cores - sum(part.fixed_cores for part in self._parts())
        return 1000.0 * room / ms if ms > 0 and room > 0 else None

    def words(self) -> str:
        """`about 3,200 req/s (k6 0.24 ms and the support services 0.07 ms of CPU per
        request, on 1 core)`."""
        runtime = (
            f", the runtime {self.runtime.ms_per_request:.2f} ms, sharing them"
            if self.shared
            else ""
        )
        cores = f"{self.cores} core" + ("s" if self.cores != 1 else "")
        return (
            f"about {self.ceiling_rps or 0:,.0f} req/s (k6 {self.k6.ms_per_request:.2f} ms and "
            f"the support services {self.support.ms_per_request:.2f} ms of CPU per request"
            f"{runtime}, on {cores})"
        )


def _line(steps: Sequence[StepResult], attribute: str) -> Cost:
    """Least squares of the attribute's cores against req/s."""
    xs = [s.rps or 0.0 for s in steps]
    ys = [getattr(s, attribute) or 0.0 for s in steps]
    mean_x, mean_y = statistics.fmean(xs), statistics.fmean(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread
    slope = max(slope, 0.0)
    return Cost(1000.0 * slope, max(mean_y - slope * mean_x, 0.0))


def _ratio(steps: Sequence[StepResult], attribute: str) -> Cost:
    return Cost(statistics.median(1000.0 * (getattr(s, attribute) or 0.0) / s.rps for s in steps))


def load_side(steps: Sequence[StepResult], cores: int, shared: bool) -> LoadSide | None:
    """The load side as a search's steps measured it; None where no passing step counted
    k6's CPU (a backend that cannot see it) or the load side has no cores of its own."""
    measured = [
        s for s in steps if s.passed and s.rps and s.k6_cpu_cores is not None and s.requests
    ]
    if not measured or cores < 1:
        return None
    rates = [s.rps or 0.0 for s in measured]
    fitted = len(measured) >= MIN_STEPS and max(rates) >= MIN_SPAN * min(rates)
    if not fitted:
        measured = sorted(measured, key=lambda s: s.rps or 0.0, reverse=True)[:BUSIEST_STEPS]
    cost = _line if fitted else _ratio
    found = LoadSide(
        k6=cost(measured, "k6_cpu_cores"),
        support=cost(measured, "support_cpu_cores"),
        runtime=cost(measured, "cpu_cores"),
        cores=cores,
        shared=shared,
        steps=len(measured),
        fitted=fitted,
    )
    return found if found.ceiling_rps is not None else None


def load_side_section(cells: Sequence[tuple[str, LoadSide | None, float | None]]) -> list[str]:
    """capacity.md's section on the load side: each cell's (name, load side, capacity
    req/s); none measured, no section."""
    measured = [cell for cell in cells if cell[1] is not None]
    if not measured:
        return []
    lines = [
        "## The load side",
        "",
        "What k6 and the support services spent per request on this k6 script (the slope "
        "of their CPU against req/s over each search's passing steps; marked * where the "
        f"steps spanned too few rates for a line, CPU per request at the {BUSIEST_STEPS} "
        "busiest instead, an upper estimate), and the rate at which the load side's cores "
        "would be full: a capacity near that ceiling measures the load side, not the "
        "runtime.",
        "",
        "| cell | k6 ms/request | support ms/request | cores | ceiling req/s "
        "| capacity, % of ceiling |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name, side, capacity in measured:
        assert side is not None and side.ceiling_rps is not None
        share = "–" if capacity is None else f"{100 * capacity / side.ceiling_rps:.0f} %"
        cores = f"{side.cores}" + (" (shared with the runtime)" if side.shared else "")
        mark = "" if side.fitted else " *"
        lines.append(
            f"| {name} | {side.k6.ms_per_request:.3f}{mark} "
            f"| {side.support.ms_per_request:.3f}{mark} | {cores} "
            f"| {side.ceiling_rps:,.0f} | {share} |"
        )
    return lines
