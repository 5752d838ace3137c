"""Open an HTML report in headless Chromium with the network cut off, and say what broke.

The chart tests use it: a report that only works online, or that throws in the browser,
is not a report.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

import choreographer

_PLOTS_JS = """
Array.from(document.querySelectorAll('.js-plotly-plot')).map(gd => ({
  traces: (gd.data || []).length,
  frames: ((gd._transitionData || {})._frames || []).length,
}))
"""


@dataclass
class PageCheck:
    console_errors: list[str] = field(default_factory=list)
    network_requests: list[str] = field(default_factory=list)  # anything not file:// or data:
    plots: list[dict] = field(default_factory=list)  # per plot div: traces, frames

    @property
    def trace_count(self) -> int:
        return sum(plot["traces"] for plot in self.plots)


async def _value(tab, expression: str) -> object:
    response = await tab.send_command(
        "Runtime.evaluate",
        params={"expression": expression, "returnByValue": True, "awaitPromise": True},
    )
    return response.get("result", {}).get("result", {}).get("value")


def _record_problems(tab, check: PageCheck) -> None:
    """Note, in `check`, every error the page logs or throws and every request it makes
    beyond the page itself."""

    async def on_console(event: dict) -> None:
        params = event.get("params", {})
        if params.get("type") in ("error", "assert"):
            check.console_errors.append(
                " ".join(
                    str(arg.get("value", arg.get("description", "")))
                    for arg in params.get("args", [])
                )
            )

    async def on_exception(event: dict) -> None:
        details = event.get("params", {}).get("exceptionDetails", {})
        check.console_errors.append(
            details.get("exception", {}).get("description") or details.get("text", "exception")
        )

    async def on_log(event: dict) -> None:
        entry = event.get("params", {}).get("entry", {})
        if entry.get("level") == "error":
            check.console_errors.append(f"{entry.get('text')} ({entry.get('url', '')})")

    async def on_request(event: dict) -> None:
        url = event.get("params", {}).get("request", {}).get("url", "")
        if not url.startswith(("file:", "data:", "blob:", "about:")):
            check.network_requests.append(url)

    tab.subscribe("Runtime.consoleAPICalled", on_console)
    tab.subscribe("Runtime.exceptionThrown", on_exception)
    tab.subscribe("Log.entryAdded", on_log)
    tab.subscribe("Network.requestWillBeSent", on_request)


async def _check_in(browser, path: Path | str, expected_plots: int, timeout_s: float) -> PageCheck:
    """Open `path` in a new tab of `browser`, offline, and note what broke."""
    check = PageCheck()
    tab = await browser.create_tab("")
    _record_problems(tab, check)
    for method in ("Network.enable", "Runtime.enable", "Log.enable", "Page.enable"):
        await tab.send_command(method)
    await tab.send_command(
        "Network.emulateNetworkConditions",
        params={
            "offline": True,
            "latency": 0,
            "downloadThroughput": -1,
            "uploadThroughput": -1,
        },
    )
    loaded = tab.subscribe_once("Page.loadEventFired")
    await tab.send_command("Page.navigate", params={"url": Path(path).resolve().as_uri()})
    await asyncio.wait_for(loaded, timeout_s)
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        plots = await _value(tab, _PLOTS_JS)
        check.plots = plots if isinstance(plots, list) else []
        ready = len(check.plots) >= expected_plots
        if ready or asyncio.get_running_loop().time() > deadline:
            break
        await asyncio.sleep(0.2)
    # Let any late errors (e.g. from a failed fetch) arrive before leaving the page.
    await asyncio.sleep(0.5)
    return check


async def check_pages_async(
    paths: list[Path | str], *, expected_plots: int, timeout_s: float = 60.0
) -> list[PageCheck]:
    async with choreographer.Browser(headless=True) as browser:
        return [await _check_in(browser, path, expected_plots, timeout_s) for path in paths]


def check_pages(
    paths: list[Path | str], *, expected_plots: int, timeout_s: float = 60.0
) -> list[PageCheck]:
    """Each page checked in a tab of its own, in one headless browser."""
    return asyncio.run(check_pages_async(paths, expected_plots=expected_plots, timeout_s=timeout_s))


def check_page(path: Path | str, *, expected_plots: int, timeout_s: float = 60.0) -> PageCheck:
    [check] = check_pages([path], expected_plots=expected_plots, timeout_s=timeout_s)
    return check
