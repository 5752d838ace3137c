"""The race frames: a tier's panels, every line drawn up to the moment being replayed."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tierbench.charts import theme
from tierbench.charts.comparison.frame_parts import (
    COLUMNS,
    ROWS,
    axis_name,
    cell_note,
    format_value,
    headings,
    nice_top,
    panel_axes,
    panel_title,
    tier_banner,
)
from tierbench.charts.comparison.frame_plan import cumulative_until, eased_value_at, series_until
from tierbench.charts.comparison.results import ChartData
from tierbench.charts.tiers import TierHeading

# The race panels: (timeline column, title, unit shown after values, scale applied).
RACE_PANELS = [
    ("rps", "Throughput (requests/s)", "", 1.0),
    ("p99_ms", "p99 latency (ms, 5 s rolling)", " ms", 1.0),
    ("error_rate", "Errors (% of requests)", "%", 100.0),
    ("cpu_pct_of_limit", "CPU (% of limit)", "%", 1.0),
    ("memory_pct_of_limit", "Memory (% of limit)", "%", 1.0),
]
TOTAL_PANEL_TITLE = "Requests served so far"
WARMUP_NOTE = "shaded: warm-up, not counted in the results"

# A line's head: where it is (x, y), its colour, and its value as shown beside it.
Head = tuple[float, float, str, str]


@dataclass(frozen=True)
class _Moment:
    """What every panel of one race frame shares: the tier, and the moment replayed."""

    data: ChartData
    tier: TierHeading
    colours: dict[str, str]
    font_size: int
    start: float
    end: float
    now: float

    @property
    def x_range(self) -> list[float]:
        return [self.start, self.end + (self.end - self.start) * 0.1]


def tier_time_range(data: ChartData, tier: TierHeading) -> tuple[float, float]:
    starts, ends = [], []
    for runtime in data.runtimes:
        timeline = data.timelines.get((runtime, tier.name))
        if timeline is not None and len(timeline.t_s):
            starts.append(float(timeline.t_s[0]))
            ends.append(float(timeline.t_s[-1]))
    return (min(starts), max(ends)) if starts else (0.0, 1.0)


def _warmup_end(data: ChartData, tier: TierHeading) -> float | None:
    ends = []
    for runtime in data.runtimes:
        timeline = data.timelines.get((runtime, tier.name))
        if timeline is not None and len(timeline.t_s) and timeline.in_window.any():
            ends.append(float(timeline.t_s[np.argmax(timeline.in_window)]))
    return min(ends) if ends else None


def race_figure(data: ChartData, tier_index: int, fraction: float, width: int, height: int) -> dict:
    """A tier's panels with every line drawn up to `fraction` of the tier's timeline."""
    tier = data.tiers[tier_index]
    layout = theme.base_layout(width, height)
    font_size = layout["font"]["size"]
    start, end = tier_time_range(data, tier)
    moment = _Moment(
        data,
        tier,
        theme.runtime_colours(data.runtimes),
        font_size,
        start,
        end,
        start + (end - start) * fraction,
    )
    warmup_end = _warmup_end(data, tier)
    has_warmup = warmup_end is not None and warmup_end > start
    traces: list[dict] = []
    annotations: list[dict] = []
    labels: list[dict] = []
    shapes: list[dict] = []
    for index, panel in enumerate(RACE_PANELS, start=1):
        panel_traces, axes, panel_labels = _timeline_panel(moment, index, panel, height)
        traces += panel_traces
        layout.update(axes)
        labels += panel_labels
        annotations.append(panel_title(panel[1], *_place(index), font_size))
        shapes.append(_warmup_shade(index, start, warmup_end if has_warmup else None))
    total_traces, axes = _total_panel(moment)
    traces += total_traces
    layout.update(axes)
    layout["bargap"] = 0.35
    annotations.append(panel_title(TOTAL_PANEL_TITLE, COLUMNS[2], ROWS[1], font_size))
    annotations += _headings(moment, tier_index)
    footer, _ = theme.footer_and_legend(
        WARMUP_NOTE if has_warmup else "", 0.045, 0.005, font_size - 2
    )
    annotations.append(footer)
    # Head labels go last, padded to a fixed count: plotly.js animates layout arrays item by
    # item, so every frame needs the same annotations in the same places.
    hidden_label = {**_LABEL_PLACEHOLDER, "font": {"size": font_size - 1, "color": theme.TEXT}}
    labels += [hidden_label] * (len(data.runtimes) * len(RACE_PANELS) - len(labels))
    layout.update(
        {
            "annotations": annotations + labels,
            "shapes": shapes,
            "margin": {"l": 10, "r": 10, "t": 10, "b": 10},
        }
    )
    return {"data": traces, "layout": layout}


def _place(index: int) -> tuple[tuple[float, float], tuple[float, float]]:
    """Panel `index`'s column and row: three panels across, in two rows."""
    return COLUMNS[(index - 1) % 3], ROWS[(index - 1) // 3]


def _timeline_panel(
    moment: _Moment, index: int, panel: tuple[str, str, str, float], height: int
) -> tuple[list[dict], dict, list[dict]]:
    """One timeline panel: each runtime's line up to now with its head, the panel's axes,
    and the value labels beside the heads."""
    column_name, _, unit, scale = panel
    column, row = _place(index)
    axis = {
        "xaxis": f"x{index}" if index > 1 else "x",
        "yaxis": f"y{index}" if index > 1 else "y",
    }
    traces: list[dict] = []
    heads: list[Head] = []
    peak = 0.0
    for runtime in moment.data.runtimes:
        line, runtime_peak, head = _runtime_line(moment, runtime, (column_name, unit, scale), axis)
        traces += line
        if runtime_peak is not None:
            peak = max(peak, runtime_peak)
        if head is not None:
            heads.append(head)
    floor = 100.0 if unit == "%" and column_name != "error_rate" else 1.0
    if column_name == "error_rate":
        floor = 5.0
    y_top = nice_top(peak, floor)
    axes = panel_axes(index, column, row, moment.x_range, [0, y_top], moment.font_size)
    axes[axis_name("xaxis", index)]["ticksuffix"] = " s"
    labels = _head_labels(heads, axis, y_top, (row[1] - row[0]) * height, moment.font_size)
    return traces, axes, labels


def _runtime_line(
    moment: _Moment, runtime: str, figure: tuple[str, str, float], axis: dict
) -> tuple[list[dict], float | None, Head | None]:
    """A runtime's line up to now and the marker at its head; the line's peak over the
    whole timeline (None without a value), and its head (None without one)."""
    column_name, unit, scale = figure
    timeline = moment.data.timelines.get((runtime, moment.tier.name))
    peak = None
    if timeline is None:
        xs, ys = np.array([]), np.array([])
    else:
        values = timeline.series[column_name] * scale
        if np.isfinite(values).any():
            peak = float(np.nanmax(values))
        xs, ys = series_until(timeline.t_s, values, moment.now)
    colour = moment.colours[runtime]
    head_ok = bool(len(ys)) and bool(np.isfinite(ys[-1]))
    line = {
        "type": "scatter",
        "mode": "lines",
        "x": xs.tolist(),
        "y": np.where(np.isfinite(ys), ys, None).tolist(),
        "line": {"color": colour, "width": 2.5, "shape": "linear"},
        "name": runtime,
        "legendgroup": runtime,
        "hoverinfo": "skip",
        **axis,
    }
    marker = {
        "type": "scatter",
        "mode": "markers",
        "x": [float(xs[-1])] if head_ok else [],
        "y": [float(ys[-1])] if head_ok else [],
        "marker": {"color": colour, "size": 8},
        "cliponaxis": False,
        "name": runtime,
        "legendgroup": runtime,
        "hoverinfo": "skip",
        "showlegend": False,
        **axis,
    }
    head = (float(xs[-1]), float(ys[-1]), colour, format_value(ys[-1], unit)) if head_ok else None
    return [line, marker], peak, head


def _warmup_shade(index: int, start: float, warmup_end: float | None) -> dict:
    """The warm-up's shade on a panel. Always one shape per panel (hidden without a
    warm-up), so every frame's layout has the same shapes and the HTML replay can update
    them in place."""
    return {
        "type": "rect",
        "visible": warmup_end is not None,
        "xref": f"x{index}" if index > 1 else "x",
        "yref": f"{f'y{index}' if index > 1 else 'y'} domain",
        "x0": start,
        "x1": warmup_end if warmup_end is not None else start,
        "y0": 0,
        "y1": 1,
        "fillcolor": theme.WARMUP_SHADE,
        "line": {"width": 0},
        "layer": "below",
    }


def _requests_served(moment: _Moment) -> tuple[dict[str, float], dict[str, float]]:
    """Each runtime's requests served up to now, and over the whole timeline."""
    totals, final_totals = {}, {}
    for runtime in moment.data.runtimes:
        timeline = moment.data.timelines.get((runtime, moment.tier.name))
        if timeline is None:
            totals[runtime] = final_totals[runtime] = 0.0
            continue
        rps = timeline.series["rps"]
        totals[runtime] = cumulative_until(timeline.t_s, rps, moment.now)
        final_totals[runtime] = cumulative_until(timeline.t_s, rps, moment.end + 1)
    return totals, final_totals


def _total_panel(moment: _Moment) -> tuple[list[dict], dict]:
    """The sixth panel, the race itself: requests served since the load started."""
    data, tier, font_size = moment.data, moment.tier, moment.font_size
    totals, final_totals = _requests_served(moment)
    top = nice_top(max(final_totals.values(), default=0.0), 10.0)
    traces = []
    for runtime in data.runtimes:
        note = cell_note(data, runtime, tier)
        text = f"{totals[runtime]:,.0f}" if totals[runtime] > 0 else ""
        if note and (runtime, tier.name) not in data.timelines:
            text = note
        traces.append(
            {
                "type": "bar",
                "orientation": "h",
                "x": [totals[runtime]],
                "y": [runtime],
                "marker": {"color": moment.colours[runtime]},
                "text": [text],
                "textposition": "outside",
                "cliponaxis": False,
                "textfont": {"size": font_size - 1, "color": theme.TEXT},
                "name": runtime,
                "hoverinfo": "skip",
                "xaxis": "x6",
                "yaxis": "y6",
            }
        )
    runtimes = len(data.runtimes)
    axes = panel_axes(6, COLUMNS[2], ROWS[1], [0, top], [-0.5, runtimes - 0.5], font_size)
    # First runtime on top: a fixed reversed range, since autorange on a category axis
    # misbehaves in plotly.js when every bar is zero.
    axes["yaxis6"].update(
        {
            "type": "category",
            "categoryorder": "array",
            "categoryarray": data.runtimes,
            "range": [runtimes - 0.5, -0.5],
        }
    )
    return traces, axes


def _headings(moment: _Moment, tier_index: int) -> list[dict]:
    """The banner (the tier, the moment and the load) and the legend above the panels."""
    data, tier, now = moment.data, moment.tier, moment.now
    subtitle = (
        f"t = {now:.0f} s of {moment.end:.0f} s{_load_at(data, tier, now)} · tier "
        f"{tier_index + 1} of {len(data.tiers)}"
    )
    return headings(data, moment.colours, tier, (tier_banner(tier), subtitle), moment.font_size)


def _load_at(data: ChartData, tier: TierHeading, now: float) -> str:
    """` · 8 virtual users`: the load k6 applied at that moment (the most of any runtime)."""
    users = []
    for runtime in data.runtimes:
        timeline = data.timelines.get((runtime, tier.name))
        if timeline is not None and np.isfinite(timeline.series["vus"]).any():
            users.append(eased_value_at(timeline.t_s, timeline.series["vus"], now))
    users = [u for u in users if np.isfinite(u)]
    if not users:
        return ""
    count = round(max(users))
    return f" · {count} virtual user{'' if count == 1 else 's'}"


_LABEL_PLACEHOLDER = {
    "text": "",
    "visible": False,
    "x": 0,
    "y": 0,
    "xref": "paper",
    "yref": "paper",
    "xanchor": "left",
    "xshift": 7,
    "yshift": 0,
    "showarrow": False,
}


def _head_labels(
    heads: list[Head],
    axis: dict,
    y_top: float,
    panel_px: float,
    font_size: int,
) -> list[dict]:
    """Value labels beside the lines' heads, nudged apart so close values stay readable."""
    gap = font_size * 1.15
    placed: list[float] = []
    labels = []
    for x, y, colour, text in sorted(heads, key=lambda head: head[1]):
        wanted = y / y_top * panel_px if y_top else 0.0
        at = max(wanted, placed[-1] + gap) if placed else wanted
        placed.append(at)
        labels.append(
            {
                "text": text,
                "visible": True,
                "x": x,
                "y": y,
                "xref": axis["xaxis"],
                "yref": axis["yaxis"],
                "xanchor": "left",
                "xshift": 7,
                "yshift": at - wanted,
                "showarrow": False,
                "font": {"size": font_size - 1, "color": colour},
            }
        )
    return labels
