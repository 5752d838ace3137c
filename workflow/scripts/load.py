"""Run one cell: place the runtime under the tier's limits, load it with k6, measure."""

import signal
from pathlib import Path

from tierbench.config.sweep import load_sweep
from tierbench.load.cell import CellOutputs, run_cell, say


def interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


# Snakemake ends jobs with SIGTERM: turn it into the same clean-up path as Ctrl-C.
signal.signal(signal.SIGTERM, interrupt)

sweep = load_sweep(snakemake.config)
cell = next(c for c in sweep.cells if c.name == snakemake.wildcards.cell)
log = Path(snakemake.log[0])
if sweep.backend == "kubernetes":
    from tierbench.load.kubernetes.workflow import kubernetes_backend

    backend = kubernetes_backend(sweep, lambda message: say(log, message))
else:
    from tierbench.load.docker.backend import DockerBackend

    backend = DockerBackend(sweep, override_dir=Path("results/compose"))
run_cell(
    sweep,
    cell,
    backend,
    CellOutputs(
        k6_json=Path(snakemake.output.k6),
        k6_summary=Path(snakemake.output.summary),
        resources_csv=Path(snakemake.output.resources),
        meta_json=Path(snakemake.output.meta),
    ),
    log=log,
    project_dir=Path(snakemake.scriptdir).parents[1],
)
