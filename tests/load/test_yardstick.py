"""The yardstick: its record from what was counted, its place in the capacity record and
in capacity.md, and its reference service answering as HTTP/1.1 keep-alive does."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import DATA, REPO
from tierbench.capacity.record import CapacityRecord
from tierbench.capacity.tables import capacity_frame, capacity_markdown, yardsticks
from tierbench.load.docker.yardstick import BASE_IMAGES, yardstick_image
from tierbench.load.host import cpuset_list
from tierbench.load.k6 import free_loopback_port
from tierbench.load.yardstick import (
    WORKLOAD,
    YardstickError,
    comparison_yardstick_section,
    in_yardstick_units,
    workload_text,
    yardstick_from_counts,
    yardstick_note,
    yardstick_pair,
    yardstick_section,
)

SERVER = REPO / "src" / "tierbench" / "load" / "yardstick_server.py"
RECORD = sorted((DATA / "capacity" / "capacity").glob("*.json"))[0]


def measured(rps: float, cpu_ms: float = 0.5) -> dict:
    return yardstick_from_counts(int(rps * 1.5), 1.5, int(cpu_ms * 1e6 * rps * 1.5), 1.0, 2**30)


def test_the_record_is_the_rate_and_the_cpu_per_request_of_what_was_counted():
    found = yardstick_from_counts(3000, 1.5, 1_200_000_000, 1.0, 2**30)
    assert (found.rps, found.cpu_ms_per_request, found.requests) == (2000.0, 0.4, 3000)
    assert found.cpu_pct_of_limit == 80.0  # 1.2 s of CPU over 1.5 s at a 1-CPU limit
    assert found.as_dict()["workload"] == WORKLOAD
    assert set(found.as_dict()) >= {"rps", "cpus", "memory_bytes", "duration_s"}
    # A reading of another length says so in its workload (the spread benchmark's 6 s).
    longer = yardstick_from_counts(12000, 6.0, 4_800_000_000, 1.0, 2**30, workload_text(6))
    assert "for 6 s" in longer.workload and "for 1.5 s" in WORKLOAD
    with pytest.raises(YardstickError, match="no request"):
        yardstick_from_counts(0, 1.5, 0, 1.0, 2**30)
    with pytest.raises(YardstickError, match="CPU limit"):
        yardstick_from_counts(10, 1.5, 0, 0.0, 2**30)


def test_a_capacity_reads_in_units_of_the_yardsticks_mean_rate():
    pair = yardstick_pair(measured(2000).as_dict(), measured(1000).as_dict())
    assert in_yardstick_units(750, pair) == pytest.approx(0.5)
    # Only one side measured: that one.
    assert in_yardstick_units(750, yardstick_pair(None, measured(1500).as_dict())) == 0.5
    assert in_yardstick_units(None, pair) is None
    assert yardstick_pair(None, None) is None and in_yardstick_units(750, None) is None


def test_a_record_of_an_earlier_version_reads_with_no_yardstick():
    data = CapacityRecord.read(RECORD).to_json()
    data.pop("yardstick")
    assert CapacityRecord.from_json(data).yardstick is None


def test_the_record_keeps_the_yardstick_before_and_after(tmp_path: Path):
    record = CapacityRecord.read(RECORD)
    record.yardstick = yardstick_pair(measured(2000).as_dict(), None)
    copy = tmp_path / "record.json"
    copy.write_text(record.json_text())
    again = CapacityRecord.read(copy)
    assert again.yardstick == {"before": measured(2000).as_dict(), "after": None}
    assert list(again.to_json()).index("yardstick") > list(again.to_json()).index("host_speed")


def test_capacity_md_names_each_yardstick_and_each_capacity_in_its_units():
    record = CapacityRecord.read(RECORD)
    record.yardstick = yardstick_pair(measured(2000, 0.45).as_dict(), measured(1600).as_dict())
    capacity = record.verdict.capacity_rps
    text = capacity_markdown(capacity_frame([record]), (), (), yardsticks([record]))
    section = text[text.index("## Yardstick") :]
    assert "figures from another host can be compared in these units" in section
    assert WORKLOAD in section
    line = next(line for line in section.splitlines() if line.startswith(f"- **{record.cell}**"))
    assert "before 2,000 req/s, 0.450 ms CPU per request" in line
    assert "after 1,600 req/s, 0.500 ms CPU per request" in line
    bound = "≥ " if record.verdict.lower_bound else ""
    assert f"capacity {bound}{capacity / 1800:.2f}× the yardstick" in line


def test_no_yardstick_no_section_and_a_lower_bound_says_so():
    assert yardstick_section([("a-xs", 100.0, False, None)]) == []
    pair = yardstick_pair(None, measured(400).as_dict())
    lines = yardstick_section([("a-xs", 100.0, True, pair), ("b-xs", None, False, pair)])
    assert lines[-2] == (
        "- **a-xs**: before not measured; after 400 req/s, 0.500 ms CPU per request; "
        "capacity ≥ 0.25× the yardstick"
    )
    assert lines[-1].endswith("; capacity none")


def test_the_runtimes_cpuset_becomes_the_cpu_ids_docker_takes():
    assert cpuset_list("") == []
    assert cpuset_list("0") == [0]
    assert cpuset_list("0,2-3") == [0, 2, 3]


class Images:
    """An engine's image store holding `present`."""

    def __init__(self, *present: str):
        self.image = self
        self.present = present

    def exists(self, name: str) -> bool:
        return name in self.present


def test_the_service_runs_in_the_first_base_image_on_the_engine_and_none_is_pulled(monkeypatch):
    monkeypatch.delenv("TIERBENCH_PYTHON_BASE", raising=False)
    assert yardstick_image(Images(*BASE_IMAGES)) == BASE_IMAGES[0]
    assert yardstick_image(Images("tierbench/base:bookworm")) == "tierbench/base:bookworm"
    monkeypatch.setenv("TIERBENCH_PYTHON_BASE", "my/python:3.12")
    assert yardstick_image(Images("my/python:3.12", *BASE_IMAGES)) == "my/python:3.12"
    with pytest.raises(YardstickError, match="scripts/ensure-base-images.sh"):
        yardstick_image(Images())


def wait_for(port: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"the yardstick's service did not listen on {port}")


def test_the_service_answers_every_request_on_a_kept_alive_connection_in_order():
    ports = [free_loopback_port(), free_loopback_port()]
    # A session of its own: the service forks a process per port, all stopped at the end.
    server = subprocess.Popen(
        [sys.executable, str(SERVER), *map(str, ports)], start_new_session=True
    )
    try:
        for port in ports:
            wait_for(port)
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            for path in ("/", "/any/path?x=1", "/"):
                connection.request("GET", path)
                response = connection.getresponse()
                assert (response.status, response.read()) == (200, b'{"ok":true}')
            connection.close()
        # Two requests in one write: two answers, in order.
        with socket.create_connection(("127.0.0.1", ports[0]), timeout=5) as raw:
            raw.sendall(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n")
            received = b""
            while received.count(b'{"ok":true}') < 2:
                received += raw.recv(4096)
            assert received.count(b"HTTP/1.1 200 OK") == 2
    finally:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


def test_the_service_refuses_to_start_without_ports():
    done = subprocess.run([sys.executable, str(SERVER), "eighty"], capture_output=True, text=True)
    assert done.returncode != 0 and "usage" in done.stderr


def test_a_comparison_sweep_reads_each_runtime_in_yardstick_units():
    # Two cells at xs (a reading before and after each), one at s measured only before.
    def reading(rps: float) -> dict:
        return measured(rps).as_dict()

    readings = [
        ("xs", {"before": reading(500), "after": reading(540)}),
        ("xs", {"before": reading(520), "after": reading(480)}),
        ("s", {"before": reading(1000), "after": None}),
        ("m", None),  # a cell from before the yardstick, or a failed start
    ]
    throughput = [("ts", "xs", 760.0), ("python", "xs", 255.0), ("ts", "s", 1500.0)]
    heading, _, text, _, xs, s, end = comparison_yardstick_section(throughput, readings)
    assert heading == "## Yardstick" and "64 keep-alive VUs" in text
    assert xs == "- **xs**: 510 req/s, 480-540 over 4 readings; ts 1.49×, python 0.50×"
    assert s == "- **s**: 1,000 req/s; ts 1.50×"
    assert end == ""
    assert comparison_yardstick_section(throughput, [("m", None)]) == []
    note = yardstick_note(readings)
    assert note.endswith("req/s: xs 510 · s 1,000")
    assert yardstick_note([("m", None)]) == ""
