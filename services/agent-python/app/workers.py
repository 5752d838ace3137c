"""How many worker processes this runtime starts: as many as its CPU limit allows.

The CPU limit is read from the container's cgroup at start (cgroup v2 `cpu.max`, or v1
`cpu.cfs_quota_us` / `cpu.cfs_period_us`): ceil(quota / period) workers, at least one and
at most the CPUs this process may run on. Without a CPU limit, one worker per CPU it may
run on. `WORKERS` in the environment overrides the count.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

CGROUP = Path("/sys/fs/cgroup")


def cpu_limit(root: Path = CGROUP) -> float | None:
    """CPUs of the cgroup's CFS quota, or None without one."""
    try:
        quota, period = (root / "cpu.max").read_text().split()
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        pass
    try:
        quota = int((root / "cpu" / "cpu.cfs_quota_us").read_text())
        period = int((root / "cpu" / "cpu.cfs_period_us").read_text())
    except (OSError, ValueError):
        return None
    return None if quota <= 0 else quota / period


def worker_count(root: Path = CGROUP) -> int:
    override = os.environ.get("WORKERS")
    if override:
        return max(1, int(override))
    usable = len(os.sched_getaffinity(0))
    limit = cpu_limit(root)
    if limit is None:
        return usable
    return max(1, min(usable, math.ceil(limit - 1e-9)))
