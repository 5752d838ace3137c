"""Build (or pull) one service's image and record its id; or build the image of a
runtime's variant with build args (`params.build`), from the same service."""

import sys
from pathlib import Path

# This checkout's tierbench package, whatever environment runs the job (the .venv, or a
# conda environment from envs/tierbench.yaml wherever Snakemake put it).
sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))

from tierbench.load.docker.images import ensure_image, ensure_variant_image

build = getattr(snakemake.params, "build", None)
if build is None:
    ensure_image(
        compose_file=Path(snakemake.input.compose),
        project=snakemake.params.project,
        service=snakemake.wildcards.service,
        stamp=Path(snakemake.output[0]),
        log=Path(snakemake.log[0]),
    )
else:
    ensure_variant_image(
        compose_file=Path(snakemake.input.compose),
        project=snakemake.params.project,
        build=build,
        stamp=Path(snakemake.output[0]),
        log=Path(snakemake.log[0]),
    )
