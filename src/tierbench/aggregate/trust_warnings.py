"""Plain-word warnings about results that should not be trusted as they are.

Each warning says what was seen and what to do, the way hyperfine warns about outliers.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tierbench.cell_meta import CellMeta
from tierbench.load.host_speed import speed_range


@dataclass(frozen=True)
class Thresholds:
    """When a warning fires. Defaults suit a quick sweep on a small host."""

    max_cv: float = 0.05
    """Coefficient of variation of rps or p95 across repeats above which results are noisy."""
    max_error_rate: float = 0.01
    """Share of failed requests above which latency and throughput are suspect."""
    min_window_s: float = 10.0
    """Measured windows shorter than this hold too few seconds to compare."""
    min_requests: int = 100
    """Fewer requests than this in the window make the high percentiles unstable."""
    max_k6_cores: float = 0.9
    """k6 using more of a core than this (user+sys over wall time) may be the bottleneck."""
    max_host_drift: float = 1.0
    """The host's fixed CPU workload slower around the sweep's slowest cell than around its
    fastest by more than this share: the cells were measured at different host speeds.
    Above the probe's own spread on a quiet shared host: the sweeps of docs/example read
    +40 % (comparison), +86 % (capacity) and +47 % (tracing searches) with nothing else
    running, so a smaller threshold fired on every sweep there."""
    max_neighbour_cores: float = 0.2
    """Cores of the runtime's own CPUs that something else kept busy during a cell's load
    (tierbench.aggregate.neighbours) above which another process shared them. A quiet
    host read 0.00-0.11 in every one of docs/example's 198 pinned capacity steps."""

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any] | None) -> Thresholds:
        known = {k: v for k, v in (values or {}).items() if k in cls.__dataclass_fields__}
        return cls(**known)


def cell_warnings(run: Mapping[str, Any], meta: CellMeta, limits: Thresholds) -> list[str]:
    """Warnings about one cell, from its row in runs and its meta."""
    cell = run["cell"]
    found: list[str] = []
    dropped = run.get("dropped_iterations") or 0
    if dropped > 0:
        found.append(
            f"{cell}: k6 dropped {dropped:.0f} iterations, so the load generator could not "
            "keep up and the service saw less load than asked. Give k6 more VUs "
            "(preAllocatedVUs/maxVUs) or a core of its own, or lower the arrival rate."
        )
    k6_cores = run.get("k6_cpu_cores")
    if k6_cores is not None and k6_cores >= limits.max_k6_cores:
        found.append(
            f"{cell}: k6 used {k6_cores:.2f} of a core, near a full core: the load generator "
            "may be the bottleneck, not the service. Pin k6 to a free core or use a host "
            "with more cores."
        )
    host_cores = (meta.host or {}).get("cores")
    cpus = run.get("cpus")
    if host_cores and cpus and cpus > host_cores - 1:
        found.append(
            f"{cell}: the tier asks for {cpus:g} CPUs but the host has {host_cores} cores, "
            "one of them needed by k6: the service shares CPUs with the load generator, so "
            "this tier measures the host more than the limit. Use a larger host or drop "
            "this tier."
        )
    oom = run.get("oom_kills") or 0
    if oom > 0:
        found.append(
            f"{cell}: the container was OOM-killed {oom} time(s): its memory limit is too "
            "small for this load, and the figures include restarts. Raise the tier's "
            "memory or treat this tier as failing."
        )
    error_rate = run.get("error_rate") or 0.0
    if error_rate > limits.max_error_rate:
        found.append(
            f"{cell}: {error_rate:.1%} of requests failed (threshold "
            f"{limits.max_error_rate:.1%}); fast failures flatter latency and throughput. "
            "Look at the service's logs and the failing steps in steps.csv."
        )
    if not meta.limits.get("verified", False):
        found.append(
            f"{cell}: the container's CPU and memory limits were not verified after it "
            "started, so this tier may have run without them. Check `docker inspect` and "
            "rerun the cell."
        )
    window_s = run.get("window_s") or 0.0
    requests = run.get("requests") or 0
    if window_s < limits.min_window_s or requests < limits.min_requests:
        found.append(
            f"{cell}: the measured window is {window_s:.1f} s with {requests} requests "
            f"(want at least {limits.min_window_s:g} s and {limits.min_requests} requests); "
            "percentiles and rates from so little are unstable. Lengthen the profile's "
            "stages or shorten its warmup."
        )
    lost = spans_lost_warning(meta)
    recorded = ([lost] if lost else []) + list(meta.warnings or [])
    found.extend(f"{cell}: {text}" for text in recorded)
    return found


def spans_lost_warning(meta: CellMeta) -> str | None:
    """A warning when the trace sink received fewer spans than the runtime ended."""
    if not meta.spans_lost:
        return None
    return (
        f"spans lost: the runtime ended {meta.spans_expected} spans and the trace sink "
        f"received {meta.spans_received}. A tracing SDK that drops spans does less work, "
        "so this cell's figures flatter the runtime; see the runtime's log for export "
        "errors, give the SDK a larger queue, or treat this tier as failing."
    )


def spread_warnings(summary: Mapping[str, Any], limits: Thresholds) -> list[str]:
    """Warnings about the spread across repeats of one runtime x tier."""
    found = []
    for metric in ("rps", "p95_ms"):
        cv = summary.get(f"{metric}_cv")
        if cv is not None and cv > limits.max_cv:
            found.append(
                f"{summary['runtime']} at {summary['tier']}: {metric} varies by {cv:.1%} "
                f"across {summary['repeats']} repeats (threshold {limits.max_cv:.0%}). "
                "Something else on the host may have been busy; rerun on a quiet host or "
                "raise `repeats`."
            )
    return found


def host_speed_warning(
    speeds: Sequence[tuple[str, Mapping[str, Any] | None]],
    limits: Thresholds,
    crowded: Collection[str] = (),
) -> str | None:
    """One warning when a sweep's cells were measured while the host ran at different
    speeds: the fixed CPU workload timed around each cell (the meta's `host_speed`, see
    tierbench.load.host_speed) took longer in the slowest cell than in the fastest by
    more than `max_host_drift`. It names the likely cause: another process on the
    runtime's CPUs where the slowest cell is in `crowded` (the cells the host's counters
    saw one in, tierbench.aggregate.neighbours), else the host itself."""
    found = speed_range(speeds)
    if found is None:
        return None
    (fastest, at_fastest), (slowest, at_slowest) = found
    drift = slowest / fastest - 1
    if drift <= limits.max_host_drift:
        return None
    if at_slowest in crowded:
        cause = (
            f"Another process shared the runtime's CPUs around {at_slowest} (its own warning "
            "says how much): stop it and rerun that cell."
        )
    else:
        cause = (
            "Nothing else was seen on the runtime's CPUs (/proc/stat), so the host itself ran "
            "slower, as a shared machine does when its other tenants are busy: compare cells "
            "measured at the same speed, or rerun the slow ones later."
        )
    return (
        f"The host ran at different speeds during this sweep: the same CPU workload took "
        f"{fastest:.1f} ms around {at_fastest} and {slowest:.1f} ms (+{drift:.0%}) around "
        f"{at_slowest} (each cell's `host_speed`), more than a quiet host drifts "
        f"(`thresholds.max_host_drift`, +{limits.max_host_drift:.0%}). A cell measured that "
        f"much slower shows less throughput and more latency than its tier gives. {cause}"
    )
