"""Sessions stay bounded (a cap and a TTL), and the tracing switch turns tracing off."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from .conftest import (
    SESSION_MAX,
    SESSION_TTL_S,
    SMALLEST_TIER,
    Stack,
    running_stack,
    stack_ports,
)

pytestmark = pytest.mark.docker


def test_session_cap_evicts_least_recently_used(agent: httpx.Client) -> None:
    first = agent.post("/v1/sessions").json()["id"]
    kept = agent.post("/v1/sessions").json()["id"]
    for _ in range(SESSION_MAX - 1):
        assert agent.post("/v1/sessions").status_code == 201
        agent.get(f"/v1/sessions/{kept}")  # keeps `kept` the most recently used
    assert agent.get(f"/v1/sessions/{first}").status_code == 404
    assert agent.get(f"/v1/sessions/{kept}").status_code == 200


def test_sessions_expire_after_ttl(stack: Stack) -> None:
    sessions = {}
    for runtime, url in stack.agent_urls.items():
        sessions[runtime] = httpx.post(f"{url}/v1/sessions").json()["id"]
    time.sleep(SESSION_TTL_S + 0.5)
    for runtime, url in stack.agent_urls.items():
        response = httpx.get(f"{url}/v1/sessions/{sessions[runtime]}")
        assert response.status_code == 404, f"{runtime} kept a session past its TTL"


@pytest.fixture(scope="module")
def untraced_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(
        tmp_path_factory.mktemp("stack-untraced"),
        *stack_ports(18400),
        SMALLEST_TIER,
        {"TRACING": "off"},
    ) as running:
        yield running


def test_tracing_switch_off(untraced_stack: Stack) -> None:
    for url in untraced_stack.agent_urls.values():
        session = httpx.post(f"{url}/v1/sessions").json()["id"]
        for content in ["hello", "please calculate 2*(3+4) and look up Rome"]:
            response = httpx.post(
                f"{url}/v1/sessions/{session}/messages", json={"content": content}
            )
            assert response.status_code == 200
    time.sleep(2)  # several flush intervals
    stats = httpx.get(f"{untraced_stack.mock_url}/sink/stats").json()
    assert stats["requests"] == 0
    assert stats["spans"] == 0
