"""A step's figures from a recorded k6 run of the reference flow: the SLO held to all
requests or to those with one tag, each request name's p99, and the per-iteration rate."""

from __future__ import annotations

import gzip
import json
import math
from datetime import datetime, timedelta

import pytest

from conftest import DATA
from tierbench.capacity.settings import CapacitySettings, SloRequests
from tierbench.capacity.steps import StepResult, _request_figures, judge
from tierbench.tidy.k6_json import scan_requests, tidy_k6_json

RUN = DATA / "k6" / "python-xs.json.gz"
LLM_TURNS = SloRequests("name", ("send_message", "send_tool_message"))


def k6_percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    index = p * (len(ordered) - 1)
    low, high = math.floor(index), math.ceil(index)
    return ordered[low] + (ordered[high] - ordered[low]) * (index - low)


def raw_requests() -> list[tuple[datetime, float, str]]:
    """(start, duration ms, name) of every request, read from the raw JSON directly."""
    points = {}
    for line in gzip.decompress(RUN.read_bytes()).decode().splitlines():
        record = json.loads(line)
        if record.get("type") != "Point" or record["metric"] != "http_req_duration":
            continue
        data = record["data"]
        end = datetime.fromisoformat(data["time"])
        start = end - timedelta(milliseconds=data["value"])
        points[(data["time"], data["tags"].get("vu"), data["tags"].get("iter"))] = (
            start,
            data["value"],
            data["tags"]["name"],
        )
    return list(points.values())


@pytest.fixture(scope="module")
def requests(tmp_path_factory):
    out = tmp_path_factory.mktemp("steps") / "requests.parquet"
    tidy_k6_json(RUN, out, out.with_name("metrics.parquet"))
    return scan_requests(out)


def test_the_slo_holds_to_all_requests_or_to_those_with_its_tag(requests):
    raw = raw_requests()
    start = min(s for s, _, _ in raw) + timedelta(seconds=1)
    end = start + timedelta(seconds=3)
    inside = [(d, n) for s, d, n in raw if start <= s < end]
    every = _request_figures(requests, start, end, 99)
    assert every["requests"] == every["slo_requests"] == len(inside)
    assert every["percentile_ms"] == pytest.approx(k6_percentile([d for d, _ in inside], 0.99))
    turns = _request_figures(requests, start, end, 99, LLM_TURNS)
    chosen = [d for d, n in inside if n in LLM_TURNS.values]
    assert 0 < turns["slo_requests"] == len(chosen) < len(inside)
    assert turns["percentile_ms"] == pytest.approx(k6_percentile(chosen, 0.99))
    # The LLM turns are the slow ones: the pooled p99 flatters them.
    assert turns["percentile_ms"] > every["percentile_ms"] * 0.9
    assert every["p99_ms"] == turns["p99_ms"]  # the all-request figures stay as they are
    by_name = turns["p99_ms_by_name"]
    assert set(by_name) == {n for _, n in inside}
    for name, value in by_name.items():
        assert value == pytest.approx(k6_percentile([d for d, n in inside if n == name], 0.99))


def test_a_tagged_slo_with_no_such_request_fails_the_step():
    settings = CapacitySettings(slo_requests=SloRequests("name", ("nothing",)))
    step = StepResult(
        "s01_step", "step", 10, 10, 1, 5, "", requests=50, slo_requests=0, achieved_rate=10, rps=50
    )
    assert judge(step, settings).reasons == ["no request with name nothing started in the hold"]


def test_the_setting_reads_one_tag_with_one_value_or_several():
    assert SloRequests.parse({"name": "send_message"}) == SloRequests("name", ("send_message",))
    assert SloRequests.parse({"group": ["a", "b"]}).label == "group a|b"
    settings = CapacitySettings.from_config({"slo_requests": {"name": ["x", "y"]}})
    assert settings.search_settings()["slo_requests"] == {"name": ["x", "y"]}
    assert "of requests with name x|y" in settings.slo_label
