"""How much the yardstick, and the host-speed loop, move on their own on this host.

Reads the yardstick READINGS times in a row at one tier's CPU limit, pinned as a cell
would be (the runtime's CPUs apart from the load side's), with nothing else running, and
times the host-speed probe's pure-Python loop on the runtime's CPUs right after each
reading. Prints each reading, then each one's mean, coefficient of variation and slowest
over fastest (what a drift threshold must stay above, and how far one reading can be
trusted), and how closely the two move together: where the host's own speed moves the
yardstick, its CPU per request and the loop's time correlate.

    python benchmarks/yardstick_spread.py [CPUS] [READINGS] [SECONDS] \\
        > docs/example/benchmarks/yardstick_spread.txt

SECONDS is each reading's length (the yardstick's own, DURATION_S, by default): a longer
reading spreads less only where the host's speed moves faster than the reading lasts.
"""

from __future__ import annotations

import statistics
import sys

from tierbench.config.limits import Limits, LimitSet
from tierbench.load.docker.yardstick import measure_yardstick
from tierbench.load.host import cpuset, plan_cpus
from tierbench.load.host_speed import LOOP_ITERATIONS, probe_speed
from tierbench.load.yardstick import DURATION_S


def spread(name: str, unit: str, values: list[float]) -> str:
    mean = statistics.mean(values)
    cv = statistics.stdev(values) / mean
    return (
        f"{name}: mean {mean:,.1f} {unit}, CV {cv:.1%}, "
        f"{min(values):,.1f}-{max(values):,.1f} (×{max(values) / min(values):.2f}), "
        f"n={len(values)}"
    )


def main(cpus: float, readings: int, seconds: float) -> None:
    plan = plan_cpus(cpus, [cpus], "auto")
    limits = LimitSet.for_tier(
        Limits(cpus=cpus, memory_bytes=512 * 2**20), cpuset(plan.runtime_cpus)
    )
    print(f"# {plan.reason}; {cpus:g} CPUs, {readings} readings of {seconds:g} s in a row")
    rates, costs, loops = [], [], []
    for index in range(readings):
        reading = measure_yardstick(limits, plan.load_generator_cpus, seconds)
        loop = statistics.median(probe_speed(plan.runtime_cpus))
        rates.append(reading.rps)
        costs.append(reading.cpu_ms_per_request)
        loops.append(loop)
        print(
            f"yardstick {index + 1}: {reading.rps:,.0f} req/s, "
            f"{reading.cpu_ms_per_request:.3f} ms CPU per request, "
            f"{reading.cpu_pct_of_limit:.0f} % of the limit; "
            f"host-speed loop {loop:.1f} ms",
            flush=True,
        )
    print(f"# host-speed loop: {LOOP_ITERATIONS:,} iterations, the median of 5, after each reading")
    print(spread("yardstick", "req/s", rates))
    print(spread("host-speed loop", "ms", loops))
    print(
        f"correlation of the yardstick's CPU per request with the loop's time: "
        f"{statistics.correlation(costs, loops):.2f}"
    )


if __name__ == "__main__":
    main(
        float(sys.argv[1]) if len(sys.argv) > 1 else 1.0,
        int(sys.argv[2]) if len(sys.argv) > 2 else 20,
        float(sys.argv[3]) if len(sys.argv) > 3 else DURATION_S,
    )
