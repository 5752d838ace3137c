"""The comparison animation's figures, one plotly figure (as a plain dict) per frame state.

Figures are plain dicts rather than `go.Figure`s: building hundreds of validated figure
objects costs more than rendering them, and kaleido and plotly.js take dicts as they are.
The frames themselves are drawn in `race_frame.py`, `bars_frame.py` and `results_table.py`.
"""

from __future__ import annotations

from tierbench.charts.comparison.bars_frame import bars_figure
from tierbench.charts.comparison.frame_plan import BARS, RACE, FrameState
from tierbench.charts.comparison.race_frame import race_figure
from tierbench.charts.comparison.results import ChartData
from tierbench.charts.comparison.results_table import table_figure


def frame_figure(data: ChartData, state: FrameState, width: int, height: int) -> dict:
    if state.kind == RACE:
        return race_figure(data, state.tier_index, state.race_fraction, width, height)
    if state.kind == BARS:
        return bars_figure(
            data, state.tier_index, state.next_tier_index, state.morph, width, height
        )
    return table_figure(data, width, height)
