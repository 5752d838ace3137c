"""Run one cell: place the runtime under the tier's limits, load it with k6, measure."""

import sys
from pathlib import Path

# This checkout's tierbench package, whatever environment runs the job (the .venv, or a
# conda environment from envs/tierbench.yaml wherever Snakemake put it).
sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))

from tierbench.load.cell import CellOutputs, run_cell
from tierbench.load.machinery import backend_for
from tierbench.workflow_script import cell_job

with cell_job(snakemake) as job:
    run_cell(
        job.sweep,
        job.cell,
        backend_for(job.sweep, job.log),
        CellOutputs(
            k6_json=Path(snakemake.output.k6),
            k6_summary=Path(snakemake.output.summary),
            resources_csv=Path(snakemake.output.resources),
            meta_json=Path(snakemake.output.meta),
        ),
        log=job.log,
        project_dir=job.checkout,
    )
