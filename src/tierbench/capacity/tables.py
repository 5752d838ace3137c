"""The sweep-wide capacity table (results/capacity.csv, .parquet, .md): one row per
runtime x tier, from the cells' capacity records."""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import polars as pl

from tierbench.aggregate.markdown import host_speed_section
from tierbench.aggregate.neighbours import neighbour_cores, neighbour_warning, runtime_cpu_count
from tierbench.aggregate.trust_warnings import Thresholds, host_speed_warning
from tierbench.aggregate.welch import t_quantile
from tierbench.capacity.load_side import LoadSide, load_side_section
from tierbench.capacity.record import CapacityRecord
from tierbench.files import write_frame, write_text
from tierbench.load.yardstick import yardstick_section

GB = 2**30

CAPACITY_SCHEMA = pl.Schema(
    {
        "runtime": pl.String,
        "tier": pl.String,
        "tier_order": pl.Int64,
        "status": pl.String,
        "cpus": pl.Float64,
        "memory_bytes": pl.Int64,
        "capacity_rps": pl.Float64,
        "capacity_rate": pl.Float64,
        "iterations_per_s": pl.Float64,
        "failed_at_rps": pl.Float64,
        "failed_at_rate": pl.Float64,
        "confirmations": pl.Int64,
        "confirmations_needed": pl.Int64,
        "confirmed": pl.Boolean,
        "unconfirmed_why": pl.String,
        "searches": pl.Int64,
        "capacity_rps_ci95": pl.Float64,
        "capacity_rps_runs": pl.String,  # each search's capacity, a JSON list
        "lower_bound": pl.Boolean,
        "predicted_rps": pl.Float64,
        "latency_ms_at_capacity": pl.Float64,
        "cpu_pct_at_capacity": pl.Float64,
        "memory_pct_at_capacity": pl.Float64,
        "memory_peak_bytes": pl.Float64,
        "limited_by": pl.String,
        "workers": pl.Int64,
        "rps_per_cpu_at_capacity": pl.Float64,
        "rps_per_gb_at_capacity": pl.Float64,
        "search_s": pl.Float64,
        "steps": pl.Int64,
        "converged": pl.Boolean,
        "slo_ms": pl.Float64,
        "percentile": pl.Float64,
        "slo_requests": pl.String,
        "hold_s": pl.Float64,
        "step_start": pl.String,
        "contended": pl.Boolean,
        "reason": pl.String,
    }
)


def _slo_requests_label(settings: dict[str, Any]) -> str | None:
    chosen = settings.get("slo_requests")
    if not chosen:
        return None
    ((tag, values),) = chosen.items()
    return f"{tag} {'|'.join([values] if isinstance(values, str) else values)}"


def capacity_row(record: CapacityRecord) -> dict[str, Any]:
    """One search's row."""
    verdict = record.verdict
    applied = record.limits["applied"]
    cpus, memory = applied["cpus"], applied["memory_bytes"]
    rps = verdict.capacity_rps
    settings, search = record.settings, record.search
    # Records of earlier versions kept k only in the search's figures.
    needed = verdict.confirmations_needed or search.get("confirmations_needed") or 0
    return {
        "runtime": record.runtime,
        "tier": record.tier,
        "tier_order": record.tier_order,
        "status": record.status,
        "cpus": cpus,
        "memory_bytes": memory,
        "capacity_rps": rps,
        "capacity_rate": verdict.capacity_rate,
        "iterations_per_s": verdict.iterations_per_s,
        "failed_at_rps": verdict.failed_at_rps,
        "failed_at_rate": verdict.failed_at_rate,
        "confirmations": verdict.confirmations,
        "confirmations_needed": needed,
        "confirmed": rps is not None and verdict.confirmations >= needed,
        "unconfirmed_why": verdict.unconfirmed_why,
        "searches": 1,
        "capacity_rps_ci95": None,
        "capacity_rps_runs": json.dumps([rps] if rps is not None else []),
        "lower_bound": verdict.lower_bound,
        "predicted_rps": verdict.predicted_rps,
        "latency_ms_at_capacity": verdict.latency_ms_at_capacity,
        "cpu_pct_at_capacity": verdict.cpu_pct_at_capacity,
        "memory_pct_at_capacity": verdict.memory_pct_at_capacity,
        "memory_peak_bytes": verdict.memory_peak_bytes,
        "limited_by": verdict.limited_by,
        "workers": record.workers,
        "rps_per_cpu_at_capacity": None if rps is None or not cpus else rps / cpus,
        "rps_per_gb_at_capacity": None if rps is None or not memory else rps / (memory / GB),
        "search_s": search.get("search_s"),
        "steps": len(record.steps),
        "converged": search.get("converged"),
        "slo_ms": settings.get("slo_ms"),
        "percentile": settings.get("percentile"),
        "slo_requests": _slo_requests_label(settings),
        "hold_s": settings.get("hold_s"),
        "step_start": settings.get("step_start"),
        "contended": bool(record.contended),
        "reason": verdict.reason,
    }


def ci95(values: Sequence[float]) -> float | None:
    """Half the width of the 95 % confidence interval of the mean (Student's t)."""
    if len(values) < 2:
        return None
    sd = statistics.stdev(values)
    return t_quantile(0.975, len(values) - 1) * sd / math.sqrt(len(values))


def _merged(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """One runtime x tier searched several times: the mean capacity with its confidence
    interval, the weakest confirmation, and the rest from the first search."""
    if len(rows) == 1:
        return rows[0]
    found = [r["capacity_rps"] for r in rows if r["capacity_rps"] is not None]
    merged = dict(rows[0])
    mean = statistics.fmean(found) if found else None
    weakest = min(rows, key=lambda r: (r["confirmed"], r["confirmations"]))
    merged |= {
        "capacity_rps": mean,
        "capacity_rps_runs": json.dumps(found),
        "capacity_rps_ci95": ci95(found),
        "searches": len(rows),
        "lower_bound": any(r["lower_bound"] for r in rows),
        "confirmations": weakest["confirmations"],
        "confirmed": all(r["confirmed"] for r in rows),
        "unconfirmed_why": weakest["unconfirmed_why"],
        "failed_at_rps": min(
            (r["failed_at_rps"] for r in rows if r["failed_at_rps"]), default=None
        ),
        "search_s": statistics.fmean(r["search_s"] or 0.0 for r in rows),
        "steps": sum(r["steps"] for r in rows),
        "rps_per_cpu_at_capacity": None if mean is None else mean / rows[0]["cpus"],
        "rps_per_gb_at_capacity": None if mean is None else mean / (rows[0]["memory_bytes"] / GB),
        "reason": " / ".join(dict.fromkeys(r["reason"] for r in rows)),
    }
    return merged


def capacity_frame(records: Sequence[CapacityRecord], runtimes: Sequence[str] = ()) -> pl.DataFrame:
    """One row per runtime x tier (a cell searched more than once: the mean of its
    searches, with a 95 % confidence interval), tiers in config order, runtimes in the
    order given (or as first seen)."""
    order = list(runtimes) or list(dict.fromkeys(r.runtime for r in records))
    by_cell: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for record in sorted(records, key=lambda r: r.repeat):
        by_cell.setdefault((record.runtime, record.tier), []).append(capacity_row(record))
    frame = pl.DataFrame([_merged(rows) for rows in by_cell.values()], schema=CAPACITY_SCHEMA)
    rank = {name: i for i, name in enumerate(order)}
    return (
        frame.with_columns(
            pl.col("runtime").replace_strict(rank, default=len(rank)).alias("_runtime_rank")
        )
        .sort("tier_order", "_runtime_rank", nulls_last=True)
        .drop("_runtime_rank")
    )


def shown_capacity(row: dict[str, Any]) -> str:
    if row.get("status") == "failed_to_start":
        return "failed to start"
    if row["capacity_rps"] is None:
        return "none"
    text = f"{'≥ ' if row['lower_bound'] else ''}{row['capacity_rps']:,.0f}"
    if row.get("capacity_rps_ci95") is not None:
        text += f" ± {row['capacity_rps_ci95']:,.0f}"
    return text


def shown_per(row: dict[str, Any], column: str) -> str:
    """A per-CPU or per-GB figure, with "≥" where the capacity is a lower bound."""
    value = row.get(column)
    if value is None:
        return "–"
    return f"{'≥ ' if row.get('lower_bound') else ''}{value:,.0f}"


def shown_confirmations(row: dict[str, Any]) -> str:
    """ "3/3", or "1/3 (time budget)" for a capacity short of its k holds."""
    if row["capacity_rps"] is None or not row.get("confirmations_needed"):
        return "–"
    text = f"{row['confirmations']}/{row['confirmations_needed']}"
    if not row.get("confirmed"):
        text += f" ({row.get('unconfirmed_why') or 'unconfirmed'})"
    return text


def shown_number(value: float | None, digits: int = 0, suffix: str = "") -> str:
    """`1,234.5`, or `–` for no figure."""
    return "–" if value is None else f"{value:,.{digits}f}{suffix}"


def _intro(frame: pl.DataFrame) -> list[str]:
    """What the table's figures are, claiming only what the sweep did."""

    def first(column: str) -> Any:
        values = frame[column].drop_nulls()
        return values[0] if values.len() else None

    slo, percentile, which = first("slo_ms"), first("percentile"), first("slo_requests")
    slo_text = (
        f"p{percentile:g} of `http_req_duration`"
        + (f" of requests with {which}" if which else "")
        + f" ≤ {slo:g} ms"
        if slo is not None and percentile is not None
        else "the configured SLO"
    )
    needed, hold = first("confirmations_needed"), first("hold_s")
    measured = frame.filter(pl.col("capacity_rps").is_not_null())
    confirmed = measured.filter(pl.col("confirmed")).height
    holds = f"{needed} full holds of {hold:g} s" if needed and hold else "full holds"
    if measured.height and confirmed == measured.height:
        claim = f"Every capacity below passed {holds} at its rate."
    else:
        claim = (
            f"{confirmed} of {measured.height} capacities passed {holds} at their rate; "
            "`confirmed` says how many the others passed, and why not all."
        )
    return [
        f"The highest arrival rate each runtime sustains at each tier with {slo_text}, "
        "errors under 1 %, at least 95 % of the offered rate achieved and no dropped "
        f"iteration, found by a search of constant-rate steps. {claim} `failed at` is the "
        "lowest rate that failed above it (offered req/s): the capacity lies between the "
        'two. "≥ N" is a lower bound: the load generator, an upstream or the search\'s '
        "bound stopped the search, not the runtime.",
    ]


def capacity_markdown(
    frame: pl.DataFrame,
    warnings: Sequence[str] = (),
    speeds: Sequence[tuple[str, dict | None]] = (),
    yardsticks: Sequence[tuple[str, float | None, bool, dict | None]] = (),
    load_sides: Sequence[tuple[str, LoadSide | None, float | None]] = (),
) -> str:
    lines = [
        "# Capacity",
        "",
        *_intro(frame),
        "",
        "| runtime | tier | CPUs | memory | workers | capacity req/s | it/s | failed at req/s "
        "| confirmed | latency at capacity ms | CPU % at capacity | req/s per CPU "
        "| limited by | search s |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in frame.iter_rows(named=True):
        cells = [
            row["runtime"],
            row["tier"],
            f"{row['cpus']:g}",
            f"{row['memory_bytes'] / 2**20:,.0f} MiB",
            "–" if row["workers"] is None else str(row["workers"]),
            shown_capacity(row),
            shown_number(row["iterations_per_s"], 1),
            shown_number(row["failed_at_rps"], 0),
            shown_confirmations(row),
            shown_number(row["latency_ms_at_capacity"], 1),
            shown_number(row["cpu_pct_at_capacity"], 0),
            shown_per(row, "rps_per_cpu_at_capacity"),
            row["limited_by"],
            shown_number(row["search_s"], 0),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "## Why each search stopped", ""]
    for row in frame.iter_rows(named=True):
        lines.append(f"- **{row['runtime']} at {row['tier']}**: {row['reason']}")
    repeated = frame.filter(pl.col("searches") > 1)
    if repeated.height:
        lines += ["", "## Cells searched more than once", ""]
        for row in repeated.iter_rows(named=True):
            runs = ", ".join(f"{v:,.0f}" for v in json.loads(row["capacity_rps_runs"]))
            lines.append(
                f"- **{row['runtime']} at {row['tier']}**: {row['searches']} searches, "
                f"{runs} req/s: mean {row['capacity_rps']:,.0f} ± "
                f"{row['capacity_rps_ci95'] or 0:,.0f} (95 % confidence interval)"
            )
    speed = host_speed_section(speeds)
    if speed:
        lines += ["", *speed[:-1]]
    yardstick = yardstick_section(yardsticks)
    if yardstick:
        lines += ["", *yardstick]
    load_side = load_side_section(load_sides)
    if load_side:
        lines += ["", *load_side]
    if warnings:
        lines += ["", "## Warnings", "", *(f"- {text}" for text in warnings)]
    return "\n".join(lines) + "\n"


def host_speeds(records: Sequence[CapacityRecord]) -> list[tuple[str, dict | None]]:
    return [(record.cell, record.host_speed) for record in records]


def yardsticks(
    records: Sequence[CapacityRecord],
) -> list[tuple[str, float | None, bool, dict | None]]:
    """Each search's yardstick beside its capacity, for capacity.md."""
    return [
        (record.cell, record.verdict.capacity_rps, record.verdict.lower_bound, record.yardstick)
        for record in records
    ]


def search_neighbour_cores(record: CapacityRecord) -> float | None:
    """What the host's counters saw busy on the runtime's own CPUs beyond the runtime, in
    the search's median step (tierbench.aggregate.neighbours); None unpinned."""
    cpus = runtime_cpu_count(record.pinning)
    figures = [
        cores
        for step in record.steps
        if (cores := neighbour_cores(step.runtime_cpus_busy, cpus, step.cpu_cores)) is not None
    ]
    return statistics.median(figures) if figures else None


def capacity_warnings(records: Sequence[CapacityRecord], limits: Thresholds) -> list[str]:
    """Warnings about the sweep: a search whose runtime shared its CPUs with another
    process, and the host's speed changing between cells (with its likely cause)."""
    crowded: dict[str, str] = {}
    for record in records:
        cores = search_neighbour_cores(record)
        text = neighbour_warning(
            record.cell, cores, record.pinning, limits.max_neighbour_cores, "in its median step"
        )
        if text:
            crowded[record.cell] = text
    drift = host_speed_warning(host_speeds(records), limits, set(crowded))
    return [*crowded.values(), *filter(None, [drift])]


def write_capacity_tables(
    records: Sequence[CapacityRecord],
    csv: Path,
    parquet: Path,
    markdown: Path,
    runtimes: Sequence[str] = (),
    limits: Thresholds | None = None,
) -> tuple[pl.DataFrame, list[str]]:
    """The sweep's capacity table in CSV, parquet and Markdown; returns it with the
    sweep's warnings (also in the Markdown)."""
    frame = capacity_frame(records, runtimes)
    warnings = capacity_warnings(records, limits or Thresholds())
    write_frame(frame, csv)
    write_frame(frame, parquet)
    write_text(
        capacity_markdown(
            frame,
            warnings,
            host_speeds(records),
            yardsticks(records),
            [(r.cell, r.measured_load_side(), r.verdict.capacity_rps) for r in records],
        ),
        markdown,
    )
    return frame, warnings
