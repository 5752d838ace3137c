"""Read a capacity sweep's results (its table, the cells' records and the right-sizing
report) into what the charts draw: the capacity charts, and the comparison's capacity panel."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from tierbench.capacity.record import CapacityRecord
from tierbench.charts.tiers import TierHeading
from tierbench.load.yardstick import yardstick_note


@dataclass(frozen=True)
class CapacityCell:
    runtime: str
    tier: str
    capacity_rps: float | None
    lower_bound: bool
    limited_by: str
    workers: int | None
    steps: list[dict[str, Any]]  # in the order they ran
    best_step: str | None
    failing_step: str | None
    status: str = "ok"
    failed_at_rps: float | None = None  # the lowest failing rate above the capacity
    confirmations: int = 0
    confirmations_needed: int = 0

    @property
    def confirmed(self) -> bool:
        return self.capacity_rps is not None and self.confirmations >= self.confirmations_needed

    @property
    def shown(self) -> str:
        if self.status == "failed_to_start":
            return "failed to start"
        if self.capacity_rps is None:
            return "none"
        return f"{'≥ ' if self.lower_bound else ''}{self.capacity_rps:,.0f}"

    @property
    def holds(self) -> str:
        """ "3/3 holds", or "unconfirmed: 1/3 holds"."""
        if self.capacity_rps is None or not self.confirmations_needed:
            return ""
        held = f"{self.confirmations}/{self.confirmations_needed} holds"
        return held if self.confirmed else f"unconfirmed: {held}"


@dataclass(frozen=True)
class CapacityData:
    runtimes: list[str]
    tiers: list[TierHeading]
    cells: dict[tuple[str, str], CapacityCell]
    slo_ms: float
    percentile: float
    costs: dict[tuple[str, str, str], float | None] = field(default_factory=dict)
    cheapest: list[dict[str, Any]] = field(default_factory=list)
    providers: list[str] = field(default_factory=list)
    target_rps: float | None = None
    host: str = ""
    yardstick: str = ""  # the yardstick's req/s at each tier (tierbench.load.yardstick)
    slo_requests: str | None = None  # "name send_message|send_tool_message", or all

    @property
    def slo_text(self) -> str:
        which = f" of requests with {self.slo_requests}" if self.slo_requests else ""
        return f"{self.percentile_label} of http_req_duration{which} ≤ {self.slo_ms:g} ms"

    def cell(self, runtime: str, tier: str) -> CapacityCell | None:
        return self.cells.get((runtime, tier))

    @property
    def percentile_label(self) -> str:
        return f"p{self.percentile:g}"


def capacity_files(results_dir: Path | str) -> list[Path]:
    """A capacity sweep's files the charts read: its table, the cells' records and the
    right-sizing report."""
    results_dir = Path(results_dir)
    files = [results_dir / "capacity.parquet", *sorted((results_dir / "capacity").glob("*.json"))]
    recommendation = results_dir / "recommendation.json"
    return files + ([recommendation] if recommendation.exists() else [])


def load_capacity_data(
    capacity: Path | str, records: list[Path | str], recommendation: Path | str | None = None
) -> CapacityData:
    """The capacity table, the cells' records (their steps) and the right-sizing report."""
    table = (
        pl.read_parquet(capacity) if str(capacity).endswith(".parquet") else pl.read_csv(capacity)
    )
    steps = {}
    for path in records:
        record = CapacityRecord.read(path)
        steps[(record.runtime, record.tier)] = record
    tiers = [
        TierHeading(row["tier"], row["tier_order"], row["cpus"], row["memory_bytes"])
        for row in table.unique("tier", maintain_order=True).iter_rows(named=True)
    ]
    slo = table["slo_ms"].drop_nulls()
    percentile = table["percentile"].drop_nulls()
    data = CapacityData(
        runtimes=list(dict.fromkeys(table["runtime"].to_list())),
        tiers=sorted(tiers, key=lambda t: t.order),
        cells=_cells(table, steps),
        slo_ms=slo[0] if slo.len() else 250.0,
        percentile=percentile[0] if percentile.len() else 99.0,
        host=_host(next(iter(steps.values()), None)),
        yardstick=yardstick_note([(record.tier, record.yardstick) for record in steps.values()]),
        slo_requests=_first(table, "slo_requests"),
    )
    if recommendation is None or not Path(recommendation).exists():
        return data
    return _with_recommendation(data, json.loads(Path(recommendation).read_text()))


def _cells(
    table: pl.DataFrame, records: dict[tuple[str, str], CapacityRecord]
) -> dict[tuple[str, str], CapacityCell]:
    """Each row of the capacity table, with the steps its cell's record holds (as the
    record's JSON keeps them)."""
    cells = {}
    for row in table.iter_rows(named=True):
        record = records.get((row["runtime"], row["tier"]))
        search = record.search if record else {}
        cells[(row["runtime"], row["tier"])] = CapacityCell(
            runtime=row["runtime"],
            tier=row["tier"],
            capacity_rps=row["capacity_rps"],
            lower_bound=bool(row["lower_bound"]),
            limited_by=row["limited_by"],
            workers=row.get("workers"),
            steps=[step.as_row() for step in record.steps] if record else [],
            best_step=search.get("best_step"),
            failing_step=search.get("failing_step"),
            status=row.get("status") or "ok",
            failed_at_rps=row.get("failed_at_rps"),
            confirmations=row.get("confirmations") or 0,
            confirmations_needed=row.get("confirmations_needed") or 0,
        )
    return cells


def _with_recommendation(data: CapacityData, report: dict[str, Any]) -> CapacityData:
    """The capacity data with the right-sizing report's costs, cheapest options and prices."""
    costs = {
        (o["runtime"], o["tier"], o["provider"]): o["cost_per_million"] if o["viable"] else None
        for o in report["options"]
    }
    return CapacityData(
        **{
            **data.__dict__,
            "costs": costs,
            "cheapest": report["cheapest"],
            "providers": [p["name"] for p in report["prices"]],
            "target_rps": report["target_rps"],
        }
    )


def _first(table: pl.DataFrame, column: str) -> Any:
    if column not in table.columns:
        return None
    values = table[column].drop_nulls()
    return values[0] if values.len() else None


def _host(record: CapacityRecord | None) -> str:
    host = (record.host if record else None) or {}
    if not host.get("cores"):
        return ""
    model = f" ({host['cpu_model']})" if host.get("cpu_model") else ""
    return f"{host['cores']}-core host{model}"
