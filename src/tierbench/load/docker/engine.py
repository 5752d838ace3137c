"""What the Snakemake workflow needs beyond the rules: the engine's facts for the
pre-flight, support-service shutdown. (The files that shape each image are
`tierbench.load.docker.build_context`.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from python_on_whales.exceptions import DockerException

from tierbench.compose_project import docker_config_dir
from tierbench.load.docker.compose import compose_client

# tierbench's own Docker calls use a private config directory (see compose.py), which
# holds no contexts: they reach DOCKER_HOST, or the default socket.
DEFAULT_ENDPOINT = "unix:///var/run/docker.sock"


def docker_endpoint() -> str:
    """Where tierbench's Docker calls go."""
    return os.environ.get("DOCKER_HOST") or DEFAULT_ENDPOINT


def docker_info(timeout_s: float = 2.0) -> tuple[dict | None, str | None]:
    """The engine's `docker info` as a dict, asked the way tierbench's own calls ask it;
    or None and why no engine answered. Starts nothing."""
    try:
        config = ["--config", str(docker_config_dir())]
    except RuntimeError:
        config = []  # no Compose binary: the pre-flight says so on its own line
    command = ["docker", *config, "info", "--format", "{{json .}}"]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s)
    except FileNotFoundError:
        return None, "the docker command is not installed"
    except subprocess.TimeoutExpired:
        return None, f"it did not answer within {timeout_s:g} s"
    errors = result.stderr.strip().splitlines()
    if result.returncode != 0:
        return None, errors[-1] if errors else f"docker info exited with {result.returncode}"
    try:
        info = json.loads(result.stdout)
    except ValueError:
        return None, f"docker info printed no JSON: {result.stdout.strip()[:200]}"
    if info.get("ServerErrors"):
        return None, "; ".join(info["ServerErrors"])
    return info, None


def stop_support_services(sweep) -> None:
    """Stop and remove the support services once the sweep ends, whatever the outcome."""
    names = sweep.support_service_names
    if not names:
        return
    client = compose_client([sweep.compose_file], project_name=sweep.project)
    try:
        containers = client.compose.ps(services=names, all=True)
        if containers:
            client.container.remove(containers, force=True, volumes=True)
    except DockerException as error:
        # The sweep is over either way; an engine that no longer answers took them along.
        print(
            f"tierbench: could not remove the support services {', '.join(names)}: "
            f"{(error.stderr or str(error)).strip().splitlines()[-1]}",
            file=sys.stderr,
        )
