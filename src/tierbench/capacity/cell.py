"""One cell's capacity search: the runtime placed under its tier's limits once, then step
after step of open-model load, each judged from its own raw k6 data.

The procedure is the load stage's (start the support services, place, wait, verify the
limits, sample, tear down on every path) with a search in place of the single load. A
runtime that dies in a step (an OOM kill at a high rate, say) is placed again for the
next step, and the step that killed it counts as failing; so is a runtime whose step
failed, since an overloaded runtime's queues, connections and memory would carry into
the next step and fail it too. Outputs are written under temporary names and renamed
only when the whole search finished.
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
from tierbench.capacity.openmodel import StepLoad, vus_for, write_wrapper
from tierbench.capacity.search import SearchStopped, capacity_search
from tierbench.capacity.settings import CapacitySettings
from tierbench.capacity.steps import StepResult, dropped_for_want_of_vus, judge, measure_step
from tierbench.capacity.verdict import classify, failed_start_verdict
from tierbench.config.sweep import Cell, Sweep
from tierbench.files import OutputSet, file_sha256
from tierbench.load.backend import Backend, LoadRequest, Placement, RuntimeFailed, Sampler
from tierbench.load.cell import (
    git_revision,
    placement_for,
    runtime_workers,
    say,
    tear_down,
    verify_limits,
)
from tierbench.load.host_speed import speed_record
from tierbench.load.samples import write_resources_csv
from tierbench.tidy.k6_json import (
    METRIC_SCHEMA,
    REQUEST_SCHEMA,
    EmptyRunError,
    metrics_path_for,
    scan_metrics,
    scan_requests,
    tidy_k6_json,
)

# Between steps the runtime must come back to idle (below this share of its CPU limit),
# for at most this long.
IDLE_SHARE = 0.1
IDLE_WAIT_MAX_S = 10.0
# Before the first step, an iteration is assumed to take this long (for pre-allocating
# VUs); afterwards the last passing step's mean iteration time is used.
FIRST_ITERATION_GUESS_S = 0.5


@dataclass(frozen=True)
class CapacityOutputs:
    record_json: Path  # results/capacity/{cell}.json: every step and the verdict
    steps_csv: Path  # results/capacity/steps/{cell}.csv: one row per step
    resources_csv: Path  # results/capacity/resources/{cell}.csv: samples over the search
    raw_dir: Path  # results/capacity/k6/{cell}/: each step's k6 script, raw data, summary

    def output_set(self) -> OutputSet:
        # The record goes last: its presence means the cell is complete.
        return OutputSet([self.raw_dir, self.steps_csv, self.resources_csv, self.record_json])


class _Runtime:
    """The placed runtime and its sampler; placed again if it died in a step."""

    def __init__(self, backend: Backend, placement: Placement, timeout_s: float, log: Path):
        self.backend, self.placement, self.timeout_s, self.log = backend, placement, timeout_s, log
        self.rows: list[dict] = []
        self.restarts = 0
        self.sampler: Sampler | None = None
        self.unplaceable: RuntimeFailed | None = None  # it died, and could not start again
        self.sampler_interval_s = 0.5

    def start(self) -> dict[str, Any]:
        self.backend.place(self.placement)
        ready_s = self.backend.wait_ready(self.timeout_s)
        report = self.backend.health_report()
        check = verify_limits(self.backend, self.placement)
        self.sampler = self.backend.sampler()
        self.sampler.start()
        return {"ready_s": ready_s, "workers": runtime_workers(report), "check": check}

    def samples(self) -> pl.DataFrame:
        assert self.sampler is not None
        return samples_frame([*self.rows, *list(self.sampler.rows)])  # type: ignore[attr-defined]

    def stop_sampler(self) -> None:
        if self.sampler is not None:
            self.rows.extend(self.sampler.stop())
            self.sampler = None

    def wait_until_idle(self, cpus: float, settings: CapacitySettings) -> float:
        """Seconds waited until the runtime's CPU fell below IDLE_SHARE of its limit (an
        overloaded step leaves a queue that would poison the next), at least the
        cool-down and at most IDLE_WAIT_MAX_S."""
        started = time.monotonic()
        time.sleep(settings.cooldown_s)
        while time.monotonic() - started < IDLE_WAIT_MAX_S and self.sampler is not None:
            recent = [r["cpu_cores"] for r in self.sampler.rows[-2:] if r.get("cpu_cores")]
            if recent and max(recent) < IDLE_SHARE * cpus:
                break
            time.sleep(self.sampler_interval_s)
        return time.monotonic() - started

    def state(self) -> tuple[str, bool]:
        """The runtime's status after a step, and whether it was OOM-killed."""
        state = self.backend.runtime_state()
        return state.status, bool(state.oom_killed)

    def place_afresh(self, why: str) -> None:
        """A new runtime for the next step: after one that died, or one that failed (an
        overloaded runtime's queues and memory would carry into the next step)."""
        say(self.log, f"{self.placement.cell.name}: {why}; placing the runtime afresh")
        self.stop_sampler()
        self.restarts += 1
        try:
            self.start()
        except RuntimeFailed as failure:
            self.unplaceable = failure


def run_capacity_cell(
    sweep: Sweep,
    cell: Cell,
    backend: Backend,
    settings: CapacitySettings,
    outputs: CapacityOutputs,
    log: Path,
    project_dir: Path = Path("."),
) -> dict[str, Any]:
    """Search one cell's capacity and write its outputs; returns its record."""
    placement = placement_for(sweep, cell)
    files = outputs.output_set()
    files.prepare()
    raw = files.partial(outputs.raw_dir)
    raw.mkdir(parents=True)
    work = raw / "tidy"
    log.parent.mkdir(parents=True, exist_ok=True)
    say(log, f"{cell.name}: capacity search; {placement.cpus.reason}")
    runtime = _Runtime(backend, placement, sweep.health_timeout_s, log)
    failed: BaseException | None = None
    try:
        backend.start_support(sweep.health_timeout_s)
        speed_before = backend.probe_host_speed(placement)
        try:
            started = runtime.start()
        except RuntimeFailed as failure:
            say(log, f"{cell.name}: failed to start: {failure}")
            record = failed_start_record(sweep, cell, placement, failure, backend, settings)
            _write_failed_capacity(files, outputs, raw, record)
            return record
        facts = backend.facts()
        cores_given, shared = backend.load_side_cores(placement)
        iteration_s = [FIRST_ITERATION_GUESS_S]
        held_again: list[StepResult] = []  # steps judged again with a larger VU pool

        def run_step(rate: float, phase: str, warmup_s: float, hold_s: float) -> StepResult:
            pool = vus_for(rate, iteration_s[0], settings.slo_ms / 1000, settings.max_vus)
            result = run_load_step(rate, phase, warmup_s, hold_s, pool)
            if pool < settings.max_vus and dropped_for_want_of_vus(result, settings):
                # The pool was too small, not the runtime too slow: hold the step again,
                # once, with twice the VUs k6 had; the first try is kept, marked.
                pool = min(settings.max_vus, 2 * max(pool, int(result.vus_max or 0)))
                result.reasons.append(f"held again with {pool} VUs")
                held_again.append(result)
                say(
                    log,
                    f"{cell.name}: k6 dropped iterations with all its VUs busy while "
                    f"latency was within the SLO; the step runs again with {pool} VUs",
                )
                # The iterations it did complete say how long one takes (think time
                # included): the retry waits that long for those still running at its end.
                iteration_s[0] = max(iteration_s[0], result.iteration_p99_s or 0.0)
                result = run_load_step(rate, phase, warmup_s, hold_s, pool)
            if result.passed and result.iteration_p99_s:
                iteration_s[0] = result.iteration_p99_s
            return result

        def run_load_step(
            rate: float, phase: str, warmup_s: float, hold_s: float, pool: int
        ) -> StepResult:
            if runtime.unplaceable is not None:
                raise SearchStopped(
                    f"the runtime died and could not start again: "
                    f"{runtime.unplaceable.evidence.get('reason')}"
                )
            step = StepLoad(
                name=f"s{len(list(raw.glob('*.js'))) + 1:02d}_{phase}",
                rate=rate,
                warmup_s=warmup_s,
                hold_s=hold_s,
                pre_allocated_vus=pool,
                max_vus=settings.max_vus,
                graceful_stop_s=graceful_stop_s(iteration_s[0], settings),
            )
            result = _run_step(
                backend,
                runtime,
                placement,
                sweep,
                settings,
                step,
                phase,
                raw,
                work,
                log,
                cores_given,
                shared,
            )
            runtime.wait_until_idle(placement.requested.cpus, settings)
            return result

        outcome = capacity_search(run_step, settings)
        runtime.stop_sampler()
        state = backend.runtime_state()
    except BaseException as error:
        failed = error
        runtime.stop_sampler()
        files.discard()
        raise
    finally:
        tear_down(backend, failed, log)

    speed = speed_record(speed_before, backend.probe_host_speed(placement))
    verdict = classify(outcome, settings, shared)
    every_step = sorted([*outcome.steps, *held_again], key=lambda result: result.started_at)
    status = "crashed" if outcome.stopped else "ok"
    say(
        log,
        f"{cell.name}: capacity {verdict.shown}, limited by {verdict.limited_by}: {verdict.reason}",
    )
    shutil.rmtree(work, ignore_errors=True)
    failure = None if runtime.unplaceable is None else runtime.unplaceable.evidence
    record = {
        **_record_head(sweep, cell, placement, settings, status, failure),
        "limits": started["check"].as_meta(),
        "workers": started["workers"],
        "pinning": placement.cpus.as_dict(),
        "contended": placement.cpus.contended,
        "load_side": {"cores_given": cores_given, "shared_with_runtime": shared},
        "verdict": verdict.as_dict(),
        "search": {
            "search_s": outcome.search_s,
            "steps": len(every_step),
            "converged": outcome.converged,
            "confirmed": outcome.confirmed,
            "reached_max_rate": outcome.reached_max_rate,
            "budget_exhausted": outcome.budget_exhausted,
            "stopped": outcome.stopped,
            "runtime_restarts": runtime.restarts,
            "best_step": None if outcome.best is None else outcome.best.name,
            "failing_step": None if outcome.failing is None else outcome.failing.name,
        },
        "steps": [result.as_row() for result in every_step],
        "image": state.image,
        "host": facts,
        "host_speed": speed,
        "versions": {"tierbench": __version__, **backend.versions()},
        "git_revision": git_revision(project_dir),
        "finished_at": datetime.now(UTC).isoformat(),
    }
    pl.DataFrame([r.as_row() for r in every_step], infer_schema_length=None).write_csv(
        files.partial(outputs.steps_csv)
    )
    write_resources_csv(files.partial(outputs.resources_csv), runtime.rows)
    files.partial(outputs.record_json).write_text(json.dumps(record, indent=2) + "\n")
    files.commit()
    return record


def graceful_stop_s(iteration_s: float, settings: CapacitySettings) -> float:
    """How long k6 waits, after a step's hold, for the iterations still running. An
    iteration counts towards the achieved rate only once it has completed, so one started
    late in the hold and cut at the end would count against the step: a script with think
    time (a `sleep` of seconds) would fail every step on its achieved rate. k6 stops as soon
    as the last iteration ends, so a long wait costs only when iterations are slow."""
    return max(1.0, 4 * settings.slo_ms / 1000, 2 * iteration_s)


def _record_head(
    sweep: Sweep,
    cell: Cell,
    placement: Placement,
    settings: CapacitySettings,
    status: str,
    failure: dict[str, Any] | None,
) -> dict[str, Any]:
    """What every capacity record starts with: which cell, its outcome, what shaped it."""
    return {
        "tierbench_version": __version__,
        "cell": cell.name,
        "runtime": cell.runtime,
        "tier": cell.tier,
        "tier_order": sweep.tiers[cell.tier].order,
        "service": placement.runtime.service,
        "backend": sweep.backend,
        "status": status,
        "failure": failure,
        "k6_script": str(sweep.k6_script),
        "k6_script_sha256": file_sha256(sweep.k6_script),
        "settings": settings.search_settings(),
    }


def failed_start_record(
    sweep: Sweep,
    cell: Cell,
    placement: Placement,
    failure: RuntimeFailed,
    backend: Backend,
    settings: CapacitySettings,
) -> dict[str, Any]:
    """The record of a cell whose runtime never started at this tier: that is its answer."""
    return {
        **_record_head(sweep, cell, placement, settings, "failed_to_start", failure.evidence),
        "limits": {
            "requested": placement.requested.as_dict(),
            "applied": placement.requested.as_dict(),
            "verified": False,
        },
        "workers": None,
        "pinning": placement.cpus.as_dict(),
        "contended": placement.cpus.contended,
        "verdict": failed_start_verdict(failure.evidence).as_dict(),
        "search": {"search_s": 0.0, "steps": 0, "converged": False, "confirmed": False},
        "steps": [],
        "host": backend.facts(),
        "versions": {"tierbench": __version__, **backend.versions()},
        "finished_at": datetime.now(UTC).isoformat(),
    }


def _write_failed_capacity(
    files: OutputSet, outputs: CapacityOutputs, raw: Path, record: dict[str, Any]
) -> None:
    (raw / "failed_to_start.log").write_text(record["failure"].get("last_logs") or "")
    files.partial(outputs.steps_csv).write_text("name,phase,offered_rate,passed\n")
    write_resources_csv(files.partial(outputs.resources_csv), [])
    files.partial(outputs.record_json).write_text(json.dumps(record, indent=2) + "\n")
    files.commit()


def _run_step(
    backend: Backend,
    runtime: _Runtime,
    placement: Placement,
    sweep: Sweep,
    settings: CapacitySettings,
    step: StepLoad,
    phase: str,
    raw: Path,
    work: Path,
    log: Path,
    cores_given: int,
    shared: bool,
) -> StepResult:
    script = write_wrapper(raw / f"{step.name}.js", sweep.k6_script, step)
    out = raw / f"{step.name}.json.gz"
    assert runtime.sampler is not None
    k6 = backend.run_load(
        LoadRequest(
            script=script,
            base_url=placement.runtime.base_url,
            out_json=out,
            summary_json=raw / f"{step.name}.summary.json",
            log=log,
        ),
        runtime.sampler,
    )
    requests, metrics = _tidy(out, work / f"{step.name}.parquet")
    status, oom_killed = runtime.state()
    result = measure_step(
        step,
        phase,
        k6.started_at,
        requests,
        metrics,
        runtime.samples() if runtime.sampler else samples_frame(runtime.rows),
        placement.requested.cpus,
        placement.requested.memory_bytes,
        cores_given,
        shared,
        settings,
    )
    dead = status != "running" or oom_killed
    if dead:
        result.runtime_state, result.oom_killed = status, oom_killed
        judge(result, settings)
    say(log, _step_line(placement.cell.name, result, settings))
    if dead:
        runtime.place_afresh(f"the runtime is {status}" + (" (OOM-killed)" if oom_killed else ""))
    elif not result.passed:
        runtime.place_afresh("the step failed")
    return result


def _tidy(raw_json: Path, requests_path: Path) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """The step's requests and other samples; empty when no request completed (a runtime
    that died at once), so the step is judged, and failed, like any other."""
    metrics_path = metrics_path_for(requests_path)
    try:
        tidy_k6_json(raw_json, requests_path, metrics_path)
    except EmptyRunError:
        return REQUEST_SCHEMA.to_frame().lazy(), METRIC_SCHEMA.to_frame().lazy()
    return scan_requests(requests_path), scan_metrics(metrics_path)


def _step_line(cell: str, result: StepResult, settings: CapacitySettings) -> str:
    latency = "–" if result.percentile_ms is None else f"{result.percentile_ms:.0f} ms"
    verdict = "pass" if result.passed else "FAIL: " + "; ".join(result.reasons)
    return (
        f"{cell}: {result.phase} {result.offered_rate:.3g} it/s -> {result.rps or 0:,.0f} req/s, "
        f"{settings.percentile_label} {latency}, errors {result.error_rate or 0:.1%}: {verdict}"
    )
