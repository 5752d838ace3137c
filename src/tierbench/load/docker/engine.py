"""What the Snakemake workflow needs beyond the rules: engine check, support-service
shutdown. (The files that shape each image are `tierbench.load.docker.build_context`.)"""

from __future__ import annotations

import subprocess
import sys

from tierbench.load.docker.compose import compose_client

NO_ENGINE = """\
tierbench: no Docker engine answers (`docker info` failed: {problem}).
  Run `make bench`, which installs and starts one where it can (as root on Debian), or
  install Docker Engine (https://docs.docker.com/engine/install/), start it, and make sure
  your user may use it (the `docker` group). Then run snakemake again."""


def check_docker_engine() -> None:
    """Stop the run before any job when no Docker engine answers."""
    try:
        result = subprocess.run(["docker", "info"], capture_output=True, text=True, timeout=20)
        problem = result.stderr.strip().splitlines()[-1] if result.returncode else None
    except FileNotFoundError:
        problem = "the docker command is not installed"
    except subprocess.TimeoutExpired:
        problem = "it did not answer within 20 s"
    if problem:
        print(NO_ENGINE.format(problem=problem), file=sys.stderr)
        raise SystemExit(1)


def stop_support_services(sweep) -> None:
    """Stop and remove the support services once the sweep ends, whatever the outcome."""
    names = sweep.support_service_names
    if not names:
        return
    client = compose_client([sweep.compose_file], project_name=sweep.project)
    containers = client.compose.ps(services=names, all=True)
    if containers:
        client.container.remove(containers, force=True, volumes=True)
