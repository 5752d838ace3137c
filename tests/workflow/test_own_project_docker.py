"""A project of the user's own, kept outside the repository, swept with the README's
command as written: its own runtimes and tiers, a support service ready by its Compose
healthcheck and one ready by a TCP port, nothing of the reference stack's config."""

from __future__ import annotations

import csv
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from conftest import REPO, STACK, containers_of, fresh_checkout

pytestmark = pytest.mark.docker

README_COMMAND = "snakemake --cores 1 --configfile ../my-service/my-config.yaml"

# Two runtimes of one small service, and two support services that listen only some
# seconds after they start: `db` has a Compose healthcheck, `cache` only a port.
COMPOSE = """\
x-app: &app
  image: tierbench-test/my-service:latest
  build:
    context: app
    network: host
    args:
      BASE_IMAGE: ${TIERBENCH_PYTHON_BASE:-python:3.11-slim-bookworm}
  network_mode: host
  stop_grace_period: 1s

services:
  api-rust:
    <<: *app
    environment: {PORT: "19283"}
  api-go:
    <<: *app
    environment: {PORT: "19284"}
  db:
    <<: *app
    environment: {PORT: "19285"}
    command: ["sh", "-c", "sleep 3 && exec python3 -u /app/app.py"]
    healthcheck:
      test: ["CMD", "python3", "-c",
             "import urllib.request; urllib.request.urlopen('http://127.0.0.1:19285/healthz')"]
      interval: 1s
      timeout: 2s
      retries: 60
  cache:
    <<: *app
    environment: {PORT: "19286"}
    command: ["sh", "-c", "sleep 2 && exec python3 -u /app/app.py"]
"""

# setup() runs once k6 is resumed: a support service not ready by then fails the load.
LOAD_SCRIPT = """\
import http from "k6/http";
import { check } from "k6";

export function setup() {
  for (const port of [19285, 19286]) {
    const res = http.get(`http://127.0.0.1:${port}/healthz`);
    if (res.status !== 200) {
      throw new Error(`support service on port ${port} was not ready: ${res.error}`);
    }
  }
}

export default function () {
  const res = http.get(`${__ENV.BASE_URL}/`);
  check(res, { "status is 200": (r) => r.status === 200 });
}
"""

CONFIG = {
    "compose_file": "../my-service/compose.yaml",
    "runtimes": {
        "rust": {"service": "api-rust", "port": 19283, "health_path": "/healthz"},
        "go": {"service": "api-go", "port": 19284, "health_path": "/healthz"},
    },
    "support_services": ["db", {"service": "cache", "port": 19286}],
    "tiers": {"small": {"cpus": 0.5, "memory": "256MB"}, "large": {"cpus": 1, "memory": "512MB"}},
    "k6_script": "../my-service/load.js",
    "profile": "smoke",
    "charts": {"length_s": 3, "width": 480, "height": 270, "fps": 10},
}


def own_project(destination: Path) -> Path:
    shutil.copytree(STACK / "app", destination / "app")
    (destination / "compose.yaml").write_text(COMPOSE)
    (destination / "load.js").write_text(LOAD_SCRIPT)
    (destination / "my-config.yaml").write_text(yaml.safe_dump(CONFIG, sort_keys=False))
    env_file = REPO / "config" / ".env"
    if env_file.exists():
        shutil.copy(env_file, destination / ".env")
    return destination


@pytest.mark.chromium
def test_a_project_outside_the_repository_sweeps_with_the_readmes_command(tmp_path):
    assert README_COMMAND in (REPO / "README.md").read_text()
    tierbench = fresh_checkout(tmp_path / "tierbench")
    own_project(tmp_path / "my-service")
    env = os.environ | {"PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    log = tmp_path / "snakemake.log"
    with open(log, "w") as handle:
        process = subprocess.Popen(
            shlex.split(README_COMMAND), cwd=tierbench, env=env, stdout=handle, stderr=handle
        )
        # The containers run under the Compose project Compose itself would name: the
        # directory of the user's Compose file, not the reference stack's "tierbench".
        seen: set[str] = set()
        while process.poll() is None:
            seen.update(containers_of("my-service"))
            time.sleep(0.5)
    output = log.read_text()
    assert process.returncode == 0, output[-4000:]
    assert "Using workflow specific profile profiles/default" in output
    assert {"my-service-db-1", "my-service-cache-1"} <= seen, seen

    results = tierbench / "results"
    cells = sorted(path.stem for path in (results / "meta").glob("*.json"))
    assert cells == ["go-large", "go-small", "rust-large", "rust-small"]
    with open(results / "summary.csv") as handle:
        rows = list(csv.DictReader(handle))
    # Runtimes and tiers as the config lists them, not alphabetically.
    assert [(row["runtime"], row["tier"]) for row in rows] == [
        ("rust", "small"),
        ("go", "small"),
        ("rust", "large"),
        ("go", "large"),
    ]
    assert all(float(row["requests"]) > 0 and float(row["error_rate"]) == 0 for row in rows)
    # The yardstick, on by default, before and after each cell at its limits; summary.md
    # reads each runtime in its units.
    for cell in cells:
        yardstick = json.loads((results / "meta" / f"{cell}.json").read_text())["yardstick"]
        assert yardstick["before"]["rps"] > 0 and yardstick["after"]["rps"] > 0, cell
    summary = (results / "summary.md").read_text()
    assert "## Yardstick" in summary and "- **small**: " in summary
    for chart in ("comparison.gif", "comparison.mp4", "summary.png", "report.html"):
        assert (results / "charts" / chart).stat().st_size > 0, chart
    assert containers_of("my-service") == []


def test_a_support_service_whose_healthcheck_never_passes_stops_the_run(workdir):
    with open(workdir.path / "compose.yaml", "a") as compose:
        compose.write(
            "  stuck:\n"
            "    <<: *app\n"
            '    environment: {PORT: "19287"}\n'
            "    healthcheck:\n"
            '      test: ["CMD", "python3", "-c", "raise SystemExit(1)"]\n'
            "      interval: 1s\n"
            "      retries: 100\n"
        )
    config = workdir.config
    config["runtimes"] = {"web": config["runtimes"]["web"]}
    config["tiers"] = {"xs": config["tiers"]["xs"]}
    config["support_services"] = ["stuck"]
    config["health_timeout"] = 4
    workdir.write_config(config)
    started = time.monotonic()
    result = workdir.snakemake("sweep")
    output = result.stdout + result.stderr
    assert result.returncode != 0
    # Compose waited for the healthcheck, up to health_timeout, not for its 100 retries.
    assert time.monotonic() - started < 60
    assert "could not start support services stuck" in output
    assert "not healthy after 4s" in output  # Compose's own words
    assert not (workdir.path / "results" / "meta").exists()
    assert containers_of("tierbench-test") == []
