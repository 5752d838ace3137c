"""Sample a running container's CPU, throttling and memory while the load runs.

cgroup files are read directly (cheap, exact, with throttling); where they are out of
reach (a remote or rootless engine), `docker stats` streams what it can. Docker's event
stream counts OOM kills and restarts, which cgroup files cannot see once a container died.
"""

from __future__ import annotations

import json
import re
import subprocess
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from tierbench.config.limits import Limits
from tierbench.load.docker.cgroups import CgroupFiles, Counters, locate_cgroup

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
]


def sample_row(
    previous: Counters | None,
    current: Counters,
    interval_s: float,
    limits: Limits,
) -> dict:
    """Figures of one sample from two successive counter readings.

    Counters that went backwards mean the container restarted (a fresh cgroup); the
    interval then counts from zero.
    """
    row: dict = {
        "memory_bytes": current.memory_working_set_bytes,
        "memory_pct_of_limit": 100.0 * current.memory_working_set_bytes / limits.memory_bytes,
    }
    if previous is None or interval_s <= 0:
        return row | {
            "cpu_cores": None,
            "cpu_pct_of_limit": None,
            "nr_periods": None,
            "nr_throttled": None,
            "throttled_s": None,
        }
    restarted = current.cpu_usage_ns < previous.cpu_usage_ns
    base = None if restarted else previous

    def delta(name: str) -> int | None:
        now = getattr(current, name)
        if now is None:
            return None
        before = 0 if base is None else getattr(base, name)
        return now - (before or 0)

    cpu_cores = delta("cpu_usage_ns") / 1e9 / interval_s
    throttled_ns = delta("throttled_ns")
    return row | {
        "cpu_cores": cpu_cores,
        "cpu_pct_of_limit": 100.0 * cpu_cores / limits.cpus,
        "nr_periods": delta("nr_periods"),
        "nr_throttled": delta("nr_throttled"),
        "throttled_s": None if throttled_ns is None else throttled_ns / 1e9,
    }


_SIZE = re.compile(r"([\d.]+)\s*([KMGT]?i?B)", re.IGNORECASE)
_SIZE_FACTORS = {
    "b": 1,
    "kb": 1e3,
    "mb": 1e6,
    "gb": 1e9,
    "tb": 1e12,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
    "tib": 1024**4,
}


def parse_docker_stats_line(line: str, limits: Limits) -> dict | None:
    """One `docker stats --format '{{json .}}'` record → sample figures."""
    start = line.find("{")
    if start < 0:
        return None
    try:
        record = json.loads(line[start : line.rfind("}") + 1])
    except ValueError:
        return None
    cpu_pct = record.get("CPUPerc", "").rstrip("%")
    usage = _SIZE.match(record.get("MemUsage", "").split("/")[0].strip())
    if not cpu_pct or usage is None:
        return None
    cpu_cores = float(cpu_pct) / 100.0
    memory = float(usage.group(1)) * _SIZE_FACTORS[usage.group(2).lower()]
    return {
        "cpu_cores": cpu_cores,
        "cpu_pct_of_limit": 100.0 * cpu_cores / limits.cpus,
        "nr_periods": None,
        "nr_throttled": None,
        "throttled_s": None,
        "memory_bytes": int(memory),
        "memory_pct_of_limit": 100.0 * memory / limits.memory_bytes,
    }


@dataclass
class ContainerEvents:
    """OOM kills and restarts of one container, from Docker's event stream."""

    container_id: str
    oom_kills: int = 0
    restarts: int = 0
    deaths: int = 0
    _process: subprocess.Popen | None = field(default=None, repr=False)

    def start(self) -> None:
        self._process = subprocess.Popen(
            [
                "docker",
                "events",
                "--filter",
                f"container={self.container_id}",
                "--format",
                "{{json .}}",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        threading.Thread(target=self._follow, daemon=True).start()

    def _follow(self) -> None:
        assert self._process is not None and self._process.stdout is not None
        for line in self._process.stdout:
            try:
                action = json.loads(line).get("Action", line)
            except ValueError:
                continue
            if action == "oom":
                self.oom_kills += 1
            elif action == "die":
                self.deaths += 1
            elif action in ("start", "restart") and self.deaths:
                self.restarts += 1

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=5)


class ResourceSampler:
    """Samples one container on a background thread until stopped."""

    def __init__(self, container_id: str, pid: int, limits: Limits, interval_s: float = 0.5):
        self.container_id = container_id
        self.limits = limits
        self.interval_s = interval_s
        self.cgroup: CgroupFiles | None = locate_cgroup(pid)
        self.source = f"cgroup-v{self.cgroup.version}" if self.cgroup else "docker-stats"
        self.rows: list[dict] = []
        self.events = ContainerEvents(container_id)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._stats_process: subprocess.Popen | None = None
        self._cgroup_oom_kills = 0
        self.started_monotonic = 0.0

    def start(self) -> None:
        self.started_monotonic = time.monotonic()
        self.events.start()
        target = self._sample_cgroup if self.cgroup else self._sample_docker_stats
        self._thread = threading.Thread(target=target, daemon=True)
        self._thread.start()

    def stop(self) -> list[dict]:
        self._stop.set()
        if self._stats_process is not None:
            self._stats_process.terminate()
        if self._thread is not None:
            self._thread.join(timeout=5)
        # Docker delivers events asynchronously: give a just-died container's events a moment.
        time.sleep(0.2)
        self.events.stop()
        return self.rows

    @property
    def oom_kills(self) -> int:
        return max(self.events.oom_kills, self._cgroup_oom_kills)

    def _record(self, figures: dict) -> None:
        now = time.monotonic()
        self.rows.append(
            {
                "timestamp": datetime.now(UTC).isoformat(),
                "elapsed_s": round(now - self.started_monotonic, 3),
                **figures,
                "oom_kills": self.oom_kills,
                "restarts": self.events.restarts,
                "source": self.source,
            }
        )

    def _sample_cgroup(self) -> None:
        assert self.cgroup is not None
        previous: Counters | None = None
        previous_at = 0.0
        oom_before_reset = 0
        while True:
            now = time.monotonic()
            try:
                current = self.cgroup.read()
            except (OSError, KeyError, ValueError):
                current = None
            if current is None:
                # The container is gone (killed, crashed): say so with an empty sample.
                self._record(dict.fromkeys(COLUMNS[2:9]))
                if previous is not None:
                    oom_before_reset = self._cgroup_oom_kills
                previous = None
            else:
                if previous is not None and current.cpu_usage_ns < previous.cpu_usage_ns:
                    oom_before_reset = self._cgroup_oom_kills
                self._cgroup_oom_kills = oom_before_reset + (current.oom_kills or 0)
                self._record(sample_row(previous, current, now - previous_at, self.limits))
                previous, previous_at = current, now
            if self._stop.wait(max(0.0, self.interval_s - (time.monotonic() - now))):
                return

    def _sample_docker_stats(self) -> None:
        self._stats_process = subprocess.Popen(
            ["docker", "stats", "--format", "{{json .}}", self.container_id],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self._stats_process.stdout is not None
        for line in self._stats_process.stdout:
            if self._stop.is_set():
                return
            figures = parse_docker_stats_line(line, self.limits)
            if figures is not None:
                self._record(figures)
