"""One comparison cell's meta as results/meta/{cell}.json keeps it: what was run, under
which limits, over which window, with which outcome. A typed record that reads and writes
that JSON key for key (docs/results-layout.md describes every key).

Metas written by earlier versions of tierbench lack some keys; they read with those keys'
defaults. A key this version does not know is refused: it is not this record."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any


class CellMetaError(ValueError):
    """A file that is not a cell's meta; the message names it and what to do."""


@dataclass(kw_only=True)
class CellIdentity:
    """Which cell a record is of: the first keys of a cell's meta and of a capacity
    record, in the order their JSON keeps them."""

    tierbench_version: str
    cell: str
    runtime: str
    tier: str
    repeat: int = 1
    service: str | None = None
    port: int | None = None
    # What the runtime's config (or its variant) set on the service.
    environment: dict[str, str] = field(default_factory=dict)
    # A variant's build args, which built the image it ran (empty: the service's own).
    build_args: dict[str, str] = field(default_factory=dict)
    variant_of: str | None = None
    tier_order: int | None = None
    backend: str = "docker"

    @classmethod
    def refuse_unknown_keys(cls, data: dict[str, Any]) -> None:
        unknown = set(data) - {f.name for f in fields(cls)}
        if unknown:
            raise TypeError(f"unknown key(s) {sorted(unknown)}")


@dataclass(kw_only=True)
class CellMeta(CellIdentity):
    """A cell's meta; the fields are in the order the JSON keeps them."""

    # What was asked and what applied.
    profile: dict[str, Any] = field(default_factory=dict)
    limits: dict[str, Any]
    # The measured window on k6's clock; None when the runtime never ran the load.
    window: dict[str, Any] | None = None
    pinning: dict[str, Any] | None = None
    contended: bool = False
    k6: dict[str, Any] = field(default_factory=dict)
    resources: dict[str, Any] = field(default_factory=dict)
    image: dict[str, Any] | None = None
    host: dict[str, Any] | None = None
    config_hash: str | None = None
    # The outcome: "ok", "failed_to_start" or "crashed", and the evidence of a failure.
    status: str = "ok"
    failure: dict[str, Any] | None = None
    warnings: list[str] = field(default_factory=list)
    # Where and with what it ran, and what the pipeline itself took.
    host_speed: dict[str, Any] | None = None
    # The yardstick at the cell's limits before and after it (tierbench.load.yardstick);
    # None when not measured.
    yardstick: dict[str, Any] | None = None
    versions: dict[str, Any] | None = None
    git_revision: str | None = None
    orchestration_s: dict[str, float] = field(default_factory=dict)
    runtime_workers: int | None = None
    preflight: list[str] | None = None  # None: no pre-flight ran before the cell
    load_side: dict[str, Any] | None = None
    # The spans the runtime ended during the load and those its trace sink received of
    # them (config `span_delivery`); None when not checked.
    spans_expected: int | None = None
    spans_received: int | None = None
    spans_lost: int | None = None

    def limit(self, key: str) -> float | None:
        """A limit as applied (as requested where it was never read back)."""
        value = (self.limits.get("applied") or {}).get(key)
        return value if value is not None else (self.limits.get("requested") or {}).get(key)

    def to_json(self) -> dict[str, Any]:
        """The meta as its JSON file holds it."""
        return json.loads(json.dumps({f.name: getattr(self, f.name) for f in fields(self)}))

    def json_text(self) -> str:
        return json.dumps(self.to_json(), indent=2) + "\n"

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CellMeta:
        """A meta from its JSON; TypeError names an unknown or a missing key."""
        cls.refuse_unknown_keys(data)
        return cls(**data)

    @classmethod
    def read(cls, path: Path | str) -> CellMeta:
        path = Path(path)
        try:
            return cls.from_json(json.loads(path.read_text()))
        except (OSError, ValueError, TypeError) as error:
            raise CellMetaError(
                f"{path} is not a tierbench meta file ({type(error).__name__}: {error}); "
                "rerun that cell (snakemake regenerates it); see docs/results-layout.md."
            ) from None
