"""The Kubernetes backend's control flow against a fake API with the official client's
method names and models (k8s_fakes.py beside this file): placement on a pair's runtime
node, the readiness timeout with events and logs, limits read back and compared, a whole
cell through tierbench.load.cell, teardown on every path (Ctrl-C mid-load included), node
pairs shared by concurrent cells, and the k6-operator path."""

import csv
import json

import pytest
import yaml
from k8s_fakes import NDJSON, FakeCluster

from conftest import STACK
from tierbench.config.sweep import load_sweep
from tierbench.load.backend import BackendError, LimitsNotApplied
from tierbench.load.cell import CellOutputs, run_cell
from tierbench.load.k6 import K6Error
from tierbench.load.kubernetes.backend import KubernetesBackend
from tierbench.load.kubernetes.cluster import ClusterClients
from tierbench.load.kubernetes.pairs import NoFreePair, PairLock
from tierbench.load.lifecycle import placement_for
from tierbench.load.samples import COLUMNS

SERVICES = {
    name: {"image": "tierbench-test/app:latest", "environment": {"PORT": str(port)}}
    for name, port in (("web", 19181), ("web2", 19182), ("support", 19190))
}
PAIRS = [
    {
        "runtime": {"tierbench.io/pair": "a", "tierbench.io/role": "runtime"},
        "load": {"tierbench.io/pair": "a", "tierbench.io/role": "load"},
    },
    {
        "runtime": {"tierbench.io/pair": "b", "tierbench.io/role": "runtime"},
        "load": {"tierbench.io/pair": "b", "tierbench.io/role": "load"},
    },
]


def stack_sweep(**kubernetes):
    config = yaml.safe_load((STACK / "config.yaml").read_text())
    config["backend"] = "kubernetes"
    config["kubernetes"] = {
        "namespace": "bench",
        "node_pairs": PAIRS,
        "sample_interval": 0.02,
        "timeouts": {"schedule": 2, "k6_init": 2, "load_grace": 3, "delete": 1},
    } | kubernetes
    return load_sweep(config, STACK)


@pytest.fixture
def cluster():
    return FakeCluster()


def backend_for(sweep, cluster, tmp_path, said=None):
    clients = ClusterClients(cluster, cluster, cluster, cluster, cluster, cluster)
    say = said.append if said is not None else (lambda message: None)
    return KubernetesBackend(sweep, clients, SERVICES, tmp_path / "pairs", say, poll_s=0.01)


def outputs_in(tmp_path, cell):
    return CellOutputs(
        k6_json=tmp_path / "results" / "k6" / f"{cell}.json",
        k6_summary=tmp_path / "results" / "k6" / f"{cell}.summary.json",
        resources_csv=tmp_path / "results" / "resources" / f"{cell}.csv",
        meta_json=tmp_path / "results" / "meta" / f"{cell}.json",
    )


def test_place_puts_the_runtime_on_the_pairs_runtime_node_under_the_tier(cluster, tmp_path):
    sweep = stack_sweep()
    backend = backend_for(sweep, cluster, tmp_path)
    placement = placement_for(sweep, sweep.cells[0])
    backend.place(placement)
    assert cluster.names("Service") == {"tb-web-xs"} and cluster.names("Pod") == {"tb-web-xs"}
    pod = cluster.objects[("Pod", "tb-web-xs")]
    assert pod["spec"]["nodeName"] == "runtime-a"
    assert pod["spec"]["containers"][0]["resources"]["limits"] == {"cpu": "250m", "memory": "256Mi"}
    assert backend.wait_ready(1) < 1
    check = backend.check_limits()
    assert check.verified, check.problems
    assert check.applied == placement.requested
    assert check.applied.memswap_bytes == check.applied.memory_bytes  # no swap in a pod
    assert check.source == "pod spec resources and status.qosClass"
    assert backend.facts()["cores"] == 4 and backend.facts()["node"] == "runtime-a"
    assert backend.versions()["kubernetes"] == "v1.34.1"
    backend.teardown()
    assert cluster.names("Pod") == set() and cluster.names("Service") == set()
    assert PairLock(tmp_path / "pairs", 2).acquire(0) == 0  # the pair is free again


def test_readiness_timeout_fails_with_the_pods_events_and_last_logs(cluster, tmp_path):
    cluster.ready = False
    sweep = stack_sweep()
    backend = backend_for(sweep, cluster, tmp_path)
    backend.place(placement_for(sweep, sweep.cells[0]))
    with pytest.raises(BackendError) as failure:
        backend.wait_ready(0.1)
    message = str(failure.value)
    assert "not ready within 0.1 s" in message and "GET /healthz on port 19181" in message
    assert "Readiness probe failed: connection refused" in message  # the event
    assert "GET /healthz 503 (warming up)" in message  # the last log lines
    backend.teardown()
    assert not cluster.objects


def test_a_runtime_that_never_gets_ready_fails_the_cell_and_leaves_nothing(cluster, tmp_path):
    cluster.ready = False
    sweep = stack_sweep(timeouts={"schedule": 2, "k6_init": 2, "load_grace": 3, "delete": 1})
    sweep = type(sweep)(**{**sweep.__dict__, "health_timeout_s": 0.1})
    outputs = outputs_in(tmp_path, "web-xs")
    with pytest.raises(BackendError, match="not ready"):
        run_cell(
            sweep, sweep.cells[0], backend_for(sweep, cluster, tmp_path), outputs, tmp_path / "log"
        )
    assert set(cluster.objects) == {
        ("Deployment", "support"),
        ("Service", "support"),
        ("Pod", "support-7d9f"),
    }
    assert not (tmp_path / "results" / "meta" / "web-xs.json").exists()


def test_an_image_that_cannot_be_pulled_fails_at_once_saying_where_images_come_from(
    cluster, tmp_path
):
    cluster.waiting_reason = "ImagePullBackOff"
    sweep = stack_sweep()
    backend = backend_for(sweep, cluster, tmp_path)
    with pytest.raises(BackendError, match="ImagePullBackOff.*image_registry"):
        backend.place(placement_for(sweep, sweep.cells[0]))
    backend.teardown()
    assert not cluster.objects


def test_limits_rewritten_by_the_cluster_are_a_named_mismatch(cluster, tmp_path):
    # A LimitRange (or a webhook) at work: the pod got other limits and no requests.
    cluster.rewrite_resources = {
        "limits": {"cpu": "500m", "memory": "256Mi"},
        "requests": {"cpu": "100m"},
    }
    sweep = stack_sweep()
    backend = backend_for(sweep, cluster, tmp_path)
    backend.place(placement_for(sweep, sweep.cells[0]))
    check = backend.check_limits()
    assert not check.verified
    assert check.applied.cpus == 0.5
    problems = " | ".join(check.problems)
    assert "cpus: requested 0.25, Kubernetes applied 0.5" in problems
    assert "LimitRange" in problems and "kubectl get limitrange -n bench" in problems
    assert "not Guaranteed" in problems and "QoS class Burstable" in problems
    assert check.as_meta()["verified"] is False
    backend.teardown()


def test_a_limit_mismatch_stops_the_cell_before_any_load(cluster, tmp_path):
    cluster.rewrite_resources = {
        "limits": {"cpu": "250m", "memory": "512Mi"},
        "requests": {"cpu": "250m", "memory": "512Mi"},
    }
    sweep = stack_sweep()
    with pytest.raises(LimitsNotApplied) as failure:
        run_cell(
            sweep,
            sweep.cells[0],
            backend_for(sweep, cluster, tmp_path),
            outputs_in(tmp_path, "web-xs"),
            tmp_path / "log",
        )
    assert failure.value.check.problems[0].startswith("memory: requested 268435456 bytes")
    assert not any(kind in ("Job", "ConfigMap") for kind, _ in cluster.created)
    assert ("Pod", "tb-web-xs") not in cluster.objects


def test_a_whole_cell_runs_and_writes_the_results_layout(cluster, tmp_path):
    sweep = stack_sweep()
    said = []
    outputs = outputs_in(tmp_path, "web-xs")
    meta = run_cell(
        sweep,
        sweep.cells[0],
        backend_for(sweep, cluster, tmp_path, said),
        outputs,
        tmp_path / "log",
    ).to_json()
    # k6 in its Job on the load node, paused, resumed by exec, results copied out.
    job_pod = next(
        name for kind, name in cluster.created if kind == "Pod" and name.startswith("tb-web-xs-k6")
    )
    assert cluster.exec_log.index(["k6", "resume"]) > cluster.exec_log.index(["k6", "status"])
    assert outputs.k6_json.read_text() == NDJSON  # decompressed: the layout's plain NDJSON
    assert json.loads(outputs.k6_summary.read_text())["metrics"]["http_reqs"]["count"] == 40
    with open(outputs.resources_csv) as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == COLUMNS
    assert len(rows) >= 2 and all(r["source"] == "kubelet-cadvisor" for r in rows)
    assert rows[-1]["cpu_usage_total_s"] and rows[-1]["nr_periods_total"]
    assert any(r["cpu_cores"] for r in rows) and any(r["k6_cpu_cores"] for r in rows)
    assert meta["backend"] == "kubernetes" and meta["limits"]["verified"] is True
    assert meta["window"]["load_duration_s"] == 2.0  # k6's own: 40 requests at 20/s
    assert meta["window"]["clock"] == "k6 summary: http_reqs count / rate"
    assert meta["contended"] is False and meta["host"]["node"] == "runtime-a"
    # k6 had the load node to itself: its cores, shared with no runtime.
    assert meta["load_side"]["shared_with_runtime"] is False
    assert meta["load_side"]["cores_given"] >= 1
    assert meta["resources"]["memory_peak_kernel_bytes"] == 62914560
    assert meta["image"]["name"] == "tierbench-test/app:latest"
    assert meta["versions"]["k6"].startswith("grafana/k6:")
    assert any("k6 resumed in pod" in line for line in said)
    # Every object of the cell is gone; the support services stay for the next cell.
    left = {kind for kind, _ in cluster.objects}
    assert left == {"Deployment", "Service", "Pod"} and job_pod not in cluster.names("Pod")
    assert cluster.names("Pod") == {"support-7d9f"}
    assert json.loads(outputs.meta_json.read_text())["cell"] == "web-xs"


def test_ctrl_c_during_the_load_deletes_everything_the_cell_created(cluster, tmp_path):
    cluster.interrupt_on = "k6 resume"
    sweep = stack_sweep()
    outputs = outputs_in(tmp_path, "web-xs")
    with pytest.raises(KeyboardInterrupt):
        run_cell(
            sweep, sweep.cells[0], backend_for(sweep, cluster, tmp_path), outputs, tmp_path / "log"
        )
    cell_objects = {(k, n) for k, n in cluster.created if n.startswith("tb-web-xs")}
    assert {k for k, _ in cell_objects} == {"Service", "Pod", "ConfigMap", "Job"}
    assert not cell_objects & set(cluster.objects)
    assert not list((tmp_path / "results").rglob("*.partial")) and not outputs.meta_json.exists()
    assert PairLock(tmp_path / "pairs", 1).acquire(0) == 0


def test_k6_failing_fails_the_cell_with_k6s_message(cluster, tmp_path):
    cluster.k6_exit_code = 107
    sweep = stack_sweep()
    with pytest.raises(K6Error, match="code 107(.|\n)*GoError: boom"):
        run_cell(
            sweep,
            sweep.cells[0],
            backend_for(sweep, cluster, tmp_path),
            outputs_in(tmp_path, "web-xs"),
            tmp_path / "log",
        )
    assert not [n for k, n in cluster.objects if n.startswith("tb-web-xs")]


def test_concurrent_cells_take_different_pairs_and_wait_when_all_are_taken(cluster, tmp_path):
    sweep = stack_sweep()
    first, second = backend_for(sweep, cluster, tmp_path), backend_for(sweep, cluster, tmp_path)
    first.place(placement_for(sweep, sweep.cells[0]))
    second.place(placement_for(sweep, sweep.cells[1]))
    nodes = {cluster.objects[("Pod", n)]["spec"]["nodeName"] for n in ("tb-web-xs", "tb-web2-xs")}
    assert nodes == {"runtime-a", "runtime-b"}
    with pytest.raises(NoFreePair, match="all 2 node pairs"):
        PairLock(tmp_path / "pairs", 2).acquire(timeout_s=0.05, poll_s=0.01)
    first.teardown()
    assert PairLock(tmp_path / "pairs", 2).acquire(timeout_s=0.05) == 0
    second.teardown()


def test_a_leftover_object_from_a_killed_run_is_replaced(cluster, tmp_path):
    sweep = stack_sweep()
    said = []
    backend = backend_for(sweep, cluster, tmp_path, said)
    cluster.create_namespaced_pod(
        "bench",
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "tb-web-xs", "namespace": "bench", "labels": {}},
            "spec": {"containers": [{"name": "old", "image": "old"}]},
        },
    )
    backend.place(placement_for(sweep, sweep.cells[0]))
    assert cluster.objects[("Pod", "tb-web-xs")]["spec"]["containers"][0]["name"] == "runtime"
    assert any("replacing Pod tb-web-xs" in line for line in said)
    backend.teardown()


def test_support_services_start_once_and_stop_at_the_end(cluster, tmp_path):
    sweep = stack_sweep()
    backend = backend_for(sweep, cluster, tmp_path)
    backend.start_support(1)
    backend.start_support(1)  # already running as defined: left alone
    assert cluster.created.count(("Deployment", "support")) == 1
    backend.stop_support()
    assert not cluster.objects


def test_the_k6_operator_path_collects_results_from_the_claim(cluster, tmp_path):
    sweep = stack_sweep(k6_operator=True, k6_results_claim="k6-results")
    outputs = outputs_in(tmp_path, "web-xs")
    meta = run_cell(
        sweep, sweep.cells[0], backend_for(sweep, cluster, tmp_path), outputs, tmp_path / "log"
    ).to_json()
    assert ("TestRun", "tb-web-xs-k6") in cluster.created
    assert ("Pod", "tb-web-xs-results") in cluster.created
    assert ["cat", "/results/tb-web-xs/k6.json.gz"] in cluster.exec_log
    assert ["rm", "-rf", "/results/tb-web-xs"] in cluster.exec_log
    assert outputs.k6_json.read_text() == NDJSON
    assert meta["window"]["load_duration_s"] == 2.0
    assert not [n for k, n in cluster.objects if n.startswith("tb-web-xs")]
