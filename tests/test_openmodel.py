"""The open-model wrapper k6 runs for each capacity step."""

from __future__ import annotations

import json
import os
import subprocess

from conftest import REPO
from tierbench.capacity.openmodel import StepLoad, scenario_options, write_wrapper
from tierbench.load.k6 import k6_binary


def step(warmup_s: float, rate: float = 69.8) -> StepLoad:
    return StepLoad(
        name="s07_step", rate=rate, warmup_s=warmup_s, hold_s=7.0,
        pre_allocated_vus=40, max_vus=1000, graceful_stop_s=1.0,
    )


def test_the_warm_up_ramps_from_half_the_rate_then_holds_it():
    scenario = scenario_options(step(3.0))["scenarios"]["s07_step"]
    assert scenario["executor"] == "ramping-arrival-rate"
    assert scenario["timeUnit"] == "60s"
    assert scenario["startRate"] == 2094 and step(3.0).rate_per_time_unit == 4188
    assert scenario["stages"] == [
        {"duration": "1.5s", "target": 4188},
        {"duration": "8.5s", "target": 4188},
    ]
    assert scenario["tags"] == {"step": "s07_step"}


def test_without_a_warm_up_the_rate_holds_from_the_start():
    scenario = scenario_options(step(0.0))["scenarios"]["s07_step"]
    assert scenario["startRate"] == 4188
    assert scenario["stages"] == [{"duration": "7s", "target": 4188}]


def test_k6_reads_the_wrapper_as_written(tmp_path):
    """k6 itself parses the module and plans the step: the ramp, then the hold."""
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
    assert scenario["executor"] == "ramping-arrival-rate" and scenario["startRate"] == 2094
    assert options["totalDuration"] == "11s"  # 1.5 s ramp + 8.5 s at the rate + 1 s graceful stop
