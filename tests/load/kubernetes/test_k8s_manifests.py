"""Every manifest the Kubernetes backend can produce, for every default tier and the
reference stack (and the test stack), validates offline against the current Kubernetes
schema, in strict mode (no unknown keys); quantities, which the schema does not check
(resources.limits is a free map), are checked here to be exact and Guaranteed."""

import copy
import os
from importlib.metadata import version

import kubernetes_validate
import pytest
import yaml
from kubernetes_validate.utils import latest_version

from conftest import REPO, STACK
from tierbench.commands.cli import main
from tierbench.compose_project import read_compose_project
from tierbench.config.kubernetes import KubernetesSettings
from tierbench.config.sweep import ConfigError, load_sweep
from tierbench.load.k6 import k6_arguments
from tierbench.load.kubernetes.manifests import (
    CONFIGMAP_MAX_BYTES,
    ManifestError,
    cell_objects,
    loopback_addresses,
    object_name,
    rbac_objects,
    results_reader_pod,
    script_configmap,
    sweep_manifests,
    to_yaml,
)
from tierbench.load.kubernetes.quantities import parse_cpu, parse_memory_quantity

KUBERNETES_VERSION = latest_version()


def reference_config(**kubernetes) -> dict:
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    config["backend"] = "kubernetes"
    config["kubernetes"] = config.get("kubernetes", {}) | kubernetes
    return config


def manifests_of(config: dict, base_dir=REPO) -> dict[str, list[dict]]:
    cwd = os.getcwd()
    os.chdir(base_dir)  # Compose resolves build contexts relative to where it runs
    try:
        sweep = load_sweep(config)
        services = read_compose_project(sweep.compose_file, sweep.project).services
        return sweep_manifests(sweep, services, sweep.k6_script.read_text())
    finally:
        os.chdir(cwd)


def every_object(files: dict[str, list[dict]]) -> list[dict]:
    return [item for objects in files.values() for item in objects]


def validate(item: dict) -> None:
    kubernetes_validate.validate(item, KUBERNETES_VERSION, strict=True)


def pod_specs(item: dict) -> list[dict]:
    spec = item.get("spec", {})
    return (
        [spec["template"]["spec"]] if "template" in spec else [spec] if "containers" in spec else []
    )


def test_every_manifest_of_the_reference_stack_validates_for_every_default_tier():
    files = manifests_of(reference_config())
    tiers = yaml.safe_load((REPO / "config" / "config.yaml").read_text())["tiers"]
    cells = {f"{runtime}-{tier}.yaml" for runtime in ("ts", "python") for tier in tiers}
    assert cells | {"rbac.yaml", "support.yaml"} == set(files)
    kinds = {item["kind"] for item in every_object(files)}
    assert kinds == {
        "Namespace",
        "ServiceAccount",
        "Role",
        "RoleBinding",
        "ClusterRole",
        "ClusterRoleBinding",
        "Deployment",
        "Service",
        "ConfigMap",
        "Pod",
        "Job",
    }
    for item in every_object(files):
        validate(item)


def test_the_test_stacks_manifests_validate_too():
    config = yaml.safe_load((STACK / "config.yaml").read_text()) | {"backend": "kubernetes"}
    for item in every_object(manifests_of(config, STACK)):
        validate(item)


def test_a_broken_manifest_is_caught_by_the_validator():
    pod = copy.deepcopy(manifests_of(reference_config())["ts-xs.yaml"][2])
    pod["spec"]["containers"][0]["readinessProbe"]["httpGet"]["portt"] = 1
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(pod)


@pytest.mark.parametrize(
    ("tier", "cpu", "memory"),
    [("xs", "250m", "256Mi"), ("s", "500m", "512Mi"), ("m", "1000m", "1Gi"), ("l", "2000m", "2Gi")],
)
def test_runtime_pods_are_guaranteed_with_the_tiers_exact_quantities(tier, cpu, memory):
    for runtime in ("ts", "python"):
        pod = next(
            o
            for o in manifests_of(reference_config())[f"{runtime}-{tier}.yaml"]
            if o["kind"] == "Pod"
        )
        resources = pod["spec"]["containers"][0]["resources"]
        assert resources == {
            "requests": {"cpu": cpu, "memory": memory},
            "limits": {"cpu": cpu, "memory": memory},
        }


def test_every_quantity_in_every_manifest_is_exact():
    for item in every_object(manifests_of(reference_config())):
        for spec in pod_specs(item):
            for container in spec["containers"]:
                for values in container.get("resources", {}).values():
                    parse_cpu(values["cpu"])
                    parse_memory_quantity(values["memory"])


def test_runtime_pod_is_placed_on_the_runtime_node_and_probed_on_its_health_path():
    pod = manifests_of(reference_config())["python-m.yaml"][2]
    assert pod["spec"]["nodeSelector"] == {"tierbench.io/role": "runtime"}
    container = pod["spec"]["containers"][0]
    assert container["image"] == "tierbench/agent-python:latest"
    assert container["readinessProbe"]["httpGet"] == {"path": "/healthz", "port": 8082}
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["HOST"] == "0.0.0.0"  # the config's override
    assert env["LLM_BASE_URL"] == "http://mock-llm:8090/v1"
    assert env["SESSION_MAX"] == "10000"  # the Compose file's own


def test_the_registry_prefix_rewrites_every_service_image_but_not_k6s():
    files = manifests_of(reference_config(image_registry="registry.example.com/team/"))
    images = {
        c["image"]
        for item in every_object(files)
        for spec in pod_specs(item)
        for c in spec["containers"]
    }
    assert images == {
        "registry.example.com/team/tierbench/agent-ts:latest",
        "registry.example.com/team/tierbench/agent-python:latest",
        "registry.example.com/team/tierbench/mock-llm:latest",
        f"grafana/k6:{version('k6')}",
    }


def test_k6_job_runs_the_same_arguments_as_a_local_load_on_the_load_node():
    config = reference_config()
    job = manifests_of(config)["ts-xs.yaml"][3]
    spec = job["spec"]["template"]["spec"]
    assert spec["nodeSelector"] == {"tierbench.io/role": "load"}
    container = spec["containers"][0]
    assert container["image"] == f"grafana/k6:{version('k6')}"
    stages = config["profiles"][config["profile"]]["stages"]
    assert container["args"] == k6_arguments(
        "/scripts/agent-flow.js", stages, "/results/k6.json.gz", "/results/summary.json"
    )
    assert "--paused" in container["args"]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["BASE_URL"] == "http://tb-ts-xs:8081"


def test_k6_image_defaults_to_the_pinned_k6_version():
    pins = (REPO / "pyproject.toml").read_text()
    assert f'"k6=={version("k6")}"' in pins
    assert KubernetesSettings().k6_image == f"grafana/k6:{version('k6')}"


def test_the_headless_service_names_the_runtime_without_a_proxy():
    service = manifests_of(reference_config())["ts-xs.yaml"][1]
    assert service["spec"]["clusterIP"] == "None"
    assert service["metadata"]["name"] == "tb-ts-xs"


def test_support_services_are_a_deployment_and_a_service_named_after_them():
    support = manifests_of(reference_config())["support.yaml"]
    assert [(o["kind"], o["metadata"]["name"]) for o in support] == [
        ("Deployment", "mock-llm"),
        ("Service", "mock-llm"),
    ]
    container = support[0]["spec"]["template"]["spec"]["containers"][0]
    assert "resources" not in container  # never limited, as under Docker
    assert support[1]["spec"]["ports"][0]["port"] == 8090


def test_loopback_addresses_left_in_the_environment_are_named():
    config = reference_config()
    assert loopback_addresses(every_object(manifests_of(config))) == []
    config["kubernetes"]["environment"] = {}
    found = loopback_addresses(every_object(manifests_of(config)))
    assert any("LLM_BASE_URL=http://127.0.0.1:8090/v1" in line for line in found)
    assert any("HOST=127.0.0.1" in line for line in found)


def test_a_script_larger_than_a_configmap_holds_is_refused_plainly(tmp_path):
    sweep = load_sweep(reference_config(), REPO)
    with pytest.raises(ManifestError, match="more than a ConfigMap holds"):
        script_configmap(sweep, sweep.cells[0], "x" * (CONFIGMAP_MAX_BYTES + 1), sweep.kubernetes)
    script_configmap(sweep, sweep.cells[0], "x" * CONFIGMAP_MAX_BYTES, sweep.kubernetes)


def test_a_service_without_an_image_is_refused_with_what_to_do():
    sweep = load_sweep(reference_config(), REPO)
    with pytest.raises(ManifestError, match="has no `image`"):
        cell_objects(
            sweep,
            sweep.cells[0],
            {"environment": {}},
            "",
            sweep.kubernetes.node_pairs[0],
            sweep.kubernetes,
        )


@pytest.mark.parametrize("text", ["web_2", "Web", "a" * 80, "9lives", "python-xs-r2"])
def test_object_names_are_valid_and_distinct(text):
    name = object_name(text, "tb-")
    assert len(name) <= 63
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": {}}
    validate(service)
    assert object_name("web_2") != object_name("web-2")


def test_the_k6_operator_testrun_carries_the_script_arguments_and_runner():
    config = reference_config(k6_operator=True, k6_results_claim="k6-results")
    files = manifests_of(config)
    testrun = files["ts-xs.yaml"][3]
    assert testrun["apiVersion"] == "k6.io/v1alpha1" and testrun["kind"] == "TestRun"
    spec = testrun["spec"]
    assert spec["parallelism"] == 1
    assert spec["script"] == {"configMap": {"name": "tb-ts-xs-k6", "file": "agent-flow.js"}}
    arguments = spec["arguments"].split()
    # The operator adds `k6 run`, --quiet, --paused and the script path itself.
    assert not {"run", "--quiet", "--paused", "/scripts/agent-flow.js"} & set(arguments)
    assert "--stage" in arguments and "json=/results/tb-ts-xs/k6.json.gz" in arguments
    runner = spec["runner"]
    assert runner["nodeSelector"] == {"tierbench.io/role": "load"}
    # The runner's pod parts are Kubernetes types: check them inside a Pod.
    validate(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "runner", "labels": runner["metadata"]["labels"]},
            "spec": {
                "nodeSelector": runner["nodeSelector"],
                "volumes": runner["volumes"],
                "containers": [
                    {
                        "name": "k6",
                        "image": runner["image"],
                        "imagePullPolicy": runner["imagePullPolicy"],
                        "env": runner["env"],
                        "volumeMounts": runner["volumeMounts"],
                    }
                ],
            },
        }
    )
    assert {item["kind"] for item in every_object(files)} >= {"TestRun"}
    rules = next(o for o in files["rbac.yaml"] if o["kind"] == "Role")["rules"]
    assert {"apiGroups": ["k6.io"], "resources": ["testruns"], "verbs": rules[0]["verbs"]} in rules
    sweep = load_sweep(config, REPO)
    validate(
        results_reader_pod(sweep, sweep.cells[0], sweep.kubernetes.node_pairs[0], sweep.kubernetes)
    )


def test_the_operator_needs_a_results_claim():
    with pytest.raises(ConfigError, match="k6_results_claim"):
        load_sweep(reference_config(k6_operator=True), REPO)


def test_the_shipped_rbac_manifest_is_what_the_code_generates():
    shipped = (REPO / "deploy" / "kubernetes" / "rbac.yaml").read_text()
    assert shipped == to_yaml(rbac_objects(KubernetesSettings()))
    for item in yaml.safe_load_all(shipped):
        if item:
            validate(item)


def test_the_command_writes_one_file_per_cell_without_a_cluster(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(REPO)
    assert main(["k8s", "manifests", "--out", str(tmp_path)]) == 0
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == sorted(manifests_of(reference_config()))
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporaries
    documents = [d for d in yaml.safe_load_all((tmp_path / "ts-xs.yaml").read_text()) if d]
    assert [d["kind"] for d in documents] == ["ConfigMap", "Service", "Pod", "Job"]
    assert documents[0]["data"]["agent-flow.js"] == (REPO / "k6" / "agent-flow.js").read_text()
    assert "wrote 40 objects in 10 files" in capsys.readouterr().out


def test_the_command_names_a_bad_config_file(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(REPO)
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(reference_config(namespace="Not_Valid")))
    assert main(["k8s", "manifests", "--configfile", str(bad), "--out", str(tmp_path / "o")]) == 2
    assert "kubernetes.namespace" in capsys.readouterr().err
