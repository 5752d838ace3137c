"""The host's warnings on the real engine: quiet on three sweeps of a quiet host, and
naming the cause when a busy loop shares the runtime's core."""

from __future__ import annotations

import csv
import time

import pytest

from conftest import Workdir, busy_loop, containers_of
from tierbench.load.host import plan_cpus, usable_cpus

pytestmark = pytest.mark.docker
PROJECT = "tierbench-test"
HOST_WARNINGS = ("besides the runtime", "at different speeds")


def small_sweep(workdir: Workdir) -> tuple[str, dict[str, float]]:
    """One runtime at two tiers, 2 s of load a cell, up to the warnings (no charts), every
    cell loaded again: warnings.md, and each cell's `neighbour_cores`."""
    config = workdir.config
    config["runtimes"] = {"web": config["runtimes"]["web"]}
    config["support_services"] = []
    workdir.write_config(config)
    started = time.monotonic()
    result = workdir.snakemake("results/warnings.md", "--forcerun", "load")
    print(f"sweep: {time.monotonic() - started:.1f} s")
    assert result.returncode == 0, result.stderr[-3000:]
    with open(workdir.path / "results" / "runs.csv") as handle:
        runs = {row["cell"]: float(row["neighbour_cores"]) for row in csv.DictReader(handle)}
    return (workdir.path / "results" / "warnings.md").read_text(), runs


def test_host_warnings_stay_quiet_on_a_quiet_host_and_name_a_neighbour_on_the_runtimes_cpu(
    workdir: Workdir,
):
    runtime_cpu = usable_cpus()[0]
    plan = plan_cpus(0.25, [0.25, 0.5], "auto")
    assert plan.enabled and plan.runtime_cpus == (runtime_cpu,), plan.reason
    for sweep in range(3):
        warnings, runs = small_sweep(workdir)
        print("quiet", sweep + 1, runs)
        assert not any(marker in warnings for marker in HOST_WARNINGS), warnings
        assert all(cores < 0.2 for cores in runs.values()), runs
    with busy_loop(runtime_cpu):
        warnings, runs = small_sweep(workdir)
    print("busy", runs)
    # The loop takes what the runtime leaves of its core: most of it at these quotas.
    assert all(cores > 0.4 for cores in runs.values()), runs
    for cell in runs:
        assert f"{cell}: something besides the runtime kept" in warnings, warnings
    assert "another process shared the runtime's CPUs" in warnings
    assert containers_of(PROJECT) == []
