"""Sample a running container's CPU, throttling and memory while the load runs, and the
load side beside it (the k6 process and the support services' containers).

cgroup files are read directly (cheap, exact, with throttling and the kernel's memory
peak), but only once they are proven to be the container's: its id in the cgroup path and
the kernel's limits equal to what Docker applied. Otherwise (a remote or rootless engine,
another PID namespace) `docker stats` streams what it can, and the meta says why. Docker's
event stream counts OOM kills and restarts, which cgroup files cannot see once a
container died.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tierbench.config.limits import Limits, LimitSet
from tierbench.load.cpu_busy import CpuBusy
from tierbench.load.docker.cgroups import CgroupFiles, Counters, locate_cgroup
from tierbench.load.samples import INTERVAL_COLUMNS, TOTAL_COLUMNS


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
        "cpu_usage_total_s": current.cpu_usage_ns / 1e9,
        "nr_periods_total": current.nr_periods,
        "nr_throttled_total": current.nr_throttled,
        "throttled_total_s": None if current.throttled_ns is None else current.throttled_ns / 1e9,
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


def process_cpu_seconds(pid: int, proc: Path = Path("/proc")) -> float | None:
    """User + system CPU time of a process so far, or None once it is gone."""
    try:
        text = (proc / str(pid) / "stat").read_text()
    except OSError:
        return None
    # The command name may hold spaces and parentheses: the fields start after the last ')'.
    fields = text[text.rfind(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class CgroupSource:
    """Where the runtime's figures come from, and why."""

    cgroup: CgroupFiles | None
    reason: str

    @property
    def name(self) -> str:
        return f"cgroup-v{self.cgroup.version}" if self.cgroup else "docker-stats"


def choose_source(
    container_id: str, pid: int, applied: LimitSet, proc: Path = Path("/proc")
) -> CgroupSource:
    """The container's cgroup files where they are proven to be its own, else docker stats."""
    cgroup = locate_cgroup(pid, proc)
    if cgroup is None:
        return CgroupSource(
            None,
            f"no readable cgroup files for PID {pid} under {proc} (a remote or rootless "
            "engine): docker stats gives CPU and memory but no throttling",
        )
    problem = cgroup.identity_problem(container_id, applied.memory_bytes, round(applied.cpus * 1e9))
    if problem:
        return CgroupSource(None, f"{problem}: docker stats serves instead")
    return CgroupSource(
        cgroup,
        f"the cgroup of PID {pid} names container {container_id[:12]} and enforces its limits",
    )


@dataclass
class ContainerEvents:
    """OOM kills and restarts of one container, from Docker's event stream."""

    container_id: str
    oom_kills: int = 0
    restarts: int = 0
    deaths: int = 0
    first_death_at: str | None = None  # ISO 8601 UTC, from the engine's own clock
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
                event = json.loads(line)
            except ValueError:
                continue
            action = event.get("Action")
            if action == "oom":
                self.oom_kills += 1
            elif action == "die":
                self.deaths += 1
                if self.first_death_at is None and event.get("timeNano"):
                    at = datetime.fromtimestamp(int(event["timeNano"]) / 1e9, UTC)
                    self.first_death_at = at.isoformat()
            elif action in ("start", "restart") and self.deaths:
                self.restarts += 1

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=5)


class LoadSide:
    """CPU of the load side between samples: the k6 process and the support containers."""

    def __init__(self, support: list[CgroupFiles]):
        self.support = support
        self.k6_pid: int | None = None
        self._previous: tuple[float, float | None, float | None] | None = None

    def _read(self) -> tuple[float | None, float | None]:
        k6 = process_cpu_seconds(self.k6_pid) if self.k6_pid else None
        support = None
        if self.support:
            try:
                support = sum(c.read().cpu_usage_ns for c in self.support) / 1e9
            except (OSError, KeyError, ValueError):
                support = None
        return k6, support

    def figures(self, now: float) -> dict:
        k6, support = self._read()
        previous, self._previous = self._previous, (now, k6, support)
        if previous is None or now <= previous[0]:
            return {"k6_cpu_cores": None, "support_cpu_cores": None}
        interval = now - previous[0]

        def cores(current: float | None, before: float | None) -> float | None:
            if current is None or before is None or current < before:
                return None
            return (current - before) / interval

        return {
            "k6_cpu_cores": cores(k6, previous[1]),
            "support_cpu_cores": cores(support, previous[2]),
        }


class ResourceSampler:
    """Samples one container, and the load side, on a background thread until stopped."""

    def __init__(
        self,
        container_id: str,
        pid: int,
        applied: LimitSet,
        support: list[tuple[str, int]] = (),
        interval_s: float = 0.5,
        proc: Path = Path("/proc"),
        load_cpus: tuple[int, ...] = (),
        runtime_cpus: tuple[int, ...] = (),
    ):
        self.container_id = container_id
        # The host's own counters of the CPUs the load side and the runtime run on (every
        # CPU where they are not pinned).
        self.load_cpus = CpuBusy(load_cpus, proc)
        self.runtime_cpus = CpuBusy(runtime_cpus, proc)
        self.limits = applied.limits
        self.interval_s = interval_s
        chosen = choose_source(container_id, pid, applied, proc)
        self.cgroup = chosen.cgroup
        self.source = chosen.name
        self.source_reason = chosen.reason
        support_cgroups = []
        self.support_reason = "no support services"
        for support_id, support_pid in support:
            cgroup = locate_cgroup(support_pid, proc)
            if cgroup is None or any(support_id not in str(d) for d in cgroup.directories.values()):
                support_cgroups = []
                self.support_reason = (
                    f"the cgroup of support container {support_id[:12]} is out of reach: "
                    "the support services' CPU is not measured"
                )
                break
            support_cgroups.append(cgroup)
        else:
            if support:
                self.support_reason = "cgroup files of every support container"
        self.load_side = LoadSide(support_cgroups)
        self.rows: list[dict] = []
        self.events = ContainerEvents(container_id)
        self.memory_peak_reset = False
        self.memory_peak_bytes: int | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._stats_process: subprocess.Popen | None = None
        self._previous: Counters | None = None
        self._previous_at = 0.0
        self._cgroup_oom_kills = 0
        self._oom_before_reset = 0
        self.started_monotonic = 0.0

    def start(self) -> None:
        self.started_monotonic = time.monotonic()
        if self.cgroup is not None:
            self.memory_peak_reset = self.cgroup.reset_memory_peak()
        self.events.start()
        target = self._sample_cgroup if self.cgroup else self._sample_docker_stats
        self._thread = threading.Thread(target=target, daemon=True)
        self._thread.start()

    def watch_process(self, pid: int) -> None:
        """Measure the load generator's process from now on."""
        with self._lock:
            self.load_side.k6_pid = pid

    def sample_now(self) -> None:
        """Take a sample at once (at the load's start and end, so the kernel's counters
        bracket it exactly); a no-op under docker stats."""
        if self.cgroup is not None:
            self._take_cgroup_sample()

    def stop(self) -> list[dict]:
        if self.cgroup is not None:
            self.sample_now()
            self.memory_peak_bytes = self.cgroup.memory_peak_bytes()
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

    def summary(self) -> dict[str, Any]:
        """What the meta records about the samples and where they came from."""
        return {
            "source": self.source,
            "source_reason": self.source_reason,
            "samples": len(self.rows),
            "oom_kills": self.oom_kills,
            "restarts": self.events.restarts,
            "deaths": self.events.deaths,
            "first_death_at": self.events.first_death_at,
            "memory_peak_kernel_bytes": self.memory_peak_bytes,
            "memory_peak_kernel_since": (
                None
                if self.memory_peak_bytes is None
                else "load start"
                if self.memory_peak_reset
                else "container start"
            ),
            "load_side_source": self.support_reason,
        }

    def _record(self, figures: dict, now: float) -> None:
        self.rows.append(
            {
                "timestamp": datetime.now(UTC).isoformat(),
                "elapsed_s": round(now - self.started_monotonic, 3),
                **dict.fromkeys(TOTAL_COLUMNS),
                **figures,
                **self.load_side.figures(now),
                "oom_kills": self.oom_kills,
                "restarts": self.events.restarts,
                "source": self.source,
                "container": self.container_id[:12],
                "load_cpus_busy": self.load_cpus.share(),
                "runtime_cpus_busy": self.runtime_cpus.share(),
            }
        )

    def _take_cgroup_sample(self) -> None:
        assert self.cgroup is not None
        with self._lock:
            now = time.monotonic()
            try:
                current = self.cgroup.read()
            except (OSError, KeyError, ValueError):
                current = None
            if current is None:
                # The container is gone (killed, crashed): say so with an empty sample.
                self._record(dict.fromkeys(INTERVAL_COLUMNS), now)
                if self._previous is not None:
                    self._oom_before_reset = self._cgroup_oom_kills
                self._previous = None
                return
            previous = self._previous
            if previous is not None and current.cpu_usage_ns < previous.cpu_usage_ns:
                self._oom_before_reset = self._cgroup_oom_kills
            self._cgroup_oom_kills = self._oom_before_reset + (current.oom_kills or 0)
            figures = sample_row(previous, current, now - self._previous_at, self.limits)
            self._record(figures, now)
            self._previous, self._previous_at = current, now

    def _sample_cgroup(self) -> None:
        while True:
            started = time.monotonic()
            self._take_cgroup_sample()
            if self._stop.wait(max(0.0, self.interval_s - (time.monotonic() - started))):
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
                with self._lock:
                    self._record(figures, time.monotonic())
