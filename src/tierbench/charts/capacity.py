"""Charts of a capacity sweep, in the comparison charts' visual language: the latency-
throughput curve of every cell (the knee chart), capacity by tier, cost per million
requests by tier, a closing table, and the summary image that holds them."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from tierbench.charts import theme
from tierbench.charts.tiers import TierHeading

PASS_SYMBOL, FAIL_SYMBOL, CAPACITY_SYMBOL = "circle", "circle-open", "star"
# The lowest latency drawn on the knee chart's log axis, in ms, and its labelled ticks.
LATENCY_FLOOR_MS = 0.5
LATENCY_TICKS = [1, 3, 10, 30, 100, 300, 1000, 3000, 10000, 30000]


@dataclass(frozen=True)
class CapacityCell:
    runtime: str
    tier: str
    capacity_rps: float | None
    lower_bound: bool
    limited_by: str
    workers: int | None
    steps: list[dict[str, Any]]  # in the order they ran
    best_step: str | None
    failing_step: str | None
    status: str = "ok"
    failed_at_rps: float | None = None  # the lowest failing rate above the capacity
    confirmations: int = 0
    confirmations_needed: int = 0

    @property
    def confirmed(self) -> bool:
        return self.capacity_rps is not None and self.confirmations >= self.confirmations_needed

    @property
    def shown(self) -> str:
        if self.status == "failed_to_start":
            return "failed to start"
        if self.capacity_rps is None:
            return "none"
        return f"{'≥ ' if self.lower_bound else ''}{self.capacity_rps:,.0f}"

    @property
    def holds(self) -> str:
        """ "3/3 holds", or "unconfirmed: 1/3 holds"."""
        if self.capacity_rps is None or not self.confirmations_needed:
            return ""
        held = f"{self.confirmations}/{self.confirmations_needed} holds"
        return held if self.confirmed else f"unconfirmed: {held}"


@dataclass(frozen=True)
class CapacityData:
    runtimes: list[str]
    tiers: list[TierHeading]
    cells: dict[tuple[str, str], CapacityCell]
    slo_ms: float
    percentile: float
    costs: dict[tuple[str, str, str], float | None] = field(default_factory=dict)
    cheapest: list[dict[str, Any]] = field(default_factory=list)
    providers: list[str] = field(default_factory=list)
    target_rps: float | None = None
    host: str = ""
    slo_requests: str | None = None  # "name send_message|send_tool_message", or all

    @property
    def slo_text(self) -> str:
        which = f" of requests with {self.slo_requests}" if self.slo_requests else ""
        return f"{self.percentile_label} of http_req_duration{which} ≤ {self.slo_ms:g} ms"

    def cell(self, runtime: str, tier: str) -> CapacityCell | None:
        return self.cells.get((runtime, tier))

    @property
    def percentile_label(self) -> str:
        return f"p{self.percentile:g}"


def load_capacity_data(
    capacity: Path | str, records: list[Path | str], recommendation: Path | str | None = None
) -> CapacityData:
    """The capacity table, the cells' records (their steps) and the right-sizing report."""
    table = (
        pl.read_parquet(capacity) if str(capacity).endswith(".parquet") else pl.read_csv(capacity)
    )
    steps = {}
    for path in records:
        record = json.loads(Path(path).read_text())
        steps[(record["runtime"], record["tier"])] = record
    runtimes = list(dict.fromkeys(table["runtime"].to_list()))
    tiers = [
        TierHeading(row["tier"], row["tier_order"], row["cpus"], row["memory_bytes"])
        for row in table.unique("tier", maintain_order=True).iter_rows(named=True)
    ]
    cells = {}
    for row in table.iter_rows(named=True):
        record = steps.get((row["runtime"], row["tier"]), {})
        search = record.get("search") or {}
        cells[(row["runtime"], row["tier"])] = CapacityCell(
            runtime=row["runtime"],
            tier=row["tier"],
            capacity_rps=row["capacity_rps"],
            lower_bound=bool(row["lower_bound"]),
            limited_by=row["limited_by"],
            workers=row.get("workers"),
            steps=record.get("steps") or [],
            best_step=search.get("best_step"),
            failing_step=search.get("failing_step"),
            status=row.get("status") or "ok",
            failed_at_rps=row.get("failed_at_rps"),
            confirmations=row.get("confirmations") or 0,
            confirmations_needed=row.get("confirmations_needed") or 0,
        )
    slo = table["slo_ms"].drop_nulls()
    percentile = table["percentile"].drop_nulls()
    data = CapacityData(
        runtimes=runtimes,
        tiers=sorted(tiers, key=lambda t: t.order),
        cells=cells,
        slo_ms=slo[0] if slo.len() else 250.0,
        percentile=percentile[0] if percentile.len() else 99.0,
        host=_host(next(iter(steps.values()), {})),
        slo_requests=_first(table, "slo_requests"),
    )
    if recommendation is None or not Path(recommendation).exists():
        return data
    report = json.loads(Path(recommendation).read_text())
    costs = {
        (o["runtime"], o["tier"], o["provider"]): o["cost_per_million"] if o["viable"] else None
        for o in report["options"]
    }
    return CapacityData(
        **{
            **data.__dict__,
            "costs": costs,
            "cheapest": report["cheapest"],
            "providers": [p["name"] for p in report["prices"]],
            "target_rps": report["target_rps"],
        }
    )


def _first(table: pl.DataFrame, column: str) -> Any:
    if column not in table.columns:
        return None
    values = table[column].drop_nulls()
    return values[0] if values.len() else None


def _host(record: dict[str, Any]) -> str:
    host = record.get("host") or {}
    if not host.get("cores"):
        return ""
    model = f" ({host['cpu_model']})" if host.get("cpu_model") else ""
    return f"{host['cores']}-core host{model}"


def latency_range(data: CapacityData) -> list[float]:
    values = [
        s["percentile_ms"]
        for cell in data.cells.values()
        for s in cell.steps
        if s.get("percentile_ms")
    ]
    top = max([data.slo_ms * 4, *values]) * 1.5
    return [math.log10(LATENCY_FLOOR_MS), math.log10(top)]


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
    # The widest rate in the panel: a capacity label left of its middle reads to the right
    # of its star, one right of it to the left, so neither runs off the panel.
    widest = max(
        (
            s.get("rps") or 0.0
            for r in data.runtimes
            if (c := data.cell(r, tier)) is not None
            for s in c.steps
        ),
        default=0.0,
    )
    for runtime in data.runtimes:
        cell = data.cell(runtime, tier)
        if cell is None:
            continue
        count = len(cell.steps) if shown_steps is None else shown_steps.get(runtime, 0)
        steps = [s for s in cell.steps[:count] if s.get("percentile_ms") is not None]
        # The curve goes through one point per rate (the latest run of it); every run
        # keeps its marker.
        latest = {s["offered_rate"]: s for s in steps}
        curve = [latest[rate] for rate in sorted(latest)]
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                "x": [s["rps"] for s in curve],
                "y": [max(s["percentile_ms"], LATENCY_FLOOR_MS) for s in curve],
                "name": runtime,
                "legendgroup": runtime,
                "showlegend": False,
                "line": {"color": colours[runtime], "width": 2},
                "xaxis": axes[0],
                "yaxis": axes[1],
                "hoverinfo": "skip",
            }
        )
        ordered = sorted(steps, key=lambda s: s["offered_rate"])
        traces.append(
            {
                "type": "scatter",
                "mode": "markers",
                "x": [s["rps"] for s in ordered],
                "y": [max(s["percentile_ms"], LATENCY_FLOOR_MS) for s in ordered],
                "name": runtime,
                "legendgroup": runtime,
                "showlegend": legend,
                "marker": {
                    "color": colours[runtime],
                    "size": 9,
                    "symbol": [PASS_SYMBOL if s["passed"] else FAIL_SYMBOL for s in ordered],
                    "line": {"color": colours[runtime], "width": 2},
                },
                "xaxis": axes[0],
                "yaxis": axes[1],
                "hovertemplate": (
                    f"{runtime}: %{{x:,.0f}} req/s, {data.percentile_label} %{{y:.1f}} ms"
                    "<extra></extra>"
                ),
            }
        )
        best = next((s for s in steps if s["name"] == cell.best_step), None)
        finished = shown_steps is None or count >= len(cell.steps)
        if finished and (interval := interval_trace(data, cell, axes)) is not None:
            traces.append(interval)
        if best is not None and finished:
            traces.append(
                {
                    "type": "scatter",
                    "mode": "markers+text",
                    "x": [best["rps"]],
                    "y": [max(best["percentile_ms"], LATENCY_FLOOR_MS)],
                    "text": [f"{cell.shown} req/s"],
                    "textposition": "top right" if best["rps"] < widest / 2 else "top left",
                    "textfont": {"size": font_size, "color": colours[runtime]},
                    "name": f"{runtime} capacity",
                    "legendgroup": runtime,
                    "showlegend": False,
                    "marker": {
                        "symbol": CAPACITY_SYMBOL,
                        "size": 18,
                        "color": colours[runtime],
                        "line": {"color": "#FFFFFF", "width": 1},
                    },
                    "xaxis": axes[0],
                    "yaxis": axes[1],
                    "hoverinfo": "skip",
                }
            )
    return traces


def x_range_of(data: CapacityData, tier: str) -> list[float]:
    cells = [c for r in data.runtimes if (c := data.cell(r, tier))]
    values = [s["rps"] or 0 for c in cells for s in c.steps]
    values += [c.failed_at_rps for c in cells if c.failed_at_rps]
    return [0, max([1.0, *values]) * 1.12]


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


def axis_pair(
    layout: dict,
    index: int,
    domain_x: list[float],
    domain_y: list[float],
    x_range: list[float],
    y_range: list[float],
    font_size: int,
    x_title: str = "",
    y_title: str = "",
    log_y: bool = True,
) -> tuple[str, str]:
    x_axis, y_axis = ("x", "y") if index == 1 else (f"x{index}", f"y{index}")
    common = {
        "gridcolor": theme.GRID,
        "linecolor": "#BBBBBB",
        "showline": True,
        "tickfont": {"size": font_size - 2},
        "title": {"font": {"size": font_size - 1}},
    }
    layout[x_axis.replace("x", "xaxis")] = {
        **common,
        "domain": domain_x,
        "anchor": y_axis,
        "range": x_range,
        "title": {**common["title"], "text": x_title},
    }
    layout[y_axis.replace("y", "yaxis")] = {
        **common,
        "domain": domain_y,
        "anchor": x_axis,
        "range": y_range,
        "type": "log" if log_y else "linear",
        "title": {**common["title"], "text": y_title},
    }
    if log_y:
        layout[y_axis.replace("y", "yaxis")].update(
            {"tickvals": LATENCY_TICKS, "ticktext": [f"{v:g}" for v in LATENCY_TICKS]}
        )
    return x_axis, y_axis


def panel_title(text: str, x: float, y: float, font_size: int) -> dict:
    return theme.paper_text(f"<b>{text}</b>", x, y, font_size, yanchor="bottom")


def bar_traces(
    data: CapacityData,
    values: dict[str, list[float | None]],
    texts: dict[str, list[str]],
    axes: tuple[str, str],
    font_size: int,
    legend: bool = False,
) -> list[dict]:
    colours = theme.runtime_colours(data.runtimes)
    tiers = [theme.tier_label(t.name) for t in data.tiers]
    return [
        {
            "type": "bar",
            "x": tiers,
            "y": [v or 0.0 for v in values[runtime]],
            "text": texts[runtime],
            "textposition": "outside",
            "cliponaxis": False,
            # Full size even where a label is wider than its bar (plotly would shrink it).
            "constraintext": "none",
            "textfont": {"size": font_size - 3, "color": theme.TEXT},
            "name": runtime,
            "legendgroup": runtime,
            "showlegend": legend,
            "offsetgroup": runtime,
            "marker": {"color": colours[runtime]},
            "xaxis": axes[0],
            "yaxis": axes[1],
            "hovertemplate": f"{runtime} %{{x}}: %{{text}}<extra></extra>",
        }
        for runtime in data.runtimes
    ]


def capacity_values(data: CapacityData) -> tuple[dict, dict]:
    values, texts = {}, {}
    for runtime in data.runtimes:
        cells = [data.cell(runtime, t.name) for t in data.tiers]
        values[runtime] = [c.capacity_rps if c else None for c in cells]
        texts[runtime] = [
            "<br>".join(filter(None, [c.shown, c.limited_by, c.holds if not c.confirmed else ""]))
            if c
            else theme.NO_DATA
            for c in cells
        ]
    return values, texts


def unconfirmed_hatch(data: CapacityData, traces: list[dict]) -> list[dict]:
    """The capacity bars, hatched where the capacity is short of its k holds."""
    for trace in traces:
        cells = [data.cell(trace["name"], t.name) for t in data.tiers]
        trace["marker"]["pattern"] = {
            "shape": ["" if c is None or c.confirmed else "/" for c in cells],
            "fgcolor": "#FFFFFF",
        }
    return traces


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


def cost_values(data: CapacityData, provider: str) -> tuple[dict, dict]:
    values, texts = {}, {}
    for runtime in data.runtimes:
        costs = [data.costs.get((runtime, t.name, provider)) for t in data.tiers]
        values[runtime] = costs
        texts[runtime] = ["–" if c is None else f"${c:.3f}" for c in costs]
    return values, texts


def footer(data: CapacityData) -> str:
    parts = [
        f"SLO: {data.slo_text}, errors < 1 %, ≥ 95 % of the offered rate, no dropped iterations",
    ]
    if data.host:
        parts.append(data.host)
    notes = [
        " · ".join(parts),
        "● step passed  ○ step failed  ★ capacity (passed k of k full holds)  ▬ on the SLO "
        "line: the interval from the capacity to the lowest rate that failed",
        'hatched bar: unconfirmed (fewer than k holds)  "≥": the load generator, an upstream '
        "or the search bound stopped the search (a lower bound, not a capacity)",
    ]
    if any(c.lower_bound for c in data.cells.values()):
        notes.append(
            "⚠ some cells are lower bounds: on this host the load side ran out before the "
            "runtime did"
        )
    return "<br>".join(notes)


def capacity_summary_figure(data: CapacityData, width: int = 1600, height: int = 900) -> dict:
    """Knee curves by tier across the top; capacity and cost per million by tier below."""
    layout = theme.base_layout(width, height)
    font_size = layout["font"]["size"]
    traces: list[dict] = []
    annotations: list[dict] = []
    tiers = data.tiers
    columns = max(1, len(tiers))
    gap = 0.035
    panel_w = (0.96 - gap * (columns - 1)) / columns
    y_range = latency_range(data)
    index = 0
    for column, tier in enumerate(tiers):
        index += 1
        x0 = 0.03 + column * (panel_w + gap)
        x_range = x_range_of(data, tier.name)
        axes = axis_pair(
            layout,
            index,
            [x0, x0 + panel_w],
            [0.56, 0.86],
            x_range,
            y_range,
            font_size,
            x_title="achieved req/s",
            y_title=f"{data.percentile_label} ms" if column == 0 else "",
        )
        traces += knee_traces(data, tier.name, axes, font_size=font_size - 2, legend=column == 0)
        traces.append(slo_line(data, axes, x_range))
        limits = theme.format_limits(tier.cpus, tier.memory_bytes)
        title = f"{theme.tier_label(tier.name)} · {limits}"
        annotations.append(panel_title(title, x0, 0.87, font_size))
    lower = [("Capacity at the SLO (req/s)", capacity_values(data))]
    for provider in data.providers:
        lower.append((f"Cost per million requests, {provider}", cost_values(data, provider)))
    widths = (0.96 - gap * (len(lower) - 1)) / len(lower)
    for column, (title, (values, texts)) in enumerate(lower):
        index += 1
        x0 = 0.03 + column * (widths + gap)
        peak = max([v for vs in values.values() for v in vs if v] or [1.0])
        axes = axis_pair(
            layout,
            index,
            [x0, x0 + widths],
            [0.12, 0.42],
            None,
            [0, peak * 1.3],
            font_size,
            log_y=False,
        )
        layout[axes[0].replace("x", "xaxis")].update(
            {"type": "category", "range": None, "showgrid": False}
        )
        bars = bar_traces(data, values, texts, axes, font_size)
        traces += unconfirmed_hatch(data, bars) if column == 0 else bars
        annotations.append(panel_title(title, x0, 0.43, font_size))
    annotations.append(
        theme.paper_text(
            f"<b>Capacity: {' vs '.join(data.runtimes)} at each tier</b>",
            0.03,
            0.995,
            round(font_size * 1.6),
        )
    )
    annotations.append(
        theme.paper_text(
            footer(data),
            0.03,
            0.0,
            font_size - 2,
            yanchor="bottom",
            color=theme.MUTED,
            align="left",
        )
    )
    layout.update(
        {
            "annotations": annotations,
            "barmode": "group",
            "bargap": 0.25,
            "showlegend": True,
            "legend": {
                "orientation": "h",
                "x": 0.99,
                "xanchor": "right",
                "y": 0.995,
                "yanchor": "top",
                "font": {"size": font_size + 1},
            },
            "margin": {"l": 20, "r": 20, "t": 20, "b": 20},
        }
    )
    return {"data": traces, "layout": layout}


def capacity_table_figure(data: CapacityData, width: int, height: int) -> dict:
    """The closing table: each runtime's capacity, why it stopped, and the cheapest tier."""
    layout = theme.base_layout(width, height)
    font_size = layout["font"]["size"]
    header = ["tier", *data.runtimes]
    columns: list[list[str]] = [
        [
            f"<b>{theme.tier_label(t.name)}</b><br>{theme.format_limits(t.cpus, t.memory_bytes)}"
            for t in data.tiers
        ]
    ]
    for runtime in data.runtimes:
        column = []
        for tier in data.tiers:
            cell = data.cell(runtime, tier.name)
            column.append(
                theme.NO_DATA
                if cell is None
                else f"<b>{cell.shown}</b> req/s<br>limited by {cell.limited_by}"
                + (f"<br>{cell.holds}" if cell.holds else "")
            )
        columns.append(column)
    colours = theme.runtime_colours(data.runtimes)
    trace = {
        "type": "table",
        "domain": {"x": [0.03, 0.97], "y": [0.16, 0.86]},
        "columnwidth": [1] + [2] * len(data.runtimes),
        "header": {
            "values": [f"<b>{h}</b>" for h in header],
            "fill": {"color": ["#F2F2F2"] + [colours[r] for r in data.runtimes]},
            "font": {
                "color": [theme.TEXT] + ["#FFFFFF"] * len(data.runtimes),
                "size": font_size + 2,
            },
            "height": font_size * 2.4,
            "align": "center",
        },
        "cells": {
            "values": columns,
            "font": {"size": font_size + 1, "color": theme.TEXT},
            "height": font_size * 3.2,
            "align": "center",
            "fill": {"color": "#FFFFFF"},
            "line": {"color": theme.GRID},
        },
    }
    cheapest = [
        f"{o['runtime']}: {theme.tier_label(o['tier'])} × {o['replicas']} on {o['provider']} "
        f"(${o['cost_per_hour']:.3f}/h)"
        for o in data.cheapest
    ]
    subtitle = (
        f"cheapest for {data.target_rps:,.0f} req/s — " + "; ".join(cheapest)
        if cheapest and data.target_rps
        else f"{data.percentile_label} ≤ {data.slo_ms:g} ms"
    )
    layout["annotations"] = [
        theme.paper_text(
            "<b>Capacity at the SLO</b>", 0.5, 0.97, round(font_size * 1.8), xanchor="center"
        ),
        theme.paper_text(subtitle, 0.5, 0.9, font_size, xanchor="center", color=theme.MUTED),
        theme.paper_text(
            footer(data),
            0.03,
            0.02,
            font_size - 3,
            yanchor="bottom",
            color=theme.MUTED,
            align="left",
        ),
    ]
    layout["margin"] = {"l": 10, "r": 10, "t": 10, "b": 10}
    return {"data": [trace], "layout": layout}
