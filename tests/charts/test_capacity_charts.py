"""Capacity charts from a real capacity sweep's results (tests/data/capacity)."""

from __future__ import annotations

import json
import re
import shutil

import pytest

from conftest import DATA
from tierbench.charts.capacity.artefacts import capacity_html
from tierbench.charts.capacity.closing_table import capacity_table_figure
from tierbench.charts.capacity.knee_chart import knee_traces
from tierbench.charts.capacity.search_animation import search_figures
from tierbench.charts.capacity.summary_image import capacity_summary_figure
from tierbench.charts.capacity_results import load_capacity_data
from tierbench.charts.comparison.report import report_figures
from tierbench.charts.comparison.results import load_chart_data
from tierbench.charts.comparison.summary_image import summary_figure
from tierbench.charts.options import ChartOptions

CAPACITY = DATA / "capacity"
SMOKE = DATA / "results-smoke"


@pytest.fixture(scope="module")
def data():
    return load_capacity_data(
        CAPACITY / "capacity.parquet",
        sorted((CAPACITY / "capacity").glob("*.json")),
        CAPACITY / "recommendation.json",
    )


def text_of(figure: dict) -> str:
    return json.dumps(figure, ensure_ascii=False)


def test_every_cell_has_its_steps_and_verdict(data):
    assert data.runtimes == ["calibrated"] and [t.name for t in data.tiers] == ["xs", "s"]
    for tier in ("xs", "s"):
        cell = data.cell("calibrated", tier)
        assert cell.steps and cell.best_step and cell.limited_by == "cpu"
        assert cell.shown == f"{cell.capacity_rps:,.0f}"
    assert data.providers == ["aws-fargate-us-east-1", "gke-autopilot"]


def test_the_knee_chart_marks_passes_failures_and_the_capacity(data):
    traces = knee_traces(data, "xs", ("x", "y"))
    markers = next(t for t in traces if t["mode"] == "markers")
    cell = data.cell("calibrated", "xs")
    measured = [s for s in cell.steps if s["percentile_ms"] is not None]
    assert len(markers["x"]) == len(measured)
    assert set(markers["marker"]["symbol"]) == {"circle", "circle-open"}
    star = next(t for t in traces if t["mode"] == "markers+text")
    assert star["marker"]["symbol"] == "star" and star["x"] == [
        next(s["rps"] for s in cell.steps if s["name"] == cell.best_step)
    ]
    # Part-way through the animation the capacity is not known yet.
    early = knee_traces(data, "xs", ("x", "y"), shown_steps={"calibrated": 3})
    assert not any(t["mode"] == "markers+text" for t in early)


def test_summary_and_table_carry_capacity_cost_and_the_slo(data):
    summary = text_of(capacity_summary_figure(data))
    assert "Capacity at the SLO (req/s)" in summary and "Cost per million requests" in summary
    assert "p99 of http_req_duration ≤ 250 ms" in summary
    table = text_of(capacity_table_figure(data, 1280, 720))
    for tier in ("xs", "s"):
        assert data.cell("calibrated", tier).shown in table
    assert "cheapest for 1,000 req/s" in table


def test_the_search_animation_climbs_tier_by_tier_into_the_table(data):
    options = ChartOptions(fps=5, length_s=6, closing_s=1)
    figures = search_figures(data, options)
    per_tier = round((options.length_s - options.closing_s) * options.fps / 2)
    assert len(figures) == 2 * per_tier + 5
    assert "XS tier" in text_of(figures[0]) and "S tier" in text_of(figures[per_tier])
    assert figures[-1]["data"][0]["type"] == "table"


def test_the_seed_summary_and_report_gain_a_capacity_panel(tmp_path, data):
    results = tmp_path / "results"
    shutil.copytree(SMOKE, results, ignore=shutil.ignore_patterns("recorded", "*.md"))
    without = load_chart_data(results)
    assert without.capacity is None
    assert "Capacity at the SLO" not in text_of(summary_figure(without))
    shutil.copy(CAPACITY / "capacity.parquet", results)
    shutil.copy(CAPACITY / "recommendation.json", results)
    shutil.copytree(CAPACITY / "capacity", results / "capacity")
    chart_data = load_chart_data(results)
    assert chart_data.capacity is not None
    assert "Capacity at the SLO (req/s)" in text_of(summary_figure(chart_data))
    assert report_figures(chart_data)[-1][0] == "Capacity at the SLO"


def test_the_capacity_page_holds_its_figures_and_the_right_sizing(data):
    page = capacity_html(data, "# Right-sizing\n\nexample")
    assert set(re.findall(r'id="(tierbench-capacity-\d+)"', page)) == {
        "tierbench-capacity-0",
        "tierbench-capacity-1",
    }
    assert "Right-sizing" in page
