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
    }
)

SUMMARY_COLUMNS = [
    "cpu_mean_cores", "cpu_peak_cores", "cpu_mean_pct", "cpu_peak_pct", "throttled_share",
    "memory_peak_bytes", "memory_peak_pct", "oom_kills", "restarts",
]


def scan_resources(path: Path | str) -> pl.LazyFrame:
    """The samples with `timestamp` as a UTC datetime (ns)."""
    return pl.scan_csv(path, schema=RESOURCE_CSV_SCHEMA).with_columns(
        pl.col("timestamp").str.to_datetime(time_unit="ns", time_zone="UTC")
    )


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
            pl.col("nr_throttled").filter(inside).sum()
            / pl.col("nr_periods").filter(inside).sum()
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
