"""Right-sizing arithmetic: replicas, memory fit, the providers' size rounding and cost."""

from __future__ import annotations

import math
import subprocess
import sys

import polars as pl
import pytest

from conftest import REPO
from tierbench.capacity.recommend import capacity_at_slo
from tierbench.capacity.record import CapacityRecord
from tierbench.capacity.rightsizing import (
    SizingError,
    cheapest,
    fargate_size,
    gke_autopilot_size,
    plan_options,
)
from tierbench.capacity.settings import DEFAULT_PRICES, Price
from tierbench.capacity.steps import StepResult
from tierbench.capacity.verdict import Verdict

FARGATE = Price("fargate", 0.04048, 0.004445, "fargate", "s", "d")
GKE = Price("gke", 0.0445, 0.0049225, "gke-autopilot", "s", "d")
MiB = 2**20
TIERBENCH = [
    sys.executable,
    "-c",
    "import sys; from tierbench.commands.cli import main; sys.exit(main())",
]


@pytest.mark.parametrize(
    ("cpus", "memory_gb", "billed"),
    [
        (0.25, 0.25, (0.25, 0.5)),  # XS: 0.25 vCPU with at least 0.5 GB
        (0.25, 0.5, (0.25, 0.5)),
        (0.25, 0.75, (0.25, 1.0)),
        (0.5, 0.5, (0.5, 1.0)),  # S: 0.5 vCPU needs 1-4 GB
        (1.0, 1.0, (1.0, 2.0)),  # M: 1 vCPU needs 2-8 GB
        (2.0, 2.0, (2.0, 4.0)),  # L: 2 vCPU needs 4-16 GB
        (0.3, 0.25, (0.5, 1.0)),  # CPU rounds up to the next size
        (1.0, 9.0, (2.0, 9.0)),  # 9 GB is past 1 vCPU's 8 GB: the next CPU size
        (8.0, 17.0, (8.0, 20.0)),  # 8 vCPU: 4 GB steps from 16
    ],
)
def test_fargate_bills_the_next_valid_size(cpus, memory_gb, billed):
    assert fargate_size(cpus, memory_gb) == billed


def test_fargate_has_no_size_past_16_vcpu():
    with pytest.raises(SizingError, match="no Fargate task size"):
        fargate_size(32, 64)


@pytest.mark.parametrize(
    ("cpus", "memory_gb", "billed"),
    [
        (0.25, 0.25, (0.25, 0.5)),  # minimum 0.5 GiB
        (0.5, 0.25, (0.5, 0.5)),  # at least 1 GiB per vCPU: 0.5 GiB
        (1.0, 0.5, (1.0, 1.0)),
        (0.3, 1.0, (0.5, 1.0)),  # CPU in steps of 0.25
        (0.25, 4.0, (0.75, 4.0)),  # past 6.5 GiB per vCPU: CPU rises
    ],
)
def test_gke_autopilot_raises_requests_to_its_minimums_and_ratios(cpus, memory_gb, billed):
    assert gke_autopilot_size(cpus, memory_gb) == pytest.approx(billed)


def capacity_table(**rows) -> pl.DataFrame:
    return pl.DataFrame(
        [
            {
                "runtime": "ts",
                "tier": tier,
                "cpus": cpus,
                "memory_bytes": memory,
                "capacity_rps": rps,
                "lower_bound": False,
                "memory_peak_bytes": peak,
            }
            for tier, (cpus, memory, rps, peak) in rows.items()
        ]
    )


def test_replicas_memory_fit_and_cost():
    table = capacity_table(
        xs=(0.25, 256 * MiB, 112.0, 40 * MiB),
        s=(0.5, 512 * MiB, 225.0, 40 * MiB),
        tight=(1.0, 256 * MiB, 500.0, 230 * MiB),  # 230 MiB + 15 % is over 256 MiB
    )
    options = plan_options(
        table, [FARGATE, GKE], 1000.0, headroom=0.7, memory_margin=0.15, ha=False
    )
    by = {(o.tier, o.provider): o for o in options}
    xs = by[("xs", "fargate")]
    assert xs.replicas == math.ceil(1000 / (112 * 0.7)) == 13
    assert (xs.billed_vcpu, xs.billed_gb) == (0.25, 0.5)
    assert xs.cost_per_hour == pytest.approx(13 * (0.25 * 0.04048 + 0.5 * 0.004445))
    assert xs.cost_per_million == pytest.approx(xs.cost_per_hour / (1000 * 3600) * 1e6)
    s = by[("s", "fargate")]
    assert s.replicas == 7 and (s.billed_vcpu, s.billed_gb) == (0.5, 1.0)
    assert not by[("tight", "fargate")].memory_fits
    assert not by[("tight", "fargate")].viable and "exceeds" in by[("tight", "fargate")].note
    best = cheapest(options)
    assert best[("ts", "fargate")].tier == "xs"
    assert best[("ts", "gke")].tier == "s"  # 0.5 vCPU with 0.5 GiB on Autopilot


def test_a_tier_where_no_rate_met_the_slo_is_not_viable():
    table = capacity_table(xs=(0.25, 256 * MiB, None, None))
    [option] = plan_options(table, [FARGATE], 100.0, 0.7, 0.15)
    assert option.replicas is None and not option.viable
    assert "no rate met the SLO" in option.note


def test_the_shipped_prices_are_the_published_ones():
    assert DEFAULT_PRICES["aws-fargate-us-east-1"]["vcpu_hour"] == 0.04048
    assert DEFAULT_PRICES["aws-fargate-us-east-1"]["gb_hour"] == 0.004445
    assert DEFAULT_PRICES["gke-autopilot"]["vcpu_hour"] == 0.0445
    assert DEFAULT_PRICES["gke-autopilot"]["gb_hour"] == 0.0049225


def test_with_ha_every_choice_has_one_replica_more_than_the_target_needs():
    """Losing one replica still serves the target within the headroom: never one replica."""
    table = capacity_table(l=(2.0, 2048 * MiB, 5000.0, 100 * MiB))
    [option] = plan_options(table, [FARGATE], 1000.0, 0.7, 0.15, ha=True)
    assert option.replicas == math.ceil(1000 / (5000 * 0.7)) + 1 == 2
    [single] = plan_options(table, [FARGATE], 1000.0, 0.7, 0.15, ha=False)
    assert single.replicas == 1


def step(phase, rate, rps, p99, reasons=""):
    return StepResult(
        name=f"{phase}-{rate}",
        phase=phase,
        requested_rate=rate,
        offered_rate=rate,
        warmup_s=1.0,
        hold_s=10.0,
        started_at="2026-12-01T00:00:00+00:00",
        rps=rps,
        percentile_ms=p99,
        reasons=[reasons] if reasons else [],
    )


RECORD = CapacityRecord(
    tierbench_version="0.1.0",
    cell="ts-xs",
    runtime="ts",
    tier="xs",
    settings={"slo_ms": 250, "percentile": 99, "confirmations": 3},
    limits={"applied": {"cpus": 0.25, "memory_bytes": 256 * MiB}},
    verdict=Verdict(300.0, 60.0, False, "latency", "", 185.0, None, None, None),
    steps=[
        step("probe", 8, 40, 90),
        step("probe", 40, 200, 100),
        step("step", 50, 250, 120),
        step("confirm", 50, 251, 125),
        step("confirm", 50, 249, 118),
        step("step", 60, 300, 180),
        step("confirm", 60, 301, 190),
        step("confirm", 60, 299, 185),
        step("step", 70, 330, 400, "p99 400 ms > SLO 250 ms"),
    ],
)


def test_a_stricter_slo_judges_every_step_on_record_probes_included():
    assert capacity_at_slo(RECORD, 250).capacity_rps == pytest.approx(300)
    at_150 = capacity_at_slo(RECORD, 150)
    assert at_150.capacity_rps == pytest.approx(250) and at_150.confirmations == 3
    # Only the probes kept 110 ms: their rate is the answer, unconfirmed (no full hold).
    at_110 = capacity_at_slo(RECORD, 110)
    assert at_110.capacity_rps == 200 and at_110.confirmations == 0 and at_110.answered
    # No step on record kept 50 ms: the record cannot answer.
    assert not capacity_at_slo(RECORD, 50).answered
    # Looser than the search's own SLO: the search stopped at its knee, so "at least".
    looser = capacity_at_slo(RECORD, 500)
    assert looser.capacity_rps == pytest.approx(300) and looser.lower_bound


def test_a_record_that_cannot_answer_gives_the_command_that_can(tmp_path):
    from tierbench.capacity.recommend import recommendation, recommendation_markdown
    from tierbench.capacity.settings import CapacitySettings

    table = capacity_table(xs=(0.25, 256 * MiB, 300.0, 40 * MiB)).with_columns(
        pl.lit(250.0).alias("slo_ms"),
        pl.lit("latency").alias("limited_by"),
        pl.lit(3).alias("confirmations"),
        pl.lit(3).alias("confirmations_needed"),
        pl.lit(True).alias("confirmed"),
        pl.lit(None, dtype=pl.String).alias("unconfirmed_why"),
    )
    record = RECORD
    settings = CapacitySettings()
    report = recommendation(table, settings, [FARGATE], 100.0, 50.0, [record])
    assert report["unanswered"] == ["ts-xs"]
    text = recommendation_markdown(report)
    assert (
        "snakemake --cores 1 results/capacity/ts-xs.json --config 'capacity={slo_ms: 50}'" in text
    )
    probes_only = recommendation(table, settings, [FARGATE], 100.0, 110.0, [record])
    assert not probes_only["unanswered"]
    assert any("passed 0 of 3 full holds" in note for note in probes_only["cautions"])


def test_recommend_on_the_committed_example_prints_its_recommendation():
    """The README's command, on the example's files, gives what the workflow wrote there."""
    example = REPO / "docs" / "example"
    result = subprocess.run(
        [*TIERBENCH, "recommend", str(example), "--target-rps", "1000"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == (example / "recommendation.md").read_text()


def test_a_stricter_slo_on_the_example_gives_a_recommendation_or_the_command_to_rerun():
    """`tierbench recommend docs/example --target-rps 1000 --slo 150`: every step on
    record judged at 150 ms, probes included; each runtime gets a choice with one replica
    to spare, or the report names the cells to search again and how."""
    example = REPO / "docs" / "example"
    command = [*TIERBENCH, "recommend", str(example), "--target-rps", "1000", "--slo", "150"]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert "p99 ≤ 150 ms" in text
    cheapest = text.split("## The cheapest choice", 1)[1].split("##", 1)[0]
    runtimes = ("ts", "python")
    for runtime in runtimes:
        chosen = f"- **{runtime}**" in cheapest
        rerun = "snakemake --cores 1 results/capacity/" in text and "slo_ms: 150" in text
        assert chosen or rerun, text
    assert "× 1 replica," not in cheapest  # ha: never a single replica
