"""The bars between tiers: a tier's final figures, morphing into the next tier's."""

from __future__ import annotations

from tierbench.charts import theme
from tierbench.charts.data import ChartData
from tierbench.charts.frame_parts import (
    COLUMNS,
    CONTENDED_NOTE,
    axis_name,
    banner,
    format_value,
    legend_annotations,
    nice_top,
    panel_axes,
    panel_title,
    tier_banner,
    tier_contended,
)
from tierbench.charts.frames import morph_value
from tierbench.charts.tiers import TierHeading

# The bars between tiers: (summary figure, title, unit).
BAR_PANELS = [
    ("rps", "Throughput (requests/s)", ""),
    ("p95_ms", "p95 latency (ms)", " ms"),
    ("cpu_mean_pct", "CPU, mean (% of limit)", "%"),
]


def _bar_value(data: ChartData, runtime: str, tier: TierHeading, figure: str) -> float | None:
    cell = data.cell(runtime, tier.name)
    if theme.has_no_figures(cell.status):
        return None
    if figure != "rps" and cell.status == theme.ALL_FAILED and figure.startswith("p"):
        return None  # latencies of failed requests say nothing about the service
    return getattr(cell, figure)


def _bar_tops(data: ChartData) -> dict[str, float]:
    tops = {}
    for figure, _, unit in BAR_PANELS:
        values = [
            v
            for runtime in data.runtimes
            for tier in data.tiers
            if (v := _bar_value(data, runtime, tier, figure)) is not None
        ]
        tops[figure] = nice_top(max(values, default=0.0), 100.0 if unit == "%" else 1.0)
    return tops


def bars_figure(
    data: ChartData,
    tier_index: int,
    next_tier_index: int | None,
    morph: float,
    width: int,
    height: int,
) -> dict:
    """A tier's final figures as bars, `morph` of the way to the next tier's."""
    tier = data.tiers[tier_index]
    following = data.tiers[next_tier_index] if next_tier_index is not None else None
    shown = following if following is not None and morph >= 0.5 else tier
    colours = theme.runtime_colours(data.runtimes)
    layout = theme.base_layout(width, height)
    font_size = layout["font"]["size"]
    tops = _bar_tops(data)
    traces, annotations = [], []
    row = (0.08, 0.74)
    for index, (figure, title, unit) in enumerate(BAR_PANELS, start=1):
        column = COLUMNS[index - 1]
        for runtime in data.runtimes:
            start = _bar_value(data, runtime, tier, figure)
            end = _bar_value(data, runtime, following, figure) if following else start
            value = morph_value(start, end, morph if following else 0.0)
            # The value shown is the side of the morph past halfway; a missing side fades.
            known = end if shown is following else start
            note = data.cell(runtime, shown.name).status
            text = format_value(value, unit) if known is not None else (note or theme.NO_DATA)
            if known is not None and note == theme.ALL_FAILED:
                text += " (all failed)"
            if known is not None and data.cell(runtime, shown.name).crashed:
                text += " ⚠ crashed"
            traces.append(
                {
                    "type": "bar",
                    "x": [runtime],
                    "y": [value],
                    "text": [text],
                    "textposition": "outside",
                    "cliponaxis": False,
                    "textfont": {"size": font_size, "color": theme.TEXT},
                    "marker": {
                        "color": colours[runtime],
                        "opacity": 1.0 if known is not None else 0.3,
                    },
                    "name": runtime,
                    "hoverinfo": "skip",
                    "xaxis": "x" if index == 1 else f"x{index}",
                    "yaxis": "y" if index == 1 else f"y{index}",
                }
            )
        layout.update(
            panel_axes(
                index, column, row, [-0.5, len(data.runtimes) - 0.5], [0, tops[figure]], font_size
            )
        )
        layout[axis_name("xaxis", index)].update(
            {
                "type": "category",
                "categoryorder": "array",
                "categoryarray": data.runtimes,
                "showgrid": False,
            }
        )
        annotations.append(panel_title(title, column, row, font_size))
    if following is not None:
        title = (
            f"{theme.tier_label(tier.name)} → {theme.tier_label(following.name)}"
            if 0 < morph < 1
            else f"{theme.tier_label(shown.name)} results"
        )
    else:
        title = f"{theme.tier_label(tier.name)} results"
    layout["bargap"] = 0.3
    annotations += banner(
        title,
        tier_banner(shown)
        + " · means over the measured window"
        + (f" · {CONTENDED_NOTE}" if tier_contended(data, shown) else ""),
        font_size,
    )
    annotations += legend_annotations(data, colours, shown, font_size)
    layout.update({"annotations": annotations, "margin": {"l": 10, "r": 10, "t": 10, "b": 10}})
    return {"data": traces, "layout": layout}
