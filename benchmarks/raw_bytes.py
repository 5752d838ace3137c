"""Bytes of k6's raw results per HTTP request, as a sweep kept them (gzip) and as they
would be plain, cell by cell, from a results directory.

    python benchmarks/raw_bytes.py [results]
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    results = Path(argv[0] if argv else "results")
    rows = []
    for raw in sorted((results / "k6").glob("*.json.gz")):
        cell = raw.name.removesuffix(".json.gz")
        summary = json.loads((results / "k6" / f"{cell}.summary.json").read_text())
        requests = (summary.get("metrics", {}).get("http_reqs") or {}).get("count", 0)
        if not requests:
            continue
        plain = len(gzip.decompress(raw.read_bytes()))
        rows.append((cell, requests, raw.stat().st_size, plain))
    if not rows:
        print(f"{results}: no raw k6 results (results/k6/*.json.gz) to measure", file=sys.stderr)
        return 2
    print(f"k6's raw results in {results}/k6, per HTTP request:")
    print(f"  {'cell':<14} {'requests':>9} {'gzip B/req':>11} {'plain B/req':>12} {'ratio':>6}")
    for cell, requests, kept, plain in rows:
        print(
            f"  {cell:<14} {requests:>9,} {kept / requests:>11,.0f} {plain / requests:>12,.0f}"
            f" {plain / kept:>5.1f}x"
        )
    requests = sum(r[1] for r in rows)
    kept, plain = sum(r[2] for r in rows), sum(r[3] for r in rows)
    print(
        f"  {'all cells':<14} {requests:>9,} {kept / requests:>11,.0f} {plain / requests:>12,.0f}"
        f" {plain / kept:>5.1f}x"
    )
    print(f"\n  kept: {kept / 1e6:,.1f} MB gzip; plain it would be {plain / 1e6:,.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
