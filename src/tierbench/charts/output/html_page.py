"""An HTML page in the charts' style around interactive plotly figures, in one
self-contained file.

plotly.js is embedded once (no CDN) and MathJax is never requested, so the page works
offline and from a mail attachment.
"""

from __future__ import annotations

import html

import plotly.io as pio

from tierbench.charts import theme


def figure_sections(figures: list[tuple[str, dict]], id_prefix: str) -> list[str]:
    """Each (heading, figure) as an HTML section; plotly.js is embedded once, in the
    first, so the page works offline."""
    sections = []
    for index, (heading, figure) in enumerate(figures):
        div = pio.to_html(
            figure,
            full_html=False,
            include_plotlyjs=index == 0,
            include_mathjax=False,
            auto_play=False,
            validate=False,
            div_id=f"{id_prefix}-{index}",
            config={"displaylogo": False, "responsive": False},
        )
        sections.append(f"<section><h2>{html.escape(heading)}</h2>\n{div}\n</section>")
    return sections


def html_page(title: str, sections: list[str], footer: str) -> str:
    """A self-contained page in the charts' style around the given sections."""
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{html.escape(title)}</title>
<style>
body {{ font-family: {theme.FONT_FAMILY}; color: {theme.TEXT}; margin: 24px; }}
h1 {{ font-size: 24px; }} h2 {{ font-size: 19px; margin-top: 32px; }}
pre {{ white-space: pre-wrap; font-size: 13px; }}
footer {{ color: {theme.MUTED}; font-size: 13px; margin-top: 24px; }}
</style>
</head>
<body>
<h1>{html.escape(title)}</h1>
{"".join(sections)}
<footer>{footer}</footer>
</body>
</html>
"""
