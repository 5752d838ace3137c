"""k6 JSON of one cell to tidy Parquet (requests, and the other samples beside them)."""

import logging
import sys
from pathlib import Path

# This checkout's tierbench package, whatever environment runs the job (the .venv, or a
# conda environment from envs/tierbench.yaml wherever Snakemake put it).
sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))

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
