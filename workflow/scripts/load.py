"""Run one cell: place the runtime under the tier's limits, load it with k6, measure."""

import sys
from pathlib import Path

# This checkout's tierbench package, whatever environment runs the job (the .venv, or a
# conda environment from envs/tierbench.yaml wherever Snakemake put it).
sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))

from tierbench.config.sweep import load_sweep
from tierbench.load.cell import CellOutputs, run_cell
from tierbench.load.lifecycle import faults_stop_the_sweep
from tierbench.load.machinery import backend_for, interrupt_on_sigterm

interrupt_on_sigterm()

sweep = load_sweep(snakemake.config)
cell = next(c for c in sweep.cells if c.name == snakemake.wildcards.cell)
log = Path(snakemake.log[0])
with faults_stop_the_sweep(cell.name, log):
    run_cell(
        sweep,
        cell,
        backend_for(sweep, log),
        CellOutputs(
            k6_json=Path(snakemake.output.k6),
            k6_summary=Path(snakemake.output.summary),
            resources_csv=Path(snakemake.output.resources),
            meta_json=Path(snakemake.output.meta),
        ),
        log=log,
        project_dir=Path(snakemake.scriptdir).parents[1],
    )
