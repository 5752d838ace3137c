"""The comparison animation (GIF and MP4) from the aggregate tables."""

import logging
import sys
from pathlib import Path

# This checkout's tierbench package, whatever environment runs the job (the .venv, or a
# conda environment from envs/tierbench.yaml wherever Snakemake put it).
sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))

from tierbench.charts.comparison.artefacts import render_comparison
from tierbench.charts.comparison.results import load_chart_files
from tierbench.charts.options import ChartOptions
from tierbench.workflow_script import log_to_the_job

log_to_the_job(snakemake)
data = load_chart_files(snakemake.input.summary, snakemake.input.timeline, snakemake.input.meta)
report = render_comparison(
    data,
    ChartOptions.from_config(snakemake.params.charts),
    gif=snakemake.output.gif,
    mp4=snakemake.output.mp4,
)
for warning in report.warnings:
    logging.warning(warning)
