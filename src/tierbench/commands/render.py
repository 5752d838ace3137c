"""`tierbench render RESULTS_DIR`: the comparison animation, summary image and HTML report
from any results directory laid out as docs/results-layout.md describes."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from tierbench.charts.data import load_chart_data
from tierbench.charts.render import ARTEFACTS, ChartOptions, render_all

EXIT_BAD_INPUT = 2


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


def register(subparsers: argparse._SubParsersAction) -> None:
    defaults = ChartOptions()
    parser = subparsers.add_parser(
        "render",
        help="render the comparison animation, summary image and HTML report",
        description=(
            "Read summary.parquet, timeline.parquet and meta/*.json from RESULTS_DIR and "
            "write comparison.gif, comparison.mp4, summary.png and report.html."
        ),
    )
    parser.add_argument("results", type=Path, metavar="RESULTS_DIR")
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="DIR",
        help="where the charts go (default: RESULTS_DIR/charts)",
    )
    parser.add_argument(
        "--only",
        type=_artefacts,
        default=tuple(ARTEFACTS),
        metavar="LIST",
        help=f"artefacts to render, from {','.join(ARTEFACTS)} (default: all)",
    )
    parser.add_argument(
        "--length",
        type=float,
        default=defaults.length_s,
        metavar="SECONDS",
        help=f"animation length (default: {defaults.length_s:g})",
    )
    parser.add_argument(
        "--fps",
        type=int,
        default=defaults.fps,
        help=f"animation frames per second (default: {defaults.fps})",
    )
    parser.add_argument(
        "--size",
        type=_size,
        default=(defaults.width, defaults.height),
        metavar="WxH",
        help=f"animation size (default: {defaults.width}x{defaults.height})",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="browser tabs rendering frames in parallel (default: one per core, at most 4)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.WARNING, format="tierbench: %(message)s")
    width, height = args.size
    options = ChartOptions(
        width=width, height=height, fps=args.fps, length_s=args.length, workers=args.workers
    )
    try:
        data = load_chart_data(args.results)
    except FileNotFoundError as error:
        print(f"tierbench render: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    report = render_all(data, args.out or args.results / "charts", options, args.only)
    if report.frames:
        print(
            f"animation: {report.frames} frames at {options.fps} fps "
            f"({report.frames / options.fps:.1f} s), rendered in {report.render_s:.1f} s "
            f"({report.frames_per_s:.1f} frames/s with {report.workers} browser tabs)"
        )
    for path in report.files.values():
        print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB)")
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return 0
