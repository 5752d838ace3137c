"""With no warmup, tierbench's statistics equal k6's own --summary-export for the same run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import DATA
from tierbench.aggregate.statistics import metric_stats, request_stats
from tierbench.tidy.k6_json import metrics_path_for, scan_metrics, scan_requests, tidy_k6_json

K6_DATA = DATA / "k6"
RUNS = sorted(p.name.removesuffix(".json.gz") for p in K6_DATA.glob("*.json.gz"))
TOLERANCE = 1e-9

DURATION_KEYS = {
    "count": "requests",
    "avg": "avg_ms",
    "min": "min_ms",
    "med": "p50_ms",
    "max": "max_ms",
    "p(90)": "p90_ms",
    "p(95)": "p95_ms",
    "p(99)": "p99_ms",
}


def relative_error(ours: float, theirs: float) -> float:
    return abs(ours - theirs) / max(abs(theirs), 1e-300) if theirs else abs(ours)


@pytest.mark.parametrize("run", RUNS)
def test_matches_k6_summary_export(run: str, tmp_path: Path) -> None:
    out = tmp_path / f"{run}.parquet"
    tidy_k6_json(K6_DATA / f"{run}.json.gz", out)
    ours = request_stats(scan_requests(out)).collect().row(0, named=True)
    extra = metric_stats(scan_metrics(metrics_path_for(out))).collect().row(0, named=True)
    k6 = json.loads((K6_DATA / f"{run}.summary.json").read_text())["metrics"]
    for k6_key, our_key in DURATION_KEYS.items():
        assert relative_error(ours[our_key], k6["http_req_duration"][k6_key]) <= TOLERANCE, k6_key
    assert relative_error(ours["error_rate"], k6["http_req_failed"]["value"]) <= TOLERANCE
    assert ours["requests"] == k6["http_reqs"]["count"]
    assert extra["iterations"] == k6["iterations"]["count"]
    if "checks" in k6:
        assert relative_error(extra["checks_pass_rate"], k6["checks"]["value"]) <= TOLERANCE
    if "dropped_iterations" in k6:
        assert extra["dropped_iterations"] == k6["dropped_iterations"]["count"]


def test_percentiles_are_not_trivially_equal(tmp_path: Path) -> None:
    """The recordings spread enough that a wrong percentile rule would be caught."""
    out = tmp_path / "run.parquet"
    tidy_k6_json(K6_DATA / "fast-xs.json.gz", out)
    values = sorted(scan_requests(out).collect()["duration_ms"].to_list())
    index = 0.99 * (len(values) - 1)
    nearest_rank = values[round(index)]
    k6 = json.loads((K6_DATA / "fast-xs.summary.json").read_text())["metrics"]
    assert nearest_rank != k6["http_req_duration"]["p(99)"]
