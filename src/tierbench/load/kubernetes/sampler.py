"""Samples of the runtime pod, and of the load side (the k6 pod, the support pods), from
the kubelet's metrics while the load runs (tierbench.load.kubernetes.metrics).

A row is recorded each time the kubelet's reading of the runtime is new, stamped with the
kubelet's own instant, so the cumulative counters are exact at the stamps and the
aggregate step interpolates them at the window's edges. Restarts and OOM kills come from
the pod's status (restartCount, a last state terminated as OOMKilled) and, under
cAdvisor, its OOM event counter.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from typing import Any

from tierbench.config.limits import LimitSet
from tierbench.load.kubernetes.manifests import K6_CONTAINER, RUNTIME_CONTAINER
from tierbench.load.kubernetes.metrics import (
    Reading,
    container_readings,
    cpu_cores_between,
    metrics_path,
    sample_figures,
)
from tierbench.load.samples import TOTAL_COLUMNS

PodOnNode = tuple[str, str]  # (pod name, node name)


def runtime_restarts_and_ooms(pod: Any) -> tuple[int, bool]:
    """restartCount of the runtime container, and whether it was ever seen OOM-killed."""
    for status in (pod.status.container_statuses or []) if pod and pod.status else []:
        if status.name != RUNTIME_CONTAINER:
            continue
        reasons = [
            state.terminated.reason
            for state in (status.state, status.last_state)
            if state is not None and state.terminated is not None
        ]
        return status.restart_count or 0, "OOMKilled" in reasons
    return 0, False


class KubeletSampler:
    """Polls the kubelets of the runtime's, k6's and the support services' nodes."""

    def __init__(
        self,
        core: Any,
        namespace: str,
        runtime: PodOnNode,
        applied: LimitSet,
        support: list[PodOnNode],
        source: str = "cadvisor",
        interval_s: float = 1.0,
        final_wait_s: float = 20.0,
    ):
        self.core = core
        self.namespace = namespace
        self.runtime = runtime
        self.limits = applied.limits
        self.support = support
        self.k6: PodOnNode | None = None
        self.path = metrics_path(source)
        self.source = f"kubelet-{source}"
        self.source_reason = (
            f"the kubelet's /{self.path} of node {runtime[1]} through the API server's node "
            "proxy; readings refresh at the kubelet's housekeeping interval, each row "
            "stamped with the kubelet's own instant"
            + ("" if source == "cadvisor" else " (no CFS throttling counters at this source)")
        )
        self.load_side_source = "the kubelet's readings of the k6 pod" + (
            " and the support pods" if support else ""
        )
        self.interval_s = interval_s
        self.final_wait_s = final_wait_s
        self.rows: list[dict] = []
        self.problems: list[str] = []
        self.restarts = 0
        self.oom_seen = False
        self.last: dict[tuple[str, str], Reading] = {}
        self._previous: dict[tuple[str, str], Reading] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._started = datetime.now(UTC)

    def watch_pod(self, pod: str, node: str) -> None:
        """Measure k6's pod from now on."""
        with self._lock:
            self.k6 = (pod, node)

    def start(self) -> None:
        self._started = datetime.now(UTC)
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def sample_now(self) -> None:
        self._poll()

    def stop(self) -> list[dict]:
        """Stop once the kubelet has a reading from after this instant (so the counters
        bracket the load), or after `final_wait_s`."""
        stopping = datetime.now(UTC)
        deadline = time.monotonic() + self.final_wait_s
        while time.monotonic() < deadline:
            latest = self.last.get((self.runtime[0], RUNTIME_CONTAINER))
            if latest is not None and latest.at >= stopping:
                break
            time.sleep(self.interval_s)
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        return self.rows

    def summary(self) -> dict[str, Any]:
        latest = self.last.get((self.runtime[0], RUNTIME_CONTAINER))
        peak = None if latest is None else latest.max_usage_bytes
        return {
            "source": self.source,
            "source_reason": self.source_reason,
            "samples": len(self.rows),
            "oom_kills": self.oom_kills,
            "restarts": self.restarts,
            "memory_peak_kernel_bytes": None if peak is None else int(peak),
            "memory_peak_kernel_since": None if peak is None else "container start",
            "load_side_source": self.load_side_source,
            "problems": self.problems[-5:],
        }

    @property
    def oom_kills(self) -> int:
        latest = self.last.get((self.runtime[0], RUNTIME_CONTAINER))
        events = int(latest.oom_events or 0) if latest is not None else 0
        return max(events, int(self.oom_seen))

    def k6_cpu_seconds(self) -> float | None:
        """k6's container CPU time at its latest reading (None before any)."""
        if self.k6 is None:
            return None
        reading = self.last.get((self.k6[0], K6_CONTAINER))
        return None if reading is None else reading.cpu_s

    def _loop(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            self._poll()
            self._stop.wait(max(0.0, self.interval_s - (time.monotonic() - started)))

    def _read_nodes(self) -> dict[tuple[str, str], Reading]:
        pods_by_node: dict[str, set[str]] = {}
        for pod, node in [self.runtime, *self.support, *([self.k6] if self.k6 else [])]:
            pods_by_node.setdefault(node, set()).add(pod)
        readings: dict[tuple[str, str], Reading] = {}
        for node, pods in pods_by_node.items():
            try:
                text = self.core.connect_get_node_proxy_with_path(node, self.path)
            except Exception as error:  # noqa: BLE001 - a missed reading is noted, not fatal
                self.problems.append(f"node {node}: {error}")
                continue
            readings |= container_readings(text, self.namespace, pods)
        return readings

    def _poll(self) -> None:
        with self._lock:
            readings = self._read_nodes()
            try:
                pod = self.core.read_namespaced_pod(self.runtime[0], self.namespace)
                restarts, oom = runtime_restarts_and_ooms(pod)
                self.restarts = max(self.restarts, restarts)
                self.oom_seen = self.oom_seen or oom
            except Exception as error:  # noqa: BLE001 - the pod may be gone after a crash
                self.problems.append(f"pod {self.runtime[0]}: {error}")
            key = (self.runtime[0], RUNTIME_CONTAINER)
            runtime = readings.get(key)
            fresh = runtime is not None and (key not in self.last or runtime.at > self.last[key].at)
            for name, reading in readings.items():
                if name not in self.last or reading.at > self.last[name].at:
                    self._previous[name] = self.last.get(name)  # type: ignore[assignment]
                    self.last[name] = reading
            if fresh:
                self._record(self._previous.get(key), runtime)

    def _load_side(self) -> dict:
        def cores(name: tuple[str, str]) -> float | None:
            latest = self.last.get(name)
            return None if latest is None else cpu_cores_between(self._previous.get(name), latest)

        k6 = cores((self.k6[0], K6_CONTAINER)) if self.k6 else None
        support = [cores(name) for name in self.last if name[0] in {pod for pod, _ in self.support}]
        known = [value for value in support if value is not None]
        return {"k6_cpu_cores": k6, "support_cpu_cores": sum(known) if known else None}

    def _record(self, before: Reading | None, after: Reading) -> None:
        figures = sample_figures(before, after, self.limits.cpus, self.limits.memory_bytes)
        self.rows.append(
            {
                "timestamp": after.at.isoformat(),
                "elapsed_s": round((after.at - self._started).total_seconds(), 3),
                **dict.fromkeys(TOTAL_COLUMNS),
                **figures,
                **self._load_side(),
                "oom_kills": self.oom_kills,
                "restarts": self.restarts,
                "source": self.source,
                # The pod's container restarts in place: its counters start again.
                "container": f"{self.runtime[0]}#{self.restarts}",
            }
        )
