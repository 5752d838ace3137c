"""The load side's measured ceiling: what k6 and the support services spend per request,
from a search's own steps, and where the load side's cores would be full; a capacity near
it whose SLO broke with CPU to spare is the load side's, said with the figure; capacity.md
and `tierbench doctor` state it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import DATA
from tierbench.capacity.load_side import load_side, load_side_section
from tierbench.capacity.record import CapacityRecord, measured_load_sides
from tierbench.capacity.search import SearchOutcome
from tierbench.capacity.settings import CapacitySettings
from tierbench.capacity.steps import StepResult, judge
from tierbench.capacity.verdict import classify
from tierbench.commands.doctor import load_side_check

SETTINGS = CapacitySettings()
RECORDED = DATA / "tracing" / "capacity" / "ts-notrace-xs.json"


def step(rps: float, k6: float, support: float, **figures) -> StepResult:
    result = StepResult(
        name=f"s{rps:g}",
        phase="step",
        requested_rate=rps / 5,
        offered_rate=rps / 5,
        warmup_s=3,
        hold_s=10,
        started_at="",
        requests=int(rps * 10),
        achieved_rate=rps / 5,
        rps=rps,
        error_rate=0.0,
        percentile_ms=100.0,
        cpu_pct=40.0,
        cpu_cores=0.4,
        k6_cpu_cores=k6,
        support_cpu_cores=support,
        memory_pct=20.0,
        memory_peak_bytes=50e6,
    )
    for key, value in figures.items():
        setattr(result, key, value)
    return judge(result, SETTINGS)


def linear(rps: float, **figures) -> StepResult:
    """k6: 0.05 cores + 0.3 ms per request; the support services: 0.02 + 0.1 ms."""
    return step(rps, 0.05 + 0.0003 * rps, 0.02 + 0.0001 * rps, **figures)


def test_a_line_through_the_steps_separates_cost_per_request_from_fixed_cost():
    side = load_side([linear(r) for r in (100, 400, 900, 1600)], cores=1, shared=False)
    assert side is not None and side.fitted and side.steps == 4
    assert side.k6.ms_per_request == pytest.approx(0.3)
    assert side.k6.fixed_cores == pytest.approx(0.05)
    assert side.support.ms_per_request == pytest.approx(0.1)
    # (1 core - 0.07 cores fixed) / 0.4 ms per request
    assert side.ceiling_rps == pytest.approx(0.93 / 0.0004)
    assert "about 2,325 req/s (k6 0.30 ms and the support services 0.10 ms" in side.words()


def test_steps_too_close_in_rate_for_a_line_take_cpu_per_request_at_the_busiest():
    side = load_side([linear(r) for r in (1000, 1100, 1200)], cores=1, shared=False)
    assert side is not None and not side.fitted
    # The fixed cost counts as per-request cost: an upper estimate of the cost.
    assert side.k6.ms_per_request == pytest.approx(1000 * (0.05 + 0.0003 * 1100) / 1100)
    assert side.ceiling_rps < 0.93 / 0.0004


def test_a_contended_tier_counts_the_runtimes_cpu_on_the_shared_cores():
    steps = [linear(r, cpu_cores=0.0005 * r) for r in (100, 400, 900, 1600)]
    shared = load_side(steps, cores=2, shared=True)
    assert shared.runtime.ms_per_request == pytest.approx(0.5)
    assert shared.ceiling_rps == pytest.approx((2 - 0.07) / 0.0009)
    assert "the runtime 0.50 ms, sharing them, on 2 cores" in shared.words()


def test_no_counted_load_side_no_ceiling():
    assert load_side([step(500, None, None)], cores=1, shared=False) is None
    assert load_side([linear(500)], cores=0, shared=False) is None
    failing = linear(500, percentile_ms=900.0)
    assert not failing.passed and load_side([failing], cores=1, shared=False) is None


def confirmed_search(passing: list[StepResult], failing: StepResult) -> SearchOutcome:
    """A search whose last passing step is its capacity, confirmed 3 of 3, below `failing`."""
    best = passing[-1]
    return SearchOutcome(
        steps=[*passing, failing],
        best=best,
        capacity_steps=[best],
        confirmations=3,
        needed=3,
        failing=failing,
        converged=True,
    )


def test_an_slo_broken_with_cpu_to_spare_near_the_ceiling_is_the_load_sides():
    passing = [linear(r) for r in (100, 400, 900, 2000)]
    broke = linear(2100, percentile_ms=400.0)
    searched = confirmed_search(passing, broke)
    verdict = classify(searched, SETTINGS, load_side_cores=1)
    assert verdict.limited_by == "load-generator" and verdict.lower_bound
    assert verdict.load_side_ceiling_rps == pytest.approx(2325)
    # Judged by the step that failed (2,100 req/s offered), not by the capacity below it.
    assert "in a step that offered 90% of the load side's measured ceiling" in verdict.reason
    assert "The load side's measured ceiling: about 2,325 req/s" in verdict.reason
    # Without the load side's cores (a backend that cannot count them) it stays latency.
    assert classify(searched, SETTINGS).limited_by == "latency"
    # Far below the ceiling, the same failure is the runtime's.
    low = confirmed_search(passing[:2], linear(450, percentile_ms=400.0))
    assert classify(low, SETTINGS, load_side_cores=1).limited_by == "latency"
    # On a coarse lattice the capacity lies a whole step below the failing rate: 1,600 req/s
    # is 69 % of the ceiling, but the step that broke offered 2,100 (90 %), so the load side
    # may have broken it, and the capacity is a lower bound.
    coarse = confirmed_search([*passing[:3], linear(1600)], broke)
    judged = classify(coarse, SETTINGS, load_side_cores=1)
    assert judged.limited_by == "load-generator" and judged.lower_bound
    assert judged.shown == "≥ 1,600 req/s"


def test_a_recorded_search_measures_its_load_side_and_capacity_md_states_it():
    record = CapacityRecord.read(RECORDED)
    side = record.measured_load_side()
    assert side is not None and side.fitted and side.cores == 1
    # k6 costs a few tenths of a millisecond of CPU per request here, as measured by hand.
    assert 0.1 < side.k6.ms_per_request < 0.6
    assert 1000 < side.ceiling_rps < 5000
    lines = load_side_section([(record.cell, side, record.verdict.capacity_rps)])
    assert lines[0] == "## The load side"
    share = 100 * record.verdict.capacity_rps / side.ceiling_rps
    assert lines[-1].startswith(f"| ts-notrace-xs | {side.k6.ms_per_request:.3f} |")
    assert lines[-1].endswith(f"| {side.ceiling_rps:,.0f} | {share:.0f} % |")
    assert load_side_section([(record.cell, None, None)]) == []


def test_doctor_states_the_last_measured_ceiling_or_that_there_is_none(tmp_path: Path):
    assert "not measured yet" in load_side_check(tmp_path).message
    (tmp_path / "capacity").mkdir()
    shutil.copy(RECORDED, tmp_path / "capacity")
    (tmp_path / "capacity" / "broken.json").write_text("{}")
    [(cell, side)] = measured_load_sides(tmp_path)
    check = load_side_check(tmp_path)
    assert check.status == "OK" and cell == "ts-notrace-xs"
    assert f"its cores would be full at {side.ceiling_rps:,.0f} req/s" in check.message
    assert "by 1 capacity search in" in check.message
