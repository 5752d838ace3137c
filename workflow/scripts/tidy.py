"""k6 JSON of one cell to tidy Parquet (requests, and the other samples beside them)."""

import logging
from pathlib import Path

from tierbench.tidy.k6_json import tidy_k6_json

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, format="%(message)s")
result = tidy_k6_json(
    Path(snakemake.input[0]),
    Path(snakemake.output.requests),
    Path(snakemake.output.metrics),
)
logging.info(
    "%s: %d lines, %d requests, %d other samples",
    snakemake.input[0], result.lines, result.requests, result.metric_samples,
)
