"""Frames rendered per second for the comparison animation, batched vs naive, side by side.

    .venv/bin/python benchmarks/render_fps.py [--results DIR] [--frames 90] [--naive-frames 15]

Renders the same distinct race frames at 1280x720 three ways, in one run:
- tierbench's renderer: one browser, MathJax off, batches of frames per tab, tabs in parallel;
- kaleido's own batch API (one browser, MathJax off, but a page reload after every image);
- the naive loop: `go.Figure(frame).write_image(...)` per frame, plotly's defaults.
The naive loop is slow, so it runs on the first --naive-frames frames only; the rate is
per frame either way. Then the rendered frames, the last held for a second as the
animation holds its closing table, are encoded as a GIF and an MP4 two ways: each file in
its own pass (`write_gif`, then `write_mp4`) and both in one pass (`write_videos`, what a
render does). The host's load average is printed: other work on the machine slows
every method, so compare the methods within one run rather than across runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import kaleido
import plotly.graph_objects as go

from tierbench.charts.comparison.race_frame import race_figure
from tierbench.charts.comparison.results import load_chart_data
from tierbench.charts.output.png_renderer import default_workers, render_figures
from tierbench.charts.output.video import write_gif, write_mp4, write_videos

REPO = Path(__file__).resolve().parents[1]
TARGET_FPS = 10
TARGET_RATIO = 4


def race_frames(results: Path, count: int, width: int, height: int) -> list[dict]:
    """`count` distinct race frames spread over every tier."""
    data = load_chart_data(results)
    per_tier = max(2, -(-count // len(data.tiers)))
    frames = [
        race_figure(data, tier, step / (per_tier - 1), width, height)
        for tier in range(len(data.tiers))
        for step in range(per_tier)
    ]
    return frames[:count]


def time_batched(frames: list[dict], workers: int) -> tuple[float, list[bytes]]:
    started = time.perf_counter()
    images = render_figures(frames, workers=workers)
    elapsed = time.perf_counter() - started
    assert len(images) == len(frames)
    return elapsed, images


def time_encoding(images: list[bytes], out: Path, fps: int = 15) -> tuple[int, float, float]:
    """The frames encoded, and the seconds to write the GIF and the MP4 in two passes, then
    in one."""
    frames = [*images, *[images[-1]] * fps]
    started = time.perf_counter()
    write_gif(frames, out / "apart.gif", fps)
    write_mp4(frames, out / "apart.mp4", fps)
    apart = time.perf_counter() - started
    started = time.perf_counter()
    write_videos(frames, fps, gif=out / "together.gif", mp4=out / "together.mp4")
    together = time.perf_counter() - started
    assert (out / "apart.gif").read_bytes() == (out / "together.gif").read_bytes()
    return len(frames), apart, together


def time_kaleido_batch(frames: list[dict], workers: int, out: Path) -> float:
    async def run() -> None:
        async with kaleido.Kaleido(n=workers, mathjax=False) as browser:
            await browser.write_fig_from_object(
                [{"fig": f, "path": out / f"kaleido-{i}.png"} for i, f in enumerate(frames)],
                cancel_on_error=True,
            )

    started = time.perf_counter()
    asyncio.run(run())
    return time.perf_counter() - started


def time_naive(frames: list[dict], out: Path) -> float:
    started = time.perf_counter()
    for index, frame in enumerate(frames):
        figure = go.Figure(frame)
        figure.write_image(
            out / f"naive-{index}.png",
            width=frame["layout"]["width"],
            height=frame["layout"]["height"],
        )
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=REPO / "tests/data/results-smoke")
    parser.add_argument("--frames", type=int, default=90)
    parser.add_argument("--naive-frames", type=int, default=15)
    parser.add_argument("--workers", type=int, default=default_workers())
    parser.add_argument("--skip-kaleido-batch", action="store_true")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()

    frames = race_frames(args.results, args.frames, 1280, 720)
    load_before = os.getloadavg()[0]
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch)
        seconds, images = time_batched(frames, args.workers)
        results["batched"] = {"frames": len(frames), "seconds": seconds}
        encoded, encode_apart, encode_together = time_encoding(images, out)
        if not args.skip_kaleido_batch:
            seconds = time_kaleido_batch(frames, args.workers, out)
            results["kaleido_batch"] = {"frames": len(frames), "seconds": seconds}
        naive = frames[: args.naive_frames]
        results["naive"] = {"frames": len(naive), "seconds": time_naive(naive, out)}
    load_after = os.getloadavg()[0]

    for figures in results.values():
        figures["frames_per_s"] = figures["frames"] / figures["seconds"]
    batched, naive_fps = results["batched"]["frames_per_s"], results["naive"]["frames_per_s"]
    ratio = batched / naive_fps
    cores = os.cpu_count()
    print(f"1280x720 race frames from {args.results}, {cores} cores, {args.workers} tabs")
    print(f"load average: {load_before:.2f} before, {load_after:.2f} after")
    labels = {
        "batched": "tierbench renderer (one browser, batched tabs)",
        "kaleido_batch": "kaleido write_fig_from_object (reload per image)",
        "naive": "naive loop: fig.write_image per frame",
    }
    for name, figures in results.items():
        print(
            f"  {labels[name]:<50} {figures['frames']:>4} frames in {figures['seconds']:6.1f} s"
            f"  = {figures['frames_per_s']:5.2f} frames/s"
        )
    print(f"  batched is {ratio:.1f} times faster than the naive loop")
    if "kaleido_batch" in results:
        print(
            f"  batched is {batched / results['kaleido_batch']['frames_per_s']:.1f} times "
            "faster than kaleido's batch API"
        )
    print(
        f"  encoding {encoded} frames as GIF and MP4: {encode_apart:.1f} s in two "
        f"passes, {encode_together:.1f} s in one ({encode_apart / encode_together:.2f} x)"
    )
    if load_before > (cores or 1) * 0.75:
        print(
            f"warning: the host was busy (load {load_before:.1f} on {cores} cores); every "
            "rate above is lower than on a quiet machine. Rerun when it is idle.",
            file=sys.stderr,
        )
    passed = batched >= TARGET_FPS and ratio >= TARGET_RATIO
    print(
        f"target: >= {TARGET_FPS} frames/s and >= {TARGET_RATIO}x naive: "
        + ("met" if passed else "NOT met")
    )
    if args.json:
        summary = {
            "cores": cores,
            "workers": args.workers,
            "load_before": load_before,
            "load_after": load_after,
            "ratio": ratio,
            "median_frame_ms": None,
            "encode_s": {"two_passes": encode_apart, "one_pass": encode_together},
            "methods": results,
        }
        summary["median_frame_ms"] = statistics.median(
            [1000 / r["frames_per_s"] for r in results.values()]
        )
        args.json.write_text(json.dumps(summary, indent=2))
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
