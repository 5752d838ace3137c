"""The sweep's configuration: validated against the schema, then checked against the
compose project and files it names, before any container starts."""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import jsonschema
import yaml

from tierbench.compose_project import (
    ComposeFileError,
    compose_exact_cpus_near,
    compose_nano_cpus,
    read_compose_project,
)
from tierbench.config.kubernetes import (
    KubernetesConfigError,
    KubernetesSettings,
    kubernetes_settings,
)
from tierbench.config.limits import LimitError, Limits, parse_limits
from tierbench.config.variant_images import (
    VariantImageError,
    check_variant_builds,
    variant_image_name,
)

SCHEMA_PATH = Path(__file__).resolve().parents[3] / "workflow" / "schemas" / "config.schema.yaml"
_DURATION_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)")
_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
# The CPU plan of a cluster: the runtime and k6 on nodes of their own (tierbench.load.host).
SEPARATE_NODES = "separate-nodes"


class ConfigError(ValueError):
    """The configuration cannot drive a sweep; the message names the key and the fix."""


def duration_seconds(text: str) -> float:
    return sum(float(n) * _SECONDS[u] for n, u in _DURATION_PART.findall(text))


@dataclass(frozen=True)
class ServiceEndpoint:
    """A service on 127.0.0.1: ready when its health path answers HTTP 200, or, with no
    health path (a database, say), once its port accepts a TCP connection."""

    service: str
    port: int
    health_path: str | None = None
    # Set on the service for this runtime's cells, over the Compose file's own (a
    # runtime's variants differ from it here).
    environment: tuple[tuple[str, str], ...] = ()
    # A variant's build args, over the service's own `build.args`, and the image of its
    # own they build (`variant_image_name`); none and None for the service's own image.
    build_args: tuple[tuple[str, str], ...] = ()
    image: str | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass(frozen=True)
class Tier:
    name: str
    order: int
    limits: Limits


@dataclass(frozen=True)
class Cell:
    runtime: str
    tier: str
    repeat: int

    @property
    def name(self) -> str:
        suffix = "" if self.repeat == 1 else f"-r{self.repeat}"
        return f"{self.runtime}-{self.tier}{suffix}"


@dataclass(frozen=True)
class Sweep:
    config: dict
    compose_file: Path
    project: str
    runtimes: dict[str, ServiceEndpoint]
    support: list[ServiceEndpoint | str]
    tiers: dict[str, Tier]
    k6_script: Path
    profile_name: str
    stages: list[dict]
    warmup_s: float
    repeats: int
    cpu_pinning: str
    health_timeout_s: float
    backend: str = "docker"
    cells: list[Cell] = field(default_factory=list)
    kubernetes: KubernetesSettings = field(default_factory=KubernetesSettings)
    # What shapes each runtime's cells, by runtime name, variants included (runtime_rows).
    runtime_settings: dict[str, dict] = field(default_factory=dict)

    @property
    def parallel_loads(self) -> int:
        """Loads that may run at once: one on a single host, one per node pair in a cluster
        (two loads on one host would measure each other)."""
        return len(self.kubernetes.node_pairs) if self.backend == "kubernetes" else 1

    @property
    def support_service_names(self) -> list[str]:
        return [s if isinstance(s, str) else s.service for s in self.support]

    @property
    def load_duration_s(self) -> float:
        return sum(duration_seconds(stage["duration"]) for stage in self.stages)

    def cell_config(self, cell: Cell) -> dict:
        """Everything in the config that shapes one cell's load, and nothing else."""
        runtime = self.runtime_settings[cell.runtime]
        tier = self.tiers[cell.tier]
        return {
            "compose_file": str(self.compose_file),
            "project": self.project,
            "runtime": {"name": cell.runtime, **runtime},
            "support_services": self.config["support_services"],
            "tier": {"name": cell.tier, **tier.limits.as_dict()},
            "k6_script": str(self.k6_script),
            "profile": {"name": self.profile_name, "stages": self.stages, "warmup": self.warmup_s},
            "cpu_pinning": self.cpu_pinning,
            "repeat": cell.repeat,
        } | self._backend_settings()

    def _backend_settings(self) -> dict:
        """What a cluster adds to a cell's settings (nothing under docker, so Docker
        results made before the kubernetes backend existed keep their hashes)."""
        if self.backend != "kubernetes":
            return {}
        return {
            "backend": self.backend,
            "k6_image": self.kubernetes.k6_image,
            "image_registry": self.kubernetes.image_registry,
            "environment": self.kubernetes.environment,
        }

    def cell_config_hash(self, cell: Cell) -> str:
        text = json.dumps(self.cell_config(cell), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()


def check_compose_applies_exactly(tier: str, cpus: float) -> None:
    """Docker Compose holds CPUs as a 32-bit float: refuse a value it would apply off."""
    if compose_nano_cpus(cpus) == round(cpus * 1e9):
        return
    near = " or ".join(f"{value:g}" for value in compose_exact_cpus_near(cpus))
    raise ConfigError(
        f"config key tiers.{tier}.cpus: {cpus:g} cannot be applied exactly: Docker Compose "
        f"turns it into {compose_nano_cpus(cpus)} NanoCpus instead of {round(cpus * 1e9)} "
        f"(it holds CPUs as a 32-bit float). Use a nearby value it applies exactly: {near}"
    )


def _key_path(error: jsonschema.ValidationError) -> str:
    return ".".join(str(p) for p in error.absolute_path) or "(top level)"


@functools.cache
def _schema(schema_path: Path) -> dict:
    return yaml.safe_load(schema_path.read_text())


def schema_defaults(schema_path: Path = SCHEMA_PATH) -> dict:
    """The schema's `default` of every top-level key that has one: what a config that
    omits the key gets (the built-in tiers and load profiles among them)."""
    properties = _schema(schema_path)["properties"]
    return {
        key: copy.deepcopy(spec["default"]) for key, spec in properties.items() if "default" in spec
    }


def validate_schema(config: dict, schema_path: Path = SCHEMA_PATH) -> None:
    schema = _schema(schema_path)
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path))
    if not errors:
        return
    error = jsonschema.exceptions.best_match(errors)
    key = _key_path(error)
    if error.validator == "additionalProperties":
        known = sorted(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - set(known))
        where = f" under {key}" if error.absolute_path else ""
        raise ConfigError(
            f"unknown config key {', '.join(map(repr, extra))}{where}; known keys: "
            f"{', '.join(known)} (see workflow/schemas/config.schema.yaml)"
        )
    description = error.schema.get("description", "")
    hint = f" ({description})" if description else ""
    raise ConfigError(f"config key {key}: {error.message}{hint}")


def _compose_project(compose_file: Path, project: str | None) -> tuple[str, dict[str, dict]]:
    """The project's name and the services it defines, by name, as Compose itself reads
    the file."""
    try:
        resolved = read_compose_project(compose_file, project)
    except ComposeFileError as error:
        raise ConfigError(f"compose_file {error}") from None
    return resolved.name, resolved.services


def _tiers(config: dict) -> dict[str, Tier]:
    tiers = {}
    for order, (name, tier) in enumerate(config["tiers"].items()):
        try:
            tiers[name] = Tier(name, order, parse_limits(tier["cpus"], tier["memory"]))
        except LimitError as error:
            raise ConfigError(f"config key tiers.{name}: {error}") from None
        if config["backend"] == "docker":
            check_compose_applies_exactly(name, tiers[name].limits.cpus)
    return tiers


def _profile(config: dict) -> tuple[dict, float]:
    """The chosen profile and its warm-up, which must leave something to measure."""
    if config["profile"] not in config["profiles"]:
        raise ConfigError(
            f"config key profile: {config['profile']!r} is not a profile; defined profiles: "
            f"{', '.join(config['profiles'])}"
        )
    profile = config["profiles"][config["profile"]]
    warmup = profile["warmup"] if config["warmup"] is None else config["warmup"]
    load_s = sum(duration_seconds(s["duration"]) for s in profile["stages"])
    if warmup >= load_s:
        raise ConfigError(
            f"config key warmup: {warmup:g} s leaves nothing to measure in profile "
            f"{config['profile']!r}, which loads for {load_s:g} s; lower the warmup"
        )
    return profile, float(warmup)


def _existing_file(config: dict, key: str, base_dir: Path, what: str) -> Path:
    path = base_dir / config[key]
    if not path.is_file():
        raise ConfigError(f"config key {key}: {path} does not exist; point it at your {what}")
    return path


def runtime_rows(config: dict) -> dict[str, dict]:
    """Every runtime the sweep measures, by name, with the settings that shape its cells:
    each configured runtime (without its `variants`), then each of its variants, named
    `{runtime}-{variant}`: the runtime's service and port with the variant's environment
    over the runtime's, and its `build_args` where it gives any (a variant without keeps
    the settings, and so the cells, it had before build args existed). A variant is a row
    like any runtime in every table and chart."""
    rows: dict[str, dict] = {}
    for name, runtime in config["runtimes"].items():
        base = {key: value for key, value in runtime.items() if key != "variants"}
        rows[name] = base
        # A runtime's name has no hyphen (the schema's pattern): no row is named twice.
        for variant, settings in (runtime.get("variants") or {}).items():
            environment = dict(base.get("environment") or {}) | settings.get("environment", {})
            row = base | {"variant_of": name, "environment": environment}
            if settings.get("build_args"):
                row["build_args"] = dict(settings["build_args"])
            rows[f"{name}-{variant}"] = row
    return rows


def _as_strings(variables: dict | None) -> tuple[tuple[str, str], ...]:
    """Variables as the service reads them: names and values as text, sorted."""
    return tuple(sorted((str(k), str(v)) for k, v in (variables or {}).items()))


def _runtimes(
    rows: dict[str, dict], compose_file: Path, project: str, services: dict[str, dict]
) -> dict[str, ServiceEndpoint]:
    runtimes = {}
    for name, runtime in rows.items():
        key = f"runtimes.{runtime.get('variant_of', name)}.service"
        service = runtime["service"]
        if service not in services:
            raise ConfigError(
                f"config key {key}: {compose_file} has no service "
                f"{service!r}; its services: {', '.join(services)}"
            )
        build_args = _as_strings(runtime.get("build_args"))
        runtimes[name] = ServiceEndpoint(
            service,
            runtime["port"],
            runtime["health_path"],
            _as_strings(runtime.get("environment")),
            build_args,
            variant_image_name(project, service, name) if build_args else None,
        )
    return runtimes


def _cells(config: dict, tiers: dict[str, Tier], runtimes: dict) -> list[Cell]:
    """Runtimes fastest, then tiers, then repeats; every cell's name names one cell only."""
    cells = [
        Cell(runtime, tier, repeat)
        for repeat in range(1, config["repeats"] + 1)
        for tier in tiers
        for runtime in runtimes
    ]
    seen: dict[str, Cell] = {}
    for cell in cells:
        if cell.name in seen:
            other = seen[cell.name]
            raise ConfigError(
                f"config keys runtimes and tiers: runtime {cell.runtime!r} at tier "
                f"{cell.tier!r} and runtime {other.runtime!r} at tier {other.tier!r} are both "
                f"named {cell.name!r} in file names; rename a runtime, variant or tier"
            )
        seen[cell.name] = cell
    return cells


def _support(
    config: dict,
    compose_file: Path,
    services: dict[str, dict],
    runtimes: dict[str, ServiceEndpoint],
) -> list[ServiceEndpoint | str]:
    support: list[ServiceEndpoint | str] = []
    for index, entry in enumerate(config["support_services"]):
        service = entry if isinstance(entry, str) else entry["service"]
        if service not in services:
            raise ConfigError(
                f"config key support_services[{index}]: {compose_file} has no service "
                f"{service!r}; its services: {', '.join(services)}"
            )
        if service in {r.service for r in runtimes.values()}:
            raise ConfigError(
                f"config key support_services[{index}]: {service!r} is also a runtime; a "
                "service is either measured or supporting, not both"
            )
        support.append(
            entry
            if isinstance(entry, str)
            else ServiceEndpoint(entry["service"], entry["port"], entry.get("health_path"))
        )
    return support


def load_sweep(raw_config: dict, base_dir: Path = Path(".")) -> Sweep:
    """Validate the config and resolve it into a sweep; ConfigError on the first problem.
    Keys the config omits take the schema's defaults."""
    config = schema_defaults() | dict(raw_config)
    validate_schema(config)
    tiers = _tiers(config)
    profile, warmup = _profile(config)
    k6_script = _existing_file(config, "k6_script", base_dir, "k6 script")
    compose_file = _existing_file(config, "compose_file", base_dir, "Compose file")
    project, services = _compose_project(compose_file, config.get("compose_project"))
    config["compose_project"] = project
    rows = runtime_rows(config)
    runtimes = _runtimes(rows, compose_file, project, services)
    try:
        kubernetes = kubernetes_settings(config["kubernetes"])
        check_variant_builds(rows, services, config["backend"])
    except (KubernetesConfigError, VariantImageError) as error:
        raise ConfigError(str(error)) from None
    return Sweep(
        config=config,
        compose_file=compose_file,
        project=project,
        runtimes=runtimes,
        support=_support(config, compose_file, services, runtimes),
        tiers=tiers,
        k6_script=k6_script,
        profile_name=config["profile"],
        stages=profile["stages"],
        warmup_s=warmup,
        repeats=config["repeats"],
        # In a cluster the runtime has a node of its own, and k6 another: no CPU to pin.
        cpu_pinning=SEPARATE_NODES if config["backend"] == "kubernetes" else config["cpu_pinning"],
        backend=config["backend"],
        health_timeout_s=float(config["health_timeout"]),
        cells=_cells(config, tiers, runtimes),
        kubernetes=kubernetes,
        runtime_settings=rows,
    )
