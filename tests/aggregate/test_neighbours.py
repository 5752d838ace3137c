"""Other work on the runtime's CPUs, from the host's counters beside the runtime's own."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tierbench.aggregate.neighbours import neighbour_cores, neighbour_warning, runtime_cpu_count
from tierbench.aggregate.trust_warnings import Thresholds
from tierbench.capacity.record import CapacityRecord
from tierbench.capacity.tables import capacity_warnings, search_neighbour_cores

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "example"
PINNED = {"enabled": True, "contended": False, "runtime_cpus": "0", "load_generator_cpus": "1"}


def example_records(folder: Path) -> list[CapacityRecord]:
    return [
        CapacityRecord.from_json(json.loads(path.read_text()))
        for path in sorted(folder.glob("*.json"))
    ]


def test_only_a_runtime_with_cpus_of_its_own_is_counted():
    assert runtime_cpu_count(PINNED) == 1
    assert runtime_cpu_count(PINNED | {"runtime_cpus": "0-1,3"}) == 3
    assert runtime_cpu_count(PINNED | {"contended": True}) is None
    assert runtime_cpu_count({"enabled": False, "runtime_cpus": ""}) is None
    assert runtime_cpu_count(None) is None


def test_what_the_counters_saw_beyond_the_runtime():
    # docs/example's ts-m, step s08: its CPU 67.1 % busy, the runtime 0.596 cores of it.
    assert neighbour_cores(0.6711, 1, 0.5957) == pytest.approx(0.0754)
    # The counters' share and the cgroup's CPU are read a moment apart: never below zero.
    assert neighbour_cores(0.20, 1, 0.21) == 0.0
    assert neighbour_cores(None, 1, 0.5) is None
    assert neighbour_cores(0.5, None, 0.5) is None


def test_the_warning_names_the_cell_the_figure_and_what_to_do():
    # The busy sweep of tests/workflow/test_neighbour_warning_docker.py: a loop on the
    # runtime's CPU took 0.99 cores of it beside the small web service at tier xs.
    text = neighbour_warning("web-xs", 0.987, PINNED, Thresholds().max_neighbour_cores)
    assert text.startswith("web-xs: something besides the runtime kept 0.99 cores of its CPUs (0)")
    assert "another process shared the runtime's CPUs" in text and "top -1" in text
    assert "less than its limit" in text
    assert neighbour_warning("web-xs", 0.11, PINNED, 0.2) is None
    assert neighbour_warning("web-xs", None, PINNED, 0.2) is None


@pytest.mark.parametrize("folder", ["capacity", "tracing/capacity"])
def test_the_quiet_example_searches_stay_under_the_threshold(folder):
    """docs/example's searches ran on a quiet host: no neighbour, no drift warning,
    though its host speed drifted by up to +86 % between cells."""
    records = example_records(EXAMPLE / folder)
    figures = {record.cell: search_neighbour_cores(record) for record in records}
    pinned = {cell: cores for cell, cores in figures.items() if cores is not None}
    assert len(pinned) >= 6 and max(pinned.values()) < 0.11, figures
    # Unpinned (tier l on 2 cores): the runtime shares CPUs with k6, nothing to tell apart.
    assert all(figures[cell] is None for cell in figures if cell.endswith("-l"))
    assert capacity_warnings(records, Thresholds()) == []


def test_a_search_beside_a_busy_loop_is_warned_about():
    """A real search of the calibrated service at xs with a busy loop on its CPU: the loop
    took what the 0.25-CPU quota left of the core, in every step."""
    records = example_records(Path(__file__).resolve().parents[1] / "data/capacity/neighbour")
    (record,) = records
    assert search_neighbour_cores(record) == pytest.approx(0.77, abs=0.01)
    (warning,) = capacity_warnings(records, Thresholds())
    assert warning.startswith("calibrated-xs: something besides the runtime kept 0.77 cores")
    assert "in its median step" in warning
    assert capacity_warnings(records, Thresholds(max_neighbour_cores=0.8)) == []
