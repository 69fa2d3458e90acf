"""Bytes over the wire and layout shift, in headless Chromium.

    LEFTBEHIND_SOURCES_DIR=../shared/data .venv/bin/python bench/transfer.py [--rounds 3]

Against the publishing profile on 127.0.0.1, each page is opened in a fresh browser
context (cold cache) at 1280 px and at 390 px wide, and left to settle: the map's
225 markers shown, the dashboard's charts drawn, then the network idle. For each
page it prints:

- **transferred**: what came over the wire from our server for the page and
  everything it loaded (Chromium's ``encodedDataLength``: headers and the body as
  sent, compressed or not); tiles from other hosts are aborted, as offline;
- **decoded**: the same bodies after decompression, so the ratio of the two is
  what compression saves (bodies the browser took from its cache count in neither);
- **requests**: how many requests the page made to our server over the network
  (not answered from the browser's cache);
- **CLS**: cumulative layout shift as Chromium reports it to a
  ``PerformanceObserver`` (``layout-shift`` entries without recent input), as
  the Core Web Vitals define it: the largest session window (shifts less than 1 s
  apart, a window at most 5 s long).

Medians (and the largest CLS) of ``--rounds`` rounds after one warm-up round (the server's page cache
warm, as for any visitor after the first).

Then every page type of ``bench/_pages.py`` (and About, Find my ward and the dashboard), once each
at 1280 px in a fresh context: what came over the wire **until the page's load event** (the HTML
and everything it loads before it is shown: styles, scripts, images; the target: under 100 KB
for every page but the dashboard) and **in all** once the network is idle (what scripts fetch
after it: map data, Leaflet where a map is drawn, the SQL editor where someone edits SQL).
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from _common import database, median, out_dir, print_machine, save
from _pages import pages as page_types
from playwright.async_api import Browser, async_playwright

from support.browser import CHROMIUM, LAUNCH_ARGS, add_map_hook, is_own, wait_for_markers
from support.live import profile_server

PAGES = {
    "map page": "/leftbehind/left_behind_neighbourhoods",
    "dashboard": "/-/dashboards/left-behind",
}
VIEWPORTS = {"1280 px": {"width": 1280, "height": 900}, "390 px": {"width": 390, "height": 844}}
MAP_MARKERS = 225
BUDGET_BYTES = 100_000  # until the load event, every page but the dashboard
SETTLE_MS = 1000  # after the page is drawn and the network idle: late shifts count too
# Other hosts (map tiles) fail to resolve, as offline. Not with Playwright's routing,
# which would turn the browser's HTTP cache off and so hide what caching saves.
OFFLINE_BUT_HERE = "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"

RECORD_LAYOUT_SHIFTS = """
window.__shifts = [];
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    if (!entry.hadRecentInput) window.__shifts.push([entry.startTime, entry.value]);
  }
}).observe({type: "layout-shift", buffered: true});
"""

# The largest session window: shifts less than 1 s apart, a window at most 5 s long.
CLS = """
() => {
  let best = 0, current = 0, start = -Infinity, last = -Infinity;
  for (const [time, value] of window.__shifts) {
    if (time - last > 1000 || time - start > 5000) { current = 0; start = time; }
    current += value; last = time;
    best = Math.max(best, current);
  }
  return best;
}
"""


class Traffic:
    """Bytes and requests to our server, from the DevTools protocol's Network events."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.urls: dict[str, str] = {}
        self.transferred = 0
        self.decoded = 0
        self.requests = 0
        self.from_cache: set[str] = set()

    async def attach(self, context: Any, page: Any) -> None:
        session = await context.new_cdp_session(page)
        session.on("Network.requestWillBeSent", self._sent)
        session.on("Network.requestServedFromCache", lambda event: self.from_cache.add(event["requestId"]))
        session.on("Network.dataReceived", self._data)
        session.on("Network.loadingFinished", self._finished)
        await session.send("Network.enable")

    def _sent(self, event: dict) -> None:
        if is_own(event["request"]["url"], self.base):
            self.urls[event["requestId"]] = event["request"]["url"]

    def _data(self, event: dict) -> None:
        if event["requestId"] in self.urls and event["requestId"] not in self.from_cache:
            self.decoded += event["dataLength"]

    def _finished(self, event: dict) -> None:
        if event["requestId"] in self.urls and event["requestId"] not in self.from_cache:
            self.transferred += event["encodedDataLength"]
            self.requests += 1


async def settle(page: Any, path: str) -> None:
    """Wait until the page has drawn what it is for, then for the network to be idle."""
    if path == PAGES["map page"]:
        await wait_for_markers(page, MAP_MARKERS, polling="raf")
    elif path == PAGES["dashboard"]:
        await page.wait_for_function(
            "() => [...document.querySelectorAll('.dashboard-card-chart')].every("
            "(card) => card.querySelector('svg, canvas, table') || card.textContent.trim())"
        )
    await page.wait_for_load_state("networkidle")
    await page.wait_for_timeout(SETTLE_MS)


async def one_visit(browser: Browser, base: str, path: str, viewport: dict) -> dict[str, float]:
    """A first visit to ``path`` (cold browser cache): bytes, requests and CLS."""
    context = await browser.new_context(viewport=viewport)
    try:
        await add_map_hook(context)
        await context.add_init_script(RECORD_LAYOUT_SHIFTS)
        page = await context.new_page()
        traffic = Traffic(base)
        await traffic.attach(context, page)
        await page.goto(base + path)
        await settle(page, path)
        return {
            "transferred": traffic.transferred,
            "decoded": traffic.decoded,
            "requests": traffic.requests,
            "cls": await page.evaluate(CLS),
        }
    finally:
        await context.close()


async def page_weight(browser: Browser, base: str, path: str) -> dict[str, float]:
    """A first visit to ``path`` at 1280 px: bytes and requests until the load event, and in all."""
    context = await browser.new_context(viewport=VIEWPORTS["1280 px"])
    try:
        await add_map_hook(context)
        page = await context.new_page()
        traffic = Traffic(base)
        await traffic.attach(context, page)
        await page.goto(base + path, wait_until="load")
        loaded = {"loaded": traffic.transferred, "loaded_requests": traffic.requests}
        await settle(page, path)
        return {**loaded, "all": traffic.transferred, "all_requests": traffic.requests}
    finally:
        await context.close()


async def weigh_every_page(base: str, paths: dict[str, str]) -> dict[str, dict]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=[*LAUNCH_ARGS, OFFLINE_BUT_HERE], headless=True
        )
        try:
            weights = {}
            for name, path in paths.items():
                await page_weight(browser, base, path)  # warm the server's page cache
                weights[name] = await page_weight(browser, base, path)
            return weights
        finally:
            await browser.close()


def every_page(db) -> dict[str, str]:
    paths = {name: page.path for name, page in page_types(db).items() if "csv" not in name and "Atom" not in name}
    return {**paths, "About": "/about", "Find my ward": "/find-my-ward", "dashboard": PAGES["dashboard"]}


async def run(base: str, rounds: int) -> dict[str, list[dict]]:
    results: dict[str, list[dict]] = {}
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=[*LAUNCH_ARGS, OFFLINE_BUT_HERE], headless=True
        )
        try:
            for page_name, path in PAGES.items():
                for width, viewport in VIEWPORTS.items():
                    await one_visit(browser, base, path, viewport)  # warm the server's page cache
                    results[f"{page_name} at {width}"] = [
                        await one_visit(browser, base, path, viewport) for _ in range(rounds)
                    ]
        finally:
            await browser.close()
    return results


def summary(rounds: list[dict]) -> dict[str, float]:
    medians = {key: median([r[key] for r in rounds]) for key in rounds[0]}
    return {**medians, "cls_max": max(r["cls"] for r in rounds)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--label", default="", help="a name for this run in bench/out/ (e.g. before)")
    args = parser.parse_args()
    db = database()
    print_machine()
    with profile_server(db, out_dir() / "transfer-logs") as base:
        results = asyncio.run(run(base, args.rounds)) if args.rounds else {}
        weights = asyncio.run(weigh_every_page(base, every_page(db)))
    print(f"\nbytes and layout shift in headless chromium (median of {args.rounds} rounds)")
    print(f"  {'page':22} {'transferred':>12} {'decoded':>12} {'ratio':>6} {'requests':>8} {'CLS':>6} {'(max)':>6}")
    summaries = {}
    for name, rounds in results.items():
        figures = summaries[name] = summary(rounds)
        ratio = figures["transferred"] / figures["decoded"] if figures["decoded"] else 0
        print(f"  {name:22} {figures['transferred']:>12,.0f} {figures['decoded']:>12,.0f} {ratio:>6.2f} "
              f"{figures['requests']:>8.0f} {figures['cls']:>6.3f} {figures['cls_max']:>6.3f}")
    print(f"\nevery page type at 1280 px, first visit: bytes over the wire (requests) until the load event, "
          f"and in all; budget {BUDGET_BYTES:,} bytes until load (not the dashboard, nor a CSV download)")
    print(f"  {'page':26} {'until load':>12} {'':>4} {'in all':>12} {'':>4}  budget")
    for name, weight in weights.items():
        # The dashboard's charts need Vega; a CSV is a download of data, not a page to read.
        verdict = "" if name == "dashboard" or "CSV" in name else ("met" if weight["loaded"] < BUDGET_BYTES else "NOT met")
        print(f"  {name:26} {weight['loaded']:>12,.0f} ({weight['loaded_requests']:>2.0f}) {weight['all']:>12,.0f} "
              f"({weight['all_requests']:>2.0f})  {verdict}")
    save("transfer" + (f"-{args.label}" if args.label else ""),
         {"rounds": results, "medians": summaries, "every_page": weights, "budget_bytes": BUDGET_BYTES})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
