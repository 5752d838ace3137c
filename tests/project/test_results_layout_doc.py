"""docs/results-layout.md names every column and field the code writes: each section's
backticked names are checked against the schema or record type that writes them, so a
column added without its words (or words left for a column gone) fails here."""

from __future__ import annotations

import dataclasses
import re

import pytest

from conftest import REPO
from tierbench.aggregate.resources import RESOURCE_CSV_SCHEMA
from tierbench.aggregate.tables import (
    IDENTITY,
    RUNS_ORDER,
    STEPS_SCHEMA,
    SUMMARY_METRICS,
    TIMELINE_SCHEMA,
)
from tierbench.capacity.record import CapacityRecord
from tierbench.capacity.steps import StepResult
from tierbench.capacity.tables import CAPACITY_SCHEMA
from tierbench.capacity.verdict import Verdict
from tierbench.cell_meta import CellMeta
from tierbench.tidy.k6_json import METRIC_SCHEMA, REQUEST_SCHEMA
from tierbench.tracing.holds import HOLD_SCHEMA
from tierbench.tracing.table import TRACING_SCHEMA

LAYOUT = REPO / "docs" / "results-layout.md"
NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


def section(heading: str) -> str:
    """The text under a heading, up to the next heading of any level."""
    text = LAYOUT.read_text()
    start = text.index(f"\n{heading}\n") + len(heading) + 2
    following = re.search(r"^#{1,6} ", text[start:], re.M)
    return text[start : start + following.start()] if following else text[start:]


def named(heading: str) -> set[str]:
    """Every name the section writes in backticks, lists like `a, b, c` included."""
    names = set()
    for span in re.findall(r"`([^`]+)`", section(heading)):
        names |= {part.strip() for part in span.split(",") if NAME.match(part.strip())}
    return names


SUMMARY_COLUMNS = [
    *IDENTITY,
    "repeats",
    "statistic",
    "status",
    "status_reason",
    *SUMMARY_METRICS,
    "contended",
    "warnings",
]

SECTIONS = {
    "### `results/resources/{cell}.csv`": list(RESOURCE_CSV_SCHEMA),
    "### `tidy/{cell}.parquet` columns (one row per HTTP request)": list(REQUEST_SCHEMA),
    "### `tidy/{cell}.metrics.parquet` columns (every other sample)": list(METRIC_SCHEMA),
    "### `runs` columns": RUNS_ORDER,
    "### `summary` columns": SUMMARY_COLUMNS,
    "### `steps.csv` columns": list(STEPS_SCHEMA),
    "### `timeline.parquet` columns": list(TIMELINE_SCHEMA),
    "### `capacity/steps/{cell}.csv` columns (one row per step)": [
        f.name for f in dataclasses.fields(StepResult)
    ],
    "### `capacity` columns": list(CAPACITY_SCHEMA),
    "### `tracing/holds/{cell}.csv` columns (one row per hold)": list(HOLD_SCHEMA),
    "### `tracing` columns": list(TRACING_SCHEMA),
}


@pytest.mark.parametrize("heading", list(SECTIONS))
def test_every_column_is_named_where_its_file_is_described(heading):
    missing = [column for column in SECTIONS[heading] if column not in named(heading)]
    assert missing == [], f"{LAYOUT.name} {heading} does not name {missing}"


def test_every_field_of_the_cell_meta_is_named_in_its_section():
    """The section's JSON example names most keys, its list after it the rest."""
    text = section("### `results/meta/{cell}.json`")
    example = "".join(re.findall(r"```json\n(.*?)```", text, re.S))
    prose = re.sub(r"```.*?```", "", text, flags=re.S)
    described = set(re.findall(r'"(\w+)":', example)) | set(re.findall(r"`(\w+)`", prose))
    missing = [f.name for f in dataclasses.fields(CellMeta) if f.name not in described]
    assert missing == [], missing


def test_every_field_of_the_capacity_record_is_named_in_its_section():
    described = named("### `capacity/{cell}.json`")
    missing = [f.name for f in dataclasses.fields(CapacityRecord) if f.name not in described]
    assert missing == [], missing


def test_every_verdict_field_is_named_in_the_capacity_record():
    described = named("### `capacity/{cell}.json`")
    missing = [f.name for f in dataclasses.fields(Verdict) if f.name not in described]
    assert missing == [], missing


@pytest.mark.parametrize(
    ("heading", "columns"),
    [
        ("### `capacity` columns", list(CAPACITY_SCHEMA)),
        ("### `runs` columns", RUNS_ORDER),
    ],
)
def test_no_column_list_names_a_column_that_is_not_written(heading, columns):
    """The comma lists (the column lists proper) name no column the code does not write."""
    listed = set()
    for span in re.findall(r"`([^`]+)`", section(heading)):
        parts = [part.strip() for part in span.split(",")]
        if len(parts) > 1:
            listed |= {part for part in parts if NAME.match(part)}
    assert listed - set(columns) == set()


def test_the_reader_finds_a_section_and_its_names():
    assert "timestamp" in named("### `tidy/{cell}.parquet` columns (one row per HTTP request)")


EXAMPLE = LAYOUT.parent / "example"
# The tables `make bench` and `make capacity` write, as committed in docs/example (copied
# from results/ with nothing edited), and the columns the code declares for each.
WRITTEN = {
    "summary.csv": SUMMARY_COLUMNS,
    "runs.csv": RUNS_ORDER,
    "steps.csv": list(STEPS_SCHEMA),
    "capacity.csv": list(CAPACITY_SCHEMA),
}


# Columns of those tables added after docs/example was last regenerated (see the step
# columns below): emptied when scripts/regenerate-example.sh runs again.
COLUMNS_NEWER_THAN_THE_EXAMPLE: set[str] = set()


@pytest.mark.parametrize("name", list(WRITTEN))
def test_the_committed_example_has_the_columns_the_code_declares(name):
    """A restructuring that drops, renames or reorders a column of what the sweeps write
    fails here until docs/example is regenerated with it (and this page says it)."""
    header = (EXAMPLE / name).read_text().splitlines()[0].split(",")
    columns = WRITTEN[name]
    if header != columns:
        columns = [c for c in columns if c not in COLUMNS_NEWER_THAN_THE_EXAMPLE]
    assert header == columns


# Step columns added after docs/example was last regenerated: its tables lack them until
# scripts/regenerate-example.sh runs again; then this set is emptied (the test then holds
# the example to every column again).
STEP_COLUMNS_NEWER_THAN_THE_EXAMPLE: set[str] = set()


def test_the_committed_capacity_steps_have_the_step_columns():
    steps = sorted((EXAMPLE / "capacity" / "steps").glob("*.csv"))
    assert steps, "docs/example/capacity/steps/ holds no step table"
    columns = [f.name for f in dataclasses.fields(StepResult)]
    if columns != steps[0].read_text().splitlines()[0].split(","):
        columns = [c for c in columns if c not in STEP_COLUMNS_NEWER_THAN_THE_EXAMPLE]
    for path in steps:
        assert path.read_text().splitlines()[0].split(",") == columns, path.name
