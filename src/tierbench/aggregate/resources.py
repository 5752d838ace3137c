"""The container's resource samples (results/resources/{cell}.csv) and their summaries."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import polars as pl

RESOURCE_CSV_SCHEMA = pl.Schema(
    {
        "timestamp": pl.String,
        "elapsed_s": pl.Float64,
        "cpu_cores": pl.Float64,
        "cpu_pct_of_limit": pl.Float64,
        "nr_periods": pl.Int64,
        "nr_throttled": pl.Int64,
        "throttled_s": pl.Float64,
        "memory_bytes": pl.Float64,
        "memory_pct_of_limit": pl.Float64,
        "oom_kills": pl.Int64,
        "restarts": pl.Int64,
        "source": pl.String,
        "cpu_usage_total_s": pl.Float64,
        "nr_periods_total": pl.Int64,
        "nr_throttled_total": pl.Int64,
        "throttled_total_s": pl.Float64,
        "k6_cpu_cores": pl.Float64,
        "support_cpu_cores": pl.Float64,
    }
)


def scan_resources(path: Path | str) -> pl.LazyFrame:
    """The samples with `timestamp` as a UTC datetime (ns). Files written before a column
    existed read as if that column were empty."""
    with open(path) as handle:
        header = handle.readline().strip().split(",")
    present = pl.Schema({name: RESOURCE_CSV_SCHEMA[name] for name in header})
    missing = [name for name in RESOURCE_CSV_SCHEMA if name not in present]
    return (
        pl.scan_csv(path, schema=present)
        .with_columns(pl.lit(None, dtype=RESOURCE_CSV_SCHEMA[name]).alias(name) for name in missing)
        .select(list(RESOURCE_CSV_SCHEMA))
        .with_columns(pl.col("timestamp").str.to_datetime(time_unit="ns", time_zone="UTC"))
    )


def samples_frame(rows: list[dict]) -> pl.DataFrame:
    """Resource samples as a sampler holds them (dicts), read as their CSV would be."""
    columns = {name: [row.get(name) for row in rows] for name in RESOURCE_CSV_SCHEMA}
    return pl.DataFrame(columns, schema=RESOURCE_CSV_SCHEMA).with_columns(
        pl.col("timestamp").str.to_datetime(time_unit="ns", time_zone="UTC")
    )


def _at(points: list[tuple[datetime, float]], instant: datetime) -> float | None:
    """A cumulative counter at `instant`, linearly between the samples around it."""
    for (t0, v0), (t1, v1) in zip(points, points[1:], strict=False):
        if t0 <= instant <= t1:
            if t1 == t0:
                return v0
            return v0 + (v1 - v0) * (instant - t0) / (t1 - t0)
    return None


def kernel_window_figures(samples: pl.DataFrame, start: datetime, end: datetime) -> dict:
    """CPU and throttling over [start, end] from the kernel's cumulative counters (exact
    up to the interpolation between two samples at each edge), or {} where the samples
    hold no counters, do not bracket the window, or the counters restarted inside it."""
    window_s = (end - start).total_seconds()
    figures: dict = {}
    for column, name in (
        ("cpu_usage_total_s", "cpu"),
        ("nr_periods_total", "periods"),
        ("nr_throttled_total", "throttled"),
    ):
        points = [
            (t, float(v))
            for t, v in samples.select("timestamp", column).iter_rows()
            if v is not None
        ]
        if any(b[1] < a[1] for a, b in zip(points, points[1:], strict=False)):
            return {}
        at_start, at_end = _at(points, start), _at(points, end)
        if at_start is None or at_end is None:
            if name == "cpu":
                return {}
            continue
        figures[name] = at_end - at_start
    result = {"cpu_mean_cores": figures["cpu"] / window_s if window_s > 0 else None}
    if figures.get("periods"):
        result["throttled_share"] = figures["throttled"] / figures["periods"]
    return result


def throttled_share() -> pl.Expr:
    """Share of CFS periods in which the container was throttled (null if not measurable)."""
    periods = pl.col("nr_periods").sum()
    return pl.when(periods > 0).then(pl.col("nr_throttled").sum() / periods)


def resource_summary(samples: pl.LazyFrame, start: datetime, end: datetime) -> pl.LazyFrame:
    """One row: CPU and memory over the samples taken inside [start, end]; OOM kills and
    restarts over the whole cell (they are cumulative counters)."""
    inside = pl.col("timestamp").is_between(
        pl.lit(start).dt.cast_time_unit("ns"), pl.lit(end).dt.cast_time_unit("ns")
    )
    return samples.select(
        pl.col("cpu_cores").filter(inside).mean().alias("cpu_mean_cores"),
        pl.col("cpu_cores").filter(inside).max().alias("cpu_peak_cores"),
        pl.col("cpu_pct_of_limit").filter(inside).mean().alias("cpu_mean_pct"),
        pl.col("cpu_pct_of_limit").filter(inside).max().alias("cpu_peak_pct"),
        pl.when(pl.col("nr_periods").filter(inside).sum() > 0)
        .then(
            pl.col("nr_throttled").filter(inside).sum() / pl.col("nr_periods").filter(inside).sum()
        )
        .alias("throttled_share"),
        pl.col("memory_bytes").filter(inside).max().alias("memory_peak_bytes"),
        pl.col("memory_pct_of_limit").filter(inside).max().alias("memory_peak_pct"),
        pl.col("oom_kills").max().fill_null(0).alias("oom_kills"),
        pl.col("restarts").max().fill_null(0).alias("restarts"),
    )


def resource_timeline(samples: pl.LazyFrame, load_start: datetime) -> pl.LazyFrame:
    """Per second since k6 started (`t_s`): mean CPU, peak memory, throttled share."""
    since_start = pl.col("timestamp") - pl.lit(load_start).dt.cast_time_unit("ns")
    return (
        samples.with_columns(t_s=since_start.dt.total_milliseconds().floordiv(1000))
        .group_by("t_s")
        .agg(
            pl.col("cpu_cores").mean(),
            pl.col("cpu_pct_of_limit").mean(),
            pl.col("memory_bytes").max(),
            pl.col("memory_pct_of_limit").max(),
            throttled_share().alias("throttled_share"),
        )
        .sort("t_s")
    )
