"""The `tracing` section of the config, and the sweep it makes: every runtime beside a
twin with its tracing off (the variant `notrace`, named `{runtime}-notrace`), at the
section's tiers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tierbench.config.sweep import Cell, ConfigError, Sweep

# The variant with tracing off: `ts-notrace`, `python-notrace`.
VARIANT = "notrace"
# Defaults of every key of the `tracing` section (the schema describes each).
DEFAULTS: dict[str, Any] = {
    "tiers": None,
    "off_environment": {"TRACING": "off"},
    "rate_share": 0.5,
    "repeats": 3,
    "warmup_s": 5.0,
    "hold_s": 15.0,
    "confirmations": None,
    "time_budget_s": None,
}


@dataclass(frozen=True)
class TracingSettings:
    tiers: tuple[str, ...]  # the tiers to measure, in the config's order
    off_environment: dict[str, str]  # what turns a runtime's tracing off
    rate_share: float  # the fixed rate, as a share of the traced capacity
    repeats: int  # holds at the fixed rate, each side, interleaved
    warmup_s: float
    hold_s: float
    confirmations: int | None  # the capacity searches' k (None: the capacity section's)
    time_budget_s: float | None  # ... and their time budget (None: the capacity section's)

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> TracingSettings:
        """The section of a complete config (`Sweep.config`). Tiers it names that the
        config has not are left out (a config of fewer tiers, made from the reference one,
        still loads); ConfigError when none is left."""
        section = DEFAULTS | (config.get("tracing") or {})
        named = section["tiers"] or list(config["tiers"])
        tiers = tuple(tier for tier in config["tiers"] if tier in named)
        if not tiers:
            raise ConfigError(
                f"config key tracing.tiers: none of {', '.join(map(repr, named))} is in tiers "
                f"({', '.join(config['tiers'])}); name tiers the config has"
            )
        return cls(
            tiers=tiers,
            off_environment={str(k): str(v) for k, v in section["off_environment"].items()},
            rate_share=float(section["rate_share"]),
            repeats=int(section["repeats"]),
            warmup_s=float(section["warmup_s"]),
            hold_s=float(section["hold_s"]),
            confirmations=section["confirmations"],
            time_budget_s=section["time_budget_s"],
        )


def tracing_config(config: dict[str, Any]) -> dict[str, Any]:
    """The config of the tracing sweep, from a complete one (`Sweep.config`): each runtime
    (its own variants left out) with the variant `notrace`, one repeat, and the capacity
    searches confirming `tracing.confirmations` times within `tracing.time_budget_s` where
    they are set."""
    settings = TracingSettings.from_config(config)
    runtimes = {
        name: {key: value for key, value in runtime.items() if key != "variants"}
        | {"variants": {VARIANT: {"environment": settings.off_environment}}}
        for name, runtime in config["runtimes"].items()
    }
    capacity = dict(config.get("capacity") or {})
    if settings.confirmations is not None:
        capacity["confirmations"] = settings.confirmations
    if settings.time_budget_s is not None:
        capacity["time_budget_s"] = settings.time_budget_s
    return config | {"runtimes": runtimes, "repeats": 1, "capacity": capacity}


def tracing_cells(sweep: Sweep) -> list[Cell]:
    """The tracing sweep's cells (`sweep` loaded from `tracing_config`): every runtime and
    its twin at the section's tiers."""
    tiers = TracingSettings.from_config(sweep.config).tiers
    return [cell for cell in sweep.cells if cell.tier in tiers]


def pairs(sweep: Sweep) -> list[tuple[Cell, Cell]]:
    """(traced, untraced) cells, runtime by runtime, tier by tier."""
    cells = {cell.name: cell for cell in tracing_cells(sweep)}
    return [
        (cell, cells[Cell(f"{cell.runtime}-{VARIANT}", cell.tier, 1).name])
        for cell in cells.values()
        if sweep.runtime_settings[cell.runtime].get("variant_of") is None
    ]
