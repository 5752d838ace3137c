"""The closing frame: throughput and p95 for every runtime × tier, the best marked."""

from __future__ import annotations

from tierbench.charts import theme
from tierbench.charts.comparison.frame_parts import banner, format_value, tier_contended
from tierbench.charts.comparison.results import CellFigures, ChartData, RunFacts
from tierbench.charts.tiers import TierHeading

MARKS_NOTE = "★ most throughput   ◆ lowest p95 latency   (means over the measured window)"


def winners(data: ChartData, tier: TierHeading) -> tuple[str | None, str | None]:
    """The runtime with the most throughput and the one with the lowest p95 at a tier."""
    usable = [(runtime, data.cell(runtime, tier.name)) for runtime in data.runtimes]
    usable = [(r, c) for r, c in usable if c.status is None]
    fastest = max(usable, key=lambda rc: rc[1].rps or 0.0, default=(None, None))[0]
    quickest = min(
        (rc for rc in usable if rc[1].p95_ms is not None),
        key=lambda rc: rc[1].p95_ms,
        default=(None, None),
    )[0]
    return fastest, quickest


def table_figure(data: ChartData, width: int, height: int) -> dict:
    """Throughput and p95 for every runtime × tier, the best of each tier marked."""
    layout = theme.base_layout(width, height)
    font_size = layout["font"]["size"]
    columns: list[list[str]] = [[f"<b>{r}</b>" for r in data.runtimes]]
    fills: list[list[str]] = [["#FFFFFF"] * len(data.runtimes)]
    for tier in data.tiers:
        texts, fill = _tier_column(data, tier)
        columns.append(texts)
        fills.append(fill)
    row_height = max(28, min(70, round(height * 0.55 / max(len(data.runtimes), 1))))
    trace = _table_trace(data, columns, fills, row_height, font_size)
    facts = data.facts
    annotations = banner("Results by tier", _run_subtitle(facts), font_size)
    saturated = (
        f"<br>⚠ load side saturated in {', '.join(facts.load_side_saturated)}: "
        "figures may be capped by the host"
        if facts.load_side_saturated
        else ""
    )
    yardstick = f"<br>{facts.yardstick}" if facts.yardstick else ""
    footer, _ = theme.footer_and_legend(
        MARKS_NOTE + saturated + yardstick, 0.5, 0.04, font_size, xanchor="center", yanchor=None
    )
    annotations.append(footer)
    layout.update({"annotations": annotations, "margin": {"l": 10, "r": 10, "t": 10, "b": 10}})
    return {"data": [trace], "layout": layout}


def _tier_column(data: ChartData, tier: TierHeading) -> tuple[list[str], list[str]]:
    """A tier's column: each runtime's cell text, and its fill (the fastest's shaded)."""
    fastest, quickest = winners(data, tier)
    texts, fill = [], []
    for runtime in data.runtimes:
        cell = data.cell(runtime, tier.name)
        texts.append(_cell_text(cell, runtime == fastest, runtime == quickest))
        fill.append("#F3F7FB" if runtime == fastest else "#FFFFFF")
    return texts, fill


def _cell_text(cell: CellFigures, fastest: bool, quickest: bool) -> str:
    """Throughput over p95, the tier's best marked; or why the cell has no figures."""
    if theme.has_no_figures(cell.status):
        return f"<span style='color:{theme.PROBLEM}'>{cell.status}</span>"
    rps = f"{format_value(cell.rps)} req/s"
    p95 = f"p95 {format_value(cell.p95_ms, ' ms')}"
    if fastest:
        rps = f"<b>★ {rps}</b>"
    if quickest:
        p95 = f"<b>◆ {p95}</b>"
    text = f"{rps}<br>{p95}"
    if cell.status == theme.ALL_FAILED:
        text = f"{rps}<br><span style='color:{theme.PROBLEM}'>{cell.status}</span>"
    if cell.crashed:
        text += f"<br><span style='color:{theme.PROBLEM}'>⚠ crashed mid-load</span>"
    return text


def _table_trace(
    data: ChartData,
    columns: list[list[str]],
    fills: list[list[str]],
    row_height: int,
    font_size: int,
) -> dict:
    colours = theme.runtime_colours(data.runtimes)
    header = ["<b>runtime</b>"] + [
        f"<b>{theme.tier_label(t.name)}</b><br>{theme.format_limits(t.cpus, t.memory_bytes)}"
        + ("<br>⚠ shared CPUs with k6" if tier_contended(data, t) else "")
        for t in data.tiers
    ]
    return {
        "type": "table",
        "domain": {"x": [0.04, 0.96], "y": [0.10, 0.80]},
        "columnwidth": [0.7] + [1.0] * len(data.tiers),
        "header": {
            "values": header,
            "align": "center",
            "height": round(row_height * 0.9),
            "fill": {"color": "#EEF1F4"},
            "line": {"color": "#CCCCCC"},
            "font": {"size": font_size + 1, "color": theme.TEXT},
        },
        "cells": {
            "values": columns,
            "align": "center",
            "height": row_height,
            "fill": {"color": fills},
            "line": {"color": "#DDDDDD"},
            "font": {
                "size": font_size + 2,
                "color": [[colours[r] for r in data.runtimes]]
                + [[theme.TEXT] * len(data.runtimes)] * len(data.tiers),
            },
        },
    }


def _run_subtitle(facts: RunFacts) -> str:
    """`profile smoke · 2-core host · 2026-11-28`, of what the run's records say."""
    return " · ".join(
        part
        for part in [
            f"profile {facts.profile}" if facts.profile else None,
            f"{facts.host_cores}-core host" if facts.host_cores else None,
            facts.date,
        ]
        if part
    )
