"""One cell's capacity search: the runtime under its tier's limits, step after step of
open-model load, each judged from what k6 measured in its hold (k6's summary of the hold,
or its raw data: tierbench.capacity.steps says when which).

The cell's life (support services, placement, limits, sampler, teardown on every path) is
`tierbench.load.lifecycle.CellRun`; the search is the body inside it. Before every step
the runtime is brought to the same state (`capacity.step_start`): `warm`, the runtime of
the previous step drained until idle, or `fresh`, a runtime placed afresh. A runtime that
died in a step (an OOM kill at a high rate, say) is placed again whatever the setting, and
the step that killed it counts as failing. Outputs are written under temporary names and
renamed only when the whole search finished.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from tierbench import __version__
from tierbench.aggregate.resources import samples_frame
from tierbench.capacity.openmodel import (
    HoldSummary,
    StepLoad,
    summarisable,
    vus_for,
    write_wrapper,
)
from tierbench.capacity.record import CapacityRecord
from tierbench.capacity.search import SearchOutcome, SearchStopped, capacity_search
from tierbench.capacity.settings import CapacitySettings
from tierbench.capacity.steps import (
    STEP_COLUMNS,
    StepResult,
    dropped_for_want_of_vus,
    judge,
    measure_step,
    raw_figures,
    summary_figures,
)
from tierbench.capacity.verdict import classify, failed_start_verdict
from tierbench.config.sweep import Cell, Sweep
from tierbench.files import OutputSet, file_sha256
from tierbench.load.backend import Backend, LoadRequest, Placement, RuntimeFailed
from tierbench.load.lifecycle import CellRun, cell_identity
from tierbench.load.samples import write_resources_csv
from tierbench.load.span_delivery import SpanCheck, span_counter
from tierbench.tidy.k6_json import (
    METRIC_SCHEMA,
    REQUEST_SCHEMA,
    EmptyRunError,
    metrics_path_for,
    scan_metrics,
    scan_requests,
    tidy_k6_json,
)

# Between steps a warm runtime must come back to idle (below this share of its CPU limit
# over the last two samples), for at most this long.
IDLE_SHARE = 0.1
IDLE_WAIT_MAX_S = 10.0
# Before the first step, an iteration is assumed to take this long (for pre-allocating
# VUs); afterwards the last passing step's slow tail is used.
FIRST_ITERATION_GUESS_S = 0.5
RUNTIME_STATES = {
    "warm": "the previous step's runtime, drained until idle",
    "fresh": "a runtime placed afresh",
}


@dataclass(frozen=True)
class CapacityOutputs:
    record_json: Path  # results/capacity/{cell}.json: every step and the verdict
    steps_csv: Path  # results/capacity/steps/{cell}.csv: one row per step
    resources_csv: Path  # results/capacity/resources/{cell}.csv: samples over the search
    raw_dir: Path  # results/capacity/k6/{cell}/: each step's k6 script, raw data, summary

    def output_set(self) -> OutputSet:
        # The record goes last: its presence means the cell is complete.
        return OutputSet([self.raw_dir, self.steps_csv, self.resources_csv, self.record_json])


class StepRunner:
    """Runs the search's steps on the placed runtime: the runtime brought to the search's
    state, the step's k6 load with a VU pool sized for it, its judgement."""

    def __init__(self, run: CellRun, settings: CapacitySettings, raw: Path):
        self.run, self.settings, self.raw = run, settings, raw
        self.work = raw / "tidy"
        self.cores_given, self.shared = run.backend.load_side_cores(run.placement)
        self.iteration_s = FIRST_ITERATION_GUESS_S
        self.held_again: list[StepResult] = []  # steps judged again with a larger VU pool
        self.steps_run = 0
        self.idle_waits_s: list[float] = []
        self.names: list[str] | None = None  # request names, once a step has made requests
        endpoint = run.placement.runtime
        self.span_counter = span_counter(
            run.sweep.config, run.backend, endpoint.port, endpoint.service
        )

    def __call__(self, rate: float, phase: str, warmup_s: float, hold_s: float) -> StepResult:
        settings = self.settings
        pool = vus_for(rate, self.iteration_s, settings.slo_ms / 1000, settings.max_vus)
        result = self.load_step(rate, phase, warmup_s, hold_s, pool)
        if pool < settings.max_vus and dropped_for_want_of_vus(result, settings):
            # The pool was too small, not the runtime too slow: hold the step again, once,
            # with twice the VUs k6 had; the first try is kept, marked.
            pool = min(settings.max_vus, 2 * max(pool, int(result.vus_max or 0)))
            result.reasons.append(f"held again with {pool} VUs")
            self.held_again.append(result)
            self.run.say(
                "k6 dropped iterations with all its VUs busy while latency was within the "
                f"SLO; the step runs again with {pool} VUs"
            )
            # The iterations it did complete say how long one takes (think time included):
            # the retry waits that long for those still running at its end.
            self.iteration_s = max(self.iteration_s, result.iteration_p99_s or 0.0)
            result = self.load_step(rate, phase, warmup_s, hold_s, pool)
        if result.passed and result.iteration_p99_s:
            self.iteration_s = result.iteration_p99_s
        return result

    def prepare(self) -> str:
        """Bring the runtime to the search's state before a step; returns that state."""
        run = self.run
        if self.steps_run and self.settings.step_start == "fresh":
            run.place_afresh("a fresh runtime for every step")
        if run.unplaceable is not None:
            raise SearchStopped(
                "the runtime died and could not start again: "
                f"{run.unplaceable.evidence.get('reason')}"
            )
        return "fresh" if self.settings.step_start == "fresh" or not self.steps_run else "warm"

    def load_step(
        self, rate: float, phase: str, warmup_s: float, hold_s: float, pool: int
    ) -> StepResult:
        state = self.prepare()
        self.steps_run += 1
        step = StepLoad(
            name=f"s{len(list(self.raw.glob('*.js'))) + 1:02d}_{phase}",
            rate=rate,
            warmup_s=warmup_s,
            hold_s=hold_s,
            pre_allocated_vus=pool,
            max_vus=self.settings.max_vus,
            graceful_stop_s=graceful_stop_s(self.iteration_s, self.settings),
        )
        result = self.measure(step, phase)
        result.runtime_start = state
        self.run.say(_step_line(result, self.settings))
        status, oom_killed = result.runtime_state, result.oom_killed
        if status != "running" or oom_killed:
            self.run.place_afresh(
                f"the runtime is {status}" + (" (OOM-killed)" if oom_killed else "")
            )
        elif self.settings.step_start == "warm":
            # An overloaded step leaves requests queued in the runtime, waiting as long as
            # its slowest did, whether they use CPU (a busy loop) or not (a full pool).
            backlog_s = 0.0 if result.passed else (result.max_ms or 0.0) / 1000
            self.idle_waits_s.append(self.wait_until_idle(backlog_s))
        return result

    def hold_summary(self) -> HoldSummary | None:
        """How k6 summarises the next step's hold, or None where the step needs k6's raw
        data: asked for (`capacity.raw_json`), the search's first step (it learns the
        request names whose p99 the steps keep), a backend that needs it, or an SLO over
        requests that no single sub-metric holds (several tag values)."""
        settings, slo = self.settings, self.settings.slo_requests
        if settings.raw_json or self.names is None or not self.run.backend.summarises_loads:
            return None
        if slo is not None and not (
            len(slo.values) == 1 and summarisable(slo.tag) and summarisable(slo.values[0])
        ):
            return None
        return HoldSummary(
            settings.percentile, None if slo is None else (slo.tag, slo.values[0]), self.names
        )

    def learn_names(self, result: StepResult) -> None:
        """The request names of the first step that made requests: summaries break them
        out from then on (a name k6 cannot put in a sub-metric, one with a comma, say,
        keeps every step on raw data)."""
        if self.names is not None or not result.requests:
            return
        names = sorted(result.p99_ms_by_name)
        if all(summarisable(name) for name in names):
            self.names = names

    def measure(self, step: StepLoad, phase: str) -> StepResult:
        run, raw = self.run, self.raw
        placement = run.placement
        summary = self.hold_summary()
        script = write_wrapper(raw / f"{step.name}.js", run.sweep.k6_script, step, summary)
        out = None if summary is not None else raw / f"{step.name}.json.gz"
        summary_json = raw / f"{step.name}.summary.json"
        assert run.sampler is not None
        spans = SpanCheck(self.span_counter)
        spans.start()
        k6 = run.backend.run_load(
            LoadRequest(
                script=script,
                base_url=placement.runtime.base_url,
                out_json=out,
                summary_json=summary_json,
                log=run.log,
            ),
            run.sampler,
        )
        if summary is None:
            assert out is not None
            requests, metrics = _tidy(out, self.work / f"{step.name}.parquet")

            def k6_figures(start: datetime, end: datetime) -> dict[str, Any]:
                return raw_figures(requests, metrics, start, end, self.settings)

        else:
            exported = json.loads(summary_json.read_text())

            def k6_figures(start: datetime, end: datetime) -> dict[str, Any]:
                return summary_figures(exported, summary, self.settings)

        state = run.backend.runtime_state()
        result = measure_step(
            step,
            phase,
            k6.started_at,
            k6_figures,
            samples_frame(run.samples()),
            placement.requested.cpus,
            placement.requested.memory_bytes,
            self.cores_given,
            self.shared,
            self.settings,
        )
        running = state.status == "running" and not state.oom_killed
        if not running:
            result.runtime_state, result.oom_killed = state.status, bool(state.oom_killed)
        delivery = spans.finish(runtime_running=running)
        if delivery is not None:
            result.spans_expected, result.spans_received = delivery.expected, delivery.received
            self.run.say(delivery.line())
        if spans.warning():
            self.run.say(f"warning: {spans.warning()}")
        result.k6_data = "raw" if summary is None else "summary"
        self.learn_names(result)
        return judge(result, self.settings)

    def wait_until_idle(self, backlog_s: float = 0.0) -> float:
        """Seconds waited until the runtime's CPU fell below IDLE_SHARE of its limit (an
        overloaded step leaves a queue that would poison the next), at least the
        cool-down and the step's backlog, at most IDLE_WAIT_MAX_S."""
        cpus = self.run.placement.requested.cpus
        started = time.monotonic()
        time.sleep(min(IDLE_WAIT_MAX_S, max(self.settings.cooldown_s, backlog_s)))
        while time.monotonic() - started < IDLE_WAIT_MAX_S and self.run.sampler is not None:
            recent = [r["cpu_cores"] for r in self.run.sampler.rows[-2:] if r.get("cpu_cores")]
            if recent and max(recent) < IDLE_SHARE * cpus:
                break
            time.sleep(0.5)
        return time.monotonic() - started

    def every_step(self, outcome: SearchOutcome) -> list[StepResult]:
        """Every step in the order run, the tries held again included."""
        return sorted([*outcome.steps, *self.held_again], key=lambda step: step.started_at)


def run_capacity_cell(
    sweep: Sweep,
    cell: Cell,
    backend: Backend,
    settings: CapacitySettings,
    outputs: CapacityOutputs,
    log: Path,
    project_dir: Path = Path("."),
) -> CapacityRecord:
    """Search one cell's capacity and write its outputs; returns its record."""
    files = outputs.output_set()
    with CellRun(sweep, cell, backend, files, log, project_dir, yardstick=True) as run:
        run.say(f"capacity search; before every step: {RUNTIME_STATES[settings.step_start]}")
        raw = files.partial(outputs.raw_dir)
        raw.mkdir(parents=True)
        if run.failure is not None:
            record = failed_start_record(run, settings)
            _write_failed_capacity(files, outputs, raw, record)
            return record
        run.start_sampler()
        runner = StepRunner(run, settings, raw)
        outcome = capacity_search(runner, settings)
        run.stop_sampler()
        state = backend.runtime_state()
    verdict = classify(outcome, settings, runner.shared, runner.cores_given)
    run.say(f"capacity {verdict.shown}, limited by {verdict.limited_by}: {verdict.reason}")
    shutil.rmtree(runner.work, ignore_errors=True)
    every_step = runner.every_step(outcome)
    record = CapacityRecord(
        **_record_head(run, settings, "crashed" if outcome.stopped else "ok"),
        limits=run.check.as_meta() if run.check else {},
        workers=run.workers,
        pinning=run.placement.cpus.as_dict(),
        contended=run.placement.cpus.contended,
        load_side={"cores_given": runner.cores_given, "shared_with_runtime": runner.shared},
        verdict=verdict,
        search=_search_record(outcome, runner, run, every_step),
        steps=every_step,
        image=state.image,
        **run.provenance(),
        yardstick=run.yardstick_record(),
        finished_at=datetime.now(UTC).isoformat(),
    )
    pl.DataFrame([r.as_row() for r in every_step], infer_schema_length=None).write_csv(
        files.partial(outputs.steps_csv)
    )
    write_resources_csv(files.partial(outputs.resources_csv), run.rows)
    files.partial(outputs.record_json).write_text(record.json_text())
    files.commit()
    return record


def _search_record(
    outcome: SearchOutcome, runner: StepRunner, run: CellRun, every_step: list[StepResult]
) -> dict[str, Any]:
    prediction = outcome.prediction
    return {
        "search_s": outcome.search_s,
        "steps": len(every_step),
        "converged": outcome.converged,
        "confirmed": outcome.confirmed,
        "confirmations": outcome.confirmations,
        "confirmations_needed": outcome.needed,
        "unconfirmed_why": outcome.unconfirmed_why,
        "reached_max_rate": outcome.reached_max_rate,
        "budget_exhausted": outcome.budget_exhausted,
        "stopped": outcome.stopped,
        "runtime_state_before_steps": runner.settings.step_start,
        "runtime_placements": run.placements,
        "runtime_restarts": run.placements - 1,
        "idle_wait_s": runner.idle_waits_s,
        "probes_warmed_up_as_full_steps": outcome.probe_warmup_s is not None,
        "prediction": None
        if prediction is None
        else {
            "rate": prediction.rate,
            "step": prediction.step,
            "cpu_ms_per_iteration": prediction.cpu_ms_per_iteration,
            "load_side_rate": prediction.load_side_rate,
        },
        "best_step": None if outcome.best is None else outcome.best.name,
        "capacity_steps": [step.name for step in outcome.capacity_steps],
        "failing_step": None if outcome.failing is None else outcome.failing.name,
    }


def graceful_stop_s(iteration_s: float, settings: CapacitySettings) -> float:
    """How long k6 waits, after a step's hold, for the iterations still running. An
    iteration counts towards the achieved rate only once it has completed, so one started
    late in the hold and cut at the end would count against the step: a script with think
    time (a `sleep` of seconds) would fail every step on its achieved rate. k6 stops as soon
    as the last iteration ends, so a long wait costs only when iterations are slow."""
    return max(1.0, 4 * settings.slo_ms / 1000, 2 * iteration_s)


def _record_head(run: CellRun, settings: CapacitySettings, status: str) -> dict[str, Any]:
    """What every capacity record starts with: which cell, its outcome, what shaped it."""
    sweep = run.sweep
    failure = run.failure or run.unplaceable
    return {
        **cell_identity(sweep, run.cell, run.placement),
        "status": status,
        "failure": None if failure is None else failure.evidence,
        "k6_script": str(sweep.k6_script),
        "k6_script_sha256": file_sha256(sweep.k6_script),
        "settings": settings.search_settings(),
    }


def failed_start_record(run: CellRun, settings: CapacitySettings) -> CapacityRecord:
    """The record of a cell whose runtime never started at this tier: that is its answer."""
    placement: Placement = run.placement
    failure: RuntimeFailed = run.failure  # type: ignore[assignment]
    return CapacityRecord(
        **_record_head(run, settings, "failed_to_start"),
        limits={
            "requested": placement.requested.as_dict(),
            "applied": placement.requested.as_dict(),
            "verified": False,
        },
        pinning=placement.cpus.as_dict(),
        contended=placement.cpus.contended,
        verdict=failed_start_verdict(failure.evidence),
        search={"search_s": 0.0, "steps": 0, "converged": False, "confirmed": False},
        host=run.backend.facts(),
        versions={"tierbench": __version__, **run.backend.versions()},
        finished_at=datetime.now(UTC).isoformat(),
    )


def _write_failed_capacity(
    files: OutputSet, outputs: CapacityOutputs, raw: Path, record: CapacityRecord
) -> None:
    (raw / "failed_to_start.log").write_text((record.failure or {}).get("last_logs") or "")
    # The step table's columns, with no step.
    files.partial(outputs.steps_csv).write_text(",".join(STEP_COLUMNS) + "\n")
    write_resources_csv(files.partial(outputs.resources_csv), [])
    files.partial(outputs.record_json).write_text(record.json_text())
    files.commit()


def _tidy(raw_json: Path, requests_path: Path) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """The step's requests and other samples; empty when no request completed (a runtime
    that died at once), so the step is judged, and failed, like any other."""
    metrics_path = metrics_path_for(requests_path)
    try:
        tidy_k6_json(raw_json, requests_path, metrics_path)
    except EmptyRunError:
        return REQUEST_SCHEMA.to_frame().lazy(), METRIC_SCHEMA.to_frame().lazy()
    return scan_requests(requests_path), scan_metrics(metrics_path)


def _step_line(result: StepResult, settings: CapacitySettings) -> str:
    latency = "–" if result.percentile_ms is None else f"{result.percentile_ms:.0f} ms"
    verdict = "pass" if result.passed else "FAIL: " + "; ".join(result.reasons)
    return (
        f"{result.phase} {result.offered_rate:.4g} it/s -> {result.rps or 0:,.0f} req/s, "
        f"{settings.percentile_label} {latency}, errors {result.error_rate or 0:.1%}, "
        f"CPU {result.cpu_pct or 0:.0f} %: {verdict}"
    )
