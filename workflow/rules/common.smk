# Configuration checks, the cell matrix and helpers shared by the rules.
import sys
from pathlib import Path

# The tierbench package beside this workflow, even where snakemake runs from an
# environment without it; the jobs' environments install it (pyproject, envs/).
sys.path.insert(0, str(Path(workflow.basedir) / "src"))

from snakemake.exceptions import WorkflowError

from tierbench.capacity.settings import CapacitySettings
from tierbench.charts.capacity_results import capacity_files
from tierbench.config.sweep import ConfigError, load_sweep
from tierbench.files import files_digest
from tierbench.load.machinery import machinery_for
from tierbench.preflight.k6_script import check_k6_script
from tierbench.tracing.settings import (
    TracingSettings,
    pairs,
    tracing_cells,
    tracing_config,
)

try:
    SWEEP = load_sweep(config)
except ConfigError as error:
    raise WorkflowError(f"tierbench: invalid configuration: {error}") from None
MACHINERY = machinery_for(SWEEP)
# The tracing sweep (`snakemake tracing`): every runtime beside its twin with tracing off,
# at the `tracing` section's tiers.
try:
    TRACING_SETTINGS = TracingSettings.from_config(SWEEP.config)
    TRACING_SWEEP = load_sweep(tracing_config(SWEEP.config))
except ConfigError as error:
    raise WorkflowError(f"tierbench: invalid configuration: {error}") from None
TRACING_CELLS = [cell.name for cell in tracing_cells(TRACING_SWEEP)]
TRACING_CELL_BY_NAME = {cell.name: cell for cell in tracing_cells(TRACING_SWEEP)}
TRACED_CELLS = [traced.name for traced, _ in pairs(TRACING_SWEEP)]
UNTRACED_OF = {traced.name: untraced.name for traced, untraced in pairs(TRACING_SWEEP)}

# One load at a time on one host, whatever --cores says: two loads on one host would
# measure each other. In a cluster, one load per node pair (each cell takes a free pair).
if "load_slot" not in workflow.global_resources:
    workflow.register_resource("load_slot", SWEEP.parallel_loads)

CELLS = [cell.name for cell in SWEEP.cells]
# Capacity mode searches each runtime x tier once per repeat; the table gives the mean of
# a cell's searches with its confidence interval.
CAPACITY_CELLS = [cell.name for cell in SWEEP.cells]
CELL_BY_NAME = {cell.name: cell for cell in SWEEP.cells}
# Each service once: a runtime's variants share its service, and its image...
IMAGE_SERVICES = list(
    dict.fromkeys(
        [endpoint.service for endpoint in SWEEP.runtimes.values()]
        + SWEEP.support_service_names
    )
)
# ... but for those with build args: each builds an image of its own from the service's
# build section (rule variant_image), by runtime name.
VARIANT_IMAGES = {
    runtime: {
        "service": endpoint.service,
        "image": endpoint.image,
        "build_args": dict(endpoint.build_args),
    }
    for runtime, endpoint in SWEEP.runtimes.items()
    if endpoint.image is not None
}


wildcard_constraints:
    cell="|".join(CELLS),
    tcell="|".join(TRACING_CELLS),
    service="|".join(IMAGE_SERVICES),
    variant="|".join(VARIANT_IMAGES),


# k6's raw JSON, gzip-compressed as k6 writes it (k6 compresses when the name ends in
# .gz); when not kept, it goes once the tidy step has read it.
K6_JSON = "results/k6/{cell}.json.gz"
if not SWEEP.config["keep_k6_json"]:
    K6_JSON = temp(K6_JSON)


def cell_paths(pattern):
    """One path per cell: cell_paths("results/meta/{cell}.json")."""
    return [pattern.format(cell=cell) for cell in CELLS]


def runtime_images(sweep, runtime):
    """The image stamps a cell of `runtime` depends on: its runtime's image (a variant's
    own where it has build args) and the support services'. A machinery that pulls its
    images (a cluster) builds nothing here."""
    if not MACHINERY.builds_images:
        return []
    endpoint = sweep.runtimes[runtime]
    own = (
        f"results/images/variants/{runtime}.json"
        if endpoint.image is not None
        else f"results/images/{endpoint.service}.json"
    )
    return [own] + [
        f"results/images/{service}.json" for service in SWEEP.support_service_names
    ]


def cell_images(wildcards):
    """The image stamps a cell depends on (`runtime_images`)."""
    return runtime_images(SWEEP, CELL_BY_NAME[wildcards.cell].runtime)


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


def earlier_capacity_search(wildcards):
    """Every cell's previous capacity search, so repeats interleave as the comparison's
    do (ancient(): only the order matters)."""
    repeat = CELL_BY_NAME[wildcards.cell].repeat
    return [
        ancient(f"results/capacity/{cell.name}.json")
        for cell in SWEEP.cells
        if cell.repeat == repeat - 1
    ]


def optional_capacity(wildcards):
    """A capacity sweep's files, once one has run, and a digest of them: the summary image
    and the report then show a capacity panel. A param, not an input: they redraw when a
    capacity sweep appears or changes, yet a comparison sweep never pulls the capacity
    searches into its plan (a rebuilt image would otherwise rerun every one of them)."""
    if not Path("results/capacity.parquet").exists():
        return {"files": [], "digest": None}
    files = [str(path) for path in capacity_files("results")]
    return {"files": files, "digest": files_digest(files)}


def capacity_paths(pattern):
    """One path per capacity cell."""
    return [pattern.format(cell=cell) for cell in CAPACITY_CELLS]


def capacity_cell_settings(wildcards):
    """What shapes one cell's capacity search: the cell's settings and the search's."""
    settings = CapacitySettings.from_config(SWEEP.config["capacity"])
    return SWEEP.cell_config(CELL_BY_NAME[wildcards.cell]) | {
        "capacity": settings.search_settings()
    }


def tracing_cell_images(wildcards):
    """The image stamps a tracing cell depends on (as `cell_images`)."""
    return runtime_images(TRACING_SWEEP, TRACING_CELL_BY_NAME[wildcards.tcell].runtime)


def earlier_tracing_search(wildcards):
    """The tracing cell searched before this one (ancient(): only the order matters), so
    each runtime's twin is searched right after it."""
    index = TRACING_CELLS.index(wildcards.tcell)
    if index == 0:
        return []
    return [ancient(f"results/tracing/capacity/{TRACING_CELLS[index - 1]}.json")]


def untraced_record(wildcards):
    """The capacity record of a traced cell's twin with tracing off."""
    return f"results/tracing/capacity/{UNTRACED_OF[wildcards.tcell]}.json"


def tracing_cell_settings(wildcards):
    """What shapes one tracing cell's capacity search (as `capacity_cell_settings`)."""
    settings = CapacitySettings.from_config(TRACING_SWEEP.config["capacity"])
    return TRACING_SWEEP.cell_config(TRACING_CELL_BY_NAME[wildcards.tcell]) | {
        "capacity": settings.search_settings()
    }


def tracing_hold_settings(wildcards):
    """What shapes a traced cell's holds: both cells' settings and the section's."""
    cell = TRACING_CELL_BY_NAME[wildcards.tcell]
    twin = TRACING_CELL_BY_NAME[UNTRACED_OF[wildcards.tcell]]
    return {
        "traced": TRACING_SWEEP.cell_config(cell),
        "untraced": TRACING_SWEEP.cell_config(twin),
        "tracing": TRACING_SWEEP.config.get("tracing"),
    }


def cell_settings(wildcards):
    """What shapes one cell; a change here reruns exactly the cells it touches."""
    return SWEEP.cell_config(CELL_BY_NAME[wildcards.cell])


def service_sources(wildcards):
    """Every file that shapes a service's image (its Dockerfile, .dockerignore and the
    build context's files), so the image rebuilds when one changes."""
    return MACHINERY.image_sources(wildcards.service)


def variant_sources(wildcards):
    """Every file that shapes a variant's own image: its service's (`service_sources`)."""
    return MACHINERY.image_sources(VARIANT_IMAGES[wildcards.variant]["service"])


def variant_build(wildcards):
    """What builds a variant's own image: its service, its tag and its build args (a
    change to them rebuilds it, and reruns its cells)."""
    return VARIANT_IMAGES[wildcards.variant]


# Before any image is built or container started: a k6 script that runs, and the
# machinery (on Docker, the pre-flight: what this host can and cannot measure well; on a
# cluster, the cluster and its namespace).
onstart:
    check_k6_script(SWEEP)
    MACHINERY.check_before_sweep()


# The support services go at the end of the sweep, whatever its outcome.
onsuccess:
    MACHINERY.stop_support()


onerror:
    MACHINERY.stop_support()
