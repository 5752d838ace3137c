"""Why a search stopped (`limited_by`), and when its figure is only a lower bound."""

from __future__ import annotations

import pytest

from tierbench.capacity.cell import graceful_stop_s
from tierbench.capacity.search import Prediction, SearchOutcome
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
        capacity_steps=[best],
        confirmations=3,
        needed=3,
        failing=failing,
        converged=True,
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
        # The tracing SDK dropped spans with the SLO kept: the step did less work than asked.
        (step(105, spans_expected=500, spans_received=420, cpu_pct=70.0), "tracing", False),
        # Spans lost while the CPU was full: the CPU is the limit, the loss its symptom.
        (
            step(105, spans_expected=500, spans_received=420, cpu_pct=99.0, percentile_ms=400.0),
            "cpu",
            False,
        ),
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


def test_a_load_side_whose_cpus_the_host_counts_full_is_a_lower_bound():
    """The host's own counters (/proc/stat) say the load side's CPUs had no idle time
    left, whoever filled them: k6, the support services, the engine, the kernel."""
    failing = step(105, percentile_ms=400.0, k6_cpu_cores=0.6, load_cpus_busy=0.97)
    verdict = classify(outcome(failing), SETTINGS)
    assert verdict.limited_by == "load-generator" and verdict.lower_bound
    assert "97% busy by the host's counters" in verdict.reason
    # The counted processes alone used 0.85 of the core, yet the host had room: not full.
    roomy = step(105, percentile_ms=400.0, k6_cpu_cores=0.85, load_cpus_busy=0.88)
    assert classify(outcome(roomy), SETTINGS).limited_by == "latency"
    # The support services the larger user of the full CPUs: an upstream set the limit.
    mock = step(
        105, percentile_ms=400.0, k6_cpu_cores=0.3, support_cpu_cores=0.6, load_cpus_busy=0.99
    )
    assert classify(outcome(mock), SETTINGS).limited_by == "upstream"


def test_a_contended_tier_whose_host_cpus_are_full_is_a_lower_bound():
    """python at tier L on the 2-core build machine (contended: runtime, k6 and the mock
    share both cores) broke its SLO with the runtime at 1.40 cores, k6 at 0.27 and the
    mock at 0.07. With the host's CPUs full, the runtime could have had no more."""
    figures = dict(
        percentile_ms=491.0, cpu_pct=69.9, cpu_cores=1.40, k6_cpu_cores=0.27, support_cpu_cores=0.07
    )
    full = step(122.6, load_cpus_busy=0.98, **figures)
    contended = classify(outcome(full), SETTINGS, shared_with_runtime=True)
    assert contended.limited_by == "load-generator" and contended.lower_bound
    assert "the host's CPUs, shared with the runtime," in contended.reason
    # Shared, the runtime waits behind k6 in the run queue well before the CPUs are full.
    busy = step(122.6, load_cpus_busy=0.85, **figures)
    assert classify(outcome(busy), SETTINGS, shared_with_runtime=True).lower_bound
    assert classify(outcome(busy), SETTINGS, shared_with_runtime=False).limited_by == "latency"
    roomy = step(122.6, load_cpus_busy=0.7, **figures)
    verdict = classify(outcome(roomy), SETTINGS, shared_with_runtime=True)
    assert verdict.limited_by == "latency" and not verdict.lower_bound


def test_the_verdict_sets_the_capacity_against_the_utilisation_laws_prediction():
    best = step(100, cpu_pct=40.0)
    failing = step(105, percentile_ms=900.0, cpu_pct=42.0)
    result = outcome(failing, best)
    result.prediction = Prediction(rate=250.0, step=best.name, cpu_ms_per_iteration=1.6)
    verdict = classify(result, SETTINGS)
    assert verdict.limited_by == "latency"
    assert verdict.predicted_rps == pytest.approx(1250.0)
    assert "Not CPU-bound: it stopped at 40% of what the utilisation law" in verdict.reason
    cpu_bound = outcome(step(105, percentile_ms=900.0, cpu_pct=99.0), step(100, cpu_pct=95.0))
    cpu_bound.prediction = Prediction(rate=105.3, step="s100", cpu_ms_per_iteration=9.5)
    verdict = classify(cpu_bound, SETTINGS)
    assert verdict.limited_by == "cpu" and "Found 95% of what the utilisation law" in verdict.reason


def test_the_interval_and_the_holds_are_on_record():
    holds = [step(100, rps=498.0), step(100, rps=502.0), step(100, rps=500.0)]
    failing = step(103, percentile_ms=400.0)
    result = SearchOutcome(
        steps=[*holds, failing],
        best=holds[-1],
        capacity_steps=holds,
        confirmations=3,
        needed=3,
        failing=failing,
    )
    verdict = classify(result, SETTINGS)
    assert verdict.capacity_rps == pytest.approx(500.0)
    assert verdict.failed_at_rate == 103 and verdict.failed_at_rps == pytest.approx(515.0)
    assert (verdict.confirmations, verdict.confirmations_needed) == (3, 3) and verdict.confirmed
    short = SearchOutcome(
        steps=[holds[0], failing],
        best=holds[0],
        capacity_steps=holds[:1],
        confirmations=1,
        needed=3,
        failing=failing,
        unconfirmed_why="time budget",
    )
    verdict = classify(short, SETTINGS)
    assert not verdict.confirmed
    assert "Passed 1 of 3 full holds at this rate (time budget): unconfirmed." in verdict.reason


def test_passing_up_to_the_search_bound_is_a_lower_bound():
    best = step(20000)
    verdict = classify(
        SearchOutcome(
            steps=[best],
            best=best,
            capacity_steps=[best],
            confirmations=3,
            needed=3,
            converged=True,
            reached_max_rate=True,
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
