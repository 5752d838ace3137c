"""Readiness of support services that do not speak HTTP: a TCP connection to their port."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from conftest import REPO
from tierbench.config.sweep import ServiceEndpoint, load_sweep
from tierbench.load.docker.containers import ContainerError, wait_until_ready


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_service_without_health_path_is_ready_once_its_port_accepts_connections():
    port = free_port()
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)

    def listen_later() -> None:
        time.sleep(0.4)
        listener.bind(("127.0.0.1", port))
        listener.listen()

    thread = threading.Thread(target=listen_later)
    thread.start()
    try:
        waited = wait_until_ready(ServiceEndpoint("db", port), 5, "support service db")
    finally:
        thread.join()
        listener.close()
    assert 0.35 <= waited < 5


def test_a_port_nobody_listens_on_fails_naming_the_port_and_what_to_do():
    port = free_port()
    with pytest.raises(ContainerError) as raised:
        wait_until_ready(ServiceEndpoint("db", port), 0.3, "support service db")
    message = str(raised.value)
    assert (
        f"support service db was not ready after 0.3 s: no TCP connection to 127.0.0.1:{port}"
        in message
    )
    assert "health_path" in message


def test_support_services_take_a_port_alone_but_runtimes_need_a_health_path():
    config = {
        "compose_file": str(REPO / "tests/stack/compose.yaml"),
        "compose_project": "tierbench-test",
        "runtimes": {"web": {"service": "web", "port": 19181, "health_path": "/healthz"}},
        "support_services": [{"service": "support", "port": 19190}, "burner"],
        "k6_script": str(REPO / "tests/stack/k6/hello.js"),
    }
    sweep = load_sweep(config)
    assert sweep.support == [ServiceEndpoint("support", 19190, None), "burner"]
    del config["runtimes"]["web"]["health_path"]
    with pytest.raises(ValueError, match="runtimes.web"):
        load_sweep(config)
