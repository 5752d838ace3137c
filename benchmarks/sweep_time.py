"""How long a whole command takes (a sweep, say), start to end.

The command's own output goes to stderr as it runs; stdout gets its duration and exit
code, so it can be kept in a file:

    python benchmarks/sweep_time.py make capacity > docs/example/benchmarks/capacity_time.txt

With `--load-from RESULTS`, it also adds up the load the sweep held (each cell's k6 run,
from the `meta/` files the command wrote) and prints what the pipeline took besides:

    python benchmarks/sweep_time.py --load-from results make bench
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import time
from pathlib import Path


def held_load(results: Path, since: float) -> tuple[int, float]:
    """Cells whose meta the command wrote, and the seconds of load they held."""
    cells, seconds = 0, 0.0
    for meta in sorted((results / "meta").glob("*.json")):
        if meta.stat().st_mtime < since:
            continue
        window = json.loads(meta.read_text()).get("window") or {}
        if window.get("load_duration_s"):
            cells += 1
            seconds += float(window["load_duration_s"])
    return cells, seconds


def minutes(seconds: float) -> str:
    whole, rest = divmod(round(seconds), 60)
    return f"{whole} min {rest:02d} s"


def main(argv: list[str]) -> int:
    results = None
    if argv[:1] == ["--load-from"] and len(argv) > 2:
        results, argv = Path(argv[1]), argv[2:]
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    wall_start = time.time() - 1  # file times are coarser than the clock
    started = time.monotonic()
    code = subprocess.run(argv, stdout=sys.stderr).returncode
    seconds = time.monotonic() - started
    print(f"$ {shlex.join(argv)}: {minutes(seconds)} ({seconds:.0f} s), exit code {code}")
    if results is not None:
        cells, load = held_load(results, wall_start)
        if cells:
            rest = seconds - load
            print(f"  load held: {minutes(load)} ({load:.0f} s) over {cells} cells")
            print(
                f"  everything else (builds, start-ups, limit checks, tidy, aggregate, charts): "
                f"{minutes(rest)} ({rest:.0f} s), {100 * rest / load:.0f} % of the load time"
            )
        else:
            print(f"  no cell's meta in {results}/meta was written by this command")
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
