"""Search one cell's capacity: the runtime under the tier's limits, step after step. The
same for a cell of the tracing sweep (the `tcell` wildcard): a runtime, or its twin with
tracing off."""

import sys
from pathlib import Path

# This checkout's tierbench package, whatever environment runs the job (the .venv, or a
# conda environment from envs/tierbench.yaml wherever Snakemake put it).
sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))

from tierbench.capacity.cell import CapacityOutputs, run_capacity_cell
from tierbench.capacity.settings import CapacitySettings
from tierbench.load.machinery import backend_for
from tierbench.tracing.settings import tracing_config
from tierbench.workflow_script import cell_job

tracing = hasattr(snakemake.wildcards, "tcell")
with cell_job(
    snakemake, tracing_config if tracing else None, wildcard="tcell" if tracing else "cell"
) as job:
    run_capacity_cell(
        job.sweep,
        job.cell,
        backend_for(job.sweep, job.log),
        CapacitySettings.from_config(job.sweep.config["capacity"]),
        CapacityOutputs(
            record_json=Path(snakemake.output.record),
            steps_csv=Path(snakemake.output.steps),
            resources_csv=Path(snakemake.output.resources),
            raw_dir=Path(snakemake.output.raw),
        ),
        log=job.log,
        project_dir=job.checkout,
    )
