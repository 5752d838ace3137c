"""The right-sizing report (results/recommendation.md and .json) from a capacity sweep.

At the SLO the search ran with, each cell's capacity is its verdict. At another SLO, the
cell's full steps are judged again (a step's latency against the new SLO, its other
tests as they were), and the capacity is the best step that passes below every step
that fails: exact for a stricter SLO; for a looser one, the search never went past its
own knee, so the figure is a lower bound and says so.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import polars as pl

from tierbench.capacity.rightsizing import Option, cheapest, plan_options
from tierbench.capacity.settings import CapacitySettings, Price


def capacity_at_slo(record: dict[str, Any], slo_ms: float) -> tuple[float | None, bool]:
    """(capacity req/s, lower bound) of one cell's steps judged at `slo_ms`."""
    settings = record.get("settings") or {}
    label = f"p{settings.get('percentile', 99):g} "
    judged = []
    for step in record["steps"]:
        if step["phase"] == "probe":
            continue
        reasons = [r for r in (step["reasons"] or "").split("; ") if r]
        others = [r for r in reasons if not r.startswith(label)]
        latency = step["percentile_ms"]
        passes = not others and latency is not None and latency <= slo_ms
        judged.append((step["offered_rate"], step["rps"], passes))
    failing = [rate for rate, _, passes in judged if not passes]
    ceiling = min(failing) if failing else float("inf")
    passing = [rps for rate, rps, passes in judged if passes and rate < ceiling]
    capacity = max(passing) if passing else None
    searched_at = settings.get("slo_ms", slo_ms)
    lower = bool(record["verdict"]["lower_bound"]) or slo_ms > searched_at
    return capacity, lower


def rejudged(capacity: pl.DataFrame, records: list[dict[str, Any]], slo_ms: float) -> pl.DataFrame:
    """The capacity table with every cell's capacity judged at `slo_ms`."""
    found = {(r["runtime"], r["tier"]): capacity_at_slo(r, slo_ms) for r in records}
    rows = []
    for row in capacity.iter_rows(named=True):
        value, lower = found.get((row["runtime"], row["tier"]), (None, True))
        rows.append(row | {"capacity_rps": value, "lower_bound": lower, "slo_ms": slo_ms})
    return pl.DataFrame(rows, schema=capacity.schema)


def recommendation(
    capacity: pl.DataFrame,
    settings: CapacitySettings,
    prices: list[Price],
    target_rps: float,
    slo_ms: float | None = None,
    records: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    searched = capacity["slo_ms"].drop_nulls()
    slo = slo_ms if slo_ms is not None else (searched[0] if searched.len() else settings.slo_ms)
    if slo_ms is not None and records is not None:
        capacity = rejudged(capacity, records, slo_ms)
    options = plan_options(capacity, prices, target_rps, settings.headroom, settings.memory_margin)
    best = cheapest(options)
    return {
        "target_rps": target_rps,
        "slo_ms": slo,
        "percentile": settings.percentile,
        "headroom": settings.headroom,
        "memory_margin": settings.memory_margin,
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


def _money(value: float | None, digits: int = 4) -> str:
    return "–" if value is None else f"${value:,.{digits}f}"


def _capacity(option: Option) -> str:
    if option.capacity_rps is None:
        return "none"
    return f"{'≥ ' if option.lower_bound else ''}{option.capacity_rps:,.0f}"


def recommendation_markdown(report: dict[str, Any]) -> str:
    options = [Option(**o) for o in report["options"]]
    providers = [p["name"] for p in report["prices"]]
    lines = [
        "# Right-sizing",
        "",
        f"For **{report['target_rps']:,.0f} req/s** with p{report['percentile']:g} ≤ "
        f"{report['slo_ms']:g} ms: replicas = ceil(target / (capacity × "
        f"{report['headroom']:g})); a tier fits when the peak working set + "
        f"{report['memory_margin']:.0%} stays within its memory limit. Cost is what the "
        "provider bills for each replica's size (rounded up to a size it offers).",
        "",
        "## The cheapest choice",
        "",
    ]
    by_runtime: dict[str, list[dict]] = {}
    for option in report["cheapest"]:
        by_runtime.setdefault(option["runtime"], []).append(option)
    if not by_runtime:
        lines.append("No tier meets the SLO and fits in memory: no recommendation.")
    for runtime, choices in by_runtime.items():
        for option in choices:
            bound = " (capacity is a lower bound)" if option["lower_bound"] else ""
            lines.append(
                f"- **{runtime}** on {option['provider']}: tier **{option['tier']}** × "
                f"{option['replicas']} replica{'s' if option['replicas'] != 1 else ''}, "
                f"{_money(option['cost_per_hour'], 3)}/hour, "
                f"{_money(option['cost_per_million'])} per million requests{bound}"
            )
    for runtime in dict.fromkeys(o.runtime for o in options):
        lines += [
            "",
            f"## {runtime}",
            "",
            "| tier | CPUs | memory | capacity req/s | replicas | fits memory | "
            + " | ".join(f"{p}: size · $/hour · $/M req" for p in providers)
            + " |",
            "| --- | --- | --- | --- | --- | --- | " + " | ".join("---" for _ in providers) + " |",
        ]
        tiers = dict.fromkeys(o.tier for o in options if o.runtime == runtime)
        for tier in tiers:
            row = [o for o in options if o.runtime == runtime and o.tier == tier]
            first = row[0]
            cells = [
                tier,
                f"{first.cpus:g}",
                f"{first.memory_bytes / 2**20:,.0f} MiB",
                _capacity(first),
                "–" if first.replicas is None else str(first.replicas),
                "yes" if first.memory_fits else "**no**",
            ]
            for option in row:
                if option.cost_per_hour is None:
                    cells.append(option.note or "–")
                    continue
                size = f"{option.billed_vcpu:g} vCPU / {option.billed_gb:g} GB"
                text = (
                    f"{size} · {_money(option.cost_per_hour, 3)} · "
                    f"{_money(option.cost_per_million)}"
                )
                cells.append(text if option.viable else f"~~{text}~~ ({option.note})")
            lines.append("| " + " | ".join(cells) + " |")
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
