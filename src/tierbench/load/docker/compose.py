"""Docker Compose v2 and the Docker CLI through python-on-whales: the clients the Docker
backend drives the engine with (the Compose binary comes from `tierbench.compose_project`)."""

from __future__ import annotations

from pathlib import Path

from python_on_whales import DockerClient

from tierbench.compose_project import docker_config_dir


def compose_client(
    compose_files: list[str | Path],
    project_name: str | None = None,
    project_directory: str | Path | None = None,
) -> DockerClient:
    """A python-on-whales client bound to a Compose project (files in merge order)."""
    files = [Path(f) for f in compose_files]
    return DockerClient(
        client_config=None,
        config=str(docker_config_dir()),
        compose_files=files,
        compose_project_name=project_name,
        compose_project_directory=project_directory or files[0].parent,
    )


def docker_client() -> DockerClient:
    """A python-on-whales client for plain Docker calls."""
    return DockerClient(config=str(docker_config_dir()))


def compose_version() -> str:
    return docker_client().compose.version().strip()
