"""The tracing sweep's table: per runtime and tier, what tracing costs at a fixed rate
(CPU per request and p99, on − off with a 95 % confidence interval), what it costs in
capacity and memory, and the spans it sends with what the sink spends receiving them.

Differences are Welch's over the holds of each side (`tierbench.aggregate.welch`). A
difference whose interval includes zero is said as "no measurable difference", not as a
number."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import polars as pl

from tierbench.aggregate.welch import sample_difference
from tierbench.capacity.record import CapacityRecord
from tierbench.capacity.tables import shown_number
from tierbench.capacity.verdict import load_side_bound
from tierbench.files import write_frame, write_text
from tierbench.tracing.settings import VARIANT

NO_DIFFERENCE = "no measurable difference"
# The holds' figures compared on and off: (column in the holds, name in the table).
COMPARED = (
    ("cpu_ms_per_request", "cpu_ms"),
    ("p99_ms", "p99_ms"),
    ("support_cpu_cores", "support_cpu"),
)

# The table's columns (results/tracing.csv), in order.
TRACING_SCHEMA: dict[str, Any] = {
    "runtime": pl.String,
    "tier": pl.String,
    "rate": pl.Float64,
    "rps": pl.Float64,
    "holds_on": pl.Int64,
    "holds_off": pl.Int64,
    "holds_failed": pl.Int64,
    **{
        f"{name}_{part}": pl.Boolean if part == "measurable" else pl.Float64
        for _, name in COMPARED
        for part in ("on", "off", "difference", "low", "high", "measurable")
    },
    "cpu_overhead_pct": pl.Float64,
    "spans_per_s": pl.Float64,
    "spans_lost": pl.Int64,
    **{
        f"{column}_{side}": kind
        for side in ("on", "off")
        for column, kind in (
            ("capacity_rps", pl.Float64),
            ("capacity_lower_bound", pl.Boolean),
            ("confirmed", pl.String),
            ("memory_at_capacity_bytes", pl.Float64),
        )
    },
    "capacity_ratio": pl.Float64,
}


def _capacity(record: CapacityRecord | None) -> dict[str, Any]:
    """A side's capacity, a lower bound where its verdict says so or where it lies at the
    load side's measured ceiling (a record made before its verdict looked there)."""
    if record is None:
        return {"rps": None, "lower_bound": None, "confirmed": None, "memory": None}
    verdict = record.verdict
    at_ceiling = load_side_bound(
        verdict.limited_by,
        verdict.failed_at_rps or verdict.capacity_rps,
        record.measured_load_side(),
    )
    return {
        "rps": verdict.capacity_rps,
        "lower_bound": verdict.lower_bound or at_ceiling,
        "confirmed": f"{verdict.confirmations or 0}/{verdict.confirmations_needed or 0}",
        "memory": verdict.memory_peak_bytes,
    }


def tracing_frame(holds: pl.DataFrame, records: Sequence[CapacityRecord]) -> pl.DataFrame:
    """One row per runtime and tier, in the order the holds and records give them."""
    by_cell = {record.cell: record for record in records}
    rows = []
    pairs = dict.fromkeys(
        (record.runtime, record.tier) for record in records if record.variant_of is None
    )
    for runtime, tier in pairs:
        mine = holds.filter((pl.col("runtime") == runtime) & (pl.col("tier") == tier))
        on, off = mine.filter(pl.col("tracing") == "on"), mine.filter(pl.col("tracing") == "off")
        row: dict[str, Any] = {
            "runtime": runtime,
            "tier": tier,
            "rate": mine["rate"].max() if mine.height else None,
            "rps": on["rps"].mean() if on.height else None,
            "holds_on": on.height,
            "holds_off": off.height,
            "holds_failed": mine.filter(~pl.col("passed")).height,
        }
        for column, name in COMPARED:
            found = sample_difference(on[column].to_list(), off[column].to_list())
            row |= {
                f"{name}_on": found.first,
                f"{name}_off": found.second,
                f"{name}_difference": found.difference,
                f"{name}_low": found.low,
                f"{name}_high": found.high,
                f"{name}_measurable": found.measurable,
            }
        row["cpu_overhead_pct"] = _share(row["cpu_ms_difference"], row["cpu_ms_off"])
        row["spans_per_s"] = on["spans_per_s"].mean() if on.height else None
        lost = on.select(pl.col("spans_expected") - pl.col("spans_received")).to_series()
        row["spans_lost"] = int(lost.drop_nulls().sum()) if lost.drop_nulls().len() else None
        traced = _capacity(by_cell.get(f"{runtime}-{tier}"))
        untraced = _capacity(by_cell.get(f"{runtime}-{VARIANT}-{tier}"))
        for side, figures in (("on", traced), ("off", untraced)):
            row[f"capacity_rps_{side}"] = figures["rps"]
            row[f"capacity_lower_bound_{side}"] = figures["lower_bound"]
            row[f"confirmed_{side}"] = figures["confirmed"]
            row[f"memory_at_capacity_bytes_{side}"] = figures["memory"]
        row["capacity_ratio"] = _ratio(row["capacity_rps_on"], row["capacity_rps_off"])
        rows.append(row)
    return pl.DataFrame(rows, schema=TRACING_SCHEMA)


def _share(part: float | None, whole: float | None) -> float | None:
    return None if part is None or not whole else 100.0 * part / whole


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or not b else a / b


def shown_difference(row: dict[str, Any], name: str, digits: int, unit: str) -> str:
    """`+0.42 ms (0.30 to 0.55)`, `no measurable difference (−0.02 to +0.05 ms)`, or the
    bare difference where a side has one hold (no interval)."""
    diff, low, high = row[f"{name}_difference"], row[f"{name}_low"], row[f"{name}_high"]
    if diff is None:
        return "–"
    if low is None or high is None:
        return f"{diff:+,.{digits}f} {unit} (one hold a side: no interval)"
    interval = f"{low:+,.{digits}f} to {high:+,.{digits}f} {unit}"
    if not row[f"{name}_measurable"]:
        return f"{NO_DIFFERENCE} ({interval})"
    return f"{diff:+,.{digits}f} {unit} ({interval})"


def _capacity_text(row: dict[str, Any], side: str) -> str:
    rps = row[f"capacity_rps_{side}"]
    if rps is None:
        return "–"
    bound = "≥ " if row[f"capacity_lower_bound_{side}"] else ""
    return f"{bound}{rps:,.0f} ({row[f'confirmed_{side}']})"


def shown_ratio(row: dict[str, Any]) -> str:
    """on ÷ off; "≤" where only the untraced capacity is a lower bound, "≥" where only the
    traced one is, and no figure where both are."""
    ratio = row["capacity_ratio"]
    on, off = row["capacity_lower_bound_on"], row["capacity_lower_bound_off"]
    if ratio is None or (on and off):
        return "–"
    return f"{'≤ ' if off else '≥ ' if on else ''}{ratio:.2f}"


def _mib(value: float | None) -> str:
    return "–" if value is None else f"{value / 2**20:,.0f} MiB"


def tracing_markdown(frame: pl.DataFrame, off_environment: dict[str, str], share: float) -> str:
    switch = ", ".join(f"`{k}={v}`" for k, v in off_environment.items())
    repeats = int(frame["holds_on"].max() or 0) if frame.height else 0
    lines = [
        "# What tracing costs",
        "",
        f"Each runtime with its tracing on and off ({switch}, the variant `{VARIANT}`), "
        f"at each tier. At a fixed rate, {share:.0%} of the traced runtime's capacity, "
        f"both sides were held {repeats} times, interleaved, each on a runtime placed "
        "afresh: differences are on − off, with Welch's 95 % confidence interval; where "
        f'it includes zero the table says "{NO_DIFFERENCE}". Capacities come from one '
        "capacity search of each side (confirmed k of k, as `snakemake capacity`); "
        '"≥" marks a lower bound, where the load generator, not the runtime, stopped '
        "the search (at the load side's measured ceiling, in capacity.md's words).",
        "",
        "## At a fixed rate",
        "",
        "| runtime | tier | it/s | req/s | CPU ms/request on | off | tracing adds "
        "| % | p99 ms on | off | p99 difference |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in frame.iter_rows(named=True):
        overhead = row["cpu_overhead_pct"]
        lines.append(
            "| "
            + " | ".join(
                [
                    row["runtime"],
                    row["tier"],
                    shown_number(row["rate"], 1),
                    shown_number(row["rps"], 0),
                    shown_number(row["cpu_ms_on"], 3),
                    shown_number(row["cpu_ms_off"], 3),
                    shown_difference(row, "cpu_ms", 3, "ms"),
                    "–"
                    if overhead is None or not row["cpu_ms_measurable"]
                    else f"{overhead:+.0f} %",
                    shown_number(row["p99_ms_on"], 1),
                    shown_number(row["p99_ms_off"], 1),
                    shown_difference(row, "p99_ms", 1, "ms"),
                ]
            )
            + " |"
        )
    lines += [
        "",
        "## Capacity and memory",
        "",
        "| runtime | tier | capacity req/s on (confirmed) | off (confirmed) | on ÷ off "
        "| memory at capacity on | off |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in frame.iter_rows(named=True):
        lines.append(
            f"| {row['runtime']} | {row['tier']} | {_capacity_text(row, 'on')} "
            f"| {_capacity_text(row, 'off')} | {shown_ratio(row)} "
            f"| {_mib(row['memory_at_capacity_bytes_on'])} "
            f"| {_mib(row['memory_at_capacity_bytes_off'])} |"
        )
    lines += [
        "",
        "## Spans and the sink",
        "",
        "The trace sink runs in the support services (the reference stack's mock LLM), so "
        "its cost is the support services' CPU with tracing on less that with it off, at "
        "the same rate.",
        "",
        "| runtime | tier | spans/s | spans lost | support CPU on (cores) | off | the sink's CPU |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in frame.iter_rows(named=True):
        lost = row["spans_lost"]
        lines.append(
            f"| {row['runtime']} | {row['tier']} | {shown_number(row['spans_per_s'], 0)} "
            f"| {'–' if lost is None else f'{lost:,}'} "
            f"| {shown_number(row['support_cpu_on'], 3)} "
            f"| {shown_number(row['support_cpu_off'], 3)} "
            f"| {shown_difference(row, 'support_cpu', 3, 'cores')} |"
        )
    failed = int(frame["holds_failed"].sum()) if frame.height else 0
    if failed:
        lines += [
            "",
            f"⚠ {failed} hold(s) broke the capacity SLO at the fixed rate: "
            "results/tracing/holds/ gives each hold and why.",
        ]
    return "\n".join(lines) + "\n"


def write_tracing_tables(
    holds: pl.DataFrame,
    records: Sequence[CapacityRecord],
    *,
    csv: Path,
    parquet: Path,
    markdown: Path,
    off_environment: dict[str, str],
    share: float,
) -> pl.DataFrame:
    frame = tracing_frame(holds, records)
    write_frame(frame, csv)
    write_frame(frame, parquet)
    write_text(tracing_markdown(frame, off_environment, share), markdown)
    return frame
