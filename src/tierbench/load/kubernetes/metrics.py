"""The kubelet's container metrics, read through the API server's node proxy.

`/api/v1/nodes/{node}/proxy/metrics/cadvisor` carries CPU time, the CFS period and
throttling counters, the working set, the kernel's memory peak and OOM events;
`/metrics/resource` only CPU time and the working set. Both are Prometheus text, each
sample stamped with the instant the kubelet read the container's cgroup (milliseconds).
The kubelet refreshes them at its housekeeping interval (about 10 s for cAdvisor), so a
reading is new only when its stamp moved.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

CADVISOR_PATH = "metrics/cadvisor"
RESOURCE_PATH = "metrics/resource"
_FIELDS = {
    "container_cpu_usage_seconds_total": "cpu_s",
    "container_memory_working_set_bytes": "working_set_bytes",
    "container_cpu_cfs_periods_total": "periods",
    "container_cpu_cfs_throttled_periods_total": "throttled_periods",
    "container_cpu_cfs_throttled_seconds_total": "throttled_s",
    "container_memory_max_usage_bytes": "max_usage_bytes",
    "container_oom_events_total": "oom_events",
}
_LINE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s+(\S+)(?:\s+(-?\d+))?\s*$")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


@dataclass(frozen=True)
class Reading:
    """One container's counters as the kubelet read them at `at`."""

    at: datetime
    cpu_s: float
    working_set_bytes: float | None = None
    periods: float | None = None
    throttled_periods: float | None = None
    throttled_s: float | None = None
    max_usage_bytes: float | None = None
    oom_events: float | None = None


def metrics_path(source: str) -> str:
    return CADVISOR_PATH if source == "cadvisor" else RESOURCE_PATH


def _samples(text: str):
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = _LINE.match(line)
        if match is None or match.group(1) not in _FIELDS:
            continue
        labels = dict(_LABEL.findall(match.group(2) or ""))
        stamp = int(match.group(4)) if match.group(4) else None
        yield match.group(1), labels, float(match.group(3)), stamp


def container_readings(
    text: str, namespace: str, pods: set[str], fallback: datetime | None = None
) -> dict[tuple[str, str], Reading]:
    """Readings by (pod, container) of the named pods' containers (not the pod's own
    cgroup or its pause container). A container restarted shows twice for a while (its
    old and new cgroup): the latest stamp wins."""
    found: dict[tuple[str, str, str], dict] = {}
    for name, labels, value, stamp in _samples(text):
        pod, container = labels.get("pod"), labels.get("container", "")
        if labels.get("namespace") != namespace or pod not in pods or container in ("", "POD"):
            continue
        series = labels.get("id") or labels.get("name") or ""
        entry = found.setdefault((pod, container, series), {"stamp": stamp})
        entry[_FIELDS[name]] = value
        if stamp is not None and (entry["stamp"] is None or stamp > entry["stamp"]):
            entry["stamp"] = stamp
    readings: dict[tuple[str, str], Reading] = {}
    for (pod, container, _), entry in found.items():
        if "cpu_s" not in entry:
            continue
        stamp = entry.pop("stamp")
        at = (
            datetime.fromtimestamp(stamp / 1000, UTC)
            if stamp is not None
            else (fallback or datetime.now(UTC))
        )
        reading = Reading(at=at, **entry)
        previous = readings.get((pod, container))
        if previous is None or reading.at >= previous.at:
            readings[(pod, container)] = reading
    return readings


def cpu_cores_between(before: Reading | None, after: Reading) -> float | None:
    """Mean cores used between two readings of one container; None without an interval
    or across a restart (the counter went backwards)."""
    if before is None or after.at <= before.at or after.cpu_s < before.cpu_s:
        return None
    return (after.cpu_s - before.cpu_s) / (after.at - before.at).total_seconds()


def sample_figures(before: Reading | None, after: Reading, cpus: float, memory: int) -> dict:
    """One row's runtime figures (tierbench.load.samples.COLUMNS) from two readings."""
    row: dict = {
        "memory_bytes": after.working_set_bytes,
        "memory_pct_of_limit": (
            None if after.working_set_bytes is None else 100.0 * after.working_set_bytes / memory
        ),
        "cpu_usage_total_s": after.cpu_s,
        "nr_periods_total": None if after.periods is None else int(after.periods),
        "nr_throttled_total": (
            None if after.throttled_periods is None else int(after.throttled_periods)
        ),
        "throttled_total_s": after.throttled_s,
        "cpu_cores": None,
        "cpu_pct_of_limit": None,
        "nr_periods": None,
        "nr_throttled": None,
        "throttled_s": None,
    }
    cores = cpu_cores_between(before, after)
    if cores is None or before is None:
        return row

    def delta(name: str) -> float | None:
        now, then = getattr(after, name), getattr(before, name)
        return None if now is None or then is None else now - then

    periods, throttled = delta("periods"), delta("throttled_periods")
    return row | {
        "cpu_cores": cores,
        "cpu_pct_of_limit": 100.0 * cores / cpus,
        "nr_periods": None if periods is None else int(periods),
        "nr_throttled": None if throttled is None else int(throttled),
        "throttled_s": delta("throttled_s"),
    }
