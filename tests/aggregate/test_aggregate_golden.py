"""The cells recorded from real k6 runs aggregate to the committed tables, value for value.

The committed tables (tests/data/results-smoke/recorded) pin what the aggregate stage
writes: a change of any figure, column or order shows here and must be deliberate. To
accept a deliberate change, rewrite them with
`python tests/aggregate/test_aggregate_golden.py`.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

# Also run as a script (to rewrite the tables), where conftest is not on the path.
DATA = Path(__file__).resolve().parents[1] / "data"
RECORDED = DATA / "results-smoke" / "recorded"
TABLES = ["summary", "runs", "timeline"]
CELLS = sorted(p.stem for p in (DATA / "cells" / "meta").glob("*.json"))


def aggregate_recorded_cells(results: Path) -> Path:
    from tierbench.aggregate.outputs import AggregateOutputs, aggregate_results
    from tierbench.aggregate.tables import CellFiles
    from tierbench.aggregate.trust_warnings import Thresholds
    from tierbench.tidy.k6_json import tidy_k6_json

    shutil.copytree(DATA / "cells", results, ignore=shutil.ignore_patterns("sweep", "README.md"))
    for cell in CELLS:
        tidy_k6_json(DATA / "k6" / f"{cell}.json.gz", results / "tidy" / f"{cell}.parquet")
    aggregate_results(
        [CellFiles.in_results(results, cell) for cell in CELLS],
        AggregateOutputs.in_results(results),
        Thresholds(),
    )
    return results


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return aggregate_recorded_cells(tmp_path_factory.mktemp("golden") / "results")


@pytest.mark.parametrize("table", TABLES)
def test_recorded_cells_aggregate_to_the_committed_tables(results: Path, table: str) -> None:
    written = pl.read_parquet(results / f"{table}.parquet")
    committed = pl.read_parquet(RECORDED / f"{table}.parquet")
    assert_frame_equal(written, committed)


if __name__ == "__main__":
    import tempfile

    results = aggregate_recorded_cells(Path(tempfile.mkdtemp()) / "results")
    for table in TABLES:
        shutil.copy(results / f"{table}.parquet", RECORDED / f"{table}.parquet")
        print(f"rewrote {RECORDED / f'{table}.parquet'}", file=sys.stderr)
