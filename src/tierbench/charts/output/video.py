"""Encode rendered PNG frames as a GIF (Pillow) and an MP4 (ffmpeg's libx264, yuv420p).

`write_videos` makes both in one pass: each frame is decoded once, a frame held on screen
(the same PNG again) is neither decoded nor quantized again, and ffmpeg encodes in its own
process while Pillow quantizes the GIF's frames.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from pathlib import Path

import imageio_ffmpeg
import numpy as np
from PIL import Image

# Colours in the GIF's one shared palette. Chart frames use a handful of colours plus their
# anti-aliased edges; 64 keeps the text smooth and the frames small. One palette for every
# frame means no colour flicker and lets unchanged areas be skipped between frames.
GIF_COLOURS = 64
# x264 quality: 23 is ffmpeg's default; chart frames stay sharp up to about 30.
MP4_CRF = 27


def _decoded(frames: Sequence[bytes]) -> Iterator[Image.Image]:
    for png in frames:
        with Image.open(io.BytesIO(png)) as image:
            yield image.convert("RGB")


def gif_durations_ms(frame_count: int, fps: float) -> list[int]:
    """Per-frame GIF delays in whole centiseconds whose running total tracks `fps` exactly.

    A GIF stores delays in 1/100 s, so 15 fps (66.7 ms) is written as 70, 70, 60, ... ms.
    """
    ends = np.round(np.arange(1, frame_count + 1) * 100 / fps)
    return (np.diff(ends, prepend=0) * 10).astype(int).tolist()


def _rgb(colour: str) -> tuple[int, int, int]:
    value = colour.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def _shared_palette(
    frames: Sequence[bytes], colours: int, exact: Sequence[str] = ()
) -> Image.Image:
    """One palette for every frame: the `exact` colours (the runtimes', the text) as they
    are, and the rest from median cut over frames spread across the animation."""
    fixed = list(dict.fromkeys([(255, 255, 255), *(_rgb(c) for c in exact)]))[:colours]
    picks = sorted({round(i * (len(frames) - 1) / 5) for i in range(6)})
    samples = list(_decoded([frames[p] for p in picks]))
    width, height = samples[0].size
    sheet = Image.new("RGB", (width, height * len(samples)))
    for i, sample in enumerate(samples):
        sheet.paste(sample, (0, height * i))
    free = colours - len(fixed)
    sampled = sheet.quantize(
        colors=max(free, 1), method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE
    )
    entries = np.array(sampled.getpalette()[: free * 3]).reshape(-1, 3)
    # Median cut averages the background with its near-whites (and Pillow's palette lookup
    # is approximate): make every near-white entry pure white so backgrounds stay white.
    entries[entries.min(axis=1) >= 248] = 255
    palette = Image.new("P", (1, 1))
    palette.putpalette(
        np.concatenate([np.array(fixed), entries]).astype(np.uint8).flatten().tolist()
    )
    return palette


def write_videos(
    frames: Sequence[bytes],
    fps: float,
    *,
    gif: Path | str | None = None,
    mp4: Path | str | None = None,
    colours: int = GIF_COLOURS,
    exact_colours: Sequence[str] = (),
    crf: int = MP4_CRF,
) -> None:
    """Write the frames as a looping GIF and/or an H.264 MP4 (yuv420p, playable
    everywhere), both played at `fps`. In the GIF, `exact_colours` (hex) are kept exactly,
    so each runtime's colour matches the other charts."""
    if not frames:
        raise ValueError("no frames to write")
    if gif is None and mp4 is None:
        return
    palette = _shared_palette(frames, colours, exact_colours) if gif is not None else None
    writer = _mp4_writer(frames[0], mp4, fps, crf) if mp4 is not None else None
    indexed: list[Image.Image] = []
    quantized: dict[bytes, Image.Image] = {}
    previous: bytes | None = None
    rgb = b""
    try:
        for png in frames:
            if png != previous:
                image = next(_decoded([png]))
                rgb = image.tobytes() if writer is not None else b""
                if palette is not None and png not in quantized:
                    quantized[png] = image.quantize(palette=palette, dither=Image.Dither.NONE)
                previous = png
            if writer is not None:
                writer.send(rgb)
            if palette is not None:
                indexed.append(quantized[png])
    finally:
        if writer is not None:
            writer.close()
    if gif is not None:
        indexed[0].save(
            gif,
            save_all=True,
            append_images=indexed[1:],
            loop=0,
            duration=gif_durations_ms(len(indexed), fps),
            optimize=False,
            disposal=1,
        )


def _mp4_writer(first: bytes, path: Path | str, fps: float, crf: int):
    """ffmpeg started on `path`, ready for RGB frames of `first`'s size."""
    width, height = next(_decoded([first])).size
    if width % 2 or height % 2:
        raise ValueError(f"H.264 (yuv420p) needs an even width and height, got {width}x{height}")
    writer = imageio_ffmpeg.write_frames(
        str(path),
        (width, height),
        fps=fps,
        codec="libx264",
        pix_fmt_out="yuv420p",
        macro_block_size=2,
        quality=None,
        ffmpeg_log_level="error",
        output_params=[
            "-crf",
            str(crf),
            "-preset",
            "medium",
            "-tune",
            "animation",
            "-movflags",
            "+faststart",
        ],
    )
    writer.send(None)
    return writer


def write_gif(
    frames: Sequence[bytes],
    path: Path | str,
    fps: float,
    *,
    colours: int = GIF_COLOURS,
    exact_colours: Sequence[str] = (),
) -> None:
    """The frames as a looping GIF alone (`write_videos`)."""
    write_videos(frames, fps, gif=path, colours=colours, exact_colours=exact_colours)


def write_mp4(frames: Sequence[bytes], path: Path | str, fps: float, *, crf: int = MP4_CRF) -> None:
    """The frames as an H.264 MP4 alone (`write_videos`)."""
    write_videos(frames, fps, mp4=path, crf=crf)
