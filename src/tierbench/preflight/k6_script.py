"""Checks at the start of a real run, before any image is built or container started, of
what would otherwise fail every cell: said once, in plain words, without a traceback."""

from __future__ import annotations

import sys

from tierbench.config.sweep import Sweep
from tierbench.load.k6 import K6Error, script_error

BAD_SCRIPT = """\
tierbench: k6 cannot run the script {script}, so no cell was started.
  {problem}
  Fix the script (`k6 inspect {script}` checks it without any load), then run snakemake
  again."""


def check_k6_script(sweep: Sweep) -> None:
    """Stop the run when the k6 script does not compile or its init code fails."""
    first_runtime = next(iter(sweep.runtimes.values()))
    try:
        problem = script_error(sweep.k6_script, first_runtime.base_url)
    except K6Error as error:
        problem = str(error)
    if problem:
        indented = problem.replace("\n", "\n  ")
        print(BAD_SCRIPT.format(script=sweep.k6_script, problem=indented), file=sys.stderr)
        raise SystemExit(1)
