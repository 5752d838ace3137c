"""The benchmark scripts start (their imports and arguments match the package), and the
small ones do their job on a tiny input."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys

import pytest

from conftest import REPO

ARGPARSE_SCRIPTS = [
    "capacity_repeatability.py",
    "hold_length.py",
    "k6_output_cost.py",
    "step_state.py",
    "mock_llm_ceiling.py",
    "orchestration_overhead.py",
    "probe_trust.py",
    "render_fps.py",
    "tidy_throughput.py",
]


def run(*args: str, cwd=REPO) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True)


@pytest.mark.parametrize("script", ARGPARSE_SCRIPTS)
def test_each_benchmark_starts(script):
    result = run(str(REPO / "benchmarks" / script), "--help")
    assert result.returncode == 0, result.stderr
    assert "usage:" in result.stdout


def test_sweep_time_reports_the_commands_duration_and_exit_code():
    result = run(str(REPO / "benchmarks" / "sweep_time.py"), "sh", "-c", "sleep 1; exit 3")
    assert result.returncode == 3
    assert result.stdout.startswith("$ sh -c 'sleep 1; exit 3': 0 min 01 s")
    assert result.stdout.rstrip().endswith("exit code 3")


def test_sweep_time_adds_up_the_load_the_command_held(tmp_path):
    meta = tmp_path / "meta"
    meta.mkdir()
    old = meta / "old-xs.json"  # written before the command: not its load
    old.write_text(json.dumps({"window": {"load_duration_s": 500.0}}))
    os.utime(old, (0, 0))
    script = (
        f'echo \'{{"window": {{"load_duration_s": 1.5}}}}\' > {meta}/a-xs.json; '
        f'echo \'{{"window": {{"load_duration_s": 0.5}}}}\' > {meta}/b-xs.json'
    )
    result = run(
        str(REPO / "benchmarks" / "sweep_time.py"), "--load-from", str(tmp_path), "sh", "-c", script
    )
    assert result.returncode == 0, result.stderr
    assert "load held: 0 min 02 s (2 s) over 2 cells" in result.stdout


def test_raw_bytes_per_request(tmp_path):
    (tmp_path / "k6").mkdir()
    lines = b"".join(b'{"metric":"http_reqs","type":"Point"}\n' for _ in range(100))
    (tmp_path / "k6" / "web-xs.json.gz").write_bytes(gzip.compress(lines))
    summary = {"metrics": {"http_reqs": {"count": 50, "rate": 5.0}}}
    (tmp_path / "k6" / "web-xs.summary.json").write_text(json.dumps(summary))
    result = run(str(REPO / "benchmarks" / "raw_bytes.py"), str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert f"{len(lines) / 50:,.0f}" in result.stdout  # plain bytes per request


def test_probe_trust_reads_the_committed_step_tables():
    """The count docs/capacity.md quotes comes from the committed example's step tables."""
    result = run(str(REPO / "benchmarks" / "probe_trust.py"), str(REPO / "docs" / "example"))
    assert result.returncode == 0, result.stderr
    assert result.stdout == (REPO / "docs/example/benchmarks/probe_trust.txt").read_text()
    assert " searches failed a full step above a rate only a probe" in result.stdout
    empty = run(str(REPO / "benchmarks" / "probe_trust.py"), str(REPO / "src"))
    assert empty.returncode == 1 and "no capacity step tables" in empty.stderr
