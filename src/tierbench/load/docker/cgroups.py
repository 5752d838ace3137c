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
class CgroupFiles:
    """Where one container's counters live."""

    version: int
    directories: dict[str, Path]  # controller → directory (v2: "" → directory)

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
        files = CgroupFiles(1, directories)
    elif "" in paths and "" in mounts:
        files = CgroupFiles(2, {"": _join(mounts[""], paths[""])})
    else:
        return None
    try:
        files.read()
    except (OSError, KeyError, ValueError):
        return None
    return files
