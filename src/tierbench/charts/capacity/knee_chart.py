"""The knee chart: each runtime's steps at a tier, achieved req/s against the SLO's
percentile, its capacity starred and the interval where the knee lies drawn on the SLO."""

from __future__ import annotations

import math
from typing import Any

from tierbench.charts import theme
from tierbench.charts.capacity.figure_parts import LATENCY_FLOOR_MS
from tierbench.charts.capacity_results import CapacityCell, CapacityData

PASS_SYMBOL, FAIL_SYMBOL, CAPACITY_SYMBOL = "circle", "circle-open", "star"


def latency_range(data: CapacityData) -> list[float]:
    values = [
        s["percentile_ms"]
        for cell in data.cells.values()
        for s in cell.steps
        if s.get("percentile_ms")
    ]
    top = max([data.slo_ms * 4, *values]) * 1.5
    return [math.log10(LATENCY_FLOOR_MS), math.log10(top)]


def x_range_of(data: CapacityData, tier: str) -> list[float]:
    cells = [c for r in data.runtimes if (c := data.cell(r, tier))]
    values = [s["rps"] or 0 for c in cells for s in c.steps]
    values += [c.failed_at_rps for c in cells if c.failed_at_rps]
    return [0, max([1.0, *values]) * 1.12]


def knee_traces(
    data: CapacityData,
    tier: str,
    axes: tuple[str, str],
    shown_steps: dict[str, int] | None = None,
    font_size: int = 14,
    legend: bool = False,
) -> list[dict]:
    """Per runtime: its steps at this tier (achieved req/s against the SLO's percentile,
    filled when they passed), joined in rate order, and its capacity as a star."""
    colours = theme.runtime_colours(data.runtimes)
    traces = []
    widest = _widest_rate(data, tier)
    for runtime in data.runtimes:
        cell = data.cell(runtime, tier)
        if cell is None:
            continue
        count = len(cell.steps) if shown_steps is None else shown_steps.get(runtime, 0)
        steps = [s for s in cell.steps[:count] if s.get("percentile_ms") is not None]
        traces.append(_curve(runtime, steps, colours[runtime], axes))
        traces.append(_step_markers(data, runtime, steps, colours[runtime], axes, legend))
        best = next((s for s in steps if s["name"] == cell.best_step), None)
        finished = shown_steps is None or count >= len(cell.steps)
        if finished and (interval := interval_trace(data, cell, axes)) is not None:
            traces.append(interval)
        if best is not None and finished:
            traces.append(_capacity_star(cell, best, colours[runtime], axes, font_size, widest))
    return traces


def _widest_rate(data: CapacityData, tier: str) -> float:
    """The widest rate in the panel: a capacity label left of its middle reads to the right
    of its star, one right of it to the left, so neither runs off the panel."""
    return max(
        (
            s.get("rps") or 0.0
            for r in data.runtimes
            if (c := data.cell(r, tier)) is not None
            for s in c.steps
        ),
        default=0.0,
    )


def _curve(runtime: str, steps: list[dict[str, Any]], colour: str, axes: tuple[str, str]) -> dict:
    """The line through one point per rate (the latest run of it); every run keeps its
    marker."""
    latest = {s["offered_rate"]: s for s in steps}
    curve = [latest[rate] for rate in sorted(latest)]
    return {
        **_runtime_scatter(runtime, curve, "lines", False, axes),
        "line": {"color": colour, "width": 2},
        "hoverinfo": "skip",
    }


def _runtime_scatter(
    runtime: str, steps: list[dict[str, Any]], mode: str, legend: bool, axes: tuple[str, str]
) -> dict:
    """A scatter trace of one runtime's steps in the given order: achieved rate against
    latency (floored so a log axis can show it), in the runtime's legend group."""
    return {
        "type": "scatter",
        "mode": mode,
        "x": [s["rps"] for s in steps],
        "y": [max(s["percentile_ms"], LATENCY_FLOOR_MS) for s in steps],
        "name": runtime,
        "legendgroup": runtime,
        "showlegend": legend,
        "xaxis": axes[0],
        "yaxis": axes[1],
    }


def _step_markers(
    data: CapacityData,
    runtime: str,
    steps: list[dict[str, Any]],
    colour: str,
    axes: tuple[str, str],
    legend: bool,
) -> dict:
    """Every step, in rate order: filled where it passed, open where it failed."""
    ordered = sorted(steps, key=lambda s: s["offered_rate"])
    return {
        **_runtime_scatter(runtime, ordered, "markers", legend, axes),
        "marker": {
            "color": colour,
            "size": 9,
            "symbol": [PASS_SYMBOL if s["passed"] else FAIL_SYMBOL for s in ordered],
            "line": {"color": colour, "width": 2},
        },
        "hovertemplate": (
            f"{runtime}: %{{x:,.0f}} req/s, {data.percentile_label} %{{y:.1f}} ms<extra></extra>"
        ),
    }


def _capacity_star(
    cell: CapacityCell,
    best: dict[str, Any],
    colour: str,
    axes: tuple[str, str],
    font_size: int,
    widest: float,
) -> dict:
    """The capacity: a star on its best step, labelled towards the panel's middle."""
    return {
        "type": "scatter",
        "mode": "markers+text",
        "x": [best["rps"]],
        "y": [max(best["percentile_ms"], LATENCY_FLOOR_MS)],
        "text": [f"{cell.shown} req/s"],
        "textposition": "top right" if best["rps"] < widest / 2 else "top left",
        "textfont": {"size": font_size, "color": colour},
        "name": f"{cell.runtime} capacity",
        "legendgroup": cell.runtime,
        "showlegend": False,
        "marker": {
            "symbol": CAPACITY_SYMBOL,
            "size": 18,
            "color": colour,
            "line": {"color": "#FFFFFF", "width": 1},
        },
        "xaxis": axes[0],
        "yaxis": axes[1],
        "hoverinfo": "skip",
    }


def interval_trace(data: CapacityData, cell: CapacityCell, axes: tuple[str, str]) -> dict | None:
    """The cell's interval on the knee chart, along the SLO: from its capacity (passed k of
    k holds) to the lowest rate that failed above it. The knee lies in between."""
    if cell.capacity_rps is None or cell.failed_at_rps is None:
        return None
    colour = theme.runtime_colours(data.runtimes)[cell.runtime]
    return {
        "type": "scatter",
        "mode": "lines+markers",
        "x": [cell.capacity_rps, cell.failed_at_rps],
        "y": [data.slo_ms, data.slo_ms],
        "line": {"color": colour, "width": 7},
        "marker": {"symbol": "line-ns", "size": 16, "line": {"color": colour, "width": 3}},
        "opacity": 0.55,
        "name": f"{cell.runtime} interval",
        "legendgroup": cell.runtime,
        "showlegend": False,
        "xaxis": axes[0],
        "yaxis": axes[1],
        "hovertemplate": (
            f"{cell.runtime}: capacity {cell.capacity_rps:,.0f} req/s ({cell.holds}), "
            f"failed at {cell.failed_at_rps:,.0f}<extra></extra>"
        ),
    }


def slo_line(data: CapacityData, axes: tuple[str, str], x_range: list[float]) -> dict:
    return {
        "type": "scatter",
        "mode": "lines",
        "x": x_range,
        "y": [data.slo_ms, data.slo_ms],
        "line": {"color": theme.PROBLEM, "width": 1.5, "dash": "dash"},
        "name": "SLO",
        "showlegend": False,
        "xaxis": axes[0],
        "yaxis": axes[1],
        "hoverinfo": "skip",
    }
