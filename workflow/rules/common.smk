# Configuration checks, the cell matrix and helpers shared by the rules.
import sys
from pathlib import Path

# The tierbench package beside this workflow, even where snakemake runs from an
# environment without it; the jobs' environments install it (pyproject, envs/).
sys.path.insert(0, str(Path(workflow.basedir) / "src"))

from snakemake.exceptions import WorkflowError

from tierbench.config.sweep import ConfigError, load_sweep
from tierbench.load.docker.build_context import build_context_files
from tierbench.load.docker.engine import check_docker_engine, stop_support_services
from tierbench.load.preflight import check_k6_script

try:
    SWEEP = load_sweep(config)
except ConfigError as error:
    raise WorkflowError(f"tierbench: invalid configuration: {error}") from None

# One load at a time, whatever --cores says: two loads on one host would measure each other.
if "load_slot" not in workflow.global_resources:
    workflow.register_resource("load_slot", 1)

CELLS = [cell.name for cell in SWEEP.cells]
CELL_BY_NAME = {cell.name: cell for cell in SWEEP.cells}
IMAGE_SERVICES = [endpoint.service for endpoint in SWEEP.runtimes.values()] + (
    SWEEP.support_service_names
)


wildcard_constraints:
    cell="|".join(CELLS),
    service="|".join(IMAGE_SERVICES),


# k6's raw JSON, gzip-compressed as k6 writes it (k6 compresses when the name ends in
# .gz); when not kept, it goes once the tidy step has read it.
K6_JSON = "results/k6/{cell}.json.gz"
if not SWEEP.config["keep_k6_json"]:
    K6_JSON = temp(K6_JSON)


def cell_paths(pattern):
    """One path per cell: cell_paths("results/meta/{cell}.json")."""
    return [pattern.format(cell=cell) for cell in CELLS]


def cell_images(wildcards):
    """The image stamps a cell depends on: its runtime's and the support services'."""
    runtime = SWEEP.runtimes[CELL_BY_NAME[wildcards.cell].runtime].service
    return [
        f"results/images/{service}.json"
        for service in [runtime, *SWEEP.support_service_names]
    ]


def earlier_repeat(wildcards):
    """Every cell's previous repeat, so repeats interleave (every cell's repeat 1, then
    every cell's repeat 2, ...) and their spread shows drift. ancient(): only the order
    matters, so rerunning an earlier cell does not rerun the later ones."""
    repeat = CELL_BY_NAME[wildcards.cell].repeat
    return [
        ancient(f"results/meta/{cell.name}.json")
        for cell in SWEEP.cells
        if cell.repeat == repeat - 1
    ]


def cell_settings(wildcards):
    """What shapes one cell; a change here reruns exactly the cells it touches."""
    return SWEEP.cell_config(CELL_BY_NAME[wildcards.cell])


def service_sources(wildcards):
    """Every file that shapes a service's image (its Dockerfile, .dockerignore and the
    build context's files), so the image rebuilds when one changes."""
    return build_context_files(SWEEP.compose_file, SWEEP.project, wildcards.service)


# Before any image is built or container started: an engine, and a k6 script that runs.
onstart:
    check_docker_engine()
    check_k6_script(SWEEP)


onsuccess:
    stop_support_services(SWEEP)


onerror:
    stop_support_services(SWEEP)
