"""A tier as the charts show it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TierHeading:
    """What a chart shows of a tier: its name, its place, and the limits the cells ran
    under as read back (None where no cell says). The tier itself, as configured, is
    `tierbench.config.sweep.Tier`."""

    name: str
    order: int
    cpus: float | None
    memory_bytes: float | None
