"""The machinery a sweep runs on, named in this one place: one host's Docker engine
(`tierbench.load.docker`) or a Kubernetes cluster (`tierbench.load.kubernetes`). The
workflow, the command line and the procedures ask it what they need; each machinery's
modules are imported only when chosen, so a Docker sweep never needs the Kubernetes
client, and nothing above this seam imports either."""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from tierbench.config.sweep import Sweep
from tierbench.load.backend import Backend
from tierbench.preflight.facts import HostFacts


class Machinery(Protocol):
    """What a sweep needs of its machinery beyond one cell's `Backend`."""

    name: str
    builds_images: bool  # whether the workflow builds the services' images here

    def backend(self, log: Path, override_dir: Path = Path("results/compose")) -> Backend:
        """The backend one job's cell runs on."""

    def check_before_sweep(self, results_dir: Path = Path("results")) -> None:
        """Stop the run before any job when the machinery cannot measure (exits 1)."""

    def stop_support(self) -> None:
        """Remove the support services at the end of the sweep, whatever its outcome."""

    def image_sources(self, service: str) -> list[str]:
        """Every file that shapes a service's image, so it rebuilds when one changes."""


def machinery_for(sweep: Sweep) -> Machinery:
    if sweep.backend == "kubernetes":
        from tierbench.load.kubernetes.workflow import KubernetesMachinery

        return KubernetesMachinery(sweep)
    from tierbench.load.docker.workflow import DockerMachinery

    return DockerMachinery(sweep)


def backend_for(sweep: Sweep, log: Path, override_dir: Path = Path("results/compose")) -> Backend:
    return machinery_for(sweep).backend(log, override_dir)


def preflight_gatherer() -> Callable[[Path], HostFacts]:
    """How `tierbench doctor` gathers the facts of this host: its Docker engine's (the
    pre-flight judges the host a sweep starts from)."""
    from tierbench.load.docker.preflight import gather_host_facts

    return gather_host_facts


def interrupt_on_sigterm() -> None:
    """Snakemake ends jobs with SIGTERM: turn it into the same clean-up path as Ctrl-C
    (KeyboardInterrupt), so the runtime and every partial file go on every path."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, interrupt)
