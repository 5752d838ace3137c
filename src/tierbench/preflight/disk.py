"""How much raw k6 data a sweep may write: the sweep's load seconds times a rate times the
raw output's size per request."""

from __future__ import annotations

from dataclasses import dataclass

from tierbench.load.host import plan_cpus
from tierbench.preflight.facts import SweepShape

# The raw k6 output's size per HTTP request, in bytes: what results/k6/{cell}.json.gz grows
# by for each request. k6's --out json writes about 14 NDJSON lines per request (its
# http_req_* samples plus its share of the iteration's), about 3 kB plain, and gzips them
# as it goes. Measured on the example sweep: 124 B per request gzip, 2,951 B plain
# (benchmarks/raw_bytes.py, docs/example/benchmarks/raw_bytes.txt). Twice that here, for
# scripts whose tags (URLs, names, groups) compress less well. The disk estimate reads the
# output's size from this constant only: change it with the raw output's format.
RAW_K6_BYTES_PER_REQUEST = 250

# The most requests k6 makes per second per core it runs on, with --out json: 16,090 req/s
# measured on the 2-core build machine (k6 1.1.0 pinned to one core, 10 VUs, one GET per
# iteration to a one-line Node.js server on the other core). No service is cheaper to
# load than that, so it bounds every cell; faster cores would write faster.
K6_REQUESTS_PER_CORE_S = 16_000

# A slow service's rate: the reference python agent served 110 req/s under 0.25 CPU with
# the seed profile. A disk that cannot hold the sweep even at this rate will fill.
SLOW_SERVICE_RPS = 100


@dataclass(frozen=True)
class RawDataEstimate:
    load_s: float  # the load seconds of every cell, summed
    k6_core_s: float  # the same, each cell's seconds times the cores its k6 may use
    bytes_per_request: int
    requests_per_core_s: int

    @property
    def bound_bytes(self) -> float:
        """The raw data at k6's rate bound on the cores each cell's k6 may use."""
        return self.k6_core_s * self.requests_per_core_s * self.bytes_per_request

    def bytes_at(self, requests_per_s: float) -> float:
        """The raw data if every cell averaged this rate."""
        return self.load_s * requests_per_s * self.bytes_per_request

    def filling_rate(self, free_bytes: int) -> float:
        """The average rate at which the sweep's raw data would fill `free_bytes`."""
        return free_bytes / (self.load_s * self.bytes_per_request)


def k6_cores(tier_cpus: float, shape: SweepShape, cpus: list[int]) -> int:
    """Cores k6 may use in a tier's cells: its own where the tier is pinned, else all."""
    plan = plan_cpus(tier_cpus, shape.tier_cpus, shape.cpu_pinning, cpus)
    return len(plan.load_generator_cpus) if plan.enabled else len(cpus)


def estimate_raw_data(shape: SweepShape, cpus: list[int]) -> RawDataEstimate:
    cell_s = shape.cells_per_tier * shape.load_duration_s
    return RawDataEstimate(
        load_s=shape.cells * shape.load_duration_s,
        k6_core_s=sum(cell_s * k6_cores(tier_cpus, shape, cpus) for tier_cpus in shape.tier_cpus),
        bytes_per_request=RAW_K6_BYTES_PER_REQUEST,
        requests_per_core_s=K6_REQUESTS_PER_CORE_S,
    )
