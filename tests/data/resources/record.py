"""Record tests/data/resources/two-containers.csv from a real run on this host's engine.

Run from the repository, with the engine up and the test stack's image built (`make test`
builds it): `python tests/data/resources/record.py`. The test stack's calibrated service
(2 ms of CPU per GET /work) is placed at tier XS (0.25 CPU) and loaded on eight
connections at once for 3 s while the sampler runs, placed afresh (a new container, its
counters from zero), and loaded for 3 s more. The CSV holds both containers' samples as a
capacity search keeps them, and the JSON beside it the instants each load started and
ended.
"""

from __future__ import annotations

import http.client
import json
import shutil
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
sys.path.insert(0, str(REPO / "src"))

from tierbench.config.sweep import Cell, load_sweep  # noqa: E402
from tierbench.files import OutputSet  # noqa: E402
from tierbench.load.docker.backend import DockerBackend  # noqa: E402
from tierbench.load.lifecycle import CellRun  # noqa: E402
from tierbench.load.samples import write_resources_csv  # noqa: E402


def load(seconds: float, connections: int = 8) -> dict[str, str]:
    """GET /work on `connections` kept-alive connections at once for `seconds`: more than
    the 0.25 CPU quota can serve, so the kernel throttles the container."""

    def client() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", 19186, timeout=5)
        while time.monotonic() < until:
            connection.request("GET", "/work")
            connection.getresponse().read()
        connection.close()

    started = datetime.now(UTC)
    until = time.monotonic() + seconds
    threads = [threading.Thread(target=client) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"start": started.isoformat(), "end": datetime.now(UTC).isoformat()}


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="tierbench-record-"))
    shutil.copytree(REPO / "tests" / "stack", work / "stack")
    config = yaml.safe_load((work / "stack" / "config.yaml").read_text())
    config["runtimes"] = {
        "calibrated": {"service": "calibrated", "port": 19186, "health_path": "/healthz"}
    }
    config["support_services"] = []
    sweep = load_sweep(config, base_dir=work / "stack")
    backend = DockerBackend(sweep, override_dir=work / "compose")
    with CellRun(sweep, Cell("calibrated", "xs", 1), backend, OutputSet([]), work / "log") as run:
        run.start_sampler()
        time.sleep(1)
        first = load(3)
        time.sleep(1)
        run.place_afresh("recording a second container")
        time.sleep(1)
        second = load(3)
        time.sleep(1)
        run.stop_sampler()
    write_resources_csv(HERE / "two-containers.csv", run.rows)
    (HERE / "two-containers.json").write_text(
        json.dumps({"loads": [first, second]}, indent=2) + "\n"
    )


if __name__ == "__main__":
    main()
