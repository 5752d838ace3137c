"""The one-image summary: small multiples of every headline figure, by tier and runtime."""

from __future__ import annotations

from tierbench.charts import theme
from tierbench.charts.data import CellFigures, ChartData
from tierbench.charts.frame_parts import format_value

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
MIN_WIDTH, MIN_HEIGHT = 1600, 900


# With a capacity sweep's results, the last panel shows each runtime's capacity at the SLO
# (what a tier can serve), instead of the seed load's throughput per CPU.
CAPACITY_PANEL = ("capacity_rps", "Capacity at the SLO (req/s)", "", 1.0)


def summary_panels(data: ChartData) -> list[tuple[str, str, str, float]]:
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
    colours = theme.runtime_colours(data.runtimes)
    layout = theme.base_layout(width, height)
    font_size = layout["font"]["size"]
    tiers = [theme.tier_label(t.name) for t in data.tiers]
    panels = summary_panels(data)
    rows = (len(panels) + GRID_COLUMNS - 1) // GRID_COLUMNS
    top, bottom, gap_x, gap_y = 0.86, 0.14, 0.05, 0.12
    panel_w = (1 - 0.03 - gap_x * (GRID_COLUMNS - 1)) / GRID_COLUMNS - 0.005
    panel_h = (top - bottom - gap_y * (rows - 1)) / rows
    traces: list[dict] = []
    annotations: list[dict] = []
    for index, (figure, title, unit, scale) in enumerate(panels, start=1):
        column, row = (index - 1) % GRID_COLUMNS, (index - 1) // GRID_COLUMNS
        x0 = 0.035 + column * (panel_w + gap_x)
        y1 = top - row * (panel_h + gap_y)
        x_axis, y_axis = ("x", "y") if index == 1 else (f"x{index}", f"y{index}")
        panel_peak = 0.0
        for runtime in data.runtimes:
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
                "xaxis": x_axis,
                "yaxis": y_axis,
                "hovertemplate": f"{runtime} %{{x}}: %{{text}}<extra></extra>",
            }
            if figure == "cpu_mean_pct":
                # Inside the bar where it fits, so the label stays clear of the peak marker.
                trace.update(
                    {
                        "textposition": "auto",
                        "insidetextanchor": "end",
                        "insidetextfont": {"size": font_size - 3, "color": "#FFFFFF"},
                        "outsidetextfont": {"size": font_size - 3, "color": theme.TEXT},
                    }
                )
            if any(errors):
                trace["error_y"] = {
                    "type": "data",
                    "array": errors,
                    "visible": True,
                    "color": theme.MUTED,
                    "thickness": 1.2,
                    "width": 3,
                }
            traces.append(trace)
            if figure == "cpu_mean_pct":
                peaks = [
                    _shown_value(data.cell(runtime, t.name), "cpu_peak_pct", 1.0)[0]
                    for t in data.tiers
                ]
                panel_peak = max([panel_peak] + [p for p in peaks if p is not None])
                traces.append(
                    {
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
                            "color": colours[runtime],
                            "line": {"color": "#FFFFFF", "width": 1},
                        },
                        "xaxis": x_axis,
                        "yaxis": y_axis,
                        "hovertemplate": f"{runtime} %{{x}} peak: %{{y:.0f}}%<extra></extra>",
                    }
                )
        axis_common = {
            "gridcolor": theme.GRID,
            "linecolor": "#BBBBBB",
            "showline": True,
            "tickfont": {"size": font_size - 1},
        }
        layout[x_axis.replace("x", "xaxis")] = {
            **axis_common,
            "domain": [x0, x0 + panel_w],
            "anchor": y_axis,
            "type": "category",
            "categoryorder": "array",
            "categoryarray": tiers,
            "showgrid": False,
        }
        layout[y_axis.replace("y", "yaxis")] = {
            **axis_common,
            "domain": [y1 - panel_h, y1],
            "anchor": x_axis,
            # Headroom above the tallest bar for its upright value label.
            "range": [0, panel_peak * 1.3 if panel_peak > 0 else 1.0],
            "ticksuffix": "%" if unit == "%" else "",
        }
        annotations.append(
            theme.paper_text(f"<b>{title}</b>", x0, y1 + 0.01, font_size + 1, yanchor="bottom")
        )
    annotations.append(
        theme.paper_text(
            f"<b>{' vs '.join(data.runtimes)} across resource tiers</b>",
            0.035,
            0.995,
            round(font_size * 1.7),
        )
    )
    annotations.append(
        theme.paper_text(
            footer_text(data),
            0.035,
            0.0,
            font_size - 1,
            yanchor="bottom",
            color=theme.MUTED,
            align="left",
        )
    )
    layout.update(
        {
            "annotations": annotations,
            "barmode": "group",
            "scattermode": "group",
            "bargap": 0.25,
            "showlegend": True,
            "legend": {
                "orientation": "h",
                "x": 0.985,
                "xanchor": "right",
                "y": 0.995,
                "yanchor": "top",
                "font": {"size": font_size + 1},
            },
            "margin": {"l": 20, "r": 20, "t": 20, "b": 20},
        }
    )
    return {"data": traces, "layout": layout}
