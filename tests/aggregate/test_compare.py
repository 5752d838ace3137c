"""`tierbench compare` on result sets aggregated from real k6 recordings."""

from __future__ import annotations

import argparse
import json
import math
import shutil
import statistics
from pathlib import Path

import polars as pl
import pytest

from conftest import DATA, REPO
from recorded_cells import aggregate, build_results
from tierbench.aggregate.compare import (
    CompareSettings,
    compare_runs,
    condition_differences,
    host_speeds,
    hosts_differ,
    in_yardstick_units,
    read_result_set,
    yardstick_readings,
)
from tierbench.aggregate.welch import t_cdf, t_quantile, welch
from tierbench.commands import compare as compare_command


def run_compare(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="tierbench")
    compare_command.COMMAND.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["compare", *argv])
    return args.func(args)


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    results = build_results(tmp_path_factory.mktemp("baseline"))
    aggregate(results)
    return results


def candidate_with(baseline: Path, tmp_path: Path, **scale: float) -> Path:
    """The baseline with some metrics of the slow runtime scaled in every repeat."""
    candidate = tmp_path / "candidate"
    shutil.copytree(baseline, candidate)
    runs = pl.read_parquet(candidate / "runs.parquet").with_columns(
        pl.when(pl.col("runtime") == "slow").then(pl.col(metric) * factor).otherwise(metric)
        for metric, factor in scale.items()
    )
    runs.write_parquet(candidate / "runs.parquet")
    return candidate


@pytest.mark.parametrize(
    ("p", "dof", "expected"),
    # Student's t table
    [(0.975, 1, 12.7062), (0.975, 4, 2.7764), (0.95, 10, 1.8125), (0.995, 30, 2.7500)],
)
def test_t_quantiles_match_the_table(p, dof, expected):
    assert t_quantile(p, dof) == pytest.approx(expected, abs=1e-4)
    assert t_cdf(expected, dof) == pytest.approx(p, abs=1e-5)


def test_welch_difference_standard_error_and_dof():
    result = welch(100.0, 5.0, 3, 90.0, 6.0, 3)
    se = math.sqrt(25 / 3 + 36 / 3)
    dof = (25 / 3 + 36 / 3) ** 2 / ((25 / 3) ** 2 / 2 + (36 / 3) ** 2 / 2)
    assert result.difference == -10.0
    assert result.standard_error == pytest.approx(se)
    assert result.dof == pytest.approx(dof)
    half = t_quantile(0.975, dof) * se
    assert (result.low, result.high) == pytest.approx((-10 - half, -10 + half))
    assert welch(100.0, 5.0, 1, 90.0, 6.0, 3) is None


def test_identical_sets_show_no_significant_change(baseline: Path, tmp_path: Path, capsys):
    assert run_compare(str(baseline), str(baseline), "--out", str(tmp_path)) == 0
    table = pl.read_csv(tmp_path / "compare.csv")
    repeated = table.filter(pl.col("n_base") > 1)
    assert repeated.height and set(repeated["rps_verdict"]) == {"no significant change"}
    assert set(table.filter(pl.col("n_base") == 1)["rps_verdict"]) == {
        "cannot judge: one run on a side"
    }
    printed = capsys.readouterr().out
    assert "No regression at 95% confidence" in printed
    assert "ran once on a side" in printed


def test_slower_beyond_the_confidence_interval_fails(baseline: Path, tmp_path: Path, capsys):
    candidate = candidate_with(baseline, tmp_path, rps=0.8)
    assert run_compare(str(baseline), str(candidate)) == 1
    printed = capsys.readouterr().out
    assert "slower — REGRESSION" in printed and "slow at xs" in printed
    table = pl.read_csv(candidate / "compare.csv")
    row = table.filter(pl.col("runtime") == "slow", pl.col("tier") == "xs").row(0, named=True)
    # The difference and its standard error, computed here from the runs themselves.
    runs = (
        pl.read_parquet(baseline / "runs.parquet")
        .filter(pl.col("runtime") == "slow", pl.col("tier") == "xs")["rps"]
        .to_list()
    )
    scaled = [value * 0.8 for value in runs]
    assert row["rps_difference"] == pytest.approx(statistics.mean(scaled) - statistics.mean(runs))
    se = math.sqrt(statistics.variance(runs) / 2 + statistics.variance(scaled) / 2)
    assert row["rps_se"] == pytest.approx(se)
    assert row["rps_high"] < 0 and row["rps_change"] == pytest.approx(-0.2)
    # The same slowdown below --fail-above is reported but does not fail the gate.
    assert run_compare(str(baseline), str(candidate), "--fail-above", "30%") == 0


def test_latency_up_is_slower_and_down_is_faster(baseline: Path, tmp_path: Path):
    base = read_result_set(baseline).runs
    worse = read_result_set(candidate_with(baseline, tmp_path / "a", p99_ms=1.5)).runs
    better = read_result_set(candidate_with(baseline, tmp_path / "b", p95_ms=0.5)).runs
    settings = CompareSettings()
    slow_xs = (pl.col("runtime") == "slow") & (pl.col("tier") == "xs")
    assert compare_runs(base, worse, settings).filter(slow_xs)["p99_ms_verdict"].item() == "slower"
    assert compare_runs(base, better, settings).filter(slow_xs)["p95_ms_verdict"].item() == "faster"


def test_cells_in_one_set_only(baseline: Path):
    runs = read_result_set(baseline).runs
    table = compare_runs(runs, runs.filter(pl.col("runtime") != "overload"), CompareSettings())
    row = table.filter(pl.col("runtime") == "overload").row(0, named=True)
    assert row["verdict"] == "only in baseline" and not row["regression"]


def test_sets_measured_differently_are_refused_with_the_difference_named(
    baseline: Path, tmp_path: Path, capsys
):
    candidate = tmp_path / "candidate"
    shutil.copytree(baseline, candidate)
    for path in (candidate / "meta").glob("*.json"):
        meta = json.loads(path.read_text())
        meta["profile"]["name"] = "seed"
        meta["profile"]["stages"] = [{"duration": "90s", "target": 10}]
        path.write_text(json.dumps(meta))
    assert run_compare(str(baseline), str(candidate)) == 2
    error = capsys.readouterr().err
    assert "different conditions" in error and "load profile" in error and "seed" in error
    assert "--allow-different" in error
    assert run_compare(str(baseline), str(candidate), "--allow-different") == 0
    report = (candidate / "compare.md").read_text()
    assert report.index("different conditions") < report.index("## req/s")
    assert any(
        "load stages" in line
        for line in condition_differences(read_result_set(baseline), read_result_set(candidate))
    )


def test_csv_tables_compare_like_parquet(baseline: Path, tmp_path: Path):
    csv_only = tmp_path / "csv"
    shutil.copytree(baseline, csv_only, ignore=shutil.ignore_patterns("*.parquet"))
    assert read_result_set(csv_only).runs["rps"].to_list() == pytest.approx(
        read_result_set(baseline).runs["rps"].to_list()
    )
    assert run_compare(str(baseline), str(csv_only), "--out", str(tmp_path)) == 0


def test_the_committed_example_can_be_compared(tmp_path: Path, capsys):
    example = REPO / "docs" / "example"
    assert run_compare(str(example), str(example), "--out", str(tmp_path)) == 0
    assert "ran once on a side" in capsys.readouterr().out


def test_missing_result_set_is_a_clear_error(baseline: Path, tmp_path: Path, capsys):
    assert run_compare(str(baseline), str(tmp_path / "nowhere")) == 2
    assert "no runs.parquet or runs.csv" in capsys.readouterr().err


def test_a_cell_that_ran_and_now_fails_is_a_regression(baseline: Path, tmp_path: Path, capsys):
    candidate = tmp_path / "candidate"
    shutil.copytree(baseline, candidate)
    runs = pl.read_parquet(candidate / "runs.parquet").with_columns(
        status=pl.when(pl.col("cell") == "fast-s")
        .then(pl.lit("failed_to_start"))
        .otherwise(pl.col("status")),
        status_reason=pl.when(pl.col("cell") == "fast-s")
        .then(pl.lit("failed to start: OOM-killed at 512 MiB"))
        .otherwise(pl.col("status_reason")),
    )
    runs.write_parquet(candidate / "runs.parquet")
    assert run_compare(str(baseline), str(candidate)) == 1
    printed = capsys.readouterr().out
    assert "fast at s ran in the baseline and failed (failed to start: OOM-killed" in printed


# Across hosts of different speed, told apart by the yardstick: two real result sets, one
# with a busy loop on the runtime's CPU (tests/data/compare).
SETS = DATA / "compare"


def copies(tmp_path: Path) -> tuple[Path, Path]:
    normal, slowed = tmp_path / "normal", tmp_path / "slowed"
    shutil.copytree(SETS / "normal", normal)
    shutil.copytree(SETS / "slowed", slowed)
    return normal, slowed


def test_the_yardstick_tells_the_slowed_host_from_the_normal_one():
    normal, slowed = read_result_set(SETS / "normal"), read_result_set(SETS / "slowed")
    (speed,) = host_speeds(normal, slowed, CompareSettings())
    assert speed.tier == "m" and len(speed.baseline) == len(speed.candidate) == 4
    # The busy loop took about half the runtime's core: the yardstick read 0.58 of its
    # quiet rate, beyond its own spread.
    assert 0.4 < speed.ratio < 0.7 and speed.differs and hosts_differ([speed])
    # A set against itself: no difference.
    assert not hosts_differ(host_speeds(normal, normal, CompareSettings()))


def test_req_per_s_in_yardstick_units_is_over_the_sets_own_yardstick():
    normal = read_result_set(SETS / "normal")
    readings = yardstick_readings(normal)
    units = in_yardstick_units(normal.runs, readings)
    mean = sum(readings["m"]) / len(readings["m"])
    assert units["rps"].to_list() == [rps / mean for rps in normal.runs["rps"]]


def test_compare_says_the_hosts_differ_and_compares_normalised_req_per_s(tmp_path):
    normal, slowed = copies(tmp_path)
    run_compare(str(normal), str(slowed))
    report = (slowed / "compare.md").read_text()
    table = pl.read_csv(slowed / "compare.csv")
    assert "**The hosts differ**" in report and "## req/s in yardstick units" in report
    assert "- m: baseline 1,850 req/s (n=4), candidate 1,068 (n=4), ×0.58: differs" in report
    assert table["rps_in_yardstick_units"].to_list() == [True]
    normalised = table["rps_change"].item()
    # As measured, the runtime lost more than half its req/s; read against the host's
    # own slowdown it lost less.
    run_compare(str(normal), str(slowed), "--raw")
    raw = pl.read_csv(slowed / "compare.csv")
    assert raw["rps_in_yardstick_units"].to_list() == [False]
    assert "## req/s\n" in (slowed / "compare.md").read_text()
    print(
        f"req/s change as measured {raw['rps_change'].item():+.1%}, in yardstick units "
        f"{normalised:+.1%}"
    )
    assert raw["rps_change"].item() < -0.5 < normalised < 0


def test_sets_on_one_host_compare_as_measured(tmp_path):
    normal, _ = copies(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    assert run_compare(str(normal), str(normal), "--out", str(out)) == 0
    report = (out / "compare.md").read_text()
    assert "The yardstick reads alike on both hosts" in report and "## req/s\n" in report


def test_a_tier_without_the_yardstick_keeps_req_per_s_as_measured(tmp_path):
    """The hosts differ at m, but a tier of the runs has no yardstick in both sets (here a
    copy of m's rows named xs): no req/s can be read in its units there, so none is."""
    normal, slowed = copies(tmp_path)
    for directory in (normal, slowed):
        runs = pl.read_csv(directory / "runs.csv")
        runs = pl.concat([runs, runs.with_columns(tier=pl.lit("xs"))])
        runs.write_csv(directory / "runs.csv")
    run_compare(str(normal), str(slowed))
    report = (slowed / "compare.md").read_text()
    assert "**The hosts differ**" in report and "## req/s\n" in report
    assert "the yardstick was not measured at xs in both sets" in report
    assert pl.read_csv(slowed / "compare.csv")["rps_in_yardstick_units"].to_list() == [False] * 2
