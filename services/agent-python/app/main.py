"""Reference agent runtime on FastAPI (uvicorn with uvloop and httptools).

The HTTP contract is services/agent-api.openapi.yaml; services/agent-ts implements the same
contract on Bun. Bodies are parsed here rather than by FastAPI's models so that malformed
input, error bodies and their order of checks match the other runtime exactly.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections import OrderedDict
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import httpx
import orjson
from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from .switches import FASTAPI_TELEMETRY, LLM_CLIENT
from .tools import TOOL_DEFINITIONS, run_tool
from .tracing import (
    TRACING_ENABLED,
    flush_tracing,
    shutdown_tracing,
    start_turn_trace,
    tracing_stats,
)
from .workers import worker_count

PORT = int(os.environ.get("PORT", "8082"))
HOST = os.environ.get("HOST", "127.0.0.1")
LLM_BASE_URL = os.environ.get("LLM_BASE_URL", "http://127.0.0.1:8090/v1").rstrip("/")
LLM_MODEL = os.environ.get("LLM_MODEL", "mock-gpt")
LLM_API_KEY = os.environ.get("LLM_API_KEY", "not-needed")
LLM_TIMEOUT_S = float(os.environ.get("LLM_TIMEOUT_MS", "30000")) / 1000
SESSION_TTL_S = float(os.environ.get("SESSION_TTL_S", "300"))
SESSION_MAX = int(os.environ.get("SESSION_MAX", "10000"))
SESSION_MAX_TURNS = int(os.environ.get("SESSION_MAX_TURNS", "50"))
MAX_BODY_BYTES = int(os.environ.get("MAX_BODY_BYTES", "65536"))
MAX_TOOL_ROUNDS = int(os.environ.get("MAX_TOOL_ROUNDS", "3"))
SYSTEM_PROMPT = "You are a helpful assistant. Use the tools when they help."
WORKERS = worker_count()


class HttpError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def json_response(payload: Any, status: int = 200, headers: dict | None = None) -> Response:
    return Response(
        orjson.dumps(payload), status_code=status, media_type="application/json", headers=headers
    )


def error_response(status: int, code: str, message: str, headers: dict | None = None) -> Response:
    return json_response({"error": {"code": code, "message": message}}, status, headers)


# -----------------------------------------------------------------------------------------
# Sessions: an OrderedDict kept in least-recently-used order, bounded by a TTL and a cap.


@dataclass
class Session:
    id: str
    messages: list[dict] = field(default_factory=list)
    turns: int = 0
    expires_at: float = 0.0


sessions: OrderedDict[str, Session] = OrderedDict()


def touch(session: Session) -> None:
    session.expires_at = time.monotonic() + SESSION_TTL_S
    sessions[session.id] = session
    sessions.move_to_end(session.id)


def find_session(session_id: str) -> Session:
    session = sessions.get(session_id)
    if session is None or session.expires_at <= time.monotonic():
        sessions.pop(session_id, None)
        raise HttpError(404, "session_not_found", f"no session '{session_id}'")
    touch(session)
    return session


def create_session() -> Session:
    session = Session(id=str(uuid.uuid4()))
    touch(session)
    while len(sessions) > SESSION_MAX:
        sessions.popitem(last=False)
    return session


def evict_expired() -> None:
    now = time.monotonic()
    while sessions:
        oldest = next(iter(sessions.values()))
        if oldest.expires_at > now:
            break  # oldest first: the rest are newer
        sessions.popitem(last=False)


async def evict_periodically() -> None:
    while True:
        await asyncio.sleep(5)
        evict_expired()


# -----------------------------------------------------------------------------------------
# Request bodies


async def read_json_body(request: Request, optional: bool) -> Any:
    too_large = HttpError(413, "body_too_large", f"request body exceeds {MAX_BODY_BYTES} bytes")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise too_large
    if not body and optional:
        return {}
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        raise HttpError(400, "invalid_json", "request body is not valid JSON") from None


def require_object(body: Any) -> dict:
    if not isinstance(body, dict):
        raise HttpError(422, "invalid_request", "request body must be a JSON object")
    return body


# -----------------------------------------------------------------------------------------
# The LLM


LlmClient = aiohttp.ClientSession | httpx.AsyncClient


async def post_llm(
    client: LlmClient, url: str, body: bytes, headers: dict[str, str]
) -> tuple[int, bytes]:
    """POST one chat completion with either client; its status and whole body."""
    if isinstance(client, httpx.AsyncClient):
        response = await client.post(url, content=body, headers=headers)
        return response.status_code, response.content
    async with client.post(url, data=body, headers=headers) as response:
        return response.status, await response.read()


def open_llm_client() -> LlmClient:
    if LLM_CLIENT == "httpx":
        # As the OpenAI Python SDK makes its client when given none (openai-python,
        # src/openai/_base_client.py `_DefaultAsyncHttpxClient`, src/openai/_constants.py):
        # DEFAULT_TIMEOUT = httpx.Timeout(timeout=600, connect=5.0),
        # DEFAULT_CONNECTION_LIMITS = httpx.Limits(max_connections=1000,
        # max_keepalive_connections=100) (httpx's keep-alive expiry, 5 s), and
        # follow_redirects=True. LLM_TIMEOUT_MS still bounds each call, as with aiohttp.
        return httpx.AsyncClient(
            timeout=httpx.Timeout(timeout=600, connect=5.0),
            limits=httpx.Limits(max_connections=1000, max_keepalive_connections=100),
            follow_redirects=True,
        )
    # aiohttp rather than httpx: httpx's pool (httpcore 1.0) scans every connection for each
    # idle one on every request, so a call costs more the more connections a burst opened,
    # and stays so while they are kept alive; aiohttp's cost per call does not grow with them.
    connector = aiohttp.TCPConnector(limit=256, keepalive_timeout=60)
    return aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=None))


async def close_llm_client(client: LlmClient) -> None:
    if isinstance(client, httpx.AsyncClient):
        await client.aclose()
    else:
        await client.close()


async def call_llm(client: LlmClient, messages: list[dict]) -> dict:
    payload = {
        "model": LLM_MODEL,
        "messages": [{"role": "system", "content": SYSTEM_PROMPT}, *messages],
        "tools": TOOL_DEFINITIONS,
    }
    timeout_error = HttpError(
        504, "upstream_timeout", f"the LLM did not answer within {LLM_TIMEOUT_S * 1000:.0f} ms"
    )
    try:
        async with asyncio.timeout(LLM_TIMEOUT_S):
            status, body = await post_llm(
                client,
                f"{LLM_BASE_URL}/chat/completions",
                orjson.dumps(payload),
                {"content-type": "application/json", "authorization": f"Bearer {LLM_API_KEY}"},
            )
    except TimeoutError:
        raise timeout_error from None
    except httpx.TimeoutException as error:
        # httpx's own timeouts (the SDK's 5 s to connect) can end a call before
        # LLM_TIMEOUT_MS does; aiohttp's client has none, so there the call waits for it.
        raise HttpError(
            504, "upstream_timeout", f"the LLM did not answer in time: {error!r}"
        ) from None
    except (aiohttp.ClientError, httpx.HTTPError, httpx.InvalidURL) as error:
        raise HttpError(502, "upstream_error", f"the LLM could not be reached: {error}") from None
    try:
        answer = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise HttpError(
            502, "upstream_error", f"the LLM answered {status} with a body that is not JSON"
        ) from None
    if not 200 <= status < 300:
        raise HttpError(502, "upstream_error", f"the LLM answered {status}")
    try:
        message = answer["choices"][0]["message"]
        if not isinstance(message, dict):
            raise TypeError
    except (KeyError, IndexError, TypeError):
        raise HttpError(502, "upstream_error", "the LLM answer has no choices[0].message") from None
    usage = answer.get("usage") or {}
    content = message.get("content")
    return {
        "content": content if isinstance(content, str) else None,
        "tool_calls": message.get("tool_calls"),
        "prompt_tokens": int(usage.get("prompt_tokens") or 0),
        "completion_tokens": int(usage.get("completion_tokens") or 0),
    }


# -----------------------------------------------------------------------------------------
# One conversation turn: LLM, tools when asked, LLM again.


async def send_message(client: LlmClient, session: Session, content: str) -> dict:
    if session.turns >= SESSION_MAX_TURNS:
        raise HttpError(409, "session_full", f"session has reached {SESSION_MAX_TURNS} turns")
    trace = start_turn_trace(session.id, content)
    turn: list[dict] = [{"role": "user", "content": content}]
    tool_calls: list[dict] = []
    usage = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
    llm_calls = 0
    try:
        while True:
            conversation = [*session.messages, *turn]
            generation = trace.start_observation(
                name="llm-call", as_type="generation", model=LLM_MODEL, input=conversation
            )
            try:
                completion = await call_llm(client, conversation)
            except HttpError as error:
                generation.update(level="ERROR", status_message=error.message)
                generation.end()
                raise
            llm_calls += 1
            usage["prompt_tokens"] += completion["prompt_tokens"]
            usage["completion_tokens"] += completion["completion_tokens"]
            generation.update(
                output={"content": completion["content"], "tool_calls": completion["tool_calls"]},
                usage_details={
                    "input": completion["prompt_tokens"],
                    "output": completion["completion_tokens"],
                },
            )
            generation.end()

            calls = completion["tool_calls"] if isinstance(completion["tool_calls"], list) else []
            if not calls:
                turn.append({"role": "assistant", "content": completion["content"] or ""})
                break
            if llm_calls > MAX_TOOL_ROUNDS:
                raise HttpError(
                    502,
                    "upstream_error",
                    f"the LLM asked for tools more than {MAX_TOOL_ROUNDS} times",
                )
            requested = []
            for call in calls:
                call = call if isinstance(call, dict) else {}
                function = call.get("function") if isinstance(call.get("function"), dict) else {}
                requested.append(
                    {
                        "id": str(call.get("id", "")),
                        "type": "function",
                        "function": {
                            "name": str(function.get("name", "")),
                            "arguments": str(function.get("arguments", "")),
                        },
                    }
                )
            turn.append({"role": "assistant", "content": None, "tool_calls": requested})
            for call in requested:
                name = call["function"]["name"]
                arguments = call["function"]["arguments"]
                span = trace.start_observation(name="tool", as_type="tool", input=call["function"])
                result = run_tool(name, arguments)
                span.update(output=result)
                span.end()
                try:
                    parsed = orjson.loads(arguments)
                except orjson.JSONDecodeError:
                    parsed = arguments
                tool_calls.append(
                    {"id": call["id"], "name": name, "arguments": parsed, "result": result}
                )
                turn.append({"role": "tool", "tool_call_id": call["id"], "content": result})
    except HttpError as error:
        trace.update(level="ERROR", status_message=error.message)
        trace.end()
        raise
    usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
    session.messages.extend(turn)
    session.turns += 1
    reply = turn[-1]
    trace.update(output=reply["content"])
    trace.end()
    return {
        "session_id": session.id,
        "message": {"role": "assistant", "content": reply["content"]},
        "tool_calls": tool_calls,
        "usage": usage,
        "llm_calls": llm_calls,
    }


# -----------------------------------------------------------------------------------------
# Application


@asynccontextmanager
async def lifespan(app: FastAPI):
    app.state.llm = open_llm_client()
    evictor = asyncio.create_task(evict_periodically())
    print(
        f"agent-python listening on http://{HOST}:{PORT} "
        f"(LLM {LLM_BASE_URL} through {LLM_CLIENT}, tracing {'on' if TRACING_ENABLED else 'off'}, "
        f"FastAPI telemetry {FASTAPI_TELEMETRY})",
        flush=True,
    )
    try:
        yield
    finally:
        evictor.cancel()
        await close_llm_client(app.state.llm)
        shutdown_tracing()


# FastAPI's own OpenTelemetry spans (HTTP requests, dependency resolution, endpoints,
# serialization) are off unless FASTAPI_TELEMETRY=on: they would ride on the global tracer
# provider the Langfuse client sets, pass through its span processor on every request, and
# never be exported (Langfuse exports its own observations only). The runtime traces what
# the Bun runtime traces: each agent turn, its LLM generations and its tool calls.
#
# FASTAPI_TELEMETRY=on passes no `telemetry` argument, FastAPI's default (0.163): tracing,
# metrics and logs on, each acting once a global provider for it is set. With TRACING=on
# the global tracer provider is the one Langfuse exports through, so every request gets a
# server span (`GET /healthz`) and operation spans (`fastapi.dependencies`,
# `fastapi.endpoint`), each handed to Langfuse's span processor and dropped by its export
# filter. No meter or logger provider is set, so no metrics or logs are recorded
# (FASTAPI_OTEL_AUTO_CONFIGURE, unset, would add OTLP exporters). With TRACING=off no
# provider is set and FastAPI's telemetry does nothing either way.
app = FastAPI(
    lifespan=lifespan,
    docs_url=None,
    redoc_url=None,
    openapi_url=None,
    telemetry=None if FASTAPI_TELEMETRY == "on" else {"tracing": False},
)


@app.exception_handler(HttpError)
async def on_http_error(_: Request, error: HttpError) -> Response:
    return error_response(error.status, error.code, error.message, error.headers)


@app.exception_handler(StarletteHTTPException)
async def on_routing_error(request: Request, error: StarletteHTTPException) -> Response:
    if error.status_code == 405:
        allow = (error.headers or {}).get("Allow", "")
        return error_response(
            405, "method_not_allowed", f"method not allowed; allowed: {allow}", {"allow": allow}
        )
    if error.status_code == 404:
        return error_response(404, "not_found", f"no route for {request.url.path}")
    return error_response(error.status_code, "http_error", str(error.detail))


@app.exception_handler(Exception)
async def on_unexpected_error(_: Request, error: Exception) -> Response:
    print(f"unexpected error: {error!r}", flush=True)
    return error_response(500, "internal_error", "unexpected error")


@app.get("/healthz")
async def healthz() -> Response:
    return json_response({"status": "ok", "workers": WORKERS})


@app.get("/tracing/stats")
async def get_tracing_stats() -> Response:
    return json_response(tracing_stats())


@app.post("/tracing/flush")
async def post_tracing_flush() -> Response:
    return json_response(await asyncio.to_thread(flush_tracing))


@app.post("/v1/sessions")
async def post_session(request: Request) -> Response:
    require_object(await read_json_body(request, optional=True))
    session = create_session()
    return json_response({"id": session.id}, 201)


@app.post("/v1/sessions/{session_id}/messages")
async def post_message(session_id: str, request: Request) -> Response:
    session = find_session(session_id)
    body = require_object(await read_json_body(request, optional=False))
    content = body.get("content")
    if not isinstance(content, str):
        raise HttpError(422, "invalid_request", "'content' is required and must be a string")
    if not content:
        raise HttpError(422, "invalid_request", "'content' must not be empty")
    return json_response(await send_message(request.app.state.llm, session, content))


@app.get("/v1/sessions/{session_id}")
async def get_session(session_id: str) -> Response:
    session = find_session(session_id)
    return json_response({"id": session.id, "messages": session.messages})


@app.delete("/v1/sessions/{session_id}")
async def delete_session(session_id: str) -> Response:
    find_session(session_id)
    sessions.pop(session_id, None)
    return Response(status_code=204)


def main() -> None:
    import uvicorn

    # The workers share the listening socket; the kernel hands each new connection to one
    # of them, and a connection's requests stay with it, so a client that keeps its
    # connection (as k6 does, per VU) meets its sessions in the same worker.
    os.environ["WORKERS"] = str(WORKERS)
    uvicorn.run(
        "app.main:app" if WORKERS > 1 else app,
        host=HOST,
        port=PORT,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
        workers=WORKERS,
    )


if __name__ == "__main__":
    main()
