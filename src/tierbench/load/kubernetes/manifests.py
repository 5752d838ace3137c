"""Every object a sweep applies to a cluster, as plain dicts: pure functions, config in.

Per sweep: the support services (a Deployment each, and a Service where it has a port, so
runtimes reach it by name). Per cell: the runtime as a Pod with requests = limits = the
tier (Guaranteed QoS) on the cell's runtime node, a headless Service that names it for k6
(DNS straight to the pod's address: no proxy or NAT in the request path), the k6 script
as a ConfigMap, and k6 as a Job on the cell's load node (or a k6-operator TestRun).
The backend applies exactly these; `tierbench k8s manifests` writes them to files.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import yaml

from tierbench.config.kubernetes import KubernetesSettings, NodePair
from tierbench.config.sweep import Cell, ServiceEndpoint, Sweep, duration_seconds
from tierbench.load.k6 import k6_arguments
from tierbench.load.kubernetes.quantities import tier_resources

MANAGED_BY = {"app.kubernetes.io/managed-by": "tierbench"}
COMPONENT = "tierbench.io/component"
CELL = "tierbench.io/cell"
SWEEP = "tierbench.io/sweep"
SPEC_HASH = "tierbench.io/spec-sha256"
RUNTIME_CONTAINER = "runtime"
K6_CONTAINER = "k6"
SCRIPT_DIR = PurePosixPath("/scripts")
RESULTS_DIR = PurePosixPath("/results")
K6_JSON = "k6.json.gz"  # k6 gzips --out json when the name ends in .gz: less to copy back
K6_SUMMARY = "summary.json"
K6_EXIT_CODE = "exit-code"
# A ConfigMap holds at most 1 MiB (etcd's object size limit).
CONFIGMAP_MAX_BYTES = 1024 * 1024
# k6 runs with the Job's arguments; its exit code is kept, and the container stays up
# (as its pod's first process it ignores SIGTERM, so deletion stops it within the grace
# period) until tierbench has copied the results out of the emptyDir and deletes it.
K6_WRAPPER = 'k6 "$@"; echo $? > ' + str(RESULTS_DIR / K6_EXIT_CODE) + "; exec sleep 2147483647"
_NAME = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
RBAC_NAME = "tierbench"


class ManifestError(ValueError):
    """The sweep cannot be written as Kubernetes objects; the message says what to change."""


@dataclass(frozen=True)
class CellObjects:
    """The objects one cell applies, in the order they are created."""

    service: dict
    pod: dict
    script: dict
    load: dict  # a Job, or a TestRun under the k6-operator

    def all(self) -> list[dict]:
        return [self.script, self.service, self.pod, self.load]


def object_name(text: str, prefix: str = "") -> str:
    """A DNS-1035 label (a Service name, hence every name): lowercase, `-`, at most 63
    characters. Names that had to change get a short hash, so two never collide."""
    wanted = f"{prefix}{text}"
    name = re.sub(r"[^a-z0-9-]", "-", wanted.lower()).strip("-")
    if name == wanted and len(name) <= 63 and _NAME.match(name):
        return name
    digest = hashlib.sha256(wanted.encode()).hexdigest()[:8]
    name = name[:54].strip("-") or "x"
    if not name[0].isalpha():
        name = "x" + name[:53]
    return f"{name}-{digest}"


def cell_name(cell: Cell) -> str:
    return object_name(cell.name, "tb-")


def script_name(cell: Cell) -> str:
    return object_name(f"{cell.name}-k6", "tb-")


def _labels(sweep: Sweep, component: str, cell: Cell | None = None) -> dict[str, str]:
    labels = {**MANAGED_BY, SWEEP: sweep.project, COMPONENT: component}
    if cell is not None:
        labels[CELL] = cell_name(cell)
    return labels


def _metadata(name: str, settings: KubernetesSettings, labels: dict[str, str]) -> dict:
    return {"name": name, "namespace": settings.namespace, "labels": labels}


def _env(items: dict[str, str]) -> list[dict[str, str]]:
    return [{"name": key, "value": value} for key, value in sorted(items.items())]


def _grace_seconds(definition: dict) -> int:
    text = definition.get("stop_grace_period")
    return max(1, round(duration_seconds(text))) if text else 10


def _container_basics(
    service: str,
    definition: dict,
    settings: KubernetesSettings,
    name: str,
    overrides: tuple[tuple[str, str], ...] = (),
) -> dict:
    """Image, command and environment of a Compose service, as a container; `overrides`
    (a runtime's own environment, or its variant's) go over the cluster's settings."""
    image = definition.get("image")
    if not image:
        raise ManifestError(
            f"Compose service {service!r} has no `image`: a cluster pulls images by name, so "
            "name one in the Compose file (image: registry/name:tag), build and push it, "
            "or set kubernetes.image_registry to the registry that holds it"
        )
    environment = (
        {
            key: str(value)
            for key, value in (definition.get("environment") or {}).items()
            if value is not None
        }
        | settings.environment_for(service)
        | dict(overrides)
    )
    container: dict = {
        "name": name,
        "image": settings.image(image),
        "imagePullPolicy": settings.image_pull_policy,
    }
    if definition.get("entrypoint"):
        container["command"] = list(definition["entrypoint"])
    if definition.get("command"):
        container["args"] = list(definition["command"])
    if definition.get("working_dir"):
        container["workingDir"] = definition["working_dir"]
    if environment:
        container["env"] = _env(environment)
    return container


def _http_probe(endpoint: ServiceEndpoint) -> dict:
    # Once a second, so the wait for readiness is measured to about a second.
    return {
        "httpGet": {"path": endpoint.health_path, "port": endpoint.port},
        "periodSeconds": 1,
        "timeoutSeconds": 1,
        "successThreshold": 1,
        "failureThreshold": 1,
    }


def runtime_pod(
    sweep: Sweep, cell: Cell, definition: dict, pair: NodePair, settings: KubernetesSettings
) -> dict:
    """The runtime under the tier: requests = limits (Guaranteed QoS), on the pair's
    runtime node, ready when its health path answers."""
    endpoint = sweep.runtimes[cell.runtime]
    container = _container_basics(
        endpoint.service, definition, settings, RUNTIME_CONTAINER, endpoint.environment
    )
    container |= {
        "ports": [{"name": "http", "containerPort": endpoint.port, "protocol": "TCP"}],
        "resources": tier_resources(sweep.tiers[cell.tier].limits),
        "readinessProbe": _http_probe(endpoint),
    }
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": _metadata(cell_name(cell), settings, _labels(sweep, "runtime", cell)),
        "spec": {
            "nodeSelector": dict(pair.runtime),
            # A bare pod, not a Deployment: the pod measured is the pod placed, and no
            # controller replaces it (and resets its counters) in the middle of a load.
            "restartPolicy": "Always",
            # No Docker-link variables of other Services in the environment.
            "enableServiceLinks": False,
            "terminationGracePeriodSeconds": _grace_seconds(definition),
            "containers": [container],
        },
    }


def runtime_service(sweep: Sweep, cell: Cell, settings: KubernetesSettings) -> dict:
    """A headless Service: k6 reaches the runtime by name, and DNS answers with the pod's
    own address, so no kube-proxy NAT sits in the request path."""
    port = sweep.runtimes[cell.runtime].port
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _metadata(cell_name(cell), settings, _labels(sweep, "runtime", cell)),
        "spec": {
            "clusterIP": "None",
            "selector": {CELL: cell_name(cell), COMPONENT: "runtime"},
            "ports": [{"name": "http", "port": port, "targetPort": port, "protocol": "TCP"}],
        },
    }


def runtime_base_url(sweep: Sweep, cell: Cell) -> str:
    """The runtime's address as k6 sees it from its pod in the same namespace."""
    return f"http://{cell_name(cell)}:{sweep.runtimes[cell.runtime].port}"


def script_configmap(sweep: Sweep, cell: Cell, script: str, settings: KubernetesSettings) -> dict:
    size = len(script.encode())
    if size > CONFIGMAP_MAX_BYTES:
        raise ManifestError(
            f"the k6 script {sweep.k6_script} is {size} bytes, more than a ConfigMap holds "
            f"({CONFIGMAP_MAX_BYTES} bytes, 1 MiB): bundle it smaller (drop inlined data, "
            "minify) or serve large test data from a support service"
        )
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _metadata(script_name(cell), settings, _labels(sweep, "load", cell)),
        "data": {sweep.k6_script.name: script},
    }


def k6_run_arguments(sweep: Sweep) -> list[str]:
    """The `k6 run` arguments of a local load (tierbench.load.k6.k6_arguments), with the
    script and results at their paths in the pod."""
    return k6_arguments(
        SCRIPT_DIR / sweep.k6_script.name,
        sweep.stages,
        RESULTS_DIR / K6_JSON,
        RESULTS_DIR / K6_SUMMARY,
    )


def _k6_env(sweep: Sweep, cell: Cell, extra: dict[str, str] | None = None) -> list[dict]:
    return _env(
        {"BASE_URL": runtime_base_url(sweep, cell), "K6_NO_USAGE_REPORT": "true"} | (extra or {})
    )


def load_deadline_s(sweep: Sweep, settings: KubernetesSettings) -> int:
    """How long a load pod may live: init, the profile, the grace, the copy-back."""
    timeouts = settings.timeouts
    return round(
        timeouts.schedule_s + timeouts.k6_init_s + sweep.load_duration_s + 2 * timeouts.load_grace_s
    )


def k6_job(
    sweep: Sweep,
    cell: Cell,
    pair: NodePair,
    settings: KubernetesSettings,
    extra_env: dict[str, str] | None = None,
) -> dict:
    """k6 on the pair's load node, started paused (tierbench resumes it), its results in an
    emptyDir that tierbench copies out before deleting the Job."""
    labels = _labels(sweep, "load", cell)
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": _metadata(script_name(cell), settings, labels),
        "spec": {
            "backoffLimit": 0,
            "activeDeadlineSeconds": load_deadline_s(sweep, settings),
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "nodeSelector": dict(pair.load),
                    "restartPolicy": "Never",
                    "enableServiceLinks": False,
                    "terminationGracePeriodSeconds": 2,
                    "containers": [
                        {
                            "name": K6_CONTAINER,
                            "image": settings.k6_image,
                            "imagePullPolicy": settings.image_pull_policy,
                            "command": ["/bin/sh", "-c", K6_WRAPPER, "k6"],
                            "args": k6_run_arguments(sweep),
                            "env": _k6_env(sweep, cell, extra_env),
                            "volumeMounts": [
                                {"name": "script", "mountPath": str(SCRIPT_DIR), "readOnly": True},
                                {"name": "results", "mountPath": str(RESULTS_DIR)},
                            ],
                        }
                    ],
                    "volumes": [
                        {"name": "script", "configMap": {"name": script_name(cell)}},
                        {"name": "results", "emptyDir": {}},
                    ],
                },
            },
        },
    }


def operator_results_dir(cell: Cell) -> PurePosixPath:
    """Where a TestRun's runner writes one cell's results on the results claim."""
    return RESULTS_DIR / cell_name(cell)


# What the k6-operator adds to `k6 run` itself: the subcommand, --quiet, --paused (its
# starter resumes the runners) and the script path.
_OPERATOR_OWN = {"run", "--quiet", "--paused"}


def k6_testrun(
    sweep: Sweep,
    cell: Cell,
    pair: NodePair,
    settings: KubernetesSettings,
    extra_env: dict[str, str] | None = None,
) -> dict:
    """k6 as a k6-operator TestRun: one runner on the pair's load node, writing its results
    to the results claim (its pod exits with k6, so an emptyDir would be lost)."""
    results = operator_results_dir(cell)
    arguments = k6_arguments(
        SCRIPT_DIR / sweep.k6_script.name, sweep.stages, results / K6_JSON, results / K6_SUMMARY
    )
    arguments = [a for a in arguments[:-1] if a not in _OPERATOR_OWN]
    labels = _labels(sweep, "load", cell)
    return {
        "apiVersion": "k6.io/v1alpha1",
        "kind": "TestRun",
        "metadata": _metadata(script_name(cell), settings, labels),
        "spec": {
            "parallelism": 1,
            "script": {"configMap": {"name": script_name(cell), "file": sweep.k6_script.name}},
            "arguments": " ".join(arguments),
            "runner": {
                "image": settings.k6_image,
                "imagePullPolicy": settings.image_pull_policy,
                "nodeSelector": dict(pair.load),
                "metadata": {"labels": labels},
                "env": _k6_env(sweep, cell, extra_env),
                "volumes": [
                    {
                        "name": "results",
                        "persistentVolumeClaim": {"claimName": settings.k6_results_claim},
                    }
                ],
                "volumeMounts": [{"name": "results", "mountPath": str(RESULTS_DIR)}],
            },
        },
    }


def results_reader_pod(sweep: Sweep, cell: Cell, pair: NodePair, settings: KubernetesSettings):
    """A pod that mounts the results claim on the load node, so tierbench can copy a
    TestRun's results out of it (and remove them)."""
    name = object_name(f"{cell.name}-results", "tb-")
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": _metadata(name, settings, _labels(sweep, "load", cell)),
        "spec": {
            "nodeSelector": dict(pair.load),
            "restartPolicy": "Never",
            "terminationGracePeriodSeconds": 1,
            "containers": [
                {
                    "name": "reader",
                    "image": settings.k6_image,
                    "imagePullPolicy": settings.image_pull_policy,
                    "command": ["/bin/sh", "-c", "exec sleep 2147483647"],
                    "volumeMounts": [{"name": "results", "mountPath": str(RESULTS_DIR)}],
                }
            ],
            "volumes": [
                {
                    "name": "results",
                    "persistentVolumeClaim": {"claimName": settings.k6_results_claim},
                }
            ],
        },
    }


def cell_objects(
    sweep: Sweep,
    cell: Cell,
    definition: dict,
    script: str,
    pair: NodePair,
    settings: KubernetesSettings,
    extra_env: dict[str, str] | None = None,
) -> CellObjects:
    load = (k6_testrun if settings.k6_operator else k6_job)(sweep, cell, pair, settings, extra_env)
    return CellObjects(
        service=runtime_service(sweep, cell, settings),
        pod=runtime_pod(sweep, cell, definition, pair, settings),
        script=script_configmap(sweep, cell, script, settings),
        load=load,
    )


def support_objects(sweep: Sweep, services: dict, settings: KubernetesSettings) -> list[dict]:
    """Each support service as a Deployment (never limited, as under Docker) on the
    support nodes, and a ClusterIP Service named after it where it has a port, so a
    runtime reaches it at http://NAME:PORT."""
    objects = []
    for entry in sweep.support:
        service = entry if isinstance(entry, str) else entry.service
        name = object_name(service)
        labels = _labels(sweep, "support") | {"tierbench.io/service": name}
        container = _container_basics(service, services[service], settings, "service")
        if isinstance(entry, ServiceEndpoint):
            container["ports"] = [{"name": "http", "containerPort": entry.port, "protocol": "TCP"}]
            container["readinessProbe"] = _http_probe(entry)
        objects.append(
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": _metadata(name, settings, labels),
                "spec": {
                    "replicas": 1,
                    "selector": {
                        "matchLabels": {"tierbench.io/service": name, SWEEP: sweep.project}
                    },
                    "template": {
                        "metadata": {"labels": labels},
                        "spec": {
                            "nodeSelector": dict(settings.support_selector),
                            "enableServiceLinks": False,
                            "terminationGracePeriodSeconds": _grace_seconds(services[service]),
                            "containers": [container],
                        },
                    },
                },
            }
        )
        if isinstance(entry, ServiceEndpoint):
            objects.append(
                {
                    "apiVersion": "v1",
                    "kind": "Service",
                    "metadata": _metadata(name, settings, labels),
                    "spec": {
                        "selector": {"tierbench.io/service": name, SWEEP: sweep.project},
                        "ports": [
                            {
                                "name": "http",
                                "port": entry.port,
                                "targetPort": entry.port,
                                "protocol": "TCP",
                            }
                        ],
                    },
                }
            )
    return objects


def rbac_objects(settings: KubernetesSettings) -> list[dict]:
    """What tierbench needs in a cluster, and nothing more: a namespace and a
    ServiceAccount; a Role for the objects it creates, reads and deletes there (exec into
    k6's pod to resume it and copy its results); a ClusterRole to read nodes and their
    kubelet metrics through the API server's proxy (nodes are not namespaced)."""
    namespace = settings.namespace
    subject = [{"kind": "ServiceAccount", "name": RBAC_NAME, "namespace": namespace}]
    manage = ["get", "list", "watch", "create", "delete", "patch", "update"]
    rules = [
        {"apiGroups": [""], "resources": ["pods", "services", "configmaps"], "verbs": manage},
        {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]},
        {"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["get", "create"]},
        {"apiGroups": [""], "resources": ["events"], "verbs": ["get", "list", "watch"]},
        {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": manage},
        {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": manage},
    ]
    if settings.k6_operator:
        rules.append({"apiGroups": ["k6.io"], "resources": ["testruns"], "verbs": manage})
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}},
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": RBAC_NAME, "namespace": namespace, "labels": dict(MANAGED_BY)},
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": {"name": RBAC_NAME, "namespace": namespace, "labels": dict(MANAGED_BY)},
            "rules": rules,
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": RBAC_NAME, "namespace": namespace, "labels": dict(MANAGED_BY)},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "Role",
                "name": RBAC_NAME,
            },
            "subjects": subject,
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": f"{RBAC_NAME}-nodes", "labels": dict(MANAGED_BY)},
            "rules": [
                {"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "list"]},
                {"apiGroups": [""], "resources": ["nodes/proxy"], "verbs": ["get"]},
            ],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": f"{RBAC_NAME}-nodes-{namespace}", "labels": dict(MANAGED_BY)},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": f"{RBAC_NAME}-nodes",
            },
            "subjects": subject,
        },
    ]


def loopback_addresses(objects: list[dict]) -> list[str]:
    """Environment values that point at 127.0.0.1 or localhost: inside a pod these are the
    pod itself, not a support service, and a runtime bound to them is unreachable."""
    found = []
    for item in objects:
        spec = item.get("spec", {})
        pod = spec.get("template", {}).get("spec", spec)
        for container in pod.get("containers", []):
            for variable in container.get("env", []):
                value = variable.get("value", "")
                if "127.0.0.1" in value or "localhost" in value:
                    found.append(
                        f"{item['kind']} {item['metadata']['name']}: {variable['name']}={value}"
                    )
    return found


def pair_for(cell_index: int, settings: KubernetesSettings) -> NodePair:
    """The pair a cell's manifests are written for (the backend takes whichever is free)."""
    return settings.node_pairs[cell_index % len(settings.node_pairs)]


def script_text(sweep: Sweep) -> str:
    return Path(sweep.k6_script).read_text()


def sweep_manifests(sweep: Sweep, services: dict, script: str) -> dict[str, list[dict]]:
    """Every object a sweep applies, by file: rbac.yaml, support.yaml, then one file per
    cell (its ConfigMap, Service, Pod and Job or TestRun, in the order they are created).
    A cell's node pair here is its index modulo the pairs; the backend takes any free one."""
    settings = sweep.kubernetes
    files = {"rbac.yaml": rbac_objects(settings)}
    support = support_objects(sweep, services, settings)
    if support:
        files["support.yaml"] = support
    for index, cell in enumerate(sweep.cells):
        definition = services[sweep.runtimes[cell.runtime].service]
        objects = cell_objects(sweep, cell, definition, script, pair_for(index, settings), settings)
        files[f"{cell.name}.yaml"] = objects.all()
    return files


class _BlockStrings(yaml.SafeDumper):
    """Multi-line strings (the k6 script) as literal blocks, readable as the file was."""

    def ignore_aliases(self, data: object) -> bool:
        return True


_BlockStrings.add_representer(
    str,
    lambda dumper, text: dumper.represent_scalar(
        "tag:yaml.org,2002:str", text, style="|" if "\n" in text else None
    ),
)


def to_yaml(objects: list[dict]) -> str:
    """Objects as one multi-document YAML file, keys in the order written."""
    header = "# Written by `tierbench k8s manifests` (tierbench.load.kubernetes.manifests).\n"
    return header + "".join(
        "---\n" + yaml.dump(item, Dumper=_BlockStrings, sort_keys=False, width=100)
        for item in objects
    )
