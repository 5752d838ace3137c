"""k6's own statistics, as polars expressions over the tidy requests and metrics.

k6 Trend percentiles sort the values and interpolate linearly at i = p * (n - 1), between
the values at floor(i) and ceil(i): polars' `quantile(p, interpolation="linear")` is the
same definition. med is p(50). A Rate is the share of non-zero samples (k6's
`http_req_failed` is the share of failed requests, `checks` the share that passed).
"""

from __future__ import annotations

from datetime import datetime

import polars as pl

PERCENTILES = {"p50": 0.50, "p90": 0.90, "p95": 0.95, "p99": 0.99}


def trend_exprs(column: str = "duration_ms", suffix: str = "_ms") -> list[pl.Expr]:
    """count, avg, min, p50/p90/p95/p99 and max of a Trend column, as k6 computes them."""
    values = pl.col(column)
    return [
        values.count().alias("requests"),
        values.mean().alias(f"avg{suffix}"),
        values.min().alias(f"min{suffix}"),
        *(
            values.quantile(p, interpolation="linear").alias(f"{name}{suffix}")
            for name, p in PERCENTILES.items()
        ),
        values.max().alias(f"max{suffix}"),
    ]


def rate_expr(column: str) -> pl.Expr:
    """k6's Rate: non-zero samples over all samples."""
    return (pl.col(column).cast(pl.Float64) != 0).mean()


def in_window(start: datetime, end: datetime) -> pl.Expr:
    """Samples whose k6 timestamp lies inside [start, end]."""
    return pl.col("timestamp").is_between(
        pl.lit(start).dt.cast_time_unit("ns"),
        pl.lit(end).dt.cast_time_unit("ns"),
        closed="both",
    )


def request_stats(requests: pl.LazyFrame) -> pl.LazyFrame:
    """One row: the k6 summary of `http_req_duration` and the `http_req_failed` rate."""
    return requests.select(*trend_exprs(), rate_expr("failed").alias("error_rate"))


def metric_stats(metrics: pl.LazyFrame) -> pl.LazyFrame:
    """One row: iterations, checks rate, dropped iterations and peak VUs."""
    metric = pl.col("metric")
    value = pl.col("value")
    return metrics.select(
        value.filter(metric == "iterations").sum().alias("iterations"),
        (value.filter(metric == "checks") != 0).mean().alias("checks_pass_rate"),
        value.filter(metric == "dropped_iterations").sum().alias("dropped_iterations"),
        value.filter(metric == "vus").max().alias("vus_peak"),
    )
