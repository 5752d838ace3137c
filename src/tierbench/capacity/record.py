"""One capacity search as results/capacity/{cell}.json keeps it: a typed record that
reads and writes that JSON, key for key (docs/results-layout.md describes every key).

Records written by earlier versions of tierbench lack some keys; they read with those
keys' defaults. A key this version does not know is refused: it is not this record."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from tierbench.capacity.load_side import LoadSide, load_side
from tierbench.capacity.steps import StepResult
from tierbench.capacity.verdict import Verdict
from tierbench.cell_meta import CellIdentity


class CapacityRecordError(ValueError):
    """A capacity record that is missing or not tierbench's."""


@dataclass(kw_only=True)
class CapacityRecord(CellIdentity):
    """A capacity search: which cell (as a comparison cell's meta says it), how it was
    searched, its verdict, every step, and where it ran. The fields are in the order the
    JSON keeps them."""

    # Its outcome: "ok", "failed_to_start" or "crashed", and the evidence of a failure.
    status: str = "ok"
    failure: dict[str, Any] | None = None
    # What shaped the search.
    k6_script: str | None = None
    k6_script_sha256: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    limits: dict[str, Any]
    workers: int | None = None
    pinning: dict[str, Any] | None = None
    contended: bool = False
    load_side: dict[str, Any] | None = None
    # What it found, and every step on the way.
    verdict: Verdict
    search: dict[str, Any] = field(default_factory=dict)
    steps: list[StepResult] = field(default_factory=list)
    # Where and with what it ran.
    image: dict[str, Any] | None = None
    host: dict[str, Any] | None = None
    host_speed: dict[str, Any] | None = None
    # The yardstick before the first step and after the last (tierbench.load.yardstick).
    yardstick: dict[str, Any] | None = None
    versions: dict[str, Any] | None = None
    git_revision: str | None = None
    finished_at: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The record as its JSON file holds it."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["verdict"] = self.verdict.as_dict()
        data["steps"] = [step.as_row() for step in self.steps]
        return json.loads(json.dumps(data))

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CapacityRecord:
        """A record from its JSON; KeyError names a missing key, TypeError an unknown one."""
        cls.refuse_unknown_keys(data)
        return cls(
            **data
            | {
                "verdict": verdict_from_json(data["verdict"]),
                "steps": [StepResult.from_row(step) for step in data["steps"]],
            }
        )

    @classmethod
    def read(cls, path: Path | str) -> CapacityRecord:
        path = Path(path)
        try:
            return cls.from_json(json.loads(path.read_text()))
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise CapacityRecordError(
                f"{path} is not a tierbench capacity record ({type(error).__name__}: "
                f"{error}); rerun that cell's search (snakemake capacity)."
            ) from None

    def json_text(self) -> str:
        return json.dumps(self.to_json(), indent=2) + "\n"

    def measured_load_side(self) -> LoadSide | None:
        """The load side as this search's steps measured it."""
        entry = self.load_side or {}
        return load_side(
            self.steps,
            int(entry.get("cores_given") or 0),
            bool(entry.get("shared_with_runtime")),
        )


def measured_load_sides(results: Path) -> list[tuple[str, LoadSide]]:
    """The load side as each capacity record under `results/capacity/` measured it, cell by
    cell (for `tierbench doctor`); empty where there are none."""
    found = []
    for path in sorted((results / "capacity").glob("*.json")):
        try:
            side = CapacityRecord.read(path).measured_load_side()
        except CapacityRecordError:
            continue
        if side is not None:
            found.append((path.stem, side))
    return found


def verdict_from_json(data: dict[str, Any]) -> Verdict:
    """A verdict as a record keeps it (`Verdict.as_dict`); keys written by earlier
    versions and no longer part of a verdict are dropped."""
    known = {f.name for f in fields(Verdict)}
    return Verdict(**{key: value for key, value in data.items() if key in known})
