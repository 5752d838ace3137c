"""A fake Kubernetes API with the methods the backend calls on the official client's
CoreV1Api, AppsV1Api, BatchV1Api, CustomObjectsApi and VersionApi, and an exec.

Bodies go in as the backend sends them and come back as the client's own models
(`V1Pod.from_dict`, ...), so the backend reads what the real client would hand it. The
cluster behaves like a small one: pods land on the node their nodeSelector names, a Job
makes a pod, a runtime becomes ready unless told not to, k6 initialises, waits paused,
runs once resumed and leaves its results, and kubelets answer with cAdvisor text.
"""

from __future__ import annotations

import gzip
import json
import time
from types import SimpleNamespace

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from tierbench.load.kubernetes.cluster import ExecResult

NODES = {
    "runtime-a": {"tierbench.io/pair": "a", "tierbench.io/role": "runtime"},
    "load-a": {"tierbench.io/pair": "a", "tierbench.io/role": "load"},
    "runtime-b": {"tierbench.io/pair": "b", "tierbench.io/role": "runtime"},
    "load-b": {"tierbench.io/pair": "b", "tierbench.io/role": "load"},
}
NDJSON = (
    '{"type":"Metric","data":{"name":"http_reqs","type":"counter"},"metric":"http_reqs"}\n'
    '{"type":"Point","data":{"time":"2026-11-28T10:00:00.5Z","value":1,"tags":'
    '{"name":"hello","status":"200"}},"metric":"http_reqs"}\n'
)
SUMMARY = {"metrics": {"http_reqs": {"count": 40, "rate": 20.0}}}


def _matches(labels: dict, selector: str | None) -> bool:
    wanted = dict(part.split("=", 1) for part in (selector or "").split(",") if part)
    return all(labels.get(k) == v for k, v in wanted.items())


def _qos(spec: dict) -> str:
    resources = [c.get("resources") or {} for c in spec["containers"]]
    if not any(r.get("limits") or r.get("requests") for r in resources):
        return "BestEffort"
    guaranteed = all(
        r.get("limits")
        and set(r["limits"]) >= {"cpu", "memory"}
        and r.get("requests", r["limits"]) == r["limits"]
        for r in resources
    )
    return "Guaranteed" if guaranteed else "Burstable"


def not_found() -> ApiException:
    return ApiException(status=404, reason="Not Found")


class FakeCluster:
    def __init__(self):
        self.objects: dict[tuple[str, str], dict] = {}
        self.created: list[tuple[str, str]] = []
        self.deleted: list[tuple[str, str]] = []
        self.ready = True  # runtime pods pass their readiness probe
        self.waiting_reason: str | None = None  # e.g. ImagePullBackOff for every pod
        self.rewrite_resources: dict | None = None  # a LimitRange or webhook at work
        self.logs = "listening on 0.0.0.0:19181\nGET /healthz 503 (warming up)"
        self.init_polls = 2  # `k6 status` answers before k6 is paused and ready
        self.run_polls = 2  # exit-code reads before k6's exit code is there
        self.k6_exit_code = 0
        self.interrupt_on: str | None = None  # an exec command that gets Ctrl-C
        self.resumed = False
        self.exec_log: list[list[str]] = []
        self.testrun_stages = ["initialization", "created", "started", "started", "finished"]
        self.results: dict[str, bytes] = {}

    # --- bookkeeping ----------------------------------------------------------------------

    def _create(self, kind: str, body: dict) -> dict:
        name = body["metadata"]["name"]
        if (kind, name) in self.objects:
            raise ApiException(status=409, reason="AlreadyExists")
        body = json.loads(json.dumps(body))
        self.objects[(kind, name)] = body
        self.created.append((kind, name))
        return body

    def _get(self, kind: str, name: str) -> dict:
        try:
            return self.objects[(kind, name)]
        except KeyError:
            raise not_found() from None

    def _delete(self, kind: str, name: str) -> None:
        if (kind, name) not in self.objects:
            raise not_found()
        del self.objects[(kind, name)]
        self.deleted.append((kind, name))
        # Background propagation: a Job's or TestRun's pods go with it.
        for (other_kind, other), body in list(self.objects.items()):
            if other_kind == "Pod" and tuple(body["metadata"].get("owner") or ()) == (kind, name):
                del self.objects[("Pod", other)]
                self.deleted.append(("Pod", other))

    def names(self, kind: str) -> set[str]:
        return {name for k, name in self.objects if k == kind}

    def _schedule(self, spec: dict) -> str:
        wanted = spec.get("nodeSelector") or {}
        return next(
            n for n, labels in NODES.items() if all(labels.get(k) == v for k, v in wanted.items())
        )

    def _add_pod(self, body: dict, owner: tuple[str, str] | None = None) -> dict:
        body = json.loads(json.dumps(body))
        body["spec"]["nodeName"] = self._schedule(body["spec"])
        body["metadata"]["owner"] = owner
        return self._create("Pod", body)

    # --- CoreV1Api ------------------------------------------------------------------------

    def create_namespaced_pod(self, namespace, body):
        client.V1Pod.from_dict(body)  # the real client would refuse what its model cannot hold
        body = json.loads(json.dumps(body))
        if self.rewrite_resources is not None:
            body["spec"]["containers"][0]["resources"] = self.rewrite_resources
        return self._add_pod(body)

    def read_namespaced_pod(self, name, namespace):
        body = self._get("Pod", name)
        spec = body["spec"]
        runtime = body["metadata"]["labels"].get("tierbench.io/component") == "runtime"
        ready = self.ready if runtime else True
        state = (
            {"waiting": {"reason": self.waiting_reason, "message": "pull access denied"}}
            if self.waiting_reason
            else {"running": {"startedAt": "2026-11-28T10:00:00Z"}}
        )
        owner = body["metadata"].get("owner")
        if owner and owner[0] == "TestRun" and "finished" in self.results:
            state = {"terminated": {"exitCode": self.k6_exit_code, "reason": "Completed"}}
        pod = {k: v for k, v in body.items()}
        pod["metadata"] = {k: v for k, v in body["metadata"].items() if k != "owner"}
        pod["status"] = {
            "phase": "Pending" if self.waiting_reason else "Running",
            "qosClass": _qos(spec),
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
            "containerStatuses": [
                {
                    "name": c["name"],
                    "ready": ready,
                    "restartCount": 0,
                    "image": c["image"],
                    "imageID": f"docker.io/{c['image']}@sha256:0123",
                    "state": state,
                }
                for c in spec["containers"]
            ],
        }
        return client.V1Pod.from_dict(pod)

    def list_namespaced_pod(self, namespace, label_selector=None):
        pods = [
            self.read_namespaced_pod(name, namespace)
            for (kind, name), body in self.objects.items()
            if kind == "Pod" and _matches(body["metadata"]["labels"], label_selector)
        ]
        return client.V1PodList(items=pods)

    def delete_namespaced_pod(self, name, namespace, **options):
        self._delete("Pod", name)

    def create_namespaced_service(self, namespace, body):
        client.V1Service.from_dict(body)
        return self._create("Service", body)

    def read_namespaced_service(self, name, namespace):
        return client.V1Service.from_dict(self._get("Service", name))

    def delete_namespaced_service(self, name, namespace, **options):
        self._delete("Service", name)

    def list_namespaced_service(self, namespace, label_selector=None):
        return client.V1ServiceList(
            items=[
                client.V1Service.from_dict(body)
                for (kind, _), body in self.objects.items()
                if kind == "Service" and _matches(body["metadata"]["labels"], label_selector)
            ]
        )

    def create_namespaced_config_map(self, namespace, body):
        client.V1ConfigMap.from_dict(body)
        return self._create("ConfigMap", body)

    def read_namespaced_config_map(self, name, namespace):
        return client.V1ConfigMap.from_dict(self._get("ConfigMap", name))

    def delete_namespaced_config_map(self, name, namespace, **options):
        self._delete("ConfigMap", name)

    def list_namespaced_event(self, namespace, field_selector=None):
        pod = (field_selector or "").split("=", 1)[-1]
        return client.CoreV1EventList(
            items=[
                client.CoreV1Event.from_dict(
                    {
                        "metadata": {"name": f"{pod}.1"},
                        "involvedObject": {"kind": "Pod", "name": pod},
                        "type": "Warning",
                        "reason": "Unhealthy",
                        "message": "Readiness probe failed: connection refused",
                    }
                )
            ]
        )

    def read_namespaced_pod_log(self, name, namespace, container=None, tail_lines=None):
        self._get("Pod", name)
        if container == "k6":
            return 'time="..." level=error msg="GoError: boom"\n' if self.k6_exit_code else ""
        return self.logs

    def read_node(self, name):
        return client.V1Node.from_dict(
            {
                "metadata": {"name": name, "labels": NODES[name]},
                "status": {
                    "capacity": {"cpu": "4", "memory": "16Gi"},
                    "nodeInfo": {
                        "kernelVersion": "6.1.0",
                        "osImage": "Debian GNU/Linux 12",
                        "architecture": "amd64",
                        "kubeletVersion": "v1.34.1",
                        "containerRuntimeVersion": "containerd://2.1.4",
                        "bootID": "b",
                        "machineID": "m",
                        "systemUUID": "s",
                        "kubeProxyVersion": "",
                        "operatingSystem": "linux",
                    },
                },
            }
        )

    def connect_get_node_proxy_with_path(self, name, path):
        """cAdvisor text for the containers of the pods on node `name`, stamped now."""
        now_ms = int(time.time() * 1000)
        lines = []
        for (kind, pod), body in self.objects.items():
            if kind != "Pod" or body["spec"]["nodeName"] != name:
                continue
            for container in body["spec"]["containers"]:
                labels = (
                    f'container="{container["name"]}",id="/kubepods/{pod}",'
                    f'namespace="{body["metadata"]["namespace"]}",pod="{pod}"'
                )
                seconds = now_ms / 1000 - 1_700_000_000
                values = {
                    "container_cpu_usage_seconds_total": 0.2 * seconds,
                    "container_cpu_cfs_periods_total": int(10 * seconds),
                    "container_cpu_cfs_throttled_periods_total": int(2 * seconds),
                    "container_cpu_cfs_throttled_seconds_total": 0.01 * seconds,
                    "container_memory_working_set_bytes": 52428800,
                    "container_memory_max_usage_bytes": 62914560,
                    "container_oom_events_total": 0,
                }
                lines += [
                    f"{metric}{{{labels}}} {value} {now_ms}" for metric, value in values.items()
                ]
        return "# HELP container_cpu_usage_seconds_total Cumulative cpu time\n" + "\n".join(lines)

    # --- AppsV1Api ------------------------------------------------------------------------

    def create_namespaced_deployment(self, namespace, body):
        client.V1Deployment.from_dict(body)
        created = self._create("Deployment", body)
        template = created["spec"]["template"]
        self._add_pod(
            {
                "metadata": {
                    "name": f"{body['metadata']['name']}-7d9f",
                    "namespace": namespace,
                    "labels": template["metadata"]["labels"],
                },
                "spec": template["spec"],
            },
            owner=("Deployment", body["metadata"]["name"]),
        )
        return created

    def read_namespaced_deployment(self, name, namespace):
        body = dict(self._get("Deployment", name))
        body["status"] = {"replicas": 1, "readyReplicas": 1}
        return client.V1Deployment.from_dict(body)

    def delete_namespaced_deployment(self, name, namespace, **options):
        self._delete("Deployment", name)

    def list_namespaced_deployment(self, namespace, label_selector=None):
        return client.V1DeploymentList(
            items=[
                client.V1Deployment.from_dict(body)
                for (kind, _), body in self.objects.items()
                if kind == "Deployment" and _matches(body["metadata"]["labels"], label_selector)
            ]
        )

    # --- BatchV1Api -----------------------------------------------------------------------

    def create_namespaced_job(self, namespace, body):
        client.V1Job.from_dict(body)
        created = self._create("Job", body)
        template = created["spec"]["template"]
        self._add_pod(
            {
                "metadata": {
                    "name": f"{body['metadata']['name']}-x7k2p",
                    "namespace": namespace,
                    "labels": template["metadata"]["labels"],
                },
                "spec": template["spec"],
            },
            owner=("Job", body["metadata"]["name"]),
        )
        return created

    def read_namespaced_job(self, name, namespace):
        return client.V1Job.from_dict(self._get("Job", name))

    def delete_namespaced_job(self, name, namespace, **options):
        self._delete("Job", name)

    # --- CustomObjectsApi (the k6-operator's TestRun) --------------------------------------

    def create_namespaced_custom_object(self, group, version, namespace, plural, body):
        assert (group, version, plural) == ("k6.io", "v1alpha1", "testruns")
        created = self._create("TestRun", body)
        runner = created["spec"]["runner"]
        self._add_pod(
            {
                "metadata": {
                    "name": f"{body['metadata']['name']}-1-abcde",
                    "namespace": namespace,
                    "labels": runner["metadata"]["labels"],
                },
                "spec": {
                    "nodeSelector": runner["nodeSelector"],
                    "containers": [{"name": "k6", "image": runner["image"]}],
                },
            },
            owner=("TestRun", body["metadata"]["name"]),
        )
        return created

    def get_namespaced_custom_object(self, group, version, namespace, plural, name):
        body = dict(self._get("TestRun", name))
        stage = (
            self.testrun_stages.pop(0) if len(self.testrun_stages) > 1 else self.testrun_stages[0]
        )
        if stage == "finished":
            self.results["finished"] = b"1"
        return body | {"status": {"stage": stage}}

    def delete_namespaced_custom_object(self, group, version, namespace, plural, name, **options):
        self._delete("TestRun", name)

    # --- VersionApi -----------------------------------------------------------------------

    def get_code(self, **options):
        return SimpleNamespace(git_version="v1.34.1")

    # --- exec -----------------------------------------------------------------------------

    def run(self, namespace, pod, container, command, timeout_s=60.0, sink=None):
        self._get("Pod", pod)
        self.exec_log.append(list(command))
        if self.interrupt_on and command[:2] == self.interrupt_on.split():
            raise KeyboardInterrupt
        if command == ["k6", "status"]:
            self.init_polls -= 1
            return ExecResult(0, f"status: {4 if self.init_polls <= 0 else 1}\n".encode(), "")
        if command == ["k6", "resume"]:
            self.resumed = True
            return ExecResult(0, b'status: 4\npaused: "false"\n', "")
        if command[0] == "cat" and command[1].endswith("exit-code"):
            if not self.resumed:
                return ExecResult(1, b"", "cat: can't open: No such file or directory")
            self.run_polls -= 1
            if self.run_polls > 0:
                return ExecResult(1, b"", "cat: can't open: No such file or directory")
            return ExecResult(0, f"{self.k6_exit_code}\n".encode(), "")
        if command[0] == "cat" and command[1].endswith("k6.json.gz"):
            data = gzip.compress(NDJSON.encode())
            sink.write(data[:10])
            sink.write(data[10:])
            return ExecResult(0, b"", "")
        if command[0] == "cat" and command[1].endswith("summary.json"):
            return ExecResult(0, json.dumps(SUMMARY).encode(), "")
        if command[0] == "rm":
            return ExecResult(0, b"", "")
        return ExecResult(127, b"", f"{command[0]}: not found")
