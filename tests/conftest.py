"""Shared fixtures: a scratch copy of the test Compose project and a snakemake runner."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
STACK = REPO / "tests" / "stack"
# Recordings of real runs the unit tests read (k6 output, cgroup files, results).
DATA = REPO / "tests" / "data"


def docker_answers() -> bool:
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=20).returncode == 0
    except (FileNotFoundError, subprocess.TimeoutExpired):
        return False


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    # Without an engine the Docker tests cannot run; stopping beats skipping them, since a
    # run that skipped them would look green without having tested anything. Last, so only
    # the tests that `-m` left selected count (`make check` needs no engine).
    if any(item.get_closest_marker("docker") for item in items) and not docker_answers():
        pytest.exit("no Docker engine answers: run `make test`, which starts one", returncode=3)
    chromium = any(shutil.which(name) for name in ("chromium", "chromium-browser", "google-chrome"))
    if any(item.get_closest_marker("chromium") for item in items) and not chromium:
        pytest.exit("no Chromium found: run `make test`, which installs one", returncode=3)


class Workdir:
    """A copy of tests/stack to run the workflow in, with its own config."""

    def __init__(self, path: Path):
        self.path = path
        shutil.copytree(
            STACK, path, ignore=shutil.ignore_patterns("results", "logs", ".snakemake", ".env")
        )
        env_file = REPO / "config" / ".env"
        if env_file.exists():
            shutil.copy(env_file, path / ".env")

    @property
    def config(self) -> dict:
        return yaml.safe_load((self.path / "config.yaml").read_text())

    def write_config(self, config: dict) -> None:
        (self.path / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))

    def snakemake(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        return run_snakemake(
            self.path, *args, "--configfile", str(self.path / "config.yaml"), timeout=timeout
        )


def run_snakemake(directory: Path, *args: str, timeout: float = 300):
    command = [
        sys.executable,
        "-m",
        "snakemake",
        "-s",
        str(REPO / "Snakefile"),
        "-d",
        str(directory),
        "--cores",
        "1",
        *args,
    ]
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=os.environ | {"PYTHONUNBUFFERED": "1"},
    )


def fresh_checkout(destination: Path) -> Path:
    """The repository's files as a fresh clone has them (every file new, no results, no
    environment): the workflow run from there is the one a user runs."""
    destination.mkdir(parents=True)
    for name in ("Snakefile", "pyproject.toml"):
        shutil.copy(REPO / name, destination / name)
    for folder in ("workflow", "profiles", "config", "src", "envs"):
        shutil.copytree(
            REPO / folder,
            destination / folder,
            ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", ".env"),
            copy_function=shutil.copy,  # new modification times, as a clone's
        )
    return destination


@pytest.fixture
def workdir(tmp_path) -> Workdir:
    return Workdir(tmp_path / "stack")


def planned_jobs(output: str) -> dict[str, int]:
    """Job counts by rule from snakemake's "Job stats" table."""
    counts: dict[str, int] = {}
    lines = output.splitlines()
    if "Job stats:" not in lines:
        return counts
    for line in lines[lines.index("Job stats:") + 3 :]:
        parts = line.split()
        if len(parts) != 2 or not parts[1].isdigit():
            break
        if parts[0] != "total":
            counts[parts[0]] = int(parts[1])
    return counts


def planned_cells(output: str) -> set[str]:
    """Cells that a dry run would load."""
    return {
        line.split("=", 1)[1].strip()
        for line in output.splitlines()
        if line.strip().startswith("wildcards: cell=")
    }


def containers_of(project: str) -> list[str]:
    result = subprocess.run(
        [
            "docker",
            "ps",
            "-a",
            "--filter",
            f"label=com.docker.compose.project={project}",
            "--format",
            "{{.Names}}",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.split()


@contextmanager
def busy_loop(cpu: int) -> Iterator[None]:
    """A process spinning on `cpu` for as long as the block runs; killed on every path.

    In a session of its own: with the kernel's autogroups, a session's tasks share one
    weight, spread over the CPUs they load, so beside a test's busy k6 the loop would
    weigh less on its CPU than a process of its own does (the fair share, half the core)."""
    hog = subprocess.Popen(
        [sys.executable, "-c", "while True: pass"],
        preexec_fn=lambda: os.sched_setaffinity(0, {cpu}),
        start_new_session=True,
    )
    try:
        yield
    finally:
        hog.kill()
        hog.wait()
