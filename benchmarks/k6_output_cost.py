"""What k6's raw JSON output costs the load side, on the reference flow.

Every load of a sweep and every capacity step writes k6's raw results (`--out json`,
gzipped as k6 writes it); k6 shares the load side's cores with the mock LLM. This runs
the reference flow (k6/agent-flow.js) against the Bun runtime, with the runtime and the
mock pinned to one core and k6 to another, alternately with the raw JSON and with the
summary export only, and prints k6's CPU milliseconds per request for each (its own
process's user + system time over the requests it sent) and their ratio, measured in
the same run.

    python benchmarks/k6_output_cost.py [--rounds 5] [--duration 10s] [--vus 10,40]

Each round runs both ways back to back, so the difference is taken round by round (a
paired mean with its 95 % confidence interval): a host that drifts moves both alike.

Needs Docker, the reference stack's images (`make images`, then a sweep or
`docker compose -f config/compose.yaml build mock-llm agent-ts`) and k6.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from statistics import NormalDist

import httpx
import yaml

from tierbench.load.docker.compose import compose_client
from tierbench.load.k6 import k6_binary

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "config" / "compose.yaml"
SCRIPT = ROOT / "k6" / "agent-flow.js"
MOCK_PORT, AGENT_PORT = 18590, 18591
SERVICES_CPU, LOAD_CPU = 0, 1
WAYS = {
    "raw JSON (--out json=….json.gz)": True,
    "summary export only": False,
}


def stack_override(directory: Path, pinned: bool) -> Path:
    mock = f"http://127.0.0.1:{MOCK_PORT}"
    agent = {
        "PORT": str(AGENT_PORT),
        "LLM_BASE_URL": f"{mock}/v1",
        "LANGFUSE_BASE_URL": mock,
        "LANGFUSE_HOST": mock,
    }
    services = {
        "mock-llm": {"environment": {"PORT": str(MOCK_PORT)}},
        "agent-ts": {"environment": agent},
    }
    if pinned:
        for service in services.values():
            service["cpuset"] = str(SERVICES_CPU)
    path = directory / "override.yaml"
    path.write_text(yaml.safe_dump({"services": services}))
    return path


def wait_healthy(url: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url}/healthz did not answer 200 within {timeout_s:.0f} s")


def k6_cpu_per_request(directory: Path, raw: bool, vus: int, duration: str, pinned: bool) -> dict:
    """One k6 run of the reference flow: its CPU time per request, from its rusage."""
    name = uuid.uuid4().hex[:8]
    summary = directory / f"{name}.summary.json"
    command = [k6_binary(), "run", "--quiet", "--no-color", "--no-usage-report"]
    command += ["--stage", f"{duration}:{vus}", "--summary-export", str(summary)]
    if raw:
        command += ["--out", f"json={directory / name}.json.gz"]
    command += ["-e", f"BASE_URL=http://127.0.0.1:{AGENT_PORT}", str(SCRIPT)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    process = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        preexec_fn=(lambda: os.sched_setaffinity(0, {LOAD_CPU})) if pinned else None,
    )
    if process.wait() not in (0, 99):
        raise RuntimeError(f"k6 exited with code {process.returncode}: {' '.join(command)}")
    wall_s = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_s = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    metrics = json.loads(summary.read_text())["metrics"]
    requests = metrics["http_reqs"]["count"]
    raw_bytes = (directory / f"{name}.json.gz").stat().st_size if raw else 0
    return {
        "raw": raw,
        "requests": requests,
        "rps": metrics["http_reqs"]["rate"],
        "k6_cpu_ms_per_request": 1000 * cpu_s / requests,
        "k6_cores": cpu_s / wall_s,
        "raw_bytes_per_request": raw_bytes / requests,
        "errors": metrics["http_req_failed"]["value"],
    }


def spread(values: list[float]) -> str:
    mean = statistics.fmean(values)
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{mean:6.3f} ms ± {sd:5.3f} ms  ({min(values):.3f} … {max(values):.3f})"


# Two-sided 97.5 % quantiles of Student's t, by degrees of freedom (for a 95 % interval).
T_975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306}


def paired_difference(runs: list[dict]) -> str:
    """Raw JSON minus summary only, round by round: the mean and its 95 % interval."""
    raw = [r["k6_cpu_ms_per_request"] for r in runs if r["raw"]]
    plain = [r["k6_cpu_ms_per_request"] for r in runs if not r["raw"]]
    differences = [a - b for a, b in zip(raw, plain, strict=True)]
    mean = statistics.fmean(differences)
    if len(differences) < 2:
        return f"{mean:+.3f} ms a request (one round: no interval)"
    t = T_975.get(len(differences) - 1, NormalDist().inv_cdf(0.975))
    half = t * statistics.stdev(differences) / len(differences) ** 0.5
    low, high = mean - half, mean + half
    verdict = (
        "no measurable difference"
        if low <= 0 <= high
        else f"{mean / statistics.fmean(plain):+.0%} of the CPU per request"
    )
    return f"{mean:+.3f} ms a request, 95 % CI {low:+.3f} … {high:+.3f} ms: {verdict}"


def report(runs: list[dict], vus: int) -> None:
    print(f"{vus} VUs:")
    for label, raw in WAYS.items():
        mine = [r for r in runs if r["raw"] == raw]
        per_request = [r["k6_cpu_ms_per_request"] for r in mine]
        rps = statistics.fmean(r["rps"] for r in mine)
        print(f"  {label:<34} {spread(per_request)}  at {rps:,.0f} req/s")
    raw_bytes = statistics.fmean(r["raw_bytes_per_request"] for r in runs if r["raw"])
    print(f"  raw JSON minus summary only: {paired_difference(runs)}")
    print(f"  ({raw_bytes:,.0f} bytes of gzipped raw JSON a request)")
    if any(r["errors"] > 0 for r in runs):
        print("  warning: some requests failed; rerun on a quiet host")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="runs of each way (5)")
    parser.add_argument("--duration", default="10s", help="k6's run length (10s)")
    parser.add_argument("--vus", default="10,40", help="k6 virtual users, comma-separated")
    args = parser.parse_args()
    levels = [int(v) for v in args.vus.split(",")]
    pinned = (os.cpu_count() or 1) >= 2
    project = f"tierbench-k6cost-{uuid.uuid4().hex[:8]}"
    runs: dict[int, list[dict]] = {vus: [] for vus in levels}
    with tempfile.TemporaryDirectory(prefix="tierbench-k6cost-") as tmp:
        directory = Path(tmp)
        docker = compose_client(
            [COMPOSE_FILE, stack_override(directory, pinned)], project_name=project
        )
        try:
            docker.compose.up(services=["mock-llm", "agent-ts"], detach=True, force_recreate=True)
            wait_healthy(f"http://127.0.0.1:{AGENT_PORT}")
            k6_cpu_per_request(directory, False, levels[0], "3s", pinned)  # warm both sides
            for _ in range(args.rounds):
                for vus in levels:
                    for raw in WAYS.values():
                        run = k6_cpu_per_request(directory, raw, vus, args.duration, pinned)
                        runs[vus].append(run)
        finally:
            docker.compose.down(remove_orphans=True, timeout=2)
    where = f"runtime and mock on CPU {SERVICES_CPU}, k6 on CPU {LOAD_CPU}"
    print(
        "k6's CPU per request (its user + system time over the requests it sent) on the "
        f"reference flow, k6/agent-flow.js against agent-ts; {args.duration} a run, "
        f"{args.rounds} rounds, both ways back to back in each; "
        f"{where if pinned else 'not pinned: fewer than 2 cores'}:\n"
    )
    for vus in levels:
        report(runs[vus], vus)
    return 0


if __name__ == "__main__":
    sys.exit(main())
