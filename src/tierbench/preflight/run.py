"""Run the pre-flight: gather, judge, print the lines; at a sweep's start, stop on a FAIL
and record the lines in results/preflight.json."""

from __future__ import annotations

import sys
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from tierbench.config.sweep import Sweep
from tierbench.preflight.checks import Check, preflight_checks
from tierbench.preflight.facts import HostFacts, SweepShape
from tierbench.preflight.record import PREFLIGHT_FILE, write_preflight

WIDTH = 100
TOPIC_WIDTH = 16


@dataclass(frozen=True)
class Preflight:
    checks: list[Check]
    seconds: float

    @property
    def failed(self) -> bool:
        return any(check.status == "FAIL" for check in self.checks)

    def count(self, status: str) -> int:
        return sum(check.status == status for check in self.checks)


def run_preflight(
    shape: SweepShape | None,
    results_dir: Path,
    gather: Callable[[Path], HostFacts],
    extra: list[Check] | None = None,
) -> Preflight:
    """Gather (the machinery's `gather`) and judge; `extra` lines (a config that did not
    load, say) go first."""
    started = time.perf_counter()
    checks = [*(extra or []), *preflight_checks(gather(results_dir), shape)]
    return Preflight(checks, time.perf_counter() - started)


def render_line(check: Check) -> str:
    """`  WARN  topic  message`, wrapped, and `-> what to do` below a WARN or FAIL."""
    head = f"  {check.status:<5} {check.topic:<{TOPIC_WIDTH}} "
    indent = " " * len(head)
    lines = textwrap.wrap(check.message, WIDTH, initial_indent=head, subsequent_indent=indent) or [
        head.rstrip()
    ]
    if check.what_to_do and check.status != "OK":
        lines += textwrap.wrap(
            check.what_to_do,
            WIDTH,
            initial_indent=indent + "-> ",
            subsequent_indent=indent + "   ",
        )
    return "\n".join(lines)


def render(preflight: Preflight) -> str:
    warnings, failures = preflight.count("WARN"), preflight.count("FAIL")
    return "\n".join(
        [
            "tierbench pre-flight: what this host can and cannot measure well",
            *(render_line(check) for check in preflight.checks),
            f"  {preflight.count('OK')} OK, {warnings} warning{'s' * (warnings != 1)}, "
            f"{failures} failure{'s' * (failures != 1)}; checked in {preflight.seconds:.2f} s",
        ]
    )


def before_sweep(
    sweep: Sweep,
    gather: Callable[[Path], HostFacts],
    results_dir: Path = Path("results"),
    stream: TextIO | None = None,
) -> None:
    """At the start of a sweep: print the lines (to stderr by default); on a FAIL, exit 1
    before any job (and write nothing); otherwise record every line in
    results/preflight.json."""
    stream = stream or sys.stderr
    preflight = run_preflight(SweepShape.of(sweep), results_dir, gather)
    print(render(preflight), file=stream, flush=True)
    if preflight.failed:
        failures = [check for check in preflight.checks if check.status == "FAIL"]
        print(
            f"tierbench: the pre-flight failed ({len(failures)} FAIL line"
            f"{'s' * (len(failures) != 1)} above): no job was started.",
            file=stream,
        )
        raise SystemExit(1)
    write_preflight(
        [check.as_dict() for check in preflight.checks],
        preflight.seconds,
        results_dir / PREFLIGHT_FILE,
    )
