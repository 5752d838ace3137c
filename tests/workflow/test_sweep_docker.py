"""The sweep against a real Docker engine and real k6, on a small Compose project."""

from __future__ import annotations

import csv
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

import pytest
import yaml

from conftest import REPO, Workdir, containers_of, planned_cells, planned_jobs
from tierbench.config.limits import LimitSet, parse_limits
from tierbench.config.sweep import ServiceEndpoint
from tierbench.load.docker.cgroups import locate_cgroup
from tierbench.load.docker.containers import RuntimeContainer, limits_override, write_override
from tierbench.load.docker.sampler import ResourceSampler

pytestmark = pytest.mark.docker
PROJECT = "tierbench-test"


def read_meta(workdir: Workdir, cell: str) -> dict:
    return json.loads((workdir.path / "results" / "meta" / f"{cell}.json").read_text())


def test_each_default_tier_is_applied_and_read_back(tmp_path):
    stack = Workdir(tmp_path / "stack")
    tiers = yaml.safe_load((REPO / "config" / "config.yaml").read_text())["tiers"]
    assert list(tiers) == ["xs", "s", "m", "l"]
    endpoint = ServiceEndpoint("web", 19181, "/healthz")
    for name, tier in tiers.items():
        requested = LimitSet.for_tier(parse_limits(tier["cpus"], tier["memory"]), "")
        override = write_override(
            tmp_path / f"{name}.yaml", limits_override("web", requested, [], [], "")
        )
        runtime = RuntimeContainer(stack.path / "compose.yaml", override, PROJECT, endpoint)
        try:
            container = runtime.recreate_with_limits()
            runtime.wait_until_healthy(20)
            # CPUs, memory, no swap (memory + swap = memory) and every CPU: as requested.
            assert runtime.applied_limits() == requested, name
            # The kernel enforces what Docker reports, in the container's own cgroup.
            cgroup = locate_cgroup(container.state.pid)
            assert cgroup.read().memory_limit_bytes == requested.memory_bytes
            assert (
                cgroup.identity_problem(
                    container.id, requested.memory_bytes, round(requested.cpus * 1e9)
                )
                is None
            )
            kernel = cgroup.read_limits()
            assert kernel.cpu_quota_us == round(requested.cpus * kernel.cpu_period_us)
        finally:
            runtime.remove()
    assert containers_of(PROJECT) == []


def test_sweep_runs_each_cell_then_reruns_only_what_changed(workdir):
    result = workdir.snakemake("sweep")
    assert result.returncode == 0, result.stderr[-3000:]
    cells = ["web-xs", "web2-xs", "web-s", "web2-s"]
    # While each cell loads, a status line: its place, times, k6's live figures.
    line = r"tierbench: cell (\d)/4 (\S+) · .* req/s · p95 .* · errors "
    progress = re.findall(line, result.stderr)
    assert {cell for _, cell in progress} == set(cells)
    assert {index for index, _ in progress} == {"1", "2", "3", "4"}
    log_text = "".join((workdir.path / "logs" / "load" / f"{c}.log").read_text() for c in cells)
    assert "req/s · p95" not in log_text  # the terminal's, not the logs'
    for cell in cells:
        meta = read_meta(workdir, cell)
        assert meta["limits"]["verified"]
        assert meta["limits"]["applied"] == meta["limits"]["requested"]
        assert meta["resources"]["oom_kills"] == 0
        assert meta["window"]["start"] < meta["window"]["end"]
        for key in ("k6", "docker", "compose"):
            assert meta["versions"][key]
        assert meta["host"]["cores"] >= 1 and meta["config_hash"]
        # The host's speed, timed on the runtime's CPUs before and after the cell.
        speed = meta["host_speed"]
        assert speed["cpus"] == (meta["pinning"]["runtime_cpus"] or "all")
        assert speed["before_ms"] > 0 and speed["after_ms"] > 0
        assert len(speed["runs_ms"]["before"]) == len(speed["runs_ms"]["after"]) == 5
        samples = list(csv.DictReader(open(workdir.path / "results/resources" / f"{cell}.csv")))
        # At least one sample a second over the ~2 s load.
        assert len(samples) >= 3
        assert all(s["source"].startswith("cgroup") for s in samples)
        assert float(samples[-1]["memory_bytes"]) > 0
        summary = json.loads((workdir.path / "results/k6" / f"{cell}.summary.json").read_text())
        assert summary["metrics"]["http_reqs"]["count"] > 0
        # k6 compressed its raw results as it wrote them: the partial name ended in .gz too.
        raw = workdir.path / "results/k6" / f"{cell}.json.gz"
        assert raw.read_bytes()[:2] == b"\x1f\x8b"
    # Support services stop with the sweep; no runtime container is left behind.
    assert containers_of(PROJECT) == []

    assert planned_jobs(workdir.snakemake("-n", "sweep").stdout) == {}

    # Deleting one cell's k6 output reruns only that cell.
    (workdir.path / "results/k6/web-xs.json.gz").unlink()
    assert planned_cells(workdir.snakemake("-n", "sweep").stdout) == {"web-xs"}

    # Changing one tier's limits reruns only that tier's cells.
    config = workdir.config
    config["tiers"]["s"]["memory"] = "384MB"
    workdir.write_config(config)
    assert planned_cells(workdir.snakemake("-n", "sweep").stdout) == {
        "web-xs",
        "web-s",
        "web2-s",
    }

    untouched = (workdir.path / "results/meta/web2-xs.json").stat().st_mtime
    result = workdir.snakemake("sweep")
    assert result.returncode == 0, result.stderr[-3000:]
    assert read_meta(workdir, "web-s")["limits"]["applied"]["memory_bytes"] == 384 * 2**20
    assert (workdir.path / "results/meta/web2-xs.json").stat().st_mtime == untouched


def test_oom_kill_is_recorded_and_the_cell_completes(workdir):
    config = workdir.config
    config["runtimes"] = {"web": config["runtimes"]["web"]}
    config["tiers"] = {"tiny": {"cpus": 0.5, "memory": "48MB"}}
    config["k6_script"] = "k6/alloc.js"
    config["profiles"]["smoke"]["stages"] = [{"duration": "3s", "target": 2}]
    workdir.write_config(config)
    result = workdir.snakemake("sweep")
    assert result.returncode == 0, result.stderr[-3000:]
    meta = read_meta(workdir, "web-tiny")
    assert meta["resources"]["oom_kills"] >= 1
    assert any("OOM-killed" in warning for warning in meta["warnings"])
    samples = list(csv.DictReader(open(workdir.path / "results/resources/web-tiny.csv")))
    assert int(samples[-1]["oom_kills"]) >= 1
    assert containers_of(PROJECT) == []


def test_runtime_never_healthy_fails_to_start_with_its_logs_and_is_removed(workdir):
    """Never healthy is the runtime's failure, not the sweep's: the cell records it (with
    the container's last log lines and what to check) and the sweep ends normally."""
    config = workdir.config
    config["runtimes"] = {"sleepy": {"service": "sleepy", "port": 19183, "health_path": "/healthz"}}
    config["tiers"] = {"xs": config["tiers"]["xs"]}
    config["health_timeout"] = 2
    workdir.write_config(config)
    result = workdir.snakemake("sweep")
    assert result.returncode == 0, result.stderr[-3000:]
    output = result.stdout + result.stderr
    assert "service sleepy was not healthy after 2 s" in output
    assert "HTTP 503" in output
    assert "check the health path and port in the config, or raise health_timeout" in output
    meta = read_meta(workdir, "sleepy-xs")
    assert meta["status"] == "failed_to_start"
    assert meta["failure"]["reason"] == "never became healthy"
    # The container's own last log lines.
    assert "listening on 127.0.0.1:19183" in meta["failure"]["last_logs"]
    assert containers_of(PROJECT) == []


def test_k6_script_error_stops_the_run_before_any_container_with_k6s_message(workdir):
    (workdir.path / "k6/broken.js").write_text("export default function () { http.get( }\n")
    config = workdir.config
    config["k6_script"] = "k6/broken.js"
    config["runtimes"] = {"web": config["runtimes"]["web"]}
    config["tiers"] = {"xs": config["tiers"]["xs"]}
    workdir.write_config(config)
    result = workdir.snakemake("sweep")
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "k6 cannot run the script k6/broken.js, so no cell was started" in output
    assert "broken.js: Line 1:40 Unexpected token }" in output  # k6's own error line
    assert "Traceback" not in output
    # Checked before any job: no image built, no support service or runtime started.
    assert not (workdir.path / "results").exists()
    assert not (workdir.path / "logs").exists()
    assert containers_of(PROJECT) == []


def test_port_in_use_is_named(workdir):
    config = workdir.config
    config["runtimes"] = {"web": config["runtimes"]["web"]}
    config["tiers"] = {"xs": config["tiers"]["xs"]}
    workdir.write_config(config)
    with socket.socket() as squatter:
        # Earlier tests' connections may linger in TIME_WAIT on this port.
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind(("127.0.0.1", 19181))
        squatter.listen()
        result = workdir.snakemake("sweep")
    assert result.returncode != 0
    assert "port 19181 on 127.0.0.1 is already in use" in result.stdout + result.stderr
    assert containers_of(PROJECT) == []


def test_interrupt_mid_load_removes_the_container_and_keeps_no_partial_output(workdir):
    config = workdir.config
    config["runtimes"] = {"web": config["runtimes"]["web"]}
    config["tiers"] = {"xs": config["tiers"]["xs"]}
    config["profiles"]["smoke"]["stages"] = [{"duration": "30s", "target": 2}]
    workdir.write_config(config)
    command = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile")]
    command += ["-d", str(workdir.path), "--cores", "1", "sweep"]
    command += ["--configfile", str(workdir.path / "config.yaml")]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    partial = workdir.path / "results/k6/.web-xs.json.partial.gz"
    deadline = time.monotonic() + 120
    while not (partial.exists() and partial.stat().st_size > 0):
        assert process.poll() is None, process.stdout.read()
        assert time.monotonic() < deadline, "the load never started"
        time.sleep(0.2)
    # Ctrl-C reaches the whole foreground process group.
    os.killpg(process.pid, signal.SIGINT)
    output, _ = process.communicate(timeout=60)
    assert process.returncode != 0
    assert containers_of(PROJECT) == [], output
    # The cell's outputs and their partial files are all gone; finished image stamps stay.
    leftovers = [
        p.name
        for folder in ("k6", "resources", "meta")
        for p in (workdir.path / "results" / folder).glob("*")
        if (workdir.path / "results" / folder).exists()
    ]
    leftovers += [p.name for p in (workdir.path / "results").rglob(".*.partial*")]
    assert leftovers == []


def test_docker_stats_fallback_samples_when_cgroup_files_are_out_of_reach(tmp_path):
    stack = Workdir(tmp_path / "stack")
    requested = LimitSet.for_tier(parse_limits(0.5, "128MB"), "")
    override = write_override(tmp_path / "o.yaml", limits_override("web", requested, [], [], ""))
    endpoint = ServiceEndpoint("web", 19181, "/healthz")
    runtime = RuntimeContainer(stack.path / "compose.yaml", override, PROJECT, endpoint)
    try:
        container = runtime.recreate_with_limits()
        runtime.wait_until_healthy(20)
        sampler = ResourceSampler(container.id, -1, requested)
        assert sampler.source == "docker-stats"
        assert "no readable cgroup files for PID -1" in sampler.source_reason
        sampler.start()
        time.sleep(4)
        rows = sampler.stop()
    finally:
        runtime.remove()
    assert rows, "docker stats gave no sample in 4 s"
    assert all(row["source"] == "docker-stats" for row in rows)
    assert 0 < rows[-1]["memory_bytes"] < requested.memory_bytes
    assert rows[-1]["throttled_s"] is None


def test_a_pid_that_is_not_the_containers_falls_back_to_docker_stats(tmp_path):
    """A remote engine or another PID namespace hands back a PID that names some other
    process here: its cgroup is readable but not the container's."""
    stack = Workdir(tmp_path / "stack")
    requested = LimitSet.for_tier(parse_limits(0.5, "128MB"), "")
    override = write_override(tmp_path / "o.yaml", limits_override("web", requested, [], [], ""))
    endpoint = ServiceEndpoint("web", 19181, "/healthz")
    runtime = RuntimeContainer(stack.path / "compose.yaml", override, PROJECT, endpoint)
    try:
        container = runtime.recreate_with_limits()
        runtime.wait_until_healthy(20)
        own = ResourceSampler(container.id, container.state.pid, requested)
        assert own.source.startswith("cgroup-v") and container.id[:12] in own.source_reason
        # This test process's PID resolves to a real cgroup, but not the container's.
        foreign = ResourceSampler(container.id, os.getpid(), requested)
        assert foreign.source == "docker-stats"
        assert f"does not name container {container.id[:12]}" in foreign.source_reason
        # The summary carries both the source and the reason into the meta.
        summary = foreign.summary()
        assert summary["source"] == "docker-stats" and summary["source_reason"]
    finally:
        runtime.remove()
