"""What the Snakemake workflow needs of one host's Docker engine beyond one cell: the
backend of a load job, the pre-flight before any job, the images' build inputs, and the
support services' removal at the end of the sweep."""

from __future__ import annotations

from pathlib import Path

from tierbench.config.sweep import Sweep
from tierbench.load.docker.backend import DockerBackend
from tierbench.load.docker.build_context import build_context_files
from tierbench.load.docker.engine import stop_support_services
from tierbench.load.docker.preflight import gather_host_facts
from tierbench.preflight.run import before_sweep


class DockerMachinery:
    name = "docker"
    builds_images = True

    def __init__(self, sweep: Sweep):
        self.sweep = sweep

    def backend(self, log: Path, override_dir: Path = Path("results/compose")) -> DockerBackend:
        return DockerBackend(self.sweep, override_dir=override_dir)

    def check_before_sweep(self, results_dir: Path = Path("results")) -> None:
        """The pre-flight: what this host can and cannot measure well (a FAIL stops the
        run, the lines go to results/preflight.json and the cells' metas repeat its
        warnings)."""
        before_sweep(self.sweep, gather_host_facts, results_dir)

    def stop_support(self) -> None:
        stop_support_services(self.sweep)

    def image_sources(self, service: str) -> list[str]:
        return build_context_files(self.sweep.compose_file, self.sweep.project, service)
