"""Resource quantities are written and read back exactly: 0.25 CPU is 250m, 256MB as
Docker reads it is 256Mi, and nothing inexact is written or accepted."""

import pytest
import yaml

from conftest import REPO
from tierbench.config.limits import Limits, parse_cpus, parse_memory
from tierbench.load.kubernetes.quantities import (
    QuantityError,
    cpu_quantity,
    memory_quantity,
    parse_cpu,
    parse_memory_quantity,
    tier_resources,
)


@pytest.mark.parametrize(
    ("cpus", "expected"),
    [(0.25, "250m"), (0.5, "500m"), (1.0, "1000m"), (2, "2000m"), (1.125, "1125m"), (0.01, "10m")],
)
def test_cpus_are_written_in_millicores(cpus, expected):
    assert cpu_quantity(cpus) == expected
    assert parse_cpu(expected) == cpus


@pytest.mark.parametrize(
    ("memory", "expected"),
    [
        ("256MB", "256Mi"),
        ("512MB", "512Mi"),
        ("1GB", "1Gi"),
        ("2GB", "2Gi"),
        ("1536MB", "1536Mi"),
        ("1.5GB", "1536Mi"),
        ("1Ti", "1Ti"),
        (6 * 1024**2 + 1, "6291457"),
    ],
)
def test_memory_is_written_in_the_largest_exact_binary_unit(memory, expected):
    size = parse_memory(memory)
    assert memory_quantity(size) == expected
    assert parse_memory_quantity(expected) == size


def test_256mb_as_docker_reads_it_is_256mi():
    assert parse_memory("256MB") == 268435456
    assert memory_quantity(268435456) == "256Mi"


@pytest.mark.parametrize(
    ("text", "cpus"),
    [("250m", 0.25), ("0.25", 0.25), ("2", 2.0), ("2000m", 2.0), (1, 1.0), ("1500000u", 1.5)],
)
def test_every_cpu_spelling_the_api_server_returns_reads_back(text, cpus):
    assert parse_cpu(text) == cpus


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("268435456", 268435456),
        ("256Mi", 268435456),
        ("1Gi", 1073741824),
        ("1e3", 1000),
        ("256M", 256_000_000),  # Kubernetes' M is decimal, unlike Docker's
        ("1k", 1000),
        (268435456, 268435456),
    ],
)
def test_every_memory_spelling_reads_back(text, size):
    assert parse_memory_quantity(text) == size


@pytest.mark.parametrize("cpus", [0.0005, 0.1 + 0.2, -1, 0])
def test_cpus_that_are_not_whole_millicores_are_refused(cpus):
    with pytest.raises(QuantityError, match="millicores|positive"):
        cpu_quantity(cpus)


@pytest.mark.parametrize("text", ["0.0005", "1m5", "lots", "", "1.5Xi", True])
def test_inexact_or_malformed_cpu_quantities_are_refused(text):
    with pytest.raises(QuantityError):
        parse_cpu(text)


@pytest.mark.parametrize("text", ["1.5", "100m", "0.3Ki"])
def test_fractional_bytes_are_refused(text):
    with pytest.raises(QuantityError, match="whole number of bytes"):
        parse_memory_quantity(text)


@pytest.mark.parametrize("size", [0, -5, True, 1.5])
def test_memory_that_is_not_a_positive_byte_count_is_refused(size):
    with pytest.raises(QuantityError):
        memory_quantity(size)


def test_every_default_tier_round_trips_exactly_with_requests_equal_to_limits():
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    for name, tier in config["tiers"].items():
        cpus, memory = parse_cpus(tier["cpus"]), parse_memory(tier["memory"])
        resources = tier_resources(Limits(cpus, memory))
        assert resources["requests"] == resources["limits"], name
        assert parse_cpu(resources["limits"]["cpu"]) == cpus, name
        assert parse_memory_quantity(resources["limits"]["memory"]) == memory, name
