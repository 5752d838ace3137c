"""Compare two result sets (two results/ directories, or committed copies of one), cell
by cell.

First the two sets must have been measured under the same conditions (load profile,
k6 script, each tier's limits, host cores and CPU model, tierbench version); a comparison
across different conditions is refused with the differences listed, unless asked for.
Then, for each runtime x tier and metric, the difference of the two means over the
repeats, its standard error and a confidence interval (Welch's t, unequal variances):
a change counts as faster or slower only when the interval excludes zero, and a slowdown
is a regression when it is also at least `fail_above` of the baseline.

Two sets measured on hosts of different speed do not compare in plain req/s. Where both
carry the yardstick (a fixed HTTP service measured at each cell's limits, see
tierbench.load.yardstick) and its readings at some tier differ beyond their own spread
(Welch's interval excluding zero), the hosts are said to differ and req/s is compared in
yardstick units, each cell's req/s over its set's yardstick at that tier (`raw` keeps the
plain figures). Latency is compared as measured either way.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from tierbench.aggregate.welch import SampleDifference, sample_difference, welch
from tierbench.cell_meta import CellMeta, CellMetaError
from tierbench.load.yardstick import tier_yardsticks

# metric -> True when higher is better
COMPARED = {"rps": True, "p95_ms": False, "p99_ms": False}
KEY = ["runtime", "tier"]
LABELS = {"rps": "req/s", "p95_ms": "p95 ms", "p99_ms": "p99 ms"}


@dataclass(frozen=True)
class CompareSettings:
    confidence: float = 0.95
    """Confidence of the interval of each difference of means."""
    fail_above: float = 0.05
    """The smallest significant slowdown, as a share of the baseline, that is a regression."""


class ResultSetError(ValueError):
    """A directory without readable results."""


@dataclass(frozen=True)
class ResultSet:
    path: Path
    runs: pl.DataFrame  # one row per cell (runtime x tier x repeat)
    metas: list[CellMeta]


def _results_dir(directory: Path) -> Path:
    for candidate in (directory, directory / "results"):
        if (candidate / "runs.parquet").exists() or (candidate / "runs.csv").exists():
            return candidate
    raise ResultSetError(
        f"{directory}: no runs.parquet or runs.csv here or in {directory / 'results'}; "
        "run the aggregate stage (snakemake) for that result set first."
    )


def read_result_set(directory: Path | str) -> ResultSet:
    """The per-repeat rows (runs.parquet, else runs.csv) and the cells' meta files."""
    directory = Path(directory)
    results = _results_dir(directory)
    parquet, csv = results / "runs.parquet", results / "runs.csv"
    runs = pl.read_parquet(parquet) if parquet.exists() else pl.read_csv(csv)
    missing = [c for c in [*KEY, *COMPARED] if c not in runs.columns]
    if missing:
        raise ResultSetError(f"{results}: its runs table lacks the columns {', '.join(missing)}")
    try:
        metas = [CellMeta.read(p) for p in sorted((results / "meta").glob("*.json"))]
    except CellMetaError as error:
        raise ResultSetError(str(error)) from None
    if not metas:
        raise ResultSetError(
            f"{results}: no meta/*.json beside the tables, so what was measured cannot be "
            "checked; copy the cells' meta files with the tables."
        )
    return ResultSet(results, runs, metas)


def _conditions(metas: list[CellMeta]) -> dict[str, set[str]]:
    """What shaped the measurements, each as the set of values seen in the set."""
    found: dict[str, set[str]] = {}

    def note(key: str, value: object) -> None:
        found.setdefault(key, set()).add(
            value if isinstance(value, str) else json.dumps(value, sort_keys=True)
        )

    for meta in metas:
        profile = meta.profile or {}
        note("load profile", profile.get("name"))
        note("load stages", profile.get("stages"))
        note("warm-up (s)", profile.get("warmup_s"))
        k6 = meta.k6 or {}
        note("k6 script", k6.get("script_sha256") or Path(str(k6.get("script"))).name)
        requested = meta.limits.get("requested") or {}
        note(
            f"tier {meta.tier} limits",
            {"cpus": requested.get("cpus"), "memory_bytes": requested.get("memory_bytes")},
        )
        host = meta.host or {}
        note("host cores", host.get("cores"))
        note("host CPU model", host.get("cpu_model"))
        note("tierbench version", meta.tierbench_version)
    return found


def condition_differences(baseline: ResultSet, candidate: ResultSet) -> list[str]:
    """Plain descriptions of every condition that differs between the two sets."""
    base, cand = _conditions(baseline.metas), _conditions(candidate.metas)
    lines = []
    for key in sorted(set(base) & set(cand)):
        if base[key] != cand[key]:
            lines.append(
                f"{key}: baseline {', '.join(sorted(base[key]))}; "
                f"candidate {', '.join(sorted(cand[key]))}"
            )
    return lines


@dataclass(frozen=True)
class HostSpeed:
    """The yardstick at one tier in both sets: its readings, and the candidate's mean less
    the baseline's with its confidence interval."""

    tier: str
    baseline: list[float]
    candidate: list[float]
    change: SampleDifference  # candidate − baseline, req/s

    @property
    def ratio(self) -> float:
        assert self.change.first and self.change.second
        return self.change.first / self.change.second

    @property
    def differs(self) -> bool:
        """Whether the two hosts read apart beyond the readings' own spread."""
        return bool(self.change.measurable)


def yardstick_readings(result_set: ResultSet) -> dict[str, list[float]]:
    """Each tier's yardstick req/s readings in a set (none before the yardstick existed)."""
    return tier_yardsticks([(meta.tier, meta.yardstick) for meta in result_set.metas])


def host_speeds(
    baseline: ResultSet, candidate: ResultSet, settings: CompareSettings
) -> list[HostSpeed]:
    """The yardstick at every tier both sets measured it, in the baseline's tier order."""
    base, cand = yardstick_readings(baseline), yardstick_readings(candidate)
    return [
        HostSpeed(
            tier,
            base[tier],
            cand[tier],
            sample_difference(cand[tier], base[tier], settings.confidence),
        )
        for tier in base
        if tier in cand
    ]


def unmeasured_tiers(baseline: ResultSet, candidate: ResultSet) -> list[str]:
    """Tiers of either runs table without a yardstick reading in both sets: req/s there
    has no yardstick to be read against."""
    base, cand = yardstick_readings(baseline), yardstick_readings(candidate)
    tiers = [*baseline.runs["tier"], *candidate.runs["tier"]]
    return [tier for tier in dict.fromkeys(tiers) if tier not in base or tier not in cand]


def hosts_differ(speeds: list[HostSpeed]) -> bool:
    return any(speed.differs for speed in speeds)


def in_yardstick_units(runs: pl.DataFrame, readings: dict[str, list[float]]) -> pl.DataFrame:
    """The runs with req/s over the set's yardstick at the same tier (null at a tier it
    was not measured)."""
    means = {tier: statistics.fmean(values) for tier, values in readings.items()}
    yardstick = pl.col("tier").replace_strict(means, default=None, return_dtype=pl.Float64)
    return runs.with_columns(pl.col("rps") / yardstick)


def _per_cell(runs: pl.DataFrame) -> pl.DataFrame:
    if "status" not in runs.columns:  # tables written before cells had outcomes
        runs = runs.with_columns(status=pl.lit("ok"), status_reason=pl.lit(None, pl.String))
    return runs.group_by(KEY, maintain_order=True).agg(
        pl.len().alias("n"),
        (pl.col("status") != "ok").any().alias("failed"),
        pl.col("status_reason").drop_nulls().first().alias("status_reason"),
        *(pl.col(m).mean().alias(m) for m in COMPARED),
        *(pl.col(m).std(ddof=1).alias(f"{m}_sd") for m in COMPARED),
    )


def _judge(metric: str, base: dict, cand: dict, settings: CompareSettings) -> dict[str, Any]:
    higher_is_better = COMPARED[metric]
    b, c = base.get(metric), cand.get(metric)
    out: dict[str, Any] = {
        f"{metric}_{k}": None for k in ("change", "difference", "se", "low", "high", "p")
    }
    out[f"{metric}_regression"] = False
    if b is None:
        out[f"{metric}_verdict"] = "only in candidate"
        return out
    if c is None:
        out[f"{metric}_verdict"] = "only in baseline"
        return out
    out[f"{metric}_change"] = c / b - 1 if b else None
    result = welch(
        b,
        base.get(f"{metric}_sd") or 0.0,
        base["n"],
        c,
        cand.get(f"{metric}_sd") or 0.0,
        cand["n"],
        settings.confidence,
    )
    if result is None:
        out[f"{metric}_difference"] = c - b
        out[f"{metric}_verdict"] = "cannot judge: one run on a side"
        return out
    out |= {
        f"{metric}_difference": result.difference,
        f"{metric}_se": result.standard_error,
        f"{metric}_low": result.low,
        f"{metric}_high": result.high,
        f"{metric}_p": result.p_value,
    }
    if result.low <= 0.0 <= result.high:
        verdict = "no significant change"
    else:
        better = result.difference > 0 if higher_is_better else result.difference < 0
        verdict = "faster" if better else "slower"
    out[f"{metric}_verdict"] = verdict
    change = out[f"{metric}_change"]
    out[f"{metric}_regression"] = bool(
        verdict == "slower" and change is not None and abs(change) >= settings.fail_above
    )
    return out


def compare_runs(
    baseline: pl.DataFrame, candidate: pl.DataFrame, settings: CompareSettings
) -> pl.DataFrame:
    """One row per runtime x tier in either set: means, spread, difference, standard
    error, confidence interval, p-value and verdict per metric."""
    base = {tuple(r[k] for k in KEY): r for r in _per_cell(baseline).iter_rows(named=True)}
    cand = {tuple(r[k] for k in KEY): r for r in _per_cell(candidate).iter_rows(named=True)}
    rows = []
    for key in [*base, *(k for k in cand if k not in base)]:
        b, c = base.get(key, {"n": 0}), cand.get(key, {"n": 0})
        row: dict[str, Any] = dict(zip(KEY, key, strict=True))
        row["n_base"], row["n_cand"] = b["n"], c["n"]
        for metric in COMPARED:
            row[f"{metric}_base"], row[f"{metric}_cand"] = b.get(metric), c.get(metric)
            row[f"{metric}_sd_base"] = b.get(f"{metric}_sd")
            row[f"{metric}_sd_cand"] = c.get(f"{metric}_sd")
            row |= _judge(metric, b, c, settings)
        verdicts = [row[f"{m}_verdict"] for m in COMPARED]
        row["verdict"] = next((v for v in ("slower", "faster") if v in verdicts), verdicts[0])
        row["regression"] = any(row[f"{m}_regression"] for m in COMPARED)
        if c.get("failed") and b.get("n") and not b.get("failed"):
            # It ran before and fails now: the worst regression there is.
            row["verdict"] = f"failed ({c.get('status_reason') or 'see its meta'})"
            row["regression"] = True
        rows.append(row)
    return pl.DataFrame(rows, infer_schema_length=None)


def _mean(value: float | None, sd: float | None, n: int, digits: int) -> str:
    if value is None:
        return "–"
    spread = "" if sd is None or math.isnan(sd) else f" ± {sd:.{digits}f}"
    return f"{value:.{digits}f}{spread} (n={n})"


def _difference(row: dict[str, Any], metric: str, digits: int) -> str:
    difference = row[f"{metric}_difference"]
    if difference is None:
        return "–"
    se = row[f"{metric}_se"]
    text = f"{difference:+.{digits}f}"
    return text if se is None else f"{text} ± {se:.{digits}f}"


def _interval(row: dict[str, Any], metric: str, digits: int) -> str:
    low, high = row[f"{metric}_low"], row[f"{metric}_high"]
    return "–" if low is None else f"{low:+.{digits}f} … {high:+.{digits}f}"


def _metric_row(row: dict, metric: str, normalised: bool = False) -> str:
    """One cell's line of a metric's table."""
    digits = (3 if normalised else 1) if metric == "rps" else 2
    change = row[f"{metric}_change"]
    p = row[f"{metric}_p"]
    verdict = row[f"{metric}_verdict"]
    if row[f"{metric}_regression"]:
        verdict += " — REGRESSION"
    cells = [
        row["runtime"],
        row["tier"],
        _mean(row[f"{metric}_base"], row[f"{metric}_sd_base"], row["n_base"], digits),
        _mean(row[f"{metric}_cand"], row[f"{metric}_sd_cand"], row["n_cand"], digits),
        _difference(row, metric, digits),
        _interval(row, metric, digits),
        "–" if change is None else f"{change:+.1%}",
        "–" if p is None else f"{p:.3f}",
        verdict,
    ]
    return "| " + " | ".join(cells) + " |"


def _conclusion(comparison: pl.DataFrame, settings: CompareSettings, confidence: str) -> list[str]:
    """The failed cells, the regressions, and the cells that cannot be judged."""
    lines = [
        f"**{row['runtime']} at {row['tier']} ran in the baseline and {row['verdict']} in "
        "the candidate: a regression.**"
        for row in comparison.filter(pl.col("verdict").str.starts_with("failed")).iter_rows(
            named=True
        )
    ]
    regressions = comparison.filter(pl.col("regression"))
    unjudged = comparison.filter(
        pl.any_horizontal(pl.col(f"{m}_verdict").str.starts_with("cannot") for m in COMPARED)
    )
    if regressions.height:
        lines.append(
            f"{regressions.height} cell(s) slower beyond the {confidence} confidence interval "
            f"and by at least {settings.fail_above:.0%}: "
            + ", ".join(f"{r} at {t}" for r, t in regressions.select(KEY).iter_rows())
            + "."
        )
    else:
        lines.append(f"No regression at {confidence} confidence.")
    if unjudged.height:
        lines.append(
            f"{unjudged.height} cell(s) ran once on a side, so no spread tells noise from "
            "change there: run both sets with `repeats` of 2 or more to judge them."
        )
    return lines


def host_lines(
    speeds: list[HostSpeed], normalised: bool, confidence: str, unmeasured: Sequence[str] = ()
) -> list[str]:
    """What the yardstick says of the two hosts, and which req/s is compared (as measured
    where the hosts differ but a tier in `unmeasured` has no yardstick in both sets)."""
    if not speeds:
        return []
    readings = [
        f"- {speed.tier}: baseline {speed.change.second:,.0f} req/s "
        f"(n={len(speed.baseline)}), candidate {speed.change.first:,.0f} "
        f"(n={len(speed.candidate)}), ×{speed.ratio:.2f}: "
        + ("differs" if speed.differs else "no significant difference")
        for speed in speeds
    ]
    if not hosts_differ(speeds):
        verdict = (
            f"The yardstick reads alike on both hosts (within its {confidence} interval at "
            "every tier), so req/s is compared as measured."
        )
    elif normalised:
        verdict = (
            f"**The hosts differ**: the yardstick's readings differ beyond their {confidence} "
            "interval, so req/s is compared in yardstick units (each cell's req/s over its "
            "set's yardstick at that tier); `--raw` compares plain req/s. Latency is "
            "compared as measured: read it with the hosts' difference in mind."
        )
    else:
        why = (
            f"the yardstick was not measured at {', '.join(unmeasured)} in both sets"
            if unmeasured
            else "`--raw`"
        )
        verdict = (
            f"**The hosts differ**: the yardstick's readings differ beyond their {confidence} "
            f"interval, yet req/s is compared as measured ({why}): a change may be the "
            "host's, not the runtime's."
        )
    return [
        "## Hosts",
        "",
        "The yardstick (a fixed HTTP service at each tier's limits, measured around each "
        "cell) in each set:",
        "",
        *readings,
        "",
        verdict,
        "",
    ]


def comparison_markdown(
    comparison: pl.DataFrame,
    settings: CompareSettings,
    differences: list[str],
    speeds: list[HostSpeed] | None = None,
    normalised: bool = False,
    unmeasured: Sequence[str] = (),
) -> str:
    """compare.md: the conditions that differ, the hosts' yardstick, a table per metric
    (req/s in yardstick units when `normalised`) and the conclusion."""
    confidence = f"{settings.confidence:.0%}"
    lines = ["# Comparison", ""]
    if differences:
        lines += [
            "**The two sets were measured under different conditions**; compared anyway "
            "(`--allow-different`):",
            "",
            *(f"- {text}" for text in differences),
            "",
        ]
    lines += [
        f"Each figure is the mean over a cell's repeats ± their standard deviation. The "
        f"difference is candidate − baseline ± its standard error; the interval is its "
        f"{confidence} confidence interval (Welch's t). A change is called faster or "
        "slower only when that interval excludes zero; a slowdown of at least "
        f"{settings.fail_above:.0%} of the baseline is a regression.",
        "",
        *host_lines(speeds or [], normalised, confidence, unmeasured),
    ]
    for metric in COMPARED:
        label = "req/s in yardstick units" if normalised and metric == "rps" else LABELS[metric]
        lines += [
            f"## {label}",
            "",
            f"| runtime | tier | baseline | candidate | difference ± SE | {confidence} interval "
            "| change | p | verdict |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
            *(_metric_row(row, metric, normalised) for row in comparison.iter_rows(named=True)),
            "",
        ]
    return "\n".join(lines + _conclusion(comparison, settings, confidence)) + "\n"
