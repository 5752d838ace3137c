"""Tidy throughput against a plain json.loads loop, side by side, on real k6 output.

    python benchmarks/tidy_throughput.py [--size-gb 1.0] [--source DIR] [--keep]

Builds a k6 JSON file of at least --size-gb (10^9 bytes) in a temporary directory by
concatenating real k6 recordings (default: tests/data/k6/*.json.gz), warms the page cache,
then runs, each in a fresh process so that peak memory is its own:

1. `for line in f: json.loads(line)` over the file (the baseline: parsing only);
2. `tierbench.tidy.k6_json.tidy_k6_json` (parsing, reshaping and writing Parquet).

The two alternate for --rounds rounds (the host may be shared: alternating spreads any
background load over both); the best round of each counts, as the least disturbed. It
prints MB/s and peak RSS of both, and the ratio.
"""

from __future__ import annotations

import argparse
import gzip
import json
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

JSON_LOADS = textwrap.dedent(
    """
    import json, resource, sys, time
    started = time.perf_counter()
    size = 0
    with open(sys.argv[1], "rb") as handle:
        for line in handle:
            json.loads(line)
            size += len(line)
    elapsed = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"seconds": elapsed, "bytes": size, "peak_rss": peak}))
    """
)

TIDY = textwrap.dedent(
    """
    import json, resource, sys, time
    from tierbench.tidy.k6_json import tidy_k6_json
    started = time.perf_counter()
    result = tidy_k6_json(sys.argv[1], sys.argv[2])
    elapsed = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"seconds": elapsed, "bytes": result.bytes_read, "peak_rss": peak,
                      "requests": result.requests}))
    """
)


def build_input(sources: list[Path], target_bytes: int, destination: Path) -> int:
    """Concatenate the recordings (whole files, in turn) until the target size is reached."""
    recordings = [
        gzip.decompress(p.read_bytes()) if p.suffix == ".gz" else p.read_bytes() for p in sources
    ]
    written = 0
    with destination.open("wb") as out:
        while written < target_bytes:
            for recording in recordings:
                out.write(recording)
                written += len(recording)
    return written


def warm_cache(path: Path) -> None:
    with path.open("rb") as handle:
        while handle.read(64 * 1024 * 1024):
            pass


def measure(code: str, *args: str) -> dict:
    completed = subprocess.run(
        [sys.executable, "-c", code, *args], check=True, capture_output=True, text=True
    )
    return json.loads(completed.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-gb", type=float, default=1.0)
    parser.add_argument("--source", type=Path, default=REPO / "tests" / "data" / "k6")
    parser.add_argument(
        "--workdir",
        type=Path,
        default=None,
        help="where the input is built (default: a temporary directory)",
    )
    parser.add_argument("--rounds", type=int, default=3, help="alternating runs of each")
    parser.add_argument("--keep", action="store_true", help="keep the built input")
    args = parser.parse_args()

    sources = sorted(args.source.glob("*.json.gz")) + sorted(args.source.glob("*.json"))
    sources = [p for p in sources if not p.name.endswith(".summary.json")]
    if not sources:
        sys.exit(f"no k6 recordings (*.json, *.json.gz) in {args.source}")
    workdir = Path(tempfile.mkdtemp(prefix="tidy-bench-", dir=args.workdir))
    big = workdir / "k6.json"
    size = build_input(sources, int(args.size_gb * 1e9), big)
    print(f"input: {big} ({size / 1e9:.2f} GB from {len(sources)} real k6 recordings)")
    warm_cache(big)
    rounds: dict[str, list[dict]] = {"json.loads loop": [], "tierbench tidy": []}
    try:
        for _ in range(args.rounds):
            rounds["json.loads loop"].append(measure(JSON_LOADS, str(big)))
            rounds["tierbench tidy"].append(measure(TIDY, str(big), str(workdir / "k6.parquet")))
    finally:
        if not args.keep:
            for path in workdir.iterdir():
                path.unlink()
            workdir.rmdir()
    best = {}
    for label, runs in rounds.items():
        best[label] = min(runs, key=lambda figures: figures["seconds"])
        speeds = [r["bytes"] / 1e6 / r["seconds"] for r in runs]
        mean = sum(speeds) / len(speeds)
        print(
            f"{label:>16}: best {best[label]['seconds']:7.2f} s = {max(speeds):6.1f} MB/s "
            f"(mean {mean:6.1f} MB/s, min {min(speeds):6.1f} ... max {max(speeds):6.1f} over "
            f"{len(runs)} rounds)  peak RSS {max(r['peak_rss'] for r in runs) / 2**20:5.0f} MiB"
        )
    ratio = best["json.loads loop"]["seconds"] / best["tierbench tidy"]["seconds"]
    print(
        f"tidy: {ratio:.2f}× the throughput of the json.loads loop "
        f"({best['tierbench tidy']['requests']:,} requests tidied per run)"
    )


if __name__ == "__main__":
    main()
