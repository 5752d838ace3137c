"""The resource samples of one cell (results/resources/{cell}.csv), whatever machinery took
them, and what the load side's share of them says."""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path
from typing import Any

COLUMNS = [
    "timestamp",
    "elapsed_s",
    "cpu_cores",
    "cpu_pct_of_limit",
    "nr_periods",
    "nr_throttled",
    "throttled_s",
    "memory_bytes",
    "memory_pct_of_limit",
    "oom_kills",
    "restarts",
    "source",
    "cpu_usage_total_s",
    "nr_periods_total",
    "nr_throttled_total",
    "throttled_total_s",
    "k6_cpu_cores",
    "support_cpu_cores",
    "container",
    "load_cpus_busy",
    "runtime_cpus_busy",
]
# The per-interval figures of a sample; empty when the container is gone.
INTERVAL_COLUMNS = COLUMNS[2:9]
# The kernel's cumulative counters at the sample (cgroup sources only).
TOTAL_COLUMNS = COLUMNS[12:16]
# The load side is called saturated when it used this share of the cores it was given.
LOAD_SIDE_SATURATED = 0.9


def write_resources_csv(path: Path, rows: list[dict]) -> None:
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: "" if row.get(k) is None else row[k] for k in COLUMNS})


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def load_side_usage(
    rows: list[dict], start: datetime, end: datetime, cores_given: int, shared_with_runtime: bool
) -> dict[str, Any]:
    """Mean CPU of the load side over [start, end], against the cores it was given.

    Pinned, the load side (k6 and the support services) has cores of its own. Unpinned
    (a contended tier), it shares every core with the runtime, so the runtime's CPU counts
    against the same cores.
    """
    inside = [r for r in rows if start <= datetime.fromisoformat(r["timestamp"]) <= end]

    def mean_of(column: str) -> float | None:
        return _mean([r[column] for r in inside if r.get(column) is not None])

    k6, support, runtime = mean_of("k6_cpu_cores"), mean_of("support_cpu_cores"), None
    used = (k6 or 0.0) + (support or 0.0)
    if shared_with_runtime:
        runtime = mean_of("cpu_cores")
        used += runtime or 0.0
    share = used / cores_given if cores_given else None
    return {
        "cores_given": cores_given,
        "shared_with_runtime": shared_with_runtime,
        "k6_cpu_cores": k6,
        "support_cpu_cores": support,
        "runtime_cpu_cores": runtime,
        "share_of_given": share,
        "saturated": bool(share is not None and k6 is not None and share >= LOAD_SIDE_SATURATED),
    }


def load_side_warning(usage: dict[str, Any]) -> str | None:
    """A plain warning when the load side was saturated, else None."""
    if not usage["saturated"]:
        return None
    parts = [f"k6 {usage['k6_cpu_cores']:.2f}"]
    if usage["support_cpu_cores"] is not None:
        parts.append(f"support services {usage['support_cpu_cores']:.2f}")
    if usage["shared_with_runtime"] and usage["runtime_cpu_cores"] is not None:
        parts.append(f"runtime {usage['runtime_cpu_cores']:.2f}")
    given = usage["cores_given"]
    return (
        f"The load side was saturated: {' + '.join(parts)} cores used "
        f"{usage['share_of_given']:.0%} of the {given} core{'s' if given != 1 else ''} it "
        f"was given (threshold {LOAD_SIDE_SATURATED:.0%}), so these figures may be capped "
        "by the host, not by the runtime. Give the load side more cores (a larger host, "
        "lighter support services) or lower the load."
    )
