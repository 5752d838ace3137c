"""The tracing table to its chart: a PNG and an interactive HTML page."""

import sys
from pathlib import Path

# This checkout's tierbench package, whatever environment runs the job (the .venv, or a
# conda environment from envs/tierbench.yaml wherever Snakemake put it).
sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))

import polars as pl

from tierbench.charts.tracing_chart import tracing_footer, write_tracing_charts

frame = pl.read_parquet(snakemake.input.table)
write_tracing_charts(
    frame, Path(snakemake.output.png), Path(snakemake.output.html), tracing_footer(frame)
)
