"""Runtimes keep the config's order in every table and chart, and the charts' words count
right ("1 virtual user")."""

from __future__ import annotations

import dataclasses
import json
import shutil

import polars as pl

from conftest import DATA
from recorded_cells import aggregate, build_results
from tierbench.charts.comparison.race_frame import race_figure
from tierbench.charts.comparison.results import load_chart_data

SMOKE = DATA / "results-smoke"
# The workflow hands the cells over in the config's order; here "slow" was configured
# first, which is not the alphabetical order (fast, overload, slow).
CONFIG_ORDER = ["slow-xs", "fast-xs", "overload-xs", "slow-s", "fast-s", "slow-xs-r2", "fast-xs-r2"]


def runtimes_in(frame: pl.DataFrame, tier: str) -> list[str]:
    return frame.filter(pl.col("tier") == tier)["runtime"].unique(maintain_order=True).to_list()


def test_tables_and_charts_list_runtimes_in_config_order(tmp_path):
    results = build_results(tmp_path, CONFIG_ORDER)
    aggregate(results, CONFIG_ORDER)
    for table in ("runs", "summary", "timeline"):
        frame = pl.read_parquet(results / f"{table}.parquet")
        assert runtimes_in(frame, "xs") == ["slow", "fast", "overload"], table
        assert runtimes_in(frame, "s") == ["slow", "fast"], table
        # Tiers still come in their own order.
        assert frame["tier"].unique(maintain_order=True).to_list() == ["xs", "s"], table
    assert runtimes_in(pl.read_csv(results / "steps.csv"), "xs") == ["slow", "fast", "overload"]
    markdown = (results / "summary.md").read_text()
    assert markdown.index("| slow | xs") < markdown.index("| fast | xs")
    assert load_chart_data(results).runtimes == ["slow", "fast", "overload"]


def test_one_virtual_user_is_singular(tmp_path):
    results = shutil.copytree(
        SMOKE, tmp_path / "results", ignore=shutil.ignore_patterns("recorded")
    )
    timeline = pl.read_parquet(results / "timeline.parquet")
    timeline.with_columns(vus=pl.lit(1.0)).write_parquet(results / "timeline.parquet")
    figure = race_figure(load_chart_data(results), 0, 0.5, 1280, 720)
    text = json.dumps(figure, ensure_ascii=False)
    assert "· 1 virtual user" in text
    assert "1 virtual users" not in text
    timeline.with_columns(vus=pl.lit(8.0)).write_parquet(results / "timeline.parquet")
    figure = race_figure(load_chart_data(results), 0, 0.5, 1280, 720)
    assert "· 8 virtual users" in json.dumps(figure, ensure_ascii=False)


def test_the_title_names_the_runtimes_while_they_leave_the_legend_room(tmp_path):
    results = build_results(tmp_path, CONFIG_ORDER)
    aggregate(results, CONFIG_ORDER)
    data = load_chart_data(results)
    assert data.title == "slow vs fast vs overload across resource tiers"
    # The variants sweep's five rows: their names ran into the legend.
    variants = ["ts", "python", "python-httpx", "python-fastapi_telemetry", "python-default"]
    assert dataclasses.replace(data, runtimes=variants).title == (
        "5 runtimes across resource tiers"
    )
