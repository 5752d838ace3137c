"""The closing frame: throughput and p95 for every runtime × tier, the best marked."""

from __future__ import annotations

from tierbench.charts import theme
from tierbench.charts.data import ChartData
from tierbench.charts.frame_parts import banner, format_value, tier_contended
from tierbench.charts.tiers import TierHeading


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
    colours = theme.runtime_colours(data.runtimes)
    layout = theme.base_layout(width, height)
    font_size = layout["font"]["size"]
    header = ["<b>runtime</b>"] + [
        f"<b>{theme.tier_label(t.name)}</b><br>{theme.format_limits(t.cpus, t.memory_bytes)}"
        + ("<br>⚠ shared CPUs with k6" if tier_contended(data, t) else "")
        for t in data.tiers
    ]
    columns: list[list[str]] = [[f"<b>{r}</b>" for r in data.runtimes]]
    fills: list[list[str]] = [["#FFFFFF"] * len(data.runtimes)]
    for tier in data.tiers:
        fastest, quickest = winners(data, tier)
        texts, fill = [], []
        for runtime in data.runtimes:
            cell = data.cell(runtime, tier.name)
            if theme.has_no_figures(cell.status):
                texts.append(f"<span style='color:{theme.PROBLEM}'>{cell.status}</span>")
            else:
                rps = f"{format_value(cell.rps)} req/s"
                p95 = f"p95 {format_value(cell.p95_ms, ' ms')}"
                if runtime == fastest:
                    rps = f"<b>★ {rps}</b>"
                if runtime == quickest:
                    p95 = f"<b>◆ {p95}</b>"
                text = f"{rps}<br>{p95}"
                if cell.status == theme.ALL_FAILED:
                    text = f"{rps}<br><span style='color:{theme.PROBLEM}'>{cell.status}</span>"
                if cell.crashed:
                    text += f"<br><span style='color:{theme.PROBLEM}'>⚠ crashed mid-load</span>"
                texts.append(text)
            fill.append("#F3F7FB" if runtime == fastest else "#FFFFFF")
        columns.append(texts)
        fills.append(fill)
    row_height = max(28, min(70, round(height * 0.55 / max(len(data.runtimes), 1))))
    trace = {
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
    facts = data.facts
    subtitle = " · ".join(
        part
        for part in [
            f"profile {facts.profile}" if facts.profile else None,
            f"{facts.host_cores}-core host" if facts.host_cores else None,
            facts.date,
        ]
        if part
    )
    annotations = banner("Results by tier", subtitle, font_size)
    saturated = (
        f"<br>⚠ load side saturated in {', '.join(facts.load_side_saturated)}: "
        "figures may be capped by the host"
        if facts.load_side_saturated
        else ""
    )
    annotations.append(
        {
            "text": "★ most throughput   ◆ lowest p95 latency   (means over the measured window)"
            + saturated,
            "x": 0.5,
            "y": 0.04,
            "xref": "paper",
            "yref": "paper",
            "xanchor": "center",
            "showarrow": False,
            "font": {"size": font_size, "color": theme.MUTED},
        }
    )
    layout.update({"annotations": annotations, "margin": {"l": 10, "r": 10, "t": 10, "b": 10}})
    return {"data": [trace], "layout": layout}
