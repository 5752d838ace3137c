"""Run the aggregate stage: read every cell, write runs, summary, steps, timeline, warnings."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from tierbench.aggregate.markdown import summary_markdown, warnings_markdown
from tierbench.aggregate.tables import (
    WARNING_SEPARATOR,
    CellFiles,
    MeasuredCell,
    read_cell,
    runs_frame,
    steps_frame,
    summary_frame,
    timeline_frame,
)
from tierbench.aggregate.trust_warnings import Thresholds, host_speed_warning
from tierbench.files import write_frame, write_text


@dataclass(frozen=True)
class AggregateOutputs:
    runs_csv: Path
    runs_parquet: Path
    summary_csv: Path
    summary_parquet: Path
    summary_md: Path
    steps_csv: Path
    timeline_parquet: Path
    warnings_md: Path

    @classmethod
    def in_results(cls, results: Path | str) -> AggregateOutputs:
        results = Path(results)
        return cls(
            results / "runs.csv",
            results / "runs.parquet",
            results / "summary.csv",
            results / "summary.parquet",
            results / "summary.md",
            results / "steps.csv",
            results / "timeline.parquet",
            results / "warnings.md",
        )


def all_warnings(summary: pl.DataFrame) -> list[str]:
    """Each distinct warning once, in table order."""
    seen: dict[str, None] = {}
    for joined in summary["warnings"].drop_nulls():
        for text in joined.split(WARNING_SEPARATOR):
            if text:
                seen.setdefault(text, None)
    return list(seen)


def preflight_warnings(cells: Sequence[MeasuredCell]) -> list[str]:
    """The pre-flight's warnings, once each, from the metas (older metas have none)."""
    return list(dict.fromkeys(text for cell in cells for text in cell.meta.preflight or []))


def aggregate_results(
    cell_files: Sequence[CellFiles], outputs: AggregateOutputs, limits: Thresholds
) -> list[str]:
    """Compute every aggregate, then write them; nothing is written if any cell fails."""
    if not cell_files:
        raise ValueError("no cells to aggregate: run the load stage first")
    cells = [read_cell(files) for files in cell_files]
    runs = runs_frame(cells, limits)
    summary = summary_frame(runs, limits)
    steps = steps_frame(cells)
    timeline = timeline_frame(cells)
    warnings = all_warnings(summary)
    speeds = [(cell.name, cell.meta.host_speed) for cell in cells]
    crowded = runs.filter(pl.col("neighbour_cores") > limits.max_neighbour_cores)["cell"]
    drift = host_speed_warning(speeds, limits, set(crowded))
    if drift:
        warnings.append(drift)
    preflight = preflight_warnings(cells)
    write_frame(runs, outputs.runs_csv)
    write_frame(runs, outputs.runs_parquet)
    write_frame(summary, outputs.summary_csv)
    write_frame(summary, outputs.summary_parquet)
    write_frame(steps, outputs.steps_csv)
    write_frame(timeline, outputs.timeline_parquet)
    yardsticks = [(cell.meta.tier, cell.meta.yardstick) for cell in cells]
    markdown = summary_markdown(summary, warnings, preflight, speeds, yardsticks)
    write_text(markdown, outputs.summary_md)
    write_text(warnings_markdown(warnings, preflight), outputs.warnings_md)
    return [*failed_cells(runs), *warnings, *(f"pre-flight: {text}" for text in preflight)]


def failed_cells(runs: pl.DataFrame) -> list[str]:
    """One line saying how many cells failed and why, for the end of the run."""
    failed = runs.filter(pl.col("status") != "ok")
    if failed.is_empty():
        return []
    reasons = "; ".join(
        f"{cell}: {reason}" for cell, reason in failed.select("cell", "status_reason").iter_rows()
    )
    return [f"{failed.height} of {runs.height} cells failed ({reasons})."]


def print_warnings(warnings: Sequence[str], stream=sys.stderr) -> None:
    """At the end of a run, the way hyperfine does."""
    for text in warnings:
        print(f"Warning: {text}", file=stream)
