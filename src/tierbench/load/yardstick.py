"""The yardstick: what a fixed HTTP service does on this host, at the cell's tier.

A capacity in req/s says as much about the host as about the runtime: the same runtime at
the same tier serves half as much on a host whose requests cost twice the CPU. The
yardstick measures that cost on the request path itself. A fixed reference service
(`tierbench.load.yardstick_server`) runs where the runtime runs, under the tier's CPU and
memory limits and on the runtime's CPUs, with nothing of the cell running, and k6 loads it
closed-loop over loopback from the load side's CPUs for a second and a half: its req/s,
and the CPU it spent per request by its own cgroup's counter. A capacity divided by the
yardstick's req/s at the same tier reads in yardstick units, which travel between hosts.

This module is the backend-neutral part: the record, and what capacity.md shows of it.
Measuring it is the backend's (`Backend.measure_yardstick`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from tierbench.load.yardstick_server import ROWS

# Enough connections that every wake of the service finds a full batch of requests, quiet
# or not: with 16, a neighbour on its CPU made it batch more, and spend less CPU per
# request, than alone (0.40-0.46 ms against 0.39-0.68 ms), so it slowed less than the CPU
# it lost; with 64 the two read alike (tests/load/test_yardstick_docker.py).
VUS_PER_PROCESS = 64
DURATION_S = 1.5


def workload_text(duration_s: float) -> str:
    """What a reading of `duration_s` seconds ran, in words, as its record gives it."""
    return (
        f"GET / to a fixed asyncio HTTP/1.1 service (one process per CPU of the limit, each "
        f"request building and serialising a {ROWS}-record JSON document, a small 200 back), "
        f"k6 closed-loop with {VUS_PER_PROCESS} keep-alive VUs per process for {duration_s:g} s"
    )


WORKLOAD = workload_text(DURATION_S)


class YardstickError(RuntimeError):
    """The yardstick could not be measured here; the message says why."""


@dataclass(frozen=True)
class Yardstick:
    """One measurement of the yardstick at a tier's limits."""

    rps: float  # k6's http_reqs rate over its own run
    cpu_ms_per_request: float  # the service's cgroup CPU over the run, per request
    cpus: float  # the CPU limit it ran under
    memory_bytes: int  # the memory limit it ran under
    duration_s: float  # k6's run
    requests: int
    cpu_pct_of_limit: float  # CPU used over the run, % of the limit: ~100 when CPU-bound
    workload: str = WORKLOAD

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def yardstick_from_counts(
    requests: int,
    duration_s: float,
    cpu_ns: int,
    cpus: float,
    memory_bytes: int,
    workload: str = WORKLOAD,
) -> Yardstick:
    """The record from what was counted: k6's requests over its run and the service's
    CPU nanoseconds over the same span; `workload` says what ran (a reading's length
    other than the sweep's goes into it). YardstickError when nothing was served."""
    if requests <= 0 or duration_s <= 0:
        raise YardstickError(f"k6 completed no request in {duration_s:.2f} s")
    if cpus <= 0:
        raise YardstickError(f"the yardstick needs a CPU limit, not {cpus!r}")
    return Yardstick(
        rps=round(requests / duration_s, 1),
        cpu_ms_per_request=round(cpu_ns / 1e6 / requests, 4),
        cpus=cpus,
        memory_bytes=memory_bytes,
        duration_s=round(duration_s, 3),
        requests=requests,
        cpu_pct_of_limit=round(100 * cpu_ns / 1e9 / duration_s / cpus, 1),
        workload=workload,
    )


def yardstick_pair(before: dict | None, after: dict | None) -> dict[str, Any] | None:
    """A search's `yardstick`: the measurements before its first step and after its last
    (either null where it could not be measured); None when neither was."""
    if before is None and after is None:
        return None
    return {"before": before, "after": after}


def yardstick_rps(pair: dict | None) -> float | None:
    """The yardstick's req/s around a search: the mean of before and after (the one
    measured, when only one was)."""
    rates = [side["rps"] for side in (pair or {}).values() if side and side.get("rps")]
    return sum(rates) / len(rates) if rates else None


def in_yardstick_units(capacity_rps: float | None, pair: dict | None) -> float | None:
    """A capacity as a multiple of the yardstick's req/s at the same tier."""
    rps = yardstick_rps(pair)
    if capacity_rps is None or rps is None:
        return None
    return capacity_rps / rps


def _side(side: dict | None) -> str:
    if not side:
        return "not measured"
    return f"{side['rps']:,.0f} req/s, {side['cpu_ms_per_request']:.3f} ms CPU per request"


def yardstick_line(cell: str, capacity_rps: float | None, lower_bound: bool, pair: dict) -> str:
    """One cell's yardstick, before and after its search, and its capacity in its units."""
    units = in_yardstick_units(capacity_rps, pair)
    shown = "none" if units is None else f"{'≥ ' if lower_bound else ''}{units:.2f}× the yardstick"
    return (
        f"- **{cell}**: before {_side(pair.get('before'))}; after {_side(pair.get('after'))}; "
        f"capacity {shown}"
    )


def yardstick_section(cells: Sequence[tuple[str, float | None, bool, dict | None]]) -> list[str]:
    """capacity.md's section on the yardstick, from each cell's (name, capacity req/s,
    lower bound, `yardstick`); no cell measured, no section."""
    measured = [cell for cell in cells if cell[3]]
    if not measured:
        return []
    workload = next(side["workload"] for cell in measured for side in cell[3].values() if side)
    return [
        "## Yardstick",
        "",
        "Before each search and after it, with nothing of the cell running, a fixed "
        f"reference service ran at the cell's limits on the runtime's CPUs: {workload}. "
        "Each capacity is also given in yardstick units, the capacity over the yardstick's "
        "req/s at the same tier (the mean of before and after): figures from another host "
        "can be compared in these units.",
        "",
        *(yardstick_line(*cell) for cell in measured),  # type: ignore[arg-type]
    ]


def tier_yardsticks(readings: Sequence[tuple[str, dict | None]]) -> dict[str, list[float]]:
    """Each tier's yardstick req/s readings, from (tier, `yardstick`) of each cell: before
    and after every cell measured there, in the order given."""
    found: dict[str, list[float]] = {}
    for tier, pair in readings:
        for side in (pair or {}).values():
            if side and side.get("rps"):
                found.setdefault(tier, []).append(float(side["rps"]))
    return found


def comparison_yardstick_section(
    throughput: Sequence[tuple[str, str, float | None]],
    readings: Sequence[tuple[str, dict | None]],
) -> list[str]:
    """summary.md's section on the yardstick: per tier, its req/s (the mean of every
    reading around the tier's cells, and their range) and each runtime's throughput in its
    units, from (runtime, tier, req/s) rows and (tier, `yardstick`) of each cell; no
    reading, no section."""
    by_tier = tier_yardsticks(readings)
    if not by_tier:
        return []
    workload = next(
        side["workload"]
        for _, pair in readings
        for side in (pair or {}).values()
        if side and side.get("workload")
    )
    lines = [
        "## Yardstick",
        "",
        "Before and after each cell, with nothing of the cell running, a fixed reference "
        f"service ran at the cell's limits on the runtime's CPUs: {workload}. Each runtime's "
        "throughput is also given in yardstick units, its req/s over the yardstick's at the "
        "same tier (the mean of the readings there): figures from another host can be "
        "compared in these units where the runtime is CPU-bound (its CPU near its limit); "
        "one the load profile holds back serves the same req/s on any host.",
        "",
    ]
    for tier, rates in by_tier.items():
        mean = sum(rates) / len(rates)
        units = [
            f"{runtime} {rps / mean:.2f}×"
            for runtime, at, rps in throughput
            if at == tier and rps is not None
        ]
        spread = f", {min(rates):,.0f}-{max(rates):,.0f} over {len(rates)} readings"
        lines.append(
            f"- **{tier}**: {mean:,.0f} req/s{spread if len(rates) > 1 else ''}"
            + (f"; {', '.join(units)}" if units else "")
        )
    return [*lines, ""]


def yardstick_note(readings: Sequence[tuple[str, dict | None]]) -> str:
    """A chart footer's line: the yardstick's mean req/s at each tier on this host, from
    (tier, `yardstick`) of each cell or search; "" with no reading."""
    by_tier = tier_yardsticks(readings)
    if not by_tier:
        return ""
    rates = " · ".join(f"{tier} {sum(r) / len(r):,.0f}" for tier, r in by_tier.items())
    return f"Yardstick on this host (a fixed HTTP service at each tier's limits), req/s: {rates}"
