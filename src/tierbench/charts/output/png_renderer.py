"""Render many plotly figures to PNG with one headless browser.

`fig.write_image` per frame starts a browser for each image, and kaleido's batch API
reloads its page (and plotly.js) after every image. Here kaleido only starts the browser
and opens its tabs, with MathJax off (offline, kaleido's default MathJax download stalls
every render); each tab then renders batches of frames with plotly.js's own
`Plotly.toImage`, with no reload between them, and the tabs work through the frames in
parallel.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
from collections.abc import Sequence

import kaleido

# Installed once in every tab: render a batch of figures, each at its layout's width and
# height, and return PNG data URLs in order.
_RENDER_BATCH_JS = """
window.tierbenchRenderBatch = async function (figures) {
  const images = [];
  for (const figure of figures) {
    images.push(await Plotly.toImage(
      {data: figure.data, layout: figure.layout, config: {staticPlot: true}},
      {format: "png", width: figure.layout.width, height: figure.layout.height}));
  }
  return images;
};
"""
PNG_DATA_URL = "data:image/png;base64,"


class FrameRenderError(RuntimeError):
    """plotly.js could not draw a frame; the message says which and why."""


def default_workers() -> int:
    """One tab per core, at most four: each tab's renderer process keeps a core busy."""
    return max(1, min(os.cpu_count() or 1, 4))


async def _evaluate(tab, expression: str) -> object:
    response = await tab.send_command(
        "Runtime.evaluate",
        params={"expression": expression, "awaitPromise": True, "returnByValue": True},
    )
    if "error" in response:
        raise FrameRenderError(f"the browser refused the render request: {response['error']}")
    result = response.get("result", {})
    if "exceptionDetails" in result:
        details = result["exceptionDetails"]
        text = details.get("exception", {}).get("description") or details.get("text")
        raise FrameRenderError(f"plotly.js failed to draw a frame: {text}")
    return result.get("result", {}).get("value")


async def render_figures_async(
    figures: Sequence[dict],
    *,
    workers: int | None = None,
    batch_size: int = 6,
    timeout_s: float = 300.0,
) -> list[bytes]:
    """PNG bytes of every figure (a dict with `data` and a `layout` giving its width and
    height), in order. Identical figures (held frames) are rendered once."""
    if not figures:
        return []
    payloads = [json.dumps(figure, separators=(",", ":")) for figure in figures]
    unique = list(dict.fromkeys(payloads))
    workers = max(1, min(workers or default_workers(), len(unique)))
    rendered: dict[str, bytes] = {}
    batches: asyncio.Queue[list[str]] = asyncio.Queue()
    for start in range(0, len(unique), batch_size):
        batches.put_nowait(unique[start : start + batch_size])

    async def work(tab) -> None:
        await _evaluate(tab, _RENDER_BATCH_JS)
        while not batches.empty():
            batch = batches.get_nowait()
            urls = await asyncio.wait_for(
                _evaluate(tab, f"tierbenchRenderBatch([{','.join(batch)}])"), timeout_s
            )
            if not isinstance(urls, list) or len(urls) != len(batch):
                raise FrameRenderError(
                    f"expected {len(batch)} images from the browser, got {type(urls).__name__}"
                )
            for payload, url in zip(batch, urls, strict=True):
                if not str(url).startswith(PNG_DATA_URL):
                    raise FrameRenderError("a frame did not come back as a PNG")
                rendered[payload] = base64.b64decode(url[len(PNG_DATA_URL) :])

    async with kaleido.Kaleido(n=workers, mathjax=False, timeout=timeout_s) as browser:
        tabs = list(browser.tabs.values())[:workers]
        await asyncio.gather(*(work(tab) for tab in tabs))
    missing = len(unique) - len(rendered)
    if missing:
        raise FrameRenderError(f"{missing} of {len(unique)} distinct frames were not rendered")
    return [rendered[payload] for payload in payloads]


def render_figures(figures: Sequence[dict], *, workers: int | None = None) -> list[bytes]:
    """Blocking form of `render_figures_async`."""
    return asyncio.run(render_figures_async(figures, workers=workers))
