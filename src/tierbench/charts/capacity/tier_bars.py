"""Bars by tier, one per runtime: capacity at the SLO (hatched where unconfirmed), and cost
per million requests at each provider."""

from __future__ import annotations

from tierbench.charts import theme
from tierbench.charts.capacity_results import CapacityData


def bar_traces(
    data: CapacityData,
    values: dict[str, list[float | None]],
    texts: dict[str, list[str]],
    axes: tuple[str, str],
    font_size: int,
    legend: bool = False,
) -> list[dict]:
    colours = theme.runtime_colours(data.runtimes)
    tiers = [theme.tier_label(t.name) for t in data.tiers]
    return [
        {
            "type": "bar",
            "x": tiers,
            "y": [v or 0.0 for v in values[runtime]],
            "text": texts[runtime],
            "textposition": "outside",
            "cliponaxis": False,
            # Full size even where a label is wider than its bar (plotly would shrink it).
            "constraintext": "none",
            "textfont": {"size": font_size - 3, "color": theme.TEXT},
            "name": runtime,
            "legendgroup": runtime,
            "showlegend": legend,
            "offsetgroup": runtime,
            "marker": {"color": colours[runtime]},
            "xaxis": axes[0],
            "yaxis": axes[1],
            "hovertemplate": f"{runtime} %{{x}}: %{{text}}<extra></extra>",
        }
        for runtime in data.runtimes
    ]


def capacity_values(data: CapacityData) -> tuple[dict, dict]:
    values, texts = {}, {}
    for runtime in data.runtimes:
        cells = [data.cell(runtime, t.name) for t in data.tiers]
        values[runtime] = [c.capacity_rps if c else None for c in cells]
        texts[runtime] = [
            "<br>".join(filter(None, [c.shown, c.limited_by, c.holds if not c.confirmed else ""]))
            if c
            else theme.NO_DATA
            for c in cells
        ]
    return values, texts


def unconfirmed_hatch(data: CapacityData, traces: list[dict]) -> list[dict]:
    """The capacity bars, hatched where the capacity is short of its k holds."""
    for trace in traces:
        cells = [data.cell(trace["name"], t.name) for t in data.tiers]
        trace["marker"]["pattern"] = {
            "shape": ["" if c is None or c.confirmed else "/" for c in cells],
            "fgcolor": "#FFFFFF",
        }
    return traces


def cost_values(data: CapacityData, provider: str) -> tuple[dict, dict]:
    values, texts = {}, {}
    for runtime in data.runtimes:
        costs = [data.costs.get((runtime, t.name, provider)) for t in data.tiers]
        values[runtime] = costs
        texts[runtime] = ["–" if c is None else f"${c:.3f}" for c in costs]
    return values, texts
