"""Holds at one fixed rate, tracing on and off, interleaved: what tracing costs a runtime at
one tier when both sides serve the same load.

The rate is a share of the traced runtime's capacity (`tracing.rate_share` of the capacity
search's iterations/s), so both sides should run inside their SLO and the difference is
the work tracing adds, not a queue (a hold that broke it is judged and kept as such).
Each hold is a runtime placed afresh under the tier's limits (the traced one, then the
untraced, then the other way round, ...), so slow drift of the host falls on both sides
alike. A hold is one capacity step (`StepRunner`): warm-up, then
a measured hold, judged by the capacity SLO; its spans are counted as every step's are.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from tierbench.capacity.cell import StepRunner
from tierbench.capacity.record import CapacityRecord
from tierbench.capacity.search import RateLattice
from tierbench.capacity.settings import CapacitySettings
from tierbench.capacity.steps import StepResult
from tierbench.config.sweep import Cell, Sweep
from tierbench.files import OutputSet
from tierbench.load.backend import Backend
from tierbench.load.lifecycle import CellRun, say
from tierbench.tracing.settings import TracingSettings

# One row per hold (results/tracing/holds/{cell}.csv), in order.
HOLD_SCHEMA = {
    "runtime": pl.String,
    "tier": pl.String,
    "tracing": pl.String,  # "on" or "off"
    "cell": pl.String,  # the cell held: {runtime}-{tier} or {runtime}-notrace-{tier}
    "repeat": pl.Int64,
    "order": pl.Int64,  # its place among the pair's holds
    "rate": pl.Float64,  # iterations/s offered
    "achieved_rate": pl.Float64,
    "rps": pl.Float64,
    "cpu_cores": pl.Float64,  # the runtime's mean CPU over the hold
    "cpu_ms_per_request": pl.Float64,
    "p99_ms": pl.Float64,  # over every request
    "slo_percentile_ms": pl.Float64,  # the SLO's percentile over the SLO's requests
    "error_rate": pl.Float64,
    "memory_peak_bytes": pl.Float64,
    "support_cpu_cores": pl.Float64,  # the support services (the trace sink among them)
    "k6_cpu_cores": pl.Float64,
    "spans_expected": pl.Int64,
    "spans_received": pl.Int64,
    "spans_per_s": pl.Float64,  # spans the sink received over the step (warm-up + hold)
    "passed": pl.Boolean,
    "reasons": pl.String,
    "container": pl.String,
    "started_at": pl.String,
}


@dataclass(frozen=True)
class HoldOutputs:
    holds_csv: Path  # results/tracing/holds/{cell}.csv
    raw_dir: Path  # results/tracing/k6/{cell}/: each hold's k6 script, raw data, summary

    def output_set(self) -> OutputSet:
        return OutputSet([self.raw_dir, self.holds_csv])


def hold_order(repeats: int) -> list[tuple[int, bool]]:
    """(repeat, traced) in the order held: on, off, then off, on, ... so neither side is
    always first after the other."""
    order = []
    for repeat in range(1, repeats + 1):
        sides = [True, False] if repeat % 2 else [False, True]
        order += [(repeat, traced) for traced in sides]
    return order


def fixed_rate(record: CapacityRecord, settings: TracingSettings, precision: float) -> float | None:
    """The rate both sides are held at: the share of the traced capacity, on the search's
    lattice of rates; None when the traced runtime has no capacity to take a share of."""
    capacity = record.verdict.capacity_rate
    if not capacity:
        return None
    return RateLattice(precision).nearest(settings.rate_share * capacity)


def hold_row(
    result: StepResult, cell: Cell, base: str, traced: bool, repeat: int, order: int
) -> dict[str, Any]:
    """One hold as its table keeps it."""
    cpu_ms = None
    if result.cpu_cores is not None and result.rps:
        cpu_ms = 1000.0 * result.cpu_cores / result.rps
    duration = result.warmup_s + result.hold_s
    return {
        "runtime": base,
        "tier": cell.tier,
        "tracing": "on" if traced else "off",
        "cell": cell.name,
        "repeat": repeat,
        "order": order,
        "rate": result.offered_rate,
        "achieved_rate": result.achieved_rate,
        "rps": result.rps,
        "cpu_cores": result.cpu_cores,
        "cpu_ms_per_request": cpu_ms,
        "p99_ms": result.p99_ms,
        "slo_percentile_ms": result.percentile_ms,
        "error_rate": result.error_rate,
        "memory_peak_bytes": result.memory_peak_bytes,
        "support_cpu_cores": result.support_cpu_cores,
        "k6_cpu_cores": result.k6_cpu_cores,
        "spans_expected": result.spans_expected,
        "spans_received": result.spans_received,
        "spans_per_s": None if result.spans_received is None else result.spans_received / duration,
        "passed": result.passed,
        "reasons": "; ".join(result.reasons),
        "container": result.container,
        "started_at": result.started_at,
    }


def hold_once(
    sweep: Sweep,
    cell: Cell,
    backend: Backend,
    rate: float,
    tracing: TracingSettings,
    capacity: CapacitySettings,
    raw: Path,
    log: Path,
    project_dir: Path,
) -> StepResult | None:
    """One hold of `cell` at `rate` on a runtime placed for it; None when the runtime did
    not start (said in the log)."""
    with CellRun(sweep, cell, backend, OutputSet([]), log, project_dir) as run:
        if run.failure is not None:
            return None
        run.start_sampler()
        raw.mkdir(parents=True)
        runner = StepRunner(run, capacity, raw)
        result = runner(rate, "hold", tracing.warmup_s, tracing.hold_s)
        run.stop_sampler()
    shutil.rmtree(runner.work, ignore_errors=True)
    return result


def run_tracing_holds(
    sweep: Sweep,
    traced: Cell,
    untraced: Cell,
    record: CapacityRecord,
    new_backend: Callable[[], Backend],
    outputs: HoldOutputs,
    log: Path,
    project_dir: Path = Path("."),
) -> pl.DataFrame:
    """Hold `traced` and `untraced` at the fixed rate, interleaved, and write the table
    (no rows when the traced runtime has no capacity: said in the log)."""
    tracing = TracingSettings.from_config(sweep.config)
    capacity = CapacitySettings.from_config(sweep.config["capacity"])
    files = outputs.output_set()
    files.prepare()
    rows: list[dict[str, Any]] = []
    try:
        raw = files.partial(outputs.raw_dir)
        raw.mkdir(parents=True)
        rate = fixed_rate(record, tracing, capacity.precision)
        if rate is None:
            say(log, f"{traced.name}: no capacity with tracing on, so no rate to hold")
        else:
            say(
                log,
                f"{traced.name}: tracing on and off at {rate:g} iterations/s "
                f"({tracing.rate_share:.0%} of the traced capacity), {tracing.repeats} times "
                "each",
            )
        for order, (repeat, on) in enumerate(hold_order(tracing.repeats if rate else 0), 1):
            cell = traced if on else untraced
            assert rate is not None
            result = hold_once(
                sweep,
                cell,
                new_backend(),
                rate,
                tracing,
                capacity,
                raw / f"{'on' if on else 'off'}-r{repeat}",
                log,
                project_dir,
            )
            if result is not None:
                rows.append(hold_row(result, cell, traced.runtime, on, repeat, order))
        frame = pl.DataFrame(rows, schema=HOLD_SCHEMA)
        frame.write_csv(files.partial(outputs.holds_csv))
    except BaseException:
        files.discard()
        raise
    files.commit()
    return frame
