"""A runtime's variant with build args, on the real engine: an image of its own, built
from the runtime's service with the variant's args, run by the variant's cells only, and
the service's own image left as it was."""

from __future__ import annotations

import csv
import json
import subprocess

import pytest

from conftest import Workdir, containers_of

pytestmark = pytest.mark.docker
PROJECT = "tierbench-test"

# A service that serves what its build baked in: GET /greeting answers GREETING, a build
# arg (hello unless the build says otherwise), and GET /healthz answers 200.
DOCKERFILE = """\
ARG BASE_IMAGE=python:3.11-slim-bookworm
FROM ${BASE_IMAGE}
ARG GREETING=hello
RUN mkdir -p /www && echo ok > /www/healthz && echo "$GREETING" > /www/greeting
CMD ["python3", "-m", "http.server", "19192", "--bind", "127.0.0.1", "--directory", "/www"]
"""

SERVICE = """\
  greeter:
    image: tierbench-test/greeter:latest
    build:
      context: greeter
      network: host
      args:
        BASE_IMAGE: ${TIERBENCH_PYTHON_BASE:-python:3.11-slim-bookworm}
    network_mode: host
    stop_grace_period: 1s
"""

# Each request's check is named after what the container answered, so k6's summary of a
# cell says which build served it.
LOAD_SCRIPT = """\
import http from "k6/http";
import { check } from "k6";

export default function () {
  const res = http.get(`${__ENV.BASE_URL}/greeting`, { tags: { name: "greeting" } });
  check(res, { [`greeting ${String(res.body).trim()}`]: (r) => r.status === 200 });
}
"""


def greeter_project(workdir: Workdir) -> None:
    (workdir.path / "greeter").mkdir()
    (workdir.path / "greeter" / "Dockerfile").write_text(DOCKERFILE)
    with open(workdir.path / "compose.yaml", "a") as compose:
        compose.write(SERVICE)
    (workdir.path / "k6" / "greeting.js").write_text(LOAD_SCRIPT)
    config = workdir.config
    config["runtimes"] = {
        "greeter": {
            "service": "greeter",
            "port": 19192,
            "health_path": "/healthz",
            "variants": {"bonjour": {"build_args": {"GREETING": "bonjour"}}},
        }
    }
    config["tiers"] = {"xs": config["tiers"]["xs"]}
    config["support_services"] = []
    config["k6_script"] = "k6/greeting.js"
    workdir.write_config(config)


def answers(workdir: Workdir, cell: str) -> set[str]:
    """What the cell's container answered, from the names of k6's checks."""
    summary = json.loads((workdir.path / "results" / "k6" / f"{cell}.summary.json").read_text())
    return {name for name, check in summary["root_group"]["checks"].items() if check["passes"]}


def image_id(name: str) -> str:
    command = ["docker", "image", "inspect", "--format", "{{.Id}}", name]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip()


def test_a_variants_build_args_build_the_image_its_cells_run(workdir: Workdir):
    greeter_project(workdir)
    variant_image = f"{PROJECT}-greeter:greeter-bonjour"
    try:
        result = workdir.snakemake("results/summary.md", timeout=300)
        assert result.returncode == 0, result.stderr[-3000:]
        # Each cell's container answered with its own build's greeting.
        assert answers(workdir, "greeter-xs") == {"greeting hello"}
        assert answers(workdir, "greeter-bonjour-xs") == {"greeting bonjour"}
        results = workdir.path / "results"
        base = json.loads((results / "meta" / "greeter-xs.json").read_text())
        variant = json.loads((results / "meta" / "greeter-bonjour-xs.json").read_text())
        assert base["image"]["name"] == "tierbench-test/greeter:latest"
        assert variant["image"]["name"] == variant_image
        assert (variant["build_args"], variant["variant_of"]) == (
            {"GREETING": "bonjour"},
            "greeter",
        )
        assert (base["build_args"], base["variant_of"]) == ({}, None)
        # Two images, each as its stamp says: the variant's did not replace the service's.
        stamps = results / "images"
        own = json.loads((stamps / "greeter.json").read_text())
        built = json.loads((stamps / "variants" / "greeter-bonjour.json").read_text())
        assert own["id"] == image_id("tierbench-test/greeter:latest") != built["id"]
        assert built["id"] == image_id(variant_image)
        with open(results / "summary.csv") as handle:
            assert [row["runtime"] for row in csv.DictReader(handle)] == [
                "greeter",
                "greeter-bonjour",
            ]
        assert "greeter-bonjour" in (results / "summary.md").read_text()
        # Nothing is left to do: the variant's image and cells are up to date.
        again = workdir.snakemake("-n", "results/summary.md")
        assert "Nothing to be done" in again.stdout + again.stderr, again.stdout[-2000:]
        assert containers_of(PROJECT) == []
    finally:
        images = [variant_image, "tierbench-test/greeter:latest"]
        subprocess.run(["docker", "image", "rm", "-f", *images], capture_output=True)
