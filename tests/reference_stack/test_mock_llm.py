"""The mock LLM: OpenAI-compatible answers, a pure function of the request, with the
latency model it is configured with (20 ms to the first token, 1 ms per further token)."""

from __future__ import annotations

import json
import time

import httpx
import pytest

pytestmark = pytest.mark.docker

TOOLS = [
    {"type": "function", "function": {"name": "calculator", "parameters": {"type": "object"}}},
    {"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}},
]
TTFT_MS = 20
TOKEN_MS = 1


def chat(mock: httpx.Client, content: str, **extra) -> httpx.Response:
    body = {"model": "mock-gpt", "messages": [{"role": "user", "content": content}], **extra}
    return mock.post("/v1/chat/completions", json=body)


def test_healthz(mock: httpx.Client) -> None:
    assert mock.get("/healthz").status_code == 200


def test_plain_completion_shape(mock: httpx.Client) -> None:
    response = chat(mock, "hello")
    assert response.status_code == 200
    body = response.json()
    assert body["object"] == "chat.completion"
    choice = body["choices"][0]
    assert choice["finish_reason"] == "stop"
    assert choice["message"]["role"] == "assistant"
    words = choice["message"]["content"].split()
    usage = body["usage"]
    assert usage["completion_tokens"] == len(words)
    assert 12 <= len(words) <= 40
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


def test_same_request_same_answer_whatever_the_key_order(mock: httpx.Client) -> None:
    messages = [{"role": "user", "content": "deterministic please"}]
    first = chat(mock, "deterministic please").json()
    reordered = mock.post(
        "/v1/chat/completions",
        content=json.dumps(
            {
                "messages": [{"content": "deterministic please", "role": "user"}],
                "model": "mock-gpt",
            },
            indent=2,
        ),
    ).json()
    assert first["choices"] == reordered["choices"]
    assert first["usage"] == reordered["usage"]
    other = mock.post(
        "/v1/chat/completions", json={"model": "mock-gpt", "messages": messages + messages}
    ).json()
    assert other["choices"][0]["message"]["content"] != first["choices"][0]["message"]["content"]


def test_latency_model(mock: httpx.Client) -> None:
    chat(mock, "warm up")
    started = time.monotonic()
    response = chat(mock, "how long [mock:tokens=30]")
    elapsed_ms = (time.monotonic() - started) * 1000
    assert response.json()["usage"]["completion_tokens"] == 30
    expected = TTFT_MS + TOKEN_MS * 29
    assert expected <= elapsed_ms < expected + 150


def test_tool_call_answer(mock: httpx.Client) -> None:
    response = chat(mock, "please calculate 2*(3+4) and look up Paris", tools=TOOLS)
    choice = response.json()["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] is None
    calls = choice["message"]["tool_calls"]
    assert [c["function"]["name"] for c in calls] == ["calculator", "lookup"]
    assert json.loads(calls[0]["function"]["arguments"]) == {"expression": "2*(3+4)"}
    assert json.loads(calls[1]["function"]["arguments"]) == {"key": "Paris"}
    assert all(c["type"] == "function" and c["id"].startswith("call_") for c in calls)


def test_no_tool_call_without_tools(mock: httpx.Client) -> None:
    choice = chat(mock, "please calculate 2*(3+4)").json()["choices"][0]
    assert choice["finish_reason"] == "stop"
    assert "tool_calls" not in choice["message"]


def test_answer_after_tool_results_quotes_them(mock: httpx.Client) -> None:
    call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "calculator", "arguments": '{"expression": "2*3"}'},
    }
    body = {
        "messages": [
            {"role": "user", "content": "calculate 2*3"},
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "call_1", "content": "6"},
        ],
        "tools": TOOLS,
    }
    message = mock.post("/v1/chat/completions", json=body).json()["choices"][0]["message"]
    assert message["content"].startswith("Tool results: 6.")


def test_stream_matches_plain_answer(mock: httpx.Client) -> None:
    plain = chat(mock, "stream me").json()
    with mock.stream(
        "POST",
        "/v1/chat/completions",
        json={
            "model": "mock-gpt",
            "messages": [{"role": "user", "content": "stream me"}],
            "stream": True,
            "stream_options": {"include_usage": True},
        },
    ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = list(response.iter_lines())
    events = [line[len("data: ") :] for line in lines if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text == plain["choices"][0]["message"]["content"]
    finish = [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]]
    assert finish[-1] == "stop"
    assert chunks[-1]["usage"] == plain["usage"]


def test_streamed_tool_call(mock: httpx.Client) -> None:
    with mock.stream(
        "POST",
        "/v1/chat/completions",
        json={
            "messages": [{"role": "user", "content": "look up Rome"}],
            "tools": TOOLS,
            "stream": True,
        },
    ) as response:
        events = [line[6:] for line in response.iter_lines() if line.startswith("data: ")]
    chunks = [json.loads(e) for e in events[:-1]]
    delta = chunks[0]["choices"][0]["delta"]
    assert delta["tool_calls"][0]["index"] == 0
    assert delta["tool_calls"][0]["function"]["name"] == "lookup"
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"


def test_errors(mock: httpx.Client) -> None:
    assert mock.post("/v1/chat/completions", content=b"{nope").status_code == 400
    assert mock.post("/v1/chat/completions", json={"messages": []}).status_code == 400
    failed = chat(mock, "fail [mock:status=503]")
    assert failed.status_code == 503
    assert failed.json()["error"]["type"] == "server_error"


def test_sink_counts_otlp_json(mock: httpx.Client) -> None:
    before = mock.get("/sink/stats").json()
    payload = {
        "resourceSpans": [
            {
                "scopeSpans": [
                    {
                        "spans": [
                            {"traceId": "a" * 32, "spanId": "b" * 16, "name": "probe-root"},
                            {
                                "traceId": "a" * 32,
                                "spanId": "c" * 16,
                                "parentSpanId": "b" * 16,
                                "name": "probe-child",
                            },
                        ]
                    }
                ]
            }
        ]
    }
    response = mock.post(
        "/api/public/otel/v1/traces",
        json=payload,
        headers={"authorization": "Basic cGs6c2s=", "x-langfuse-sdk-name": "probe"},
    )
    assert response.status_code == 200
    after = mock.get("/sink/stats").json()
    assert after["spans"] - before["spans"] == 2
    assert after["traces"] - before["traces"] == 1
    assert after["by_sdk"]["probe"] >= 1
    assert (
        mock.post(
            "/api/public/otel/v1/traces",
            content=b"\xff\x00garbage",
            headers={"content-type": "application/x-protobuf"},
        ).status_code
        == 400
    )
