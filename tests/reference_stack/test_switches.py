"""The Python runtime's switches (LLM_CLIENT, FASTAPI_TELEMETRY) take a few values each: an
unknown one stops the runtime at start, before it serves, with a message naming the
variable and the values it takes. The suite's other tests run the runtime with each
switch at its default and, as `python-default`, with both set."""

from __future__ import annotations

import uuid

import pytest

from .conftest import COMPOSE_FILE, build_images, docker_available

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def python_image() -> str:
    """The Python runtime's image, rebuilt from the checkout as the suite does."""
    if not docker_available():
        pytest.fail("no Docker engine answers: run `make test`, which starts one")
    from tierbench.load.docker.compose import compose_client

    docker = compose_client([COMPOSE_FILE], project_name=f"tierbench-test-{uuid.uuid4().hex[:8]}")
    build_images(docker, ["agent-python"])
    return "tierbench/agent-python:latest"


@pytest.mark.parametrize(
    ("variable", "allowed"),
    [("LLM_CLIENT", "aiohttp, httpx"), ("FASTAPI_TELEMETRY", "off, on")],
)
def test_an_unknown_value_stops_the_runtime_at_start(
    python_image: str, variable: str, allowed: str
) -> None:
    from tierbench.load.docker.compose import docker_client

    docker = docker_client()
    # No network at all: the runtime must stop before it would reach anything.
    container = docker.container.run(
        python_image, envs={variable: "requests"}, networks=["none"], detach=True
    )
    try:
        exit_code = docker.container.wait(container)
        logs = docker.container.logs(container)
    finally:
        docker.container.remove(container, force=True)
    assert exit_code == 1, logs
    assert f"{variable}='requests' is not a value it takes; use one of: {allowed}" in logs
