import pytest

from conftest import DATA
from tierbench.config.limits import Limits
from tierbench.load.docker.cgroups import (
    Counters,
    counters_from_v1,
    counters_from_v2,
    parse_mountinfo,
    parse_proc_cgroup,
)
from tierbench.load.docker.sampler import parse_docker_stats_line, sample_row

CGROUP = DATA / "cgroup"


def files(version: str) -> dict[str, str]:
    return {p.name: p.read_text() for p in (CGROUP / version).iterdir()}


def test_v1_counters_recorded_from_a_throttled_container():
    # Recorded on this project's cgroup v1 host from a container limited to 0.5 CPU / 64 MiB
    # that spun for 2.5 s while allocating 40 MiB.
    counters = counters_from_v1(files("v1"))
    assert counters.cpu_usage_ns == 1060859200
    assert (counters.nr_periods, counters.nr_throttled) == (27, 10)
    assert counters.throttled_ns == 254665934
    assert counters.memory_usage_bytes == 45371392
    assert counters.memory_limit_bytes == 64 * 2**20
    assert counters.oom_kills == 0
    assert 0 < counters.memory_working_set_bytes <= counters.memory_usage_bytes


def test_v2_counters():
    counters = counters_from_v2(files("v2"))
    assert counters.cpu_usage_ns == 2150342 * 1000
    assert (counters.nr_periods, counters.nr_throttled) == (412, 57)
    assert counters.throttled_ns == 1830455 * 1000
    assert counters.memory_usage_bytes == 73547776
    assert counters.memory_working_set_bytes == 73547776 - 4194304
    assert counters.memory_limit_bytes == 268435456
    assert counters.oom_kills == 2


def test_v2_without_a_memory_limit():
    contents = files("v2") | {"memory.max": "max\n"}
    assert counters_from_v2(contents).memory_limit_bytes is None


def test_locating_the_v1_controllers():
    paths = parse_proc_cgroup((CGROUP / "v1" / "proc-pid-cgroup").read_text())
    mounts = parse_mountinfo((CGROUP / "v1" / "mountinfo").read_text())
    assert paths["memory"].startswith("/docker/")
    assert mounts["cpuacct"] == ("/", "/sys/fs/cgroup/cpuacct")
    assert mounts["memory"] == ("/", "/sys/fs/cgroup/memory")


def test_locating_the_v2_hierarchy():
    paths = parse_proc_cgroup((CGROUP / "v2" / "proc-pid-cgroup").read_text())
    mounts = parse_mountinfo((CGROUP / "v2" / "mountinfo").read_text())
    assert paths[""] == "/system.slice/docker-3f4c2a9e7b1d.scope"
    assert mounts[""] == ("/", "/sys/fs/cgroup")


def counters(cpu_ns, periods, throttled, throttled_ns, memory, inactive=0, oom=0):
    return Counters(cpu_ns, periods, throttled, throttled_ns, memory, inactive, None, oom)


def test_sample_row_turns_counter_deltas_into_rates():
    limits = Limits(0.5, 512 * 2**20)
    before = counters(1_000_000_000, 100, 10, 50_000_000, 100 * 2**20)
    after = counters(1_250_000_000, 105, 13, 80_000_000, 128 * 2**20, inactive=28 * 2**20)
    row = sample_row(before, after, 0.5, limits)
    assert row["cpu_cores"] == pytest.approx(0.5)
    assert row["cpu_pct_of_limit"] == pytest.approx(100.0)
    assert (row["nr_periods"], row["nr_throttled"]) == (5, 3)
    assert row["throttled_s"] == pytest.approx(0.03)
    assert row["memory_bytes"] == 100 * 2**20
    assert row["memory_pct_of_limit"] == pytest.approx(100 * 100 / 512)


def test_first_sample_has_no_interval_figures():
    row = sample_row(None, counters(5, 1, 0, 0, 2**20), 0.5, Limits(1, 2**30))
    assert row["cpu_cores"] is None and row["throttled_s"] is None
    assert row["memory_bytes"] == 2**20


def test_counters_going_backwards_mean_a_restart():
    limits = Limits(1, 2**30)
    before = counters(9_000_000_000, 500, 0, 0, 2**20)
    after = counters(100_000_000, 2, 0, 0, 2**20)
    assert sample_row(before, after, 1.0, limits)["cpu_cores"] == pytest.approx(0.1)


def test_docker_stats_fallback_line():
    line = '\x1b[2J\x1b[H{"CPUPerc":"12.50%","MemUsage":"64MiB / 256MiB","Name":"x"}'
    row = parse_docker_stats_line(line, Limits(0.25, 256 * 2**20))
    assert row["cpu_cores"] == pytest.approx(0.125)
    assert row["cpu_pct_of_limit"] == pytest.approx(50.0)
    assert row["memory_bytes"] == 64 * 2**20
    assert row["throttled_s"] is None
    assert parse_docker_stats_line("garbage", Limits(1, 2**30)) is None
