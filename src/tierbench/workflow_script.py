"""What a workflow script needs of its Snakemake job, said once: where its log goes, and
for a cell's job the sweep, the cell and the checkout it runs from.

Every script in workflow/scripts/ puts this checkout's src/ first on its path (its one
line of set-up before any import), then takes the rest from here."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tierbench.config.sweep import Cell, Sweep, load_sweep
from tierbench.load.lifecycle import faults_stop_the_sweep
from tierbench.load.machinery import interrupt_on_sigterm


def job_log(job: Any) -> Path:
    """The job's log file (its rule's first `log:`)."""
    return Path(job.log[0])


def log_to_the_job(job: Any) -> None:
    """tierbench says what it did in the job's log; the libraries' chatter (the browser
    driver's) stays out of it unless it is a warning."""
    logging.basicConfig(filename=job_log(job), level=logging.WARNING)
    logging.getLogger("tierbench").setLevel(logging.INFO)


def checkout_of(job: Any) -> Path:
    """The checkout the script runs from (workflow/scripts/ is two levels down): its git
    revision goes in the records."""
    return Path(job.scriptdir).parents[1]


@dataclass(frozen=True)
class CellJob:
    """One cell's job: the sweep it belongs to, the cell, its log and the checkout."""

    sweep: Sweep
    cell: Cell
    log: Path
    checkout: Path


@contextmanager
def cell_job(
    job: Any,
    configure: Callable[[dict], dict] | None = None,
    wildcard: str = "cell",
) -> Iterator[CellJob]:
    """The job of the cell the `cell` wildcard (or `wildcard`) names, in the job's sweep
    or, with `configure`, in the sweep of the config it makes of the job's (the tracing
    sweep's, say). A SIGTERM (Snakemake stopping) ends it as Ctrl-C would, tearing down
    what it placed, and a fault of the machinery stops the sweep with one plain line (the
    cell's own failure is its result, not a fault)."""
    interrupt_on_sigterm()
    sweep = load_sweep(job.config)
    if configure is not None:
        sweep = load_sweep(configure(sweep.config))
    cell = next(c for c in sweep.cells if c.name == job.wildcards[wildcard])
    log = job_log(job)
    with faults_stop_the_sweep(cell.name, log):
        yield CellJob(sweep, cell, log, checkout_of(job))
