"""The comparison animation's figures, one plotly figure (as a plain dict) per frame state.

Figures are plain dicts rather than `go.Figure`s: building hundreds of validated figure
objects costs more than rendering them, and kaleido and plotly.js take dicts as they are.
The frames themselves are drawn in `race.py`, `bars.py` and `table.py`.
"""

from __future__ import annotations

from tierbench.charts.bars import bars_figure
from tierbench.charts.data import ChartData
from tierbench.charts.frames import BARS, RACE, FrameState
from tierbench.charts.race import race_figure
from tierbench.charts.table import table_figure


def frame_figure(data: ChartData, state: FrameState, width: int, height: int) -> dict:
    if state.kind == RACE:
        return race_figure(data, state.tier_index, state.race_fraction, width, height)
    if state.kind == BARS:
        return bars_figure(
            data, state.tier_index, state.next_tier_index, state.morph, width, height
        )
    return table_figure(data, width, height)
