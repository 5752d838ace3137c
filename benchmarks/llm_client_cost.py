"""CPU per LLM call of the Python runtime's HTTP client: aiohttp against httpx.

The Python runtime's cost per request is mostly its calls to the LLM, so the client it
uses sets where its capacity lies, and whether that holds from run to run. This starts the
mock LLM (default latency model) pinned to one core and, in the agent-python image pinned
to another, keeps N calls in flight with one client for a few seconds at a time: first 10,
then a burst of 200, then 10 again on the same client (its pool now holding the
connections the burst opened). It prints calls/s and CPU per call for each client and
phase, and httpx's CPU per call as a multiple of aiohttp's.

    python benchmarks/llm_client_cost.py [--seconds 4]

Needs Docker and the tierbench/mock-llm and tierbench/agent-python images (`make capacity`
or `make bench` builds them).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import uuid
from pathlib import Path

from mock_llm_ceiling import LOAD_CPU, PORT, start_mock
from python_on_whales import docker as docker_cli

AGENT_IMAGE = "tierbench/agent-python:latest"
PHASES = [("10 in flight", 10), ("a burst of 200", 200), ("10 again, after the burst", 10)]

# Runs inside the agent-python image, which holds both clients.
CLIENT = r"""
import asyncio, json, sys, time
import aiohttp, httpx, orjson, uvloop

url, seconds, phases = sys.argv[1], float(sys.argv[2]), json.loads(sys.argv[3])
body = orjson.dumps({"model": "mock-gpt", "messages": [{"role": "user", "content": "hi"}]})
headers = {"content-type": "application/json"}

async def measure(call, concurrency):
    calls, stop = 0, time.monotonic() + seconds
    async def worker():
        nonlocal calls
        while time.monotonic() < stop:
            await call()
            calls += 1
    cpu, wall = time.process_time(), time.monotonic()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    cpu, wall = time.process_time() - cpu, time.monotonic() - wall
    return {"calls_per_s": calls / wall, "cpu_us_per_call": cpu / calls * 1e6}

async def with_httpx():
    limits = httpx.Limits(max_connections=256, max_keepalive_connections=256, keepalive_expiry=60)
    async with httpx.AsyncClient(limits=limits, timeout=httpx.Timeout(None)) as client:
        async def call():
            orjson.loads((await client.post(url, content=body, headers=headers)).content)
        await measure(call, phases[0])
        return [await measure(call, n) for n in phases]

async def with_aiohttp():
    connector = aiohttp.TCPConnector(limit=256, keepalive_timeout=60)
    async with aiohttp.ClientSession(connector=connector) as client:
        async def call():
            async with client.post(url, data=body, headers=headers) as response:
                orjson.loads(await response.read())
        await measure(call, phases[0])
        return [await measure(call, n) for n in phases]

uvloop.install()
print(json.dumps({"httpx": asyncio.run(with_httpx()), "aiohttp": asyncio.run(with_aiohttp())}))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="length of each phase (4)")
    args = parser.parse_args()
    pinned = (os.cpu_count() or 1) >= 2
    project = f"tierbench-client-{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory(prefix="tierbench-client-") as tmp:
        docker = None
        try:
            docker, _ = start_mock(Path(tmp), project, {})
            output = docker_cli.run(
                AGENT_IMAGE,
                [
                    "python",
                    "-c",
                    CLIENT,
                    f"http://127.0.0.1:{PORT}/v1/chat/completions",
                    str(args.seconds),
                    json.dumps([n for _, n in PHASES]),
                ],
                networks=["host"],
                cpuset_cpus=[int(LOAD_CPU)] if pinned else None,
                remove=True,
            )
        finally:
            if docker is not None:
                docker.compose.down(remove_orphans=True, timeout=2)
    results = json.loads(output.splitlines()[-1])

    where = f"the client on CPU {LOAD_CPU}, the mock LLM on another" if pinned else "not pinned"
    print(f"LLM calls from one Python process, {args.seconds:g} s per phase ({where})\n")
    print(f"{'phase':<27} {'client':<8} {'calls/s':>8} {'CPU per call':>13} {'vs aiohttp':>11}")
    for index, (label, _) in enumerate(PHASES):
        base = results["aiohttp"][index]["cpu_us_per_call"]
        for client in ("aiohttp", "httpx"):
            row = results[client][index]
            ratio = row["cpu_us_per_call"] / base
            print(
                f"{label:<27} {client:<8} {row['calls_per_s']:>8,.0f} "
                f"{row['cpu_us_per_call']:>10,.0f} µs {ratio:>10.2f}×"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
