"""`tierbench tidy IN.json[.gz] OUT.parquet`: k6 JSON output to tidy Parquet."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from tierbench.commands.declare import Command, arg, error, path
from tierbench.tidy.k6_json import EmptyRunError, K6FormatError, metrics_path_for, tidy_k6_json


def run(args: argparse.Namespace) -> int:
    metrics_out = args.metrics_out or metrics_path_for(args.requests_out)
    started = time.perf_counter()
    try:
        result = tidy_k6_json(args.source, args.requests_out, metrics_out)
    except (K6FormatError, EmptyRunError, FileNotFoundError) as problem:
        return error("tidy", problem)
    elapsed = time.perf_counter() - started
    print(
        f"{args.source}: {result.lines:,} lines, {result.bytes_read / 1e6:,.1f} MB in "
        f"{elapsed:.2f} s ({result.bytes_read / 1e6 / max(elapsed, 1e-9):,.0f} MB/s)\n"
        f"  {result.requests:,} requests -> {args.requests_out}\n"
        f"  {result.metric_samples:,} other samples -> {metrics_out}"
    )
    return 0


COMMAND = Command(
    name="tidy",
    help="convert k6 --out json output to Parquet, one row per HTTP request",
    description=(
        "Convert k6 `--out json` NDJSON (plain or .gz) to Parquet: one row per HTTP "
        "request in OUT, every other sample (iterations, checks, vus, ...) beside it "
        "in OUT's .metrics.parquet. Memory stays bounded whatever the input size."
    ),
    arguments=(
        path("source", "IN.json[.gz]"),
        path("requests_out", "OUT.parquet"),
        arg(
            "--metrics-out",
            type=Path,
            default=None,
            metavar="PATH",
            help="where the non-request samples go (default: OUT.metrics.parquet)",
        ),
    ),
    run=run,
)
