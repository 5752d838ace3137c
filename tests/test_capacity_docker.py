"""Capacity mode on the real engine and real k6, against services whose limit is known."""

from __future__ import annotations

import csv
import gzip
import http.client
import json
import time

import pytest

from conftest import Workdir, containers_of
from tierbench.config.sweep import ServiceEndpoint
from tierbench.load.docker.cgroups import locate_cgroup
from tierbench.load.docker.containers import RuntimeContainer, write_override

pytestmark = [pytest.mark.docker, pytest.mark.chromium]
PROJECT = "tierbench-test"
# A short search: the test's services answer in milliseconds, so a backlog above the knee
# breaks the SLO within seconds, and a few hundred requests a step judge their p99 well
# enough.
QUICK_SEARCH = {
    "start_rate": 32,
    "probe_warmup_s": 0.5,
    "probe_hold_s": 1.5,
    "warmup_s": 1.5,
    "hold_s": 4,
    "time_budget_s": 120,
}


def cpu_seconds_per_request(workdir: Workdir, requests: int = 300) -> float:
    """The calibrated service's CPU time per request, unlimited and at a low rate, from
    its own cgroup's CPU counter. The requests share one kept-alive connection, as each of
    k6's VUs does (a connection per request would add the cost of accepting it)."""
    override = write_override(workdir.path / "unlimited.yaml", {})
    endpoint = ServiceEndpoint("calibrated", 19186, "/healthz")
    runtime = RuntimeContainer(workdir.path / "compose.yaml", override, PROJECT, endpoint)
    try:
        container = runtime.recreate_with_limits()
        runtime.wait_until_healthy(20)
        cgroup = locate_cgroup(container.state.pid)
        connection = http.client.HTTPConnection("127.0.0.1", 19186, timeout=5)
        connection.request("GET", "/work")
        connection.getresponse().read()
        before = cgroup.read().cpu_usage_ns
        for _ in range(requests):
            connection.request("GET", "/work")
            response = connection.getresponse()
            response.read()
            assert response.status == 200
            time.sleep(0.01)
        used = cgroup.read().cpu_usage_ns - before
        connection.close()
        return used / 1e9 / requests
    finally:
        runtime.remove()


def capacity_rows(workdir: Workdir) -> dict[str, dict]:
    with open(workdir.path / "results" / "capacity.csv") as handle:
        return {row["tier"]: row for row in csv.DictReader(handle)}


def calibration_config(workdir: Workdir, runtime: str, port: int, script: str) -> None:
    config = workdir.config
    config["runtimes"] = {runtime: {"service": runtime, "port": port, "health_path": "/healthz"}}
    config["support_services"] = []
    config["k6_script"] = script
    config["capacity"] = QUICK_SEARCH
    workdir.write_config(config)


def test_a_cpu_bound_service_reaches_what_the_utilisation_law_predicts(workdir: Workdir):
    """A service of known CPU cost per request can serve CPU limit / cost per second; the
    search must find that within 10 % at two tiers, confirmed k of k, and say the CPU
    stopped it."""
    calibration_config(workdir, "calibrated", 19186, "k6/work.js")
    # The image first, so the calibration measures what the search will.
    result = workdir.snakemake("results/images/calibrated.json")
    assert result.returncode == 0, result.stderr[-3000:]
    cost_s = cpu_seconds_per_request(workdir)
    assert 0.0015 < cost_s < 0.004, cost_s

    result = workdir.snakemake("capacity", timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    rows = capacity_rows(workdir)
    for tier, cpus in (("xs", 0.25), ("s", 0.5)):
        predicted = cpus / cost_s
        found = float(rows[tier]["capacity_rps"])
        print(f"{tier}: found {found:.1f} req/s, predicted {predicted:.1f}")
        assert abs(found / predicted - 1) <= 0.10, (tier, found, predicted)
        assert rows[tier]["limited_by"] == "cpu"
        assert rows[tier]["lower_bound"] == "false"
        assert rows[tier]["confirmed"] == "true" and rows[tier]["confirmations"] == "3"
        assert float(rows[tier]["failed_at_rps"]) > found

    results = workdir.path / "results"
    record = json.loads((results / "capacity" / "calibrated-xs.json").read_text())
    phases = [step["phase"] for step in record["steps"]]
    assert phases[0] == "probe" and "step" in phases and phases.count("confirm") >= 2
    assert len(record["search"]["capacity_steps"]) == 3
    assert record["search"]["runtime_state_before_steps"] == "fresh"
    assert record["search"]["runtime_placements"] == len(record["steps"])
    # Every step's figures come from its own container's counters: throttling too.
    assert all(step["throttled_share"] is not None for step in record["steps"])
    assert all(step["load_cpus_busy"] is not None for step in record["steps"])
    # Every step's raw k6 data is kept, gzipped, with the k6 script that made it.
    raw = results / "capacity" / "k6" / "calibrated-xs"
    for step in record["steps"]:
        data = gzip.decompress((raw / f"{step['name']}.json.gz").read_bytes())
        assert b'"step":"%s"' % step["name"].encode() in data
        assert (raw / f"{step['name']}.js").exists()
    assert record["limits"]["verified"] and record["search"]["search_s"] <= 120
    assert record["host_speed"]["before_ms"] > 0 and record["host_speed"]["after_ms"] > 0
    assert (results / "recommendation.md").read_text().startswith("# Right-sizing")
    for chart in ("capacity.png", "capacity.gif", "capacity.mp4", "capacity.html"):
        assert (results / "charts" / chart).stat().st_size > 0, chart
    assert containers_of(PROJECT) == []


def test_a_concurrency_bound_service_is_limited_by_latency_not_cpu(workdir: Workdir):
    """Four requests in service at once, 20 ms each, the CPU nearly idle: the capacity is
    4 / 0.020 = 200 req/s at any CPU limit. The search must find it within 10 % at two
    tiers and call it latency, never cpu, far below what its CPU would allow."""
    calibration_config(workdir, "concurrent", 19189, "k6/slot.js")
    result = workdir.snakemake("results/capacity.md", timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    rows = capacity_rows(workdir)
    for tier in ("xs", "s"):
        found = float(rows[tier]["capacity_rps"])
        print(f"{tier}: found {found:.1f} req/s, predicted 200 by concurrency / service time")
        assert abs(found / 200 - 1) <= 0.10, (tier, found)
        assert rows[tier]["limited_by"] == "latency", rows[tier]["reason"]
        assert float(rows[tier]["cpu_pct_at_capacity"]) < 50
        assert float(rows[tier]["predicted_rps"]) > 2 * found
        assert "Not CPU-bound" in rows[tier]["reason"]
    assert containers_of(PROJECT) == []


def search_web_at_s(workdir: Workdir, script: str, search: dict):
    """One cell's quick search (the small web service at tier S, no support services) with
    `script` as the load, up to its table (the first test renders the charts)."""
    config = workdir.config
    config["runtimes"] = {"web": config["runtimes"]["web"]}
    config["tiers"] = {"s": config["tiers"]["s"]}
    config["support_services"] = []
    config["k6_script"] = script
    config["capacity"] = QUICK_SEARCH | search
    workdir.write_config(config)
    result = workdir.snakemake("results/capacity.md", timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def test_a_saturated_load_generator_gives_a_lower_bound(workdir: Workdir):
    """k6 spends 4 ms of its one core per iteration: it fills its core long before the
    service is busy, so the cell reports "at least", never a capacity."""
    # Only the verdict matters here: a coarse bisection is enough.
    search_web_at_s(workdir, "k6/busy.js", {"start_rate": 128, "precision": 0.3})
    row = capacity_rows(workdir)["s"]
    assert row["limited_by"] == "load-generator", row
    assert row["lower_bound"] == "true"
    markdown = (workdir.path / "results" / "capacity.md").read_text()
    assert f"≥ {float(row['capacity_rps']):,.0f}" in markdown
    assert "lower bound" in markdown
    assert containers_of(PROJECT) == []


def test_a_pool_too_small_for_the_iterations_is_held_again_with_more_vus(workdir: Workdir):
    """Iterations that hold their VU for two seconds of think time outlast the pool sized
    for the first guess of half a second: k6 drops iterations while it starts more VUs,
    with every request fast. The step is held again with twice the VUs, and passes; the
    first try stays in the record, marked."""
    result = search_web_at_s(workdir, "k6/think.js", {"start_rate": 16, "max_rate": 16})
    assert "the step runs again with" in result.stdout + result.stderr
    record = json.loads((workdir.path / "results/capacity/web-s.json").read_text())
    first, again, *rest = record["steps"]
    assert (first["phase"], again["phase"]) == ("probe", "probe")
    assert first["offered_rate"] == again["offered_rate"] == 16
    assert not first["passed"] and first["dropped_iterations"] > 0
    assert first["vus_max"] < record["settings"]["max_vus"]
    assert first["reasons"].endswith(f"; held again with {2 * int(first['vus_max'])} VUs")
    assert again["passed"] and again["dropped_iterations"] == 0, again
    assert again["vus_max"] >= 2 * first["vus_max"]
    # Later steps size their pool from the slow iterations: no drops, no second try.
    assert rest and all(step["passed"] and step["dropped_iterations"] == 0 for step in rest)
    assert record["search"]["steps"] == len(record["steps"]) == 2 + len(rest)
    with open(workdir.path / "results/capacity/steps/web-s.csv") as handle:
        assert len(list(csv.DictReader(handle))) == len(record["steps"])
    assert containers_of(PROJECT) == []
