"""Langfuse tracing through the official SDK (PyPI `langfuse`, on OpenTelemetry).

The SDK batches spans and exports them from a background thread to LANGFUSE_BASE_URL
(or LANGFUSE_HOST). TRACING=off turns it off: no client is made and every call below is a
no-op.
"""

from __future__ import annotations

import os
from typing import Any

TRACING_ENABLED = os.environ.get("TRACING", "on").lower() not in ("off", "false", "0", "no")


class _NoopObservation:
    def update(self, **_: Any) -> _NoopObservation:
        return self

    def end(self) -> None:
        pass

    def start_observation(self, **_: Any) -> _NoopObservation:
        return self


_NOOP = _NoopObservation()
_client = None

if TRACING_ENABLED:
    from langfuse import Langfuse

    _client = Langfuse()


def start_turn_trace(session_id: str, content: str) -> Any:
    if _client is None:
        return _NOOP
    return _client.start_observation(
        name="agent-turn", as_type="agent", input=content, metadata={"sessionId": session_id}
    )


def shutdown_tracing() -> None:
    if _client is not None:
        _client.shutdown()
