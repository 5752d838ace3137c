"""summary.md and warnings.md: figures with their spread, runtimes relative to the best."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import polars as pl

from tierbench.load.host_speed import speed_range
from tierbench.load.yardstick import comparison_yardstick_section


def _with_spread(row: dict[str, Any], metric: str, digits: int) -> str:
    value = row.get(metric)
    if value is None:
        return "–"
    sd = row.get(f"{metric}_sd")
    if sd is None or (isinstance(sd, float) and math.isnan(sd)):
        return f"{value:.{digits}f}"
    return f"{value:.{digits}f} ± {sd:.{digits}f}"


def _ratio_with_spread(best: dict[str, Any], other: dict[str, Any]) -> tuple[float, float | None]:
    """best.rps / other.rps and its standard deviation (relative errors in quadrature; a
    side run once contributes none)."""
    ratio = best["rps"] / other["rps"]
    best_sd, other_sd = best.get("rps_sd"), other.get("rps_sd")
    if best_sd is None and other_sd is None:
        return ratio, None
    relative = math.hypot((best_sd or 0.0) / best["rps"], (other_sd or 0.0) / other["rps"])
    return ratio, ratio * relative


def relative_lines(summary: pl.DataFrame) -> list[str]:
    """Per tier, the best runtime by throughput and how many times the others' it is."""
    lines = []
    tiers = summary.select("tier", "tier_order").unique(maintain_order=True)
    for tier, _ in tiers.iter_rows():
        rows = summary.filter(pl.col("tier") == tier, pl.col("rps").is_not_null()).sort(
            "rps", descending=True
        )
        if rows.is_empty():
            lines.append(f"- **{tier}**: no runtime was measured.")
            continue
        best, *others = rows.iter_rows(named=True)
        if not others:
            lines.append(f"- **{tier}**: only `{best['runtime']}` was measured.")
            continue
        lines.append(f"- **{tier}**: `{best['runtime']}` has the highest throughput, at")
        for other in others:
            ratio, sd = _ratio_with_spread(best, other)
            spread = f" ± {sd:.2f}" if sd is not None else ""
            lines.append(
                f"  - {ratio:.2f}{spread}× the throughput of `{other['runtime']}` at {tier}"
            )
    return lines


TABLE_COLUMNS = [
    ("runtime", "runtime", None),
    ("tier", "tier", None),
    ("cpus", "CPUs", None),
    ("rps", "req/s", 1),
    ("p50_ms", "p50 ms", 2),
    ("p95_ms", "p95 ms", 2),
    ("p99_ms", "p99 ms", 2),
    ("error_rate", "errors", 4),
    ("cpu_mean_pct", "CPU % of limit", 1),
    ("memory_peak_pct", "peak mem % of limit", 1),
    ("throttled_share", "throttled", 3),
    ("rps_per_cpu", "req/s per CPU", 1),
    ("rps_per_gb", "req/s per GB", 1),
]


def summary_table(summary: pl.DataFrame) -> list[str]:
    header = "| " + " | ".join(label for _, label, _ in TABLE_COLUMNS) + " |"
    rule = "| " + " | ".join("---" for _ in TABLE_COLUMNS) + " |"
    lines = [header, rule]
    for row in summary.iter_rows(named=True):
        status = row.get("status") or "ok"
        cells = []
        for column, _, digits in TABLE_COLUMNS:
            if digits is None:
                value = row[column]
                text = f"{value:g}" if isinstance(value, float) else str(value)
                if column == "runtime" and status == "crashed":
                    text += " ⚠ crashed"
                if column == "runtime" and ": spans lost:" in (row.get("warnings") or ""):
                    text += " ⚠ spans lost"
                cells.append(text)
            elif status != "ok" and row.get("rps") is None:
                # No figures: the runtime failed before any load; say so in their place.
                cells.append(f"**{row['status_reason']}**" if column == "rps" else "–")
            else:
                cells.append(_with_spread(row, column, digits))
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def failed_section(summary: pl.DataFrame) -> list[str]:
    """How many runtime x tier cells failed and why: a result, not an error."""
    failed = summary.filter(pl.col("status") != "ok") if "status" in summary.columns else None
    if failed is None or failed.is_empty():
        return []
    lines = [
        "## Cells that failed",
        "",
        f"{failed.height} of {summary.height} runtime × tier cells failed; the others were "
        "measured. A runtime that cannot run at a tier is an answer: give it more, or leave "
        "that tier out.",
        "",
    ]
    lines += [
        f"- `{row['runtime']}` at {row['tier']}: {row['status_reason']}"
        for row in failed.iter_rows(named=True)
    ]
    return [*lines, ""]


def preflight_section(preflight: Sequence[str]) -> list[str]:
    """What the host could not give the sweep, found before it started; none, no section."""
    if not preflight:
        return []
    intro = "Found before the sweep started (results/preflight.json):"
    return ["## Pre-flight", "", intro, "", *(f"- {text}" for text in preflight), ""]


def host_speed_section(speeds: Sequence[tuple[str, dict | None]]) -> list[str]:
    """How fast the host ran the fixed CPU workload timed before and after each cell."""
    found = speed_range(speeds)
    if found is None:
        return []
    (fastest, at_fastest), (slowest, at_slowest) = found
    return [
        "## Host speed",
        "",
        f"The same CPU workload, timed on the runtime's CPUs before and after each cell "
        f"(`host_speed`, the median of its runs), took {fastest:.1f} ms around {at_fastest}, "
        f"the fastest, and {slowest:.1f} ms around {at_slowest}, the slowest: "
        f"{slowest / fastest - 1:+.0%} (lower is faster; a warning comes beyond "
        "`thresholds.max_host_drift`).",
        "",
    ]


def summary_markdown(
    summary: pl.DataFrame,
    warnings: list[str],
    preflight: Sequence[str] = (),
    speeds: Sequence[tuple[str, dict | None]] = (),
    yardsticks: Sequence[tuple[str, dict | None]] = (),
) -> str:
    """summary.md: the table, failed cells, relative throughput, the pre-flight's findings,
    the host's speed and the yardstick ((tier, `yardstick`) of each cell), warnings."""
    repeats = int(summary["repeats"].max())
    spread_note = (
        f"Every figure is the mean of the {repeats} repeats' own values (each repeat's "
        "percentiles from its own requests) ± their sample standard deviation; "
        "steps.csv instead pools the requests of all repeats."
        if repeats > 1
        else "One run per cell: set `repeats` above 1 to see the spread."
    )
    lines = [
        "# Summary",
        "",
        f"{spread_note} Latency is k6's `http_req_duration` over each cell's measured window.",
        "",
        *summary_table(summary),
        "",
        *failed_section(summary),
        "## Relative throughput",
        "",
        *relative_lines(summary),
        "",
        *preflight_section(preflight),
        *host_speed_section(speeds),
        *comparison_yardstick_section(
            list(summary.select("runtime", "tier", "rps").iter_rows()), yardsticks
        ),
        "## Warnings",
        "",
        *(f"- {text}" for text in warnings),
    ]
    if not warnings:
        lines.append("None.")
    return "\n".join(lines) + "\n"


def warnings_markdown(warnings: list[str], preflight: Sequence[str] = ()) -> str:
    body = [f"- {text}" for text in warnings] + [f"- Pre-flight: {text}" for text in preflight]
    body = body or ["No warnings: nothing looked suspect."]
    return "\n".join(["# Warnings", "", *body]) + "\n"
