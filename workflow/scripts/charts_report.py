"""The self-contained interactive report from the aggregate tables."""

import logging

from tierbench.charts.data import load_chart_files
from tierbench.charts.render import render_html

# tierbench says what it rendered; the browser driver's chatter stays out of the log.
logging.basicConfig(filename=snakemake.log[0], level=logging.WARNING)
logging.getLogger("tierbench").setLevel(logging.INFO)
data = load_chart_files(snakemake.input.summary, snakemake.input.timeline, snakemake.input.meta)
render_html(data, snakemake.output.html)
