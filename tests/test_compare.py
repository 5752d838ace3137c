"""`tierbench compare` on result sets aggregated from real k6 recordings."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import polars as pl
import pytest

from test_aggregate import aggregate, build_results
from tierbench.aggregate.compare import CompareSettings, compare_summaries, read_summary
from tierbench.commands import compare as compare_command


def run_compare(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="tierbench")
    compare_command.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["compare", *argv])
    return args.func(args)


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    results = build_results(tmp_path_factory.mktemp("baseline"))
    aggregate(results)
    return results


def candidate_with(baseline: Path, tmp_path: Path, **scale: float) -> Path:
    """The baseline with some metrics of the slow runtime scaled."""
    candidate = tmp_path / "candidate"
    shutil.copytree(baseline, candidate)
    summary = pl.read_parquet(candidate / "summary.parquet")
    summary = summary.with_columns(
        pl.when(pl.col("runtime") == "slow").then(pl.col(metric) * factor).otherwise(metric)
        for metric, factor in scale.items()
    )
    summary.write_parquet(candidate / "summary.parquet")
    return candidate


def test_identical_sets_are_within_noise(baseline: Path, tmp_path: Path, capsys) -> None:
    assert run_compare(str(baseline), str(baseline), "--out", str(tmp_path)) == 0
    table = pl.read_csv(tmp_path / "compare.csv")
    assert set(table["verdict"]) == {"within noise"}
    assert "No regression" in capsys.readouterr().out


def test_slower_beyond_threshold_fails(baseline: Path, tmp_path: Path, capsys) -> None:
    candidate = candidate_with(baseline, tmp_path, rps=0.8)
    assert run_compare(str(baseline), str(candidate)) == 1
    printed = capsys.readouterr().out
    assert "slower — REGRESSION" in printed and "slow at xs" in printed
    table = pl.read_csv(candidate / "compare.csv")
    slow = table.filter(pl.col("runtime") == "slow")
    assert slow["rps_change"].to_list() == pytest.approx([-0.2] * slow.height)
    assert set(table.filter(pl.col("runtime") == "fast")["verdict"]) == {"within noise"}
    assert run_compare(str(baseline), str(candidate), "--fail-above", "30%") == 0


def test_latency_up_is_slower_and_down_is_faster(baseline: Path, tmp_path: Path) -> None:
    base = read_summary(baseline)
    worse = read_summary(candidate_with(baseline, tmp_path / "a", p99_ms=1.5))
    better = read_summary(candidate_with(baseline, tmp_path / "b", p95_ms=0.5))
    settings = CompareSettings()
    assert set(compare_summaries(base, worse, settings).filter(
        pl.col("runtime") == "slow")["p99_ms_verdict"]) == {"slower"}
    assert set(compare_summaries(base, better, settings).filter(
        pl.col("runtime") == "slow")["p95_ms_verdict"]) == {"faster"}


def test_noise_comes_from_repeats_when_present(baseline: Path, tmp_path: Path) -> None:
    base = read_summary(baseline)
    table = compare_summaries(base, base, CompareSettings(noise=0.5))
    repeated = table.filter(pl.col("runtime") == "fast", pl.col("tier") == "xs").row(
        0, named=True
    )
    row = base.filter(pl.col("runtime") == "fast", pl.col("tier") == "xs").row(0, named=True)
    assert repeated["rps_noise"] == pytest.approx(2 * (2 * row["rps_sd"] ** 2) ** 0.5 / row["rps"])
    single = table.filter(pl.col("runtime") == "fast", pl.col("tier") == "s").row(0, named=True)
    assert single["rps_noise"] == 0.5


def test_cells_in_one_set_only(baseline: Path, tmp_path: Path) -> None:
    base = read_summary(baseline)
    table = compare_summaries(base, base.filter(pl.col("runtime") != "overload"),
                              CompareSettings())
    row = table.filter(pl.col("runtime") == "overload").row(0, named=True)
    assert row["verdict"] == "only in baseline" and not row["regression"]


def test_missing_result_set_is_a_clear_error(baseline: Path, tmp_path: Path, capsys) -> None:
    assert run_compare(str(baseline), str(tmp_path / "nowhere")) == 2
    assert "no summary.parquet" in capsys.readouterr().err
