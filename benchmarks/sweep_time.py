"""How long a whole command takes (a sweep, say), start to end.

The command's own output goes to stderr as it runs; stdout gets one line, its duration
and exit code, so it can be kept in a file:

    python benchmarks/sweep_time.py make capacity > docs/example/benchmarks/capacity_time.txt
"""

from __future__ import annotations

import shlex
import subprocess
import sys
import time


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    started = time.monotonic()
    code = subprocess.run(argv, stdout=sys.stderr).returncode
    seconds = time.monotonic() - started
    minutes, rest = divmod(round(seconds), 60)
    print(f"$ {shlex.join(argv)}: {minutes} min {rest:02d} s ({seconds:.0f} s), exit code {code}")
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
