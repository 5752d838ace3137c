"""The one-image summary: small multiples of every headline figure, by tier and runtime."""

from __future__ import annotations

from tierbench.charts import theme
from tierbench.charts.comparison.frame_parts import format_value
from tierbench.charts.comparison.results import CellFigures, ChartData
from tierbench.charts.options import MIN_HEIGHT, MIN_WIDTH

# (summary column, panel title, unit, scale): percentages are stored as fractions or percent.
SUMMARY_PANELS = [
    ("rps", "Throughput (requests/s)", "", 1.0),
    ("p50_ms", "p50 latency (ms)", " ms", 1.0),
    ("p95_ms", "p95 latency (ms)", " ms", 1.0),
    ("p99_ms", "p99 latency (ms)", " ms", 1.0),
    ("error_rate", "Errors (% of requests)", "%", 100.0),
    ("cpu_mean_pct", "CPU, mean (% of limit; ◆ peak)", "%", 1.0),
    ("memory_peak_pct", "Memory, peak (% of limit)", "%", 1.0),
    ("rps_per_cpu", "Throughput per CPU of limit (req/s)", "", 1.0),
]
LATENCY_FIGURES = {"p50_ms", "p95_ms", "p99_ms"}
GRID_COLUMNS = 4
# The panels' grid in paper coordinates: its top and bottom, and the gaps between panels.
GRID_TOP, GRID_BOTTOM, GAP_X, GAP_Y = 0.86, 0.14, 0.05, 0.12

Panel = tuple[str, str, str, float]

# With a capacity sweep's results, the last panel shows each runtime's capacity at the SLO
# (what a tier can serve), instead of the seed load's throughput per CPU.
CAPACITY_PANEL = ("capacity_rps", "Capacity at the SLO (req/s)", "", 1.0)


def summary_panels(data: ChartData) -> list[Panel]:
    if data.capacity is None:
        return SUMMARY_PANELS
    return [*SUMMARY_PANELS[:-1], CAPACITY_PANEL]


def _capacity_value(data: ChartData, runtime: str, tier: str) -> tuple[float | None, str]:
    cell = data.capacity.cell(runtime, tier) if data.capacity else None
    if cell is None or cell.capacity_rps is None:
        return None, theme.NO_DATA if cell is None else "none"
    return cell.capacity_rps, cell.shown


def _shown_value(cell: CellFigures, figure: str, scale: float) -> tuple[float | None, str | None]:
    """The bar's value, or why there is none (`no data`, `no requests`, `all requests failed`)."""
    if theme.has_no_figures(cell.status):
        return None, cell.status
    if cell.status == theme.ALL_FAILED and figure in LATENCY_FIGURES | {"rps_per_cpu"}:
        return None, cell.status
    value = getattr(cell, figure)
    return (None, theme.NO_DATA) if value is None else (value * scale, None)


def footer_text(data: ChartData) -> str:
    facts = data.facts
    parts = []
    if facts.host_cores:
        host = f"host: {facts.host_cores} cores"
        parts.append(host + (f" ({facts.cpu_model})" if facts.cpu_model else ""))
    if facts.profile:
        parts.append(f"load profile: {facts.profile}")
    if facts.date:
        parts.append(f"run: {facts.date}")
    if facts.versions:
        parts.append(" ".join(f"{name} {version}" for name, version in facts.versions.items()))
    lines = [
        " · ".join(parts) or "run metadata not found (results/meta/*.json)",
        "Bars: means over the measured window (warm-up excluded); whiskers: ±1 SD over "
        "repeats where there are several.",
    ]
    if facts.yardstick:
        lines.append(facts.yardstick)
    if facts.contended:
        lines.append(
            "At some tiers the runtime shared CPUs with the load generator (the host "
            "has too few cores): treat those figures as lower bounds."
        )
    if data.capacity is not None:
        capacity = data.capacity
        lines.append(
            f"Capacity: the highest open-model rate with {capacity.slo_text} in every one "
            "of its full holds, from `snakemake capacity`; ≥ marks a lower bound (the "
            "load side, an upstream or the search bound stopped the search)."
        )
    if facts.load_side_saturated:
        lines.append(
            "⚠ The load side (k6 and the support services) was saturated in "
            + ", ".join(facts.load_side_saturated)
            + ": those figures may be capped by the host, not the runtime."
        )
    return "<br>".join(lines)


def summary_figure(data: ChartData, width: int = MIN_WIDTH, height: int = MIN_HEIGHT) -> dict:
    """Small multiples: x = tier (in tier order), one coloured bar per runtime."""
    layout = theme.base_layout(width, height)
    font_size = layout["font"]["size"]
    panels = summary_panels(data)
    traces: list[dict] = []
    annotations: list[dict] = []
    for index, panel in enumerate(panels, start=1):
        box = _panel_box(index, len(panels))
        axes = ("x", "y") if index == 1 else (f"x{index}", f"y{index}")
        panel_traces, peak = _panel_traces(data, index, panel, axes, font_size)
        traces += panel_traces
        layout.update(_panel_axes(data, box, axes, peak, panel[2], font_size))
        x0, y1, _, _ = box
        title = f"<b>{panel[1]}</b>"
        annotations.append(theme.paper_text(title, x0, y1 + 0.01, font_size + 1, yanchor="bottom"))
    texts, legend = theme.title_and_footer(
        data.title,
        footer_text(data),
        0.035,
        round(font_size * 1.7),
        font_size - 1,
        theme.Legend(0.985, 0.995, font_size + 1),
    )
    annotations += texts
    layout.update(
        {
            "annotations": annotations,
            "barmode": "group",
            "scattermode": "group",
            "bargap": 0.25,
            **legend,
            "margin": {"l": 20, "r": 20, "t": 20, "b": 20},
        }
    )
    return {"data": traces, "layout": layout}


def _panel_box(index: int, panel_count: int) -> tuple[float, float, float, float]:
    """Where panel `index` goes: its left edge, top edge, width and height."""
    rows = (panel_count + GRID_COLUMNS - 1) // GRID_COLUMNS
    panel_w = (1 - 0.03 - GAP_X * (GRID_COLUMNS - 1)) / GRID_COLUMNS - 0.005
    panel_h = (GRID_TOP - GRID_BOTTOM - GAP_Y * (rows - 1)) / rows
    column, row = (index - 1) % GRID_COLUMNS, (index - 1) // GRID_COLUMNS
    x0 = 0.035 + column * (panel_w + GAP_X)
    y1 = GRID_TOP - row * (panel_h + GAP_Y)
    return x0, y1, panel_w, panel_h


def _panel_traces(
    data: ChartData, index: int, panel: Panel, axes: tuple[str, str], font_size: int
) -> tuple[list[dict], float]:
    """A panel's bars, one trace per runtime (and the CPU panel's peak markers), and the
    highest point they reach."""
    figure, _, unit, scale = panel
    colours = theme.runtime_colours(data.runtimes)
    tiers = [theme.tier_label(t.name) for t in data.tiers]
    traces = []
    panel_peak = 0.0
    for runtime in data.runtimes:
        values, texts, errors = _runtime_bars(data, runtime, figure, unit, scale)
        panel_peak = max([panel_peak] + [v + e for v, e in zip(values, errors, strict=True)])
        trace = {
            "type": "bar",
            "x": tiers,
            "y": values,
            "text": texts,
            "name": runtime,
            "legendgroup": runtime,
            "showlegend": index == 1,
            "offsetgroup": runtime,
            "marker": {"color": colours[runtime]},
            "textposition": "outside",
            "textangle": -90,
            "cliponaxis": False,
            "constraintext": "none",
            "textfont": {"size": font_size - 3, "color": theme.TEXT},
            "xaxis": axes[0],
            "yaxis": axes[1],
            "hovertemplate": f"{runtime} %{{x}}: %{{text}}<extra></extra>",
        }
        if figure == "cpu_mean_pct":
            _label_inside(trace, font_size)
        if any(errors):
            trace["error_y"] = _whiskers(errors)
        traces.append(trace)
        if figure == "cpu_mean_pct":
            peaks = [
                _shown_value(data.cell(runtime, t.name), "cpu_peak_pct", 1.0)[0] for t in data.tiers
            ]
            panel_peak = max([panel_peak] + [p for p in peaks if p is not None])
            traces.append(_peak_markers(runtime, colours[runtime], tiers, peaks, axes))
    return traces, panel_peak


def _runtime_bars(
    data: ChartData, runtime: str, figure: str, unit: str, scale: float
) -> tuple[list[float], list[str], list[float]]:
    """A runtime's bar at every tier: its value (0 without one), its label (the value, or
    why there is none) and its whisker (±1 SD over repeats, 0 without)."""
    values, texts, errors = [], [], []
    for tier in data.tiers:
        if figure == CAPACITY_PANEL[0]:
            value, text = _capacity_value(data, runtime, tier.name)
            values.append(value or 0.0)
            texts.append(text)
            errors.append(0.0)
            continue
        cell = data.cell(runtime, tier.name)
        value, reason = _shown_value(cell, figure, scale)
        values.append(value if value is not None else 0.0)
        text = reason if reason else format_value(value, unit)
        texts.append(f"{text} ⚠ crashed" if cell.crashed and not reason else text)
        errors.append(cell.spread.get(figure, 0.0) * scale if value is not None else 0.0)
    return values, texts, errors


def _label_inside(trace: dict, font_size: int) -> None:
    """Puts the CPU bars' labels inside the bar where they fit, so they stay clear of the
    peak marker."""
    trace.update(
        {
            "textposition": "auto",
            "insidetextanchor": "end",
            "insidetextfont": {"size": font_size - 3, "color": "#FFFFFF"},
            "outsidetextfont": {"size": font_size - 3, "color": theme.TEXT},
        }
    )


def _whiskers(errors: list[float]) -> dict:
    return {
        "type": "data",
        "array": errors,
        "visible": True,
        "color": theme.MUTED,
        "thickness": 1.2,
        "width": 3,
    }


def _peak_markers(
    runtime: str, colour: str, tiers: list[str], peaks: list[float | None], axes: tuple[str, str]
) -> dict:
    """The CPU panel's peak of each bar, as a diamond over it."""
    return {
        "type": "scatter",
        "mode": "markers",
        "x": tiers,
        "y": peaks,
        "name": f"{runtime} peak",
        "legendgroup": runtime,
        "showlegend": False,
        "offsetgroup": runtime,
        "marker": {
            "symbol": "diamond",
            "size": 8,
            "color": colour,
            "line": {"color": "#FFFFFF", "width": 1},
        },
        "xaxis": axes[0],
        "yaxis": axes[1],
        "hovertemplate": f"{runtime} %{{x}} peak: %{{y:.0f}}%<extra></extra>",
    }


def _panel_axes(
    data: ChartData,
    box: tuple[float, float, float, float],
    axes: tuple[str, str],
    peak: float,
    unit: str,
    font_size: int,
) -> dict:
    """A panel's axes: the tiers in order across, and headroom above the tallest bar for
    its upright value label."""
    x0, y1, panel_w, panel_h = box
    tiers = [theme.tier_label(t.name) for t in data.tiers]
    x_axis, y_axis = axes
    axis_common = {
        "gridcolor": theme.GRID,
        "linecolor": "#BBBBBB",
        "showline": True,
        "tickfont": {"size": font_size - 1},
    }
    return {
        x_axis.replace("x", "xaxis"): {
            **axis_common,
            "domain": [x0, x0 + panel_w],
            "anchor": y_axis,
            "type": "category",
            "categoryorder": "array",
            "categoryarray": tiers,
            "showgrid": False,
        },
        y_axis.replace("y", "yaxis"): {
            **axis_common,
            "domain": [y1 - panel_h, y1],
            "anchor": x_axis,
            "range": [0, peak * 1.3 if peak > 0 else 1.0],
            "ticksuffix": "%" if unit == "%" else "",
        },
    }
