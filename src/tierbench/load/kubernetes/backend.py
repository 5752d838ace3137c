"""The load stage on a Kubernetes cluster, behind tierbench.load.backend.Backend.

Per cell: take a free node pair, create the runtime's headless Service and Pod (requests
= limits = the tier) on the pair's runtime node, wait until its readiness probe passes,
read its resources and QoS class back, run k6 as a Job on the pair's load node (started
paused, resumed by `k6 resume` exec'd in its pod, as tierbench resumes a local k6), copy
k6's results out of the pod, sample the kubelets meanwhile, and delete every object the
cell created on every path. The support services run once per sweep.
"""

from __future__ import annotations

import hashlib
import json
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from tierbench.config.limits import LimitSet, limit_differences
from tierbench.config.sweep import Sweep
from tierbench.load.backend import (
    Backend,
    BackendError,
    LimitCheck,
    LoadRequest,
    Placement,
    RuntimeState,
)
from tierbench.load.k6 import (
    EXIT_OK,
    EXIT_THRESHOLDS_FAILED,
    PAUSED_BEFORE_RUN,
    K6Error,
    K6Run,
    finished_run,
    k6_error_lines,
)
from tierbench.load.kubernetes.cluster import CONFLICT, NOT_FOUND, ClusterClients, api_status
from tierbench.load.kubernetes.manifests import (
    CELL,
    COMPONENT,
    K6_CONTAINER,
    K6_EXIT_CODE,
    K6_JSON,
    K6_SUMMARY,
    RESULTS_DIR,
    RUNTIME_CONTAINER,
    SPEC_HASH,
    SWEEP,
    CellObjects,
    cell_name,
    cell_objects,
    k6_job,
    k6_testrun,
    loopback_addresses,
    operator_results_dir,
    results_reader_pod,
    support_objects,
)
from tierbench.load.kubernetes.pairs import PairLock
from tierbench.load.kubernetes.quantities import (
    QuantityError,
    parse_cpu,
    parse_memory_quantity,
    parse_quantity,
)
from tierbench.load.kubernetes.sampler import KubeletSampler, runtime_restarts_and_ooms

# Where a limit that differs most likely came from, and what to do about it.
LIMIT_HINTS = {
    "cpus": "a LimitRange or an admission webhook in the namespace may rewrite pod resources "
    "(kubectl get limitrange -n NAMESPACE)",
    "memory": "a LimitRange or an admission webhook in the namespace may rewrite pod resources "
    "(kubectl get limitrange -n NAMESPACE)",
    "memswap": "a pod without a memory limit has no swap limit either",
    "cpuset": "Kubernetes places no pod on CPU ids of tierbench's choosing (with the kubelet's "
    "static CPU manager policy a Guaranteed pod with whole CPUs gets exclusive cores, "
    "which the API does not show)",
}
TESTRUN = ("k6.io", "v1alpha1", "testruns")
# Container waiting reasons that no amount of waiting fixes.
HOPELESS = {"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "CreateContainerConfigError"}


class ClusterError(BackendError):
    """The cluster could not bring a cell to a state fit for a load."""


@dataclass
class CellState:
    placement: Placement
    pair_index: int
    objects: CellObjects
    created: list[dict]
    node: str | None = None
    applied: LimitSet | None = None


def _spec_hash(item: dict) -> str:
    return hashlib.sha256(json.dumps(item, sort_keys=True).encode()).hexdigest()


class GunzipSink:
    """A file-like sink that decompresses gzip bytes as they arrive into `path`."""

    def __init__(self, path: Path):
        self.handle = open(path, "wb")
        self.inflate = zlib.decompressobj(wbits=31)

    def write(self, data: bytes) -> int:
        self.handle.write(self.inflate.decompress(data))
        return len(data)

    def close(self) -> None:
        self.handle.write(self.inflate.flush())
        self.handle.close()


class KubernetesBackend(Backend):
    """Cells on a Kubernetes cluster, one node pair per running cell."""

    name = "kubernetes"

    def __init__(
        self,
        sweep: Sweep,
        clients: ClusterClients,
        services: dict[str, dict],
        pair_lock_dir: Path,
        say: Callable[[str], None] = lambda message: None,
        poll_s: float = 0.5,
    ):
        self.sweep = sweep
        self.settings = sweep.kubernetes
        self.namespace = self.settings.namespace
        self.clients = clients
        self.services = services
        self.pairs = PairLock(pair_lock_dir, len(self.settings.node_pairs))
        self.say = say
        self.poll_s = poll_s
        self.cell: CellState | None = None
        self._facts: dict[str, Any] | None = None
        self._load_node_cores: int | None = None  # the k6 pod's node, once scheduled
        self._versions: dict[str, str] | None = None

    # --- objects -------------------------------------------------------------------------

    def _call(self, verb: str, item: dict, **extra: Any) -> Any:
        kind, name = item["kind"], item["metadata"]["name"]
        ns, core = self.namespace, self.clients.core
        if kind == "TestRun":
            group, version, plural = TESTRUN
            verb = "get" if verb == "read" else verb
            method = getattr(self.clients.custom, f"{verb}_namespaced_custom_object")
            if verb == "create":
                return method(group, version, ns, plural, item)
            return method(group, version, ns, plural, name, **extra)
        api = {"Deployment": self.clients.apps, "Job": self.clients.batch}.get(kind, core)
        snake = {"ConfigMap": "config_map"}.get(kind, kind.lower())
        method = getattr(api, f"{verb}_namespaced_{snake}")
        if verb == "create":
            return method(ns, item)
        return method(name, ns, **extra)

    def _delete(self, item: dict) -> None:
        """Delete an object; gone already is fine. Jobs and TestRuns take their pods along."""
        try:
            self._call("delete", item, propagation_policy="Background")
        except Exception as error:
            if api_status(error) != NOT_FOUND:
                raise

    def _wait_gone(self, item: dict, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                self._call("read", item)
            except Exception as error:
                if api_status(error) == NOT_FOUND:
                    return True
                raise
            time.sleep(self.poll_s)
        return False

    def _create(self, item: dict, created: list[dict] | None) -> None:
        """Create an object; one left over by an interrupted run is replaced."""
        try:
            self._call("create", item)
        except Exception as error:
            if api_status(error) != CONFLICT:
                raise
            self.say(f"replacing {item['kind']} {item['metadata']['name']} left from a former run")
            self._delete(item)
            self._wait_gone(item, self.settings.timeouts.delete_s)
            self._call("create", item)
        if created is not None:
            created.append(item)

    # --- support services ----------------------------------------------------------------

    def start_support(self, timeout_s: float) -> None:
        objects = support_objects(self.sweep, self.services, self.settings)
        for problem in loopback_addresses(objects):
            self.say(f"warning: {problem} points at the pod itself (see docs/scale-out.md)")
        for item in objects:
            self._apply_support(item)
        deadline = time.monotonic() + timeout_s
        for item in objects:
            if item["kind"] == "Deployment":
                self._wait_deployment(item, deadline, timeout_s)

    def _apply_support(self, item: dict) -> None:
        """Create a support object unless it runs already as this sweep defines it."""
        digest = _spec_hash(item)
        item = json.loads(json.dumps(item))
        item["metadata"].setdefault("annotations", {})[SPEC_HASH] = digest
        try:
            self._call("create", item)
            return
        except Exception as error:
            if api_status(error) != CONFLICT:
                raise
        existing = self._call("read", item)
        annotations = (existing.metadata.annotations or {}) if existing.metadata else {}
        if annotations.get(SPEC_HASH) == digest:
            return
        self.say(f"support {item['kind']} {item['metadata']['name']} changed: recreating it")
        self._delete(item)
        self._wait_gone(item, self.settings.timeouts.delete_s)
        self._call("create", item)

    def _wait_deployment(self, item: dict, deadline: float, timeout_s: float) -> None:
        name = item["metadata"]["name"]
        while time.monotonic() < deadline:
            status = self._call("read", item).status
            if status is not None and (status.ready_replicas or 0) >= 1:
                return
            time.sleep(self.poll_s)
        selector = ",".join(f"{k}={v}" for k, v in item["spec"]["selector"]["matchLabels"].items())
        pods = self.clients.core.list_namespaced_pod(self.namespace, label_selector=selector)
        details = "".join(
            f"\n{self._pod_story(pod.metadata.name, 'service')}" for pod in pods.items or []
        )
        raise ClusterError(
            f"support service {name} was not ready within {timeout_s:g} s (its readiness "
            f"probe, on the support nodes {self.settings.support_selector}).{details}"
        )

    def stop_support(self) -> None:
        selector = f"{COMPONENT}=support,{SWEEP}={self.sweep.project}"
        for api, kind, plural in (
            (self.clients.apps, "Deployment", "deployment"),
            (self.clients.core, "Service", "service"),
        ):
            listed = getattr(api, f"list_namespaced_{plural}")(
                self.namespace, label_selector=selector
            )
            for item in listed.items or []:
                self._delete({"kind": kind, "metadata": {"name": item.metadata.name}})

    # --- the runtime ---------------------------------------------------------------------

    def place(self, placement: Placement) -> None:
        cell = placement.cell
        index = self.pairs.acquire(self.settings.timeouts.schedule_s)
        pair = self.settings.node_pairs[index]
        self.say(f"{cell.name}: node pair {index + 1} of {len(self.settings.node_pairs)}")
        definition = self.services[placement.runtime.service]
        objects = cell_objects(
            self.sweep, cell, definition, self.sweep.k6_script.read_text(), pair, self.settings
        )
        self.cell = CellState(placement, index, objects, [])
        for problem in loopback_addresses([objects.pod]):
            self.say(f"warning: {problem} points at the pod itself (see docs/scale-out.md)")
        self._create(objects.service, self.cell.created)
        self._create(objects.pod, self.cell.created)
        self.cell.node = self._wait_started(
            objects.pod["metadata"]["name"], RUNTIME_CONTAINER, self.settings.timeouts.schedule_s
        )
        self._note_node(self.cell.node)

    def _placed(self) -> CellState:
        if self.cell is None:
            raise BackendError("no runtime is placed")
        return self.cell

    def _pod(self, name: str) -> Any:
        return self.clients.core.read_namespaced_pod(name, self.namespace)

    def _wait_started(self, pod_name: str, container: str, timeout_s: float) -> str:
        """Until the pod is scheduled and its container started; its node's name."""
        deadline = time.monotonic() + timeout_s
        while True:
            pod = self._pod(pod_name)
            for status in (pod.status.container_statuses or []) if pod.status else []:
                waiting = status.state.waiting if status.state else None
                if status.name == container and waiting and waiting.reason in HOPELESS:
                    raise ClusterError(
                        f"pod {pod_name} cannot start: {waiting.reason} ({waiting.message}). "
                        "Is the image in a registry the cluster can pull from "
                        "(kubernetes.image_registry, docs/scale-out.md)?\n"
                        + self._pod_story(pod_name, container)
                    )
                if (
                    status.name == container
                    and status.state
                    and (status.state.running or status.state.terminated)
                ):
                    return pod.spec.node_name
            if time.monotonic() >= deadline:
                raise ClusterError(
                    f"pod {pod_name} did not start within {timeout_s:g} s (kubernetes."
                    "timeouts.schedule): are nodes labelled as the node pair says, with room "
                    "for the tier?\n" + self._pod_story(pod_name, container)
                )
            time.sleep(self.poll_s)

    def wait_ready(self, timeout_s: float) -> float:
        state = self._placed()
        name = state.objects.pod["metadata"]["name"]
        started = time.monotonic()
        while time.monotonic() - started < timeout_s:
            pod = self._pod(name)
            conditions = (pod.status.conditions or []) if pod.status else []
            if any(c.type == "Ready" and c.status == "True" for c in conditions):
                return time.monotonic() - started
            time.sleep(self.poll_s)
        endpoint = state.placement.runtime
        raise ClusterError(
            f"{state.placement.cell.name}: runtime pod {name} was not ready within "
            f"{timeout_s:g} s (readiness probe GET {endpoint.health_path} on port "
            f"{endpoint.port}; raise health_timeout if it only starts slowly).\n"
            + self._pod_story(name, RUNTIME_CONTAINER)
        )

    def _pod_story(self, pod_name: str, container: str, lines: int = 30) -> str:
        """What a failing pod went through: phase, container state, events, last logs."""
        parts = []
        try:
            pod = self._pod(pod_name)
            parts.append(f"pod {pod_name}: phase {pod.status.phase if pod.status else None}")
            for status in (pod.status.container_statuses or []) if pod.status else []:
                parts.append(f"  container {status.name}: {_state_text(status.state)}")
        except Exception as error:  # noqa: BLE001 - the story is best effort
            parts.append(f"pod {pod_name}: {error}")
        try:
            events = self.clients.core.list_namespaced_event(
                self.namespace, field_selector=f"involvedObject.name={pod_name}"
            )
            parts.append("events:")
            parts += [
                f"  {e.type} {e.reason}: {e.message}" for e in (events.items or [])[-10:]
            ] or ["  (none)"]
        except Exception as error:  # noqa: BLE001
            parts.append(f"events: {error}")
        logs = self._logs(pod_name, container, lines)
        parts.append("last log lines:" + ("\n" + logs if logs else " (none)"))
        return "\n".join(parts)

    def _logs(self, pod_name: str, container: str, lines: int | None = None) -> str:
        try:
            return self.clients.core.read_namespaced_pod_log(
                pod_name, self.namespace, container=container, tail_lines=lines
            ).rstrip()
        except Exception:  # noqa: BLE001 - no logs yet (or any more) is an answer too
            return ""

    def check_limits(self) -> LimitCheck:
        state = self._placed()
        pod = self._pod(state.objects.pod["metadata"]["name"])
        container = next(c for c in pod.spec.containers if c.name == RUNTIME_CONTAINER)
        limits = dict((container.resources.limits if container.resources else None) or {})
        requests = dict((container.resources.requests if container.resources else None) or {})
        problems: list[str] = []
        try:
            cpus = parse_cpu(limits["cpu"]) if "cpu" in limits else 0.0
            memory = parse_memory_quantity(limits["memory"]) if "memory" in limits else 0
        except QuantityError as error:
            cpus, memory = 0.0, 0
            problems.append(f"the pod's limits cannot be read exactly: {error}")
        # A pod cannot swap under a memory limit (Guaranteed pods never get swap, even with
        # the kubelet's LimitedSwap), so memory + swap = memory.
        applied = LimitSet(cpus, memory, memory or None, "")
        requested = state.placement.requested
        for key, text in limit_differences(requested, applied, "Kubernetes"):
            problems.append(f"{text}: {LIMIT_HINTS[key].replace('NAMESPACE', self.namespace)}")
        if _quantities(requests) != _quantities(limits):
            problems.append(
                f"requests {requests} differ from limits {limits}: the pod is not Guaranteed"
            )
        qos = pod.status.qos_class if pod.status else None
        if qos != "Guaranteed":
            problems.append(
                f"QoS class {qos}, not Guaranteed: the tier is not a pod's limits as asked"
            )
        state.applied = applied
        return LimitCheck(
            requested, applied, tuple(problems), "pod spec resources and status.qosClass"
        )

    def sampler(self) -> KubeletSampler:
        state = self._placed()
        assert state.node is not None
        support = self.clients.core.list_namespaced_pod(
            self.namespace, label_selector=f"{COMPONENT}=support,{SWEEP}={self.sweep.project}"
        )
        return KubeletSampler(
            self.clients.core,
            self.namespace,
            (state.objects.pod["metadata"]["name"], state.node),
            state.applied or state.placement.requested,
            [(p.metadata.name, p.spec.node_name) for p in support.items or [] if p.spec.node_name],
            source=self.settings.metrics,
            interval_s=self.settings.sample_interval_s,
        )

    # --- the load ------------------------------------------------------------------------

    def run_load(self, request: LoadRequest, sampler: KubeletSampler) -> K6Run:
        state = self._placed()
        if self.settings.k6_operator:
            return self._run_testrun(state, request, sampler)
        return self._run_job(state, request, sampler)

    def _exec(self, pod: str, command: list[str], timeout_s: float = 60.0, sink=None):
        return self.clients.exec.run(self.namespace, pod, K6_CONTAINER, command, timeout_s, sink)

    def _load_pod(self, state: CellState, timeout_s: float) -> tuple[str, str]:
        """The name and node of the cell's k6 pod, once its container started."""
        selector = f"{CELL}={cell_name(state.placement.cell)},{COMPONENT}=load"
        deadline = time.monotonic() + timeout_s
        while True:
            pods = self.clients.core.list_namespaced_pod(self.namespace, label_selector=selector)
            names = [p.metadata.name for p in pods.items or []]
            if names:
                node = self._wait_started(names[0], K6_CONTAINER, deadline - time.monotonic())
                return names[0], node
            if time.monotonic() >= deadline:
                load = state.objects.load
                raise ClusterError(
                    f"no k6 pod for {state.placement.cell.name} within {timeout_s:g} s: see "
                    f"`kubectl describe {load['kind'].lower()} -n {self.namespace} "
                    f"{load['metadata']['name']}`"
                )
            time.sleep(self.poll_s)

    def _run_job(self, state: CellState, request: LoadRequest, sampler: KubeletSampler) -> K6Run:
        timeouts = self.settings.timeouts
        pair = self.settings.node_pairs[state.pair_index]
        job = k6_job(self.sweep, state.placement.cell, pair, self.settings, request.env)
        spawned = time.monotonic()
        self._create(state.objects.script, state.created)
        self._create(job, state.created)
        container = job["spec"]["template"]["spec"]["containers"][0]
        with open(request.log, "a") as log:
            log.write(
                "$ k6 " + " ".join(container["args"]) + f"  (Job {job['metadata']['name']})\n"
            )
        pod, node = self._load_pod(state, timeouts.schedule_s)
        self._note_load_node(node)
        sampler.watch_pod(pod, node)
        self._wait_paused(pod, timeouts.k6_init_s, request)
        sampler.sample_now()
        started_at = datetime.now(UTC)
        started = time.monotonic()
        resumed = self._exec(pod, ["k6", "resume"])
        resumed_at = datetime.now(UTC)
        if resumed.returncode != 0:
            raise K6Error(f"`k6 resume` in pod {pod} failed: {resumed.stderr.strip()}")
        self.say(
            f"{state.placement.cell.name}: k6 resumed in pod {pod} on node {node} "
            f"(exec round trip {(resumed_at - started_at).total_seconds():.3f} s)"
        )
        exit_code = self._wait_exit_code(
            pod, self.sweep.load_duration_s + timeouts.load_grace_s, request
        )
        ended = time.monotonic()
        self._copy_results(pod, RESULTS_DIR / K6_JSON, RESULTS_DIR / K6_SUMMARY, request)
        logs = self._append_logs(pod, K6_CONTAINER, request.log)
        return self._k6_run(
            exit_code, logs, request, started_at, resumed_at, started, ended, spawned, sampler
        )

    def _wait_paused(self, pod: str, timeout_s: float, request: LoadRequest) -> None:
        """Until k6 initialised its VUs and waits to be resumed (`k6 status` in its pod)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            exited = self._exit_code(pod)
            if exited is not None:
                logs = self._append_logs(pod, K6_CONTAINER, request.log)
                raise K6Error(
                    f"k6 exited with code {exited} before the load started, running "
                    f"{request.script} in pod {pod}; its message:\n{k6_error_lines(logs)}"
                )
            answer = self._exec(pod, ["k6", "status"])
            if answer.returncode == 0:
                try:
                    status = (yaml.safe_load(answer.stdout) or {}).get("status")
                except yaml.YAMLError:
                    status = None
                if isinstance(status, int) and status >= PAUSED_BEFORE_RUN:
                    return
            time.sleep(self.poll_s)
        raise K6Error(f"k6 did not finish initialising {request.script} within {timeout_s:g} s")

    def _exit_code(self, pod: str) -> int | None:
        """k6's exit code once the wrapper wrote it, else None."""
        answer = self._exec(pod, ["cat", str(RESULTS_DIR / K6_EXIT_CODE)])
        if answer.returncode != 0:
            return None
        text = answer.stdout.decode().strip()
        return int(text) if text.lstrip("-").isdigit() else None

    def _wait_exit_code(self, pod: str, timeout_s: float, request: LoadRequest) -> int:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            code = self._exit_code(pod)
            if code is not None:
                return code
            time.sleep(self.poll_s)
        raise K6Error(
            f"k6 in pod {pod} ran past the profile's {self.sweep.load_duration_s:g} s plus "
            f"{self.settings.timeouts.load_grace_s:g} s (kubernetes.timeouts.load_grace) "
            f"running {request.script}"
        )

    def _copy_results(self, pod: str, k6_json, summary, request: LoadRequest) -> None:
        """k6's NDJSON (gzipped in the pod, plain here, as the results layout has it) and
        its summary, from the pod to the request's paths."""
        sink = GunzipSink(request.out_json)
        try:
            copied = self._exec(pod, ["cat", str(k6_json)], timeout_s=3600, sink=sink)
        finally:
            sink.close()
        answer = self._exec(pod, ["cat", str(summary)])
        if copied.returncode != 0 or answer.returncode != 0:
            raise K6Error(
                f"could not copy k6's results out of pod {pod}: "
                f"{copied.stderr.strip() or answer.stderr.strip()}"
            )
        request.summary_json.write_bytes(answer.stdout)

    def _append_logs(self, pod: str, container: str, log: Path) -> str:
        text = self._logs(pod, container)
        if text:
            with open(log, "a") as handle:
                handle.write(text + "\n")
        return text

    def _k6_run(
        self,
        exit_code: int,
        logs: str,
        request: LoadRequest,
        started_at: datetime,
        resumed_at: datetime,
        started: float,
        ended: float,
        spawned: float,
        sampler: KubeletSampler,
    ) -> K6Run:
        if exit_code not in (EXIT_OK, EXIT_THRESHOLDS_FAILED):
            raise K6Error(
                f"k6 exited with code {exit_code} running {request.script}; its message:\n"
                + k6_error_lines(logs)
            )
        try:
            summary = json.loads(request.summary_json.read_text())
        except (OSError, ValueError):
            summary = {}
        cpu_s = sampler.k6_cpu_seconds()
        return finished_run(
            exit_code,
            summary,
            (started_at, resumed_at),
            (spawned, started, ended),
            0.0 if cpu_s is None else cpu_s,
            datetime.now(UTC) - timedelta(seconds=time.monotonic() - ended),
            "wall time from resume to the exit code seen in the pod (k6 counted nothing)",
        )

    def _run_testrun(
        self, state: CellState, request: LoadRequest, sampler: KubeletSampler
    ) -> K6Run:
        """k6 through the k6-operator: its starter resumes the runner, so the load's start
        is the instant tierbench saw the TestRun's stage turn `started` (a poll later at
        most); the run's length is still k6's own, from its summary."""
        timeouts = self.settings.timeouts
        cell = state.placement.cell
        pair = self.settings.node_pairs[state.pair_index]
        testrun = k6_testrun(self.sweep, cell, pair, self.settings, request.env)
        spawned = time.monotonic()
        self._create(state.objects.script, state.created)
        self._create(testrun, state.created)
        with open(request.log, "a") as log:
            log.write(f"$ k6 run {testrun['spec']['arguments']}  (TestRun)\n")
        pod, node = self._load_pod(state, timeouts.schedule_s + timeouts.k6_init_s)
        sampler.watch_pod(pod, node)
        deadline = time.monotonic() + timeouts.k6_init_s
        while self._stage(testrun) not in ("started", "stopped", "finished", "error"):
            if time.monotonic() >= deadline:
                raise K6Error(
                    f"the TestRun of {cell.name} did not start within {timeouts.k6_init_s:g} s"
                )
            time.sleep(self.poll_s)
        started_at = resumed_at = datetime.now(UTC)
        started = time.monotonic()
        deadline = started + self.sweep.load_duration_s + timeouts.load_grace_s
        while (stage := self._stage(testrun)) not in ("finished", "error"):
            if time.monotonic() >= deadline:
                raise K6Error(f"the TestRun of {cell.name} did not finish (stage {stage})")
            time.sleep(self.poll_s)
        ended = time.monotonic()
        runner = self._pod(pod)
        exit_code = next(
            (
                s.state.terminated.exit_code
                for s in runner.status.container_statuses or []
                if s.state and s.state.terminated
            ),
            -1,
        )
        logs = self._append_logs(pod, K6_CONTAINER, request.log)
        reader = results_reader_pod(self.sweep, cell, pair, self.settings)
        self._create(reader, state.created)
        self._wait_started(reader["metadata"]["name"], "reader", timeouts.schedule_s)
        results = operator_results_dir(cell)
        reader_exec = self.clients.exec
        reader_name = reader["metadata"]["name"]
        sink = GunzipSink(request.out_json)
        try:
            copied = reader_exec.run(
                self.namespace, reader_name, "reader", ["cat", str(results / K6_JSON)], 3600, sink
            )
        finally:
            sink.close()
        summary = reader_exec.run(
            self.namespace, reader_name, "reader", ["cat", str(results / K6_SUMMARY)]
        )
        if copied.returncode != 0 or summary.returncode != 0:
            raise K6Error(f"could not read k6's results of {cell.name} from the results claim")
        request.summary_json.write_bytes(summary.stdout)
        reader_exec.run(self.namespace, reader_name, "reader", ["rm", "-rf", str(results)])
        return self._k6_run(
            exit_code, logs, request, started_at, resumed_at, started, ended, spawned, sampler
        )

    def _stage(self, testrun: dict) -> str | None:
        found = self._call("read", testrun)
        return ((found or {}).get("status") or {}).get("stage")

    # --- after the load ------------------------------------------------------------------

    def runtime_state(self) -> RuntimeState:
        state = self._placed()
        pod = self._pod(state.objects.pod["metadata"]["name"])
        status = next(
            (s for s in (pod.status.container_statuses or []) if s.name == RUNTIME_CONTAINER),
            None,
        )
        if status is None:
            return RuntimeState("missing", None, False, {"id": None, "name": None})
        _, oom = runtime_restarts_and_ooms(pod)
        terminated = status.state.terminated if status.state else None
        running = "running" if status.state and status.state.running else "waiting"
        return RuntimeState(
            status="exited" if terminated else running,
            exit_code=terminated.exit_code if terminated else None,
            oom_killed=oom,
            image={"id": status.image_id, "name": status.image},
        )

    def last_logs(self, lines: int = 30) -> str:
        if self.cell is None:
            return ""
        return self._logs(self.cell.objects.pod["metadata"]["name"], RUNTIME_CONTAINER, lines)

    def teardown(self) -> None:
        """Delete what the cell created, newest first, wait until the runtime's pod left its
        node (so the next cell on the pair has it to itself), and free the pair."""
        state, self.cell = self.cell, None
        if state is None:
            return
        failed = []
        try:
            for item in reversed(state.created):
                try:
                    self._delete(item)
                except Exception as error:  # noqa: BLE001 - delete the rest, then report
                    failed.append(f"{item['kind']} {item['metadata']['name']}: {error}")
            if state.objects.pod in state.created and not self._wait_gone(
                state.objects.pod, self.settings.timeouts.delete_s
            ):
                failed.append(f"Pod {state.objects.pod['metadata']['name']} is still terminating")
        finally:
            self.pairs.release()
        if failed:
            raise ClusterError(
                "could not delete every object of the cell; delete them with `kubectl delete "
                f"all,configmaps -n {self.namespace} -l {CELL}="
                f"{cell_name(state.placement.cell)}`:\n" + "\n".join(failed)
            )

    def _note_node(self, node_name: str) -> None:
        """The runtime node's facts and the cluster's versions, kept for the meta (which
        is written after teardown)."""
        node = self.clients.core.read_node(node_name)
        info = node.status.node_info
        capacity = node.status.capacity or {}
        labels = node.metadata.labels or {}
        self._facts = {
            "cpu_model": labels.get("node.kubernetes.io/instance-type")
            or "unknown (not visible through the Kubernetes API)",
            "cores": int(parse_quantity(capacity.get("cpu", 0))),
            "kernel": info.kernel_version,
            "cgroup_version": None,
            "memory_bytes": parse_memory_quantity(capacity["memory"])
            if "memory" in capacity
            else None,
            "node": node_name,
            "os_image": info.os_image,
            "architecture": info.architecture,
        }
        self._versions = {
            "k6": self.settings.k6_image,
            "kubernetes": self.clients.version.get_code().git_version,
            "kubelet": info.kubelet_version,
            "container_runtime": info.container_runtime_version,
        }

    def _note_load_node(self, node_name: str) -> None:
        capacity = self.clients.core.read_node(node_name).status.capacity or {}
        self._load_node_cores = int(parse_quantity(capacity.get("cpu", 0))) or None

    def load_side_cores(self, placement: Placement) -> tuple[int, bool]:
        """In a cluster k6 has a node of its own (the pair's load node), shared with no
        runtime; the support services run on nodes of their own."""
        return self._load_node_cores or 1, False

    def measure_yardstick(self, placement: Placement) -> dict[str, Any] | None:
        """None: the yardstick does not run on a cluster yet. It would need the reference
        service as a pod under the tier's limits on the runtime's node and k6 on the load
        node, with the pod's CPU counter read from the node; until then a capacity search
        on a cluster records `yardstick: null`."""
        return None

    def versions(self) -> dict[str, str]:
        if self._versions is None:
            raise BackendError("no cell was placed: no versions to report")
        return self._versions

    def facts(self) -> dict[str, Any]:
        if self._facts is None:
            raise BackendError("no cell was placed: no node facts to report")
        return self._facts


def _quantities(values: dict) -> dict:
    try:
        return {key: parse_quantity(value) for key, value in values.items()}
    except QuantityError:
        return dict(values)


def _state_text(state: Any) -> str:
    if state is None:
        return "unknown"
    if state.running:
        return "running"
    if state.waiting:
        return f"waiting ({state.waiting.reason}: {state.waiting.message})"
    if state.terminated:
        return f"terminated ({state.terminated.reason}, exit code {state.terminated.exit_code})"
    return "unknown"
