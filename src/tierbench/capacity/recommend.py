"""The right-sizing report (results/recommendation.md and .json) from a capacity sweep.

At the SLO the search ran with, each cell's capacity is its verdict. At another SLO,
every step on record is judged again, probes included (a step's latency against the new
SLO, its other tests as they were), and the capacity is the highest rate that passed
below every rate that failed, with the full holds it passed: exact for a stricter SLO
(a rate the probes alone passed is named unconfirmed); for a looser one the search never
went past its own knee, so the figure is a lower bound and says so. Where no step on
record passes the new SLO, the record cannot answer, and the report gives the command
that searches again at it.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, replace
from typing import Any

import polars as pl

from tierbench.capacity.record import CapacityRecord
from tierbench.capacity.rightsizing import Option, cheapest, plan_options
from tierbench.capacity.settings import CapacitySettings, Price
from tierbench.capacity.steps import StepResult


@dataclass(frozen=True)
class Rejudged:
    """One cell's capacity at another SLO than its search's."""

    capacity_rps: float | None
    lower_bound: bool
    confirmations: int
    needed: int

    @property
    def answered(self) -> bool:
        return self.capacity_rps is not None


def _judged_steps(record: CapacityRecord, slo_ms: float) -> list[tuple[float, StepResult, bool]]:
    """(rate, step, passes at `slo_ms`) of every step on record but the tries that were
    held again with more VUs (their second try stands for them)."""
    label = f"p{record.settings.get('percentile', 99):g} "
    judged = []
    for step in record.steps:
        if any(r.startswith("held again") for r in step.reasons):
            continue
        others = [r for r in step.reasons if not r.startswith(label)]
        latency = step.percentile_ms
        passes = not others and latency is not None and latency <= slo_ms
        judged.append((step.offered_rate, step, passes))
    return judged


def capacity_at_slo(record: CapacityRecord, slo_ms: float) -> Rejudged:
    """One cell's steps judged at `slo_ms`."""
    needed = int(record.settings.get("confirmations") or 1)
    judged = _judged_steps(record, slo_ms)
    ceiling = min((rate for rate, _, passes in judged if not passes), default=float("inf"))
    passing = [(rate, step) for rate, step, passes in judged if passes and rate < ceiling]
    searched_at = record.settings.get("slo_ms", slo_ms)
    lower = record.verdict.lower_bound or slo_ms > searched_at
    if not passing:
        return Rejudged(None, lower, 0, needed)
    by_rate: dict[float, list[StepResult]] = {}
    for rate, step in passing:
        by_rate.setdefault(rate, []).append(step)

    def holds(rate: float) -> list[StepResult]:
        return [s for s in by_rate[rate] if s.phase != "probe"]

    confirmed = [r for r in by_rate if len(holds(r)) >= needed]
    rate = max(confirmed) if confirmed else max(by_rate)
    counted = holds(rate) or by_rate[rate]
    capacity = statistics.fmean(s.rps or 0.0 for s in counted)
    return Rejudged(capacity, lower, len(holds(rate)), needed)


def rejudged(
    capacity: pl.DataFrame, records: list[CapacityRecord], slo_ms: float
) -> tuple[pl.DataFrame, dict[tuple[str, str], Rejudged]]:
    """The capacity table with every cell's capacity judged at `slo_ms`, and each cell's
    judgement."""
    found: dict[tuple[str, str], list[Rejudged]] = {}
    for record in records:
        key = (record.runtime, record.tier)
        found.setdefault(key, []).append(capacity_at_slo(record, slo_ms))
    merged = {key: _weakest(values) for key, values in found.items()}
    rows = []
    for row in capacity.iter_rows(named=True):
        cell = merged.get((row["runtime"], row["tier"]), Rejudged(None, True, 0, 0))
        rows.append(
            row
            | {
                "capacity_rps": cell.capacity_rps,
                "lower_bound": cell.lower_bound,
                "confirmations": cell.confirmations,
                "confirmations_needed": cell.needed,
                "confirmed": cell.answered and cell.confirmations >= cell.needed,
                "unconfirmed_why": None
                if cell.confirmations >= cell.needed
                else "passed at this SLO in probes only"
                if cell.confirmations == 0
                else f"passed {cell.confirmations} full holds at this SLO",
                "slo_ms": slo_ms,
            }
        )
    return pl.DataFrame(rows, schema=capacity.schema), merged


def _weakest(values: list[Rejudged]) -> Rejudged:
    """A cell searched several times: the mean capacity, the fewest confirmations."""
    answered = [v for v in values if v.answered]
    if len(answered) < len(values):
        return Rejudged(None, any(v.lower_bound for v in values), 0, values[0].needed)
    return Rejudged(
        statistics.fmean(v.capacity_rps for v in answered),  # type: ignore[misc]
        any(v.lower_bound for v in values),
        min(v.confirmations for v in values),
        values[0].needed,
    )


def rerun_line(slo_ms: float, cells: list[str]) -> str:
    """The command that searches these cells again at `slo_ms`."""
    targets = " ".join(f"results/capacity/{cell}.json" for cell in cells)
    return (
        f"snakemake --cores 1 {targets} --config 'capacity={{slo_ms: {slo_ms:g}}}' "
        "&& snakemake --cores 1 capacity --config "
        f"'capacity={{slo_ms: {slo_ms:g}}}'"
    )


def recommendation(
    capacity: pl.DataFrame,
    settings: CapacitySettings,
    prices: list[Price],
    target_rps: float,
    slo_ms: float | None = None,
    records: list[CapacityRecord] | None = None,
) -> dict[str, Any]:
    searched = capacity["slo_ms"].drop_nulls()
    slo = slo_ms if slo_ms is not None else (searched[0] if searched.len() else settings.slo_ms)
    unanswered: list[str] = []
    if slo_ms is not None and records is not None:
        capacity, judged = rejudged(capacity, records, slo_ms)
        unanswered = sorted(
            record.cell for record in records if not judged[(record.runtime, record.tier)].answered
        )
    options = plan_options(
        capacity, prices, target_rps, settings.headroom, settings.memory_margin, settings.ha
    )
    best = cheapest(options)
    return {
        "target_rps": target_rps,
        "slo_ms": slo,
        "percentile": settings.percentile,
        "headroom": settings.headroom,
        "ha": settings.ha,
        "memory_margin": settings.memory_margin,
        "cautions": cautions(capacity),
        "unanswered": unanswered,
        "rerun": rerun_line(slo, unanswered) if unanswered else None,
        "prices": [
            {
                "name": p.name,
                "vcpu_hour": p.vcpu_hour,
                "gb_hour": p.gb_hour,
                "sizing": p.sizing,
                "source": p.source,
                "date": p.date,
            }
            for p in prices
        ],
        "options": [o.as_dict() for o in options],
        "cheapest": [o.as_dict() for o in best.values()],
    }


def cautions(capacity: pl.DataFrame) -> list[str]:
    """What a reader must know of the inputs: capacities that are lower bounds, and
    capacities short of their k full holds."""
    notes = []
    for row in capacity.iter_rows(named=True):
        cell = f"{row['runtime']} at {row['tier']}"
        if row["capacity_rps"] is None:
            continue
        if row["lower_bound"]:
            notes.append(
                f"{cell}: ≥ {row['capacity_rps']:,.0f} req/s is a lower bound "
                f"({row['limited_by']}), so its replicas may be more than it needs."
            )
        needed = row.get("confirmations_needed") or 0
        if needed and not row.get("confirmed"):
            notes.append(
                f"{cell}: {row['capacity_rps']:,.0f} req/s passed {row['confirmations']} of "
                f"{needed} full holds ({row.get('unconfirmed_why') or 'unconfirmed'}): "
                "unconfirmed, so its replicas may be too few."
            )
    return notes


def _money(value: float | None, digits: int = 4) -> str:
    return "–" if value is None else f"${value:,.{digits}f}"


def _capacity(option: Option) -> str:
    if option.capacity_rps is None:
        return "none"
    return f"{'≥ ' if option.lower_bound else ''}{option.capacity_rps:,.0f}"


def _intro(report: dict[str, Any]) -> list[str]:
    ha = report.get("ha")
    replicas = f"ceil(target / (capacity × {report['headroom']:g}))" + (" + 1" if ha else "")
    spare = (
        " With `ha` on, every choice has one replica more than the target needs, so losing "
        "one still serves the target within the headroom."
        if ha
        else ""
    )
    return [
        "# Right-sizing",
        "",
        f"For **{report['target_rps']:,.0f} req/s** with p{report['percentile']:g} ≤ "
        f"{report['slo_ms']:g} ms: replicas = {replicas}; a tier fits when the peak "
        f"working set + {report['memory_margin']:.0%} stays within its memory limit. Cost is "
        "what the provider bills for each replica's size (rounded up to a size it offers)." + spare,
    ]


def _cheapest_lines(report: dict[str, Any]) -> list[str]:
    lines = ["## The cheapest choice", ""]
    if not report["cheapest"]:
        lines.append("No tier meets the SLO and fits in memory: no recommendation.")
    for option in report["cheapest"]:
        bound = " (capacity is a lower bound)" if option["lower_bound"] else ""
        lines.append(
            f"- **{option['runtime']}** on {option['provider']}: tier **{option['tier']}** × "
            f"{option['replicas']} replica{'s' if option['replicas'] != 1 else ''}, "
            f"{_money(option['cost_per_hour'], 3)}/hour, "
            f"{_money(option['cost_per_million'])} per million requests{bound}"
        )
    return lines


def _care_lines(report: dict[str, Any]) -> list[str]:
    notes = list(report.get("cautions") or [])
    if report.get("unanswered"):
        notes.append(
            f"At {report['slo_ms']:g} ms no step on record passed for "
            f"{', '.join(report['unanswered'])}: the record cannot say their capacity. "
            f"Search them again at this SLO: `{report['rerun']}`"
        )
    if not notes:
        return []
    return ["", "## Read with care", "", *(f"- {note}" for note in notes)]


def _option_cell(option: Option) -> str:
    if option.cost_per_hour is None:
        return option.note or "–"
    size = f"{option.billed_vcpu:g} vCPU / {option.billed_gb:g} GB"
    text = f"{size} · {_money(option.cost_per_hour, 3)} · {_money(option.cost_per_million)}"
    return text if option.viable else f"~~{text}~~ ({option.note})"


def _runtime_table(runtime: str, options: list[Option], providers: list[str]) -> list[str]:
    lines = [
        "",
        f"## {runtime}",
        "",
        "| tier | CPUs | memory | capacity req/s | replicas | fits memory | "
        + " | ".join(f"{p}: size · $/hour · $/M req" for p in providers)
        + " |",
        "| --- | --- | --- | --- | --- | --- | " + " | ".join("---" for _ in providers) + " |",
    ]
    for tier in dict.fromkeys(o.tier for o in options if o.runtime == runtime):
        row = [o for o in options if o.runtime == runtime and o.tier == tier]
        first = row[0]
        cells = [
            tier,
            f"{first.cpus:g}",
            f"{first.memory_bytes / 2**20:,.0f} MiB",
            _capacity(first),
            "–" if first.replicas is None else str(first.replicas),
            "yes" if first.memory_fits else "**no**",
            *(_option_cell(option) for option in row),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def recommendation_markdown(report: dict[str, Any]) -> str:
    options = [Option(**o) for o in report["options"]]
    providers = [p["name"] for p in report["prices"]]
    lines = [*_intro(report), "", *_cheapest_lines(report), *_care_lines(report)]
    for runtime in dict.fromkeys(o.runtime for o in options):
        lines += _runtime_table(runtime, options, providers)
    lines += ["", "## Prices", ""]
    for price in report["prices"]:
        lines.append(
            f"- {price['name']}: ${price['vcpu_hour']} per vCPU-hour, ${price['gb_hour']} per "
            f"GB-hour ({price['source']}, read {price['date']}). Prices change: check the "
            "source before you decide."
        )
    return "\n".join(lines) + "\n"


def with_overrides(settings: CapacitySettings, **values: Any) -> CapacitySettings:
    return replace(settings, **{k: v for k, v in values.items() if v is not None})
