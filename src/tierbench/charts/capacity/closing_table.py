"""The capacity charts' closing table: each runtime's capacity, why it stopped, and the
cheapest tier."""

from __future__ import annotations

from tierbench.charts import theme
from tierbench.charts.capacity.figure_parts import footer
from tierbench.charts.capacity_results import CapacityData


def capacity_table_figure(data: CapacityData, width: int, height: int) -> dict:
    """The closing table: each runtime's capacity, why it stopped, and the cheapest tier."""
    layout = theme.base_layout(width, height)
    font_size = layout["font"]["size"]
    note, _ = theme.footer_and_legend(footer(data), 0.03, 0.02, font_size - 3, align="left")
    layout["annotations"] = [
        theme.paper_text(
            "<b>Capacity at the SLO</b>", 0.5, 0.97, round(font_size * 1.8), xanchor="center"
        ),
        theme.paper_text(_subtitle(data), 0.5, 0.9, font_size, xanchor="center", color=theme.MUTED),
        note,
    ]
    layout["margin"] = {"l": 10, "r": 10, "t": 10, "b": 10}
    return {"data": [_table_trace(data, font_size)], "layout": layout}


def _columns(data: CapacityData) -> list[list[str]]:
    """The tiers with their limits, then each runtime's capacity and what limited it."""
    columns: list[list[str]] = [
        [
            f"<b>{theme.tier_label(t.name)}</b><br>{theme.format_limits(t.cpus, t.memory_bytes)}"
            for t in data.tiers
        ]
    ]
    for runtime in data.runtimes:
        column = []
        for tier in data.tiers:
            cell = data.cell(runtime, tier.name)
            column.append(
                theme.NO_DATA
                if cell is None
                else f"<b>{cell.shown}</b> req/s<br>limited by {cell.limited_by}"
                + (f"<br>{cell.holds}" if cell.holds else "")
            )
        columns.append(column)
    return columns


def _table_trace(data: CapacityData, font_size: int) -> dict:
    header = ["tier", *data.runtimes]
    colours = theme.runtime_colours(data.runtimes)
    return {
        "type": "table",
        "domain": {"x": [0.03, 0.97], "y": [0.16, 0.86]},
        "columnwidth": [1] + [2] * len(data.runtimes),
        "header": {
            "values": [f"<b>{h}</b>" for h in header],
            "fill": {"color": ["#F2F2F2"] + [colours[r] for r in data.runtimes]},
            "font": {
                "color": [theme.TEXT] + ["#FFFFFF"] * len(data.runtimes),
                "size": font_size + 2,
            },
            "height": font_size * 2.4,
            "align": "center",
        },
        "cells": {
            "values": _columns(data),
            "font": {"size": font_size + 1, "color": theme.TEXT},
            "height": font_size * 3.2,
            "align": "center",
            "fill": {"color": "#FFFFFF"},
            "line": {"color": theme.GRID},
        },
    }


def _subtitle(data: CapacityData) -> str:
    """The cheapest way to serve the target rate, or the SLO without a right-sizing."""
    cheapest = [
        f"{o['runtime']}: {theme.tier_label(o['tier'])} × {o['replicas']} on {o['provider']} "
        f"(${o['cost_per_hour']:.3f}/h)"
        for o in data.cheapest
    ]
    return (
        f"cheapest for {data.target_rps:,.0f} req/s — " + "; ".join(cheapest)
        if cheapest and data.target_rps
        else f"{data.percentile_label} ≤ {data.slo_ms:g} ms"
    )
