"""The open-model wrapper k6 runs for each capacity step."""

from __future__ import annotations

import json
import os
import subprocess

from conftest import REPO
from tierbench.capacity.openmodel import (
    HoldSummary,
    StepLoad,
    scenario_options,
    summarisable,
    write_wrapper,
)
from tierbench.load.k6 import k6_binary


def step(warmup_s: float, rate: float = 69.8) -> StepLoad:
    return StepLoad(
        name="s07_step",
        rate=rate,
        warmup_s=warmup_s,
        hold_s=7.0,
        pre_allocated_vus=40,
        max_vus=1000,
        graceful_stop_s=1.0,
    )


def test_a_step_is_one_constant_arrival_rate_tagged_with_the_step():
    scenario = scenario_options(step(3.0))["scenarios"]["s07_step"]
    assert scenario["executor"] == "constant-arrival-rate"
    # Per minute, so that a fractional rate is exact: 69.8 iterations/s.
    assert scenario["timeUnit"] == "60s" and scenario["rate"] == 4188
    assert scenario["duration"] == "10s"  # warm-up and hold
    assert scenario["preAllocatedVUs"] == 40 and scenario["maxVUs"] == 1000
    assert scenario["tags"] == {"step": "s07_step"}


def test_k6_reads_the_wrapper_as_written(tmp_path):
    """k6 itself parses the module and plans the step: warm-up and hold at the rate."""
    wrapper = write_wrapper(tmp_path / "s07_step.js", REPO / "k6" / "agent-flow.js", step(3.0))
    result = subprocess.run(
        [k6_binary(), "inspect", "--execution-requirements", str(wrapper)],
        capture_output=True,
        text=True,
        env=os.environ | {"BASE_URL": "http://127.0.0.1:1"},
    )
    assert result.returncode == 0, result.stderr
    options = json.loads(result.stdout)
    scenario = options["scenarios"]["s07_step"]
    assert scenario["executor"] == "constant-arrival-rate" and scenario["rate"] == 4188
    assert options["totalDuration"] == "11s"  # 3 s warm-up + 7 s hold + 1 s graceful stop


def test_a_summarised_step_has_k6_break_out_its_hold_its_slo_requests_and_names():
    hold = HoldSummary(99.9, ("name", "send_message"), ("create_session", "send_message"))
    options = scenario_options(step(3.0), hold)
    assert set(options["thresholds"]) == {
        "http_req_duration{tierbench_hold:yes}",
        "http_req_failed{tierbench_hold:yes}",
        "iteration_duration{tierbench_hold:yes}",
        "http_req_duration{tierbench_hold:yes,name:send_message}",
        "http_req_duration{tierbench_hold:yes,name:create_session}",
    }
    # The SLO's percentile and the counts are among the statistics k6 summarises.
    assert {"count", "p(99)", "p(99.9)"} <= set(options["summaryTrendStats"])
    assert "thresholds" not in scenario_options(step(3.0))


def test_only_a_value_k6_can_split_out_is_named_in_a_sub_metric():
    # k6 splits a sub-metric's tags at commas, each at its first colon: a URL is fine.
    assert summarisable("send_message") and summarisable("http://127.0.0.1:8080/x?a=1")
    assert not summarisable("a,b") and not summarisable("") and not summarisable('say "hi"')
