"""Build (or pull) one service's image and record its id."""

from pathlib import Path

from tierbench.load.docker.images import ensure_image

ensure_image(
    compose_file=Path(snakemake.input.compose),
    project=snakemake.params.project,
    service=snakemake.wildcards.service,
    stamp=Path(snakemake.output[0]),
    log=Path(snakemake.log[0]),
)
