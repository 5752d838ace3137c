"""Resource limits of a tier: parsing what users write, comparing with what Docker applied."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

# Docker's units are binary whatever the spelling (256MB, 256M and 256Mi are all 256 MiB),
# so a tier written as in a Compose file means exactly what Compose would apply.
_MEMORY_UNITS = {
    "": 1,
    "b": 1,
    "k": 1024,
    "kb": 1024,
    "ki": 1024,
    "kib": 1024,
    "m": 1024**2,
    "mb": 1024**2,
    "mi": 1024**2,
    "mib": 1024**2,
    "g": 1024**3,
    "gb": 1024**3,
    "gi": 1024**3,
    "gib": 1024**3,
    "t": 1024**4,
    "tb": 1024**4,
    "ti": 1024**4,
    "tib": 1024**4,
}
_MEMORY_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$")
# Docker refuses a memory limit below 6 MiB.
MIN_MEMORY_BYTES = 6 * 1024**2


class LimitError(ValueError):
    """A CPU or memory limit that cannot be applied."""


@dataclass(frozen=True)
class Limits:
    cpus: float
    memory_bytes: int

    def as_dict(self) -> dict[str, float | int]:
        return {"cpus": self.cpus, "memory_bytes": self.memory_bytes}


def parse_memory(value: object) -> int:
    """Bytes in a memory limit such as `256MB`, `1Gi`, `512m` or a plain byte count."""
    if isinstance(value, bool):
        raise LimitError(f"memory {value!r} is not a size: write it like 256MB, 1GB or 1Gi")
    if isinstance(value, int):
        size = value
    else:
        match = _MEMORY_PATTERN.match(str(value))
        unit = match.group(2).lower() if match else None
        if match is None or unit not in _MEMORY_UNITS:
            raise LimitError(
                f"memory {value!r} is not a size: write a number with one of the units "
                "B, K/KB/Ki, M/MB/Mi, G/GB/Gi, T/TB/Ti (binary, as Docker reads them), e.g. 256MB"
            )
        size = int(float(match.group(1)) * _MEMORY_UNITS[unit])
    if size < MIN_MEMORY_BYTES:
        raise LimitError(
            f"memory {value!r} is {size} bytes; Docker needs at least 6MB for a container"
        )
    return size


def parse_cpus(value: object) -> float:
    """CPUs of a limit, a positive number such as 0.25 or 2."""
    if isinstance(value, bool):
        raise LimitError(f"cpus {value!r} is not a number: write it like 0.25 or 2")
    try:
        cpus = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise LimitError(f"cpus {value!r} is not a number: write it like 0.25 or 2") from None
    if not math.isfinite(cpus) or cpus <= 0:
        raise LimitError(f"cpus {value!r} must be a number greater than 0, like 0.25 or 2")
    # Docker applies CPUs in units of 1e-9 (NanoCpus); finer requests cannot be honoured.
    if abs(round(cpus * 1e9) - cpus * 1e9) > 1e-3:
        raise LimitError(f"cpus {value!r} is finer than Docker can apply (9 decimal places)")
    return cpus


def parse_limits(cpus: object, memory: object) -> Limits:
    return Limits(cpus=parse_cpus(cpus), memory_bytes=parse_memory(memory))


def limits_from_inspect(host_config: dict) -> Limits:
    """The limits Docker applied, from `docker inspect`'s HostConfig (NanoCpus, Memory).

    Compose may express CPUs as a CFS quota instead of NanoCpus; both are read.
    """
    nano_cpus = host_config.get("NanoCpus") or 0
    if nano_cpus:
        cpus = nano_cpus / 1e9
    elif host_config.get("CpuQuota") and host_config.get("CpuPeriod"):
        cpus = host_config["CpuQuota"] / host_config["CpuPeriod"]
    else:
        cpus = 0.0
    return Limits(cpus=cpus, memory_bytes=int(host_config.get("Memory") or 0))


def limit_mismatches(requested: Limits, applied: Limits) -> list[str]:
    """Plain descriptions of every way the applied limits differ from the requested ones."""
    problems = []
    if abs(applied.cpus - requested.cpus) > 1e-9:
        shown = f"{applied.cpus:g}" if applied.cpus else "no CPU limit"
        problems.append(f"cpus: requested {requested.cpus:g}, Docker applied {shown}")
    if applied.memory_bytes != requested.memory_bytes:
        shown = f"{applied.memory_bytes} bytes" if applied.memory_bytes else "no memory limit"
        problems.append(f"memory: requested {requested.memory_bytes} bytes, Docker applied {shown}")
    return problems


def format_bytes(size: float) -> str:
    """256 MiB, 1 GiB: sizes as people read tiers."""
    for unit, factor in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if size >= factor:
            value = size / factor
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{size:.0f} B"
