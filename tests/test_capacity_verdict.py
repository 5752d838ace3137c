"""Why a search stopped (`limited_by`), and when its figure is only a lower bound."""

from __future__ import annotations

import pytest

from tierbench.capacity.cell import graceful_stop_s
from tierbench.capacity.search import SearchOutcome
from tierbench.capacity.settings import CapacitySettings
from tierbench.capacity.steps import StepResult, dropped_for_want_of_vus, judge
from tierbench.capacity.verdict import classify

SETTINGS = CapacitySettings()


def step(rate: float, **figures) -> StepResult:
    result = StepResult(
        name=f"s{rate:g}",
        phase="step",
        requested_rate=rate,
        offered_rate=rate,
        warmup_s=3,
        hold_s=7,
        started_at="",
        requests=int(rate * 7),
        achieved_rate=rate,
        rps=rate * 5,
        error_rate=0.0,
        percentile_ms=100.0,
        cpu_pct=50.0,
        k6_cpu_cores=0.2,
        support_cpu_cores=0.05,
        load_side_share=0.25,
        memory_pct=20.0,
        memory_peak_bytes=50e6,
    )
    for key, value in figures.items():
        setattr(result, key, value)
    return judge(result, SETTINGS)


def outcome(failing: StepResult, best: StepResult | None = None, **flags) -> SearchOutcome:
    best = best or step(100)
    return SearchOutcome(
        steps=[best, failing],
        best=best,
        failing=failing,
        converged=True,
        confirmed=True,
        **flags,
    )


@pytest.mark.parametrize(
    ("failing", "limited_by", "lower_bound"),
    [
        (step(105, oom_killed=True, runtime_state="exited"), "memory", False),
        (step(105, percentile_ms=400.0, memory_pct=95.0), "memory", False),
        (
            step(105, percentile_ms=400.0, k6_cpu_cores=0.95, load_side_share=1.0),
            "load-generator",
            True,
        ),
        # Drops while latency is within the SLO: k6 ran short of VUs, not the runtime of speed.
        (
            step(105, dropped_iterations=12, percentile_ms=90.0, vus_max=1000),
            "load-generator",
            True,
        ),
        # The support services filled the load side's cores: an upstream set the limit.
        (
            step(
                105,
                percentile_ms=400.0,
                k6_cpu_cores=0.3,
                support_cpu_cores=0.65,
                load_side_share=0.95,
            ),
            "upstream",
            True,
        ),
        (step(105, percentile_ms=400.0, cpu_pct=99.0, throttled_share=0.8), "cpu", False),
        (step(105, percentile_ms=400.0, cpu_pct=60.0, throttled_share=0.25), "cpu", False),
        (step(105, error_rate=0.2, cpu_pct=40.0), "errors", False),
        (step(105, percentile_ms=400.0, cpu_pct=40.0), "latency", False),
        (step(105, percentile_ms=400.0, cpu_pct=40.0, throttled_share=0.1), "latency", False),
    ],
)
def test_the_failing_steps_evidence_names_the_limit(failing, limited_by, lower_bound):
    assert not failing.passed
    verdict = classify(outcome(failing), SETTINGS)
    assert (verdict.limited_by, verdict.lower_bound) == (limited_by, lower_bound)
    assert verdict.capacity_rps == 500
    assert verdict.shown == ("≥ 500 req/s" if lower_bound else "500 req/s")
    assert limited_by in verdict.reason or "lower bound" in verdict.reason


def test_a_contended_tier_full_of_runtime_and_load_side_is_a_lower_bound():
    failing = step(
        105,
        percentile_ms=400.0,
        cpu_pct=60.0,
        cpu_cores=1.2,
        k6_cpu_cores=0.5,
        support_cpu_cores=0.2,
        load_side_share=0.97,
    )
    verdict = classify(outcome(failing), SETTINGS, shared_with_runtime=True)
    assert verdict.limited_by == "load-generator" and verdict.lower_bound
    assert "shared by the runtime" in verdict.reason


def test_a_contended_tier_whose_host_is_as_full_as_it_gets_is_a_lower_bound():
    """Recorded: python at tier L on the 2-core build machine broke its SLO with the runtime
    at 1.40 cores, k6 at 0.27 and the mock at 0.07, 87 % of the host's counted CPU time."""
    failing = step(
        122.6,
        percentile_ms=491.0,
        cpu_pct=69.9,
        cpu_cores=1.40,
        k6_cpu_cores=0.27,
        support_cpu_cores=0.07,
        load_side_share=0.87,
    )
    contended = classify(outcome(failing), SETTINGS, shared_with_runtime=True)
    assert contended.limited_by == "load-generator" and contended.lower_bound
    apart = classify(outcome(failing), SETTINGS, shared_with_runtime=False)
    assert apart.limited_by == "latency" and not apart.lower_bound
    quieter = step(
        122.6,
        percentile_ms=491.0,
        cpu_pct=50.0,
        cpu_cores=1.0,
        k6_cpu_cores=0.27,
        support_cpu_cores=0.07,
        load_side_share=0.67,
    )
    assert classify(outcome(quieter), SETTINGS, shared_with_runtime=True).limited_by == "latency"


def test_passing_up_to_the_search_bound_is_a_lower_bound():
    best = step(20000)
    verdict = classify(
        SearchOutcome(
            steps=[best], best=best, converged=True, confirmed=True, reached_max_rate=True
        ),
        SETTINGS,
    )
    assert verdict.limited_by == "search-bound" and verdict.lower_bound
    assert "raise capacity.max_rate" in verdict.reason


def test_no_passing_rate_has_no_capacity():
    failing = step(0.25, percentile_ms=900.0)
    verdict = classify(SearchOutcome(steps=[failing], failing=failing), SETTINGS)
    assert verdict.capacity_rps is None and verdict.shown == "none"
    assert verdict.reason.startswith("No rate passed")


def test_drops_with_vus_to_spare_hold_the_step_again_instead_of_failing_it():
    # Recorded at python-xs: 2 iterations dropped at 33.3 it/s with p99 219 ms and a pool
    # of 28 VUs out of the 1,000 k6 could start: the pool was short, not the runtime.
    short_pool = step(33.3, dropped_iterations=2, percentile_ms=219.0, vus_max=28)
    assert not short_pool.passed and dropped_for_want_of_vus(short_pool, SETTINGS)
    # So many drops that the achieved rate fails too: still the pool's doing.
    many = step(33.3, dropped_iterations=40, achieved_rate=27.0, percentile_ms=219.0, vus_max=28)
    assert len(many.reasons) == 2 and dropped_for_want_of_vus(many, SETTINGS)
    # Latency broke as well, the pool was at its maximum, or nothing dropped: judged as is.
    slow = step(33.3, dropped_iterations=2, percentile_ms=400.0, vus_max=28)
    full = step(33.3, dropped_iterations=2, percentile_ms=219.0, vus_max=SETTINGS.max_vus)
    errors = step(33.3, dropped_iterations=2, percentile_ms=219.0, error_rate=0.05, vus_max=28)
    for result in (slow, full, errors, step(33.3, vus_max=28)):
        assert not dropped_for_want_of_vus(result, SETTINGS)


@pytest.mark.parametrize(
    ("vus_max", "words"),
    [
        (1000, "all 1000 VUs it may start were busy (raise capacity.max_vus)"),
        (56, "all 56 VUs it had started were busy (it may start 1000)"),
    ],
)
def test_a_load_generator_short_of_vus_says_which_limit_it_met(vus_max, words):
    failing = step(105, dropped_iterations=3, percentile_ms=90.0, vus_max=vus_max)
    verdict = classify(outcome(failing), SETTINGS)
    assert verdict.limited_by == "load-generator" and words in verdict.reason


@pytest.mark.parametrize(
    ("iteration_s", "slo_ms", "wait_s"),
    [
        (0.5, 250, 1.0),  # the first guess: at least a second
        (0.18, 1000, 4.0),  # four times a loose SLO
        (2.1, 250, 4.2),  # think time: twice the slow iteration, so none is cut
    ],
)
def test_k6_waits_for_the_iterations_still_running_after_a_hold(iteration_s, slo_ms, wait_s):
    settings = CapacitySettings(slo_ms=slo_ms)
    assert graceful_stop_s(iteration_s, settings) == pytest.approx(wait_s)
