"""What the Snakemake workflow needs beyond the rules: engine check, image sources,
support-service shutdown."""

from __future__ import annotations

import fnmatch
import subprocess
import sys
from pathlib import Path

from tierbench.load.docker.compose import compose_client, compose_config

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
