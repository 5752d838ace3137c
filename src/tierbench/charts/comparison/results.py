"""Read the aggregate stage's results (docs/results-layout.md) into what the comparison
charts draw.

Every runtime and tier found in any of the inputs is kept, so a cell that is missing or
failed shows up as a gap with a reason, never as a silently dropped runtime.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from tierbench.cell_meta import CellMeta, CellMetaError
from tierbench.charts.capacity_results import CapacityData, capacity_files, load_capacity_data
from tierbench.charts.theme import ALL_FAILED, NO_DATA, NO_REQUESTS
from tierbench.charts.tiers import TierHeading
from tierbench.load.yardstick import yardstick_note

# The per-second figures the animation replays, as named in timeline.parquet.
TIMELINE_FIGURES = [
    "rps",
    "p99_ms",
    "cpu_pct_of_limit",
    "memory_pct_of_limit",
    "error_rate",
    "vus",
]
# p99 of a single second is noisy; the animation shows its rolling mean over this many seconds.
P99_ROLLING_S = 5


@dataclass(frozen=True)
class CellFigures:
    """One runtime × tier row of summary.parquet, with the reason when it has no usable figures."""

    status: str | None  # None when the cell has usable figures
    requests: float | None = None
    rps: float | None = None
    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    error_rate: float | None = None
    cpu_mean_pct: float | None = None
    cpu_peak_pct: float | None = None
    memory_peak_pct: float | None = None
    rps_per_cpu: float | None = None
    repeats: int | None = None
    spread: dict[str, float] = field(default_factory=dict)  # `{metric}_sd` when repeats > 1
    contended: bool = False  # the runtime shared CPUs with the load generator
    crashed: bool = False  # the runtime died during the load: figures up to the crash


@dataclass(frozen=True)
class CellTimeline:
    """One runtime × tier of timeline.parquet, averaged over repeats, one entry per second."""

    t_s: np.ndarray
    in_window: np.ndarray
    series: dict[str, np.ndarray]  # TIMELINE_FIGURES, p99_ms as its rolling mean
    repeats: int


@dataclass(frozen=True)
class RunFacts:
    host_cores: int | None
    cpu_model: str | None
    profile: str | None
    date: str | None
    versions: dict[str, str]
    contended: bool
    load_side_saturated: tuple[str, ...] = ()  # cells whose load side was saturated
    yardstick: str = ""  # the yardstick's req/s at each tier (tierbench.load.yardstick)


# Longer runtime names in a title run into the legend on its right (five variants' names
# did at 1600 px): the title then counts them instead.
TITLE_NAMES_MAX = 40


@dataclass(frozen=True)
class ChartData:
    runtimes: list[str]
    tiers: list[TierHeading]
    cells: dict[tuple[str, str], CellFigures]
    timelines: dict[tuple[str, str], CellTimeline]
    facts: RunFacts
    capacity: CapacityData | None = None  # a capacity sweep's results, when there is one

    def cell(self, runtime: str, tier: str) -> CellFigures:
        return self.cells.get((runtime, tier), CellFigures(status=NO_DATA))

    @property
    def title(self) -> str:
        """The runtimes across resource tiers: by name while the names are short enough to
        leave the legend beside the title its room, else by count (the legend names them)."""
        names = " vs ".join(self.runtimes)
        if len(names) > TITLE_NAMES_MAX:
            names = f"{len(self.runtimes)} runtimes"
        return f"{names} across resource tiers"


SUMMARY_FIGURES = [
    "requests",
    "rps",
    "p50_ms",
    "p95_ms",
    "p99_ms",
    "error_rate",
    "cpu_mean_pct",
    "cpu_peak_pct",
    "memory_peak_pct",
    "rps_per_cpu",
]


def _number(value: object) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) or math.isinf(number) else number


def _cell_status(requests: float | None, rps: float | None, error_rate: float | None) -> str | None:
    if not requests and not rps:
        return NO_REQUESTS
    if error_rate is not None and error_rate >= 0.9999:
        return ALL_FAILED
    return None


def _read_cells(summary: pl.DataFrame) -> dict[tuple[str, str], CellFigures]:
    cells = {}
    for row in summary.iter_rows(named=True):
        figures = {name: _number(row.get(name)) for name in SUMMARY_FIGURES}
        spread = {
            name: sd
            for name in SUMMARY_FIGURES
            if (sd := _number(row.get(f"{name}_sd"))) is not None
        }
        repeats = _number(row.get("repeats"))
        failed = row.get("status") not in (None, "ok") and figures["rps"] is None
        cells[(str(row["runtime"]), str(row["tier"]))] = CellFigures(
            status=row.get("status_reason")
            if failed
            else _cell_status(figures["requests"], figures["rps"], figures["error_rate"]),
            crashed=row.get("status") == "crashed",
            repeats=None if repeats is None else int(repeats),
            spread=spread,
            contended=bool(row.get("contended")),
            **figures,
        )
    return cells


def _read_timelines(timeline: pl.DataFrame) -> dict[tuple[str, str], CellTimeline]:
    if timeline.is_empty():
        return {}
    present = [name for name in TIMELINE_FIGURES if name in timeline.columns]
    per_second = (
        timeline.lazy()
        .group_by("runtime", "tier", "t_s")
        .agg(
            pl.col("in_window").all(),
            pl.col("repeat").n_unique().alias("repeats"),
            *[pl.col(name).cast(pl.Float64).fill_nan(None).mean() for name in present],
        )
        .sort("runtime", "tier", "t_s")
        .with_columns(
            pl.col("p99_ms").rolling_mean(P99_ROLLING_S, min_samples=1).over("runtime", "tier")
            if "p99_ms" in present
            else pl.lit(None).alias("p99_ms")
        )
        .collect()
    )
    timelines = {}
    for (runtime, tier), cell in per_second.group_by("runtime", "tier", maintain_order=True):
        series = {}
        for name in TIMELINE_FIGURES:
            values = cell[name] if name in cell.columns else pl.Series([None] * cell.height)
            series[name] = values.cast(pl.Float64).fill_null(float("nan")).to_numpy()
        timelines[(str(runtime), str(tier))] = CellTimeline(
            t_s=cell["t_s"].cast(pl.Float64).to_numpy(),
            in_window=cell["in_window"].to_numpy(),
            series=series,
            repeats=int(cell["repeats"].max()),
        )
    return timelines


def _read_metas(paths: list[Path]) -> list[CellMeta]:
    """The metas in the order given (the workflow gives them in the config's order)."""
    metas = []
    for path in paths:
        try:
            metas.append(CellMeta.read(path))
        except CellMetaError:
            continue  # a broken meta file costs only its footer facts
    return metas


def _run_facts(metas: list[CellMeta]) -> RunFacts:
    def first(values: Iterable[Any]) -> Any:
        return next((value for value in values if value is not None), None)

    starts = sorted(
        str(meta.window["start"]) for meta in metas if meta.window and meta.window.get("start")
    )
    versions = first(meta.versions for meta in metas)
    cores = first((meta.host or {}).get("cores") for meta in metas)
    return RunFacts(
        host_cores=int(cores) if isinstance(cores, int | float) else None,
        cpu_model=first((meta.host or {}).get("cpu_model") for meta in metas),
        profile=first(meta.profile.get("name") for meta in metas),
        date=starts[0][:10] if starts else None,
        versions={str(k): str(v) for k, v in versions.items() if v not in (None, "")}
        if isinstance(versions, dict)
        else {},
        contended=any(bool(meta.contended) for meta in metas),
        load_side_saturated=tuple(
            meta.cell for meta in metas if (meta.load_side or {}).get("saturated")
        ),
        yardstick=yardstick_note([(meta.tier, meta.yardstick) for meta in metas]),
    )


def _ordered_unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _tiers(
    summary: pl.DataFrame, timeline: pl.DataFrame, metas: list[CellMeta]
) -> list[TierHeading]:
    found: dict[str, dict] = {}

    def note(name: str, order: object, cpus: object, memory: object) -> None:
        entry = found.setdefault(name, {"order": None, "cpus": None, "memory": None})
        for key, value in (("order", order), ("cpus", cpus), ("memory", memory)):
            if entry[key] is None and _number(value) is not None:
                entry[key] = _number(value)

    for row in summary.iter_rows(named=True):
        note(str(row["tier"]), row.get("tier_order"), row.get("cpus"), row.get("memory_bytes"))
    for meta in metas:
        applied = meta.limits.get("applied") or {}
        note(meta.tier, meta.tier_order, applied.get("cpus"), applied.get("memory_bytes"))
    if not timeline.is_empty():
        for row in timeline.select("tier", "tier_order").unique().iter_rows(named=True):
            note(str(row["tier"]), row.get("tier_order"), None, None)

    # Tiers without a known order go last, in the order they were first seen.
    unknown = len(found) + 1000
    tiers = [
        TierHeading(
            name,
            int(entry["order"]) if entry["order"] is not None else unknown + i,
            entry["cpus"],
            entry["memory"],
        )
        for i, (name, entry) in enumerate(found.items())
    ]
    return sorted(tiers, key=lambda tier: tier.order)


def _read_parquet(path: Path) -> pl.DataFrame:
    return pl.read_parquet(path) if path.exists() else pl.DataFrame()


def load_chart_data(results_dir: Path | str) -> ChartData:
    """Read summary.parquet, timeline.parquet and meta/*.json from a results directory."""
    results_dir = Path(results_dir)
    capacity = results_dir / "capacity.parquet"
    return load_chart_files(
        results_dir / "summary.parquet",
        results_dir / "timeline.parquet",
        sorted((results_dir / "meta").glob("*.json")),
        capacity_files(results_dir) if capacity.exists() else [],
    )


def load_chart_files(
    summary_path: Path | str,
    timeline_path: Path | str,
    meta_paths: list[Path] | list[str],
    capacity_paths: list[Path] | list[str] = (),
) -> ChartData:
    """Read the chart inputs from explicit paths (as the workflow names them);
    `capacity_paths` (capacity.parquet, the records, recommendation.json) add a capacity
    panel when a capacity sweep has run."""
    summary = _read_parquet(Path(summary_path))
    timeline = _read_parquet(Path(timeline_path))
    if summary.is_empty() and timeline.is_empty():
        raise FileNotFoundError(
            f"no results to chart: expected {summary_path} and {timeline_path} (written by "
            "the aggregate stage, see docs/results-layout.md); run the workflow's "
            "aggregate step first, or point at a directory that holds them"
        )
    metas = _read_metas([Path(p) for p in meta_paths])
    runtimes = _ordered_unique(
        [str(r) for r in (summary["runtime"] if not summary.is_empty() else [])]
        + [
            str(r)
            for r in (
                timeline["runtime"].unique(maintain_order=True) if not timeline.is_empty() else []
            )
        ]
        + [meta.runtime for meta in metas]
    )
    return ChartData(
        runtimes=runtimes,
        tiers=_tiers(summary, timeline, metas),
        cells=_read_cells(summary) if not summary.is_empty() else {},
        timelines=_read_timelines(timeline),
        facts=_run_facts(metas),
        capacity=_read_capacity([Path(p) for p in capacity_paths]),
    )


def _read_capacity(paths: list[Path]) -> CapacityData | None:
    table = next((p for p in paths if p.suffix == ".parquet"), None)
    if table is None:
        return None
    records = [p for p in paths if p.suffix == ".json" and p.name != "recommendation.json"]
    recommendation = next((p for p in paths if p.name == "recommendation.json"), None)
    return load_capacity_data(table, records, recommendation)
