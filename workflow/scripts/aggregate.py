"""Every cell's tidy k6 data, meta and resources to runs, summary, steps, timeline, warnings."""

import sys
from pathlib import Path

# This checkout's tierbench package, whatever environment runs the job (the .venv, or a
# conda environment from envs/tierbench.yaml wherever Snakemake put it).
sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))

from tierbench.aggregate.outputs import AggregateOutputs, aggregate_results, print_warnings
from tierbench.aggregate.tables import CellFiles
from tierbench.aggregate.trust_warnings import Thresholds

inputs, outputs = snakemake.input, snakemake.output
cells = [
    CellFiles(name, Path(requests), Path(metrics), Path(meta), Path(resources))
    for name, requests, metrics, meta, resources in zip(
        snakemake.params.cells,
        inputs.requests,
        inputs.metrics,
        inputs.meta,
        inputs.resources,
        strict=True,
    )
]
warnings = aggregate_results(
    cells,
    AggregateOutputs(
        runs_csv=Path(outputs.runs_csv),
        runs_parquet=Path(outputs.runs_parquet),
        summary_csv=Path(outputs.summary_csv),
        summary_parquet=Path(outputs.summary_parquet),
        summary_md=Path(outputs.summary_md),
        steps_csv=Path(outputs.steps_csv),
        timeline_parquet=Path(outputs.timeline),
        warnings_md=Path(outputs.warnings_md),
    ),
    Thresholds.from_mapping(snakemake.params.thresholds),
)
with open(snakemake.log[0], "w") as log:
    print(f"aggregated {len(cells)} cells", file=log)
    print_warnings(warnings, stream=log)
print_warnings(warnings, stream=sys.stderr)
