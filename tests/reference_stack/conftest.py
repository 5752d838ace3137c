"""Fixtures that run the reference stack in containers for the contract tests.

The stack runs as its own Compose project on ports of its own, so it never collides with a
sweep's containers. The agents run under the smallest tier's limits (0.25 CPU / 256 MB).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "config" / "compose.yaml"

CONFIG_FILE = ROOT / "config" / "config.yaml"
VARIANTS_FILE = ROOT / "config" / "variants.yaml"
# The variants of config/variants.yaml the suite also runs: `python-default` sets both of
# the Python runtime's switches (LLM_CLIENT=httpx, FASTAPI_TELEMETRY=on), so it covers the
# other two variants' code paths at the cost of one more container.
CONTRACT_VARIANTS = ["python-default"]


@dataclass(frozen=True)
class VariantService:
    """A variant row run as a Compose service of its own in the test stack: its runtime's
    service (image and settings) with the variant's environment over it."""

    base: str
    environment: dict[str, str]


def configured_runtimes() -> dict[str, str]:
    """Runtime name -> Compose service, as config/config.yaml lists them: every runtime
    in a sweep must pass the contract suite."""
    runtimes = yaml.safe_load(CONFIG_FILE.read_text())["runtimes"]
    return {name: spec["service"] for name, spec in runtimes.items()}


def contract_variants() -> dict[str, tuple[str, VariantService]]:
    """Variant row -> (its service in the test stack, what that service is), for each of
    CONTRACT_VARIANTS as config/variants.yaml defines it."""
    runtimes = yaml.safe_load(VARIANTS_FILE.read_text())["runtimes"]
    variants = {}
    for row in CONTRACT_VARIANTS:
        runtime, _, variant = row.partition("-")
        spec = runtimes[runtime]
        environment = spec["variants"][variant]["environment"]
        variants[row] = (
            f"{spec['service']}-{variant}",
            VariantService(spec["service"], {k: str(v) for k, v in environment.items()}),
        )
    return variants


VARIANTS = contract_variants()
# Runtime name -> the Compose service that runs it in the test stack.
AGENT_SERVICES = configured_runtimes() | {row: service for row, (service, _) in VARIANTS.items()}
VARIANT_SERVICES = dict(VARIANTS.values())


def stack_ports(base: int, runtimes: Iterable[str] = AGENT_SERVICES) -> tuple[int, dict[str, int]]:
    """Ports of a test stack: the mock on `base`, the agents on base+1, base+2, ..."""
    return base, {runtime: base + 1 + i for i, runtime in enumerate(runtimes)}


MOCK_PORT, AGENT_PORTS = stack_ports(18100)
SMALLEST_TIER = {"cpus": "0.25", "memory": "268435456"}
TIER_M = {"cpus": "1.0", "memory": "1073741824"}
TIER_L = {"cpus": "2.0", "memory": "2147483648"}
# Short enough to test timeouts quickly, long enough for a cold container under 0.25 CPU.
LLM_TIMEOUT_MS = 2000
SESSION_MAX_TURNS = 3
MAX_BODY_BYTES = 65536
SESSION_MAX = 300
SESSION_TTL_S = 6


@dataclass(frozen=True)
class Stack:
    mock_url: str
    agent_urls: dict[str, str]
    project: str
    docker: object


def docker_available() -> bool:
    from tierbench.load.docker.compose import docker_client

    try:
        docker_client().info()
    except Exception:  # any failure means: no engine to talk to
        return False
    return True


def stack_override(
    project_dir: Path,
    mock_port: int,
    agent_ports: dict[str, int],
    limits: dict[str, str],
    environment: dict[str, str] | None = None,
) -> Path:
    mock = f"http://127.0.0.1:{mock_port}"
    agent_environment = {
        "LLM_BASE_URL": f"{mock}/v1",
        "LANGFUSE_BASE_URL": mock,
        "LANGFUSE_HOST": mock,
        "LANGFUSE_FLUSH_INTERVAL": "0.5",
        "TRACING": "on",
        "LLM_TIMEOUT_MS": str(LLM_TIMEOUT_MS),
        "SESSION_MAX_TURNS": str(SESSION_MAX_TURNS),
        "MAX_BODY_BYTES": str(MAX_BODY_BYTES),
        "SESSION_MAX": str(SESSION_MAX),
        "SESSION_TTL_S": str(SESSION_TTL_S),
        **(environment or {}),
    }
    services: dict = {"mock-llm": {"environment": {"PORT": str(mock_port)}}}
    for runtime in agent_ports:
        service = AGENT_SERVICES[runtime]
        services[service] = {
            "environment": {**agent_environment, "PORT": str(agent_ports[runtime])},
            "deploy": {"resources": {"limits": limits}},
        }
        if variant := VARIANT_SERVICES.get(service):
            services[service]["extends"] = {"file": str(COMPOSE_FILE), "service": variant.base}
            services[service]["environment"] |= variant.environment
            # Its spans are sent under its own service name, as each runtime's are.
            services[service]["environment"]["OTEL_SERVICE_NAME"] = service
    path = project_dir / "override.yaml"
    path.write_text(yaml.safe_dump({"services": services}))
    return path


def wait_healthy(url: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    last_error: object = None
    while time.monotonic() < deadline:
        try:
            response = httpx.get(f"{url}/healthz", timeout=2)
            if response.status_code == 200:
                return
            last_error = response.status_code
        except httpx.HTTPError as error:
            last_error = error
        time.sleep(0.2)
    raise RuntimeError(
        f"{url}/healthz did not answer 200 within {timeout_s} s (last: {last_error})"
    )


def build_images(docker, services: list[str]) -> None:
    """Build the images so tests never run stale ones (BuildKit's cache makes it quick).

    Without the host-fetched build inputs (services/prepare.sh), existing images are used.
    """
    prepared = all(
        (ROOT / "services" / path).exists()
        for path in ["mock-llm/vendor/bun", "agent-ts/node_modules", "agent-python/wheelhouse"]
    )
    if prepared:
        docker.compose.build(services)
        return
    missing = [s for s in services if not docker.image.exists(f"tierbench/{s}:latest")]
    if missing:
        pytest.fail(f"images {missing} are missing: run services/prepare.sh (make test does)")


@contextmanager
def running_stack(
    project_dir: Path,
    mock_port: int,
    agent_ports: dict[str, int],
    limits: dict[str, str],
    environment: dict[str, str] | None = None,
) -> Iterator[Stack]:
    """The mock and the agents `agent_ports` names as a Compose project of their own; always
    taken down."""
    if not docker_available():
        pytest.fail("no Docker engine answers: run `make test`, which starts one")
    from tierbench.load.docker.compose import compose_client

    override = stack_override(project_dir, mock_port, agent_ports, limits, environment)
    project = f"tierbench-test-{uuid.uuid4().hex[:8]}"
    docker = compose_client([COMPOSE_FILE, override], project_name=project)
    services = ["mock-llm", *(AGENT_SERVICES[runtime] for runtime in agent_ports)]
    # A variant's service runs its runtime's image: built once, under the runtime's name.
    build_images(docker, [service for service in services if service not in VARIANT_SERVICES])
    try:
        docker.compose.up(services=services, detach=True, force_recreate=True)
        mock_url = f"http://127.0.0.1:{mock_port}"
        agent_urls = {r: f"http://127.0.0.1:{p}" for r, p in agent_ports.items()}
        for url in [mock_url, *agent_urls.values()]:
            wait_healthy(url)
        yield Stack(mock_url=mock_url, agent_urls=agent_urls, project=project, docker=docker)
    finally:
        docker.compose.down(remove_orphans=True, timeout=2)


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The stack under the smallest tier, for the contract tests."""
    with running_stack(
        tmp_path_factory.mktemp("stack-xs"), MOCK_PORT, AGENT_PORTS, SMALLEST_TIER
    ) as running:
        yield running


@pytest.fixture(params=list(AGENT_PORTS), ids=lambda runtime: f"runtime={runtime}")
def runtime(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def agent(stack: Stack, runtime: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.agent_urls[runtime], timeout=15) as client:
        yield client


@pytest.fixture
def mock(stack: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.mock_url, timeout=15) as client:
        yield client
