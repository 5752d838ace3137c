"""CPU and throttling over a window from the kernel's counters, per container: a runtime
placed afresh starts its counters from zero, and each container's figures survive it.
The samples are a real recording (tests/data/resources/record.py): the calibrated
service at tier XS loaded for 3 s, placed afresh, and loaded for 3 s more."""

from __future__ import annotations

import json
from datetime import datetime

import polars as pl
import pytest

from conftest import DATA
from tierbench.aggregate.resources import (
    container_window_figures,
    counter_segments,
    kernel_window_figures,
    scan_resources,
)

RESOURCES = DATA / "resources"


@pytest.fixture(scope="module")
def samples() -> pl.DataFrame:
    return scan_resources(RESOURCES / "two-containers.csv").collect()


@pytest.fixture(scope="module")
def loads() -> list[tuple[datetime, datetime]]:
    recorded = json.loads((RESOURCES / "two-containers.json").read_text())["loads"]
    return [
        (datetime.fromisoformat(x["start"]), datetime.fromisoformat(x["end"])) for x in recorded
    ]


def test_the_recording_holds_two_containers_whose_counters_start_again(samples):
    containers = samples["container"].unique(maintain_order=True).drop_nulls().to_list()
    assert len(containers) == 2
    second = samples.filter(pl.col("container") == containers[1])
    first = samples.filter(pl.col("container") == containers[0])
    # The new container's CPU counter starts below where the old one ended.
    assert second["cpu_usage_total_s"].drop_nulls()[0] < first["cpu_usage_total_s"].max()
    assert len(counter_segments(samples)) == 2


def test_each_load_has_its_own_containers_cpu_and_throttling(samples, loads):
    for start, end in loads:
        figures = kernel_window_figures(samples, start, end)
        # 2 ms of CPU per request, back to back on one connection: the 0.25 CPU quota is
        # the limit, and the kernel throttled most periods.
        assert figures["cpu_mean_cores"] == pytest.approx(0.25, rel=0.15)
        assert figures["throttled_share"] > 0.5


def test_a_window_over_both_containers_adds_up_each_ones_figures(samples, loads):
    start, end = loads[0][0], loads[1][1]
    per_container = container_window_figures(samples, start, end)
    assert len(per_container) == 2
    for (load_start, load_end), figures in zip(loads, per_container.values(), strict=True):
        assert figures["seconds"] > (load_end - load_start).total_seconds()
        assert figures["throttled_share"] > 0.3
    both = kernel_window_figures(samples, start, end)
    seconds = sum(f["seconds"] for f in per_container.values())
    cpu_s = sum(f["cpu_mean_cores"] * f["seconds"] for f in per_container.values())
    assert both["cpu_mean_cores"] == pytest.approx(cpu_s / seconds)
    assert 0 < both["throttled_share"] < 1


def test_counters_read_as_one_series_would_run_backwards(samples):
    """What the figures were before: one series, whose counters ran backwards at the
    second container, and no throttling for any window after it."""
    totals = samples["cpu_usage_total_s"].drop_nulls()
    assert (totals.diff().drop_nulls() < 0).any()
