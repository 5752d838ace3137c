"""The capacity charts as files: the search animation (GIF, MP4) climbing tier after tier
into the closing capacity table, the summary image, and an interactive HTML page."""

from __future__ import annotations

import html
import logging
from pathlib import Path

from tierbench.charts import theme
from tierbench.charts.capacity.closing_table import capacity_table_figure
from tierbench.charts.capacity.figure_parts import footer
from tierbench.charts.capacity.search_animation import search_figures
from tierbench.charts.capacity.summary_image import capacity_summary_figure
from tierbench.charts.capacity_results import CapacityData
from tierbench.charts.options import ChartOptions
from tierbench.charts.output.html_page import figure_sections, html_page
from tierbench.charts.output.png_renderer import default_workers, render_figures
from tierbench.charts.output.video import write_videos
from tierbench.files import replaced_atomically, write_text

log = logging.getLogger(__name__)


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
    with (
        replaced_atomically(gif, keep_suffix=True) as gif_temporary,
        replaced_atomically(mp4, keep_suffix=True) as mp4_temporary,
    ):
        write_videos(
            frames, options.fps, gif=gif_temporary, mp4=mp4_temporary, exact_colours=colours
        )
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
