"""Colours, fonts, labels and layout parts shared by every chart, so a runtime looks the
same everywhere."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tierbench.config.limits import format_bytes

# Okabe-Ito colours: distinguishable with the common colour-vision deficiencies, and few
# enough that the GIF palette stays small.
RUNTIME_COLOURS = [
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#D55E00",
    "#56B4E9",
    "#F0E442",
    "#000000",
]
FONT_FAMILY = "DejaVu Sans, Arial, sans-serif"
TEXT = "#222222"
MUTED = "#777777"
GRID = "#E5E5E5"
BACKGROUND = "#FFFFFF"
WARMUP_SHADE = "rgba(0,0,0,0.06)"
PROBLEM = "#B00020"

NO_DATA = "no data"
NO_REQUESTS = "no requests"
ALL_FAILED = "all requests failed"
FAILED_TO_START = "failed to start"  # the start of a failed cell's status, with its reason


def has_no_figures(status: str | None) -> bool:
    """Whether a cell's status leaves it nothing to draw: no data, no requests, or a
    runtime that failed to start (shown as its reason, in the cell's place)."""
    return status in (NO_DATA, NO_REQUESTS) or bool(status and status.startswith(FAILED_TO_START))


def runtime_colours(runtimes: Sequence[str]) -> dict[str, str]:
    """One colour per runtime, in the given order; colours repeat only past eight runtimes."""
    return {name: RUNTIME_COLOURS[i % len(RUNTIME_COLOURS)] for i, name in enumerate(runtimes)}


def tier_label(tier: str) -> str:
    """Tiers are configured in lower case (`xs`); charts show them as people say them (XS)."""
    return tier.upper()


def format_limits(cpus: float | None, memory_bytes: float | None) -> str:
    """`0.25 CPU · 256 MiB`, or says which limit is unknown."""
    cpu_text = "? CPU" if cpus is None else f"{cpus:g} CPU"
    return f"{cpu_text} · {'?' if memory_bytes is None else format_bytes(memory_bytes)}"


def paper_text(
    text: str,
    x: float,
    y: float,
    size: int,
    *,
    xanchor: str = "left",
    yanchor: str | None = "top",
    color: str | None = None,
    align: str | None = None,
) -> dict:
    """A text annotation placed on the figure itself (paper coordinates), not on an axis;
    `yanchor=None` leaves its vertical anchor to plotly ("auto")."""
    note = {
        "text": text,
        "x": x,
        "y": y,
        "xref": "paper",
        "yref": "paper",
        "xanchor": xanchor,
    }
    if yanchor is not None:
        note["yanchor"] = yanchor
    note["showarrow"] = False
    note["font"] = {"size": size} if color is None else {"size": size, "color": color}
    if align is not None:
        note["align"] = align
    return note


@dataclass(frozen=True)
class Legend:
    """A one-row legend whose right end sits at (x, y), in paper coordinates."""

    x: float
    y: float
    size: int
    yanchor: str = "top"


def footer_and_legend(
    text: str,
    x: float,
    y: float,
    size: int,
    *,
    legend: Legend | None = None,
    xanchor: str = "left",
    yanchor: str | None = "bottom",
    align: str | None = None,
) -> tuple[dict, dict]:
    """The footer, muted text along the figure's bottom edge (what the marks mean, where
    the figures come from), and the layout keys that show the legend: none without one."""
    footer = paper_text(
        text, x, y, size, xanchor=xanchor, yanchor=yanchor, color=MUTED, align=align
    )
    if legend is None:
        return footer, {}
    return footer, {
        "showlegend": True,
        "legend": {
            "orientation": "h",
            "x": legend.x,
            "xanchor": "right",
            "y": legend.y,
            "yanchor": legend.yanchor,
            "font": {"size": legend.size},
        },
    }


def title_and_footer(
    title: str, footer: str, x: float, title_size: int, footer_size: int, legend: Legend
) -> tuple[list[dict], dict]:
    """A summary image's bold title at the top left and its footer at the bottom left (the
    two annotations, in that order) and the layout keys that show its legend."""
    note, legend_keys = footer_and_legend(footer, x, 0.0, footer_size, align="left", legend=legend)
    return [paper_text(f"<b>{title}</b>", x, 0.995, title_size), note], legend_keys


def base_layout(width: int, height: int) -> dict:
    """Layout shared by every figure: white background, readable fonts, no MathJax needed."""
    return {
        "width": width,
        "height": height,
        "paper_bgcolor": BACKGROUND,
        "plot_bgcolor": BACKGROUND,
        "font": {"family": FONT_FAMILY, "color": TEXT, "size": max(11, round(height / 55))},
        "showlegend": False,
    }
