"""A step judged from k6's summary of its hold gives the figures its raw data gives.

One real k6 run of an open-model step, with the wrapper's hold tag and sub-metrics and
with the raw data written too, against a small HTTP server on loopback: k6's summary of
the hold must equal what the same run's raw data says of the iterations it tagged, and
come within the hold's edge of what the raw data says of the requests started in the
hold's window (the way a step is cut when judged from raw data).
"""

from __future__ import annotations

import gzip
import json
import math
import threading
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import polars as pl
import pytest

from tierbench.capacity.openmodel import HOLD_TAG, HoldSummary, StepLoad, write_wrapper
from tierbench.capacity.settings import CapacitySettings, SloRequests
from tierbench.capacity.steps import measure_step, raw_figures, summary_figures
from tierbench.load.k6 import run_k6
from tierbench.tidy.k6_json import scan_metrics, scan_requests, tidy_k6_json

# Two named requests an iteration; the second answers 404 every third time (k6 counts it
# failed), so the error rate is neither 0 nor 1.
SCRIPT = """
import http from "k6/http";
export default function () {
  http.get(`${__ENV.BASE_URL}/turn`, { tags: { name: "turn" } });
  http.get(`${__ENV.BASE_URL}/check`, { tags: { name: "check" } });
}
"""
STEP = StepLoad("s02_step", 40.0, 1.5, 3.0, 20, 100, 1.0)
SETTINGS = CapacitySettings(percentile=95.0, slo_requests=SloRequests("name", ("turn",)))


class Handler(BaseHTTPRequestHandler):
    calls = 0

    def do_GET(self):  # noqa: N802 (the standard library's name)
        Handler.calls += 1
        status = 404 if self.path == "/check" and Handler.calls % 3 == 0 else 200
        body = b"x" * 200
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def step_run(tmp_path_factory):
    """(k6's summary, the tagged raw points, the tidied raw data, when the load began)."""
    directory = tmp_path_factory.mktemp("summary-step")
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        (directory / "user.js").write_text(SCRIPT)
        hold = HoldSummary(SETTINGS.percentile, ("name", "turn"), ("check", "turn"))
        script = write_wrapper(directory / "step.js", directory / "user.js", STEP, hold)
        raw, summary = directory / "raw.json.gz", directory / "summary.json"
        k6 = run_k6(
            script,
            None,
            f"http://127.0.0.1:{server.server_address[1]}",
            raw,
            summary,
            directory / "k6.log",
        )
    finally:
        server.shutdown()
    points = [json.loads(line) for line in gzip.decompress(raw.read_bytes()).splitlines()]
    requests_path = directory / "requests.parquet"
    tidy_k6_json(raw, requests_path, directory / "metrics.parquet")
    tidied = (scan_requests(requests_path), scan_metrics(directory / "metrics.parquet"))
    return json.loads(summary.read_text()), points, tidied, k6.started_at, hold


def k6_percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    index = p / 100 * (len(ordered) - 1)
    low, high = math.floor(index), math.ceil(index)
    return ordered[low] + (ordered[high] - ordered[low]) * (index - low)


def tagged(points: list[dict], metric: str, **tags: str) -> list[float]:
    return [
        p["data"]["value"]
        for p in points
        if p.get("type") == "Point"
        and p["metric"] == metric
        and p["data"]["tags"].get(HOLD_TAG) == "yes"
        and all(p["data"]["tags"].get(k) == v for k, v in tags.items())
    ]


def test_the_summary_of_the_hold_is_what_the_raw_data_says_of_its_tagged_iterations(step_run):
    summary, points, _, _, hold = step_run
    figures = summary_figures(summary, hold, SETTINGS)
    durations = tagged(points, "http_req_duration")
    failed = tagged(points, "http_req_failed")
    iterations = tagged(points, "iteration_duration")
    # The hold's 3 s at 40 iterations/s, two requests each.
    assert 100 <= len(iterations) <= 140 and len(durations) == 2 * len(iterations)
    assert figures["requests"] == len(durations)
    assert figures["iterations"] == len(iterations)
    for key, p in (("p50_ms", 50), ("p90_ms", 90), ("p95_ms", 95), ("p99_ms", 99)):
        assert figures[key] == pytest.approx(k6_percentile(durations, p), rel=1e-9), key
    turns = tagged(points, "http_req_duration", name="turn")
    assert figures["slo_requests"] == len(turns)
    assert figures["percentile_ms"] == pytest.approx(k6_percentile(turns, 95), rel=1e-9)
    assert figures["p99_ms_by_name"] == {
        "turn": pytest.approx(k6_percentile(turns, 99), rel=1e-9),
        "check": pytest.approx(
            k6_percentile(tagged(points, "http_req_duration", name="check"), 99), rel=1e-9
        ),
    }
    assert figures["max_ms"] == pytest.approx(max(durations))
    assert 0 < figures["error_rate"] == pytest.approx(sum(failed) / len(failed))
    assert figures["iteration_p99_ms"] == pytest.approx(k6_percentile(iterations, 99), rel=1e-9)
    assert figures["dropped"] in (None, 0) and figures["vus_max"] >= 20


def test_the_summary_of_the_hold_agrees_with_the_raw_datas_window(step_run):
    """Cut by the hold's window (raw data) or by the iterations started in the hold
    (summary), a step counts the same requests but for the few at the edge. The window is
    placed on k6's clock (the first iteration's start), so that a slow start of k6 on a
    busy host does not move it; the production path places it from tierbench's clock,
    which tests/load/test_measurement_truth.py holds to k6's."""
    summary, points, (requests, metrics), _, hold = step_run
    first = min(
        datetime.fromisoformat(p["data"]["time"]) - timedelta(milliseconds=p["data"]["value"])
        for p in points
        if p.get("type") == "Point" and p["metric"] == "iteration_duration"
    )
    start = first + timedelta(seconds=STEP.warmup_s)
    window = raw_figures(requests, metrics, start, start + timedelta(seconds=STEP.hold_s), SETTINGS)
    figures = summary_figures(summary, hold, SETTINGS)
    assert abs(figures["iterations"] - window["iterations"]) <= 2
    assert abs(figures["requests"] - window["requests"]) <= 4
    assert abs(figures["error_rate"] - window["error_rate"]) <= 0.05


def test_a_summarised_step_is_judged_like_a_raw_one(step_run):
    """measure_step takes either source; judged on the summary, the step passes its SLO."""
    summary, _, _, started_at, hold = step_run
    result = measure_step(
        STEP,
        "step",
        started_at,
        lambda start, end: summary_figures(summary, hold, SETTINGS),
        pl.DataFrame(),
        1.0,
        2**30,
        1,
        False,
        CapacitySettings(max_error_rate=0.5),
    )
    assert result.achieved_rate == pytest.approx(STEP.offered_rate, rel=0.1)
    assert result.rps == pytest.approx(2 * result.achieved_rate, rel=0.05)
    assert result.p99_ms_by_name.keys() == {"turn", "check"}
    assert result.passed, result.reasons
