"""`tierbench render RESULTS_DIR`: the comparison animation, summary image and HTML report
from any results directory laid out as docs/results-layout.md describes."""

from __future__ import annotations

import argparse
import logging
import sys

from tierbench.charts.comparison.artefacts import ARTEFACTS, render_all
from tierbench.charts.comparison.results import load_chart_data
from tierbench.charts.options import ChartOptions
from tierbench.commands.declare import Command, arg, error, out_dir, path

DEFAULTS = ChartOptions()


def _size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected WIDTHxHEIGHT such as 1280x720, got {text!r}"
        ) from None
    if width < 320 or height < 180 or width % 2 or height % 2:
        raise argparse.ArgumentTypeError(
            f"{text}: width and height must be even (H.264) and at least 320x180"
        )
    return width, height


def _artefacts(text: str) -> tuple[str, ...]:
    chosen = tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = set(chosen) - set(ARTEFACTS)
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(
            f"choose from {','.join(ARTEFACTS)} (comma-separated), got {text!r}"
        )
    return chosen


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.WARNING, format="tierbench: %(message)s")
    width, height = args.size
    options = ChartOptions(
        width=width, height=height, fps=args.fps, length_s=args.length, workers=args.workers
    )
    try:
        data = load_chart_data(args.results)
    except FileNotFoundError as problem:
        return error("render", problem)
    report = render_all(data, args.out or args.results / "charts", options, args.only)
    if report.frames:
        print(
            f"animation: {report.frames} frames at {options.fps} fps "
            f"({report.frames / options.fps:.1f} s), rendered in {report.render_s:.1f} s "
            f"({report.frames_per_s:.1f} frames/s with {report.workers} browser tabs)"
        )
    for written in report.files.values():
        print(f"wrote {written} ({written.stat().st_size / 1e6:.2f} MB)")
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return 0


COMMAND = Command(
    name="render",
    help="render the comparison animation, summary image and HTML report",
    description=(
        "Read summary.parquet, timeline.parquet and meta/*.json from RESULTS_DIR and "
        "write comparison.gif, comparison.mp4, summary.png and report.html."
    ),
    arguments=(
        path("results", "RESULTS_DIR"),
        out_dir("where the charts go (default: RESULTS_DIR/charts)"),
        arg(
            "--only",
            type=_artefacts,
            default=tuple(ARTEFACTS),
            metavar="LIST",
            help=f"artefacts to render, from {','.join(ARTEFACTS)} (default: all)",
        ),
        arg(
            "--length",
            type=float,
            default=DEFAULTS.length_s,
            metavar="SECONDS",
            help=f"animation length (default: {DEFAULTS.length_s:g})",
        ),
        arg(
            "--fps",
            type=int,
            default=DEFAULTS.fps,
            help=f"animation frames per second (default: {DEFAULTS.fps})",
        ),
        arg(
            "--size",
            type=_size,
            default=(DEFAULTS.width, DEFAULTS.height),
            metavar="WxH",
            help=f"animation size (default: {DEFAULTS.width}x{DEFAULTS.height})",
        ),
        arg(
            "--workers",
            type=int,
            default=None,
            help="browser tabs rendering frames in parallel (default: one per core, at most 4)",
        ),
    ),
    run=run,
)
