"""What the Snakemake workflow needs of a cluster: the backend of a load job, the check
before any job, and the support services' removal at the end of the sweep."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tierbench.config.sweep import Sweep
from tierbench.load.docker.compose import compose_config
from tierbench.load.kubernetes.backend import KubernetesBackend
from tierbench.load.kubernetes.cluster import check_cluster, connect

# Per-pair locks of the load jobs on this machine (tierbench.load.kubernetes.pairs).
PAIR_LOCKS = Path(".snakemake") / "tierbench" / "node-pairs"


def compose_services(sweep: Sweep) -> dict[str, dict]:
    """The Compose services as Compose resolves them (no engine needed)."""
    return compose_config(sweep.compose_file, sweep.project)["services"]


def kubernetes_backend(
    sweep: Sweep, say: Callable[[str], None] = lambda message: None
) -> KubernetesBackend:
    return KubernetesBackend(
        sweep, connect(sweep.kubernetes.context), compose_services(sweep), PAIR_LOCKS, say
    )


def check_kubernetes(sweep: Sweep) -> None:
    """Stop the run before any job when the cluster or its namespace does not answer."""
    check_cluster(sweep.kubernetes.context, sweep.kubernetes.namespace)


def stop_kubernetes_support(sweep: Sweep) -> None:
    if sweep.support:
        kubernetes_backend(sweep).stop_support()
