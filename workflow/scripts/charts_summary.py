"""The summary image (small multiples by tier and runtime) from the aggregate tables."""

import logging
import sys
from pathlib import Path

# This checkout's tierbench package, whatever environment runs the job (the .venv, or a
# conda environment from envs/tierbench.yaml wherever Snakemake put it).
sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))

from tierbench.charts.data import load_chart_files
from tierbench.charts.render import ChartOptions, render_summary_png

# tierbench says what it rendered; the browser driver's chatter stays out of the log.
logging.basicConfig(filename=snakemake.log[0], level=logging.WARNING)
logging.getLogger("tierbench").setLevel(logging.INFO)
data = load_chart_files(
    snakemake.input.summary,
    snakemake.input.timeline,
    snakemake.input.meta,
    snakemake.params.capacity["files"],
)
render_summary_png(data, ChartOptions.from_config(snakemake.params.charts), snakemake.output.png)
