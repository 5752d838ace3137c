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


# Kubernetes applies CPU in millicores (1m) and Docker refuses less than 0.01 CPU.
CPU_RESOLUTION = 0.001
MIN_CPUS = 0.01


@dataclass(frozen=True)
class Limits:
    """A tier's limits, as a pod's: CPUs and memory."""

    cpus: float
    memory_bytes: int

    @property
    def nano_cpus(self) -> int:
        return round(self.cpus * 1e9)

    @property
    def millicores(self) -> int:
        return round(self.cpus * 1000)

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
    """CPUs of a limit: a number of at least 0.01, in whole millicores (0.25, 2, 1.125)."""
    if isinstance(value, bool):
        raise LimitError(f"cpus {value!r} is not a number: write it like 0.25 or 2")
    try:
        cpus = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise LimitError(f"cpus {value!r} is not a number: write it like 0.25 or 2") from None
    if not math.isfinite(cpus) or cpus <= 0:
        raise LimitError(f"cpus {value!r} must be a number greater than 0, like 0.25 or 2")
    if cpus < MIN_CPUS:
        raise LimitError(f"cpus {value!r} is below 0.01, the smallest CPU limit Docker applies")
    millicores = cpus / CPU_RESOLUTION
    if abs(millicores - round(millicores)) > 1e-6:
        raise LimitError(
            f"cpus {value!r} is finer than a CPU limit can be applied: Kubernetes and the "
            "kernel's CFS quota work in millicores, so write at most three decimals "
            f"(e.g. {round(cpus, 3):g})"
        )
    return cpus


def format_cpus(cpus: float) -> str:
    """CPUs written exactly (three decimals at most, no trailing zeros): 0.25, 2, 1.125."""
    return f"{cpus:.3f}".rstrip("0").rstrip(".")


def parse_limits(cpus: object, memory: object) -> Limits:
    return Limits(cpus=parse_cpus(cpus), memory_bytes=parse_memory(memory))


def parse_cpuset(text: str | None) -> frozenset[int]:
    """CPU ids in a cpuset string such as `0-2,5`; empty for "every CPU"."""
    cpus: set[int] = set()
    for part in (text or "").split(","):
        part = part.strip()
        if not part:
            continue
        low, _, high = part.partition("-")
        cpus.update(range(int(low), int(high or low) + 1))
    return frozenset(cpus)


@dataclass(frozen=True)
class LimitSet:
    """Every limit that shapes a measurement, as requested or as read back.

    `memswap_bytes` equal to `memory_bytes` means no swap (as a pod); None means no swap
    limit at all. `cpuset` is the CPUs the runtime may run on ("" for every CPU).
    """

    cpus: float
    memory_bytes: int
    memswap_bytes: int | None
    cpuset: str

    @classmethod
    def for_tier(cls, limits: Limits, cpuset: str) -> LimitSet:
        return cls(limits.cpus, limits.memory_bytes, limits.memory_bytes, cpuset)

    @property
    def limits(self) -> Limits:
        return Limits(self.cpus, self.memory_bytes)

    def as_dict(self) -> dict[str, float | int | str | None]:
        return {
            "cpus": self.cpus,
            "memory_bytes": self.memory_bytes,
            "memswap_bytes": self.memswap_bytes,
            "cpuset": self.cpuset,
        }


def limit_differences(requested: LimitSet, applied: LimitSet, by: str) -> list[tuple[str, str]]:
    """(key, plain description) for every limit `by` applied otherwise than requested."""
    found = []
    if round(applied.cpus * 1e9) != round(requested.cpus * 1e9):
        shown = f"{applied.cpus:.9g}" if applied.cpus else "no CPU limit"
        found.append(("cpus", f"cpus: requested {requested.cpus:g}, {by} applied {shown}"))
    if applied.memory_bytes != requested.memory_bytes:
        shown = f"{applied.memory_bytes} bytes" if applied.memory_bytes else "no memory limit"
        found.append(
            ("memory", f"memory: requested {requested.memory_bytes} bytes, {by} applied {shown}")
        )
    if applied.memswap_bytes != requested.memswap_bytes:

        def swap(value: int | None) -> str:
            return "no swap limit" if value is None else f"{value} bytes"

        found.append(
            (
                "memswap",
                f"memswap: requested {swap(requested.memswap_bytes)} (memory and swap "
                f"together; equal to memory means no swap, as a pod), {by} applied "
                f"{swap(applied.memswap_bytes)}",
            )
        )
    if parse_cpuset(applied.cpuset) != parse_cpuset(requested.cpuset):

        def cpus(text: str) -> str:
            return f"CPUs {text}" if text else "every CPU"

        found.append(
            (
                "cpuset",
                f"cpuset: requested {cpus(requested.cpuset)}, {by} applied {cpus(applied.cpuset)}",
            )
        )
    return found


def format_bytes(size: float) -> str:
    """256 MiB, 1 GiB: sizes as people read tiers."""
    for unit, factor in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if size >= factor:
            value = size / factor
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{size:.0f} B"
