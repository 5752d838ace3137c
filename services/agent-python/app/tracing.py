"""Langfuse tracing through the official SDK (PyPI `langfuse`, on OpenTelemetry).

The SDK batches spans and exports them from a background thread to LANGFUSE_BASE_URL
(or LANGFUSE_HOST). TRACING=off turns it off: no client is made and every call below is a
no-op.

The runtime counts the spans it hands to the SDK's processor (those the processor
exports; GET /tracing/stats) and can make the SDK export what it holds (POST
/tracing/flush), so a benchmark can check that every span reached the sink.
"""

from __future__ import annotations

import os
from typing import Any

from .span_count import SharedSpanCount

TRACING_ENABLED = os.environ.get("TRACING", "on").lower() not in ("off", "false", "0", "no")
# The sender's name in every export (the OTLP resource's `service.name`).
SERVICE_NAME = os.environ.get("OTEL_SERVICE_NAME") or "agent-python"


class _NoopObservation:
    def update(self, **_: Any) -> _NoopObservation:
        return self

    def end(self) -> None:
        pass

    def start_observation(self, **_: Any) -> _NoopObservation:
        return self


_NOOP = _NoopObservation()
_client = None


def _flush_client() -> None:
    if _client is not None:
        _client.flush()


# Every worker process of this runtime counts into the same directory.
_span_count = SharedSpanCount(_flush_client)


def _traced_client() -> Any:
    """A Langfuse client on a tracer provider of its own, whose finished spans are counted
    as they are handed to the Langfuse processor (if that processor exports them: its
    default filter, Langfuse's own spans and known LLM instrumentations)."""
    from langfuse import Langfuse
    from langfuse.span_filter import is_default_export_span
    from opentelemetry import trace
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider

    class CountingSpanProcessor(SpanProcessor):
        def on_end(self, span: ReadableSpan) -> None:
            if is_default_export_span(span):
                _span_count.add(1)

    provider = TracerProvider(resource=Resource.create({"service.name": SERVICE_NAME}))
    # Processors run in the order added: the count, then Langfuse's own.
    provider.add_span_processor(CountingSpanProcessor())
    # The global provider, as the client would set its own: other instrumentation (FastAPI's
    # own, when on) rides on it as it would without the count.
    trace.set_tracer_provider(provider)
    return Langfuse(tracer_provider=provider)


if TRACING_ENABLED:
    _client = _traced_client()
    _span_count.start()


def tracing_stats() -> dict[str, Any]:
    """The spans ended so far by every process of this runtime."""
    return {"spans_ended": _span_count.total(), "tracing": "on" if TRACING_ENABLED else "off"}


def flush_tracing() -> dict[str, Any]:
    """Export what the SDK holds now, in this process and (within a tick) in every other
    one. Blocks until this process's export ended: call it off the event loop."""
    _span_count.request_flush()
    _flush_client()
    return tracing_stats()


def start_turn_trace(session_id: str, content: str) -> Any:
    if _client is None:
        return _NOOP
    return _client.start_observation(
        name="agent-turn", as_type="agent", input=content, metadata={"sessionId": session_id}
    )


def shutdown_tracing() -> None:
    _span_count.stop()
    if _client is not None:
        _client.shutdown()
