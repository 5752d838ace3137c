"""Cells recorded from real k6 runs (tests/data/k6, tests/data/cells), laid out as the
workflow leaves results/ before the aggregate stage, and aggregated: for the tests of
every package that reads aggregate results."""

from __future__ import annotations

import shutil
from pathlib import Path

from conftest import DATA
from tierbench.aggregate.outputs import AggregateOutputs, aggregate_results
from tierbench.aggregate.tables import CellFiles
from tierbench.aggregate.trust_warnings import Thresholds
from tierbench.tidy.k6_json import tidy_k6_json

CELLS = sorted(p.stem for p in (DATA / "cells" / "meta").glob("*.json"))


def build_results(root: Path, cells: list[str] = CELLS) -> Path:
    """A results/ directory as the workflow leaves it before the aggregate stage."""
    results = root / "results"
    for sub in ("meta", "resources", "tidy"):
        (results / sub).mkdir(parents=True, exist_ok=True)
    for cell in cells:
        shutil.copy(DATA / "cells" / "meta" / f"{cell}.json", results / "meta")
        shutil.copy(DATA / "cells" / "resources" / f"{cell}.csv", results / "resources")
        tidy_k6_json(DATA / "k6" / f"{cell}.json.gz", results / "tidy" / f"{cell}.parquet")
    return results


def aggregate(results: Path, cells: list[str] = CELLS, **thresholds: float) -> list[str]:
    return aggregate_results(
        [CellFiles.in_results(results, cell) for cell in cells],
        AggregateOutputs.in_results(results),
        Thresholds(**thresholds),
    )
