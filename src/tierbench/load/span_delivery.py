"""Whether the spans a runtime ended reached its trace sink (the config's `span_delivery`).

A tracing SDK batches spans and exports them in the background; when the CPU is
saturated it may drop batches, and a runtime that drops its spans does less work and looks
faster. Before a load the runtime's count of ended spans and the sink's count for the
runtime's service are read (`SpanCounter.mark`); after it the runtime is asked to flush
and both are read again until the sink has every span or its count stopped changing
(`SpanCounter.delivered_since`). A project without tracing leaves the key out: nothing is
checked.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

# Between two readings while waiting for the sink.
POLL_S = 0.1

# (port on 127.0.0.1, method, path) -> the JSON object the service answered.
Fetch = Callable[[int, str, str], Mapping[str, Any]]


class SpanDeliveryError(RuntimeError):
    """A count could not be read; the message says which and why."""


@dataclass(frozen=True)
class SpanDeliverySettings:
    """Where a runtime's ended-span count and flush are, and the sink's per-service count."""

    stats_path: str
    count_key: str
    flush_path: str | None
    sink_port: int
    sink_path: str
    sink_count_key: str  # dotted; `{service}` is the runtime's Compose service
    settle_s: float = 0.5
    timeout_s: float = 10.0

    @classmethod
    def from_config(cls, config: Mapping[str, Any] | None) -> SpanDeliverySettings | None:
        """The settings of a validated config's `span_delivery` key; None when absent."""
        if not config:
            return None
        runtime, sink = config["runtime"], config["sink"]
        return cls(
            stats_path=runtime["stats_path"],
            count_key=runtime["count_key"],
            flush_path=runtime.get("flush_path"),
            sink_port=int(sink["port"]),
            sink_path=sink["stats_path"],
            sink_count_key=sink["count_key"],
            settle_s=float(config.get("settle_s", 0.5)),
            timeout_s=float(config.get("timeout_s", 10.0)),
        )


def count_at(data: Mapping[str, Any], dotted_key: str, where: str, missing: int | None) -> int:
    """The whole number at a dotted key of a JSON object. A key that is not there is
    `missing` (a sink that has not heard of a service yet), or an error when None."""
    value: Any = data
    for part in dotted_key.split("."):
        if not isinstance(value, Mapping) or part not in value:
            if missing is not None:
                return missing
            raise SpanDeliveryError(f"{where} has no `{dotted_key}` (answered {dict(data)!r:.200})")
        value = value[part]
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise SpanDeliveryError(f"{where}: `{dotted_key}` is {value!r}, not a count")
    return int(value)


@dataclass(frozen=True)
class SpanMark:
    """The two counts at one instant."""

    ended: int  # the runtime's spans ended
    received: int  # the sink's spans from this runtime's service


@dataclass(frozen=True)
class SpanDelivery:
    """Spans ended by the runtime during a load, and those the sink received of them."""

    expected: int
    received: int
    waited_s: float  # after the load, until the sink's count was final

    @property
    def lost(self) -> int:
        return max(0, self.expected - self.received)

    def as_record(self) -> dict[str, int]:
        """The fields a cell's meta and a capacity step record."""
        return {
            "spans_expected": self.expected,
            "spans_received": self.received,
            "spans_lost": self.lost,
        }

    def line(self) -> str:
        verdict = "all delivered" if not self.lost else f"{self.lost} LOST"
        return (
            f"spans: {self.expected} ended, {self.received} reached the sink ({verdict}; "
            f"waited {self.waited_s:.1f} s)"
        )


class SpanCounter:
    """Reads one runtime's ended-span count and the sink's count for its service."""

    def __init__(
        self,
        settings: SpanDeliverySettings,
        fetch: Fetch,
        runtime_port: int,
        service: str,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.settings, self.fetch = settings, fetch
        self.runtime_port, self.service = runtime_port, service
        self.clock, self.sleep = clock, sleep

    def _json(self, port: int, method: str, path: str, what: str) -> Mapping[str, Any]:
        try:
            data = self.fetch(port, method, path)
        except (OSError, ValueError) as error:
            raise SpanDeliveryError(
                f"{what} ({method} 127.0.0.1:{port}{path}) did not answer: {error}"
            ) from None
        if not isinstance(data, Mapping):
            raise SpanDeliveryError(f"{what} ({path}) answered {data!r:.200}, not a JSON object")
        return data

    def mark(self) -> SpanMark:
        s = self.settings
        runtime = self._json(self.runtime_port, "GET", s.stats_path, f"{self.service}'s span count")
        sink = self._json(s.sink_port, "GET", s.sink_path, "the trace sink")
        sink_key = s.sink_count_key.replace("{service}", self.service)
        return SpanMark(
            ended=count_at(runtime, s.count_key, f"{self.service} {s.stats_path}", None),
            received=count_at(sink, sink_key, f"the sink's {s.sink_path}", 0),
        )

    def flush(self) -> None:
        path = self.settings.flush_path
        if path:
            self._json(self.runtime_port, "POST", path, f"{self.service}'s tracing flush")

    def delivered_since(self, before: SpanMark) -> SpanDelivery:
        """Flush the runtime, then read both counts until the sink received as many spans
        as were ended since `before`, or the counts stayed unchanged for `settle_s`, at
        most `timeout_s`. A span ended after the flush asks for another."""
        settings, started = self.settings, self.clock()
        self.flush()
        flushed = last = self.mark()
        changed_at = self.clock()
        while True:
            now = last
            # Equal, not at least: with several processes, the ended count of one lags its
            # export by up to a tick, and the next reading catches up.
            if now.received - before.received == now.ended - before.ended:
                break
            if self.clock() - changed_at >= settings.settle_s:
                break
            if self.clock() - started >= settings.timeout_s:
                break
            self.sleep(POLL_S)
            if last.ended != flushed.ended:
                self.flush()
                flushed = last
            last = self.mark()
            if last != now:
                changed_at = self.clock()
        return SpanDelivery(
            expected=last.ended - before.ended,
            received=last.received - before.received,
            waited_s=self.clock() - started,
        )


class ReachesServices(Protocol):
    reaches_services: bool

    def service_json(self, port: int, method: str, path: str) -> Mapping[str, Any]: ...


def span_counter(
    config: Mapping[str, Any], backend: ReachesServices, port: int, service: str
) -> SpanCounter | None:
    """The counter for one runtime, or None when the config checks no span delivery or
    the backend cannot reach the runtime and the sink from here."""
    settings = SpanDeliverySettings.from_config(config.get("span_delivery"))
    if settings is None or not backend.reaches_services:
        return None
    return SpanCounter(settings, backend.service_json, port, service)


class SpanCheck:
    """One load's check: `start` before it, `finish` after it. A count that cannot be
    read leaves the check without a result and says why in `problem`."""

    def __init__(self, counter: SpanCounter | None):
        self.counter = counter
        self.before: SpanMark | None = None
        self.problem: str | None = None

    def start(self) -> None:
        if self.counter is None:
            return
        try:
            self.before = self.counter.mark()
        except SpanDeliveryError as error:
            self.problem = str(error)

    def finish(self, runtime_running: bool = True) -> SpanDelivery | None:
        """The delivery since `start`; None when not checked, or when the runtime is no
        longer running (its spans died with it: the cell's failure says so already)."""
        if self.counter is None or self.before is None or not runtime_running:
            return None
        try:
            return self.counter.delivered_since(self.before)
        except SpanDeliveryError as error:
            self.problem = str(error)
            return None

    def warning(self) -> str | None:
        if self.problem is None:
            return None
        return (
            f"The spans' delivery could not be checked ({self.problem}): check the config's "
            "`span_delivery` paths and keys against the runtime and the sink."
        )
