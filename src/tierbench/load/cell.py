"""One cell of the sweep: one runtime under one tier's limits, loaded by k6, measured.

Outputs are written under temporary names and renamed only when the whole cell finished,
so an interrupted or failed cell never leaves a file that looks finished. The runtime's
container is removed on every path.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from tierbench import __version__
from tierbench.config.limits import format_bytes, limit_mismatches
from tierbench.config.sweep import Cell, Sweep
from tierbench.files import OutputSet
from tierbench.load.docker.compose import compose_version, docker_client
from tierbench.load.docker.containers import (
    ContainerError,
    RuntimeContainer,
    ServiceEndpoint,
    limits_override,
    wait_for_http,
    write_override,
)
from tierbench.load.docker.sampler import COLUMNS, ResourceSampler
from tierbench.load.host import cpuset, host_facts, plan_cpus
from tierbench.load.k6 import k6_version, run_k6


class LimitsNotApplied(ContainerError):
    """Docker applied other limits than the tier asked for."""


@dataclass(frozen=True)
class CellOutputs:
    k6_json: Path
    k6_summary: Path
    resources_csv: Path
    meta_json: Path

    def output_set(self) -> OutputSet:
        # The meta goes last: its presence means the cell is complete.
        return OutputSet([self.k6_json, self.k6_summary, self.resources_csv, self.meta_json])


def say(log: Path, message: str) -> None:
    """A progress line, to the job's log and to the terminal."""
    line = f"tierbench: {message}"
    print(line, file=sys.stderr, flush=True)
    with open(log, "a") as handle:
        handle.write(line + "\n")


def git_revision(directory: Path) -> str | None:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(directory), *args], capture_output=True, text=True
        ).stdout.strip()

    revision = git("rev-parse", "--short=12", "HEAD")
    if not revision:
        return None
    return revision + ("-dirty" if git("status", "--porcelain", "--untracked-files=no") else "")


def write_resources_csv(path: Path, rows: list[dict]) -> None:
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: "" if row.get(k) is None else row[k] for k in COLUMNS})


def load_warnings(oom_kills: int, restarts: int, thresholds_failed: bool) -> list[str]:
    """What went wrong during the load itself; the aggregate step adds the rest
    (contention, saturation, spread) from the meta."""
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
    outputs: CellOutputs,
    log: Path,
    override_dir: Path,
    project_dir: Path = Path("."),
) -> dict:
    """Run one cell end to end and write its outputs; returns its meta."""
    tier = sweep.tiers[cell.tier]
    endpoint = sweep.runtimes[cell.runtime]
    plan = plan_cpus(
        tier.limits.cpus, [t.limits.cpus for t in sweep.tiers.values()], sweep.cpu_pinning
    )
    support_names = sweep.support_service_names
    override = write_override(
        override_dir / f"{cell.name}.override.yaml",
        limits_override(
            endpoint.service,
            tier.limits,
            cpuset(plan.runtime_cpus),
            support_names,
            cpuset(plan.support_cpus),
        ),
    )
    files = outputs.output_set()
    files.prepare()
    log.parent.mkdir(parents=True, exist_ok=True)
    say(log, f"{cell.name}: {plan.reason}")

    runtime = RuntimeContainer(sweep.compose_file, override, sweep.project, endpoint)
    timings: dict[str, float] = {}
    try:
        runtime.start_support(sweep.support)
        for entry in sweep.support:
            if isinstance(entry, ServiceEndpoint):
                wait_for_http(
                    entry.base_url + entry.health_path,
                    sweep.health_timeout_s,
                    f"support service {entry.service}",
                )

        started = time.monotonic()
        container = runtime.recreate_with_limits()
        timings["recreate"] = time.monotonic() - started
        timings["health"] = runtime.wait_until_healthy(sweep.health_timeout_s)
        started = time.monotonic()
        applied = runtime.applied_limits()
        timings["limits_check"] = time.monotonic() - started
        problems = limit_mismatches(tier.limits, applied)
        if problems:
            raise LimitsNotApplied(
                f"{cell.name}: Docker did not apply tier {cell.tier}'s limits to service "
                f"{endpoint.service}: {'; '.join(problems)}. Check that the Compose file does "
                "not set its own limits (cpus, mem_limit, deploy.resources) for this service."
            )
        say(
            log,
            f"{cell.name}: {endpoint.service} healthy in {timings['health']:.2f} s, limits "
            f"verified ({applied.cpus:g} CPUs, {format_bytes(applied.memory_bytes)})",
        )

        sampler = ResourceSampler(container.id, container.state.pid, applied)
        sampler.start()
        try:
            k6 = run_k6(
                sweep.k6_script,
                sweep.stages,
                endpoint.base_url,
                files.partial(outputs.k6_json),
                files.partial(outputs.k6_summary),
                log,
                cpus=plan.load_generator_cpus,
            )
        finally:
            rows = sampler.stop()
        container.reload()
        exit_status = container.state.status
        oom_killed = bool(container.state.oom_killed)
        image = {"id": container.image, "name": container.config.image}
    except BaseException:
        files.discard()
        raise
    finally:
        started = time.monotonic()
        runtime.remove()
        timings["teardown"] = time.monotonic() - started

    oom_kills = max(sampler.oom_kills, int(oom_killed))
    window_start = k6.started_at + timedelta(seconds=sweep.warmup_s)
    meta = {
        "tierbench_version": __version__,
        "cell": cell.name,
        "runtime": cell.runtime,
        "tier": cell.tier,
        "repeat": cell.repeat,
        "service": endpoint.service,
        "port": endpoint.port,
        "tier_order": tier.order,
        "profile": {
            "name": sweep.profile_name,
            "stages": sweep.stages,
            "warmup_s": sweep.warmup_s,
            "duration_s": sweep.load_duration_s,
        },
        "limits": {
            "requested": tier.limits.as_dict(),
            "applied": applied.as_dict(),
            "verified": True,
        },
        "window": {
            "start": window_start.isoformat(),
            "end": k6.ended_at.isoformat(),
            "load_start": k6.started_at.isoformat(),
            "load_end": k6.ended_at.isoformat(),
            "warmup_s": sweep.warmup_s,
            "duration_s": (k6.ended_at - window_start).total_seconds(),
        },
        "pinning": plan.as_dict(),
        "contended": plan.contended,
        "k6": {
            "exit_code": k6.exit_code,
            "script": str(sweep.k6_script),
            "thresholds_failed": k6.thresholds_failed,
            "cpu_s": k6.cpu_s,
            "wall_s": k6.wall_s,
        },
        "resources": {
            "source": sampler.source,
            "samples": len(rows),
            "oom_kills": oom_kills,
            "restarts": sampler.events.restarts,
            "exit_status": exit_status,
        },
        "image": image,
        "versions": versions(),
        "host": host_facts(),
        "git_revision": git_revision(project_dir),
        "config_hash": sweep.cell_config_hash(cell),
        "orchestration_s": timings,
        "warnings": load_warnings(oom_kills, sampler.events.restarts, k6.thresholds_failed),
    }
    for warning in meta["warnings"]:
        say(log, f"{cell.name}: warning: {warning}")

    write_resources_csv(files.partial(outputs.resources_csv), rows)
    files.partial(outputs.meta_json).write_text(json.dumps(meta, indent=2) + "\n")
    files.commit()
    return meta


_VERSIONS: dict[str, str] = {}


def versions() -> dict[str, str]:
    if not _VERSIONS:
        _VERSIONS.update(
            tierbench=__version__,
            k6=k6_version(),
            docker=docker_client().version().server.version,
            compose=compose_version().removeprefix("Docker Compose version "),
        )
    return dict(_VERSIONS)
