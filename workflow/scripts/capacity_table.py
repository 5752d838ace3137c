"""Every cell's capacity record to the sweep's capacity table."""

import sys
from pathlib import Path

# This checkout's tierbench package, whatever environment runs the job (the .venv, or a
# conda environment from envs/tierbench.yaml wherever Snakemake put it).
sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))

from tierbench.aggregate.outputs import print_warnings
from tierbench.aggregate.trust_warnings import Thresholds
from tierbench.capacity.record import CapacityRecord
from tierbench.capacity.tables import write_capacity_tables

records = [CapacityRecord.read(path) for path in snakemake.input.records]
frame, warnings = write_capacity_tables(
    records,
    csv=Path(snakemake.output.csv),
    parquet=Path(snakemake.output.parquet),
    markdown=Path(snakemake.output.md),
    runtimes=snakemake.params.runtimes,
    limits=Thresholds.from_mapping(snakemake.params.thresholds),
)
with open(snakemake.log[0], "w") as log:
    for row in frame.iter_rows(named=True):
        print(f"{row['runtime']} at {row['tier']}: {row['reason']}", file=log)
    print_warnings(warnings, stream=log)
print_warnings(warnings)
