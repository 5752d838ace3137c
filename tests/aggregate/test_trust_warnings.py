"""Each warning fires on the condition it names, and only then."""

from __future__ import annotations

import json

import pytest

from conftest import DATA
from tierbench.aggregate.trust_warnings import Thresholds, cell_warnings, spread_warnings
from tierbench.cell_meta import CellMeta

META = json.loads((DATA / "cells" / "meta" / "fast-s.json").read_text())
QUIET_RUN = {
    "cell": "fast-s",
    "cpus": 0.5,
    "requests": 5000,
    "window_s": 60.0,
    "error_rate": 0.0,
    "dropped_iterations": 0.0,
    "oom_kills": 0,
    "k6_cpu_cores": 0.2,
}
QUIET_META = {**META, "host": {**META["host"], "cores": 4}, "warnings": []}


def warnings_for(run_changes: dict | None = None, meta_changes: dict | None = None) -> list[str]:
    return cell_warnings(
        {**QUIET_RUN, **(run_changes or {})},
        CellMeta.from_json({**QUIET_META, **(meta_changes or {})}),
        Thresholds(),
    )


def test_a_quiet_cell_has_no_warning() -> None:
    assert warnings_for() == []


@pytest.mark.parametrize(
    ("run_changes", "meta_changes", "expected"),
    [
        ({"dropped_iterations": 3.0}, None, "k6 dropped 3 iterations"),
        ({"k6_cpu_cores": 0.97}, None, "k6 used 0.97 of a core"),
        ({"cpus": 4.0}, None, "asks for 4 CPUs but the host has 4 cores"),
        ({"oom_kills": 2}, None, "OOM-killed 2 time(s)"),
        ({"error_rate": 0.02}, None, "2.0% of requests failed"),
        (None, {"limits": {**META["limits"], "verified": False}}, "limits were not verified"),
        ({"window_s": 4.0}, None, "measured window is 4.0 s"),
        ({"requests": 40}, None, "with 40 requests"),
        (None, {"warnings": ["the health check was slow; look at its log."]}, "health check"),
    ],
)
def test_each_warning(run_changes: dict | None, meta_changes: dict | None, expected: str) -> None:
    found = warnings_for(run_changes, meta_changes)
    assert len(found) == 1
    assert expected in found[0]
    assert found[0].startswith("fast-s: ")


def test_recorded_host_has_too_few_cores_for_a_two_cpu_tier() -> None:
    # The recording host has 2 cores: a 2-CPU tier cannot get them beside k6.
    meta = CellMeta.from_json({**META, "warnings": []})
    found = cell_warnings({**QUIET_RUN, "cpus": 2.0}, meta, Thresholds())
    assert any(f"but the host has {META['host']['cores']} cores" in t for t in found)


def test_spread_warning_uses_the_threshold() -> None:
    row = {"runtime": "fast", "tier": "xs", "repeats": 3, "rps_cv": 0.08, "p95_ms_cv": 0.01}
    found = spread_warnings(row, Thresholds(max_cv=0.05))
    assert len(found) == 1 and "rps varies by 8.0% across 3 repeats" in found[0]
    assert spread_warnings(row, Thresholds(max_cv=0.10)) == []
    assert spread_warnings({**row, "rps_cv": None}, Thresholds()) == []


def test_thresholds_from_config_ignore_unknown_keys() -> None:
    limits = Thresholds.from_mapping({"max_cv": 0.2, "unrelated": 1})
    assert limits.max_cv == 0.2 and limits.max_error_rate == Thresholds().max_error_rate


def test_a_cell_that_lost_spans_is_warned_about_and_one_that_did_not_is_quiet() -> None:
    lost = warnings_for(
        meta_changes={"spans_expected": 400, "spans_received": 310, "spans_lost": 90}
    )
    assert len(lost) == 1
    assert lost[0].startswith("fast-s: spans lost: the runtime ended 400 spans")
    assert "received 310" in lost[0]
    assert (
        warnings_for(meta_changes={"spans_expected": 4, "spans_received": 4, "spans_lost": 0}) == []
    )


def test_a_recorded_meta_of_an_earlier_version_reads_without_the_span_counts() -> None:
    meta = CellMeta.from_json(META)
    assert (meta.spans_expected, meta.spans_received, meta.spans_lost) == (None, None, None)
