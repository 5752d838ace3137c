"""One step of a capacity search, judged from k6's data and the resource samples.

A step offers a constant arrival rate for a warm-up and then a measured hold. Its figures
cover what *started* inside the hold, so that a slow request that ends after the hold
still counts and latency is not flattered at the edge. They come from one of two sources:

- k6's summary (the default): the wrapper tags each iteration that starts in the hold,
  and k6 summarises those iterations and their requests apart (`summary_figures`). k6
  then writes no raw data: writing it costs k6 about 8 % more CPU per request
  (docs/example/benchmarks/k6_output.txt), on a load side near its ceiling.
- k6's raw data (`capacity.raw_json`, and the first step of every search, which learns
  the request names): each request that started in the hold, its start being k6's stamp
  less its duration (`raw_figures`).

Either way the percentiles are k6's own definition.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timedelta
from typing import Any

import polars as pl

from tierbench.aggregate.resources import kernel_window_figures
from tierbench.capacity.openmodel import HELD, HoldSummary, StepLoad, name_submetric, slo_submetric
from tierbench.capacity.settings import CapacitySettings, SloRequests

# A step passes its achieved-rate test with this many iterations of slack, so that a
# low rate over a short hold is not failed by rounding alone.
ITERATION_SLACK = 1
# Most request names whose p99 a step keeps.
MAX_NAMES = 20
# The percentiles every step keeps.
PERCENTILES = (("p50_ms", 50), ("p90_ms", 90), ("p95_ms", 95), ("p99_ms", 99))


@dataclass
class StepResult:
    """Everything measured in one step, and whether it passed."""

    name: str
    phase: str  # "probe", "step" or "confirm"
    requested_rate: float  # iterations per second the search asked for
    offered_rate: float  # iterations per second asked of k6 (whole iterations per minute)
    warmup_s: float
    hold_s: float
    started_at: str
    achieved_rate: float | None = None  # iterations per second started in the hold
    rps: float | None = None  # HTTP requests per second started in the hold
    requests: int = 0
    p50_ms: float | None = None
    p90_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    percentile_ms: float | None = None  # the SLO's percentile, over the SLO's requests
    slo_requests: int = 0  # requests the SLO holds to (all, or those with its tag)
    p99_ms_by_name: dict[str, float] = field(default_factory=dict)  # per k6 `name` tag
    max_ms: float | None = None
    error_rate: float | None = None
    dropped_iterations: int = 0
    vus_peak: float | None = None
    vus_max: float | None = None
    cpu_cores: float | None = None
    cpu_pct: float | None = None
    throttled_share: float | None = None
    memory_peak_bytes: float | None = None
    memory_pct: float | None = None
    k6_cpu_cores: float | None = None
    support_cpu_cores: float | None = None
    load_side_share: float | None = None  # k6 + support services (+ runtime if shared) / cores
    load_cpus_busy: float | None = None  # busy share of the load side's CPUs (/proc/stat)
    runtime_cpus_busy: float | None = None  # busy share of the runtime's CPUs (/proc/stat)
    container: str | None = None  # the runtime's container in this step
    iteration_s: float | None = None  # mean iteration duration
    iteration_p99_s: float | None = None  # 99th percentile of the iteration duration
    runtime_start: str = ""  # the runtime before the step: "fresh" (just placed) or "warm"
    runtime_state: str = "running"  # ... and after it
    oom_killed: bool = False
    # The spans the runtime ended in the step and those the trace sink received of them
    # (config `span_delivery`); None when not checked.
    spans_expected: int | None = None
    spans_received: int | None = None
    k6_data: str = ""  # where k6's figures come from: "summary" (of the hold) or "raw"
    passed: bool = False
    reasons: list[str] = field(default_factory=list)

    def as_row(self) -> dict[str, Any]:
        row = asdict(self)
        row["reasons"] = "; ".join(self.reasons)
        row["p99_ms_by_name"] = json.dumps(self.p99_ms_by_name, sort_keys=True)
        return row

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> StepResult:
        """A step as its record keeps it (`as_row`)."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in row.items() if k in known}
        values["reasons"] = [r for r in (row.get("reasons") or "").split("; ") if r]
        by_name = row.get("p99_ms_by_name") or "{}"
        values["p99_ms_by_name"] = json.loads(by_name) if isinstance(by_name, str) else by_name
        return cls(**values)

    @property
    def requests_per_iteration(self) -> float | None:
        if not self.rps or not self.achieved_rate:
            return None
        return self.rps / self.achieved_rate


# The columns of a capacity step table (results/capacity/steps/{cell}.csv), in order.
STEP_COLUMNS = tuple(f.name for f in fields(StepResult))


def _started_inside(start: datetime, end: datetime, duration_ms: str) -> pl.Expr:
    started = pl.col("timestamp") - pl.duration(milliseconds=pl.col(duration_ms))
    return started.is_between(
        pl.lit(start).dt.cast_time_unit("ns"), pl.lit(end).dt.cast_time_unit("ns"), closed="left"
    )


def _request_figures(
    requests: pl.LazyFrame,
    start: datetime,
    end: datetime,
    percentile: float,
    slo_requests: SloRequests | None = None,
) -> dict[str, Any]:
    durations = pl.col("duration_ms")
    held = requests.filter(_started_inside(start, end, "duration_ms"))
    slo = (
        pl.lit(True)
        if slo_requests is None
        else pl.col(slo_requests.tag).cast(pl.String).is_in(list(slo_requests.values))
    )
    figures = (
        held.select(
            pl.len().alias("requests"),
            *(
                durations.quantile(q / 100, interpolation="linear").alias(name)
                for name, q in PERCENTILES
            ),
            durations.filter(slo)
            .quantile(percentile / 100, interpolation="linear")
            .alias("percentile_ms"),
            slo.sum().alias("slo_requests") if slo_requests else pl.len().alias("slo_requests"),
            durations.max().alias("max_ms"),
            pl.col("failed").mean().alias("error_rate"),
        )
        .collect()
        .row(0, named=True)
    )
    by_name = (
        held.filter(pl.col("name").is_not_null())
        .group_by("name")
        .agg(durations.quantile(0.99, interpolation="linear").alias("p99_ms"))
        .collect()
    )
    # A script without name tags names each request by its URL: too many to list.
    if by_name.height <= MAX_NAMES:
        figures["p99_ms_by_name"] = dict(zip(by_name["name"], by_name["p99_ms"], strict=True))
    else:
        figures["p99_ms_by_name"] = {}
    return figures


def _metric_figures(metrics: pl.LazyFrame, start: datetime, end: datetime) -> dict[str, Any]:
    metric, value = pl.col("metric"), pl.col("value")
    inside = pl.col("timestamp").is_between(
        pl.lit(start).dt.cast_time_unit("ns"), pl.lit(end).dt.cast_time_unit("ns"), closed="left"
    )
    iterations = metrics.filter(metric == "iteration_duration").filter(
        _started_inside(start, end, "value")
    )
    return pl.concat(
        [
            iterations.select(
                pl.len().alias("iterations"),
                value.mean().alias("iteration_ms"),
                value.quantile(0.99, interpolation="linear").alias("iteration_p99_ms"),
            ).collect(),
            metrics.filter(inside)
            .select(
                value.filter(metric == "dropped_iterations").sum().alias("dropped"),
                value.filter(metric == "vus").max().alias("vus_peak"),
                value.filter(metric == "vus_max").max().alias("vus_max"),
            )
            .collect(),
        ],
        how="horizontal",
    ).row(0, named=True)


def _resource_figures(
    samples: pl.DataFrame, start: datetime, end: datetime, cpus: float, memory_bytes: int
) -> dict[str, Any]:
    if samples.is_empty():
        return {}
    inside = samples.filter(pl.col("timestamp").is_between(start, end))
    kernel = kernel_window_figures(samples, start, end)
    cpu = kernel.get("cpu_mean_cores")
    if cpu is None and inside.height:
        cpu = inside["cpu_cores"].mean()
    memory = inside["memory_bytes"].max() if inside.height else None

    def mean(column: str) -> float | None:
        return inside[column].mean() if inside.height else None  # type: ignore[return-value]

    containers = inside["container"].drop_nulls() if inside.height else []
    return {
        "cpu_cores": cpu,
        "cpu_pct": None if cpu is None else 100.0 * cpu / cpus,
        "throttled_share": kernel.get("throttled_share"),
        "memory_peak_bytes": memory,
        "memory_pct": None if memory is None else 100.0 * memory / memory_bytes,
        "k6_cpu_cores": mean("k6_cpu_cores"),
        "support_cpu_cores": mean("support_cpu_cores"),
        "load_cpus_busy": mean("load_cpus_busy"),
        "runtime_cpus_busy": mean("runtime_cpus_busy"),
        "container": containers[-1] if len(containers) else None,
    }


def judge(result: StepResult, settings: CapacitySettings) -> StepResult:
    """Pass or fail against the SLO, the error budget, the achieved rate and drops."""
    reasons = []
    label = settings.percentile_label
    if result.requests == 0:
        reasons.append("no request started in the hold")
    elif settings.slo_requests is not None and result.slo_requests == 0:
        reasons.append(f"no request with {settings.slo_requests.label} started in the hold")
    elif result.percentile_ms is not None and result.percentile_ms > settings.slo_ms:
        reasons.append(f"{label} {result.percentile_ms:.0f} ms > SLO {settings.slo_ms:g} ms")
    if result.error_rate is not None and result.error_rate >= settings.max_error_rate:
        reasons.append(f"errors {result.error_rate:.1%} >= {settings.max_error_rate:.0%}")
    offered = result.offered_rate * result.hold_s
    achieved = (result.achieved_rate or 0.0) * result.hold_s
    if achieved < settings.min_achieved * offered - ITERATION_SLACK:
        reasons.append(
            f"achieved {result.achieved_rate or 0:.1f} of {result.offered_rate:.1f} "
            f"iterations/s (< {settings.min_achieved:.0%})"
        )
    if result.dropped_iterations:
        reasons.append(f"k6 dropped {result.dropped_iterations} iterations")
    lost = spans_lost(result)
    if lost:
        reasons.append(f"spans lost: {lost} of {result.spans_expected} never reached the sink")
    if result.oom_killed:
        reasons.append("the runtime was OOM-killed")
    elif result.runtime_state not in ("running", ""):
        reasons.append(f"the runtime is {result.runtime_state}")
    result.reasons = reasons
    result.passed = not reasons
    return result


def spans_lost(result: StepResult) -> int:
    """Spans the runtime ended in the step that the trace sink did not receive (0 when
    not checked)."""
    if result.spans_expected is None or result.spans_received is None:
        return 0
    return max(0, result.spans_expected - result.spans_received)


def dropped_for_want_of_vus(result: StepResult, settings: CapacitySettings) -> bool:
    """True when a step failed only because k6 found no free VU for some iterations, while
    latency and errors were within bounds and k6 could still have started more VUs. k6
    drops an iteration whenever all its VUs are busy, even while it is starting another,
    so a pool sized too small fails a step the runtime would have passed: the step is
    held again with a larger pool rather than judged."""
    if result.passed or not result.dropped_iterations:
        return False
    if (result.vus_max or 0) >= settings.max_vus:
        return False
    return all(reason.startswith(("k6 dropped", "achieved")) for reason in result.reasons)


def raw_figures(
    requests: pl.LazyFrame,
    metrics: pl.LazyFrame,
    start: datetime,
    end: datetime,
    settings: CapacitySettings,
) -> dict[str, Any]:
    """The step's k6 figures over its hold, from k6's raw data (tidied)."""
    figures = _request_figures(requests, start, end, settings.percentile, settings.slo_requests)
    return figures | _metric_figures(metrics, start, end)


def summary_figures(
    summary: dict[str, Any], hold: HoldSummary, settings: CapacitySettings
) -> dict[str, Any]:
    """The step's k6 figures over its hold, from k6's summary of a run whose wrapper
    tagged the hold's iterations (`HoldSummary`): the same figures as `raw_figures`, by
    k6's own percentile definition (linear between closest ranks, as polars' "linear")."""
    metrics = summary.get("metrics", {})

    def trend(name: str) -> dict[str, Any]:
        return metrics.get(name) or {}

    held = trend(f"http_req_duration{{{HELD}}}")
    requests = int(held.get("count") or 0)
    wanted = f"p({settings.percentile:g})"
    if hold.slo_tag is None:
        slo = held
    else:
        slo = trend(slo_submetric(*hold.slo_tag))
    named = {name: trend(name_submetric(name)) for name in hold.names}
    by_name = {
        name: figures.get("p(99)") for name, figures in named.items() if figures.get("count")
    }
    failed = metrics.get(f"http_req_failed{{{HELD}}}") or {}
    iterations = trend(f"iteration_duration{{{HELD}}}")
    vus, vus_max = metrics.get("vus") or {}, metrics.get("vus_max") or {}
    return {
        "requests": requests,
        **{name: held.get(f"p({q})") for name, q in PERCENTILES},
        "percentile_ms": slo.get(wanted),
        "slo_requests": int(slo.get("count") or 0),
        "max_ms": held.get("max"),
        "error_rate": failed.get("value") if requests else None,
        "p99_ms_by_name": by_name,
        "iterations": int(iterations.get("count") or 0),
        "iteration_ms": iterations.get("avg"),
        "iteration_p99_ms": iterations.get("p(99)"),
        # k6 counts drops over the whole run: those of the warm-up fail the step too.
        "dropped": (metrics.get("dropped_iterations") or {}).get("count"),
        "vus_peak": vus.get("max") or None,
        "vus_max": vus_max.get("max"),
    }


def measure_step(
    step: StepLoad,
    phase: str,
    started_at: datetime,
    k6_figures: Callable[[datetime, datetime], dict[str, Any]],
    samples: pl.DataFrame,
    cpus: float,
    memory_bytes: int,
    load_side_cores: int,
    shared_with_runtime: bool,
    settings: CapacitySettings,
) -> StepResult:
    """The step's figures over its hold: k6's (`raw_figures` or `summary_figures`, given
    the hold's start and end) and the resource samples'."""
    start = started_at + timedelta(seconds=step.warmup_s)
    end = start + timedelta(seconds=step.hold_s)
    result = StepResult(
        name=step.name,
        phase=phase,
        requested_rate=step.rate,
        offered_rate=step.offered_rate,
        warmup_s=step.warmup_s,
        hold_s=step.hold_s,
        started_at=started_at.isoformat(),
    )
    k6 = k6_figures(start, end)
    result.requests = int(k6["requests"])
    result.slo_requests = int(k6["slo_requests"] or 0)
    for key in (
        "p50_ms",
        "p90_ms",
        "p95_ms",
        "p99_ms",
        "percentile_ms",
        "max_ms",
        "error_rate",
        "p99_ms_by_name",
    ):
        setattr(result, key, k6[key])
    result.rps = result.requests / step.hold_s
    result.achieved_rate = k6["iterations"] / step.hold_s
    for key in ("iteration_ms", "iteration_p99_ms"):
        if k6[key] is not None:
            setattr(result, key.replace("_ms", "_s"), k6[key] / 1000)
    result.dropped_iterations = int(k6["dropped"] or 0)
    result.vus_peak, result.vus_max = k6["vus_peak"], k6["vus_max"]
    for key, value in _resource_figures(samples, start, end, cpus, memory_bytes).items():
        setattr(result, key, value)
    used = (result.k6_cpu_cores or 0.0) + (result.support_cpu_cores or 0.0)
    if shared_with_runtime:
        used += result.cpu_cores or 0.0
    result.load_side_share = used / load_side_cores if load_side_cores else None
    return judge(result, settings)
