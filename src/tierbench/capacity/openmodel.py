"""Open-model load around the user's k6 script, unchanged.

A generated wrapper module imports the script, re-exports its default function (and its
setup/teardown, when it has them) and sets its own `options`: one constant-arrival-rate
scenario per step, tagged with the step. The script's own options (stages, VUs,
thresholds) do not apply under the wrapper: the arrival rate sets the load.

Where a step is judged from k6's summary rather than its raw data (`HoldSummary`), the
wrapper tags every iteration that starts in the hold (`HOLD_TAG`), and sub-metric
thresholds that always pass make k6 summarise those iterations and their requests apart:
the same "started inside the hold" the raw data is cut by, counted by k6 itself.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tierbench.files import write_text

# Rates are written per minute, so that fractional iterations per second are exact.
TIME_UNIT_S = 60
# The tag of the iterations that start in the hold, and of everything they measure.
HOLD_TAG = "tierbench_hold"
HELD = f"{HOLD_TAG}:yes"
# Trend statistics every summarised step needs (the SLO's percentile is added to them).
TREND_STATS = ["avg", "min", "med", "max", "count", "p(50)", "p(90)", "p(95)", "p(99)"]
# Threshold expressions that always hold: they exist to make k6 summarise a sub-metric.
ALWAYS = {"trend": ["max>=0"], "rate": ["rate>=0"]}
# A tag value k6 can name inside a sub-metric's braces: k6 splits them at commas and each
# pair at its first colon (so a URL, as k6 names a request by default, is fine).
PLAIN_VALUE = re.compile(r'^[^,{}"\s][^,{}"]*$')


@dataclass(frozen=True)
class HoldSummary:
    """What a step summarised by k6 must break out: the SLO's requests (a tag and value)
    and the request names whose p99 the step keeps."""

    percentile: float
    slo_tag: tuple[str, str] | None = None
    names: Sequence[str] = ()

    def thresholds(self) -> dict[str, list[str]]:
        held = {
            f"http_req_duration{{{HELD}}}": ALWAYS["trend"],
            f"http_req_failed{{{HELD}}}": ALWAYS["rate"],
            f"iteration_duration{{{HELD}}}": ALWAYS["trend"],
        }
        if self.slo_tag is not None:
            held[slo_submetric(*self.slo_tag)] = ALWAYS["trend"]
        for name in self.names:
            held[name_submetric(name)] = ALWAYS["trend"]
        return held

    @property
    def trend_stats(self) -> list[str]:
        wanted = f"p({self.percentile:g})"
        return TREND_STATS if wanted in TREND_STATS else [*TREND_STATS, wanted]


def slo_submetric(tag: str, value: str) -> str:
    return f"http_req_duration{{{HELD},{tag}:{value}}}"


def name_submetric(name: str) -> str:
    return f"http_req_duration{{{HELD},name:{name}}}"


def summarisable(value: str) -> bool:
    """Whether a tag value can be named in a sub-metric."""
    return bool(PLAIN_VALUE.match(value))


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
    `iteration_s` (the slow tail of the last passing step) plus the SLO, two and a half
    times over. k6 starts an iteration only on a free VU and drops it otherwise; a VU
    initialised mid-step comes late, so a pool sized to the mean alone would drop
    iterations on the first latency spike. Near the knee of a small tier the tail grows
    past the last passing step's (CFS throttling stalls every request in flight): with
    half as many again to spare, ts at xs ran short in 3 of the 7 full steps of its
    search in docs/example and in 2 of the 13 steps of a search after it, each step then
    held again."""
    return min(max_vus, math.ceil(2.5 * rate * (iteration_s + slo_s)) + 2)


def scenario_options(step: StepLoad, summary: HoldSummary | None = None) -> dict:
    options = {
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
        # A step judged from the raw data needs no summary trends beyond these.
        "summaryTrendStats": ["avg", "min", "med", "max", "p(90)", "p(95)", "p(99)"],
    }
    if summary is not None:
        options["summaryTrendStats"] = summary.trend_stats
        options["thresholds"] = summary.thresholds()
    return options


def wrapper_source(user_script: Path, step: StepLoad, summary: HoldSummary | None = None) -> str:
    target = json.dumps(str(user_script.resolve()))
    options = json.dumps(scenario_options(step, summary), indent=2)
    if summary is None:
        imports, tagging = "", ""
    else:
        imports = 'import exec from "k6/execution";\n'
        hold_ms = round(step.warmup_s * 1000)
        tagging = (
            "  // Iterations that start in the hold, and all they measure, carry the hold tag.\n"
            f"  const held = Date.now() - exec.scenario.startTime >= {hold_ms};\n"
            f'  exec.vu.metrics.tags["{HOLD_TAG}"] = held ? "yes" : "no";\n'
        )
    return f"""// Written by tierbench: {user_script.name}, open-model load, step {step.name}.
{imports}import * as user from {target};

export const options = {options};

export function setup() {{
  return typeof user.setup === "function" ? user.setup() : undefined;
}}

export function teardown(data) {{
  if (typeof user.teardown === "function") user.teardown(data);
}}

export default function (data) {{
{tagging}  return user.default(data);
}}
"""


def write_wrapper(
    path: Path, user_script: Path, step: StepLoad, summary: HoldSummary | None = None
) -> Path:
    write_text(wrapper_source(user_script, step, summary), path)
    return path
