"""The right-sizing report for the configured target rate."""

import json
import sys
from pathlib import Path

import polars as pl

# This checkout's tierbench package, whatever environment runs the job (the .venv, or a
# conda environment from envs/tierbench.yaml wherever Snakemake put it).
sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))

from tierbench.capacity.recommend import recommendation, recommendation_markdown
from tierbench.capacity.record import CapacityRecord
from tierbench.capacity.settings import CapacitySettings
from tierbench.files import write_text

settings = CapacitySettings.from_config(snakemake.params.capacity)
report = recommendation(
    pl.read_parquet(snakemake.input.capacity),
    settings,
    list(settings.prices),
    settings.target_rps,
    records=[CapacityRecord.read(path) for path in snakemake.input.records],
)
write_text(json.dumps(report, indent=2) + "\n", Path(snakemake.output.json))
write_text(recommendation_markdown(report), Path(snakemake.output.md))
with open(snakemake.log[0], "w") as log:
    print(f"right-sized for {settings.target_rps:g} req/s", file=log)
