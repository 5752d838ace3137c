"""Every tracing cell's holds and capacity records to the tracing table."""

import sys
from pathlib import Path

# This checkout's tierbench package, whatever environment runs the job (the .venv, or a
# conda environment from envs/tierbench.yaml wherever Snakemake put it).
sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))

import polars as pl

from tierbench.capacity.record import CapacityRecord
from tierbench.tracing.holds import HOLD_SCHEMA
from tierbench.tracing.table import write_tracing_tables

settings = snakemake.params.tracing
holds = pl.concat(
    [pl.read_csv(path, schema=HOLD_SCHEMA) for path in snakemake.input.holds], how="vertical"
)
frame = write_tracing_tables(
    holds,
    [CapacityRecord.read(path) for path in snakemake.input.records],
    csv=Path(snakemake.output.csv),
    parquet=Path(snakemake.output.parquet),
    markdown=Path(snakemake.output.md),
    off_environment=settings.off_environment,
    share=settings.rate_share,
)
with open(snakemake.log[0], "w") as log:
    print(f"{frame.height} runtime x tier rows from {holds.height} holds", file=log)
