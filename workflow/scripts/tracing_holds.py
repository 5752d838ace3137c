"""Hold a runtime and its twin with tracing off at one fixed rate, interleaved."""

import sys
from pathlib import Path

# This checkout's tierbench package, whatever environment runs the job (the .venv, or a
# conda environment from envs/tierbench.yaml wherever Snakemake put it).
sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))

from tierbench.capacity.record import CapacityRecord
from tierbench.load.machinery import backend_for
from tierbench.tracing.holds import HoldOutputs, run_tracing_holds
from tierbench.tracing.settings import pairs, tracing_config
from tierbench.workflow_script import cell_job

with cell_job(snakemake, tracing_config, wildcard="tcell") as job:
    untraced = dict(pairs(job.sweep))[job.cell]
    run_tracing_holds(
        job.sweep,
        job.cell,
        untraced,
        CapacityRecord.read(snakemake.input.traced),
        lambda: backend_for(job.sweep, job.log),
        HoldOutputs(Path(snakemake.output.holds), Path(snakemake.output.raw)),
        log=job.log,
        project_dir=job.checkout,
    )
