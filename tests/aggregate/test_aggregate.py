"""The aggregate stage on cells recorded from real k6 runs (tests/data/k6, tests/data/cells)."""

from __future__ import annotations

import gzip
import json
import math
import re
import statistics
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from conftest import DATA
from recorded_cells import CELLS, aggregate, build_results
from tierbench.aggregate.tables import CellError

SUMMARY_HEAD = (
    "runtime, tier, tier_order, cpus, memory_bytes, repeats, statistic, status, status_reason, "
    "requests, rps, avg_ms, "
    "min_ms, p50_ms, p90_ms, p95_ms, p99_ms, max_ms, error_rate, iterations_per_s, "
    "checks_pass_rate, cpu_mean_cores, cpu_peak_cores, cpu_mean_pct, cpu_peak_pct, "
    "throttled_share, memory_peak_bytes, memory_peak_pct, oom_kills, rps_per_cpu, rps_per_gb, "
    "memory_peak_kernel_bytes, load_side_share, contended, warnings"
).split(", ")
TIMELINE_COLUMNS = (
    "runtime, tier, tier_order, repeat, t_s, in_window, rps, p50_ms, p95_ms, p99_ms, "
    "error_rate, errors, vus, cpu_cores, cpu_pct_of_limit, memory_bytes, memory_pct_of_limit, "
    "throttled_share"
).split(", ")


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    results = build_results(tmp_path_factory.mktemp("sweep"))
    aggregate(results)
    return results


def k6_percentile(values: list[float], p: float) -> float:
    """k6's Trend percentile, written out independently of polars."""
    ordered = sorted(values)
    index = p * (len(ordered) - 1)
    low, high = math.floor(index), math.ceil(index)
    return ordered[low] + (ordered[high] - ordered[low]) * (index - low)


def window_durations(cell: str) -> tuple[list[float], list[bool], float]:
    """Durations and failures of the requests inside the cell's window, from the raw JSON."""
    meta = json.loads((DATA / "cells" / "meta" / f"{cell}.json").read_text())
    start = datetime.fromisoformat(meta["window"]["start"])
    end = datetime.fromisoformat(meta["window"]["end"])
    durations, failed = [], []
    pending: dict[str, float] = {}
    for raw in gzip.decompress((DATA / "k6" / f"{cell}.json.gz").read_bytes()).splitlines():
        record = json.loads(raw)
        if record["type"] != "Point" or not record["metric"].startswith("http_req"):
            continue
        stamp = record["data"]["time"]
        moment = datetime.fromisoformat(stamp[:26].rstrip("Z") + "+00:00")
        if not start <= moment <= end:
            continue
        if record["metric"] == "http_req_duration":
            pending["duration"] = record["data"]["value"]
        elif record["metric"] == "http_req_failed":
            durations.append(pending.pop("duration"))
            failed.append(record["data"]["value"] == 1)
    return durations, failed, (end - start).total_seconds()


def test_runs_match_an_independent_computation(results: Path) -> None:
    runs = pl.read_parquet(results / "runs.parquet")
    assert sorted(runs["cell"]) == CELLS
    for cell in ("fast-xs", "slow-s"):
        row = runs.filter(pl.col("cell") == cell).row(0, named=True)
        durations, failed, window_s = window_durations(cell)
        assert row["requests"] == len(durations)
        assert row["rps"] == pytest.approx(len(durations) / window_s, rel=1e-12)
        assert row["error_rate"] == pytest.approx(sum(failed) / len(failed), rel=1e-12)
        assert row["avg_ms"] == pytest.approx(statistics.fmean(durations), rel=1e-12)
        for name, p in (("p50_ms", 0.5), ("p90_ms", 0.9), ("p95_ms", 0.95), ("p99_ms", 0.99)):
            assert row[name] == pytest.approx(k6_percentile(durations, p), rel=1e-12)
        assert row["rps_per_cpu"] == pytest.approx(row["rps"] / row["cpus"])
        assert row["rps_per_gb"] == pytest.approx(row["rps"] / (row["memory_bytes"] / 2**30))


def test_resources_come_from_the_window(results: Path) -> None:
    runs = pl.read_parquet(results / "runs.parquet")
    row = runs.filter(pl.col("cell") == "slow-xs").row(0, named=True)
    meta = json.loads((DATA / "cells" / "meta" / "slow-xs.json").read_text())
    samples = pl.read_csv(DATA / "cells" / "resources" / "slow-xs.csv").with_columns(
        pl.col("timestamp").str.to_datetime(time_zone="UTC")
    )
    start = datetime.fromisoformat(meta["window"]["start"])
    end = datetime.fromisoformat(meta["window"]["end"])
    inside = samples.filter(pl.col("timestamp").is_between(start, end))
    assert 0 < inside.height < samples.height
    assert row["cpu_peak_cores"] == inside["cpu_cores"].max()
    assert row["cpu_mean_pct"] == pytest.approx(inside["cpu_pct_of_limit"].mean())
    assert row["memory_peak_bytes"] == inside["memory_bytes"].max()
    periods = inside["nr_periods"].sum()
    assert row["throttled_share"] == pytest.approx(inside["nr_throttled"].sum() / periods)
    # The slow runtime burns CPU per request, the fast one barely any.
    fast = runs.filter(pl.col("cell") == "fast-xs").row(0, named=True)
    assert row["cpu_mean_cores"] > 2 * fast["cpu_mean_cores"]


def test_summary_columns_and_repeats(results: Path) -> None:
    summary = pl.read_parquet(results / "summary.parquet")
    assert summary.columns[: len(SUMMARY_HEAD)] == SUMMARY_HEAD
    assert "rps_sd" in summary.columns and "p95_ms_cv" in summary.columns
    assert pl.read_csv(results / "summary.csv").columns == summary.columns
    runs = pl.read_parquet(results / "runs.parquet")
    repeated = runs.filter(pl.col("runtime") == "fast", pl.col("tier") == "xs")
    assert repeated.height == 2
    row = summary.filter(pl.col("runtime") == "fast", pl.col("tier") == "xs").row(0, named=True)
    assert row["repeats"] == 2
    assert row["rps"] == pytest.approx(statistics.fmean(repeated["rps"]))
    assert row["rps_sd"] == pytest.approx(statistics.stdev(repeated["rps"]))
    assert row["rps_cv"] == pytest.approx(row["rps_sd"] / row["rps"])
    single = summary.filter(pl.col("runtime") == "fast", pl.col("tier") == "s").row(0, named=True)
    assert single["repeats"] == 1 and single["rps_sd"] is None
    assert summary["tier_order"].to_list() == sorted(summary["tier_order"].to_list())


def test_steps_split_latency_by_name(results: Path) -> None:
    steps = pl.read_csv(results / "steps.csv")
    fast_xs = steps.filter(pl.col("runtime") == "fast", pl.col("tier") == "xs")
    assert set(fast_xs["name"]) == {"list", "item", "flaky"}
    runs = pl.read_parquet(results / "runs.parquet")
    total = runs.filter(pl.col("runtime") == "fast", pl.col("tier") == "xs")["requests"].sum()
    assert fast_xs["requests"].sum() == total
    by_name = dict(fast_xs.select("name", "error_rate").iter_rows())
    assert by_name["flaky"] > 0 and by_name["list"] == 0


def test_timeline_per_second(results: Path) -> None:
    timeline = pl.read_parquet(results / "timeline.parquet")
    assert timeline.columns == TIMELINE_COLUMNS
    cell = timeline.filter(pl.col("runtime") == "slow", pl.col("tier") == "s")
    requests = pl.read_parquet(results / "tidy" / "slow-s.parquet")
    assert cell["rps"].sum() == requests.height
    assert cell["errors"].sum() == requests["failed"].sum()
    assert cell["t_s"].is_sorted() and cell["t_s"].n_unique() == cell.height
    assert not cell["in_window"][0] and cell["in_window"].any()
    assert cell["cpu_cores"].drop_nulls().len() > 0 and cell["vus"].max() == 6


def test_summary_md_relative_and_warnings(results: Path) -> None:
    text = (results / "summary.md").read_text()
    assert re.search(r"\d+\.\d\d ± \d+\.\d\d× the throughput of `slow` at xs", text)
    assert re.search(r"\d+\.\d\d× the throughput of `slow` at s", text)
    warnings = (results / "warnings.md").read_text()
    assert "overload-xs: k6 dropped 215 iterations" in warnings
    assert "measured window is" in warnings
    runs = pl.read_parquet(results / "runs.parquet")
    overload = runs.filter(pl.col("cell") == "overload-xs").row(0, named=True)
    assert "dropped 215 iterations" in overload["warnings"]


def test_spread_warning_over_threshold(tmp_path: Path) -> None:
    results = build_results(tmp_path, ["slow-xs", "slow-xs-r2"])
    runs_cv = aggregate(results, ["slow-xs", "slow-xs-r2"], max_cv=0.001)
    assert any("varies by" in text and "across 2 repeats" in text for text in runs_cv)
    quiet = aggregate(results, ["slow-xs", "slow-xs-r2"], max_cv=10.0)
    assert not any("varies by" in text for text in quiet)


def test_missing_meta_names_the_cell_and_writes_nothing(tmp_path: Path) -> None:
    results = build_results(tmp_path, ["fast-xs", "fast-s"])
    (results / "meta" / "fast-s.json").unlink()
    with pytest.raises(CellError, match=r"cell fast-s: .*fast-s\.json is missing"):
        aggregate(results, ["fast-xs", "fast-s"])
    assert not any(results.glob("summary*")) and not any(results.glob("runs*"))
    assert not any(results.glob(".*"))


def test_window_without_requests_is_an_error(tmp_path: Path) -> None:
    results = build_results(tmp_path, ["fast-xs"])
    meta_path = results / "meta" / "fast-xs.json"
    meta = json.loads(meta_path.read_text())
    meta["window"]["start"] = "2020-01-01T00:00:00+00:00"
    meta["window"]["end"] = "2020-01-01T00:01:00+00:00"
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(CellError, match="cell fast-xs: no HTTP requests"):
        aggregate(results, ["fast-xs"])
    assert not (results / "summary.csv").exists()


def test_requests_k6_stamps_just_past_the_window_end_still_count(tmp_path: Path) -> None:
    """k6 starts its clock a scheduling delay after it acknowledges the resume, so its
    last requests can be stamped just past `end` (acknowledgement + k6's run length).
    They belong to the run: samples are taken up to `samples_until`, k6's exit."""
    results = build_results(tmp_path, ["fast-xs"])
    meta_path = results / "meta" / "fast-xs.json"
    meta = json.loads(meta_path.read_text())
    durations, _, _ = window_durations("fast-xs")
    last = (
        pl.read_parquet(results / "tidy" / "fast-xs.parquet", columns=["timestamp"])["timestamp"]
        .dt.replace_time_zone(None)
        .max()
    )
    early_end = (last - timedelta(milliseconds=1)).replace(tzinfo=UTC)
    meta["window"]["samples_until"] = meta["window"]["end"]
    meta["window"]["end"] = early_end.isoformat()
    meta_path.write_text(json.dumps(meta))
    aggregate(results, ["fast-xs"])
    row = pl.read_parquet(results / "runs.parquet").row(0, named=True)
    assert row["requests"] == len(durations)
    assert row["rps"] == pytest.approx(len(durations) / meta["window"]["duration_s"], rel=1e-12)
    # Without `samples_until` (metas written before it existed) the end bounds them.
    del meta["window"]["samples_until"]
    meta_path.write_text(json.dumps(meta))
    aggregate(results, ["fast-xs"])
    assert pl.read_parquet(results / "runs.parquet")["requests"][0] < len(durations)


def test_unreadable_meta_names_the_file(tmp_path: Path) -> None:
    results = build_results(tmp_path, ["fast-xs"])
    (results / "meta" / "fast-xs.json").write_text('{"cell": "fast-xs"')
    with pytest.raises(CellError, match=r"cell fast-xs: .*fast-xs\.json is not a tierbench meta"):
        aggregate(results, ["fast-xs"])
