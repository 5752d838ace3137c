"""The Docker engine going away in the middle of a sweep stops it with one clear message,
and leaves no file that looks finished; once the engine is back, a rerun finishes."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from conftest import containers_of

pytestmark = pytest.mark.docker
PROJECT = "tierbench-test"
ENGINE_SOCKET = "/var/run/docker.sock"


class EngineDoor:
    """A Unix socket that passes every connection through to the real engine until
    `close()`, after which the engine, as tierbench sees it through DOCKER_HOST, is gone."""

    def __init__(self, path: Path):
        self.path = path
        self.listener: socket.socket | None = None
        self.open_connections: list[socket.socket] = []
        self.lock = threading.Lock()

    def open(self) -> None:
        self.path.unlink(missing_ok=True)
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(str(self.path))
        self.listener.listen(64)
        threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()

    def close(self) -> None:
        with self.lock:
            if self.listener is not None:
                self.listener.close()
                self.listener = None
            for connection in self.open_connections:
                try:
                    connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                connection.close()
            self.open_connections.clear()
        self.path.unlink(missing_ok=True)

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            engine = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            engine.connect(ENGINE_SOCKET)
            with self.lock:
                self.open_connections += [client, engine]
            for source, sink in ((client, engine), (engine, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
            sink.shutdown(socket.SHUT_WR)
        except OSError:
            pass


def test_the_engine_gone_mid_load_stops_the_sweep_with_what_to_do(workdir, monkeypatch):
    config = workdir.config
    config["runtimes"] = {"web": config["runtimes"]["web"]}
    config["tiers"] = {"xs": config["tiers"]["xs"]}
    config["profiles"]["smoke"]["stages"] = [{"duration": "6s", "target": 2}]
    workdir.write_config(config)
    door = EngineDoor(workdir.path / "engine.sock")
    door.open()
    monkeypatch.setenv("DOCKER_HOST", f"unix://{door.path}")
    partial = workdir.path / "results/k6/.web-xs.json.partial.gz"

    def close_once_the_load_runs() -> None:
        deadline = time.monotonic() + 120
        while not (partial.exists() and partial.stat().st_size > 0):
            if time.monotonic() > deadline:
                return
            time.sleep(0.1)
        door.close()

    watcher = threading.Thread(target=close_once_the_load_runs, daemon=True)
    watcher.start()
    try:
        result = workdir.snakemake("sweep", timeout=300)
        watcher.join(timeout=1)
        output = result.stdout + result.stderr
        assert result.returncode != 0, output[-3000:]
        assert "the Docker engine stopped answering" in output, output[-3000:]
        assert f"unix://{door.path}" in output and "make docker" in output
        assert "Traceback" not in output, output[-3000:]
        # Nothing that looks finished, and no partial file left behind.
        results = workdir.path / "results"
        assert not (results / "meta" / "web-xs.json").exists()
        assert not (results / "k6" / "web-xs.json.gz").exists()
        assert not [p.name for p in results.rglob("*") if ".partial" in p.name]
        # The engine back: the same command finishes the cell, and leaves no container.
        door.open()
        rerun = workdir.snakemake("sweep", timeout=300)
        assert rerun.returncode == 0, (rerun.stdout + rerun.stderr)[-3000:]
        assert (results / "meta" / "web-xs.json").exists()
        assert containers_of(PROJECT) == []
    finally:
        door.close()
        monkeypatch.delenv("DOCKER_HOST")
        left = containers_of(PROJECT)
        if left:
            subprocess.run(["docker", "rm", "-f", *left], capture_output=True)
