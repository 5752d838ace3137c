"""The capacity charts as files: the search animation (GIF, MP4) climbing tier after tier
into the closing capacity table, the summary image, and an interactive HTML page."""

from __future__ import annotations

import html
import logging
import math
from pathlib import Path

from tierbench.charts import theme
from tierbench.charts.capacity import (
    CapacityData,
    axis_pair,
    bar_traces,
    capacity_summary_figure,
    capacity_table_figure,
    capacity_values,
    footer,
    knee_traces,
    latency_range,
    panel_title,
    slo_line,
    x_range_of,
)
from tierbench.charts.frame_renderer import default_workers, render_figures
from tierbench.charts.html_report import figure_sections, html_page
from tierbench.charts.render import ChartOptions
from tierbench.charts.video import write_gif, write_mp4
from tierbench.files import replaced_atomically, write_text

log = logging.getLogger(__name__)

# Of each tier's segment, this share reveals the steps; the rest holds the result.
REVEAL_SHARE = 0.75


def search_frame(
    data: CapacityData, tier_index: int, shown: dict[str, int], width: int, height: int
) -> dict:
    """One frame: the current tier's knee chart as its steps appear (left), and the
    capacities found so far, tier by tier (right)."""
    layout = theme.base_layout(width, height)
    font_size = layout["font"]["size"]
    tier = data.tiers[tier_index]
    x_range = x_range_of(data, tier.name)
    axes = axis_pair(
        layout,
        1,
        [0.05, 0.6],
        [0.14, 0.8],
        x_range,
        latency_range(data),
        font_size,
        x_title="achieved requests/s",
        y_title=f"{data.percentile_label} latency (ms)",
    )
    traces = knee_traces(data, tier.name, axes, shown, font_size=font_size, legend=True)
    traces.append(slo_line(data, axes, x_range))
    done = {t.name for t in data.tiers[:tier_index]}
    if all(
        shown.get(r, 0) >= len(c.steps)
        for r in data.runtimes
        if (c := data.cell(r, tier.name)) is not None
    ):
        done.add(tier.name)
    values, texts = capacity_values(data)
    for runtime in data.runtimes:
        for i, t in enumerate(data.tiers):
            if t.name not in done:
                values[runtime][i], texts[runtime][i] = None, ""
    peak = max([c.capacity_rps or 0 for c in data.cells.values()] + [1.0])
    bar_axes = axis_pair(
        layout, 2, [0.68, 0.98], [0.14, 0.8], None, [0, peak * 1.35], font_size, log_y=False
    )
    layout["xaxis2"].update({"type": "category", "range": None, "showgrid": False})
    traces += bar_traces(data, values, texts, bar_axes, font_size)
    lines = []
    for runtime in data.runtimes:
        cell = data.cell(runtime, tier.name)
        count = shown.get(runtime, 0)
        if cell is None or count == 0:
            continue
        step = cell.steps[count - 1]
        mark = "✓" if step["passed"] else "✗"
        latency = step["percentile_ms"]
        lines.append(
            f"{runtime}: {step['phase']} {step['offered_rate']:.3g} it/s → "
            f"{step['rps'] or 0:,.0f} req/s, {data.percentile_label} "
            f"{'–' if latency is None else f'{latency:.0f} ms'} {mark}"
        )
    layout["annotations"] = [
        theme.paper_text(
            f"<b>Searching capacity · {theme.tier_label(tier.name)} tier · "
            f"{theme.format_limits(tier.cpus, tier.memory_bytes)}</b>",
            0.05,
            0.98,
            round(font_size * 1.5),
        ),
        theme.paper_text(
            "<br>".join(lines) or " ", 0.05, 0.9, font_size, color=theme.MUTED, align="left"
        ),
        panel_title("Capacity at the SLO (req/s)", 0.68, 0.81, font_size),
        theme.paper_text(
            f"dashed: SLO {data.percentile_label} ≤ {data.slo_ms:g} ms · ● passed "
            "○ failed ★ capacity",
            0.05,
            0.01,
            font_size - 2,
            yanchor="bottom",
            color=theme.MUTED,
        ),
    ]
    layout.update(
        {
            "barmode": "group",
            "bargap": 0.25,
            "showlegend": True,
            "legend": {
                "orientation": "h",
                "x": 0.6,
                "xanchor": "right",
                "y": 0.86,
                "yanchor": "bottom",
                "font": {"size": font_size},
            },
            "margin": {"l": 10, "r": 10, "t": 10, "b": 10},
        }
    )
    return {"data": traces, "layout": layout}


def search_figures(data: CapacityData, options: ChartOptions) -> list[dict]:
    """Every frame of the search animation: each tier's steps appear in the order they
    ran, both runtimes at once, then the closing table holds."""
    if not data.tiers:
        return [capacity_table_figure(data, options.width, options.height)]
    closing = max(1, round(options.closing_s * options.fps))
    per_tier = max(2, round((options.length_s - options.closing_s) * options.fps / len(data.tiers)))
    figures = []
    for tier_index, tier in enumerate(data.tiers):
        for frame in range(per_tier):
            progress = min(1.0, (frame + 1) / (per_tier * REVEAL_SHARE))
            shown = {
                runtime: math.ceil(len(cell.steps) * progress)
                for runtime in data.runtimes
                if (cell := data.cell(runtime, tier.name)) is not None
            }
            figures.append(search_frame(data, tier_index, shown, options.width, options.height))
    table = capacity_table_figure(data, options.width, options.height)
    return figures + [table] * closing


def render_capacity_animation(
    data: CapacityData, options: ChartOptions, gif: Path | str, mp4: Path | str
) -> int:
    figures = search_figures(data, options)
    frames = render_figures(figures, workers=options.workers or default_workers())
    colours = [
        *theme.runtime_colours(data.runtimes).values(),
        theme.TEXT,
        theme.MUTED,
        theme.PROBLEM,
        theme.GRID,
    ]
    with replaced_atomically(gif, keep_suffix=True) as temporary:
        write_gif(frames, temporary, options.fps, exact_colours=colours)
    with replaced_atomically(mp4, keep_suffix=True) as temporary:
        write_mp4(frames, temporary, options.fps)
    log.info("rendered %d capacity frames", len(frames))
    return len(frames)


def render_capacity_png(data: CapacityData, options: ChartOptions, path: Path | str) -> None:
    figure = capacity_summary_figure(data, options.summary_width, options.summary_height)
    png = render_figures([figure], workers=1)[0]
    with replaced_atomically(path) as temporary:
        temporary.write_bytes(png)


def capacity_html(data: CapacityData, recommendation_md: str | None = None) -> str:
    figures = [
        ("Capacity by tier", capacity_summary_figure(data)),
        ("Capacity at the SLO", capacity_table_figure(data, 1280, 600)),
    ]
    sections = figure_sections(figures, "tierbench-capacity")
    if recommendation_md:
        sections.append(
            "<section><h2>Right-sizing</h2>\n<pre>"
            + html.escape(recommendation_md)
            + "</pre></section>"
        )
    return html_page(f"tierbench capacity: {' vs '.join(data.runtimes)}", sections, footer(data))


def render_capacity_html(
    data: CapacityData, path: Path | str, recommendation_md: str | None
) -> None:
    write_text(capacity_html(data, recommendation_md), path)
