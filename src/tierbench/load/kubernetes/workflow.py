"""What the Snakemake workflow needs of a cluster beyond one cell: the backend of a load
job, the check before any job, and the support services' removal at the end of the
sweep."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tierbench.compose_project import read_compose_project
from tierbench.config.sweep import Sweep
from tierbench.load.kubernetes.backend import KubernetesBackend
from tierbench.load.kubernetes.cluster import check_cluster, connect
from tierbench.load.lifecycle import say

# Per-pair locks of the load jobs on this machine (tierbench.load.kubernetes.pairs).
PAIR_LOCKS = Path(".snakemake") / "tierbench" / "node-pairs"


def kubernetes_backend(
    sweep: Sweep, say: Callable[[str], None] = lambda message: None
) -> KubernetesBackend:
    return KubernetesBackend(
        sweep,
        connect(sweep.kubernetes.context),
        read_compose_project(sweep.compose_file, sweep.project).services,
        PAIR_LOCKS,
        say,
    )


class KubernetesMachinery:
    name = "kubernetes"
    builds_images = False  # a cluster pulls its images from a registry

    def __init__(self, sweep: Sweep):
        self.sweep = sweep

    def backend(self, log: Path, override_dir: Path = Path("results/compose")) -> KubernetesBackend:
        return kubernetes_backend(self.sweep, lambda message: say(log, message))

    def check_before_sweep(self, results_dir: Path = Path("results")) -> None:
        """Stop the run before any job when the cluster or its namespace does not answer."""
        check_cluster(self.sweep.kubernetes.context, self.sweep.kubernetes.namespace)

    def stop_support(self) -> None:
        if self.sweep.support:
            kubernetes_backend(self.sweep).stop_support()

    def image_sources(self, service: str) -> list[str]:
        return []
