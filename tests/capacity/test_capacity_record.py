"""The capacity record reads and writes its JSON key for key: records written by this
version and earlier ones (recorded from real searches) round-trip without losing or
changing a value, and a file that is not a record is refused with what to do."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import DATA, REPO
from tierbench.capacity.record import CapacityRecord, CapacityRecordError
from tierbench.capacity.steps import StepResult
from tierbench.capacity.verdict import Verdict

RECORDS = sorted((DATA / "capacity" / "capacity").glob("*.json")) + sorted(
    (REPO / "docs" / "example" / "capacity").glob("*.json")
)


@pytest.mark.parametrize("path", RECORDS, ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_a_recorded_search_round_trips_without_losing_or_changing_a_value(path: Path):
    original = json.loads(path.read_text())
    record = CapacityRecord.read(path)
    assert isinstance(record.verdict, Verdict)
    assert all(isinstance(step, StepResult) for step in record.steps)
    written = record.to_json()
    # Keys the file lacks (written by an earlier version) come back at their defaults;
    # every key it has comes back as it was.
    assert kept(written, original) == original
    assert CapacityRecord.from_json(written) == record


def kept(written, original):
    """`written` with only the keys `original` has, at every depth."""
    if isinstance(original, dict):
        return {key: kept(written[key], value) for key, value in original.items()}
    if isinstance(original, list) and isinstance(written, list):
        return [kept(w, o) for w, o in zip(written, original, strict=True)]
    return written


def test_the_typed_record_is_what_the_tables_read(tmp_path: Path):
    record = CapacityRecord.read(RECORDS[0])
    assert (
        record.verdict.capacity_rps == json.loads(RECORDS[0].read_text())["verdict"]["capacity_rps"]
    )
    copy = tmp_path / "copy.json"
    copy.write_text(record.json_text())
    assert CapacityRecord.read(copy) == record


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda r: r.update(colour="blue"), "unknown key(s) ['colour']"),
        (lambda r: r.pop("verdict"), "KeyError: 'verdict'"),
        (lambda r: r["steps"].append({"phase": "probe"}), "TypeError"),
    ],
)
def test_a_file_that_is_not_a_record_is_refused_with_what_to_do(tmp_path, change, expected):
    data = json.loads(RECORDS[0].read_text())
    change(data)
    path = tmp_path / "python-s.json"
    path.write_text(json.dumps(data))
    with pytest.raises(CapacityRecordError) as raised:
        CapacityRecord.read(path)
    message = str(raised.value)
    assert str(path) in message and expected in message
    assert "rerun that cell's search (snakemake capacity)" in message
