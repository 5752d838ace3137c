"""Encode rendered PNG frames as a GIF (Pillow) and an MP4 (ffmpeg's libx264, yuv420p)."""

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


def write_gif(
    frames: Sequence[bytes],
    path: Path | str,
    fps: float,
    *,
    colours: int = GIF_COLOURS,
    exact_colours: Sequence[str] = (),
) -> None:
    """Write the frames as a looping GIF played at `fps`; `exact_colours` (hex) are kept
    exactly, so each runtime's colour matches the other charts."""
    if not frames:
        raise ValueError("no frames to write")
    palette = _shared_palette(frames, colours, exact_colours)
    indexed = [
        image.quantize(palette=palette, dither=Image.Dither.NONE) for image in _decoded(frames)
    ]
    indexed[0].save(
        path,
        save_all=True,
        append_images=indexed[1:],
        loop=0,
        duration=gif_durations_ms(len(indexed), fps),
        optimize=False,
        disposal=1,
    )


def write_mp4(frames: Sequence[bytes], path: Path | str, fps: float, *, crf: int = MP4_CRF) -> None:
    """Write the frames as an H.264 MP4 (yuv420p, playable everywhere)."""
    if not frames:
        raise ValueError("no frames to write")
    first = next(_decoded(frames[:1]))
    width, height = first.size
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
    for image in _decoded(frames):
        writer.send(np.asarray(image).tobytes())
    writer.close()
