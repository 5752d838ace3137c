"""Plan the animation's frames and ease timeline values between the per-second samples.

The animation runs, for each tier in order: a *race* segment replaying the tier's
timeline, then a *bars* segment showing the tier's final figures and morphing them into the
next tier's; it ends with the full results table. Everything here is pure data: the
figures are drawn in `animation.py`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

RACE = "race"
BARS = "bars"
TABLE = "table"

# Share of each bars segment spent holding the tier's figures before morphing, and after.
HOLD_BEFORE = 0.3
HOLD_AFTER = 0.15


@dataclass(frozen=True)
class FrameState:
    kind: str  # RACE, BARS or TABLE
    tier_index: int = 0
    race_fraction: float = 0.0  # RACE: how far through the tier's timeline (0..1)
    next_tier_index: int | None = None  # BARS: the tier being morphed into, if any
    morph: float = 0.0  # BARS: eased progress from tier_index to next_tier_index (0..1)


@dataclass(frozen=True)
class AnimationPlan:
    fps: int
    frames: list[FrameState]

    @property
    def duration_s(self) -> float:
        return len(self.frames) / self.fps


def ease_in_out_cubic(x: float | np.ndarray) -> float | np.ndarray:
    """0 → 1 with zero speed at both ends: movements start and stop gently."""
    x = np.clip(x, 0.0, 1.0)
    return np.where(x < 0.5, 4 * x**3, 1 - (-2 * x + 2) ** 3 / 2)


def plan_animation(
    tier_count: int,
    *,
    length_s: float = 24.0,
    fps: int = 15,
    transition_s: float = 1.6,
    closing_s: float = 3.0,
) -> AnimationPlan:
    """Split `length_s` seconds at `fps` into race, bars and table segments.

    Race segments share what the bars and the closing table leave; when the length is too
    short for that, every segment shrinks in proportion.
    """
    if fps < 1 or length_s <= 0:
        raise ValueError(
            f"the animation needs fps >= 1 and a positive length, got {fps} fps, {length_s} s"
        )
    tier_count = max(tier_count, 0)
    fixed = closing_s + tier_count * transition_s
    race_s = (length_s - fixed) / tier_count if tier_count else 0.0
    if tier_count and race_s < length_s / (2 * tier_count):
        # Keep at least half of the length for the races themselves.
        race_s = length_s / (2 * tier_count)
        scale = (length_s - race_s * tier_count) / fixed
        closing_s, transition_s = closing_s * scale, transition_s * scale

    frames: list[FrameState] = []
    for index in range(tier_count):
        race_frames = max(2, round(race_s * fps))
        frames += [
            FrameState(RACE, index, race_fraction=i / (race_frames - 1)) for i in range(race_frames)
        ]
        bars_frames = max(1, round(transition_s * fps))
        following = index + 1 if index + 1 < tier_count else None
        for i in range(bars_frames):
            progress = i / max(bars_frames - 1, 1)
            morph_share = (progress - HOLD_BEFORE) / (1 - HOLD_BEFORE - HOLD_AFTER)
            morph = float(ease_in_out_cubic(morph_share)) if following is not None else 0.0
            frames.append(FrameState(BARS, index, next_tier_index=following, morph=morph))
    frames += [FrameState(TABLE)] * max(1, round(closing_s * fps))
    return AnimationPlan(fps=fps, frames=frames)


def eased_value_at(t_s: np.ndarray, values: np.ndarray, t: float) -> float:
    """The value at time `t`, eased between the samples either side (NaN in a gap)."""
    if len(t_s) == 0 or t < t_s[0]:
        return float("nan")
    after = int(np.searchsorted(t_s, t, side="right"))
    if after >= len(t_s):
        return float(values[-1])
    before = after - 1
    span = t_s[after] - t_s[before]
    share = float(ease_in_out_cubic((t - t_s[before]) / span)) if span > 0 else 1.0
    return float(values[before] + (values[after] - values[before]) * share)


def series_until(t_s: np.ndarray, values: np.ndarray, t: float) -> tuple[np.ndarray, np.ndarray]:
    """The samples up to time `t`, plus an eased point at `t` itself: the line's moving head."""
    shown = t_s <= t
    xs, ys = t_s[shown], values[shown]
    if len(xs) and xs[-1] < t and len(xs) < len(t_s):
        xs = np.append(xs, t)
        ys = np.append(ys, eased_value_at(t_s, values, t))
    return xs, ys


def cumulative_until(t_s: np.ndarray, per_second: np.ndarray, t: float) -> float:
    """Total of a per-second rate from the start up to time `t` (e.g. requests so far)."""
    if len(t_s) == 0:
        return 0.0
    rates = np.nan_to_num(per_second)
    done = t_s + 1 <= t
    total = float(rates[done].sum())
    current = int(np.searchsorted(t_s, t, side="right")) - 1
    if 0 <= current < len(t_s) and not done[current]:
        total += float(rates[current]) * max(0.0, min(1.0, t - t_s[current]))
    return total


def morph_value(start: float | None, end: float | None, progress: float) -> float:
    """Interpolate a bar in data space; a missing side counts as zero so bars grow or shrink."""
    a = 0.0 if start is None else start
    b = 0.0 if end is None else end
    return a + (b - a) * progress
