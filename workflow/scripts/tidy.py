"""k6 JSON of one cell to tidy Parquet (requests, and the other samples beside them)."""

import json
import logging
import sys
from pathlib import Path

# This checkout's tierbench package, whatever environment runs the job (the .venv, or a
# conda environment from envs/tierbench.yaml wherever Snakemake put it).
sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))

from tierbench.tidy.k6_json import tidy_k6_json

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, format="%(message)s")
# A cell whose runtime failed (to start, or mid-load) may hold no request at all.
status = json.loads(Path(snakemake.input.meta).read_text()).get("status", "ok")
result = tidy_k6_json(
    Path(snakemake.input.k6),
    Path(snakemake.output.requests),
    Path(snakemake.output.metrics),
    allow_empty=status != "ok",
)
logging.info(
    "%s: %d lines, %d requests, %d other samples",
    snakemake.input.k6,
    result.lines,
    result.requests,
    result.metric_samples,
)
