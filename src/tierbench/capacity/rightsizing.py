"""Right-sizing: for a target rate and SLO, every tier's replicas, memory fit and cost, and
the cheapest choice per runtime.

replicas = ceil(target / (capacity x headroom)): a replica is planned to run at
`headroom` (0.7) of its measured capacity, leaving room for bursts. With `ha` (on by
default) one replica more: losing one still serves the target within the headroom.
A tier fits in memory when the highest working set the search saw, plus `memory_margin`
(15 %), stays within its limit. Cost counts what the provider bills for one replica of
the tier: Fargate bills a task at the next valid size (0.25 vCPU with at least 0.5 GB,
0.5 vCPU with 1-4 GB, ...), GKE Autopilot raises requests to its minimums and ratios.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import polars as pl

from tierbench.capacity.settings import Price

GIB = 2**30
# Fargate's valid task sizes, Linux: vCPU -> memory GB from, to, step.
# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-cpu-memory-error.html
FARGATE_SIZES: list[tuple[float, float, float, float]] = [
    (0.25, 0.5, 0.5, 0.5),
    (0.25, 1.0, 2.0, 1.0),
    (0.5, 1.0, 4.0, 1.0),
    (1.0, 2.0, 8.0, 1.0),
    (2.0, 4.0, 16.0, 1.0),
    (4.0, 8.0, 30.0, 1.0),
    (8.0, 16.0, 60.0, 4.0),
    (16.0, 32.0, 120.0, 8.0),
]
# GKE Autopilot, general-purpose class: CPU in steps of 0.25 vCPU from 0.25, memory at
# least 0.5 GiB and between 1 and 6.5 GiB per vCPU.
# https://cloud.google.com/kubernetes-engine/docs/concepts/autopilot-resource-requests
GKE_CPU_STEP, GKE_MIN_MEMORY_GB, GKE_MIN_RATIO, GKE_MAX_RATIO = 0.25, 0.5, 1.0, 6.5


class SizingError(ValueError):
    """A tier larger than any size the provider offers."""


def fargate_size(cpus: float, memory_gb: float) -> tuple[float, float]:
    """The smallest Fargate task size holding `cpus` and `memory_gb` (what it bills)."""
    for vcpu, low, high, step in FARGATE_SIZES:
        if vcpu + 1e-9 < cpus:
            continue
        memory = max(low, math.ceil((memory_gb - 1e-9) / step) * step)
        if memory <= high + 1e-9:
            return vcpu, memory
    raise SizingError(f"no Fargate task size holds {cpus:g} vCPU and {memory_gb:g} GB")


def gke_autopilot_size(cpus: float, memory_gb: float) -> tuple[float, float]:
    """What GKE Autopilot bills for a pod requesting `cpus` and `memory_gb`."""
    vcpu = max(GKE_CPU_STEP, math.ceil((cpus - 1e-9) / GKE_CPU_STEP) * GKE_CPU_STEP)
    memory = max(memory_gb, GKE_MIN_MEMORY_GB, vcpu * GKE_MIN_RATIO)
    if memory > vcpu * GKE_MAX_RATIO:
        vcpu = math.ceil((memory / GKE_MAX_RATIO - 1e-9) / GKE_CPU_STEP) * GKE_CPU_STEP
    return vcpu, memory


def billed_size(price: Price, cpus: float, memory_gb: float) -> tuple[float, float]:
    if price.sizing == "fargate":
        return fargate_size(cpus, memory_gb)
    if price.sizing == "gke-autopilot":
        return gke_autopilot_size(cpus, memory_gb)
    return cpus, memory_gb


@dataclass(frozen=True)
class Option:
    """One runtime at one tier, on one provider, for the target rate."""

    runtime: str
    tier: str
    cpus: float
    memory_bytes: int
    capacity_rps: float | None
    lower_bound: bool
    replicas: int | None
    memory_fits: bool
    provider: str
    billed_vcpu: float | None
    billed_gb: float | None
    cost_per_hour: float | None
    cost_per_million: float | None
    viable: bool
    note: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def plan_options(
    capacity: pl.DataFrame,
    prices: list[Price],
    target_rps: float,
    headroom: float,
    memory_margin: float,
    ha: bool = True,
) -> list[Option]:
    options = []
    for row in capacity.iter_rows(named=True):
        rps = row["capacity_rps"]
        peak = row.get("memory_peak_bytes")
        fits = peak is None or peak * (1 + memory_margin) <= row["memory_bytes"]
        replicas = math.ceil(target_rps / (rps * headroom)) + int(ha) if rps else None
        memory_gb = row["memory_bytes"] / GIB
        for price in prices:
            note, vcpu, gb, per_hour, per_million = "", None, None, None, None
            if replicas is None:
                note = "no rate met the SLO at this tier"
            elif not fits:
                note = (
                    f"peak working set {peak / 2**20:,.0f} MiB + {memory_margin:.0%} exceeds "
                    f"the {row['memory_bytes'] / 2**20:,.0f} MiB limit"
                )
            try:
                vcpu, gb = billed_size(price, row["cpus"], memory_gb)
            except SizingError as error:
                note = note or str(error)
            if replicas is not None and vcpu is not None:
                per_hour = replicas * (vcpu * price.vcpu_hour + gb * price.gb_hour)
                per_million = per_hour / (target_rps * 3600) * 1e6
            options.append(
                Option(
                    runtime=row["runtime"],
                    tier=row["tier"],
                    cpus=row["cpus"],
                    memory_bytes=row["memory_bytes"],
                    capacity_rps=rps,
                    lower_bound=bool(row["lower_bound"]),
                    replicas=replicas,
                    memory_fits=fits,
                    provider=price.name,
                    billed_vcpu=vcpu,
                    billed_gb=gb,
                    cost_per_hour=per_hour,
                    cost_per_million=per_million,
                    viable=not note and per_hour is not None,
                    note=note,
                )
            )
    return options


def cheapest(options: list[Option]) -> dict[tuple[str, str], Option]:
    """Per runtime and provider, the viable option with the lowest cost per hour."""
    best: dict[tuple[str, str], Option] = {}
    for option in options:
        if not option.viable:
            continue
        key = (option.runtime, option.provider)
        if key not in best or option.cost_per_hour < best[key].cost_per_hour:
            best[key] = option
    return best
