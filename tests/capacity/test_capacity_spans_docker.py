"""A capacity step checks that the spans its runtime ended reached the trace sink: with the
mock's sink refusing the Python runtime's exports (`MOCK_SINK_REJECT_SERVICES`, as a
Langfuse server that rejects batches, which the SDK then drops) no step passes, and the
verdict says tracing. (A comparison cell's check: tests/load/test_measurement_truth.py.)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from conftest import REPO, containers_of, run_snakemake

pytestmark = pytest.mark.docker
PROJECT = "tierbench-spans"


# A search that ends within a few short steps: every step fails when its spans are lost,
# so it probes down from 2 to the floor of 1 iteration/s and stops.
QUICK_FAILING_SEARCH = {
    "start_rate": 2,
    "min_rate": 1,
    "probe_warmup_s": 0.5,
    "probe_hold_s": 1.5,
    "warmup_s": 0.5,
    "hold_s": 2,
    "cooldown_s": 0,
    "confirmations": 1,
    "step_start": "warm",
    "time_budget_s": 40,
}


def test_a_capacity_step_whose_spans_never_reached_the_sink_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    config |= {
        "compose_file": str(REPO / "config" / "compose.yaml"),
        "compose_project": PROJECT,
        "k6_script": str(REPO / "k6" / "agent-flow.js"),
        "runtimes": {"python": config["runtimes"]["python"]},
        "tiers": {"xs": config["tiers"]["xs"]},
    }
    config["capacity"] |= QUICK_FAILING_SEARCH
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    monkeypatch.setenv("MOCK_SINK_REJECT_SERVICES", "agent-python")
    result = run_snakemake(
        tmp_path,
        "results/capacity/python-xs.json",
        "--configfile",
        str(tmp_path / "config.yaml"),
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    record = json.loads((tmp_path / "results" / "capacity" / "python-xs.json").read_text())
    steps = record["steps"]
    assert steps and not any(step["passed"] for step in steps)
    for step in steps:
        assert step["spans_expected"] > 0 and step["spans_received"] == 0, step["name"]
        lost = f"spans lost: {step['spans_expected']} of {step['spans_expected']} never"
        assert lost in step["reasons"], step["reasons"]
    verdict = record["verdict"]
    assert verdict["capacity_rps"] is None and verdict["limited_by"] == "tracing"
    assert "spans lost" in verdict["reason"]
    assert containers_of(PROJECT) == []
