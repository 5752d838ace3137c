"""A cell's meta reads and writes its JSON key for key: metas written by this version and
earlier ones (recorded from real runs) round-trip without losing or changing a value, and
a file that is not a meta is refused with what to do."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import DATA, REPO
from tierbench.cell_meta import CellMeta, CellMetaError

METAS = sorted(DATA.glob("**/meta/*.json")) + sorted(
    (REPO / "docs" / "example").glob("meta/*.json")
)


def kept(written, original):
    """`written` with only the keys `original` has, at every depth."""
    if isinstance(original, dict):
        return {key: kept(written[key], value) for key, value in original.items()}
    return written


def test_there_are_recorded_metas_to_read():
    assert len(METAS) >= 8


@pytest.mark.parametrize("path", METAS, ids=lambda p: str(p.relative_to(REPO)))
def test_a_recorded_meta_round_trips_without_losing_or_changing_a_value(path: Path):
    original = json.loads(path.read_text())
    meta = CellMeta.read(path)
    written = meta.to_json()
    # Keys the file lacks (written by an earlier version) come back at their defaults.
    assert kept(written, original) == original
    assert CellMeta.from_json(written) == meta
    assert (meta.cell, meta.runtime, meta.tier) == (
        original["cell"],
        original["runtime"],
        original["tier"],
    )


def test_a_failed_cell_has_no_window_and_says_why():
    meta = CellMeta.from_json(
        {
            "tierbench_version": "0.1.0",
            "cell": "web-xs",
            "runtime": "web",
            "tier": "xs",
            "status": "failed_to_start",
            "failure": {"reason": "OOM-killed"},
            "limits": {"requested": {"cpus": 0.25, "memory_bytes": 2**28}, "applied": None},
        }
    )
    assert meta.window is None and meta.limit("memory_bytes") == 2**28
    assert meta.to_json()["status"] == "failed_to_start"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda m: m.update(colour="blue"), "unknown key(s) ['colour']"),
        (lambda m: m.pop("limits"), "'limits'"),
    ],
)
def test_a_file_that_is_not_a_meta_is_refused_with_what_to_do(tmp_path, change, expected):
    data = json.loads(METAS[0].read_text())
    change(data)
    path = tmp_path / "web-xs.json"
    path.write_text(json.dumps(data))
    with pytest.raises(CellMetaError) as raised:
        CellMeta.read(path)
    message = str(raised.value)
    assert str(path) in message and expected in message and "rerun that cell" in message
