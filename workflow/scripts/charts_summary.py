"""The summary image (small multiples by tier and runtime) from the aggregate tables."""

import sys
from pathlib import Path

# This checkout's tierbench package, whatever environment runs the job (the .venv, or a
# conda environment from envs/tierbench.yaml wherever Snakemake put it).
sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))

from tierbench.charts.comparison.artefacts import render_summary_png
from tierbench.charts.comparison.results import load_chart_files
from tierbench.charts.options import ChartOptions
from tierbench.workflow_script import log_to_the_job

log_to_the_job(snakemake)
data = load_chart_files(
    snakemake.input.summary,
    snakemake.input.timeline,
    snakemake.input.meta,
    snakemake.params.capacity["files"],
)
render_summary_png(data, ChartOptions.from_config(snakemake.params.charts), snakemake.output.png)
