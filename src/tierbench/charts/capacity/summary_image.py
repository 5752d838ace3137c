"""The capacity summary image: the knee chart of every tier across the top, capacity and
cost per million requests by tier below."""

from __future__ import annotations

from tierbench.charts import theme
from tierbench.charts.capacity.figure_parts import axis_pair, footer, panel_title
from tierbench.charts.capacity.knee_chart import knee_traces, latency_range, slo_line, x_range_of
from tierbench.charts.capacity.tier_bars import (
    bar_traces,
    capacity_values,
    cost_values,
    unconfirmed_hatch,
)
from tierbench.charts.capacity_results import CapacityData

# The gap between panels side by side, in paper coordinates.
PANEL_GAP = 0.035


def capacity_summary_figure(data: CapacityData, width: int = 1600, height: int = 900) -> dict:
    """Knee curves by tier across the top; capacity and cost per million by tier below."""
    layout = theme.base_layout(width, height)
    font_size = layout["font"]["size"]
    knees, annotations = _knee_panels(data, layout, font_size)
    bars, bar_titles = _tier_bar_panels(data, layout, font_size, first_index=len(data.tiers) + 1)
    annotations += bar_titles
    texts, legend = theme.title_and_footer(
        f"Capacity: {' vs '.join(data.runtimes)} at each tier",
        footer(data),
        0.03,
        round(font_size * 1.6),
        font_size - 2,
        theme.Legend(0.99, 0.995, font_size + 1),
    )
    annotations += texts
    layout.update(
        {
            "annotations": annotations,
            "barmode": "group",
            "bargap": 0.25,
            **legend,
            "margin": {"l": 20, "r": 20, "t": 20, "b": 20},
        }
    )
    return {"data": knees + bars, "layout": layout}


def _knee_panels(data: CapacityData, layout: dict, font_size: int) -> tuple[list[dict], list[dict]]:
    """A knee chart per tier across the top, each with the SLO; their traces and titles.
    Adds their axes to `layout`."""
    traces: list[dict] = []
    titles: list[dict] = []
    columns = max(1, len(data.tiers))
    panel_w = (0.96 - PANEL_GAP * (columns - 1)) / columns
    y_range = latency_range(data)
    for column, tier in enumerate(data.tiers):
        x0 = 0.03 + column * (panel_w + PANEL_GAP)
        x_range = x_range_of(data, tier.name)
        axes = axis_pair(
            layout,
            column + 1,
            [x0, x0 + panel_w],
            [0.56, 0.86],
            x_range,
            y_range,
            font_size,
            x_title="achieved req/s",
            y_title=f"{data.percentile_label} ms" if column == 0 else "",
        )
        traces += knee_traces(data, tier.name, axes, font_size=font_size - 2, legend=column == 0)
        traces.append(slo_line(data, axes, x_range))
        limits = theme.format_limits(tier.cpus, tier.memory_bytes)
        title = f"{theme.tier_label(tier.name)} · {limits}"
        titles.append(panel_title(title, x0, 0.87, font_size))
    return traces, titles


def _tier_bar_panels(
    data: CapacityData, layout: dict, font_size: int, first_index: int
) -> tuple[list[dict], list[dict]]:
    """Capacity by tier, then cost per million requests at each provider, side by side
    below the knee charts; their traces and titles. Adds their axes to `layout`."""
    traces: list[dict] = []
    titles: list[dict] = []
    lower = [("Capacity at the SLO (req/s)", capacity_values(data))]
    for provider in data.providers:
        lower.append((f"Cost per million requests, {provider}", cost_values(data, provider)))
    widths = (0.96 - PANEL_GAP * (len(lower) - 1)) / len(lower)
    for column, (title, (values, texts)) in enumerate(lower):
        x0 = 0.03 + column * (widths + PANEL_GAP)
        peak = max([v for vs in values.values() for v in vs if v] or [1.0])
        axes = axis_pair(
            layout,
            first_index + column,
            [x0, x0 + widths],
            [0.12, 0.42],
            None,
            [0, peak * 1.3],
            font_size,
            log_y=False,
        )
        layout[axes[0].replace("x", "xaxis")].update(
            {"type": "category", "range": None, "showgrid": False}
        )
        bars = bar_traces(data, values, texts, axes, font_size)
        traces += unconfirmed_hatch(data, bars) if column == 0 else bars
        titles.append(panel_title(title, x0, 0.43, font_size))
    return traces, titles
