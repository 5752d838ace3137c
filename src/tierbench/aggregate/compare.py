"""Compare two result sets (two results/ directories), cell by cell.

A change counts only when it is larger than the noise: twice the combined standard
deviation of the two means where repeats give one, else a fixed share of the baseline.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import polars as pl

# metric -> True when higher is better
COMPARED = {"rps": True, "p95_ms": False, "p99_ms": False}
KEY = ["runtime", "tier"]


@dataclass(frozen=True)
class CompareSettings:
    noise: float = 0.05
    """Relative change treated as noise when there are no repeats to measure it."""
    fail_above: float = 0.10
    """A slowdown beyond the noise and larger than this share is a regression."""


class ResultSetError(ValueError):
    """A directory without a readable summary."""


def read_summary(directory: Path | str) -> pl.DataFrame:
    """The summary of a result set: DIR/summary.parquet, or DIR/results/summary.parquet."""
    directory = Path(directory)
    for candidate in (directory / "summary.parquet", directory / "results" / "summary.parquet"):
        if candidate.exists():
            summary = pl.read_parquet(candidate)
            missing = [c for c in [*KEY, *COMPARED] if c not in summary.columns]
            if missing:
                raise ResultSetError(f"{candidate}: lacks the columns {', '.join(missing)}")
            return summary
    raise ResultSetError(
        f"{directory}: no summary.parquet here or in {directory / 'results'}; "
        "run the aggregate stage (snakemake) for that result set first."
    )


def _sd(summary: pl.DataFrame, metric: str) -> pl.Expr:
    column = f"{metric}_sd"
    return pl.col(column) if column in summary.columns else pl.lit(None, dtype=pl.Float64)


def compare_summaries(
    baseline: pl.DataFrame, candidate: pl.DataFrame, settings: CompareSettings
) -> pl.DataFrame:
    """One row per runtime x tier in either set: values, relative change and verdicts."""
    def side(summary: pl.DataFrame, suffix: str) -> pl.DataFrame:
        return summary.select(
            *KEY,
            *(pl.col(m).alias(f"{m}_{suffix}") for m in COMPARED),
            *(_sd(summary, m).alias(f"{m}_sd_{suffix}") for m in COMPARED),
        )

    joined = side(baseline, "base").join(
        side(candidate, "cand"), on=KEY, how="full", coalesce=True, maintain_order="left"
    )
    columns = []
    for metric, higher_is_better in COMPARED.items():
        base, cand = pl.col(f"{metric}_base"), pl.col(f"{metric}_cand")
        change = cand / base - 1
        combined_sd = (
            pl.col(f"{metric}_sd_base").pow(2) + pl.col(f"{metric}_sd_cand").pow(2)
        ).sqrt()
        noise = pl.coalesce(2 * combined_sd / base, pl.lit(settings.noise))
        better = change > 0 if higher_is_better else change < 0
        verdict = (
            pl.when(base.is_null()).then(pl.lit("only in candidate"))
            .when(cand.is_null()).then(pl.lit("only in baseline"))
            .when(change.abs() <= noise).then(pl.lit("within noise"))
            .when(better).then(pl.lit("faster"))
            .otherwise(pl.lit("slower"))
        )
        regression = (verdict == "slower") & (change.abs() > settings.fail_above)
        columns += [
            change.alias(f"{metric}_change"),
            noise.alias(f"{metric}_noise"),
            verdict.alias(f"{metric}_verdict"),
            regression.alias(f"{metric}_regression"),
        ]
    compared = joined.with_columns(columns)
    verdicts = [pl.col(f"{m}_verdict") for m in COMPARED]
    overall = (
        pl.when(pl.any_horizontal(v == "slower" for v in verdicts)).then(pl.lit("slower"))
        .when(pl.any_horizontal(v == "faster" for v in verdicts)).then(pl.lit("faster"))
        .otherwise(verdicts[0])
    )
    return compared.with_columns(
        verdict=overall,
        regression=pl.any_horizontal(pl.col(f"{m}_regression") for m in COMPARED).fill_null(
            False
        ),
    )


def _value(value: float | None, sd: float | None, digits: int) -> str:
    if value is None:
        return "–"
    if sd is None or math.isnan(sd):
        return f"{value:.{digits}f}"
    return f"{value:.{digits}f} ± {sd:.{digits}f}"


def comparison_markdown(comparison: pl.DataFrame, settings: CompareSettings) -> str:
    header = ["runtime", "tier"]
    for metric in COMPARED:
        header += [f"{metric} baseline", f"{metric} candidate", f"{metric} change"]
    header.append("verdict")
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    for row in comparison.iter_rows(named=True):
        cells = [row["runtime"], row["tier"]]
        for metric in COMPARED:
            digits = 1 if metric == "rps" else 2
            change = row[f"{metric}_change"]
            cells += [
                _value(row[f"{metric}_base"], row[f"{metric}_sd_base"], digits),
                _value(row[f"{metric}_cand"], row[f"{metric}_sd_cand"], digits),
                "–" if change is None else
                f"{change:+.1%} ({row[f'{metric}_verdict']}, noise ±{row[f'{metric}_noise']:.1%})",
            ]
        cells.append(row["verdict"] + (" — REGRESSION" if row["regression"] else ""))
        lines.append("| " + " | ".join(cells) + " |")
    regressions = comparison.filter(pl.col("regression"))
    lines.append("")
    if regressions.height:
        lines.append(
            f"{regressions.height} cell(s) slower by more than {settings.fail_above:.0%} "
            "beyond the noise: "
            + ", ".join(f"{r} at {t}" for r, t in regressions.select(KEY).iter_rows())
            + "."
        )
    else:
        lines.append(f"No regression beyond {settings.fail_above:.0%}.")
    return "\n".join(lines) + "\n"
