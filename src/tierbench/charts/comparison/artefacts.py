"""Render every comparison chart artefact from a sweep's results (the animation, the
summary image, the HTML report): what the comparison's workflow scripts and the
`tierbench render` command call."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from tierbench.charts import theme
from tierbench.charts.comparison.animation import frame_figure
from tierbench.charts.comparison.frame_plan import plan_animation
from tierbench.charts.comparison.report import write_html_report
from tierbench.charts.comparison.results import ChartData
from tierbench.charts.comparison.summary_image import summary_figure
from tierbench.charts.options import MIN_HEIGHT, MIN_WIDTH, ChartOptions
from tierbench.charts.output.png_renderer import default_workers, render_figures
from tierbench.charts.output.video import write_videos

log = logging.getLogger(__name__)

# Size budgets at the default settings: over these, say so (the README embeds the GIF).
GIF_BUDGET_BYTES = 15 * 10**6
MP4_BUDGET_BYTES = 5 * 10**6


@dataclass
class RenderReport:
    """What was written, and how fast the frames were rendered."""

    files: dict[str, Path] = field(default_factory=dict)
    frames: int = 0
    render_s: float = 0.0
    workers: int = 0
    warnings: list[str] = field(default_factory=list)

    @property
    def frames_per_s(self) -> float:
        return self.frames / self.render_s if self.render_s else 0.0


def comparison_figures(data: ChartData, options: ChartOptions) -> tuple[list[dict], int]:
    """Every frame's figure, and the frame rate they are meant to be played at."""
    plan = plan_animation(
        len(data.tiers),
        length_s=options.length_s,
        fps=options.fps,
        transition_s=options.transition_s,
        closing_s=options.closing_s,
    )
    figures = [frame_figure(data, state, options.width, options.height) for state in plan.frames]
    return figures, plan.fps


def chart_colours(data: ChartData) -> list[str]:
    """The colours a GIF must keep exactly: each runtime's, and the text's."""
    runtime = list(theme.runtime_colours(data.runtimes).values())
    return [*runtime, theme.TEXT, theme.MUTED, theme.PROBLEM, theme.GRID]


def render_comparison(
    data: ChartData,
    options: ChartOptions,
    *,
    gif: Path | str | None,
    mp4: Path | str | None,
    report: RenderReport | None = None,
) -> RenderReport:
    """The comparison animation, as a GIF and/or an MP4 from the same frames."""
    report = report or RenderReport()
    figures, fps = comparison_figures(data, options)
    workers = options.workers or default_workers()
    started = time.perf_counter()
    frames = render_figures(figures, workers=workers)
    report.render_s = time.perf_counter() - started
    report.frames, report.workers = len(frames), workers
    log.info(
        "rendered %d frames in %.1f s (%.1f frames/s, %d browser tabs)",
        report.frames,
        report.render_s,
        report.frames_per_s,
        workers,
    )
    paths = {kind: Path(path) for kind, path in (("gif", gif), ("mp4", mp4)) if path is not None}
    for path in paths.values():
        path.parent.mkdir(parents=True, exist_ok=True)
    write_videos(
        frames,
        fps,
        gif=paths.get("gif"),
        mp4=paths.get("mp4"),
        exact_colours=chart_colours(data),
    )
    budgets = {"gif": GIF_BUDGET_BYTES, "mp4": MP4_BUDGET_BYTES}
    for kind, path in paths.items():
        budget = budgets[kind]
        report.files[kind] = path
        if path.stat().st_size > budget:
            report.warnings.append(
                f"{path} is {path.stat().st_size / 1e6:.1f} MB, over the {budget / 1e6:.0f} MB "
                "budget: lower charts.length_s, charts.fps or the frame size"
            )
    return report


def render_summary_png(data: ChartData, options: ChartOptions, path: Path | str) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure = summary_figure(
        data, max(options.summary_width, MIN_WIDTH), max(options.summary_height, MIN_HEIGHT)
    )
    path.write_bytes(render_figures([figure], workers=1)[0])
    return path


def render_html(data: ChartData, path: Path | str) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_html_report(data, path)
    return path


ARTEFACTS = {
    "gif": "comparison.gif",
    "mp4": "comparison.mp4",
    "png": "summary.png",
    "html": "report.html",
}


def render_all(
    data: ChartData,
    out_dir: Path | str,
    options: ChartOptions,
    artefacts: tuple[str, ...] = tuple(ARTEFACTS),
) -> RenderReport:
    """Write the chosen artefacts (`gif`, `mp4`, `png`, `html`) into `out_dir`."""
    unknown = set(artefacts) - set(ARTEFACTS)
    if unknown:
        raise ValueError(f"unknown artefact(s) {sorted(unknown)}; choose from {list(ARTEFACTS)}")
    out_dir = Path(out_dir)
    report = RenderReport()
    if "gif" in artefacts or "mp4" in artefacts:
        render_comparison(
            data,
            options,
            report=report,
            gif=out_dir / ARTEFACTS["gif"] if "gif" in artefacts else None,
            mp4=out_dir / ARTEFACTS["mp4"] if "mp4" in artefacts else None,
        )
    if "png" in artefacts:
        report.files["png"] = render_summary_png(data, options, out_dir / ARTEFACTS["png"])
    if "html" in artefacts:
        report.files["html"] = render_html(data, out_dir / ARTEFACTS["html"])
    return report
