"""`tierbench compare BASELINE_DIR CANDIDATE_DIR`: per-cell changes, non-zero exit on a
regression so it can gate CI."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tierbench.aggregate.compare import (
    CompareSettings,
    ResultSetError,
    compare_summaries,
    comparison_markdown,
    read_summary,
)
from tierbench.files import write_frame, write_text

EXIT_REGRESSION = 1
EXIT_BAD_INPUT = 2


def _share(text: str) -> float:
    value = float(text.rstrip("%"))
    return value / 100 if text.endswith("%") or value > 1 else value


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "compare",
        help="compare two result sets; exit 1 on a regression",
        description=(
            "Compare rps, p95 and p99 of every runtime x tier between two results/ "
            "directories. A change is 'within noise' unless it exceeds twice the combined "
            "standard deviation of the repeats (or --noise without repeats). Exits 1 when "
            "a cell got slower by more than --fail-above beyond the noise."
        ),
    )
    parser.add_argument("baseline", type=Path, metavar="BASELINE_DIR")
    parser.add_argument("candidate", type=Path, metavar="CANDIDATE_DIR")
    parser.add_argument(
        "--fail-above", type=_share, default=CompareSettings.fail_above, metavar="SHARE",
        help="slowdown counted as a regression, e.g. 10%% or 0.1 (default: 10%%)",
    )
    parser.add_argument(
        "--noise", type=_share, default=CompareSettings.noise, metavar="SHARE",
        help="change treated as noise when there are no repeats (default: 5%%)",
    )
    parser.add_argument(
        "--out", type=Path, default=None, metavar="DIR",
        help="where compare.md and compare.csv go (default: CANDIDATE_DIR)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    settings = CompareSettings(noise=args.noise, fail_above=args.fail_above)
    try:
        baseline, candidate = read_summary(args.baseline), read_summary(args.candidate)
    except ResultSetError as error:
        print(f"tierbench compare: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    comparison = compare_summaries(baseline, candidate, settings)
    markdown = comparison_markdown(comparison, settings)
    out = args.out or args.candidate
    write_text(markdown, out / "compare.md")
    write_frame(comparison, out / "compare.csv")
    print(markdown, end="")
    return EXIT_REGRESSION if comparison["regression"].any() else 0
