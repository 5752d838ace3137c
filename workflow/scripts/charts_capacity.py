"""The capacity charts: summary image, search animation and interactive page."""

import logging
import sys
from pathlib import Path

# This checkout's tierbench package, whatever environment runs the job (the .venv, or a
# conda environment from envs/tierbench.yaml wherever Snakemake put it).
sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))

from tierbench.charts.capacity import load_capacity_data
from tierbench.charts.capacity_render import (
    render_capacity_animation,
    render_capacity_html,
    render_capacity_png,
)
from tierbench.charts.render import ChartOptions

# tierbench says what it rendered; the browser driver's chatter stays out of the log.
logging.basicConfig(filename=snakemake.log[0], level=logging.WARNING)
logging.getLogger("tierbench").setLevel(logging.INFO)
data = load_capacity_data(
    snakemake.input.capacity, snakemake.input.records, snakemake.input.recommendation
)
options = ChartOptions.from_config(snakemake.params.charts)
render_capacity_png(data, options, snakemake.output.png)
render_capacity_animation(data, options, snakemake.output.gif, snakemake.output.mp4)
render_capacity_html(
    data, snakemake.output.html, Path(snakemake.input.recommendation_md).read_text()
)
