"""`tierbench compare BASELINE_DIR CANDIDATE_DIR`: per-cell differences with their
standard error and confidence; non-zero exit on a regression so it can gate CI."""

from __future__ import annotations

import argparse

import polars as pl

from tierbench.aggregate.compare import (
    CompareSettings,
    ResultSetError,
    compare_runs,
    comparison_markdown,
    condition_differences,
    host_speeds,
    hosts_differ,
    in_yardstick_units,
    read_result_set,
    unmeasured_tiers,
    yardstick_readings,
)
from tierbench.commands.declare import Command, arg, error, out_dir, path
from tierbench.files import write_frame, write_text

EXIT_REGRESSION = 1


def _share(text: str) -> float:
    value = float(text.rstrip("%"))
    return value / 100 if text.endswith("%") or value > 1 else value


def run(args: argparse.Namespace) -> int:
    settings = CompareSettings(confidence=args.confidence, fail_above=args.fail_above)
    try:
        baseline, candidate = read_result_set(args.baseline), read_result_set(args.candidate)
    except ResultSetError as problem:
        return error("compare", problem)
    differences = condition_differences(baseline, candidate)
    if differences and not args.allow_different:
        return error(
            "compare",
            "the two sets were measured under different conditions, so their figures do "
            "not compare:\n"
            + "\n".join(f"  - {text}" for text in differences)
            + "\nMeasure both the same way, or pass --allow-different to compare anyway.",
        )
    speeds = host_speeds(baseline, candidate, settings)
    unmeasured = unmeasured_tiers(baseline, candidate)
    normalised = hosts_differ(speeds) and not args.raw and not unmeasured
    base_runs, cand_runs = baseline.runs, candidate.runs
    if normalised:
        base_runs = in_yardstick_units(base_runs, yardstick_readings(baseline))
        cand_runs = in_yardstick_units(cand_runs, yardstick_readings(candidate))
    comparison = compare_runs(base_runs, cand_runs, settings).with_columns(
        rps_in_yardstick_units=pl.lit(normalised)
    )
    markdown = comparison_markdown(
        comparison, settings, differences, speeds, normalised, unmeasured
    )
    out = args.out or args.candidate
    write_text(markdown, out / "compare.md")
    write_frame(comparison, out / "compare.csv")
    print(markdown, end="")
    return EXIT_REGRESSION if comparison["regression"].any() else 0


COMMAND = Command(
    name="compare",
    help="compare two result sets; exit 1 on a regression",
    description=(
        "Compare req/s, p95 and p99 of every runtime x tier between two result sets "
        "(results/ directories, or copies of their tables and meta/). The sets must "
        "have been measured under the same conditions (profile, k6 script, tier limits, "
        "host, tierbench version), else the comparison is refused. Each difference of "
        "the means over repeats comes with its standard error and a confidence "
        "interval (Welch's t). Where the yardstick measured around the cells shows the "
        "two hosts differ, req/s is compared in yardstick units (--raw: as measured). "
        "Exits 1 when a cell got slower beyond that confidence and by at least "
        "--fail-above."
    ),
    arguments=(
        path("baseline", "BASELINE_DIR"),
        path("candidate", "CANDIDATE_DIR"),
        arg(
            "--confidence",
            type=_share,
            default=CompareSettings.confidence,
            metavar="SHARE",
            help="confidence of each interval, e.g. 95%% or 0.99 (default: 95%%)",
        ),
        arg(
            "--fail-above",
            type=_share,
            default=CompareSettings.fail_above,
            metavar="SHARE",
            help="smallest significant slowdown that is a regression (default: 5%%)",
        ),
        arg(
            "--allow-different",
            action="store_true",
            help="compare sets measured under different conditions; the differences head "
            "the report",
        ),
        arg(
            "--raw",
            action="store_true",
            help="compare req/s as measured even where the yardstick says the hosts differ",
        ),
        out_dir("where compare.md and compare.csv go (default: CANDIDATE_DIR)"),
    ),
    run=run,
)
