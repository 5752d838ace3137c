"""From per-cell files to runs, summary, steps and timeline (docs/results-layout.md)."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from tierbench.aggregate.neighbours import neighbour_cores, neighbour_warning, runtime_cpu_count
from tierbench.aggregate.resources import (
    kernel_window_figures,
    resource_summary,
    resource_timeline,
    scan_resources,
)
from tierbench.aggregate.statistics import in_window, metric_stats, request_stats, trend_exprs
from tierbench.aggregate.trust_warnings import Thresholds, cell_warnings, spread_warnings
from tierbench.cell_meta import CellMeta
from tierbench.config.limits import format_bytes
from tierbench.tidy.k6_json import metrics_path_for, scan_metrics, scan_requests

# The tiers' MB and GB are binary (256MB = 268435456 bytes), so rps_per_gb is per 2^30.
GB = 2**30
WARNING_SEPARATOR = " | "

# The figures k6's data gives each run, then those of its resources, in table order.
LATENCY_FIGURES = ["avg_ms", "min_ms", "p50_ms", "p90_ms", "p95_ms", "p99_ms", "max_ms"]
LATENCY_DTYPES = dict.fromkeys(LATENCY_FIGURES, pl.Float64)
REQUEST_FIGURES = [
    "requests",
    "rps",
    *LATENCY_FIGURES,
    "error_rate",
    "iterations_per_s",
    "checks_pass_rate",
]
RESOURCE_FIGURES = [
    "cpu_mean_cores",
    "cpu_peak_cores",
    "cpu_mean_pct",
    "cpu_peak_pct",
    "throttled_share",
    "memory_peak_bytes",
    "memory_peak_pct",
    "oom_kills",
]
# The figures a runtime x tier's repeats are summarised over (mean, sd, CV).
SUMMARY_METRICS = [
    *REQUEST_FIGURES,
    *RESOURCE_FIGURES,
    "rps_per_cpu",
    "rps_per_gb",
    "memory_peak_kernel_bytes",
    "load_side_share",
]
IDENTITY = ["runtime", "tier", "tier_order", "cpus", "memory_bytes"]


class CellError(ValueError):
    """A cell whose files are missing or unreadable; names the cell and the file."""


@dataclass(frozen=True)
class CellFiles:
    """The files of one cell that the aggregate reads."""

    name: str
    requests: Path
    metrics: Path
    meta: Path
    resources: Path

    @classmethod
    def in_results(cls, results: Path | str, name: str) -> CellFiles:
        results = Path(results)
        requests = results / "tidy" / f"{name}.parquet"
        return cls(
            name,
            requests,
            metrics_path_for(requests),
            results / "meta" / f"{name}.json",
            results / "resources" / f"{name}.csv",
        )


# A cell's outcome (meta `status`): the runtime ran the load, failed before it, or died
# during it. Worst first, for a runtime x tier's repeats.
STATUSES = ["failed_to_start", "crashed", "ok"]


@dataclass(frozen=True)
class MeasuredCell:
    files: CellFiles
    meta: CellMeta
    window_start: datetime | None  # None: the runtime never ran the load
    window_end: datetime | None
    load_start: datetime | None
    window_s: float  # on k6's clock where the meta has it, else end - start
    # The last instant a k6 sample of the window can carry: k6's exit where the meta
    # records it (k6 starts its clock a little after tierbench's resume returns, so its
    # last requests can end just past `window_end`), the crash where the load was cut.
    samples_end: datetime | None = None

    @property
    def name(self) -> str:
        return self.files.name

    @property
    def status(self) -> str:
        return self.meta.status or "ok"

    @property
    def measured(self) -> bool:
        """Whether there is a window of load to compute figures over."""
        return self.window_start is not None and self.window_s > 0


def status_reason(meta: CellMeta) -> str | None:
    """A failed cell's outcome in a few words, for tables and charts: "failed to start:
    OOM-killed at 256 MiB"; None for a cell that ran."""
    status = meta.status or "ok"
    failure = meta.failure or {}
    if status == "ok":
        return None
    memory = meta.limit("memory_bytes")
    at = f" at {format_bytes(memory)}" if memory else ""
    if status == "failed_to_start":
        return f"failed to start: {failure.get('reason', 'unknown')}{at}"
    window = meta.window or {}
    after = window.get("duration_s")
    when = f" after {after:.0f} s of load" if after is not None else ""
    return f"crashed: {failure.get('reason', 'unknown')}{when}"


def _parse_instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def read_cell(files: CellFiles) -> MeasuredCell:
    """Read and check a cell's meta; every file it needs must exist."""
    for label, path in (
        ("meta", files.meta),
        ("tidy requests", files.requests),
        ("tidy metrics", files.metrics),
        ("resources", files.resources),
    ):
        if not path.exists():
            raise CellError(
                f"cell {files.name}: its {label} file {path} is missing; rerun that cell "
                "(snakemake regenerates it) or drop the cell from the sweep."
            )
    try:
        meta = CellMeta.from_json(json.loads(files.meta.read_text()))
        if meta.status == "failed_to_start":
            return MeasuredCell(files, meta, None, None, None, 0.0)
        window = meta.window
        start, end = _parse_instant(window["start"]), _parse_instant(window["end"])
        load_start = _parse_instant(window.get("load_start") or window["start"])
        samples_end = _parse_instant(window.get("samples_until") or window["end"])
    except (ValueError, KeyError, TypeError) as error:
        raise CellError(
            f"cell {files.name}: {files.meta} is not a tierbench meta file "
            f"({type(error).__name__}: {error}); see docs/results-layout.md."
        ) from error
    crashed = meta.status == "crashed"
    if end < start or (end == start and not crashed):
        raise CellError(f"cell {files.name}: {files.meta} has a window that ends before it starts")
    window_s = window.get("duration_s")
    if window_s is None:
        window_s = (end - start).total_seconds()
    return MeasuredCell(files, meta, start, end, load_start, float(window_s), samples_end)


def _unmeasured_row(cell: MeasuredCell, limits: Thresholds) -> dict[str, Any]:
    """The row of a cell with no load to measure (its runtime failed before the load, or
    died as it began): who, where, the outcome; no figures."""
    meta = cell.meta
    row: dict[str, Any] = dict.fromkeys(RUNS_SCHEMA)
    row |= {
        "cell": cell.name,
        "runtime": meta.runtime,
        "tier": meta.tier,
        "tier_order": meta.tier_order,
        "repeat": meta.repeat,
        "cpus": meta.limit("cpus"),
        "memory_bytes": meta.limit("memory_bytes"),
        "window_s": cell.window_s if cell.window_start is not None else None,
        "requests": 0,
        "oom_kills": int(bool((meta.failure or {}).get("oom_killed"))),
        "restarts": 0,
        "contended": bool(meta.contended),
        "limits_verified": bool(meta.limits.get("verified", False)),
        "status": cell.status,
        "status_reason": status_reason(meta),
    }
    row["warnings"] = WARNING_SEPARATOR.join(f"{cell.name}: {text}" for text in meta.warnings or [])
    return row


def run_row(cell: MeasuredCell, limits: Thresholds) -> dict[str, Any]:
    """One row of runs: the cell's measured window, its resources and its warnings."""
    if not cell.measured:
        return _unmeasured_row(cell, limits)
    meta = cell.meta
    window = in_window(cell.window_start, cell.samples_end)
    requests_lf = scan_requests(cell.files.requests).filter(window)
    metrics_lf = scan_metrics(cell.files.metrics).filter(window)
    resources_lf = scan_resources(cell.files.resources)
    k6_row, extra_row, resource_row = (
        frame.row(0, named=True)
        for frame in pl.collect_all(
            [
                request_stats(requests_lf),
                metric_stats(metrics_lf),
                resource_summary(resources_lf, cell.window_start, cell.window_end),
            ]
        )
    )
    if not k6_row["requests"] and cell.status != "ok":
        return _unmeasured_row(cell, limits)
    if not k6_row["requests"]:
        raise CellError(
            f"cell {cell.name}: no HTTP requests between {cell.window_start.isoformat()} and "
            f"{cell.samples_end.isoformat()} in {cell.files.requests}; the run was empty or "
            "its window is wrong. Rerun the cell."
        )
    window_s = cell.window_s
    cpus = meta.limit("cpus")
    memory_bytes = meta.limit("memory_bytes")
    rps = k6_row["requests"] / window_s
    kernel = kernel_window_figures(resources_lf.collect(), cell.window_start, cell.window_end)
    if "cpu_mean_cores" in kernel and cpus:
        resource_row["cpu_mean_cores"] = kernel["cpu_mean_cores"]
        resource_row["cpu_mean_pct"] = 100.0 * kernel["cpu_mean_cores"] / cpus
    if "throttled_share" in kernel:
        resource_row["throttled_share"] = kernel["throttled_share"]
    neighbours = neighbour_cores(
        resource_row.pop("runtime_cpus_busy"),
        runtime_cpu_count(meta.pinning),
        resource_row["cpu_mean_cores"],
    )
    load_side = meta.load_side or {}
    k6_meta = meta.k6 or {}
    if load_side.get("k6_cpu_cores") is not None:
        k6_cores = load_side["k6_cpu_cores"]
    elif k6_meta.get("cpu_s") is not None and k6_meta.get("wall_s"):
        k6_cores = k6_meta["cpu_s"] / k6_meta["wall_s"]
    else:
        k6_cores = None
    resources_meta = meta.resources or {}
    row = {
        "cell": cell.name,
        "runtime": meta.runtime,
        "tier": meta.tier,
        "tier_order": meta.tier_order,
        "repeat": meta.repeat,
        "cpus": cpus,
        "memory_bytes": memory_bytes,
        "window_s": window_s,
        **k6_row,
        "rps": rps,
        "iterations_per_s": (extra_row["iterations"] or 0) / window_s,
        "checks_pass_rate": extra_row["checks_pass_rate"],
        "dropped_iterations": extra_row["dropped_iterations"] or 0.0,
        "vus_peak": extra_row["vus_peak"],
        **{k: v for k, v in resource_row.items() if k != "restarts"},
        "restarts": resource_row["restarts"],
        "rps_per_cpu": rps / cpus if cpus else None,
        "rps_per_gb": rps / (memory_bytes / GB) if memory_bytes else None,
        "k6_cpu_cores": k6_cores,
        "load_side_share": load_side.get("share_of_given"),
        "neighbour_cores": neighbours,
        "memory_peak_kernel_bytes": resources_meta.get("memory_peak_kernel_bytes"),
        "resources_source": resources_meta.get("source"),
        "contended": bool(meta.contended),
        "limits_verified": bool(meta.limits.get("verified", False)),
        "status": cell.status,
        "status_reason": status_reason(meta),
    }
    # The sampler may miss a kill between its last sample and teardown; meta has the total.
    oom_in_meta = resources_meta.get("oom_kills") or 0
    row["oom_kills"] = max(row["oom_kills"] or 0, oom_in_meta)
    found = cell_warnings(row, meta, limits)
    crowded = neighbour_warning(cell.name, neighbours, meta.pinning, limits.max_neighbour_cores)
    row["warnings"] = WARNING_SEPARATOR.join([*found, *filter(None, [crowded])])
    return row


RUNS_SCHEMA = pl.Schema(
    {
        "cell": pl.String,
        "runtime": pl.String,
        "tier": pl.String,
        "tier_order": pl.Int64,
        "repeat": pl.Int64,
        "cpus": pl.Float64,
        "memory_bytes": pl.Int64,
        "window_s": pl.Float64,
        "requests": pl.Int64,
        **LATENCY_DTYPES,
        "error_rate": pl.Float64,
        "rps": pl.Float64,
        "iterations_per_s": pl.Float64,
        "checks_pass_rate": pl.Float64,
        "dropped_iterations": pl.Float64,
        "vus_peak": pl.Float64,
        "cpu_mean_cores": pl.Float64,
        "cpu_peak_cores": pl.Float64,
        "cpu_mean_pct": pl.Float64,
        "cpu_peak_pct": pl.Float64,
        "throttled_share": pl.Float64,
        "memory_peak_bytes": pl.Float64,
        "memory_peak_pct": pl.Float64,
        "oom_kills": pl.Int64,
        "restarts": pl.Int64,
        "rps_per_cpu": pl.Float64,
        "rps_per_gb": pl.Float64,
        "k6_cpu_cores": pl.Float64,
        "load_side_share": pl.Float64,
        "neighbour_cores": pl.Float64,
        "memory_peak_kernel_bytes": pl.Float64,
        "resources_source": pl.String,
        "contended": pl.Boolean,
        "limits_verified": pl.Boolean,
        "status": pl.String,
        "status_reason": pl.String,
        "warnings": pl.String,
    }
)

RUNS_ORDER = [
    "cell",
    "runtime",
    "tier",
    "tier_order",
    "repeat",
    "cpus",
    "memory_bytes",
    "window_s",
    *REQUEST_FIGURES,
    "dropped_iterations",
    "vus_peak",
    *RESOURCE_FIGURES,
    "restarts",
    "rps_per_cpu",
    "rps_per_gb",
    "k6_cpu_cores",
    "load_side_share",
    "neighbour_cores",
    "memory_peak_kernel_bytes",
    "resources_source",
    "contended",
    "limits_verified",
    "status",
    "status_reason",
    "warnings",
]


def runtime_rank(cells: Sequence[MeasuredCell]) -> pl.Expr:
    """Each runtime's place in the order the cells come in (the config's order, from the
    workflow), so tables and charts list runtimes as the user did, not alphabetically."""
    order = {
        runtime: rank
        for rank, runtime in enumerate(dict.fromkeys(cell.meta.runtime for cell in cells))
    }
    return pl.col("runtime").replace_strict(order, return_dtype=pl.Int64)


def runs_frame(cells: Sequence[MeasuredCell], limits: Thresholds) -> pl.DataFrame:
    rows = [run_row(cell, limits) for cell in cells]
    return (
        pl.DataFrame(rows, schema=RUNS_SCHEMA)
        .select(RUNS_ORDER)
        .sort("tier_order", "tier", runtime_rank(cells), "repeat", nulls_last=True)
    )


def repeats_statistic(repeats: pl.Expr, pooled: bool) -> pl.Expr:
    """The `statistic` column: what every figure of the row is."""
    one = pl.lit("one run")
    if pooled:
        return (
            pl.when(repeats > 1)
            .then(pl.format("pooled requests of {} repeats", repeats))
            .otherwise(one)
        )
    return (
        pl.when(repeats > 1)
        .then(pl.format("mean of {} repeats' own values; *_sd their sample sd", repeats))
        .otherwise(one)
    )


def summary_frame(runs: pl.DataFrame, limits: Thresholds) -> pl.DataFrame:
    """One row per runtime x tier. Every figure is the mean of the repeats' own values
    (each repeat's percentiles from its own requests), then *_sd and *_cv if repeated;
    the `statistic` column says so row by row."""
    metric_means = [pl.col(m).mean().alias(m) for m in SUMMARY_METRICS]
    rank = {status: index for index, status in enumerate(STATUSES)}
    grouped = (
        runs.group_by(IDENTITY, maintain_order=True)
        .agg(
            pl.len().alias("repeats"),
            # The worst outcome of the repeats, and why (figures average the measured ones).
            pl.col("status").replace_strict(rank, default=len(rank)).min().alias("status_rank"),
            pl.col("status_reason").drop_nulls().first().alias("status_reason"),
            *metric_means,
            pl.col("contended").any(),
            pl.col("warnings").filter(pl.col("warnings") != "").str.join(WARNING_SEPARATOR),
            *(pl.col(m).std(ddof=1).alias(f"{m}_sd") for m in SUMMARY_METRICS),
        )
        .with_columns((pl.col(f"{m}_sd") / pl.col(m)).alias(f"{m}_cv") for m in SUMMARY_METRICS)
    )
    spread = [
        WARNING_SEPARATOR.join(spread_warnings(row, limits))
        for row in grouped.iter_rows(named=True)
    ]
    summary = grouped.with_columns(
        pl.concat_str(
            [pl.col("warnings"), pl.Series("spread", spread)],
            separator=WARNING_SEPARATOR,
            ignore_nulls=True,
        )
        .str.strip_chars(" |")
        .alias("warnings"),
        repeats_statistic(pl.col("repeats"), pooled=False).alias("statistic"),
        pl.col("status_rank")
        .replace_strict(dict(enumerate(STATUSES)), default="ok")
        .alias("status"),
    )
    columns = [
        *IDENTITY[:3],
        "cpus",
        "memory_bytes",
        "repeats",
        "statistic",
        "status",
        "status_reason",
        *SUMMARY_METRICS,
        "contended",
        "warnings",
    ]
    if summary["repeats"].max() > 1:
        columns += [f"{m}_{kind}" for m in SUMMARY_METRICS for kind in ("sd", "cv")]
    return summary.select(columns)


STEPS_SCHEMA = pl.Schema(
    {
        "runtime": pl.String,
        "tier": pl.String,
        "tier_order": pl.Int64,
        "name": pl.String,
        "method": pl.String,
        "statistic": pl.String,
        "requests": pl.UInt32,
        "rps": pl.Float64,
        **LATENCY_DTYPES,
        "error_rate": pl.Float64,
    }
)


def steps_frame(cells: Sequence[MeasuredCell]) -> pl.DataFrame:
    """Latency per k6 `name` tag, per runtime x tier, over the requests of every repeat
    pooled (a step has few requests per repeat); the `statistic` column says so."""
    cells = [cell for cell in cells if cell.measured]
    if not cells:
        return pl.DataFrame(schema=STEPS_SCHEMA)
    frames = []
    for cell in cells:
        window_s = cell.window_s
        frames.append(
            scan_requests(cell.files.requests)
            .filter(in_window(cell.window_start, cell.samples_end))
            .with_columns(
                runtime=pl.lit(cell.meta.runtime),
                tier=pl.lit(cell.meta.tier),
                tier_order=pl.lit(cell.meta.tier_order, dtype=pl.Int64),
                window_s=pl.lit(window_s),
                cell=pl.lit(cell.name),
            )
        )
    windows = (
        pl.DataFrame(
            [(c.meta.runtime, c.meta.tier, c.window_s) for c in cells],
            schema={"runtime": pl.String, "tier": pl.String, "window_s": pl.Float64},
            orient="row",
        )
        .group_by("runtime", "tier")
        .agg(pl.col("window_s").sum(), pl.len().alias("repeats"))
        .lazy()
    )
    pooled = pl.concat(frames, how="vertical").drop("window_s")
    return (
        pooled.group_by("runtime", "tier", "tier_order", "name", "method")
        .agg(*trend_exprs(), pl.col("failed").mean().alias("error_rate"))
        .join(windows, on=["runtime", "tier"])
        .with_columns(
            rps=pl.col("requests") / pl.col("window_s"),
            statistic=repeats_statistic(pl.col("repeats"), pooled=True),
        )
        .select(
            "runtime",
            "tier",
            "tier_order",
            "name",
            "method",
            "statistic",
            "requests",
            "rps",
            *LATENCY_FIGURES,
            "error_rate",
        )
        .sort("tier_order", "tier", runtime_rank(cells), "name", nulls_last=True)
        .collect()
    )


TIMELINE_SCHEMA = pl.Schema(
    {
        "runtime": pl.String,
        "tier": pl.String,
        "tier_order": pl.Int64,
        "repeat": pl.Int64,
        "t_s": pl.Int64,
        "in_window": pl.Boolean,
        "rps": pl.Float64,
        "p50_ms": pl.Float64,
        "p95_ms": pl.Float64,
        "p99_ms": pl.Float64,
        "error_rate": pl.Float64,
        "errors": pl.Int64,
        "vus": pl.Float64,
        "cpu_cores": pl.Float64,
        "cpu_pct_of_limit": pl.Float64,
        "memory_bytes": pl.Float64,
        "memory_pct_of_limit": pl.Float64,
        "throttled_share": pl.Float64,
    }
)


def _seconds_since(start: datetime) -> pl.Expr:
    elapsed = pl.col("timestamp") - pl.lit(start).dt.cast_time_unit("ns")
    return elapsed.dt.total_milliseconds().floordiv(1000)


def cell_timeline(cell: MeasuredCell) -> pl.LazyFrame:
    """Per second since k6 started: load, latency, errors, VUs, CPU and memory."""
    requests = (
        scan_requests(cell.files.requests)
        .with_columns(t_s=_seconds_since(cell.load_start))
        .group_by("t_s")
        .agg(
            pl.len().cast(pl.Float64).alias("rps"),
            *(
                pl.col("duration_ms").quantile(p, interpolation="linear").alias(f"{n}_ms")
                for n, p in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))
            ),
            pl.col("failed").mean().alias("error_rate"),
            pl.col("failed").sum().cast(pl.Int64).alias("errors"),
        )
    )
    vus = (
        scan_metrics(cell.files.metrics)
        .filter(pl.col("metric") == "vus")
        .with_columns(t_s=_seconds_since(cell.load_start))
        .group_by("t_s")
        .agg(pl.col("value").max().alias("vus"))
    )
    resources = resource_timeline(scan_resources(cell.files.resources), cell.load_start)
    warmup_end_s = (cell.window_start - cell.load_start).total_seconds()
    window_end_s = (cell.window_end - cell.load_start).total_seconds()
    return (
        requests.join(vus, on="t_s", how="full", coalesce=True)
        .join(resources, on="t_s", how="full", coalesce=True)
        .filter(pl.col("t_s") >= 0)
        .with_columns(
            runtime=pl.lit(cell.meta.runtime),
            tier=pl.lit(cell.meta.tier),
            tier_order=pl.lit(cell.meta.tier_order, dtype=pl.Int64),
            repeat=pl.lit(cell.meta.repeat, dtype=pl.Int64),
            in_window=(pl.col("t_s") >= math.floor(warmup_end_s))
            & (pl.col("t_s") < math.ceil(window_end_s)),
            rps=pl.col("rps").fill_null(0.0),
            errors=pl.col("errors").fill_null(0),
        )
        .sort("t_s")
    )


def timeline_frame(cells: Sequence[MeasuredCell]) -> pl.DataFrame:
    cells = [cell for cell in cells if cell.measured]
    if not cells:
        return pl.DataFrame(schema=TIMELINE_SCHEMA)
    frames = [
        cell_timeline(cell).select(list(TIMELINE_SCHEMA)).cast(dict(TIMELINE_SCHEMA))
        for cell in cells
    ]
    return pl.concat(pl.collect_all(frames), how="vertical").sort(
        "tier_order", "tier", runtime_rank(cells), "repeat", "t_s", nulls_last=True
    )
