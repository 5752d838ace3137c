"""The aggregate stage on cells of a real tierbench sweep, as the load stage wrote them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl
import pytest
from test_aggregate import SUMMARY_HEAD, TIMELINE_COLUMNS, k6_percentile

from conftest import DATA
from tierbench.aggregate.outputs import AggregateOutputs, aggregate_results
from tierbench.aggregate.tables import CellFiles
from tierbench.aggregate.trust_warnings import Thresholds
from tierbench.tidy.k6_json import tidy_k6_json

SWEEP = DATA / "cells" / "sweep"
CELLS = sorted(p.stem for p in (SWEEP / "meta").glob("*.json"))


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    results = tmp_path_factory.mktemp("sweep") / "results"
    shutil.copytree(SWEEP, results)
    for cell in CELLS:
        tidy_k6_json(DATA / "k6" / f"{cell}.json.gz", results / "tidy" / f"{cell}.parquet")
    aggregate_results(
        [CellFiles.in_results(results, cell) for cell in CELLS],
        AggregateOutputs.in_results(results),
        Thresholds(),
    )
    return results


def test_sweep_cells_aggregate_to_the_contract(results: Path) -> None:
    summary = pl.read_parquet(results / "summary.parquet")
    assert summary.columns == SUMMARY_HEAD
    assert sorted(summary["runtime"]) == sorted(c.split("-")[0] for c in CELLS)
    timeline = pl.read_parquet(results / "timeline.parquet")
    assert timeline.columns == TIMELINE_COLUMNS
    assert timeline["cpu_cores"].drop_nulls().len() > 0


@pytest.mark.parametrize("cell", CELLS)
def test_warmup_zero_window_equals_k6_summary(results: Path, cell: str) -> None:
    """With warmup 0 the window is k6's whole run: the runs row equals k6's summary."""
    meta = json.loads((SWEEP / "meta" / f"{cell}.json").read_text())
    assert meta["window"]["warmup_s"] == 0
    k6 = json.loads((DATA / "k6" / f"{cell}.summary.json").read_text())["metrics"]
    row = (
        pl.read_parquet(results / "runs.parquet").filter(pl.col("cell") == cell).row(0, named=True)
    )
    duration = k6["http_req_duration"]
    assert row["requests"] == k6["http_reqs"]["count"]
    for k6_key, column in (
        ("avg", "avg_ms"),
        ("min", "min_ms"),
        ("med", "p50_ms"),
        ("max", "max_ms"),
        ("p(90)", "p90_ms"),
        ("p(95)", "p95_ms"),
    ):
        assert row[column] == pytest.approx(duration[k6_key], rel=1e-9), k6_key
    assert row["error_rate"] == pytest.approx(k6["http_req_failed"]["value"], abs=1e-12)
    assert row["checks_pass_rate"] == pytest.approx(k6["checks"]["value"], rel=1e-9)
    durations = pl.read_parquet(results / "tidy" / f"{cell}.parquet")["duration_ms"].to_list()
    assert row["p99_ms"] == pytest.approx(k6_percentile(durations, 0.99), rel=1e-12)
    assert row["k6_cpu_cores"] == pytest.approx(meta["k6"]["cpu_s"] / meta["k6"]["wall_s"])
