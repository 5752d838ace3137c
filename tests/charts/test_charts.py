"""Chart logic without a browser: frame planning, easing, reading results, and figures for
bad input (missing cells, no requests, all failed, one runtime, one tier, odd tier names)."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import polars as pl
import pytest
from PIL import Image

from conftest import DATA
from tierbench.charts import theme
from tierbench.charts.comparison.animation import frame_figure
from tierbench.charts.comparison.bars_frame import bars_figure
from tierbench.charts.comparison.frame_parts import CONTENDED_NOTE
from tierbench.charts.comparison.frame_plan import (
    BARS,
    RACE,
    TABLE,
    cumulative_until,
    ease_in_out_cubic,
    eased_value_at,
    morph_value,
    plan_animation,
    series_until,
)
from tierbench.charts.comparison.race_frame import race_figure
from tierbench.charts.comparison.report import report_figures
from tierbench.charts.comparison.results import load_chart_data
from tierbench.charts.comparison.results_table import table_figure
from tierbench.charts.comparison.summary_image import footer_text, summary_figure
from tierbench.charts.output.video import gif_durations_ms, write_gif, write_mp4, write_videos

SMOKE = DATA / "results-smoke"
# Older cells recorded from real k6 runs: three services, two repeats at XS, one cell missing.
RECORDED = SMOKE / "recorded"


def copy_results(destination: Path) -> Path:
    shutil.copytree(SMOKE, destination, ignore=shutil.ignore_patterns("recorded", "*.md"))
    return destination


def rewrite(results: Path, name: str, change) -> None:
    path = results / f"{name}.parquet"
    change(pl.read_parquet(path)).write_parquet(path)


def layout_of(results: Path) -> tuple[list[str], list[str]]:
    """The runtimes and the tiers (in tier order) of a results directory."""
    summary = pl.read_parquet(results / "summary.parquet").sort("tier_order")
    return summary["runtime"].unique(maintain_order=True).to_list(), summary["tier"].unique(
        maintain_order=True
    ).to_list()


def _is(runtime: str, tier: str) -> pl.Expr:
    return (pl.col("runtime") == runtime) & (pl.col("tier") == tier)


def variant(kind: str, destination: Path) -> Path:
    """The smoke results turned into one kind of bad input, at the second tier."""
    results = copy_results(destination)
    runtimes, tiers = layout_of(results)
    first, last, tier = runtimes[0], runtimes[-1], tiers[1]
    if kind == "missing-cell":
        for name in ("summary", "timeline"):
            rewrite(results, name, lambda df: df.filter(~_is(last, tier)))
        (results / "meta" / f"{last}-{tier}.json").unlink()
    elif kind == "all-failed":
        for name in ("summary", "timeline"):
            rewrite(
                results,
                name,
                lambda df: df.with_columns(
                    pl.when(_is(last, tier))
                    .then(1.0)
                    .otherwise(pl.col("error_rate"))
                    .alias("error_rate")
                ),
            )
    elif kind == "no-requests":
        rewrite(
            results,
            "summary",
            lambda df: df.with_columns(
                *[
                    pl.when(_is(first, tier))
                    .then(None if c.endswith("_ms") else 0)
                    .otherwise(pl.col(c))
                    .alias(c)
                    for c in ("requests", "rps", "p50_ms", "p95_ms", "p99_ms")
                ]
            ),
        )
        rewrite(
            results,
            "timeline",
            lambda df: df.with_columns(
                *[
                    pl.when(_is(first, tier))
                    .then(None if c.endswith("_ms") else 0.0)
                    .otherwise(pl.col(c))
                    .alias(c)
                    for c in ("rps", "p99_ms")
                ]
            ),
        )
    elif kind == "single-runtime":
        for name in ("summary", "timeline"):
            rewrite(results, name, lambda df: df.filter(pl.col("runtime") == last))
        for meta in (results / "meta").glob("*.json"):
            if not meta.name.startswith(f"{last}-"):
                meta.unlink()
    elif kind == "single-tier":
        for name in ("summary", "timeline"):
            rewrite(results, name, lambda df: df.filter(pl.col("tier") == tier))
        for meta in (results / "meta").glob("*.json"):
            if not meta.stem.endswith(f"-{tier}"):
                meta.unlink()
    elif kind == "odd-tier-names":
        names = {name: f"pool-{i}" for i, name in enumerate(tiers)}
        names[tiers[0]] = "tiny"
        for name in ("summary", "timeline"):
            rewrite(results, name, lambda df: df.with_columns(pl.col("tier").replace(names)))
        for meta in (results / "meta").glob("*.json"):
            content = json.loads(meta.read_text())
            content["tier"] = names[content["tier"]]
            meta.write_text(json.dumps(content))
    elif kind == "summary-only":
        (results / "timeline.parquet").unlink()
    else:
        raise ValueError(kind)
    return results


BAD_INPUTS = [
    "missing-cell",
    "all-failed",
    "no-requests",
    "single-runtime",
    "single-tier",
    "odd-tier-names",
    "summary-only",
]


def all_text(figure: dict) -> str:
    """Every string a figure shows: annotations, trace text and table cells."""
    return json.dumps(figure, ensure_ascii=False)


# --- frames ---------------------------------------------------------------------------


def test_easing_starts_and_ends_still_and_is_monotonic():
    xs = np.linspace(0, 1, 101)
    eased = ease_in_out_cubic(xs)
    assert eased[0] == 0 and eased[-1] == 1 and eased[50] == pytest.approx(0.5)
    assert np.all(np.diff(eased) >= 0)
    assert eased[1] < 0.001 and 1 - eased[-2] < 0.001


@pytest.mark.parametrize("tiers", [1, 2, 4, 6])
def test_plan_has_the_requested_length_and_segment_order(tiers):
    plan = plan_animation(tiers, length_s=24, fps=15)
    assert abs(plan.duration_s - 24) <= 0.5
    kinds = [state.kind for state in plan.frames]
    assert kinds[0] == RACE and kinds[-1] == TABLE
    assert {s.tier_index for s in plan.frames if s.kind == RACE} == set(range(tiers))
    # Tiers play in order: race, then its bars, then the next tier's race.
    order = [(s.kind, s.tier_index) for s in plan.frames if s.kind != TABLE]
    assert order == sorted(order, key=lambda item: (item[1], item[0] == BARS))
    morphs = [s.morph for s in plan.frames if s.kind == BARS and s.next_tier_index is not None]
    if tiers > 1:
        assert min(morphs) == 0 and max(morphs) == pytest.approx(1)


def test_short_lengths_still_give_every_tier_a_race():
    plan = plan_animation(4, length_s=3, fps=15)
    assert {s.tier_index for s in plan.frames if s.kind == RACE} == {0, 1, 2, 3}
    assert plan.duration_s < 5


def test_values_ease_between_samples_and_lines_grow_with_time():
    t_s, values = np.array([0.0, 1.0, 2.0]), np.array([0.0, 10.0, 10.0])
    assert eased_value_at(t_s, values, 0.5) == pytest.approx(5.0)
    assert eased_value_at(t_s, values, 0.25) < 2.5  # eased, not linear
    xs, ys = series_until(t_s, values, 1.5)
    assert xs.tolist() == [0.0, 1.0, 1.5] and ys[-1] == pytest.approx(10.0)
    assert cumulative_until(t_s, np.array([100.0, 100.0, 100.0]), 1.5) == pytest.approx(150)
    assert morph_value(10, 20, 0.5) == 15 and morph_value(None, 20, 0.25) == 5


def test_gif_delays_keep_the_frame_rate_in_whole_centiseconds():
    delays = gif_durations_ms(45, 15)
    assert all(d % 10 == 0 for d in delays) and set(delays) <= {60, 70}
    assert sum(delays) == 3000


def test_both_videos_in_one_pass_are_the_videos_made_apart(tmp_path: Path):
    """Held frames (the same PNG again) decode once; the GIF is byte for byte the one
    write_gif makes, and the MP4 has every frame, held ones included."""

    def png(shade: int) -> bytes:
        buffer = io.BytesIO()
        Image.new("RGB", (64, 36), (shade, 255 - shade, 90)).save(buffer, "PNG")
        return buffer.getvalue()

    held = png(200)
    frames = [png(0), png(60), held, held, held, png(120), held]
    write_videos(frames, 10, gif=tmp_path / "both.gif", mp4=tmp_path / "both.mp4")
    write_gif(frames, tmp_path / "alone.gif", 10)
    write_mp4(frames, tmp_path / "alone.mp4", 10)
    assert (tmp_path / "both.gif").read_bytes() == (tmp_path / "alone.gif").read_bytes()
    for name in ("both.mp4", "alone.mp4"):
        count, _ = imageio_ffmpeg.count_frames_and_secs(str(tmp_path / name))
        assert count == len(frames), name
    with Image.open(tmp_path / "both.gif") as gif:
        # Pillow merges the held run into one frame of their summed delay.
        delays = []
        for index in range(gif.n_frames):
            gif.seek(index)
            delays.append(gif.info["duration"])
    assert sum(delays) == 700 and gif.n_frames == 5
    with pytest.raises(ValueError, match="no frames"):
        write_videos([], 10, gif=tmp_path / "none.gif")


# --- reading results ------------------------------------------------------------------


def test_smoke_results_read_in_tier_order_with_every_runtime():
    data = load_chart_data(SMOKE)
    assert [t.name for t in data.tiers] == ["xs", "s", "m", "l"]
    assert [(t.cpus, t.memory_bytes) for t in data.tiers] == [
        (0.25, 2**28),
        (0.5, 2**29),
        (1.0, 2**30),
        (2.0, 2**31),
    ]
    assert sorted(data.runtimes) == ["python", "ts"]
    assert all(data.cell(r, t.name).status is None for r in data.runtimes for t in data.tiers)
    assert all(data.cell(r, "xs").rps > 0 for r in data.runtimes)
    assert data.facts.host_cores and data.facts.profile and data.facts.versions


def test_recorded_results_keep_a_runtime_missing_at_a_tier_and_average_repeats():
    data = load_chart_data(RECORDED)
    assert [t.name for t in data.tiers] == ["xs", "s"]
    assert sorted(data.runtimes) == ["fast", "overload", "slow"]
    assert data.cell("overload", "s").status == theme.NO_DATA
    assert data.timelines[("fast", "xs")].repeats == 2
    assert data.cell("fast", "xs").spread  # *_sd columns with two repeats


def test_missing_results_say_what_to_do(tmp_path):
    with pytest.raises(FileNotFoundError, match="aggregate"):
        load_chart_data(tmp_path)


# --- figures --------------------------------------------------------------------------


def test_missing_cell_is_marked_in_every_figure():
    data = load_chart_data(RECORDED)
    s = [t.name for t in data.tiers].index("s")
    for figure in (
        race_figure(data, s, 0.5, 1280, 720),
        bars_figure(data, s, None, 0, 1280, 720),
        table_figure(data, 1280, 720),
        summary_figure(data),
    ):
        assert "overload" in all_text(figure) and theme.NO_DATA in all_text(figure)


@pytest.mark.parametrize("kind", BAD_INPUTS)
def test_bad_input_builds_every_figure_and_drops_no_runtime(kind, tmp_path):
    data = load_chart_data(variant(kind, tmp_path / "results"))
    plan = plan_animation(len(data.tiers), length_s=6, fps=15)
    figures = [frame_figure(data, state, 640, 360) for state in plan.frames]
    figures += [summary_figure(data)] + [figure for _, figure in report_figures(data)]
    for runtime in data.runtimes:
        assert all(runtime in all_text(figure) for figure in figures[:1] + figures[-5:])
    text = all_text(figures[-1])  # the results table
    if kind == "all-failed":
        assert theme.ALL_FAILED in text
    if kind == "no-requests":
        assert theme.NO_REQUESTS in text
    if kind == "missing-cell":
        assert theme.NO_DATA in text
    if kind == "odd-tier-names":
        assert "TINY" in text and "POOL-1" in text
    # Figures must be plain JSON for the browser: no NaN or infinities sneaking through.
    for figure in figures:
        json.dumps(figure, allow_nan=False)


def test_tiers_where_the_runtime_shared_cpus_with_k6_say_so():
    data = load_chart_data(SMOKE)  # L (2 CPUs) on the 2-core host is contended
    last = len(data.tiers) - 1
    assert CONTENDED_NOTE in all_text(race_figure(data, last, 0.5, 1280, 720))
    assert CONTENDED_NOTE not in all_text(race_figure(data, 0, 0.5, 1280, 720))
    assert "shared CPUs" in all_text(table_figure(data, 1280, 720))


def test_a_saturated_load_side_is_footnoted_in_the_summary_and_the_closing_table(tmp_path):
    results = copy_results(tmp_path / "results")
    meta_path = results / "meta" / "ts-xs.json"
    meta = json.loads(meta_path.read_text())
    meta["load_side"] = {"cores_given": 1, "share_of_given": 0.97, "saturated": True}
    meta_path.write_text(json.dumps(meta))
    data = load_chart_data(results)
    assert data.facts.load_side_saturated == ("ts-xs",)
    assert "load side (k6 and the support services) was saturated in ts-xs" in footer_text(data)
    assert "load side saturated in ts-xs" in all_text(table_figure(data, 1280, 720))
    assert "saturated" not in footer_text(load_chart_data(SMOKE))
