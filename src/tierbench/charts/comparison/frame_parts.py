"""Parts every animation frame shares: the panel grid, axes, titles, banner and legend."""

from __future__ import annotations

import math

from tierbench.charts import theme
from tierbench.charts.comparison.results import ChartData
from tierbench.charts.tiers import TierHeading

COLUMNS = [(0.045, 0.315), (0.385, 0.655), (0.725, 0.985)]
ROWS = [(0.47, 0.78), (0.05, 0.36)]


def format_value(value: float | None, unit: str = "") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if unit == "%":
        return f"{value:.0f}%" if value >= 10 else f"{value:.1f}%"
    if abs(value) >= 100:
        return f"{value:,.0f}{unit}"
    return f"{value:.1f}{unit}" if abs(value) >= 10 else f"{value:.2f}{unit}"


def axis_name(kind: str, index: int) -> str:
    return kind if index == 1 else f"{kind}{index}"


def panel_axes(
    index: int,
    column: tuple[float, float],
    row: tuple[float, float],
    x_range: list[float],
    y_range: list[float],
    font_size: int,
) -> dict:
    anchor_x, anchor_y = f"y{index}" if index > 1 else "y", f"x{index}" if index > 1 else "x"
    common = {
        "gridcolor": theme.GRID,
        "zeroline": False,
        "tickfont": {"size": font_size - 2},
        "linecolor": "#BBBBBB",
        "showline": True,
    }
    return {
        axis_name("xaxis", index): {
            **common,
            "domain": list(column),
            "anchor": anchor_x,
            "range": x_range,
        },
        axis_name("yaxis", index): {
            **common,
            "domain": list(row),
            "anchor": anchor_y,
            "range": y_range,
            "automargin": False,
        },
    }


def panel_title(
    text: str, column: tuple[float, float], row: tuple[float, float], font_size: int
) -> dict:
    return theme.paper_text(
        f"<b>{text}</b>", column[0], row[1] + 0.012, font_size, yanchor="bottom"
    )


def nice_top(value: float, floor: float) -> float:
    """A round axis top a little above `value`, so lines never touch the frame."""
    top = max(value * 1.12, floor)
    magnitude = 10 ** math.floor(math.log10(top))
    for step in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        if step * magnitude >= top:
            return step * magnitude
    return top


def cell_note(data: ChartData, runtime: str, tier: TierHeading) -> str | None:
    """Why a runtime has nothing (or nothing good) to show at a tier, in plain words."""
    status = data.cell(runtime, tier.name).status
    if (runtime, tier.name) not in data.timelines:
        return status or theme.NO_DATA
    return status


CONTENDED_NOTE = "⚠ runtime shared CPUs with the load generator"


def tier_contended(data: ChartData, tier: TierHeading) -> bool:
    """Whether any runtime at this tier had to share CPUs with k6 (too few host cores)."""
    return any(data.cell(runtime, tier.name).contended for runtime in data.runtimes)


def tier_banner(tier: TierHeading) -> str:
    return (
        f"{theme.tier_label(tier.name)} tier · {theme.format_limits(tier.cpus, tier.memory_bytes)}"
    )


def legend_annotations(
    data: ChartData, colours: dict[str, str], tier: TierHeading | None, font_size: int
) -> list[dict]:
    parts = []
    for runtime in data.runtimes:
        note = cell_note(data, runtime, tier) if tier is not None else None
        label = f"<span style='color:{colours[runtime]}'>■</span> {runtime}"
        if note:
            label += f" <span style='color:{theme.PROBLEM}'>({note})</span>"
        parts.append(label)
    return [
        theme.paper_text(
            "     ".join(parts), 0.985, 0.90, font_size + 1, xanchor="right", yanchor="middle"
        )
    ]


def banner(title: str, subtitle: str, font_size: int) -> list[dict]:
    return [
        theme.paper_text(f"<b>{title}</b>", 0.045, 0.985, round(font_size * 1.9)),
        theme.paper_text(subtitle, 0.045, 0.90, font_size + 1, yanchor="middle", color=theme.MUTED),
    ]


def headings(
    data: ChartData, colours: dict[str, str], tier: TierHeading, texts: tuple[str, str], size: int
) -> list[dict]:
    """A frame's banner (its subtitle ending with the contended note where the tier's
    runtimes had to share CPUs with k6) and the legend beside it."""
    title, subtitle = texts
    if tier_contended(data, tier):
        subtitle += f" · {CONTENDED_NOTE}"
    return banner(title, subtitle, size) + legend_annotations(data, colours, tier, size)
