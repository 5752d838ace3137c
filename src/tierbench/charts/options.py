"""The `charts` section of the workflow config, which every chart artefact is drawn by."""

from __future__ import annotations

from dataclasses import dataclass

# The summary image's default size; the comparison's is never drawn smaller.
MIN_WIDTH, MIN_HEIGHT = 1600, 900


@dataclass(frozen=True)
class ChartOptions:
    """The `charts` section of the workflow config; every field has a default."""

    width: int = 1280
    height: int = 720
    fps: int = 15
    length_s: float = 24.0
    transition_s: float = 1.6
    closing_s: float = 3.0
    summary_width: int = MIN_WIDTH
    summary_height: int = MIN_HEIGHT
    workers: int | None = None  # browser tabs rendering in parallel; default: one per core

    @classmethod
    def from_config(cls, section: dict | None) -> ChartOptions:
        section = dict(section or {})
        unknown = set(section) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(
                f"unknown charts option(s) {sorted(unknown)}; known: "
                f"{sorted(cls.__dataclass_fields__)}"
            )
        return cls(**section)
