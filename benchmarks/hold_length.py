"""How long a capacity step's hold must be for a growing backlog to show.

Above its knee a runtime queues more work every second than it finishes, so its latency
grows through the hold: a short hold can end before the backlog breaks the SLO and pass a
rate the runtime cannot sustain. This benchmark holds long steps (30 s) at rates around
the cell's knee C (found by a quick search, or given) and judges each again as if its hold
had been cut at 5, 7, 10, 12, 15, 20 and 30 s (the requests that started in the first
seconds of the hold, k6's p99): a cut that passes a step the whole hold fails passed a
rate falsely. It prints, for each cut, the steps it passed falsely and failed falsely,
so the shortest hold with no false pass near the knee can be chosen from data.

    python benchmarks/hold_length.py [--runtime python] [--tier m] [--hold 30]
        [--repeats 3] [--knee IT_PER_S] [--shares 0.95,1.0,1.05]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl
import yaml

from tierbench.capacity.cell import StepRunner
from tierbench.capacity.search import capacity_search
from tierbench.capacity.settings import CapacitySettings
from tierbench.capacity.steps import StepResult
from tierbench.config.sweep import Cell, load_sweep
from tierbench.files import OutputSet
from tierbench.load.docker.backend import DockerBackend
from tierbench.load.lifecycle import CellRun
from tierbench.load.machinery import interrupt_on_sigterm
from tierbench.tidy.k6_json import scan_requests

CUTS_S = (5, 7, 10, 12, 15, 20, 30)


def p99_within(requests: Path, hold_start: datetime, seconds: float) -> float | None:
    """k6's p99 of the requests that started in the first `seconds` of the hold."""
    started = pl.col("timestamp") - pl.duration(milliseconds=pl.col("duration_ms"))
    end = hold_start + timedelta(seconds=seconds)
    frame = (
        scan_requests(requests)
        .filter(
            started.is_between(
                pl.lit(hold_start).dt.cast_time_unit("ns"),
                pl.lit(end).dt.cast_time_unit("ns"),
                closed="left",
            )
        )
        .select(pl.col("duration_ms").quantile(0.99, interpolation="linear"))
        .collect()
    )
    return frame.item()


def cut_verdicts(
    step: StepResult, requests: Path, settings: CapacitySettings, cuts: list[float]
) -> dict[float, bool]:
    """Pass or fail of the step as if its hold had been cut at each of `cuts` seconds:
    its latency judged over the cut, its other tests (drops, achieved rate) as they were."""
    hold_start = datetime.fromisoformat(step.started_at) + timedelta(seconds=step.warmup_s)
    label = settings.percentile_label
    others = [r for r in step.reasons if not r.startswith(label)]
    verdicts = {}
    for cut in cuts:
        p99 = p99_within(requests, hold_start, cut)
        verdicts[cut] = not others and p99 is not None and p99 <= settings.slo_ms
    return verdicts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="config/config.yaml")
    parser.add_argument("--runtime", default="python")
    parser.add_argument("--tier", default="m")
    parser.add_argument("--hold", type=float, default=30.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--knee", type=float, help="the knee in iterations/s (skip the search)")
    parser.add_argument("--shares", default="0.95,1.0,1.05")
    args = parser.parse_args()
    interrupt_on_sigterm()
    sweep = load_sweep(yaml.safe_load(Path(args.config).read_text()), base_dir=Path("."))
    settings = CapacitySettings.from_config(sweep.config["capacity"])
    shares = [float(s) for s in args.shares.split(",")]
    cuts = [c for c in CUTS_S if c <= args.hold]
    work = Path(tempfile.mkdtemp(prefix="tierbench-hold-"))
    backend = DockerBackend(sweep, override_dir=work / "compose")
    raw = work / "k6"
    raw.mkdir(parents=True)
    judged: list[tuple[float, StepResult, dict[float, bool]]] = []
    try:
        with CellRun(
            sweep, Cell(args.runtime, args.tier, 1), backend, OutputSet([]), work / "log"
        ) as run:
            run.start_sampler()
            runner = StepRunner(run, settings, raw)
            knee = args.knee
            if knee is None:
                outcome = capacity_search(
                    runner, replace(settings, confirmations=1, time_budget_s=120)
                )
                knee = outcome.best.offered_rate
                print(f"  knee: {knee:.4g} iterations/s from a quick search", flush=True)
            for _ in range(args.repeats):
                for share in shares:
                    step = runner(knee * share, "step", settings.warmup_s, args.hold)
                    requests = runner.work / f"{step.name}.parquet"
                    judged.append((share, step, cut_verdicts(step, requests, settings, cuts)))
            run.stop_sampler()
    finally:
        backend.stop_support()
    print(
        f"\n{args.runtime} at {args.tier}: {len(judged)} steps of {args.hold:g} s holds at "
        f"{', '.join(f'{s:g}' for s in shares)} × the knee ({knee:.4g} iterations/s), "
        f"{settings.step_start} runtime before each; each judged again with its hold cut:"
    )
    print(f"  {'hold':>6}  {'false passes':>12}  {'false fails':>11}  passed")
    for cut in cuts:
        false_pass = sum(v[cut] and not step.passed for _, step, v in judged)
        false_fail = sum(step.passed and not v[cut] for _, step, v in judged)
        passed = sum(v[cut] for _, _, v in judged)
        print(f"  {cut:>5g}s  {false_pass:>12}  {false_fail:>11}  {passed}/{len(judged)}")
    for share in shares:
        steps = [(step, v) for s, step, v in judged if s == share]
        row = "  ".join(f"{cut:g}s {sum(v[cut] for _, v in steps)}/{len(steps)}" for cut in cuts)
        print(f"  passed at {share:.2f} C:  {row}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
