// How many processes this runtime serves with: as many as its CPU limit allows.
//
// The CPU limit is read from the container's cgroup at start (cgroup v2 `cpu.max`, or v1
// `cpu.cfs_quota_us` / `cpu.cfs_period_us`): ceil(quota / period) processes, at least one
// and at most the CPUs the machine offers. Without a CPU limit, one per CPU. `WORKERS` in
// the environment overrides the count.

import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";

function read(path: string): string | null {
  try {
    return readFileSync(path, "utf8").trim();
  } catch {
    return null;
  }
}

export function cpuLimit(root = "/sys/fs/cgroup"): number | null {
  const max = read(`${root}/cpu.max`);
  if (max !== null) {
    const [quota, period] = max.split(/\s+/);
    return quota === "max" ? null : Number(quota) / Number(period);
  }
  const quota = Number(read(`${root}/cpu/cpu.cfs_quota_us`) ?? -1);
  const period = Number(read(`${root}/cpu/cpu.cfs_period_us`) ?? 0);
  return quota > 0 && period > 0 ? quota / period : null;
}

export function workerCount(): number {
  const override = Number(process.env.WORKERS ?? 0);
  if (override > 0) return Math.floor(override);
  const usable = availableParallelism();
  const limit = cpuLimit();
  if (limit === null) return usable;
  return Math.max(1, Math.min(usable, Math.ceil(limit - 1e-9)));
}
