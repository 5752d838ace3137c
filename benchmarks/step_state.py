"""The runtime's state before a capacity step: which one makes steps repeatable?

A capacity search holds many steps on one cell, some of them past the knee. Before each,
the runtime can be the previous step's, drained until idle (`warm`), or one placed afresh
(`fresh`). This benchmark finds the cell's knee C with a quick search, then runs the same
cycle of full steps in each state, the states taking turns cycle by cycle:

    0.95 C, 1.15 C (an overload, as a search meets above the knee), 0.95 C, 1.00 C

and prints, for each state and rate, how many steps passed, their p99 and the runtime's
CPU per request (mean ± sd), and, just below the knee where a search confirms its
answer, how many steps agreed and how the runtime's CPU per request moved from step to
step. Needs the images built (`make capacity`).

    python benchmarks/step_state.py [--runtime python] [--tier m] [--cycles 3]
        [--knee IT_PER_S] [--out FILE.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

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

CYCLE = (0.95, 1.15, 0.95, 1.00)
STATES = ("warm", "fresh")


def cpu_ms_per_request(step: StepResult) -> float | None:
    if not step.cpu_cores or not step.rps:
        return None
    return 1000 * step.cpu_cores / step.rps


def spread(values: list[float]) -> str:
    if not values:
        return "–"
    if len(values) == 1:
        return f"{values[0]:.3g}"
    return f"{statistics.fmean(values):.3g} ± {statistics.stdev(values):.2g}"


def agreement(steps: list[StepResult]) -> tuple[int, int]:
    """(steps that agree with the majority verdict, steps)."""
    passed = sum(step.passed for step in steps)
    return max(passed, len(steps) - passed), len(steps)


STATE_WORDS = {
    "warm": "the previous step's runtime, drained until idle",
    "fresh": "a runtime placed afresh before every step",
}
# Where a search confirms its answer: just below the knee.
CONFIRMING_SHARE = 0.95


def report(by_state: dict[str, dict[float, list[StepResult]]]) -> None:
    """Per state and rate: steps passed, p99 and CPU per request; then, at the rate where
    a search confirms its answer, how many steps agreed and how the runtime's CPU per
    request moved from step to step (a runtime that carries its history drifts)."""
    for state in STATES:
        print(f"\n  {state}: {STATE_WORDS[state]}")
        for share, steps in sorted(by_state[state].items()):
            p99 = [s.p99_ms for s in steps if s.p99_ms is not None]
            cpu = [v for s in steps if (v := cpu_ms_per_request(s)) is not None]
            agree, total = agreement(steps)
            print(
                f"    {share:.2f} C: passed {sum(s.passed for s in steps)}/{total} "
                f"({agree} of {total} agree), p99 {spread(p99)} ms, CPU {spread(cpu)} ms "
                "per request"
            )
        confirming = by_state[state].get(CONFIRMING_SHARE, [])
        order = ", ".join(
            f"{v:.3g}" for s in confirming if (v := cpu_ms_per_request(s)) is not None
        )
        print(f"    CPU ms per request at {CONFIRMING_SHARE:g} C, in the order run: {order}")
    words = []
    for state in STATES:
        confirming = by_state[state].get(CONFIRMING_SHARE, [])
        agree, total = agreement(confirming) if confirming else (0, 0)
        p99 = [s.p99_ms for s in confirming if s.p99_ms is not None]
        cv = statistics.stdev(p99) / statistics.fmean(p99) if len(p99) > 1 else 0.0
        words.append(f"{state} {agree} of {total} agree, p99 CV {cv:.0%}")
    print(f"\n  at {CONFIRMING_SHARE:g} C, where a search confirms its answer: " + "; ".join(words))


def rows_by_state(rows: list[dict]) -> dict[str, dict[float, list[StepResult]]]:
    by_state: dict[str, dict[float, list[StepResult]]] = {s: {} for s in STATES}
    for row in rows:
        step = StepResult.from_row({k: v for k, v in row.items() if k not in ("state", "share")})
        by_state[row["state"]].setdefault(row["share"], []).append(step)
    return by_state


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="config/config.yaml")
    parser.add_argument("--runtime", default="python")
    parser.add_argument("--tier", default="m")
    parser.add_argument("--cycles", type=int, default=3)
    parser.add_argument("--knee", type=float, help="the knee in iterations/s (skip the search)")
    parser.add_argument("--out", type=Path, help="every step, as JSON")
    parser.add_argument("--from", dest="saved", type=Path, help="report the steps of an --out file")
    args = parser.parse_args()
    if args.saved:
        saved = json.loads(args.saved.read_text())
        print(saved["heading"])
        report(rows_by_state(saved["steps"]))
        return 0
    interrupt_on_sigterm()
    sweep = load_sweep(yaml.safe_load(Path(args.config).read_text()), base_dir=Path("."))
    settings = CapacitySettings.from_config(sweep.config["capacity"])
    work = Path(tempfile.mkdtemp(prefix="tierbench-state-"))
    backend = DockerBackend(sweep, override_dir=work / "compose")
    cell = Cell(args.runtime, args.tier, 1)
    began = datetime.now(UTC)
    by_state: dict[str, dict[float, list[StepResult]]] = {s: {} for s in STATES}
    rows = []
    raw = work / "k6"
    raw.mkdir(parents=True)
    try:
        with CellRun(sweep, cell, backend, OutputSet([]), work / "run.log") as run:
            run.start_sampler()
            runner = StepRunner(run, settings, raw)
            knee = args.knee
            if knee is None:
                quick = replace(settings, confirmations=1, time_budget_s=120)
                outcome = capacity_search(runner, quick)
                knee = outcome.best.offered_rate
                print(f"  knee: {knee:.4g} iterations/s from a quick search", flush=True)
            for cycle in range(args.cycles):
                for state in STATES if cycle % 2 == 0 else reversed(STATES):
                    runner.settings = replace(settings, step_start=state)
                    runner.steps_run = max(runner.steps_run, 1)
                    for share in CYCLE:
                        step = runner(knee * share, "step", settings.warmup_s, settings.hold_s)
                        by_state[state].setdefault(share, []).append(step)
                        rows.append({"state": state, "share": share, **step.as_row()})
            run.stop_sampler()
    finally:
        backend.stop_support()
    heading = (
        f"{args.runtime} at {args.tier}: {args.cycles} cycles of {len(CYCLE)} full steps "
        f"({settings.warmup_s:g} s warm-up, {settings.hold_s:g} s hold) in each state, "
        f"knee C = {knee:.4g} iterations/s, {began:%Y-%m-%d %H:%M} to "
        f"{datetime.now(UTC):%H:%M} UTC:"
    )
    print("\n" + heading)
    report(by_state)
    if args.out:
        args.out.write_text(json.dumps({"heading": heading, "steps": rows}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
