"""The official Kubernetes client, reduced to what the backend calls.

`ClusterClients` holds the API objects the backend talks to, so tests hand it fakes with
the same methods; `connect` builds the real ones from a kubeconfig (or the in-cluster
service account). `StreamExec` runs a command in a container over the API server's exec
websocket and streams its standard output to a file, in bytes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, BinaryIO

from tierbench.load.backend import BackendError

NOT_FOUND = 404
CONFLICT = 409


@dataclass(frozen=True)
class ExecResult:
    returncode: int | None
    stdout: bytes
    stderr: str


@dataclass(frozen=True)
class ClusterClients:
    core: Any  # kubernetes.client.CoreV1Api
    apps: Any  # kubernetes.client.AppsV1Api
    batch: Any  # kubernetes.client.BatchV1Api
    custom: Any  # kubernetes.client.CustomObjectsApi
    version: Any  # kubernetes.client.VersionApi
    exec: StreamExec  # or a fake with the same `run`


def api_status(error: BaseException) -> int | None:
    """The HTTP status of a client ApiException, else None."""
    return getattr(error, "status", None) if type(error).__name__ == "ApiException" else None


NO_CLUSTER = """\
tierbench: no Kubernetes cluster answers ({problem}).
  backend: kubernetes talks to the cluster your kubeconfig names (KUBECONFIG, or
  ~/.kube/config; the context in kubernetes.context, else the current one). Check it with
  `kubectl version` and `kubectl auth can-i create pods -n {namespace}`, apply
  deploy/kubernetes/rbac.yaml, and see docs/scale-out.md."""


def connect(context: str | None) -> ClusterClients:
    """Clients from the kubeconfig (the given context, or its current one), or from the
    pod's service account when tierbench itself runs in the cluster."""
    from kubernetes import client, config

    try:
        config.load_kube_config(context=context)
    except config.ConfigException as kubeconfig_error:
        try:
            config.load_incluster_config()
        except config.ConfigException:
            raise BackendError(f"no usable kubeconfig: {kubeconfig_error}") from None
    api = client.ApiClient()
    core = client.CoreV1Api(api)
    return ClusterClients(
        core=core,
        apps=client.AppsV1Api(api),
        batch=client.BatchV1Api(api),
        custom=client.CustomObjectsApi(api),
        version=client.VersionApi(api),
        exec=StreamExec(core),
    )


def check_cluster(context: str | None, namespace: str) -> str:
    """The server's version, or SystemExit with what to do (the workflow's onstart)."""
    import sys

    try:
        clients = connect(context)
        found = clients.version.get_code(_request_timeout=20).git_version
        clients.core.read_namespace(namespace, _request_timeout=20)
        return found
    except Exception as error:  # noqa: BLE001 - any failure means no usable cluster
        problem = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
        print(NO_CLUSTER.format(problem=problem, namespace=namespace), file=sys.stderr)
        raise SystemExit(1) from None


class StreamExec:
    """`kubectl exec` through the client's websocket stream, in bytes."""

    def __init__(self, core: Any):
        self.core = core

    def run(
        self,
        namespace: str,
        pod: str,
        container: str,
        command: list[str],
        timeout_s: float = 60.0,
        sink: BinaryIO | None = None,
    ) -> ExecResult:
        """Run `command`; stdout goes to `sink` when given (and is then empty here)."""
        from kubernetes.stream import stream

        response = stream(
            self.core.connect_get_namespaced_pod_exec,
            pod,
            namespace,
            container=container,
            command=command,
            stderr=True,
            stdin=False,
            stdout=True,
            tty=False,
            binary=True,
            _preload_content=False,
        )
        out: list[bytes] = []
        err: list[bytes] = []
        deadline = time.monotonic() + timeout_s

        def drain() -> None:
            if response.peek_stdout():
                data = response.read_stdout()
                sink.write(data) if sink is not None else out.append(data)
            if response.peek_stderr():
                err.append(response.read_stderr())

        try:
            while response.is_open():
                response.update(timeout=1)
                drain()
                if time.monotonic() > deadline:
                    raise BackendError(
                        f"`{' '.join(command)}` in pod {pod} did not finish within {timeout_s:g} s"
                    )
            drain()
            code = response.returncode
        finally:
            response.close()
        return ExecResult(code, b"".join(out), b"".join(err).decode(errors="replace"))
