import pytest

from tierbench.config.limits import (
    LimitError,
    Limits,
    format_bytes,
    limit_mismatches,
    limits_from_inspect,
    parse_cpus,
    parse_memory,
)


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


def test_cpus_finer_than_nanocpus_are_refused():
    with pytest.raises(LimitError, match="finer"):
        parse_cpus(0.0000000001)


def test_applied_limits_from_nanocpus_or_cfs_quota():
    assert limits_from_inspect({"NanoCpus": 250_000_000, "Memory": 268435456}) == Limits(
        0.25, 268435456
    )
    assert limits_from_inspect(
        {"NanoCpus": 0, "CpuQuota": 50_000, "CpuPeriod": 100_000, "Memory": 2**30}
    ) == Limits(0.5, 2**30)
    assert limits_from_inspect({}) == Limits(0.0, 0)


def test_mismatches_name_each_limit():
    requested = Limits(0.5, 512 * 2**20)
    assert limit_mismatches(requested, requested) == []
    problems = limit_mismatches(requested, Limits(0.0, 2**30))
    assert problems == [
        "cpus: requested 0.5, Docker applied no CPU limit",
        f"memory: requested {512 * 2**20} bytes, Docker applied {2**30} bytes",
    ]


def test_format_bytes():
    assert format_bytes(256 * 2**20) == "256 MiB"
    assert format_bytes(1.5 * 2**30) == "1.5 GiB"
