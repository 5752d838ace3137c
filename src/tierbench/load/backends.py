"""The backend a sweep's config names, built for one job. Each machinery's module is
imported only when chosen, so a Docker sweep never needs the Kubernetes client."""

from __future__ import annotations

import signal
from pathlib import Path

from tierbench.config.sweep import Sweep
from tierbench.load.backend import Backend
from tierbench.load.lifecycle import say


def backend_for(sweep: Sweep, log: Path, override_dir: Path = Path("results/compose")) -> Backend:
    if sweep.backend == "kubernetes":
        from tierbench.load.kubernetes.workflow import kubernetes_backend

        return kubernetes_backend(sweep, lambda message: say(log, message))
    from tierbench.load.docker.backend import DockerBackend

    return DockerBackend(sweep, override_dir=override_dir)


def interrupt_on_sigterm() -> None:
    """Snakemake ends jobs with SIGTERM: turn it into the same clean-up path as Ctrl-C
    (KeyboardInterrupt), so the runtime and every partial file go on every path."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, interrupt)
