"""The agent HTTP contract (services/agent-api.openapi.yaml), run over real HTTP against
each runtime in its container under the smallest tier (0.25 CPU / 256 MB).

Every test runs once per runtime, and once for the Python runtime as people write it first
(conftest.CONTRACT_VARIANTS); the tests at the end compare them all directly.
"""

from __future__ import annotations

import time

import httpx
import pytest

from .conftest import AGENT_SERVICES, MAX_BODY_BYTES, SESSION_MAX_TURNS

pytestmark = pytest.mark.docker

TOOL_PROMPT = "please calculate 12*(3+4)/5 and look up Lisbon"


def new_session(agent: httpx.Client) -> str:
    response = agent.post("/v1/sessions")
    assert response.status_code == 201, response.text
    return response.json()["id"]


def assert_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]


# --- health and sessions ------------------------------------------------------------------


def test_healthz(agent: httpx.Client) -> None:
    response = agent.get("/healthz")
    assert response.status_code == 200
    # The contract suite runs at 0.25 CPU: one worker process.
    assert response.json() == {"status": "ok", "workers": 1}


@pytest.mark.parametrize("body", [None, b"{}", b'{"note": "extra fields are ignored"}'])
def test_create_session(agent: httpx.Client, body: bytes | None) -> None:
    response = agent.post("/v1/sessions", content=body)
    assert response.status_code == 201
    payload = response.json()
    assert set(payload) == {"id"}
    assert isinstance(payload["id"], str) and payload["id"]


def test_new_session_has_empty_history(agent: httpx.Client) -> None:
    session = new_session(agent)
    response = agent.get(f"/v1/sessions/{session}")
    assert response.status_code == 200
    assert response.json() == {"id": session, "messages": []}


def test_create_session_rejects_bad_bodies(agent: httpx.Client) -> None:
    assert_error(agent.post("/v1/sessions", content=b"{nope"), 400, "invalid_json")
    assert_error(agent.post("/v1/sessions", content=b"[]"), 422, "invalid_request")


# --- messages -----------------------------------------------------------------------------


def test_plain_message(agent: httpx.Client) -> None:
    session = new_session(agent)
    response = agent.post(f"/v1/sessions/{session}/messages", json={"content": "hello there"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["session_id"] == session
    assert body["message"]["role"] == "assistant"
    assert isinstance(body["message"]["content"], str) and body["message"]["content"]
    assert body["tool_calls"] == []
    assert body["llm_calls"] == 1
    usage = body["usage"]
    assert usage["prompt_tokens"] > 0 and usage["completion_tokens"] > 0
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


def test_tool_call_round_trip(agent: httpx.Client) -> None:
    session = new_session(agent)
    response = agent.post(f"/v1/sessions/{session}/messages", json={"content": TOOL_PROMPT})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["llm_calls"] == 2
    calls = body["tool_calls"]
    assert [c["name"] for c in calls] == ["calculator", "lookup"]
    assert calls[0]["arguments"] == {"expression": "12*(3+4)/5"}
    assert calls[0]["result"] == "16.8"
    assert calls[1]["arguments"] == {"key": "Lisbon"}
    assert calls[1]["result"] == "Lisbon: country Portugal, population 567131"
    assert all(c["id"].startswith("call_") for c in calls)
    # The second LLM call saw the tool results.
    assert body["message"]["content"].startswith(
        "Tool results: 16.8; Lisbon: country Portugal, population 567131."
    )


@pytest.mark.parametrize(
    ("prompt", "result"),
    [
        ("calculate 1/0", "error: division by zero"),
        ("calculate 2 * (3 + 4", "error: missing closing parenthesis"),
        ("compute 1/3+2", "2.333333"),
        ("what is -2*-3.5", "7"),
    ],
)
def test_calculator_results(agent: httpx.Client, prompt: str, result: str) -> None:
    session = new_session(agent)
    response = agent.post(f"/v1/sessions/{session}/messages", json={"content": prompt})
    assert response.status_code == 200, response.text
    assert [c["result"] for c in response.json()["tool_calls"]] == [result]


def test_lookup_unknown_key(agent: httpx.Client) -> None:
    session = new_session(agent)
    response = agent.post(f"/v1/sessions/{session}/messages", json={"content": "look up Atlantis"})
    assert response.status_code == 200
    assert response.json()["tool_calls"][0]["result"] == "error: no entry for 'Atlantis'"


def test_history_keeps_the_conversation(agent: httpx.Client) -> None:
    session = new_session(agent)
    first = agent.post(f"/v1/sessions/{session}/messages", json={"content": "hello"}).json()
    second = agent.post(f"/v1/sessions/{session}/messages", json={"content": TOOL_PROMPT}).json()
    response = agent.get(f"/v1/sessions/{session}")
    assert response.status_code == 200
    history = response.json()
    assert history["id"] == session
    messages = history["messages"]
    assert [m["role"] for m in messages] == [
        "user",
        "assistant",
        "user",
        "assistant",
        "tool",
        "tool",
        "assistant",
    ]
    assert messages[0] == {"role": "user", "content": "hello"}
    assert messages[1] == {"role": "assistant", "content": first["message"]["content"]}
    assert messages[3]["content"] is None
    assert [c["function"]["name"] for c in messages[3]["tool_calls"]] == ["calculator", "lookup"]
    assert all(c["type"] == "function" for c in messages[3]["tool_calls"])
    ids = [c["id"] for c in second["tool_calls"]]
    assert [m["tool_call_id"] for m in messages[4:6]] == ids
    assert [m["content"] for m in messages[4:6]] == [c["result"] for c in second["tool_calls"]]
    assert messages[6]["content"] == second["message"]["content"]


def test_same_conversation_same_answer(agent: httpx.Client) -> None:
    answers = []
    for _ in range(2):
        session = new_session(agent)
        body = agent.post(f"/v1/sessions/{session}/messages", json={"content": TOOL_PROMPT}).json()
        body.pop("session_id")
        answers.append(body)
    assert answers[0] == answers[1]


def test_delete_session(agent: httpx.Client) -> None:
    session = new_session(agent)
    response = agent.delete(f"/v1/sessions/{session}")
    assert response.status_code == 204
    assert response.content == b""
    assert_error(agent.get(f"/v1/sessions/{session}"), 404, "session_not_found")
    assert_error(agent.delete(f"/v1/sessions/{session}"), 404, "session_not_found")
    assert_error(
        agent.post(f"/v1/sessions/{session}/messages", json={"content": "hi"}),
        404,
        "session_not_found",
    )


def test_session_turn_cap(agent: httpx.Client) -> None:
    session = new_session(agent)
    for turn in range(SESSION_MAX_TURNS):
        response = agent.post(f"/v1/sessions/{session}/messages", json={"content": f"turn {turn}"})
        assert response.status_code == 200
    response = agent.post(f"/v1/sessions/{session}/messages", json={"content": "one more"})
    assert_error(response, 409, "session_full")


# --- bad input never yields a 5xx -------------------------------------------------------------


def test_unknown_session(agent: httpx.Client) -> None:
    for path in ["/v1/sessions/does-not-exist", "/v1/sessions/does-not-exist/messages"]:
        method = "POST" if path.endswith("messages") else "GET"
        response = agent.request(method, path, json={"content": "hi"})
        assert_error(response, 404, "session_not_found")
    assert_error(agent.delete("/v1/sessions/does-not-exist"), 404, "session_not_found")


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"{not json", 400, "invalid_json"),
        (b"", 400, "invalid_json"),
        (b'{"content": "unterminated', 400, "invalid_json"),
        (b'{"content": "\xff\xfe"}', 400, "invalid_json"),
        (b"[]", 422, "invalid_request"),
        (b'"hello"', 422, "invalid_request"),
        (b"42", 422, "invalid_request"),
        (b"null", 422, "invalid_request"),
        (b"{}", 422, "invalid_request"),
        (b'{"text": "hi"}', 422, "invalid_request"),
        (b'{"content": 42}', 422, "invalid_request"),
        (b'{"content": null}', 422, "invalid_request"),
        (b'{"content": ["hi"]}', 422, "invalid_request"),
        (b'{"content": {"text": "hi"}}', 422, "invalid_request"),
        (b'{"content": true}', 422, "invalid_request"),
        (b'{"content": ""}', 422, "invalid_request"),
    ],
)
def test_bad_message_bodies(agent: httpx.Client, body: bytes, status: int, code: str) -> None:
    session = new_session(agent)
    response = agent.post(
        f"/v1/sessions/{session}/messages",
        content=body,
        headers={"content-type": "application/json"},
    )
    assert_error(response, status, code)
    # A rejected message leaves the history untouched.
    assert agent.get(f"/v1/sessions/{session}").json()["messages"] == []


def test_oversized_body(agent: httpx.Client) -> None:
    session = new_session(agent)
    big = {"content": "x" * (MAX_BODY_BYTES + 10)}
    assert_error(agent.post(f"/v1/sessions/{session}/messages", json=big), 413, "body_too_large")
    assert_error(agent.post("/v1/sessions", json=big), 413, "body_too_large")


def test_oversized_chunked_body(agent: httpx.Client) -> None:
    session = new_session(agent)

    def chunks():
        yield b'{"content": "'
        for _ in range(MAX_BODY_BYTES // 1024 + 2):
            yield b"x" * 1024
        yield b'"}'

    response = agent.post(f"/v1/sessions/{session}/messages", content=chunks())
    assert_error(response, 413, "body_too_large")


def test_unknown_route_and_method(agent: httpx.Client) -> None:
    assert_error(agent.get("/v2/nothing"), 404, "not_found")
    assert_error(agent.get("/v1/sessions"), 405, "method_not_allowed")
    assert_error(agent.put(f"/v1/sessions/{new_session(agent)}"), 405, "method_not_allowed")
    assert_error(agent.post("/healthz"), 405, "method_not_allowed")


# --- the LLM failing ----------------------------------------------------------------------


@pytest.mark.parametrize("upstream_status", [500, 503, 429, 400])
def test_llm_error_is_502(agent: httpx.Client, upstream_status: int) -> None:
    session = new_session(agent)
    response = agent.post(
        f"/v1/sessions/{session}/messages",
        json={"content": f"hi [mock:status={upstream_status}]"},
    )
    assert_error(response, 502, "upstream_error")
    assert agent.get(f"/v1/sessions/{session}").json()["messages"] == []


def test_llm_timeout_is_504(agent: httpx.Client) -> None:
    session = new_session(agent)
    started = time.monotonic()
    response = agent.post(
        f"/v1/sessions/{session}/messages", json={"content": "hi [mock:delay_ms=4000]"}
    )
    elapsed = time.monotonic() - started
    assert_error(response, 504, "upstream_timeout")
    assert elapsed < 3.9, f"the agent waited {elapsed:.1f} s: its LLM timeout did not apply"
    assert agent.get(f"/v1/sessions/{session}").json()["messages"] == []
    # The agent still serves after a timed-out upstream call.
    ok = agent.post(f"/v1/sessions/{session}/messages", json={"content": "hello"})
    assert ok.status_code == 200


# --- tracing ------------------------------------------------------------------------------


SDK_NAMES = {"ts": "javascript", "python": "python"}


def test_each_message_is_traced(agent: httpx.Client, mock: httpx.Client, runtime: str) -> None:
    before = mock.get("/sink/stats").json()
    session = new_session(agent)
    sent = 3
    for content in ["hello", TOOL_PROMPT, "thanks"]:
        assert agent.post(f"/v1/sessions/{session}/messages", json={"content": content}).is_success
    sdk = SDK_NAMES.get(runtime.partition("-")[0])  # a variant row traces as its runtime
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        after = mock.get("/sink/stats").json()
        turns = after["span_names"].get("agent-turn", 0) - before["span_names"].get("agent-turn", 0)
        sdk_seen = sdk is None or after["by_sdk"].get(sdk, 0) > before["by_sdk"].get(sdk, 0)
        if turns >= sent and sdk_seen:
            break
        time.sleep(0.25)
    assert turns >= sent, f"the sink saw {turns} agent-turn spans for {sent} messages"
    assert after["traces"] - before["traces"] >= sent
    assert after["rejected"] == before["rejected"]
    assert after["unauthorized"] == before["unauthorized"]


def sink_spans_of(mock: httpx.Client, service: str) -> int:
    return mock.get("/sink/stats").json()["spans_by_service"].get(service, 0)


def test_every_span_ended_reaches_the_sink(
    agent: httpx.Client, mock: httpx.Client, runtime: str
) -> None:
    """The runtime's count of ended spans (GET /tracing/stats) is what the sink receives
    from its service once the runtime flushed (POST /tracing/flush), span for span."""
    service = AGENT_SERVICES[runtime]
    ended_before, received_before = agent.get("/tracing/stats").json(), sink_spans_of(mock, service)
    assert ended_before["tracing"] == "on"
    session = new_session(agent)
    for content in ["hello", TOOL_PROMPT]:
        assert agent.post(f"/v1/sessions/{session}/messages", json={"content": content}).is_success
    flushed = agent.post("/tracing/flush")
    assert flushed.status_code == 200
    # One turn: its trace and LLM call; the tool turn: two LLM calls, two tools.
    expected = flushed.json()["spans_ended"] - ended_before["spans_ended"]
    assert expected == 2 + 5
    deadline = time.monotonic() + 5
    received = sink_spans_of(mock, service) - received_before
    while received < expected and time.monotonic() < deadline:
        time.sleep(0.1)
        received = sink_spans_of(mock, service) - received_before
    assert received == expected
    assert_error(agent.get("/tracing/flush"), 405, "method_not_allowed")
    assert_error(agent.post("/tracing/stats"), 405, "method_not_allowed")


# --- both runtimes behave identically -----------------------------------------------------


def conversation(base_url: str) -> list:
    """A scripted conversation; returns every response with session ids taken out."""
    with httpx.Client(base_url=base_url, timeout=15) as client:
        session = client.post("/v1/sessions").json()["id"]
        transcript = []
        for content in ["hello", TOOL_PROMPT, "calculate 7/0", "look up Vienna please"]:
            response = client.post(f"/v1/sessions/{session}/messages", json={"content": content})
            body = response.json()
            body.pop("session_id", None)
            transcript.append((response.status_code, body))
        history = client.get(f"/v1/sessions/{session}").json()
        history.pop("id")
        transcript.append(history)
        for request in [
            ("POST", f"/v1/sessions/{session}/messages", b"{"),
            ("POST", f"/v1/sessions/{session}/messages", b'{"content": 1}'),
            ("POST", f"/v1/sessions/{session}/messages", b'{"content": "[mock:status=500]"}'),
            ("GET", "/v1/sessions/missing", None),
        ]:
            response = client.request(request[0], request[1], content=request[2])
            transcript.append((response.status_code, response.json()["error"]["code"]))
        transcript.append(client.delete(f"/v1/sessions/{session}").status_code)
        return transcript


def test_runtimes_answer_identically(stack) -> None:
    transcripts = {runtime: conversation(url) for runtime, url in stack.agent_urls.items()}
    reference, *others = transcripts
    for other in others:
        assert transcripts[other] == transcripts[reference], f"{other} differs from {reference}"


def test_limits_applied(stack) -> None:
    from .conftest import AGENT_SERVICES

    for service in AGENT_SERVICES.values():
        containers = stack.docker.compose.ps(services=[service])
        assert containers, f"{service} is not running"
        host_config = containers[0].host_config
        assert host_config.nano_cpus == 250_000_000
        assert host_config.memory == 268_435_456
