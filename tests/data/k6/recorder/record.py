"""Record the k6 and cell fixtures in tests/data from real runs on loopback.

Run as root on a cgroup-v1 host: `python tests/data/k6/recorder/record.py`. Each cell starts
server.py under a cgroup with the tier's CPU quota and memory limit, runs real k6 against
127.0.0.1, samples the cgroup like the load step does, and writes the four per-cell files
of docs/results-layout.md (k6 JSON gzipped, summary export, resources CSV, meta JSON).
"""

from __future__ import annotations

import csv
import json
import math
import os
import resource
import shutil
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tierbench.load.docker.sampler import COLUMNS

HERE = Path(__file__).resolve().parent
K6_DIR = HERE.parent
CELLS_DIR = HERE.parent.parent / "cells"
CGROUP_ROOT = Path("/sys/fs/cgroup")
TIERS = {"xs": (0.25, 268435456, 0), "s": (0.5, 536870912, 1)}
RUNTIMES = {"fast": 0.0, "slow": 2.0, "overload": 2.0}
SMOKE_STAGES = ["1s:3", "1s:6", "1s:6"]
TREND_STATS = "count,avg,min,med,max,p(90),p(95),p(99)"


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


class Cgroup:
    """A cgroup-v1 group in the cpu, cpuacct and memory hierarchies."""

    def __init__(self, name: str, cpus: float, memory_bytes: int) -> None:
        self.paths = {c: CGROUP_ROOT / c / name for c in ("cpu", "cpuacct", "memory")}
        for path in self.paths.values():
            path.mkdir(exist_ok=True)
        period = int((self.paths["cpu"] / "cpu.cfs_period_us").read_text())
        (self.paths["cpu"] / "cpu.cfs_quota_us").write_text(str(int(cpus * period)))
        (self.paths["memory"] / "memory.limit_in_bytes").write_text(str(memory_bytes))

    def add(self, pid: int) -> None:
        for path in self.paths.values():
            (path / "cgroup.procs").write_text(str(pid))

    def read(self) -> dict[str, int]:
        cpu_stat = dict(
            line.split() for line in (self.paths["cpu"] / "cpu.stat").read_text().splitlines()
        )
        mem_stat = dict(
            line.split() for line in (self.paths["memory"] / "memory.stat").read_text().splitlines()
        )
        usage = int((self.paths["memory"] / "memory.usage_in_bytes").read_text())
        oom = dict(
            line.split()
            for line in (self.paths["memory"] / "memory.oom_control").read_text().splitlines()
        )
        return {
            "cpu_ns": int((self.paths["cpuacct"] / "cpuacct.usage").read_text()),
            "nr_periods": int(cpu_stat["nr_periods"]),
            "nr_throttled": int(cpu_stat["nr_throttled"]),
            "throttled_ns": int(cpu_stat["throttled_time"]),
            "memory_bytes": usage - int(mem_stat.get("total_inactive_file", 0)),
            "oom_kills": int(oom.get("oom_kill", 0)),
        }

    def remove(self) -> None:
        for path in self.paths.values():
            path.rmdir()


def sample_resources(
    group: Cgroup,
    cpus: float,
    memory_bytes: int,
    start: float,
    stop: threading.Event,
    rows: list[dict],
) -> None:
    previous, previous_t = group.read(), time.monotonic()
    rows.append(row(None, previous, cpus, memory_bytes, start, 0.0))
    while not stop.wait(0.25):
        now, now_t = group.read(), time.monotonic()
        rows.append(row(previous, now, cpus, memory_bytes, start, now_t - previous_t))
        previous, previous_t = now, now_t


def row(
    previous: dict | None,
    now: dict,
    cpus: float,
    memory_bytes: int,
    start: float,
    interval_s: float,
) -> dict:
    out = {
        "timestamp": iso(datetime.now(UTC)),
        "elapsed_s": round(time.monotonic() - start, 3),
        "memory_bytes": now["memory_bytes"],
        "memory_pct_of_limit": round(now["memory_bytes"] / memory_bytes * 100, 3),
        "oom_kills": now["oom_kills"],
        "restarts": 0,
        "source": "cgroup-v1",
    }
    if previous is None:
        out.update(
            cpu_cores="", cpu_pct_of_limit="", nr_periods="", nr_throttled="", throttled_s=""
        )
    else:
        cores = (now["cpu_ns"] - previous["cpu_ns"]) / 1e9 / interval_s
        out.update(
            cpu_cores=round(cores, 4),
            cpu_pct_of_limit=round(cores / cpus * 100, 3),
            nr_periods=now["nr_periods"] - previous["nr_periods"],
            nr_throttled=now["nr_throttled"] - previous["nr_throttled"],
            throttled_s=round((now["throttled_ns"] - previous["throttled_ns"]) / 1e9, 6),
        )
    return out


def record_cell(
    runtime: str,
    tier: str,
    repeat: int,
    port: int,
    script: str,
    stages: list[str] | None,
    warmup_s: float,
    system_tags: str | None,
) -> None:
    cpus, memory_bytes, tier_order = TIERS[tier]
    cell = f"{runtime}-{tier}" + (f"-r{repeat}" if repeat > 1 else "")
    server = subprocess.Popen(
        [
            sys.executable,
            str(HERE / "server.py"),
            "--port",
            str(port),
            "--burn-ms",
            str(RUNTIMES[runtime]),
        ]
    )
    group = Cgroup(f"tierbench-fixture-{cell}", cpus, memory_bytes)
    try:
        group.add(server.pid)
        time.sleep(0.5)
        command = [
            shutil.which("k6") or "k6",
            "run",
            "--quiet",
            "--no-color",
            "--out",
            f"json={K6_DIR / (cell + '.json.gz')}",
            "--summary-export",
            str(K6_DIR / f"{cell}.summary.json"),
            "--summary-trend-stats",
            TREND_STATS,
            "--env",
            f"BASE_URL=http://127.0.0.1:{port}",
        ]
        for stage in stages or []:
            command += ["--stage", stage]
        if system_tags:
            command += ["--system-tags", system_tags]
        command.append(str(HERE / script))
        rows: list[dict] = []
        stop = threading.Event()
        start_mono = time.monotonic()
        load_start = datetime.now(UTC)
        sampler = threading.Thread(
            target=sample_resources,
            args=(group, cpus, memory_bytes, start_mono, stop, rows),
        )
        sampler.start()
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        k6 = subprocess.run(command, stdout=subprocess.DEVNULL, check=False)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        load_end = datetime.now(UTC)
        stop.set()
        sampler.join()
    finally:
        server.terminate()
        server.wait()
        group.remove()
    wall_s = (load_end - load_start).total_seconds()
    with (CELLS_DIR / "resources" / f"{cell}.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    window_start = load_start + timedelta(seconds=warmup_s)
    meta = {
        "tierbench_version": "0.1.0",
        "cell": cell,
        "runtime": runtime,
        "tier": tier,
        "repeat": repeat,
        "service": f"fixture-{runtime}",
        "port": port,
        "tier_order": tier_order,
        "profile": {"name": "smoke", "stages": stages, "warmup_s": warmup_s, "duration_s": wall_s},
        "limits": {
            "requested": {"cpus": cpus, "memory_bytes": memory_bytes},
            "applied": {"cpus": cpus, "memory_bytes": memory_bytes},
            "verified": True,
        },
        "window": {
            "start": iso(window_start),
            "end": iso(load_end),
            "load_start": iso(load_start),
            "load_end": iso(load_end),
            "warmup_s": warmup_s,
            "duration_s": (load_end - window_start).total_seconds(),
        },
        "pinning": {
            "enabled": False,
            "runtime_cpus": None,
            "load_generator_cpus": None,
            "support_cpus": None,
            "contended": True,
            "reason": "fixture recording: no pinning",
        },
        "contended": (os.cpu_count() or 1) < math.ceil(cpus) + 1,
        "k6": {
            "exit_code": k6.returncode,
            "script": script,
            "thresholds_failed": False,
            "cpu_s": round(
                (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), 3
            ),
            "wall_s": round(wall_s, 3),
        },
        "resources": {
            "source": "cgroup-v1",
            "samples": len(rows),
            "oom_kills": rows[-1]["oom_kills"],
            "restarts": 0,
            "exit_status": "running",
        },
        "image": {"id": None, "name": None},
        "versions": {"tierbench": "0.1.0", "k6": "v1.1.0", "docker": None, "compose": None},
        "host": {
            "cpu_model": None,
            "cores": os.cpu_count(),
            "kernel": os.uname().release,
            "cgroup_version": 1,
            "memory_bytes": os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"),
        },
        "git_revision": None,
        "config_hash": None,
        "orchestration_s": {},
        "warnings": [],
    }
    (CELLS_DIR / "meta" / f"{cell}.json").write_text(json.dumps(meta, indent=2) + "\n")
    print(f"{cell}: k6 exit {k6.returncode}, {len(rows)} samples, {wall_s:.1f} s")


def main() -> None:
    (CELLS_DIR / "meta").mkdir(parents=True, exist_ok=True)
    (CELLS_DIR / "resources").mkdir(parents=True, exist_ok=True)
    port = 18090
    only = set(sys.argv[1:])
    for runtime, tier, repeat in [
        ("fast", "xs", 1),
        ("fast", "s", 1),
        ("slow", "xs", 1),
        ("slow", "s", 1),
        ("fast", "xs", 2),
        ("slow", "xs", 2),
    ]:
        if not only or f"{runtime}-{tier}" in only:
            record_cell(runtime, tier, repeat, port, "flow.js", SMOKE_STAGES, 1.0, None)
        port += 1
    if only and "overload-xs" not in only:
        return
    record_cell(
        "overload",
        "xs",
        1,
        port,
        "overload.js",
        None,
        0.0,
        "proto,subproto,status,method,url,name,group,check,error,error_code,"
        "tls_version,scenario,service,expected_response,vu,iter",
    )


if __name__ == "__main__":
    main()
