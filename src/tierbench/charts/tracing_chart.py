"""The tracing sweep's chart: by tier, what tracing adds to each runtime's CPU per request
at a fixed rate (with its 95 % interval), and the capacity it keeps (on ÷ off)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from tierbench.charts import theme
from tierbench.charts.output.html_page import figure_sections, html_page
from tierbench.charts.output.png_renderer import render_figures
from tierbench.files import write_text, write_with
from tierbench.tracing.table import shown_ratio

WIDTH, HEIGHT = 1200, 620
PANELS = (("x", "y", (0.0, 0.46)), ("x2", "y2", (0.54, 1.0)))
PANEL_HEADINGS = (
    "CPU per request at one fixed rate, on against off",
    "Capacity under the SLO kept with tracing on",
)
# The panels' height on the figure: room above for the title, legend and headings, below
# for the axes' labels and the footer.
PLOT_HEIGHT = (0.24, 0.82)


def _cells(frame: pl.DataFrame, runtime: str, tiers: list[str]) -> list[dict[str, Any] | None]:
    rows = {row["tier"]: row for row in frame.filter(pl.col("runtime") == runtime).to_dicts()}
    return [rows.get(tier) for tier in tiers]


def _overhead(row: dict[str, Any] | None) -> tuple[float | None, float, float, str]:
    """The bar (percent of the untraced CPU per request), its error bar and its label."""
    if row is None or row["cpu_ms_difference"] is None or not row["cpu_ms_off"]:
        return None, 0.0, 0.0, theme.NO_DATA
    off, diff = row["cpu_ms_off"], row["cpu_ms_difference"]
    value = 100.0 * diff / off
    if row["cpu_ms_low"] is None:
        return value, 0.0, 0.0, f"{value:+.0f} %"
    plus = 100.0 * (row["cpu_ms_high"] - diff) / off
    minus = 100.0 * (diff - row["cpu_ms_low"]) / off
    label = f"{value:+.0f} %" if row["cpu_ms_measurable"] else "no measurable<br>difference"
    return value, plus, minus, label


def _bar(runtime: str, colour: str, tiers: list[str], values, texts, axes, legend: bool) -> dict:
    return {
        "type": "bar",
        "x": [theme.tier_label(t) for t in tiers],
        "y": [v or 0.0 for v in values],
        "text": texts,
        "textposition": "outside",
        "cliponaxis": False,
        "constraintext": "none",
        "name": runtime,
        "legendgroup": runtime,
        "showlegend": legend,
        "offsetgroup": runtime,
        "marker": {"color": colour},
        "xaxis": axes[0],
        "yaxis": axes[1],
        "hovertemplate": f"{runtime} %{{x}}: %{{text}}<extra></extra>",
    }


def _axes(panel: int, title: str, **y_extra: object) -> dict:
    """A panel's x and y axes (`xaxis`, `yaxis`; `xaxis2`, `yaxis2`), each anchored to the
    other, the y axis over the panels' height."""
    x_name, y_name, domain = PANELS[panel]
    suffix = x_name[1:]
    return {
        f"xaxis{suffix}": {"domain": domain, "anchor": y_name, "title": {"text": "tier"}},
        f"yaxis{suffix}": {
            "domain": PLOT_HEIGHT,
            "anchor": x_name,
            "title": {"text": title},
            "gridcolor": theme.GRID,
            **y_extra,
        },
    }


def tracing_figure(frame: pl.DataFrame, footer: str) -> dict:
    """The figure as a plotly dict."""
    runtimes = list(dict.fromkeys(frame["runtime"].to_list()))
    tiers = list(dict.fromkeys(frame["tier"].to_list()))
    colours = theme.runtime_colours(runtimes)
    traces = []
    for runtime in runtimes:
        cells = _cells(frame, runtime, tiers)
        overheads = [_overhead(row) for row in cells]
        bar = _bar(
            runtime,
            colours[runtime],
            tiers,
            [o[0] for o in overheads],
            [o[3] for o in overheads],
            PANELS[0][:2],
            legend=True,
        )
        bar["error_y"] = {
            "type": "data",
            "symmetric": False,
            "array": [o[1] for o in overheads],
            "arrayminus": [o[2] for o in overheads],
            "color": theme.TEXT,
        }
        traces.append(bar)
        texts = [theme.NO_DATA if row is None else shown_ratio(row) for row in cells]
        # No bar where the ratio is unknown (both sides lower bounds): its label says so.
        ratios = [
            None if row is None or text == "–" else row["capacity_ratio"]
            for row, text in zip(cells, texts, strict=True)
        ]
        traces.append(
            _bar(runtime, colours[runtime], tiers, ratios, texts, PANELS[1][:2], legend=False)
        )
    size = theme.base_layout(WIDTH, HEIGHT)["font"]["size"]
    layout = theme.base_layout(WIDTH, HEIGHT) | {
        "barmode": "group",
        "margin": {"l": 80, "r": 30, "t": 30, "b": 20},
        **_axes(0, "CPU per request: tracing adds (%)", zeroline=True),
        **_axes(1, "capacity, tracing on ÷ off", rangemode="tozero"),
    }
    notes, legend_keys = theme.title_and_footer(
        "What tracing costs at each pod size",
        footer,
        0.0,
        size + 8,
        size - 2,
        theme.Legend(1.0, 0.995, size),
    )
    notes += [
        theme.paper_text(heading, domain[0], PLOT_HEIGHT[1] + 0.02, size, yanchor="bottom")
        for heading, (_, _, domain) in zip(PANEL_HEADINGS, PANELS, strict=True)
    ]
    layout |= legend_keys | {"annotations": notes}
    return {"data": traces, "layout": layout}


def write_tracing_charts(frame: pl.DataFrame, png: Path, html: Path, footer: str) -> None:
    figure = tracing_figure(frame, footer)
    image = render_figures([figure])[0]
    write_with(png, lambda path: path.write_bytes(image))
    page = html_page(
        "What tracing costs at each pod size",
        figure_sections([("Tracing on vs off, by tier", figure)], "tracing"),
        footer,
    )
    write_text(page, html)


def tracing_footer(frame: pl.DataFrame) -> str:
    """What the marks mean and where the figures come from."""
    holds = int(frame["holds_on"].max() or 0) if frame.height else 0
    return (
        "Left: CPU per request with tracing on, against off, at one fixed rate; error bars: "
        f"95 % interval (Welch) over {holds} holds a side, interleaved.<br>"
        "Right: capacity under the SLO with tracing on ÷ off, one capacity search each "
        "(≤ where the untraced one is a lower bound, stopped by the load side). "
        "tierbench, results/tracing.csv"
    )
