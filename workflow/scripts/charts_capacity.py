"""The capacity charts: summary image, search animation and interactive page."""

import sys
from pathlib import Path

# This checkout's tierbench package, whatever environment runs the job (the .venv, or a
# conda environment from envs/tierbench.yaml wherever Snakemake put it).
sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))

from tierbench.charts.capacity.artefacts import (
    render_capacity_animation,
    render_capacity_html,
    render_capacity_png,
)
from tierbench.charts.capacity_results import load_capacity_data
from tierbench.charts.options import ChartOptions
from tierbench.workflow_script import log_to_the_job

log_to_the_job(snakemake)
data = load_capacity_data(
    snakemake.input.capacity, snakemake.input.records, snakemake.input.recommendation
)
options = ChartOptions.from_config(snakemake.params.charts)
render_capacity_png(data, options, snakemake.output.png)
render_capacity_animation(data, options, snakemake.output.gif, snakemake.output.mp4)
render_capacity_html(
    data, snakemake.output.html, Path(snakemake.input.recommendation_md).read_text()
)
