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
        # The runtime's container (a short id): counters restart with a new container.
        "container": pl.String,
        # Busy share of the load side's and the runtime's CPUs (/proc/stat), whoever used
        # them: k6 and the support services, the engine, the kernel's loopback network.
        "load_cpus_busy": pl.Float64,
        "runtime_cpus_busy": pl.Float64,
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


COUNTERS = (
    ("cpu_usage_total_s", "cpu_s"),
    ("nr_periods_total", "periods"),
    ("nr_throttled_total", "throttled"),
)


def counter_segments(samples: pl.DataFrame) -> list[list[dict]]:
    """The samples split where the kernel's counters start again: at a new container (a
    runtime placed afresh) or where they run backwards (a container restarted in place).
    Each segment's counters only grow, so differences within it are exact."""
    segments: list[list[dict]] = []
    previous: dict | None = None
    columns = [name for name in ("timestamp", "container", *(c for c, _ in COUNTERS))]
    present = [name for name in columns if name in samples.columns]
    for row in samples.select(present).iter_rows(named=True):
        if row.get("cpu_usage_total_s") is None:
            continue
        restarted = previous is not None and (
            row.get("container") != previous.get("container")
            or any(
                row.get(c) is not None and previous.get(c) is not None and row[c] < previous[c]
                for c, _ in COUNTERS
            )
        )
        if previous is None or restarted:
            segments.append([])
        segments[-1].append(row)
        previous = row
    return segments


def _at(points: list[tuple[datetime, float]], instant: datetime) -> float | None:
    """A cumulative counter at `instant`, linearly between the samples around it."""
    for (t0, v0), (t1, v1) in zip(points, points[1:], strict=False):
        if t0 <= instant <= t1:
            if t1 == t0:
                return v0
            return v0 + (v1 - v0) * (instant - t0) / (t1 - t0)
    return None


def _segment_deltas(segment: list[dict], start: datetime, end: datetime) -> dict | None:
    """Each counter's growth over the part of [start, end] the segment's samples span
    (interpolated at the edges), with that part's seconds; None where they do not meet."""
    first, last = segment[0]["timestamp"], segment[-1]["timestamp"]
    lo, hi = max(start, first), min(end, last)
    if hi <= lo:
        return None
    deltas: dict = {"seconds": (hi - lo).total_seconds()}
    for column, name in COUNTERS:
        points = [(r["timestamp"], float(r[column])) for r in segment if r.get(column) is not None]
        at_lo, at_hi = _at(points, lo), _at(points, hi)
        if at_lo is not None and at_hi is not None:
            deltas[name] = at_hi - at_lo
    return deltas


def _figures(deltas: list[dict], seconds: float) -> dict:
    cpu_s = sum(d["cpu_s"] for d in deltas if "cpu_s" in d)
    periods = sum(d.get("periods", 0) for d in deltas)
    figures = {"cpu_mean_cores": cpu_s / seconds if seconds > 0 else None}
    if periods:
        figures["throttled_share"] = sum(d.get("throttled", 0) for d in deltas) / periods
    return figures


def kernel_window_figures(samples: pl.DataFrame, start: datetime, end: datetime) -> dict:
    """CPU and throttling over [start, end] from the kernel's cumulative counters, exact up
    to the interpolation between two samples at each edge. Each container's counters (and
    each restart's) count on their own and are added up, so a window that saw the runtime
    placed afresh or restarted keeps its figures; CPU is the mean over the seconds the
    samples span. {} where the samples hold no counters or span under half the window."""
    deltas = [
        d
        for segment in counter_segments(samples)
        if (d := _segment_deltas(segment, start, end)) is not None and "cpu_s" in d
    ]
    covered = sum(d["seconds"] for d in deltas)
    if not deltas or covered < 0.5 * (end - start).total_seconds():
        return {}
    return _figures(deltas, covered)


def container_window_figures(
    samples: pl.DataFrame, start: datetime, end: datetime
) -> dict[str, dict]:
    """Per container: CPU and throttling over the part of [start, end] its samples span
    (`seconds`), from its own counters."""
    by_container: dict[str, list[dict]] = {}
    for segment in counter_segments(samples):
        deltas = _segment_deltas(segment, start, end)
        if deltas is not None and "cpu_s" in deltas:
            by_container.setdefault(segment[0].get("container") or "", []).append(deltas)
    return {
        container: _figures(deltas, seconds) | {"seconds": seconds}
        for container, deltas in by_container.items()
        if (seconds := sum(d["seconds"] for d in deltas)) > 0
    }


def throttled_share() -> pl.Expr:
    """Share of CFS periods in which the container was throttled (null if not measurable)."""
    periods = pl.col("nr_periods").sum()
    return pl.when(periods > 0).then(pl.col("nr_throttled").sum() / periods)


def resource_summary(samples: pl.LazyFrame, start: datetime, end: datetime) -> pl.LazyFrame:
    """One row: CPU and memory over the samples taken inside [start, end]; OOM kills and
    restarts over the whole cell (they are cumulative counters); the busy share of the
    runtime's CPUs by the host's counters, whoever used them, inside the window."""
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
        pl.col("runtime_cpus_busy").filter(inside).mean().alias("runtime_cpus_busy"),
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
