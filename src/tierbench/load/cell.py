"""One cell of the comparison sweep: one runtime under one tier's limits, loaded by k6's
closed-loop profile, measured.

The cell's life (support services, placement, limits, sampler, teardown on every path) is
`tierbench.load.lifecycle.CellRun`; this module is the load inside it and the meta it
writes. Outputs are written under temporary names and renamed only when the whole cell
finished, so an interrupted or failed cell never leaves a file that looks finished.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from tierbench import __version__
from tierbench.cell_meta import CellMeta
from tierbench.config.sweep import Cell, Sweep
from tierbench.files import OutputSet, file_sha256
from tierbench.load.backend import (
    Backend,
    BackendError,
    LimitCheck,
    LoadRequest,
    Placement,
    RuntimeFailed,
    RuntimeState,
)
from tierbench.load.k6 import K6Run
from tierbench.load.lifecycle import CellRun, cell_identity
from tierbench.load.progress import ProgressLine, SweepPosition
from tierbench.load.samples import load_side_usage, load_side_warning, write_resources_csv
from tierbench.load.span_delivery import SpanCheck, SpanDelivery, span_counter
from tierbench.preflight.record import recorded_warnings


@dataclass(frozen=True)
class CellOutputs:
    k6_json: Path
    k6_summary: Path
    resources_csv: Path
    meta_json: Path

    def output_set(self) -> OutputSet:
        # The meta goes last: its presence means the cell is complete.
        return OutputSet([self.k6_json, self.k6_summary, self.resources_csv, self.meta_json])


def results_dir(outputs: CellOutputs) -> Path:
    """The sweep's results/ directory, where results/meta/{cell}.json lives."""
    return outputs.meta_json.parent.parent


def load_warnings(oom_kills: int, restarts: int, thresholds_failed: bool) -> list[str]:
    """What went wrong during the load itself; the aggregate step adds the rest
    (contention, spread) from the meta."""
    warnings = []
    if oom_kills:
        warnings.append(
            f"The runtime was OOM-killed {oom_kills} time(s) under this tier's memory limit: "
            "its figures cover a crashing service. Give the tier more memory or fix the "
            "runtime's memory use."
        )
    if restarts:
        warnings.append(f"The runtime's container restarted {restarts} time(s) during the load.")
    if thresholds_failed:
        warnings.append("k6 thresholds failed in this cell (k6 exit code 99): see its log.")
    return warnings


def run_cell(
    sweep: Sweep,
    cell: Cell,
    backend: Backend,
    outputs: CellOutputs,
    log: Path,
    project_dir: Path = Path("."),
) -> CellMeta:
    """Run one cell end to end and write its outputs; returns its meta.

    A runtime that fails (exits, is OOM-killed or never becomes healthy before the load;
    dies during it) is the cell's result: its status and evidence are written as the cell's
    outputs and the sweep goes on. A fault of the machinery (BackendError) stops the sweep
    with nothing written.
    """
    files = outputs.output_set()
    yardstick = bool(sweep.config.get("yardstick", True))
    with CellRun(sweep, cell, backend, files, log, project_dir, yardstick=yardstick) as run:
        if run.failure is not None:
            meta = failed_start_meta(sweep, cell, run.placement, run.failure, backend)
            meta.orchestration_s = run.timings
            _write_failed_outputs(files, outputs, meta)
            return meta
        spans = SpanCheck(span_counter(sweep.config, backend, *_runtime_address(run)))
        spans.start()
        k6, rows, summary = _load(run, outputs)
        state = backend.runtime_state()
        crash = crash_evidence(state, summary, backend)
        delivery = spans.finish(runtime_running=crash is None)
    assert run.check is not None
    meta = cell_meta(sweep, cell, run.placement, run.check, k6, summary, state, backend.facts())
    _record_spans(run, meta, spans, delivery)
    provenance = run.provenance()
    meta.host, meta.host_speed = provenance["host"], provenance["host_speed"]
    meta.yardstick = run.yardstick_record()
    meta.versions, meta.git_revision = provenance["versions"], provenance["git_revision"]
    meta.orchestration_s = run.timings
    meta.runtime_workers = run.workers
    # The sweep's pre-flight warnings, from results/preflight.json beside results/meta/.
    meta.preflight = recorded_warnings(results_dir(outputs))
    if crash is not None:
        _record_crash(meta, crash)
    cores_given, shared = backend.load_side_cores(run.placement)
    window = meta.window or {}
    window_start = datetime.fromisoformat(window["start"])
    window_end = datetime.fromisoformat(window["end"])
    meta.load_side = load_side_usage(rows, window_start, window_end, cores_given, shared)
    saturated = load_side_warning(meta.load_side)
    if saturated:
        meta.warnings.append(saturated)
    for warning in meta.warnings:
        run.say(f"warning: {warning}")

    write_resources_csv(files.partial(outputs.resources_csv), rows)
    files.partial(outputs.meta_json).write_text(meta.json_text())
    files.commit()
    return meta


def _runtime_address(run: CellRun) -> tuple[int, str]:
    """The runtime's port, and its Compose service: the name its tracing SDK sends."""
    return run.placement.runtime.port, run.placement.runtime.service


def _record_spans(
    run: CellRun, meta: CellMeta, spans: SpanCheck, delivery: SpanDelivery | None
) -> None:
    """The spans' delivery into the meta (`spans_*`; the aggregate step warns of a loss),
    or why it could not be checked (a warning)."""
    if delivery is not None:
        for key, value in delivery.as_record().items():
            setattr(meta, key, value)
        run.say(delivery.line())
    warning = spans.warning()
    if warning:
        meta.warnings.append(warning)


def _load(run: CellRun, outputs: CellOutputs) -> tuple[K6Run, list[dict], dict[str, Any]]:
    """The cell's one closed-loop load, sampled: k6's run, the samples, their summary."""
    sweep, files = run.sweep, run.files
    progress = ProgressLine(
        run.name,
        SweepPosition.of(run.name, [c.name for c in sweep.cells], results_dir(outputs)),
        sweep.load_duration_s,
    )
    sampler = run.start_sampler()
    try:
        k6 = run.backend.run_load(
            LoadRequest(
                script=sweep.k6_script,
                base_url=run.placement.runtime.base_url,
                out_json=files.partial(outputs.k6_json),
                summary_json=files.partial(outputs.k6_summary),
                log=run.log,
                stages=sweep.stages,
                progress=progress.tick,
            ),
            sampler,
        )
    finally:
        progress.done()
        rows = run.stop_sampler()
    return k6, rows, sampler.summary()


def crash_evidence(state: RuntimeState, resources: dict[str, Any], backend: Backend) -> dict | None:
    """How the runtime died during the load, or None when it lived through it."""
    if state.status == "running" and not state.oom_killed and not resources.get("deaths"):
        return None
    reason = (
        "OOM-killed"
        if state.oom_killed or resources.get("oom_kills")
        else (
            f"exited with code {state.exit_code}"
            if state.status in ("exited", "dead")
            else "died and restarted"
        )
    )
    return {
        "reason": reason,
        "status": state.status,
        "exit_code": state.exit_code,
        "oom_killed": bool(state.oom_killed),
        # When the process ended (the engine's record), else when the engine said so.
        "at": state.finished_at or resources.get("first_death_at"),
        "last_logs": backend.last_logs(),
    }


def _record_crash(meta: CellMeta, crash: dict[str, Any]) -> None:
    """A crashed cell keeps its figures up to the crash: the measured window ends there."""
    meta.status = "crashed"
    meta.failure = crash
    window = meta.window or {}
    if crash["at"] and crash["at"] < window["end"]:
        died = datetime.fromisoformat(crash["at"])
        start = datetime.fromisoformat(window["start"])
        window["end"] = window["samples_until"] = max(died, start).isoformat()
        window["duration_s"] = max(0.0, (died - start).total_seconds())
        window["cut_at_crash"] = True
    meta.warnings.append(
        f"The runtime crashed during the load ({crash['reason']}): its figures cover the "
        "load up to the crash only."
    )


def profile_meta(sweep: Sweep) -> dict[str, Any]:
    return {
        "name": sweep.profile_name,
        "stages": sweep.stages,
        "warmup_s": sweep.warmup_s,
        "duration_s": sweep.load_duration_s,
    }


def failed_start_meta(
    sweep: Sweep, cell: Cell, placement: Placement, failure: RuntimeFailed, backend: Backend
) -> CellMeta:
    """The meta of a cell whose runtime never ran the load: what was asked, and why not."""
    try:
        limits = backend.check_limits().as_meta()
    except BackendError:
        limits = {"requested": placement.requested.as_dict(), "applied": None, "verified": False}
    return CellMeta(
        **cell_identity(sweep, cell, placement),
        status="failed_to_start",
        failure=failure.evidence,
        profile=profile_meta(sweep),
        limits=limits,
        pinning=placement.cpus.as_dict(),
        contended=placement.cpus.contended,
        k6={"script": str(sweep.k6_script), "script_sha256": file_sha256(sweep.k6_script)},
        host=backend.facts(),
        versions={"tierbench": __version__, **backend.versions()},
        config_hash=sweep.cell_config_hash(cell),
        warnings=[f"The runtime failed to start at this tier: {failure.evidence['reason']}."],
    )


def _write_failed_outputs(files: OutputSet, outputs: CellOutputs, meta: CellMeta) -> None:
    """A failed cell's outputs: no k6 data (an empty raw file, an empty summary), no
    samples, and the meta that says why; written whole, like any cell's."""
    raw = files.partial(outputs.k6_json)
    raw.write_bytes(gzip.compress(b"") if raw.name.endswith(".gz") else b"")
    files.partial(outputs.k6_summary).write_text(json.dumps({"metrics": {}}) + "\n")
    write_resources_csv(files.partial(outputs.resources_csv), [])
    files.partial(outputs.meta_json).write_text(meta.json_text())
    files.commit()


def _window(k6: K6Run, warmup_s: float):
    """The measured window on k6's clock: from the load's start plus the warm-up to its
    end. The start is the instant tierbench resumed k6 (before k6's clock started), the
    end k6's acknowledgement of that plus k6's own run duration. k6 starts its clock a
    scheduling delay after it acknowledges, so its last samples can be stamped just past
    this end: samples are taken up to `samples_until` (k6's exit) instead."""
    return k6.started_at + timedelta(seconds=warmup_s), k6.ended_at


def cell_meta(
    sweep: Sweep,
    cell: Cell,
    placement: Placement,
    check: LimitCheck,
    k6: K6Run,
    resources: dict[str, Any],
    state: Any,
    facts: dict[str, Any],
) -> CellMeta:
    """What was run, under which limits, over which window, with which result."""
    window_start, window_end = _window(k6, sweep.warmup_s)
    oom_kills = max(resources["oom_kills"], int(state.oom_killed))
    return CellMeta(
        **cell_identity(sweep, cell, placement),
        profile=profile_meta(sweep),
        limits=check.as_meta(),
        window={
            "start": window_start.isoformat(),
            "end": window_end.isoformat(),
            "load_start": k6.started_at.isoformat(),
            "load_end": window_end.isoformat(),
            "samples_until": max(k6.exited_at, window_end).isoformat(),
            "warmup_s": sweep.warmup_s,
            "duration_s": k6.duration_s - sweep.warmup_s,
            "load_duration_s": k6.duration_s,
            "clock": k6.duration_source,
        },
        pinning=placement.cpus.as_dict(),
        contended=placement.cpus.contended,
        k6={
            "exit_code": k6.exit_code,
            "script": str(sweep.k6_script),
            "script_sha256": file_sha256(sweep.k6_script),
            "thresholds_failed": k6.thresholds_failed,
            "cpu_s": k6.cpu_s,
            "wall_s": k6.wall_s,
            "run_s": k6.duration_s,
        },
        resources={**resources, "oom_kills": oom_kills, "exit_status": state.status},
        image=state.image,
        host=facts,
        config_hash=sweep.cell_config_hash(cell),
        status="ok",
        warnings=load_warnings(oom_kills, resources["restarts"], k6.thresholds_failed),
    )
