"""What reruns after a finished sweep: nothing when the project moves or its results are
restored into a fresh copy; an image and its cells when a file that shapes it changes, even
a Dockerfile that `.dockerignore` lists."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, Workdir, containers_of, fresh_checkout, planned_cells, planned_jobs

pytestmark = pytest.mark.docker
PROJECT = "tierbench-test"

# A second image, built from a copy of the test app whose .dockerignore lists its
# Dockerfile (as many projects' do: the builder reads the Dockerfile all the same).
OWN_SERVICE = """\
  own:
    image: tierbench-test/app-own:latest
    build:
      context: app-own
      network: host
      args:
        BASE_IMAGE: ${TIERBENCH_PYTHON_BASE:-python:3.11-slim-bookworm}
    network_mode: host
    stop_grace_period: 1s
    environment: {PORT: "19281"}
"""


def add_own_service(stack: Workdir) -> None:
    shutil.copytree(stack.path / "app", stack.path / "app-own")
    (stack.path / "app-own" / ".dockerignore").write_text("Dockerfile\n.dockerignore\n")
    # Larger than Snakemake's default checksum limit (1 MB), as vendored binaries are.
    (stack.path / "app-own" / "vendor.bin").write_bytes(bytes(range(256)) * 8192)
    with open(stack.path / "compose.yaml", "a") as compose:
        compose.write(OWN_SERVICE)
    config = stack.config
    config["runtimes"] = {
        "web": config["runtimes"]["web"],
        "own": {"service": "own", "port": 19281, "health_path": "/healthz"},
    }
    config["tiers"] = {"xs": config["tiers"]["xs"]}
    stack.write_config(config)


def dry_run(directory: Path, checkout: Path = REPO, cwd: Path | None = None) -> str:
    """What `snakemake -n` would run in `directory`, with the workflow of `checkout`, from
    `cwd` (the checkout by default) as a shell that changed into it names it."""
    cwd = cwd or checkout
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "-s", str(checkout / "Snakefile")]
        + ["-d", str(directory), "-n", "results/summary.md"]
        + ["--configfile", str(directory / "config.yaml")],
        cwd=cwd,
        env=os.environ | {"PWD": str(cwd)},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A sweep run to its tables: two runtimes (two images) at one tier."""
    stack = Workdir(tmp_path_factory.mktemp("finished") / "stack")
    add_own_service(stack)
    result = stack.snakemake("results/summary.md")
    assert result.returncode == 0, result.stderr[-3000:]
    assert containers_of(PROJECT) == []
    assert planned_jobs(dry_run(stack.path)) == {}
    return stack.path


def copy_of(finished: Path, destination: Path) -> Path:
    """The finished project as it was, modification times and .snakemake/ included."""
    return Path(shutil.copytree(finished, destination, symlinks=True))


def test_a_moved_project_dry_runs_with_nothing_to_do(finished, tmp_path):
    before = copy_of(finished, tmp_path / "before" / "stack")
    after = tmp_path / "elsewhere" / "renamed"
    after.parent.mkdir()
    before.rename(after)
    output = dry_run(after)
    assert planned_jobs(output) == {}, output


def test_a_finished_sweep_reached_through_a_symlink_plans_nothing(finished, tmp_path):
    """Through a link to its directory, Compose names the build contexts under the link
    and Python under the real path: the image inputs must still be the same files."""
    link = tmp_path / "link"
    link.symlink_to(finished, target_is_directory=True)
    output = dry_run(link, cwd=link)
    assert planned_jobs(output) == {}, output


def test_results_restored_into_a_fresh_clone_rerun_nothing(finished, tmp_path):
    """A fresh clone's files (the workflow's scripts, the Compose project, the build
    contexts) are all newer than the restored results; their content is the same."""
    clone = fresh_checkout(tmp_path / "clone")
    fresh = Workdir(tmp_path / "fresh")
    add_own_service(fresh)
    for path in fresh.path.rglob("*"):
        os.utime(path)  # as a clone's files: all newer than the results restored below
    for kept in ("results", ".snakemake"):
        shutil.copytree(finished / kept, fresh.path / kept)
    output = dry_run(fresh.path, checkout=clone)
    assert planned_jobs(output) == {}, output


def test_a_dockerignored_dockerfile_edit_reruns_its_image_and_only_its_cells(finished, tmp_path):
    stack = copy_of(finished, tmp_path / "stack")
    dockerfile = stack / "app-own" / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text() + 'LABEL edited="yes"\n')
    output = dry_run(stack)
    assert "wildcards: service=own" in output
    assert "wildcards: service=web" not in output
    assert planned_cells(output) == {"own-xs"}
    assert planned_jobs(output)["image"] == 1
