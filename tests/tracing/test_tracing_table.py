"""The tracing sweep's settings, hold order and table, without an engine: the table and
chart are checked on holds and capacity records recorded from a real tracing sweep
(tests/data/tracing/, from `make tracing` on the reference stack at tier XS)."""

from __future__ import annotations

import dataclasses
import statistics

import polars as pl
import pytest

from conftest import DATA
from tierbench.aggregate.welch import sample_difference as difference
from tierbench.capacity.record import CapacityRecord
from tierbench.charts.tracing_chart import tracing_figure, tracing_footer
from tierbench.config.sweep import ConfigError
from tierbench.tracing.holds import HOLD_SCHEMA, fixed_rate, hold_order
from tierbench.tracing.settings import TracingSettings, tracing_config
from tierbench.tracing.table import (
    NO_DIFFERENCE,
    shown_difference,
    tracing_frame,
    tracing_markdown,
)

RECORDED = DATA / "tracing"
TIERS = {"xs": {"cpus": 0.25, "memory": "256MB"}, "s": {"cpus": 0.5, "memory": "512MB"}}


def recorded() -> tuple[pl.DataFrame, list[CapacityRecord]]:
    holds = pl.read_csv(RECORDED / "holds" / "ts-xs.csv", schema=HOLD_SCHEMA)
    records = [
        CapacityRecord.read(RECORDED / "capacity" / name)
        for name in ("ts-xs.json", "ts-notrace-xs.json")
    ]
    return holds, records


def test_holds_alternate_which_side_goes_first():
    assert hold_order(3) == [(1, True), (1, False), (2, False), (2, True), (3, True), (3, False)]
    assert hold_order(0) == []


def test_the_section_takes_defaults_and_orders_its_tiers_as_the_config_does():
    settings = TracingSettings.from_config({"tiers": TIERS, "tracing": {"tiers": ["s", "xs"]}})
    assert settings.tiers == ("xs", "s")
    assert settings.off_environment == {"TRACING": "off"}
    assert (settings.rate_share, settings.repeats, settings.confirmations) == (0.5, 3, None)
    assert TracingSettings.from_config({"tiers": TIERS}).tiers == ("xs", "s")


def test_tiers_the_config_has_not_are_left_out_and_none_left_is_refused():
    """A config of fewer tiers, made from the reference one (tracing at xs, s and m),
    still loads: the tracing sweep measures the tiers it has."""
    settings = TracingSettings.from_config({"tiers": TIERS, "tracing": {"tiers": ["s", "m"]}})
    assert settings.tiers == ("s",)
    with pytest.raises(ConfigError, match=r"tracing.tiers: none of 'xl' is in tiers \(xs, s\)"):
        TracingSettings.from_config({"tiers": TIERS, "tracing": {"tiers": ["xl"]}})


def test_the_tracing_sweep_gives_each_runtime_a_twin_with_tracing_off():
    config = {
        "tiers": TIERS,
        "repeats": 3,
        "runtimes": {
            "py": {
                "service": "api",
                "port": 1,
                "health_path": "/",
                "environment": {"WORKERS": "2"},
                "variants": {"httpx": {"environment": {"CLIENT": "httpx"}}},
            }
        },
        "capacity": {"slo_ms": 100},
        "tracing": {
            "off_environment": {"OTEL_SDK_DISABLED": "true"},
            "confirmations": 2,
            "time_budget_s": 90,
        },
    }
    made = tracing_config(config)
    assert made["runtimes"]["py"]["variants"] == {
        "notrace": {"environment": {"OTEL_SDK_DISABLED": "true"}}
    }
    assert made["runtimes"]["py"]["environment"] == {"WORKERS": "2"}
    assert made["repeats"] == 1
    assert made["capacity"] == {"slo_ms": 100, "confirmations": 2, "time_budget_s": 90}
    assert config["capacity"] == {"slo_ms": 100}  # the config itself is left alone


def test_the_fixed_rate_is_the_share_of_the_traced_capacity_on_the_search_lattice():
    _, records = recorded()
    settings = TracingSettings.from_config({"tiers": TIERS})
    rate = fixed_rate(records[0], settings, 0.03)
    assert rate == pytest.approx(0.5 * records[0].verdict.capacity_rate, rel=0.03)
    no_capacity = dataclasses.replace(records[0].verdict, capacity_rate=None)
    record = dataclasses.replace(records[0], verdict=no_capacity)
    assert fixed_rate(record, settings, 0.03) is None


def test_a_difference_whose_interval_includes_zero_is_said_as_none_measurable():
    clear = difference([2.0, 2.1, 2.05], [1.0, 1.1, 1.05])
    assert clear.difference == pytest.approx(1.0) and clear.measurable
    assert clear.low < 1.0 < clear.high
    noisy = difference([1.0, 1.3, 0.9], [1.1, 0.8, 1.2])
    assert not noisy.measurable
    row = {
        "x_difference": noisy.difference,
        "x_low": noisy.low,
        "x_high": noisy.high,
        "x_measurable": noisy.measurable,
    }
    assert shown_difference(row, "x", 2, "ms").startswith(f"{NO_DIFFERENCE} (")
    single = difference([2.0], [1.0])
    assert single.difference == 1.0 and single.low is None and single.measurable is None


def test_the_table_gives_each_side_its_holds_and_its_capacity_search():
    holds, records = recorded()
    frame = tracing_frame(holds, records)
    assert frame.select("runtime", "tier").rows() == [("ts", "xs")]
    row = frame.row(0, named=True)
    on = holds.filter(pl.col("tracing") == "on")["cpu_ms_per_request"].to_list()
    off = holds.filter(pl.col("tracing") == "off")["cpu_ms_per_request"].to_list()
    assert row["cpu_ms_on"] == pytest.approx(statistics.fmean(on))
    assert row["cpu_ms_off"] == pytest.approx(statistics.fmean(off))
    assert row["cpu_ms_difference"] == pytest.approx(row["cpu_ms_on"] - row["cpu_ms_off"])
    assert row["cpu_overhead_pct"] == pytest.approx(
        100 * row["cpu_ms_difference"] / row["cpu_ms_off"]
    )
    assert row["holds_on"] == len(on) and row["holds_off"] == len(off)
    traced, untraced = records
    assert row["capacity_rps_on"] == traced.verdict.capacity_rps
    assert row["capacity_rps_off"] == untraced.verdict.capacity_rps
    assert row["capacity_ratio"] == pytest.approx(
        traced.verdict.capacity_rps / untraced.verdict.capacity_rps
    )
    assert row["spans_lost"] == 0 and row["spans_per_s"] > 0

    markdown = tracing_markdown(frame, {"TRACING": "off"}, 0.5)
    assert "`TRACING=off`" in markdown and "50% of the traced runtime's capacity" in markdown
    assert markdown.count("| ts | xs |") == 3
    assert f"{row['cpu_ms_on']:,.3f}" in markdown


def test_a_runtime_without_holds_shows_dashes_not_numbers():
    _, records = recorded()
    frame = tracing_frame(pl.DataFrame(schema=HOLD_SCHEMA), records)
    row = frame.row(0, named=True)
    assert row["holds_on"] == 0 and row["cpu_ms_on"] is None
    assert "| ts | xs | – | – |" in tracing_markdown(frame, {"TRACING": "off"}, 0.5)


def test_the_chart_draws_the_overhead_with_its_interval_and_the_capacity_kept():
    holds, records = recorded()
    frame = tracing_frame(holds, records)
    row = frame.row(0, named=True)
    figure = tracing_figure(frame, tracing_footer(frame))
    overhead, capacity = figure["data"]
    assert overhead["x"] == ["XS"]
    assert overhead["y"][0] == pytest.approx(row["cpu_overhead_pct"])
    high = 100 * (row["cpu_ms_high"] - row["cpu_ms_difference"]) / row["cpu_ms_off"]
    assert overhead["error_y"]["array"][0] == pytest.approx(high)
    assert capacity["y"][0] == pytest.approx(row["capacity_ratio"])
    assert "holds a side" in figure["layout"]["annotations"][1]["text"]
    # Each panel's y axis stands at its own panel, not over the other's.
    assert figure["layout"]["yaxis2"]["anchor"] == "x2"
    assert figure["layout"]["yaxis"]["anchor"] == "x"
    # Both sides lower bounds: no ratio, so no bar, and the label says so.
    both = frame.with_columns(
        capacity_lower_bound_on=pl.lit(True), capacity_lower_bound_off=pl.lit(True)
    )
    capacity = tracing_figure(both, "")["data"][1]
    assert capacity["y"] == [0.0] and capacity["text"] == ["–"]


def test_a_side_stopped_at_the_load_sides_ceiling_is_a_lower_bound_and_its_ratio_a_bound():
    holds, (traced, untraced) = recorded()
    ceiling = untraced.measured_load_side().ceiling_rps
    # As a search made before the verdict looked at the load side would say it: latency,
    # at 70 % of the load side's measured ceiling, and failed a coarse step above, at 90 %.
    at_ceiling = dataclasses.replace(
        untraced.verdict,
        limited_by="latency",
        capacity_rps=0.7 * ceiling,
        failed_at_rps=0.9 * ceiling,
        lower_bound=False,
    )
    frame = tracing_frame(holds, [traced, dataclasses.replace(untraced, verdict=at_ceiling)])
    row = frame.row(0, named=True)
    assert row["capacity_lower_bound_off"] and not row["capacity_lower_bound_on"]
    markdown = tracing_markdown(frame, {"TRACING": "off"}, 0.5)
    assert f"| ≥ {0.7 * ceiling:,.0f} (" in markdown
    assert f"| ≤ {row['capacity_ratio']:.2f} |" in markdown
    # Well below the ceiling, the same verdict is the runtime's capacity.
    below = dataclasses.replace(
        at_ceiling, capacity_rps=0.5 * ceiling, failed_at_rps=0.55 * ceiling
    )
    frame = tracing_frame(holds, [traced, dataclasses.replace(untraced, verdict=below)])
    assert not frame.row(0, named=True)["capacity_lower_bound_off"]
