"""Probe trust: what the full steps said of the rates only a probe had passed.

Reads the capacity step tables under a results directory (`capacity/steps/*.csv`, at any
depth: a tracing or variants sweep's too) and, for each search whose first failing full
step lay above a rate only a probe had passed (the best pass, unheld), prints the full
steps run between the two afterwards and what that rate's own full holds did. Where every
step between failed, bisecting that bracket before holding the probe's rate cost steps;
the search holds it first (docs/capacity.md, the search). Needs no engine.

    python benchmarks/probe_trust.py [RESULTS] (default: docs/example)
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path


def first_failure_above_a_probe(rows: list[dict]) -> dict | None:
    """The first failing full step of one search, when the best pass below it was a
    probe's alone: that step, the probe's rate, and the full steps that came after it."""
    probe_passes: set[float] = set()
    full_passes: set[float] = set()
    rows = [r for r in rows if "held again" not in r["reasons"]]
    for i, row in enumerate(rows):
        rate, passed = float(row["requested_rate"]), row["passed"] == "true"
        if row["phase"] == "probe":
            if passed:
                probe_passes.add(rate)
            continue
        if passed:
            full_passes.add(rate)
            continue
        below = [r for r in probe_passes | full_passes if r < rate]
        if not below or max(below) in full_passes:
            return None
        lo = max(below)
        later = [
            (float(r["requested_rate"]), r["passed"] == "true")
            for r in rows[i + 1 :]
            if r["phase"] != "probe"
        ]
        return {
            "failed": rate,
            "probe_rate": lo,
            "between": [(r, ok) for r, ok in later if lo < r < rate],
            "probe_rate_held": [ok for r, ok in later if r == lo],
        }
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="?", default="docs/example", type=Path)
    args = parser.parse_args()
    tables = sorted(args.results.glob("**/capacity/steps/*.csv"))
    if not tables:
        print(f"no capacity step tables under {args.results}", file=sys.stderr)
        return 1
    found, all_failed = 0, 0
    for table in tables:
        with open(table) as handle:
            case = first_failure_above_a_probe(list(csv.DictReader(handle)))
        if case is None:
            continue
        found += 1
        between = " ".join(f"{r:.1f}{'P' if ok else 'F'}" for r, ok in case["between"]) or "-"
        held = " ".join("P" if ok else "F" for ok in case["probe_rate_held"]) or "-"
        every = bool(case["between"]) and not any(ok for _, ok in case["between"])
        all_failed += every
        name = table.relative_to(args.results)
        print(
            f"{name}: failed {case['failed']:.1f} it/s above the probe's {case['probe_rate']:.1f}; "
            f"between: {between}; the probe's rate held: {held}"
            + ("  <- every step between failed" if every else "")
        )
    print(
        f"\n{found} of {len(tables)} searches failed a full step above a rate only a probe "
        f"had passed; in {all_failed} of them every full step between failed"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
