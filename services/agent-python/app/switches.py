"""The runtime's two switches, read once at start. main.py imports this module before the
tracing client is made, so an unknown value stops the process before anything starts:
exit status 1, with a message on stderr naming the variable and the values it takes.

- LLM_CLIENT: how the LLM is called, `aiohttp` (the default) or `httpx`, an
  httpx.AsyncClient set up as the OpenAI Python SDK sets up its own (main.open_llm_client).
- FASTAPI_TELEMETRY: FastAPI's own OpenTelemetry instrumentation, `off` (the default) or
  `on`, FastAPI's default (main.app).
"""

from __future__ import annotations

import os


def switch(variable: str, default: str, allowed: tuple[str, ...]) -> str:
    value = os.environ.get(variable, default)
    if value.strip().lower() not in allowed:
        raise SystemExit(
            f"agent-python: {variable}={value!r} is not a value it takes; "
            f"use one of: {', '.join(allowed)}"
        )
    return value.strip().lower()


LLM_CLIENT = switch("LLM_CLIENT", "aiohttp", ("aiohttp", "httpx"))
FASTAPI_TELEMETRY = switch("FASTAPI_TELEMETRY", "off", ("off", "on"))
