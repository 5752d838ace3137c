"""What the Snakemake workflow needs beyond the rules: the engine's facts for the
pre-flight, image sources, support-service shutdown."""

from __future__ import annotations

import fnmatch
import json
import os
import subprocess
from pathlib import Path

from tierbench.load.docker.compose import compose_client, compose_config, docker_config_dir

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


def dockerignore_patterns(context: Path) -> list[str]:
    ignore = context / ".dockerignore"
    if not ignore.exists():
        return []
    lines = (line.strip() for line in ignore.read_text().splitlines())
    return [line.rstrip("/") for line in lines if line and not line.startswith(("#", "!"))]


def build_context_files(compose_file: Path, project: str, service: str) -> list[str]:
    """The files of a service's build context that shape its image.

    Files the .dockerignore leaves out cannot change the image; node_modules is derived
    from the lock file beside it, which is counted instead.
    """
    build = compose_config(compose_file, project)["services"][service].get("build")
    if not build:
        return []
    context = Path(build["context"])
    skipped = {".git", "__pycache__", ".pytest_cache", "node_modules"}
    patterns = dockerignore_patterns(context)
    files = []
    for path in context.rglob("*"):
        relative = path.relative_to(context)
        if skipped.intersection(relative.parts) or not path.is_file():
            continue
        if any(
            fnmatch.fnmatch(str(relative), pattern.removeprefix("**/"))
            or fnmatch.fnmatch(part, pattern.removeprefix("**/"))
            for pattern in patterns
            for part in relative.parts
        ):
            continue
        files.append(str(path))
    return sorted(files)


def stop_support_services(sweep) -> None:
    """Stop and remove the support services once the sweep ends, whatever the outcome."""
    names = sweep.support_service_names
    if not names:
        return
    client = compose_client([sweep.compose_file], project_name=sweep.project)
    containers = client.compose.ps(services=names, all=True)
    if containers:
        client.container.remove(containers, force=True, volumes=True)
