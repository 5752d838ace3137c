import pytest

from tierbench.compose_project import compose_exact_cpus_near, compose_nano_cpus
from tierbench.config.limits import (
    LimitError,
    Limits,
    LimitSet,
    format_bytes,
    format_cpus,
    limit_differences,
    parse_cpus,
    parse_cpuset,
    parse_memory,
)
from tierbench.load.docker.containers import limits_from_inspect


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("256MB", 256 * 2**20),
        ("256M", 256 * 2**20),
        ("256Mi", 256 * 2**20),
        ("512m", 512 * 2**20),
        ("1GB", 2**30),
        ("1.5G", 3 * 2**29),
        ("2Gi", 2 * 2**30),
        ("65536k", 64 * 2**20),
        (268435456, 268435456),
        ("268435456", 268435456),
        (" 1 GB ", 2**30),
    ],
)
def test_memory_sizes_read_as_docker_reads_them(text, expected):
    assert parse_memory(text) == expected


@pytest.mark.parametrize("text", ["12XB", "lots", "", "1.5.2GB", "-1GB", "GB", True, None])
def test_memory_that_is_not_a_size_names_the_value_and_the_units(text):
    with pytest.raises(LimitError, match="not a size"):
        parse_memory(text)


def test_memory_below_what_docker_accepts_is_refused():
    with pytest.raises(LimitError, match="at least 6MB"):
        parse_memory("4MB")


@pytest.mark.parametrize(("value", "expected"), [(0.25, 0.25), ("0.5", 0.5), (2, 2.0)])
def test_cpus(value, expected):
    assert parse_cpus(value) == expected


@pytest.mark.parametrize("value", [0, -1, "abc", None, float("nan"), float("inf"), True])
def test_cpus_must_be_a_positive_number(value):
    with pytest.raises(LimitError, match="cpus"):
        parse_cpus(value)


@pytest.mark.parametrize("value", [1.2345678, 0.0105, 0.2501])
def test_cpus_finer_than_a_millicore_are_refused(value):
    with pytest.raises(LimitError, match="at most three decimals"):
        parse_cpus(value)


def test_cpus_below_what_docker_applies_are_refused():
    with pytest.raises(LimitError, match="below 0.01"):
        parse_cpus(0.005)


@pytest.mark.parametrize(("cpus", "text"), [(0.25, "0.25"), (2.0, "2"), (1.125, "1.125")])
def test_cpus_are_written_exactly(cpus, text):
    assert format_cpus(cpus) == text


# NanoCpus that Docker Compose v2.40 applied for deploy.resources.limits.cpus, read back
# with `docker inspect` on this project's machine.
@pytest.mark.parametrize(
    ("cpus", "nano"),
    [
        (0.25, 250_000_000),
        (0.57, 570_000_000),
        (0.13, 129_999_992),
        (0.016, 16_000_001),
        (0.52, 519_999_968),
        (1.05, 1_049_999_936),
        (1.2345678, 1_234_567_808),
        (0.33333, 333_330_016),
    ],
)
def test_compose_cpu_arithmetic_is_reproduced(cpus, nano):
    assert compose_nano_cpus(cpus) == nano


def test_nearest_values_compose_applies_exactly():
    assert compose_exact_cpus_near(0.13) == [0.126, 0.131]


def test_applied_limits_from_inspect():
    applied = limits_from_inspect(
        {"NanoCpus": 250_000_000, "Memory": 268435456, "MemorySwap": 268435456, "CpusetCpus": "0"}
    )
    assert applied == LimitSet(0.25, 268435456, 268435456, "0")
    quota = limits_from_inspect(
        {"NanoCpus": 0, "CpuQuota": 50_000, "CpuPeriod": 100_000, "Memory": 2**30, "MemorySwap": 0}
    )
    assert (quota.cpus, quota.memory_bytes) == (0.5, 2**30)
    # MemorySwap 0 means "not set": Docker gives twice the memory; -1 is unlimited.
    assert quota.memswap_bytes == 2 * 2**30
    assert limits_from_inspect({"Memory": 2**30, "MemorySwap": -1}).memswap_bytes is None
    assert limits_from_inspect({}) == LimitSet(0.0, 0, None, "")


def test_cpusets_compare_as_sets_of_cpus():
    assert parse_cpuset("0-2,5") == {0, 1, 2, 5}
    assert parse_cpuset("") == frozenset()


def test_differences_name_each_limit():
    requested = LimitSet.for_tier(Limits(0.5, 512 * 2**20), "0")
    assert limit_differences(requested, requested, "Docker") == []
    assert limit_differences(requested, LimitSet(0.5, 512 * 2**20, 512 * 2**20, "0-0"), "D") == []
    applied = LimitSet(0.0, 2**30, 2**31, "1")
    keys = [key for key, _ in limit_differences(requested, applied, "Docker")]
    assert keys == ["cpus", "memory", "memswap", "cpuset"]
    texts = dict(limit_differences(requested, applied, "Docker"))
    assert texts["cpus"] == "cpus: requested 0.5, Docker applied no CPU limit"
    assert texts["memory"] == f"memory: requested {512 * 2**20} bytes, Docker applied {2**30} bytes"
    assert f"Docker applied {2**31} bytes" in texts["memswap"]
    assert texts["cpuset"] == "cpuset: requested CPUs 0, Docker applied CPUs 1"


def test_format_bytes():
    assert format_bytes(256 * 2**20) == "256 MiB"
    assert format_bytes(1.5 * 2**30) == "1.5 GiB"
