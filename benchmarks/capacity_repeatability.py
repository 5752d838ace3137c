"""Capacity repeatability: the same cell's capacity search, run several times.

Runs the whole capacity search of one runtime at one tier `--runs` times in a row (the
runtime placed afresh each time; the support services kept, or started afresh for each
run with `--restart-support`), and prints each run's capacity (the highest rate that
passed k of k full holds, with the lowest rate that failed above it and the holds it
passed) and search time, their mean ± σ with a 95 % confidence interval, and their
coefficient of variation against the 3 % target, and the runtime's CPU time per
request in the full steps that passed: when that moves between runs as much as the
capacity does, the runtime's cost moved, not the search. Each run also shows the host's
speed before and after it (a fixed CPU workload, tierbench.load.host_speed; lower is
faster), and the batch says when it ran, so batches from different hours can be told
apart from a host that changed speed. Each capacity is also given in the units of the
yardstick read at the cell's limits before and after its search (tierbench.load.yardstick):
the figure the yardstick carries to another host, whose spread says how much of the
capacity's was the host's speed, seen on the request path.
Needs the images built (`make capacity` or `snakemake capacity` builds them).

    python benchmarks/capacity_repeatability.py [--runtime python] [--tier m] [--runs 3]
        [--restart-support]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import yaml

from tierbench.capacity.cell import CapacityOutputs, run_capacity_cell
from tierbench.capacity.settings import CapacitySettings
from tierbench.capacity.tables import ci95
from tierbench.config.sweep import Cell, load_sweep
from tierbench.load.docker.backend import DockerBackend
from tierbench.load.machinery import interrupt_on_sigterm
from tierbench.load.yardstick import in_yardstick_units, yardstick_rps

TARGET_CV = 0.03


def cpu_ms_per_request(steps: list[dict], cores: str = "cpu_cores") -> list[float]:
    """CPU milliseconds per HTTP request in each full step that passed: the runtime's, or
    with `cores="k6_cpu_cores"` the load generator's own."""
    return [
        1000 * step[cores] / step["rps"]
        for step in steps
        if step["passed"] and step["phase"] != "probe" and step.get(cores) and step["rps"]
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="config/config.yaml")
    parser.add_argument("--runtime", default="python")
    parser.add_argument("--tier", default="m")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--restart-support",
        action="store_true",
        help="stop the support services after each run, so every run starts them afresh",
    )
    args = parser.parse_args()
    interrupt_on_sigterm()  # the support services go, however the benchmark ends
    sweep = load_sweep(yaml.safe_load(Path(args.config).read_text()), base_dir=Path("."))
    settings = CapacitySettings.from_config(sweep.config["capacity"])
    work = Path(tempfile.mkdtemp(prefix="tierbench-repeat-"))
    backend = DockerBackend(sweep, override_dir=work / "compose")
    cell = Cell(args.runtime, args.tier, 1)
    capacities, times, causes, cpu_ms, probes_ms, units = [], [], [], [], [], []
    k6_ms: list[float] = []
    began = datetime.now(UTC)
    try:
        for run in range(1, args.runs + 1):
            if args.restart_support and run > 1:
                backend.stop_support()
            out = work / f"run{run}"
            record = run_capacity_cell(
                sweep,
                cell,
                backend,
                settings,
                CapacityOutputs(
                    record_json=out / "capacity.json",
                    steps_csv=out / "steps.csv",
                    resources_csv=out / "resources.csv",
                    raw_dir=out / "k6",
                ),
                log=out / "search.log",
            ).to_json()
            verdict = record["verdict"]
            capacities.append(verdict["capacity_rps"])
            times.append(record["search"]["search_s"])
            causes.append(verdict["limited_by"])
            bound = "≥ " if verdict["lower_bound"] else ""
            held = f"{verdict['confirmations']}/{verdict['confirmations_needed']} holds"
            failed = verdict.get("failed_at_rps")
            interval = f" (failed at {failed:,.1f})" if failed else ""
            costs = cpu_ms_per_request(record["steps"])
            cpu_ms.extend(costs)
            cost = f", CPU {min(costs):.2f} … {max(costs):.2f} ms per request" if costs else ""
            k6_costs = cpu_ms_per_request(record["steps"], "k6_cpu_cores")
            k6_ms.extend(k6_costs)
            if k6_costs:
                cost += f" (k6 {min(k6_costs):.2f} … {max(k6_costs):.2f})"
            yardstick = record.get("yardstick")
            unit = in_yardstick_units(verdict["capacity_rps"], yardstick)
            if unit is not None:
                units.append(unit)
                cost += f", yardstick {yardstick_rps(yardstick):,.0f} req/s ({unit:.3f} x)"
            speed = record.get("host_speed")
            if speed:
                probes_ms.append(speed["median_ms"])
                cost += f", host {speed['median_ms']:.1f} ms"
            print(
                f"  run {run}: {bound}{verdict['capacity_rps']:,.1f} req/s{interval}, {held}, "
                "limited by "
                f"{verdict['limited_by']}, {record['search']['steps']} steps in "
                f"{record['search']['search_s']:.0f} s{cost}",
                flush=True,
            )
    finally:
        backend.stop_support()
    mean, sd = statistics.fmean(capacities), statistics.stdev(capacities)
    cv = sd / mean
    half = ci95(capacities) or 0.0
    print(
        f"\n{args.runtime} at {args.tier}, {args.runs} capacity searches "
        f"(p{settings.percentile:g} ≤ {settings.slo_ms:g} ms), "
        f"{began:%Y-%m-%d %H:%M} to {datetime.now(UTC):%H:%M} UTC:"
    )
    print(
        f"  capacity  {mean:,.1f} req/s ± {sd:,.1f}  ({min(capacities):,.1f} … "
        f"{max(capacities):,.1f}), CV {cv:.1%}; 95 % CI of the mean {mean - half:,.1f} … "
        f"{mean + half:,.1f}"
    )
    print(f"  search    {statistics.fmean(times):.0f} s ± {statistics.stdev(times):.0f} s")
    print(f"  limited by: {', '.join(sorted(set(causes)))}")
    if len(cpu_ms) > 1:
        mean_ms, sd_ms = statistics.fmean(cpu_ms), statistics.stdev(cpu_ms)
        print(
            f"  CPU per request in the {len(cpu_ms)} full steps that passed: {mean_ms:.3f} ms "
            f"± {sd_ms:.3f} ({min(cpu_ms):.3f} … {max(cpu_ms):.3f}), CV {sd_ms / mean_ms:.1%}"
        )
    if len(k6_ms) > 1:
        mean_ms, sd_ms = statistics.fmean(k6_ms), statistics.stdev(k6_ms)
        print(
            f"  k6's own CPU per request in the same steps: {mean_ms:.3f} ms ± {sd_ms:.3f} "
            f"({min(k6_ms):.3f} … {max(k6_ms):.3f}), CV {sd_ms / mean_ms:.1%}"
        )
    if probes_ms:
        print(
            f"  host      {min(probes_ms):.1f} … {max(probes_ms):.1f} ms for the fixed CPU "
            f"workload around each run ({max(probes_ms) / min(probes_ms) - 1:+.0%})"
        )
    if len(units) > 1:
        mean_unit, sd_unit = statistics.fmean(units), statistics.stdev(units)
        print(
            f"  in yardstick units: {mean_unit:.3f} x ± {sd_unit:.3f} ({min(units):.3f} … "
            f"{max(units):.3f}), CV {sd_unit / mean_unit:.1%}"
        )
    verdict = "within" if cv <= TARGET_CV else "OVER"
    print(f"  target CV ≤ {TARGET_CV:.0%}: {cv:.1%}, {verdict} target")
    return 0


if __name__ == "__main__":
    sys.exit(main())
