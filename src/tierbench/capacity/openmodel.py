"""Open-model load around the user's k6 script, unchanged.

A generated wrapper module imports the script, re-exports its default function (and its
setup/teardown, when it has them) and sets its own `options`: one constant-arrival-rate
scenario per step, tagged with the step. The script's own options (stages, VUs,
thresholds) do not apply under the wrapper: the arrival rate sets the load.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from tierbench.files import write_text

# Rates are written per minute, so that fractional iterations per second are exact.
TIME_UNIT_S = 60


@dataclass(frozen=True)
class StepLoad:
    """One step of the search: a constant arrival rate for warm-up + hold seconds."""

    name: str  # also the k6 scenario's name
    rate: float  # iterations per second
    warmup_s: float
    hold_s: float
    pre_allocated_vus: int
    max_vus: int
    graceful_stop_s: float

    @property
    def duration_s(self) -> float:
        return self.warmup_s + self.hold_s

    @property
    def rate_per_time_unit(self) -> int:
        return max(1, round(self.rate * TIME_UNIT_S))

    @property
    def offered_rate(self) -> float:
        """The rate k6 is actually asked for (per-minute rounding)."""
        return self.rate_per_time_unit / TIME_UNIT_S


def vus_for(rate: float, iteration_s: float, slo_s: float, max_vus: int) -> int:
    """VUs to pre-allocate: what Little's law asks at this rate if every iteration took
    `iteration_s` (the slow tail of the last passing step) plus the SLO, with half as many
    again to spare. k6 starts an iteration only on a free VU and drops it otherwise; a VU
    initialised mid-step comes late, so a pool sized to the mean alone would drop
    iterations on the first latency spike."""
    return min(max_vus, math.ceil(1.5 * rate * (iteration_s + slo_s)) + 2)


def scenario_options(step: StepLoad) -> dict:
    return {
        "scenarios": {
            step.name: {
                "executor": "constant-arrival-rate",
                "rate": step.rate_per_time_unit,
                "timeUnit": f"{TIME_UNIT_S}s",
                "duration": f"{step.duration_s:g}s",
                "preAllocatedVUs": step.pre_allocated_vus,
                "maxVUs": max(step.max_vus, step.pre_allocated_vus),
                "gracefulStop": f"{step.graceful_stop_s:g}s",
                "tags": {"step": step.name},
            }
        },
        # The search judges each step from the raw data; k6 needs no summary trends beyond.
        "summaryTrendStats": ["avg", "min", "med", "max", "p(90)", "p(95)", "p(99)"],
    }


def wrapper_source(user_script: Path, step: StepLoad) -> str:
    target = json.dumps(str(user_script.resolve()))
    return f"""// Written by tierbench: {user_script.name}, open-model load, step {step.name}.
import * as user from {target};

export const options = {json.dumps(scenario_options(step), indent=2)};

export function setup() {{
  return typeof user.setup === "function" ? user.setup() : undefined;
}}

export function teardown(data) {{
  if (typeof user.teardown === "function") user.teardown(data);
}}

export default function (data) {{
  return user.default(data);
}}
"""


def write_wrapper(path: Path, user_script: Path, step: StepLoad) -> Path:
    write_text(wrapper_source(user_script, step), path)
    return path
