"""The span-delivery check's reading of the counts and its wait for the sink, against
services that answer from a script (the real runtimes and sink: tests/load/
test_measurement_truth.py and tests/capacity/test_capacity_spans_docker.py)."""

from __future__ import annotations

import pytest
import yaml

from conftest import REPO
from tierbench.load.span_delivery import (
    SpanCheck,
    SpanCounter,
    SpanDeliveryError,
    SpanDeliverySettings,
    count_at,
)

CONFIG = yaml.safe_load((REPO / "config" / "config.yaml").read_text())["span_delivery"]
SETTINGS = SpanDeliverySettings.from_config(CONFIG)
RUNTIME_PORT = 8081


class Scripted:
    """A runtime and a sink whose counts follow a script, one step per sink reading; a
    fake clock that advances with each sleep."""

    def __init__(self, ended: list[int], received: list[int]):
        self.ended, self.received, self.reads, self.flushes, self.now = ended, received, 0, 0, 0.0

    def at(self, script: list[int]) -> int:
        return script[min(self.reads, len(script) - 1)]

    def fetch(self, port: int, method: str, path: str) -> dict:
        if port == RUNTIME_PORT:
            self.flushes += method == "POST"
            return {"spans_ended": self.at(self.ended), "tracing": "on"}
        received = self.at(self.received)
        self.reads += 1
        return {"spans_by_service": {"agent-ts": received} if received else {}}

    def counter(self) -> SpanCounter:
        def sleep(seconds: float) -> None:
            self.now += seconds

        return SpanCounter(SETTINGS, self.fetch, RUNTIME_PORT, "agent-ts", lambda: self.now, sleep)


def test_the_reference_config_reads_the_runtime_and_the_sink():
    assert SETTINGS.stats_path == "/tracing/stats" and SETTINGS.flush_path == "/tracing/flush"
    assert SETTINGS.sink_port == 8090 and SETTINGS.sink_count_key == "spans_by_service.{service}"
    assert SpanDeliverySettings.from_config(None) is None


def test_every_span_delivered_ends_the_wait_at_once():
    script = Scripted(ended=[5, 25, 25], received=[0, 20, 20])
    counter = script.counter()
    before = counter.mark()
    delivery = counter.delivered_since(before)
    assert (delivery.expected, delivery.received, delivery.lost) == (20, 20, 0)
    assert script.flushes == 1 and delivery.waited_s == 0


def test_a_sink_that_stops_short_is_final_once_unchanged_for_the_settle_time():
    script = Scripted(ended=[0, 30], received=[0, 10, 18, 18])
    counter = script.counter()
    delivery = counter.delivered_since(counter.mark())
    assert delivery.as_record() == {"spans_expected": 30, "spans_received": 18, "spans_lost": 12}
    assert SETTINGS.settle_s <= delivery.waited_s < SETTINGS.settle_s + 0.5


def test_a_span_ended_after_the_flush_asks_for_another():
    script = Scripted(ended=[0, 10, 12, 12, 12], received=[0, 0, 0, 12, 12])
    counter = script.counter()
    delivery = counter.delivered_since(counter.mark())
    assert delivery.lost == 0 and script.flushes == 2


def test_an_ended_count_that_lags_the_sink_is_read_again_until_they_agree():
    """With several worker processes, one process's count reaches the others a tick after
    its spans may have reached the sink (recorded in a real run: 2,451 ended, 2,453
    received at the first reading): the wait goes on until the counts agree."""
    script = Scripted(ended=[0, 2451, 2451, 2453], received=[0, 2453, 2453, 2453])
    counter = script.counter()
    delivery = counter.delivered_since(counter.mark())
    assert (delivery.expected, delivery.received) == (2453, 2453)
    assert delivery.waited_s < SETTINGS.settle_s


@pytest.mark.parametrize(
    ("data", "key", "missing", "message"),
    [
        ({"spans": 3}, "spans_ended", None, "has no `spans_ended`"),
        ({"spans_ended": "3"}, "spans_ended", None, "is '3', not a count"),
        ({"spans_ended": -1}, "spans_ended", None, "is -1, not a count"),
        ({"spans_ended": True}, "spans_ended", None, "is True, not a count"),
    ],
)
def test_a_count_that_is_not_one_is_refused_with_what_was_answered(data, key, missing, message):
    with pytest.raises(SpanDeliveryError, match=message.replace("(", r"\(")):
        count_at(data, key, "agent-ts /tracing/stats", missing)


def test_nested_keys_and_a_service_the_sink_has_not_heard_of():
    assert count_at({"a": {"b": 7}}, "a.b", "x", None) == 7
    assert count_at({"spans_by_service": {}}, "spans_by_service.agent-ts", "x", 0) == 0


def test_a_runtime_without_the_count_leaves_the_check_without_result_and_says_why():
    def fetch(port: int, method: str, path: str) -> dict:
        raise OSError("HTTP Error 404: Not Found")

    check = SpanCheck(SpanCounter(SETTINGS, fetch, RUNTIME_PORT, "agent-ts"))
    check.start()
    assert check.finish() is None
    assert "did not answer: HTTP Error 404" in (check.warning() or "")
    assert SpanCheck(None).warning() is None
