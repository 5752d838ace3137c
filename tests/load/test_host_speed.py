"""The host's speed: a fixed CPU workload timed where the runtime runs, and the warning
when a sweep's cells were measured at different speeds."""

from __future__ import annotations

import os
import statistics

import pytest

from tierbench.aggregate.markdown import host_speed_section
from tierbench.aggregate.trust_warnings import Thresholds, host_speed_warning
from tierbench.capacity.record import CapacityRecord
from tierbench.capacity.tables import capacity_frame, capacity_markdown, capacity_warnings
from tierbench.capacity.verdict import Verdict
from tierbench.load.host_speed import REPEATS, cell_speed_ms, probe_speed, speed_record


def test_the_probe_times_the_loop_on_the_cpus_it_is_given():
    cpu = sorted(os.sched_getaffinity(0))[0]
    times = probe_speed([cpu])
    assert len(times) == REPEATS
    # A million-iteration loop takes tens of milliseconds on any core of this decade.
    assert all(1 < value < 2000 for value in times), times


def test_the_record_keeps_the_medians_and_every_run():
    before = {"cpus": [0], "runs_ms": [40.0, 41.0, 39.5, 60.0, 40.5]}
    after = {"cpus": [0], "runs_ms": [44.0, 45.0, 46.0, 43.0, 44.5]}
    record = speed_record(before, after)
    assert record["cpus"] == "0"
    assert record["before_ms"] == statistics.median(before["runs_ms"]) == 40.5
    assert record["after_ms"] == 44.5
    # The cell's figure: the median of all ten runs, whatever one run was disturbed by.
    assert record["median_ms"] == statistics.median(before["runs_ms"] + after["runs_ms"])
    assert record["runs_ms"] == {"before": before["runs_ms"], "after": after["runs_ms"]}
    assert speed_record({"cpus": [], "runs_ms": [1.0]}, after)["cpus"] == "all"
    assert speed_record(None, after) is None and speed_record(before, None) is None


def speed(median_ms: float) -> dict:
    return {"median_ms": median_ms}


def test_a_cells_speed_is_the_median_of_its_runs():
    # A real cell's probes (docs/example/meta/ts-xs.json): the host changed speed during
    # its after-probe, which the cell's figure, the median of all ten, barely feels.
    runs = {
        "before": [54.12, 53.97, 53.36, 52.81, 52.54],
        "after": [65.67, 44.86, 42.31, 40.47, 40.37],
    }
    assert cell_speed_ms({"runs_ms": runs}) == pytest.approx((52.54 + 52.81) / 2)
    assert cell_speed_ms({"median_ms": 50.0, "runs_ms": runs}) == 50.0
    assert cell_speed_ms(None) is None


def test_a_sweep_at_one_speed_gets_no_warning():
    # +40 %: docs/example's comparison sweep, on a quiet shared host (its capacity sweep
    # read +86 %): within what the host's own speed moves.
    speeds = [("ts-m", speed(53.8)), ("python-s", speed(75.3)), ("ts-s", None)]
    assert host_speed_warning(speeds, Thresholds()) is None
    assert host_speed_warning([("ts-xs", speed(150))], Thresholds()) is None
    assert host_speed_warning([], Thresholds()) is None


def test_a_sweep_at_two_speeds_is_warned_about_naming_the_fastest_and_slowest_cell():
    speeds = [("ts-xs", speed(40.0)), ("python-m", speed(92.0)), ("ts-l", None)]
    warning = host_speed_warning(speeds, Thresholds())
    assert warning is not None
    assert "40.0 ms around ts-xs and 92.0 ms (+130%) around python-m" in warning
    # Nothing else seen on the runtime's CPUs: the host itself.
    assert "the host itself ran slower" in warning
    # The threshold is the user's: a looser one lets the same sweep pass.
    assert host_speed_warning(speeds, Thresholds(max_host_drift=1.5)) is None


def test_a_slow_cell_with_a_neighbour_on_its_cpus_names_the_neighbour():
    speeds = [("ts-xs", speed(40.0)), ("python-m", speed(92.0))]
    warning = host_speed_warning(speeds, Thresholds(), {"python-m"})
    assert "Another process shared the runtime's CPUs around python-m" in warning
    assert "the host itself" not in warning


def record(cell: str, host_speed: dict | None) -> CapacityRecord:
    runtime, tier = cell.split("-")
    verdict = Verdict(None, None, False, "cpu", "", None, None, None, None)
    return CapacityRecord(
        tierbench_version="0.1.0",
        cell=cell,
        runtime=runtime,
        tier=tier,
        limits={},
        verdict=verdict,
        host_speed=host_speed,
    )


def test_the_capacity_table_carries_the_warning():
    records = [
        record("ts-xs", speed(40.0)),
        record("python-m", speed(90.8)),  # +127 %
        record("ts-m", None),  # a record from before the probe existed
    ]
    (warning,) = capacity_warnings(records, Thresholds())
    assert "90.8 ms (+127%) around python-m" in warning
    assert capacity_warnings(records[:1], Thresholds()) == []


def test_the_tables_say_how_fast_the_host_ran():
    speeds = [("ts-xs", speed(40.0)), ("python-m", speed(42.0)), ("ts-l", None)]
    (heading, _, text, _) = host_speed_section(speeds)
    assert heading == "## Host speed"
    assert "40.0 ms around ts-xs, the fastest, and 42.0 ms around python-m" in text
    assert "+5%" in text
    assert host_speed_section([("ts-l", None)]) == []
    frame = capacity_frame([])
    assert "## Host speed" in capacity_markdown(frame, [], speeds)
    assert "## Host speed" not in capacity_markdown(frame, [], [])
