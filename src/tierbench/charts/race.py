"""The race frames: a tier's panels, every line drawn up to the moment being replayed."""

from __future__ import annotations

import numpy as np

from tierbench.charts import theme
from tierbench.charts.data import ChartData
from tierbench.charts.frame_parts import (
    COLUMNS,
    CONTENDED_NOTE,
    ROWS,
    axis_name,
    banner,
    cell_note,
    format_value,
    legend_annotations,
    nice_top,
    panel_axes,
    panel_title,
    tier_banner,
    tier_contended,
)
from tierbench.charts.frames import cumulative_until, eased_value_at, series_until
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
    colours = theme.runtime_colours(data.runtimes)
    layout = theme.base_layout(width, height)
    font_size = layout["font"]["size"]
    start, end = tier_time_range(data, tier)
    now = start + (end - start) * fraction
    x_range = [start, end + (end - start) * 0.1]
    traces: list[dict] = []
    annotations: list[dict] = []
    labels: list[dict] = []
    shapes: list[dict] = []
    warmup_end = _warmup_end(data, tier)

    for index, (column_name, title, unit, scale) in enumerate(RACE_PANELS, start=1):
        column, row = COLUMNS[(index - 1) % 3], ROWS[(index - 1) // 3]
        peak = 0.0
        heads: list[tuple[float, float, str, str]] = []
        for runtime in data.runtimes:
            timeline = data.timelines.get((runtime, tier.name))
            if timeline is None:
                xs, ys = np.array([]), np.array([])
            else:
                values = timeline.series[column_name] * scale
                if np.isfinite(values).any():
                    peak = max(peak, float(np.nanmax(values)))
                xs, ys = series_until(timeline.t_s, values, now)
            axis = {
                "xaxis": f"x{index}" if index > 1 else "x",
                "yaxis": f"y{index}" if index > 1 else "y",
            }
            colour = colours[runtime]
            traces.append(
                {
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
            )
            head_ok = bool(len(ys)) and bool(np.isfinite(ys[-1]))
            traces.append(
                {
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
            )
            if head_ok:
                heads.append((float(xs[-1]), float(ys[-1]), colour, format_value(ys[-1], unit)))
        floor = 100.0 if unit == "%" and column_name != "error_rate" else 1.0
        if column_name == "error_rate":
            floor = 5.0
        y_top = nice_top(peak, floor)
        layout.update(panel_axes(index, column, row, x_range, [0, y_top], font_size))
        layout[axis_name("xaxis", index)]["ticksuffix"] = " s"
        labels += _head_labels(heads, axis, y_top, (row[1] - row[0]) * height, font_size)
        annotations.append(panel_title(title, column, row, font_size))
        # Always one shape per panel (hidden without a warm-up), so every frame's layout
        # has the same shapes and the HTML replay can update them in place.
        has_warmup = warmup_end is not None and warmup_end > start
        shapes.append(
            {
                "type": "rect",
                "visible": has_warmup,
                "xref": axis["xaxis"],
                "yref": f"{axis['yaxis']} domain",
                "x0": start,
                "x1": warmup_end if has_warmup else start,
                "y0": 0,
                "y1": 1,
                "fillcolor": theme.WARMUP_SHADE,
                "line": {"width": 0},
                "layer": "below",
            }
        )

    # Sixth panel: the race itself, requests served since the load started.
    column, row = COLUMNS[2], ROWS[1]
    totals, final_totals = {}, {}
    for runtime in data.runtimes:
        timeline = data.timelines.get((runtime, tier.name))
        if timeline is None:
            totals[runtime] = final_totals[runtime] = 0.0
            continue
        rps = timeline.series["rps"]
        totals[runtime] = cumulative_until(timeline.t_s, rps, now)
        final_totals[runtime] = cumulative_until(timeline.t_s, rps, end + 1)
    top = nice_top(max(final_totals.values(), default=0.0), 10.0)
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
                "marker": {"color": colours[runtime]},
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
    layout.update(panel_axes(6, column, row, [0, top], [-0.5, len(data.runtimes) - 0.5], font_size))
    # First runtime on top: a fixed reversed range, since autorange on a category axis
    # misbehaves in plotly.js when every bar is zero.
    layout["yaxis6"].update(
        {
            "type": "category",
            "categoryorder": "array",
            "categoryarray": data.runtimes,
            "range": [len(data.runtimes) - 0.5, -0.5],
        }
    )
    layout["bargap"] = 0.35
    annotations.append(panel_title(TOTAL_PANEL_TITLE, column, row, font_size))

    annotations += banner(
        tier_banner(tier),
        f"t = {now:.0f} s of {end:.0f} s{_load_at(data, tier, now)} · tier {tier_index + 1} "
        f"of {len(data.tiers)}" + (f" · {CONTENDED_NOTE}" if tier_contended(data, tier) else ""),
        font_size,
    )
    annotations += legend_annotations(data, colours, tier, font_size)
    annotations.append(
        theme.paper_text(
            "shaded: warm-up, not counted in the results"
            if warmup_end is not None and warmup_end > start
            else "",
            0.045,
            0.005,
            font_size - 2,
            yanchor="bottom",
            color=theme.MUTED,
        )
    )
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
    heads: list[tuple[float, float, str, str]],
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
