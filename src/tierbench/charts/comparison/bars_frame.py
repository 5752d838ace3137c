"""The bars between tiers: a tier's final figures, morphing into the next tier's."""

from __future__ import annotations

from tierbench.charts import theme
from tierbench.charts.comparison import frame_parts as parts
from tierbench.charts.comparison.frame_plan import morph_value
from tierbench.charts.comparison.results import ChartData
from tierbench.charts.tiers import TierHeading

# The bars between tiers: (summary figure, title, unit).
BAR_PANELS = [
    ("rps", "Throughput (requests/s)", ""),
    ("p95_ms", "p95 latency (ms)", " ms"),
    ("cpu_mean_pct", "CPU, mean (% of limit)", "%"),
]
# The panels' row (bottom, top) in paper coordinates: below the banner.
BAR_ROW = (0.08, 0.74)


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
        tops[figure] = parts.nice_top(max(values, default=0.0), 100.0 if unit == "%" else 1.0)
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
    for index, (figure, title, unit) in enumerate(BAR_PANELS, start=1):
        column = parts.COLUMNS[index - 1]
        for runtime in data.runtimes:
            value, text, known = _morphed_bar(
                data, runtime, (figure, unit), (tier, following, shown), morph
            )
            colour = colours[runtime]
            traces.append(_bar_trace(runtime, value, text, known, colour, index, font_size))
        layout.update(_panel_axes(data, index, column, tops[figure], font_size))
        annotations.append(parts.panel_title(title, column, BAR_ROW, font_size))
    layout["bargap"] = 0.3
    annotations += parts.headings(
        data,
        colours,
        shown,
        (
            _bars_title(tier, following, shown, morph),
            parts.tier_banner(shown) + " · means over the measured window",
        ),
        font_size,
    )
    layout.update({"annotations": annotations, "margin": {"l": 10, "r": 10, "t": 10, "b": 10}})
    return {"data": traces, "layout": layout}


def _morphed_bar(
    data: ChartData,
    runtime: str,
    panel: tuple[str, str],
    tiers: tuple[TierHeading, TierHeading | None, TierHeading],
    morph: float,
) -> tuple[float, str, bool]:
    """A runtime's bar `morph` of the way from the tier to the following one (of `tiers`:
    the tier, the following one if any, and the one shown), its label, and whether the
    side shown has a value."""
    figure, unit = panel
    tier, following, shown = tiers
    start = _bar_value(data, runtime, tier, figure)
    end = _bar_value(data, runtime, following, figure) if following else start
    value = morph_value(start, end, morph if following else 0.0)
    # The value shown is the side of the morph past halfway; a missing side fades.
    known = end if shown is following else start
    note = data.cell(runtime, shown.name).status
    text = parts.format_value(value, unit) if known is not None else (note or theme.NO_DATA)
    if known is not None and note == theme.ALL_FAILED:
        text += " (all failed)"
    if known is not None and data.cell(runtime, shown.name).crashed:
        text += " ⚠ crashed"
    return value, text, known is not None


def _bar_trace(
    runtime: str, value: float, text: str, known: bool, colour: str, index: int, font_size: int
) -> dict:
    return {
        "type": "bar",
        "x": [runtime],
        "y": [value],
        "text": [text],
        "textposition": "outside",
        "cliponaxis": False,
        "textfont": {"size": font_size, "color": theme.TEXT},
        "marker": {
            "color": colour,
            "opacity": 1.0 if known else 0.3,
        },
        "name": runtime,
        "hoverinfo": "skip",
        "xaxis": "x" if index == 1 else f"x{index}",
        "yaxis": "y" if index == 1 else f"y{index}",
    }


def _panel_axes(
    data: ChartData, index: int, column: tuple[float, float], top: float, font_size: int
) -> dict:
    """A panel's axes: one category per runtime, in the runtimes' order."""
    axes = parts.panel_axes(
        index, column, BAR_ROW, [-0.5, len(data.runtimes) - 0.5], [0, top], font_size
    )
    axes[parts.axis_name("xaxis", index)].update(
        {
            "type": "category",
            "categoryorder": "array",
            "categoryarray": data.runtimes,
            "showgrid": False,
        }
    )
    return axes


def _bars_title(
    tier: TierHeading, following: TierHeading | None, shown: TierHeading, morph: float
) -> str:
    if following is not None:
        return (
            f"{theme.tier_label(tier.name)} → {theme.tier_label(following.name)}"
            if 0 < morph < 1
            else f"{theme.tier_label(shown.name)} results"
        )
    return f"{theme.tier_label(tier.name)} results"
