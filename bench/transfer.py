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
  apart, a window at most 5 s long);
- for the ward page and a council page, opened on a slow connection (``SLOW``: Lighthouse's mobile
  throttling, 1.6 Mbps down, 750 kbps up, 150 ms round trip, through the DevTools
  protocol), **before answer**: the bytes of the responses that had finished when the
  answer box (``.lb-answer``) was first painted (Element Timing), from the page's own
  Resource Timing (``transferSize``: headers and body as sent), so what a person waits
  for before reading the answer, and when that was; and the page's total twice: as
  opened (no scrolling) and **after scrolling** to the bottom, where every map on it is drawn.

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
    # Moss Bay (Allerdale, Cumberland today): a ward with an outline, in a council renamed since 2017.
    "ward page": "/leftbehind/wards/E05003132",
    # County Durham, the council with most left-behind wards: its map is below their list.
    "council page": "/leftbehind/local_authorities/E06000047",
}
# Pages opened on the slow connection, whose answer's paint and bytes before it are measured.
ANSWER_PAGES = ("ward page", "council page")
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

# A slow mobile connection (Lighthouse's "slow 4G" throttling), for the pages of ANSWER_PAGES.
SLOW = {"offline": False, "latency": 150, "downloadThroughput": 1_600_000 / 8, "uploadThroughput": 750_000 / 8}

# When the answer box is first painted: Element Timing needs the attribute before the box is
# painted, so it is added as the parser inserts the box (mutation records are delivered
# before the next rendering).
RECORD_ANSWER_PAINT = """
window.__answerShown = null;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    if (entry.identifier === "answer" && window.__answerShown === null) window.__answerShown = entry.renderTime || entry.loadTime;
  }
}).observe({type: "element", buffered: true});
new MutationObserver((records, observer) => {
  const answer = document.querySelector(".lb-answer");
  if (answer) { answer.setAttribute("elementtiming", "answer"); observer.disconnect(); }
}).observe(document, {childList: true, subtree: true});
"""

# Bytes of the document and of every resource finished by the time the answer was painted.
BYTES_BEFORE_ANSWER = """
() => {
  const shown = window.__answerShown;
  if (shown === null) return null;
  const entries = [...performance.getEntriesByType("navigation"), ...performance.getEntriesByType("resource")];
  return entries.filter((entry) => entry.responseEnd <= shown).reduce((sum, entry) => sum + entry.transferSize, 0);
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

    async def attach(self, context: Any, page: Any, throttle: dict | None = None) -> None:
        session = await context.new_cdp_session(page)
        session.on("Network.requestWillBeSent", self._sent)
        session.on("Network.requestServedFromCache", lambda event: self.from_cache.add(event["requestId"]))
        session.on("Network.dataReceived", self._data)
        session.on("Network.loadingFinished", self._finished)
        await session.send("Network.enable")
        if throttle:
            await session.send("Network.emulateNetworkConditions", throttle)

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
    elif path in (PAGES[name] for name in ANSWER_PAGES):
        await page.wait_for_function("() => window.__answerShown !== null")
    await page.wait_for_load_state("networkidle")
    await page.wait_for_timeout(SETTLE_MS)


async def scroll_to_the_end(page: Any) -> None:
    """Scroll down a screen at a time, as a reader does, until every map on the page is drawn."""
    await page.evaluate(
        """async () => {
          for (let y = 0; y < document.documentElement.scrollHeight; y += innerHeight) {
            window.scrollTo(0, y);
            await new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)));
          }
        }"""
    )
    await page.wait_for_function(
        "() => [...document.querySelectorAll('[data-map]')].every((map) => map.querySelector('.leaflet-marker-icon'))"
    )
    await page.wait_for_load_state("networkidle")
    await page.wait_for_timeout(SETTLE_MS)


async def one_visit(browser: Browser, base: str, path: str, viewport: dict) -> dict[str, float]:
    """A first visit to ``path`` (cold browser cache): bytes, requests and CLS."""
    context = await browser.new_context(viewport=viewport)
    try:
        await add_map_hook(context)
        await context.add_init_script(RECORD_LAYOUT_SHIFTS)
        await context.add_init_script(RECORD_ANSWER_PAINT)
        page = await context.new_page()
        traffic = Traffic(base)
        slow = path in (PAGES[name] for name in ANSWER_PAGES)
        await traffic.attach(context, page, SLOW if slow else None)
        await page.goto(base + path)
        await settle(page, path)
        figures = {
            "transferred": traffic.transferred,
            "decoded": traffic.decoded,
            "requests": traffic.requests,
            "cls": await page.evaluate(CLS),
        }
        if slow:
            figures["before_answer"] = await page.evaluate(BYTES_BEFORE_ANSWER)
            figures["answer_ms"] = await page.evaluate("() => window.__answerShown")
            await scroll_to_the_end(page)
            figures["after_scrolling"] = traffic.transferred
            figures["requests_after_scrolling"] = traffic.requests
        return figures
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


async def run(base: str, rounds: int, pages: dict[str, str]) -> dict[str, list[dict]]:
    results: dict[str, list[dict]] = {}
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=[*LAUNCH_ARGS, OFFLINE_BUT_HERE], headless=True
        )
        try:
            for page_name, path in pages.items():
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
    parser.add_argument("--page", action="append", choices=list(PAGES), help="only these pages (default: all)")
    args = parser.parse_args()
    pages = {name: path for name, path in PAGES.items() if not args.page or name in args.page}
    db = database()
    print_machine()
    with profile_server(db, out_dir() / "transfer-logs") as base:
        results = asyncio.run(run(base, args.rounds, pages)) if args.rounds else {}
        # Every page type's weight, unless only some pages were asked for (--page).
        weights = {} if args.page else asyncio.run(weigh_every_page(base, every_page(db)))
    print(f"\nbytes and layout shift in headless chromium (median of {args.rounds} rounds)")
    print(f"  {'page':22} {'transferred':>12} {'decoded':>12} {'ratio':>6} {'requests':>8} {'CLS':>6} {'(max)':>6}")
    summaries = {}
    for name, rounds in results.items():
        figures = summaries[name] = summary(rounds)
        ratio = figures["transferred"] / figures["decoded"] if figures["decoded"] else 0
        print(f"  {name:22} {figures['transferred']:>12,.0f} {figures['decoded']:>12,.0f} {ratio:>6.2f} "
              f"{figures['requests']:>8.0f} {figures['cls']:>6.3f} {figures['cls_max']:>6.3f}")
        if "before_answer" in figures:
            print(f"  {'':22} answer painted at {figures['answer_ms']:,.0f} ms after {figures['before_answer']:,.0f} B;"
                  f" after scrolling to the end {figures['after_scrolling']:,.0f} B"
                  f" in {figures['requests_after_scrolling']:.0f} requests")
    if weights:
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
