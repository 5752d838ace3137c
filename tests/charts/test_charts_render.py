"""Every chart artefact rendered from small real results (tests/data/results-smoke) and read
back: sizes, dimensions, frame counts and rates, and the HTML report in offline Chromium."""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import imageio_ffmpeg
import pytest
from PIL import Image
from test_charts import BAD_INPUTS, SMOKE, variant

from tierbench.charts.comparison.artefacts import comparison_figures, render_all
from tierbench.charts.comparison.report import (
    expected_trace_count,
    report_figures,
    write_html_report,
)
from tierbench.charts.comparison.results import load_chart_data
from tierbench.charts.comparison.summary_image import summary_figure
from tierbench.charts.options import ChartOptions
from tierbench.charts.output.browser_check import check_page, check_pages
from tierbench.charts.output.png_renderer import render_figures
from tierbench.commands import render as render_command


def main(argv: list[str]) -> int:
    """`tierbench ARGV`, with the render command registered as tierbench.commands.cli does."""
    parser = argparse.ArgumentParser(prog="tierbench")
    render_command.COMMAND.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


pytestmark = [
    pytest.mark.chromium,
]

DEFAULTS = ChartOptions()


def gif_facts(path: Path) -> dict:
    with Image.open(path) as gif:
        durations = []
        for index in range(gif.n_frames):
            gif.seek(index)
            durations.append(gif.info["duration"])
        return {
            "size": gif.size,
            "frames": gif.n_frames,
            "durations": durations,
            "loop": gif.info.get("loop"),
        }


def mp4_facts(path: Path) -> dict:
    reader = imageio_ffmpeg.read_frames(str(path))
    meta = next(reader)
    reader.close()
    frames, _ = imageio_ffmpeg.count_frames_and_secs(str(path))
    return {
        "size": tuple(meta["size"]),
        "fps": meta["fps"],
        "frames": frames,
        "codec": meta.get("codec", ""),
    }


@pytest.fixture(scope="module")
def default_charts(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    """All four artefacts at the default settings: the one full-size render of the suite."""
    out = tmp_path_factory.mktemp("charts")
    report = render_all(load_chart_data(SMOKE), out, DEFAULTS)
    return out, report


def test_default_gif_and_mp4_have_the_promised_size_rate_and_length(default_charts):
    out, report = default_charts
    frames, fps = comparison_figures(load_chart_data(SMOKE), DEFAULTS)
    planned_s = len(frames) / fps
    assert 20 <= planned_s <= 30 and fps >= 15

    gif = gif_facts(out / "comparison.gif")
    assert gif["size"] == (1280, 720) and gif["loop"] == 0
    # Held frames are merged into one longer frame, so count time, not frames.
    assert sum(gif["durations"]) == pytest.approx(planned_s * 1000, abs=10)
    moving = [d for d in gif["durations"] if d <= 70]
    assert len(moving) > 0.6 * gif["frames"]
    assert 1000 / (sum(moving) / len(moving)) == pytest.approx(fps, rel=0.05)
    assert (out / "comparison.gif").stat().st_size <= 15 * 10**6

    mp4 = mp4_facts(out / "comparison.mp4")
    assert mp4["size"] == (1280, 720) and mp4["fps"] == pytest.approx(fps)
    assert mp4["frames"] == len(frames) and "h264" in mp4["codec"]
    assert (out / "comparison.mp4").stat().st_size <= 5 * 10**6
    assert report.warnings == []


def test_default_summary_png_is_large_enough(default_charts):
    out, _ = default_charts
    with Image.open(out / "summary.png") as png:
        assert png.format == "PNG" and png.size[0] >= 1600 and png.size[1] >= 900


def test_html_report_works_offline_with_every_trace(default_charts):
    out, _ = default_charts
    data = load_chart_data(SMOKE)
    check = check_page(out / "report.html", expected_plots=len(report_figures(data)))
    assert check.console_errors == []
    assert check.network_requests == []  # plotly.js embedded, no MathJax or CDN fetch
    assert len(check.plots) == len(report_figures(data))
    assert check.trace_count == expected_trace_count(data)
    # The replay and the tier bars carry frames for play/pause and their sliders.
    assert check.plots[1]["frames"] > 10 and check.plots[2]["frames"] == len(data.tiers)
    html = (out / "report.html").read_text()
    assert "cdn.plot.ly/plotly" not in html and "MathJax.js" not in html


def test_bad_input_renders_in_the_browser(tmp_path):
    """plotly.js draws every frame of every kind of bad input, and the HTML loads cleanly."""
    small = ChartOptions(width=480, height=270, length_s=3)
    figures, pages, traces = [], [], []
    for kind in BAD_INPUTS:
        data = load_chart_data(variant(kind, tmp_path / kind))
        frames, _ = comparison_figures(data, small)
        # A race frame, a bars frame, the closing table and the summary image.
        figures += frames[:: max(1, len(frames) // 3)] + [frames[-1], summary_figure(data)]
        write_html_report(data, tmp_path / f"{kind}.html")
        pages.append(tmp_path / f"{kind}.html")
        traces.append(expected_trace_count(data))
    checks = check_pages(pages, expected_plots=4)
    assert [check.console_errors for check in checks] == [[]] * len(pages)
    assert [check.trace_count for check in checks] == traces
    sizes = [(f["layout"]["width"], f["layout"]["height"]) for f in figures]
    images = render_figures(figures)
    assert [Image.open(io.BytesIO(png)).size for png in images] == sizes


def test_short_render_from_the_command_line(tmp_path):
    code = main(
        [
            "render",
            str(SMOKE),
            "--out",
            str(tmp_path),
            "--length",
            "3",
            "--size",
            "640x360",
            "--only",
            "gif,mp4",
        ]
    )
    assert code == 0
    assert gif_facts(tmp_path / "comparison.gif")["size"] == (640, 360)
    mp4 = mp4_facts(tmp_path / "comparison.mp4")
    assert mp4["size"] == (640, 360) and mp4["fps"] == pytest.approx(15)
    assert not (tmp_path / "report.html").exists()


def test_command_line_explains_a_directory_without_results(tmp_path, capsys):
    assert main(["render", str(tmp_path)]) == 2
    assert "aggregate" in capsys.readouterr().err
