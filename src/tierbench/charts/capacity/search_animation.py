"""The search animation's frames: each tier's knee chart as its steps appear, beside the
capacities found so far, climbing tier after tier into the closing table."""

from __future__ import annotations

import math

from tierbench.charts import theme
from tierbench.charts.capacity.closing_table import capacity_table_figure
from tierbench.charts.capacity.figure_parts import axis_pair, panel_title
from tierbench.charts.capacity.knee_chart import knee_traces, latency_range, slo_line, x_range_of
from tierbench.charts.capacity.tier_bars import bar_traces, capacity_values
from tierbench.charts.capacity_results import CapacityData
from tierbench.charts.options import ChartOptions
from tierbench.charts.tiers import TierHeading

# Of each tier's segment, this share reveals the steps; the rest holds the result.
REVEAL_SHARE = 0.75


def search_frame(
    data: CapacityData, tier_index: int, shown: dict[str, int], width: int, height: int
) -> dict:
    """One frame: the current tier's knee chart as its steps appear (left), and the
    capacities found so far, tier by tier (right)."""
    layout = theme.base_layout(width, height)
    font_size = layout["font"]["size"]
    tier = data.tiers[tier_index]
    traces = _knee_panel(data, tier, shown, layout, font_size)
    traces += _found_so_far_panel(data, tier_index, shown, layout, font_size)
    note, legend = theme.footer_and_legend(
        f"dashed: SLO {data.percentile_label} ≤ {data.slo_ms:g} ms · ● passed ○ failed ★ capacity",
        0.05,
        0.01,
        font_size - 2,
        legend=theme.Legend(0.6, 0.86, font_size, yanchor="bottom"),
    )
    layout["annotations"] = [
        theme.paper_text(
            f"<b>Searching capacity · {theme.tier_label(tier.name)} tier · "
            f"{theme.format_limits(tier.cpus, tier.memory_bytes)}</b>",
            0.05,
            0.98,
            round(font_size * 1.5),
        ),
        theme.paper_text(
            "<br>".join(_latest_steps(data, tier, shown)) or " ",
            0.05,
            0.9,
            font_size,
            color=theme.MUTED,
            align="left",
        ),
        panel_title("Capacity at the SLO (req/s)", 0.68, 0.81, font_size),
        note,
    ]
    layout.update(
        {
            "barmode": "group",
            "bargap": 0.25,
            **legend,
            "margin": {"l": 10, "r": 10, "t": 10, "b": 10},
        }
    )
    return {"data": traces, "layout": layout}


def _knee_panel(
    data: CapacityData, tier: TierHeading, shown: dict[str, int], layout: dict, font_size: int
) -> list[dict]:
    """The tier's knee chart (left), with the steps shown so far and the SLO. Adds its
    axes to `layout`."""
    x_range = x_range_of(data, tier.name)
    axes = axis_pair(
        layout,
        1,
        [0.05, 0.6],
        [0.14, 0.8],
        x_range,
        latency_range(data),
        font_size,
        x_title="achieved requests/s",
        y_title=f"{data.percentile_label} latency (ms)",
    )
    traces = knee_traces(data, tier.name, axes, shown, font_size=font_size, legend=True)
    traces.append(slo_line(data, axes, x_range))
    return traces


def _found_so_far_panel(
    data: CapacityData, tier_index: int, shown: dict[str, int], layout: dict, font_size: int
) -> list[dict]:
    """The capacities found so far, tier by tier (right): the tiers before this one, and
    this one once all its steps are shown. Adds its axes to `layout`."""
    tier = data.tiers[tier_index]
    done = {t.name for t in data.tiers[:tier_index]}
    if all(
        shown.get(r, 0) >= len(c.steps)
        for r in data.runtimes
        if (c := data.cell(r, tier.name)) is not None
    ):
        done.add(tier.name)
    values, texts = capacity_values(data)
    for runtime in data.runtimes:
        for i, t in enumerate(data.tiers):
            if t.name not in done:
                values[runtime][i], texts[runtime][i] = None, ""
    peak = max([c.capacity_rps or 0 for c in data.cells.values()] + [1.0])
    bar_axes = axis_pair(
        layout, 2, [0.68, 0.98], [0.14, 0.8], None, [0, peak * 1.35], font_size, log_y=False
    )
    layout["xaxis2"].update({"type": "category", "range": None, "showgrid": False})
    return bar_traces(data, values, texts, bar_axes, font_size)


def _latest_steps(data: CapacityData, tier: TierHeading, shown: dict[str, int]) -> list[str]:
    """Each runtime's latest step shown: its phase and rate, what it achieved, and whether
    it passed."""
    lines = []
    for runtime in data.runtimes:
        cell = data.cell(runtime, tier.name)
        count = shown.get(runtime, 0)
        if cell is None or count == 0:
            continue
        step = cell.steps[count - 1]
        mark = "✓" if step["passed"] else "✗"
        latency = step["percentile_ms"]
        lines.append(
            f"{runtime}: {step['phase']} {step['offered_rate']:.3g} it/s → "
            f"{step['rps'] or 0:,.0f} req/s, {data.percentile_label} "
            f"{'–' if latency is None else f'{latency:.0f} ms'} {mark}"
        )
    return lines


def search_figures(data: CapacityData, options: ChartOptions) -> list[dict]:
    """Every frame of the search animation: each tier's steps appear in the order they
    ran, both runtimes at once, then the closing table holds."""
    if not data.tiers:
        return [capacity_table_figure(data, options.width, options.height)]
    closing = max(1, round(options.closing_s * options.fps))
    per_tier = max(2, round((options.length_s - options.closing_s) * options.fps / len(data.tiers)))
    figures = []
    for tier_index, tier in enumerate(data.tiers):
        for frame in range(per_tier):
            progress = min(1.0, (frame + 1) / (per_tier * REVEAL_SHARE))
            shown = {
                runtime: math.ceil(len(cell.steps) * progress)
                for runtime in data.runtimes
                if (cell := data.cell(runtime, tier.name)) is not None
            }
            figures.append(search_frame(data, tier_index, shown, options.width, options.height))
    table = capacity_table_figure(data, options.width, options.height)
    return figures + [table] * closing
