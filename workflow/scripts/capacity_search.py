"""Search one cell's capacity: the runtime under the tier's limits, step after step."""

import sys
from pathlib import Path

# This checkout's tierbench package, whatever environment runs the job (the .venv, or a
# conda environment from envs/tierbench.yaml wherever Snakemake put it).
sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))

from tierbench.capacity.cell import CapacityOutputs, run_capacity_cell
from tierbench.capacity.settings import CapacitySettings
from tierbench.config.sweep import load_sweep
from tierbench.load.lifecycle import faults_stop_the_sweep
from tierbench.load.machinery import backend_for, interrupt_on_sigterm

interrupt_on_sigterm()

sweep = load_sweep(snakemake.config)
cell = next(c for c in sweep.cells if c.name == snakemake.wildcards.cell)
log = Path(snakemake.log[0])
with faults_stop_the_sweep(cell.name, log):
    run_capacity_cell(
        sweep,
        cell,
        backend_for(sweep, log),
        CapacitySettings.from_config(sweep.config["capacity"]),
        CapacityOutputs(
            record_json=Path(snakemake.output.record),
            steps_csv=Path(snakemake.output.steps),
            resources_csv=Path(snakemake.output.resources),
            raw_dir=Path(snakemake.output.raw),
        ),
        log=log,
        project_dir=Path(snakemake.scriptdir).parents[1],
    )
