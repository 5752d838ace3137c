"""Orchestration overhead per cell: recreate + health + limit check + teardown.

Runs the sweep's own container control for every runtime x tier of a config, without the
load, and beside it the floor Docker itself sets: `docker run` with the same image and
limits, wait for the same health path, `docker rm -f`. Prints mean ± σ per phase, the
total per cell against the 2 s target, and the ratio to that floor.

    python benchmarks/orchestration_overhead.py [--config config/config.yaml] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from tierbench.compose_project import compose_config
from tierbench.config.limits import LimitSet
from tierbench.config.sweep import load_sweep
from tierbench.load.docker.containers import (
    RuntimeContainer,
    limits_override,
    wait_for_http,
    write_override,
)
from tierbench.load.host import cpuset, plan_cpus

TARGET_S = 2.0


def spread(values: list[float]) -> str:
    mean = statistics.fmean(values)
    sigma = statistics.stdev(values) if len(values) > 1 else 0.0
    low, high = min(values) * 1000, max(values) * 1000
    return f"{mean * 1000:7.1f} ms ± {sigma * 1000:5.1f} ms  ({low:.0f} … {high:.0f})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="config/config.yaml")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    config_path = Path(args.config)
    sweep = load_sweep(yaml.safe_load(config_path.read_text()), base_dir=Path("."))
    services = compose_config(sweep.compose_file, sweep.project)["services"]
    phases: dict[str, list[float]] = {
        "recreate": [],
        "health": [],
        "limits_check": [],
        "teardown": [],
    }
    totals, floors = [], []
    workdir = Path(tempfile.mkdtemp(prefix="tierbench-overhead-"))
    all_cpus = [t.limits.cpus for t in sweep.tiers.values()]

    for _ in range(args.rounds):
        for name, endpoint in sweep.runtimes.items():
            for tier in sweep.tiers.values():
                plan = plan_cpus(tier.limits.cpus, all_cpus, sweep.cpu_pinning)
                override = write_override(
                    workdir / f"{name}-{tier.name}.yaml",
                    limits_override(
                        endpoint.service,
                        LimitSet.for_tier(tier.limits, cpuset(plan.runtime_cpus)),
                        [],
                        [],
                        "",
                    ),
                )
                runtime = RuntimeContainer(sweep.compose_file, override, sweep.project, endpoint)
                started = time.monotonic()
                runtime.recreate_with_limits()
                phases["recreate"].append(time.monotonic() - started)
                phases["health"].append(runtime.wait_until_healthy(sweep.health_timeout_s))
                mark = time.monotonic()
                runtime.applied_limits()
                phases["limits_check"].append(time.monotonic() - mark)
                mark = time.monotonic()
                runtime.remove()
                phases["teardown"].append(time.monotonic() - mark)
                totals.append(time.monotonic() - started)

                # The floor: the same image, limits and health wait with plain docker run.
                service = services[endpoint.service]
                env = [f"--env={k}={v}" for k, v in (service.get("environment") or {}).items()]
                started = time.monotonic()
                container = subprocess.run(
                    [
                        "docker",
                        "run",
                        "-d",
                        "--network",
                        "host",
                        f"--cpus={tier.limits.cpus}",
                        f"--memory={tier.limits.memory_bytes}",
                        *env,
                        service["image"],
                    ],
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout.strip()
                try:
                    wait_for_http(endpoint.base_url + endpoint.health_path, 60, endpoint.service)
                    subprocess.run(
                        ["docker", "inspect", container], capture_output=True, check=True
                    )
                finally:
                    subprocess.run(
                        ["docker", "rm", "-f", container], capture_output=True, check=True
                    )
                floors.append(time.monotonic() - started)

    cells = len(totals)
    print(
        f"Orchestration overhead over {cells} cells ({args.rounds} rounds of "
        f"{len(sweep.runtimes)} runtimes x {len(sweep.tiers)} tiers, {config_path}):"
    )
    for phase, values in phases.items():
        print(f"  {phase:<13} {spread(values)}")
    print(f"  {'per cell':<13} {spread(totals)}")
    print(f"  {'docker run floor':<13} {spread(floors)}")
    mean_total, mean_floor = statistics.fmean(totals), statistics.fmean(floors)
    print(f"\n  tierbench per cell is {mean_total / mean_floor:.2f} x the plain docker run floor")
    verdict = "within" if mean_total <= TARGET_S else "OVER"
    print(f"  target ≤ {TARGET_S:g} s per cell: {mean_total:.2f} s, {verdict} target")
    return 0


if __name__ == "__main__":
    sys.exit(main())
