"""Every cell's capacity record to the sweep's capacity table."""

from pathlib import Path

from tierbench.capacity.tables import read_record, write_capacity_tables

records = [read_record(path) for path in snakemake.input.records]
frame = write_capacity_tables(
    records,
    csv=Path(snakemake.output.csv),
    parquet=Path(snakemake.output.parquet),
    markdown=Path(snakemake.output.md),
    runtimes=snakemake.params.runtimes,
)
with open(snakemake.log[0], "w") as log:
    for row in frame.iter_rows(named=True):
        print(f"{row['runtime']} at {row['tier']}: {row['reason']}", file=log)
