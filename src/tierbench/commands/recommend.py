"""`tierbench recommend RESULTS --target-rps N [--slo-ms M]`: which tier (x replicas) is
cheapest for a target rate, from a capacity sweep's results."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import polars as pl
import yaml

from tierbench.capacity.recommend import recommendation, recommendation_markdown, with_overrides
from tierbench.capacity.record import CapacityRecord, CapacityRecordError
from tierbench.capacity.settings import CapacitySettings
from tierbench.commands.declare import Command, arg, configfile, error, out_dir, path
from tierbench.files import write_text


def _results_dir(path: Path) -> Path:
    for candidate in (path, path / "results"):
        if (candidate / "capacity.parquet").exists() or (candidate / "capacity.csv").exists():
            return candidate
    raise FileNotFoundError(
        f"{path}: no capacity.parquet or capacity.csv here or in {path / 'results'}; run "
        "`snakemake capacity` first, or point at a copy of its results."
    )


def _settings(configfile: Path) -> CapacitySettings:
    section = {}
    if configfile.exists():
        section = (yaml.safe_load(configfile.read_text()) or {}).get("capacity") or {}
    return CapacitySettings.from_config(section)


def run(args: argparse.Namespace) -> int:
    try:
        results = _results_dir(args.results)
        parquet, csv = results / "capacity.parquet", results / "capacity.csv"
        capacity = pl.read_parquet(parquet) if parquet.exists() else pl.read_csv(csv)
        records = [CapacityRecord.read(p) for p in sorted((results / "capacity").glob("*.json"))]
    except (FileNotFoundError, CapacityRecordError) as problem:
        return error("recommend", problem)
    if args.slo_ms is not None and not records:
        return error(
            "recommend",
            f"--slo-ms needs the cells' records in {results / 'capacity'} to judge their "
            "steps again",
        )
    settings = with_overrides(
        _settings(args.configfile),
        target_rps=args.target_rps,
        headroom=args.headroom,
        ha=args.ha,
    )
    report = recommendation(
        capacity, settings, list(settings.prices), args.target_rps, args.slo_ms, records
    )
    markdown = recommendation_markdown(report)
    if args.out:
        write_text(markdown, args.out / "recommendation.md")
        write_text(json.dumps(report, indent=2) + "\n", args.out / "recommendation.json")
    print(markdown, end="")
    return 0


COMMAND = Command(
    name="recommend",
    help="right-size from a capacity sweep: replicas, memory fit and cost per tier",
    description=(
        "For a target request rate (and optionally another SLO than the search's), "
        "every tier's replicas (ceil(target / (capacity x headroom)), one more with "
        "--ha), whether its memory fits, what each provider bills per hour and per "
        "million requests, and the cheapest choice per runtime. Reads "
        "RESULTS/capacity.parquet (or .csv) and the cells' records in RESULTS/capacity/."
    ),
    arguments=(
        path("results", "RESULTS"),
        arg("--target-rps", type=float, required=True, metavar="N"),
        arg(
            "--slo-ms",
            type=float,
            default=None,
            metavar="M",
            help="judge the steps again at this SLO (default: the search's own)",
        ),
        arg("--headroom", type=float, default=None, metavar="SHARE"),
        arg(
            "--ha",
            action=argparse.BooleanOptionalAction,
            default=None,
            help="one replica more than the target needs, so losing one still serves it "
            "(default: the config's capacity.ha, on)",
        ),
        configfile(
            "where the price table comes from (default: config/config.yaml, else the shipped one)"
        ),
        out_dir("write recommendation.md and .json here (default: print only)"),
    ),
    run=run,
)
