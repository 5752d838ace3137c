"""A container's CPU, throttling and memory counters, read from cgroup v1 or v2 files.

Parsing is kept apart from reading, so both hierarchies are tested from fixture files.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

# Files read on each hierarchy, relative to the container's cgroup directory of the
# controller named first.
V1_FILES = {
    "cpu": ["cpu.stat"],
    "cpuacct": ["cpuacct.usage"],
    "memory": [
        "memory.usage_in_bytes",
        "memory.stat",
        "memory.limit_in_bytes",
        "memory.oom_control",
    ],
}
V2_FILES = ["cpu.stat", "cpu.max", "memory.current", "memory.stat", "memory.max", "memory.events"]


@dataclass(frozen=True)
class Counters:
    """Cumulative counters of one cgroup at one moment."""

    cpu_usage_ns: int
    nr_periods: int | None
    nr_throttled: int | None
    throttled_ns: int | None
    memory_usage_bytes: int
    memory_inactive_file_bytes: int
    memory_limit_bytes: int | None
    oom_kills: int | None

    @property
    def memory_working_set_bytes(self) -> int:
        """Memory in use as `docker stats` and the kubelet count it: usage less inactive cache."""
        return max(0, self.memory_usage_bytes - self.memory_inactive_file_bytes)


def parse_keyed(text: str) -> dict[str, int]:
    """`key value` lines (cpu.stat, memory.stat, memory.events, memory.oom_control)."""
    values = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].lstrip("-").isdigit():
            values[parts[0]] = int(parts[1])
    return values


def parse_limit(text: str) -> int | None:
    """A limit file: a number, or `max` (v2) / a huge number (v1) for no limit."""
    value = text.split()[0] if text.split() else "max"
    if value == "max":
        return None
    number = int(value)
    return None if number >= 2**62 else number


def counters_from_v1(files: dict[str, str]) -> Counters:
    """Counters from cgroup v1 file contents, keyed by file name."""
    cpu = parse_keyed(files["cpu.stat"])
    memory = parse_keyed(files["memory.stat"])
    oom = parse_keyed(files.get("memory.oom_control", ""))
    return Counters(
        cpu_usage_ns=int(files["cpuacct.usage"].strip()),
        nr_periods=cpu.get("nr_periods"),
        nr_throttled=cpu.get("nr_throttled"),
        throttled_ns=cpu.get("throttled_time"),
        memory_usage_bytes=int(files["memory.usage_in_bytes"].strip()),
        memory_inactive_file_bytes=memory.get(
            "total_inactive_file", memory.get("inactive_file", 0)
        ),
        memory_limit_bytes=parse_limit(files.get("memory.limit_in_bytes", "max")),
        # Kernels before 4.13 do not count OOM kills in memory.oom_control.
        oom_kills=oom.get("oom_kill"),
    )


def counters_from_v2(files: dict[str, str]) -> Counters:
    """Counters from cgroup v2 file contents, keyed by file name."""
    cpu = parse_keyed(files["cpu.stat"])
    memory = parse_keyed(files["memory.stat"])
    events = parse_keyed(files.get("memory.events", ""))
    throttled_usec = cpu.get("throttled_usec")
    return Counters(
        cpu_usage_ns=cpu["usage_usec"] * 1000,
        nr_periods=cpu.get("nr_periods"),
        nr_throttled=cpu.get("nr_throttled"),
        throttled_ns=None if throttled_usec is None else throttled_usec * 1000,
        memory_usage_bytes=int(files["memory.current"].strip()),
        memory_inactive_file_bytes=memory.get("inactive_file", 0),
        memory_limit_bytes=parse_limit(files.get("memory.max", "max")),
        oom_kills=events.get("oom_kill"),
    )


def parse_proc_cgroup(text: str) -> dict[str, str]:
    """`/proc/PID/cgroup` → controller (or "" for the v2 hierarchy) → path."""
    paths = {}
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        if not controllers:
            paths[""] = path
        for controller in controllers.split(","):
            paths[controller] = path
    return paths


def parse_mountinfo(text: str) -> dict[str, tuple[str, str]]:
    """`/proc/self/mountinfo` → controller (or "" for cgroup2) → (mount root, mount point)."""
    mounts: dict[str, tuple[str, str]] = {}
    for line in text.splitlines():
        fields = line.split()
        if " - " not in line:
            continue
        dash = fields.index("-")
        fstype, super_options = fields[dash + 1], fields[dash + 3]
        root, mount_point = fields[3], fields[4]
        if fstype == "cgroup2":
            mounts.setdefault("", (root, mount_point))
        elif fstype == "cgroup":
            for option in super_options.split(","):
                mounts.setdefault(option, (root, mount_point))
    return mounts


def _join(mount: tuple[str, str], path: str) -> Path:
    root, mount_point = mount
    # A mount of a sub-tree (inside a container) holds paths relative to its root.
    if root != "/" and path.startswith(root):
        path = path[len(root) :]
    return Path(mount_point) / path.lstrip("/")


@dataclass(frozen=True)
class CgroupLimits:
    """The limits the kernel enforces on one cgroup."""

    memory_bytes: int | None
    cpu_quota_us: int | None  # None: no CPU limit
    cpu_period_us: int | None


def limits_from_v1(memory_limit: str, cfs_quota: str, cfs_period: str) -> CgroupLimits:
    quota = int(cfs_quota.split()[0])
    return CgroupLimits(
        memory_bytes=parse_limit(memory_limit),
        cpu_quota_us=None if quota < 0 else quota,
        cpu_period_us=int(cfs_period.split()[0]),
    )


def limits_from_v2(memory_max: str, cpu_max: str) -> CgroupLimits:
    quota, _, period = cpu_max.strip().partition(" ")
    return CgroupLimits(
        memory_bytes=parse_limit(memory_max),
        cpu_quota_us=None if quota == "max" else int(quota),
        cpu_period_us=int(period) if period else None,
    )


def expected_cfs_quota_us(nano_cpus: int, period_us: int) -> int:
    """The CFS quota Docker writes for NanoCpus (integer microseconds per period)."""
    return nano_cpus * period_us // 1_000_000_000


@dataclass(frozen=True)
class CgroupFiles:
    """Where one container's counters live."""

    version: int
    directories: dict[str, Path]  # controller → directory (v2: "" → directory)
    pid: int = 0

    def identity_problem(self, container_id: str, memory_bytes: int, nano_cpus: int) -> str | None:
        """Why these files may not be the container's, or None when they are proven to be:
        the container's id in every cgroup path, and the kernel's limits equal to the
        limits Docker reports for it."""
        for directory in self.directories.values():
            if container_id not in str(directory):
                return (
                    f"the cgroup of PID {self.pid} is {directory}, which does not name "
                    f"container {container_id[:12]} (a remote engine, or another PID "
                    "namespace)"
                )
        try:
            limits = self.read_limits()
        except (OSError, ValueError, IndexError) as error:
            return f"the cgroup limits of PID {self.pid} cannot be read ({error})"
        if limits.memory_bytes != memory_bytes:
            return (
                f"the cgroup of PID {self.pid} has memory limit {limits.memory_bytes}, not "
                f"the {memory_bytes} bytes applied to container {container_id[:12]}"
            )
        if nano_cpus and limits.cpu_period_us:
            expected = expected_cfs_quota_us(nano_cpus, limits.cpu_period_us)
            if limits.cpu_quota_us != expected:
                return (
                    f"the cgroup of PID {self.pid} has CPU quota {limits.cpu_quota_us} us per "
                    f"{limits.cpu_period_us} us, not the {expected} us of the container's "
                    f"{nano_cpus / 1e9:g} CPUs"
                )
        return None

    def read_limits(self) -> CgroupLimits:
        if self.version == 2:
            directory = self.directories[""]
            return limits_from_v2(
                (directory / "memory.max").read_text(), (directory / "cpu.max").read_text()
            )
        return limits_from_v1(
            (self.directories["memory"] / "memory.limit_in_bytes").read_text(),
            (self.directories["cpu"] / "cpu.cfs_quota_us").read_text(),
            (self.directories["cpu"] / "cpu.cfs_period_us").read_text(),
        )

    def _peak_file(self) -> Path:
        if self.version == 2:
            return self.directories[""] / "memory.peak"
        return self.directories["memory"] / "memory.max_usage_in_bytes"

    def reset_memory_peak(self) -> bool:
        """Start the kernel's memory peak afresh (cgroup v1, and v2 kernels >= 6.12);
        False where the kernel keeps the peak since the cgroup was made."""
        try:
            self._peak_file().write_text("0\n")
        except OSError:
            return False
        return True

    def memory_peak_bytes(self) -> int | None:
        """The kernel's own memory peak (usage, page cache included), or None where this
        kernel keeps none (cgroup v2 before 5.19)."""
        try:
            return int(self._peak_file().read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def read(self) -> Counters:
        """Read the counters now; OSError when the cgroup is gone (container stopped)."""
        if self.version == 2:
            directory = self.directories[""]
            contents = {}
            for name in V2_FILES:
                try:
                    contents[name] = (directory / name).read_text()
                except FileNotFoundError:
                    if name in ("cpu.stat", "memory.current", "memory.stat"):
                        raise
            return counters_from_v2(contents)
        contents = {}
        for controller, names in V1_FILES.items():
            for name in names:
                contents[name] = (self.directories[controller] / name).read_text()
        return counters_from_v1(contents)


def locate_cgroup(pid: int, proc: Path = Path("/proc")) -> CgroupFiles | None:
    """The cgroup files of a process (a container's init), or None where out of reach."""
    try:
        paths = parse_proc_cgroup((proc / str(pid) / "cgroup").read_text())
        mounts = parse_mountinfo((proc / "self" / "mountinfo").read_text())
    except OSError:
        return None
    if all(c in paths and c in mounts for c in V1_FILES):
        directories = {c: _join(mounts[c], paths[c]) for c in V1_FILES}
        files = CgroupFiles(1, directories, pid)
    elif "" in paths and "" in mounts:
        files = CgroupFiles(2, {"": _join(mounts[""], paths[""])}, pid)
    else:
        return None
    try:
        files.read()
    except (OSError, KeyError, ValueError):
        return None
    return files
