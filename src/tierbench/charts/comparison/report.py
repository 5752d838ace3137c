"""report.html: the comparison charts again, interactive, in one self-contained file."""

from __future__ import annotations

from pathlib import Path

from tierbench.charts import theme
from tierbench.charts.capacity.summary_image import capacity_summary_figure
from tierbench.charts.comparison.bars_frame import bars_figure
from tierbench.charts.comparison.race_frame import race_figure, tier_time_range
from tierbench.charts.comparison.results import ChartData
from tierbench.charts.comparison.results_table import table_figure
from tierbench.charts.comparison.summary_image import footer_text, summary_figure
from tierbench.charts.output.html_page import figure_sections, html_page

# Timeline steps per tier in the interactive replay: enough to scrub, few enough to stay light.
STEPS_PER_TIER = 30
REPLAY_SIZE = (1280, 760)


def _animate_args(name: str | None, duration_ms: int, transition_ms: int) -> list:
    return [
        [name] if name is not None else None,
        {
            "mode": "immediate",
            "fromcurrent": True,
            "frame": {"duration": duration_ms, "redraw": True},
            "transition": {"duration": transition_ms, "easing": "cubic-in-out"},
        },
    ]


def _controls(
    frame_names: list[str], labels: list[str], duration_ms: int, transition_ms: int
) -> dict:
    """Play/pause buttons and a slider over the frames, below the plot."""
    return {
        "updatemenus": [
            {
                "type": "buttons",
                "direction": "left",
                "showactive": False,
                "x": 0.0,
                "y": -0.02,
                "xanchor": "left",
                "yanchor": "top",
                "pad": {"r": 10, "t": 10},
                "buttons": [
                    {
                        "label": "▶ Play",
                        "method": "animate",
                        "args": [None, _animate_args(None, duration_ms, transition_ms)[1]],
                    },
                    {
                        "label": "❚❚ Pause",
                        "method": "animate",
                        "args": [
                            [None],
                            {
                                "mode": "immediate",
                                "frame": {"duration": 0, "redraw": False},
                                "transition": {"duration": 0},
                            },
                        ],
                    },
                ],
            }
        ],
        "sliders": [
            {
                "active": 0,
                "x": 0.18,
                "len": 0.82,
                "y": -0.02,
                "yanchor": "top",
                "pad": {"t": 10},
                # Step names would crowd the rail; the current one is shown above it instead.
                "font": {"color": "rgba(0,0,0,0)"},
                "currentvalue": {"prefix": "", "visible": True, "font": {"color": theme.TEXT}},
                "steps": [
                    {"label": label, "method": "animate", "args": _animate_args(name, 0, 0)}
                    for name, label in zip(frame_names, labels, strict=True)
                ],
            }
        ],
    }


def _frame_of(figure: dict, name: str) -> dict:
    """A plotly frame: the figure's traces, and the layout parts that change between frames."""
    layout = {
        key: value
        for key, value in figure["layout"].items()
        if key.startswith(("xaxis", "yaxis")) or key in ("annotations", "shapes")
    }
    return {"name": name, "data": figure["data"], "layout": layout}


def replay_figure(data: ChartData) -> dict:
    """Every tier's race, step by step, with play/pause and a time slider.

    Tiers without per-second data have nothing to replay and are left out of the slider;
    the summary and the table still show them.
    """
    width, height = REPLAY_SIZE
    replayable = [
        index
        for index, tier in enumerate(data.tiers)
        if any((runtime, tier.name) in data.timelines for runtime in data.runtimes)
    ]
    if not replayable:
        layout = theme.base_layout(width, 200)
        layout["annotations"] = [
            {
                "text": (
                    f"No per-second data to replay for {', '.join(data.runtimes)} "
                    "(timeline.parquet is missing or empty)."
                ),
                "x": 0.5,
                "y": 0.5,
                "xref": "paper",
                "yref": "paper",
                "showarrow": False,
            }
        ]
        layout.update({"xaxis": {"visible": False}, "yaxis": {"visible": False}})
        return {"data": [], "layout": layout, "frames": []}
    frames, labels = [], []
    for tier_index in replayable:
        tier = data.tiers[tier_index]
        for step in range(STEPS_PER_TIER):
            fraction = step / (STEPS_PER_TIER - 1)
            figure = race_figure(data, tier_index, fraction, width, height)
            frames.append(_frame_of(figure, f"{tier.name}-{step}"))
            start, end = tier_time_range(data, tier)
            labels.append(
                f"{theme.tier_label(tier.name)} tier, t = {start + (end - start) * fraction:.0f} s"
            )
    first = race_figure(data, replayable[0], 0.0, width, height)
    layout = {**first["layout"], **_controls([f["name"] for f in frames], labels, 150, 100)}
    layout["margin"] = {"l": 10, "r": 10, "t": 10, "b": 90}
    return {"data": first["data"], "layout": layout, "frames": frames}


def tier_bars_figure(data: ChartData) -> dict:
    """The tiers' final figures as bars; playing morphs them from tier to tier."""
    width, height = REPLAY_SIZE
    frames, labels = [], []
    for tier_index, tier in enumerate(data.tiers):
        figure = bars_figure(data, tier_index, None, 0.0, width, height)
        frames.append(_frame_of(figure, tier.name))
        labels.append(theme.tier_label(tier.name))
    first = (
        bars_figure(data, 0, None, 0.0, width, height) if data.tiers else {"data": [], "layout": {}}
    )
    layout = {**first["layout"], **_controls([f["name"] for f in frames], labels, 1200, 900)}
    layout["margin"] = {"l": 10, "r": 10, "t": 10, "b": 90}
    return {"data": first["data"], "layout": layout, "frames": frames}


def report_figures(data: ChartData) -> list[tuple[str, dict]]:
    """The report's sections in order: (heading, figure)."""
    sections = [
        ("Summary by tier", summary_figure(data)),
        ("Replay: every tier's load window", replay_figure(data)),
        ("Final figures, tier by tier", tier_bars_figure(data)),
        ("Results table", table_figure(data, 1280, 600)),
    ]
    if data.capacity is not None:
        sections.append(("Capacity at the SLO", capacity_summary_figure(data.capacity)))
    return sections


def expected_trace_count(data: ChartData) -> int:
    return sum(len(figure["data"]) for _, figure in report_figures(data))


def write_html_report(data: ChartData, path: Path | str) -> None:
    title = f"tierbench: {data.title}"
    sections = figure_sections(report_figures(data), "tierbench-figure")
    Path(path).write_text(html_page(title, sections, footer_text(data)), encoding="utf-8")
