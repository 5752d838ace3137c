"""Parts every capacity figure shares: its panels' axes and titles, and the footer that
states the SLO and explains the marks."""

from __future__ import annotations

from tierbench.charts import theme
from tierbench.charts.capacity_results import CapacityData

# The lowest latency drawn on the knee chart's log axis, in ms, and its labelled ticks.
LATENCY_FLOOR_MS = 0.5
LATENCY_TICKS = [1, 3, 10, 30, 100, 300, 1000, 3000, 10000, 30000]


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
    if data.yardstick:
        notes.append(data.yardstick)
    if any(c.lower_bound for c in data.cells.values()):
        notes.append(
            "⚠ some cells are lower bounds: on this host the load side ran out before the "
            "runtime did"
        )
    return "<br>".join(notes)
