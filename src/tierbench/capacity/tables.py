"""The sweep-wide capacity table (results/capacity.csv, .parquet, .md): one row per
runtime x tier, from the cells' capacity records."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import polars as pl

from tierbench.aggregate.markdown import host_speed_section
from tierbench.aggregate.trust_warnings import Thresholds, host_speed_warning
from tierbench.files import write_frame, write_text

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
        "lower_bound": pl.Boolean,
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
        "confirmed": pl.Boolean,
        "slo_ms": pl.Float64,
        "percentile": pl.Float64,
        "contended": pl.Boolean,
        "reason": pl.String,
    }
)


class CapacityRecordError(ValueError):
    """A capacity record that is missing or not tierbench's."""


def read_record(path: Path | str) -> dict[str, Any]:
    path = Path(path)
    try:
        record = json.loads(path.read_text())
        record["verdict"], record["limits"], record["steps"]  # noqa: B018 - presence check
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise CapacityRecordError(
            f"{path} is not a tierbench capacity record ({type(error).__name__}: {error}); "
            "rerun that cell's search (snakemake capacity)."
        ) from None
    return record


def capacity_row(record: dict[str, Any]) -> dict[str, Any]:
    verdict = record["verdict"]
    applied = record["limits"]["applied"]
    cpus, memory = applied["cpus"], applied["memory_bytes"]
    rps = verdict["capacity_rps"]
    settings = record.get("settings") or {}
    return {
        "runtime": record["runtime"],
        "tier": record["tier"],
        "tier_order": record.get("tier_order"),
        "status": record.get("status") or "ok",
        "cpus": cpus,
        "memory_bytes": memory,
        "capacity_rps": rps,
        "capacity_rate": verdict["capacity_rate"],
        "lower_bound": verdict["lower_bound"],
        "latency_ms_at_capacity": verdict["latency_ms_at_capacity"],
        "cpu_pct_at_capacity": verdict["cpu_pct_at_capacity"],
        "memory_pct_at_capacity": verdict["memory_pct_at_capacity"],
        "memory_peak_bytes": verdict.get("memory_peak_bytes"),
        "limited_by": verdict["limited_by"],
        "workers": record.get("workers"),
        "rps_per_cpu_at_capacity": None if rps is None or not cpus else rps / cpus,
        "rps_per_gb_at_capacity": None if rps is None or not memory else rps / (memory / GB),
        "search_s": (record.get("search") or {}).get("search_s"),
        "steps": len(record["steps"]),
        "converged": (record.get("search") or {}).get("converged"),
        "confirmed": (record.get("search") or {}).get("confirmed"),
        "slo_ms": settings.get("slo_ms"),
        "percentile": settings.get("percentile"),
        "contended": bool(record.get("contended")),
        "reason": verdict["reason"],
    }


def capacity_frame(records: Sequence[dict[str, Any]], runtimes: Sequence[str] = ()) -> pl.DataFrame:
    """One row per runtime x tier, tiers in config order, runtimes in the order given (or
    as first seen)."""
    order = list(runtimes) or list(dict.fromkeys(r["runtime"] for r in records))
    frame = pl.DataFrame([capacity_row(r) for r in records], schema=CAPACITY_SCHEMA)
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
    return f"{'≥ ' if row['lower_bound'] else ''}{row['capacity_rps']:,.0f}"


def _number(value: float | None, digits: int = 0, suffix: str = "") -> str:
    return "–" if value is None else f"{value:,.{digits}f}{suffix}"


def capacity_markdown(
    frame: pl.DataFrame,
    warnings: Sequence[str] = (),
    speeds: Sequence[tuple[str, dict | None]] = (),
) -> str:
    slo = frame["slo_ms"].drop_nulls()
    percentile = frame["percentile"].drop_nulls()
    slo_text = (
        f"p{percentile[0]:g} of `http_req_duration` ≤ {slo[0]:g} ms"
        if slo.len() and percentile.len()
        else "the configured SLO"
    )
    lines = [
        "# Capacity",
        "",
        f"The highest arrival rate each runtime sustains at each tier with {slo_text}, "
        "errors under 1 %, at least 95 % of the offered rate achieved and no dropped "
        "iteration, found by a search of constant-rate steps and confirmed by a second run. "
        '"≥ N" is a lower bound: the load generator, an upstream or the search\'s bound '
        "stopped the search, not the runtime.",
        "",
        "| runtime | tier | CPUs | memory | workers | capacity req/s | latency at capacity ms "
        "| CPU % at capacity | req/s per CPU | limited by | search s |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in frame.iter_rows(named=True):
        lines.append(
            "| "
            + " | ".join(
                [
                    row["runtime"],
                    row["tier"],
                    f"{row['cpus']:g}",
                    f"{row['memory_bytes'] / 2**20:,.0f} MiB",
                    "–" if row["workers"] is None else str(row["workers"]),
                    shown_capacity(row),
                    _number(row["latency_ms_at_capacity"], 1),
                    _number(row["cpu_pct_at_capacity"], 0),
                    _number(row["rps_per_cpu_at_capacity"], 0),
                    row["limited_by"],
                    _number(row["search_s"], 0),
                ]
            )
            + " |"
        )
    lines += ["", "## Why each search stopped", ""]
    for row in frame.iter_rows(named=True):
        lines.append(f"- **{row['runtime']} at {row['tier']}**: {row['reason']}")
    speed = host_speed_section(speeds)
    if speed:
        lines += ["", *speed[:-1]]
    if warnings:
        lines += ["", "## Warnings", "", *(f"- {text}" for text in warnings)]
    return "\n".join(lines) + "\n"


def host_speeds(records: Sequence[dict[str, Any]]) -> list[tuple[str, dict | None]]:
    return [(record["cell"], record.get("host_speed")) for record in records]


def capacity_warnings(records: Sequence[dict[str, Any]], limits: Thresholds) -> list[str]:
    """Warnings about the sweep as a whole: the host's speed changing between cells."""
    drift = host_speed_warning(host_speeds(records), limits)
    return [drift] if drift else []


def write_capacity_tables(
    records: Sequence[dict[str, Any]],
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
    write_text(capacity_markdown(frame, warnings, host_speeds(records)), markdown)
    return frame, warnings
