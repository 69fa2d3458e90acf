"""Headless Chromium for the browser tests and the map benchmark.

Debian's ``chromium`` is driven by Playwright (never ``playwright install``).
Playwright is a test extra, so it is imported only inside the functions that
need it; the rest is page-side JavaScript and small Python helpers.

How markers are counted
-----------------------
datasette-cluster-map keeps its Leaflet map and ``L.markerClusterGroup`` in
local variables, so they are out of reach from the page. ``MAP_HOOK`` is added
as an init script before any page script runs: it traps the assignment of
``window.L`` (Leaflet 1.7 ends with ``window.L = exports``) and registers an
``L.Map`` init hook that keeps every map it creates in ``window.__leftbehindMaps``.
From the map we find the marker cluster group and count three ways:

- ``loaded``: markers in the cluster group (``getLayers()``), what was fetched;
- ``shown``: markers whose ``getVisibleParent()`` is not null, that is, drawn on
  the map either on their own or inside a cluster, at the current zoom;
- ``dom``: what is in the page, the sum of the numbers in the ``.marker-cluster``
  icons plus the lone ``.leaflet-marker-icon`` elements.

A count is reached only when all three agree: the DOM count alone could be
fooled by icons fading out during a zoom animation, and the Leaflet counts
alone would not prove anything was drawn.
"""

from __future__ import annotations

import asyncio
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

CHROMIUM = Path(os.environ.get("LEFTBEHIND_CHROMIUM", "/usr/bin/chromium"))
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 900}
# A deadline, not a wait: every wait in the browser tests ends at its own event (a
# response, an element, a count reached); this only stops a test that would otherwise
# hang. It is set on every context, for every Playwright call, far beyond what any step
# takes with the machine's cores busy with other work.
DEADLINE_MS = 180_000
PHONE = {"width": 390, "height": 844}
VIEWPORTS = {"desktop": VIEWPORT, "phone": PHONE}
# Datasette's page for a query stopped at sql_time_limit_ms (1 s). A machine busy enough can stop
# even the SQL page's small query there, on a server just started (seen once, at load 10 with
# two busy loops): that is the site answering honestly, not a fault of the page, and a person
# would load it again. Ordinary pages retry such a query themselves (leftbehind/site/retry.py);
# ad-hoc SQL does not, so that a runaway query never runs twice.
TOOK_TOO_LONG = "SQL query took too long"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "screenshots"  # git-ignored
# Screenshots are for a person to look at, and cost a PNG encoding each (about 0.2 s with
# the cores busy, some 250 a run): taken only when asked for, with LEFTBEHIND_SCREENSHOTS=1.
SCREENSHOTS_WANTED = os.environ.get("LEFTBEHIND_SCREENSHOTS") == "1"

MAP_HOOK = """
(() => {
  window.__leftbehindMaps = [];
  let leaflet;
  Object.defineProperty(window, "L", {
    configurable: true,
    get() { return leaflet; },
    set(value) {
      leaflet = value;
      if (value && value.Map && !value.__leftbehindHooked) {
        value.__leftbehindHooked = true;
        value.Map.addInitHook(function () { window.__leftbehindMaps.push(this); });
      }
    },
  });
  // The first map's marker cluster group once it is on the map, else null.
  window.__leftbehindClusterGroup = () => {
    const map = window.__leftbehindMaps[0];
    if (!map || !window.L || !L.MarkerClusterGroup) return null;
    let group = null;
    map.eachLayer((layer) => { if (layer instanceof L.MarkerClusterGroup && layer._map) group = layer; });
    return group;
  };
})();
"""

# Returns null until a map with a marker cluster group exists.
MARKER_COUNTS = """
() => {
  const group = window.__leftbehindClusterGroup();
  if (!group) return null;
  const markers = group.getLayers();
  const shown = markers.filter((marker) => group.getVisibleParent(marker) !== null).length;
  let dom = 0;
  group._map.getContainer().querySelectorAll(".leaflet-marker-icon").forEach((icon) => {
    dom += icon.classList.contains("marker-cluster") ? parseInt(icon.textContent, 10) : 1;
  });
  return {loaded: markers.length, shown: shown, dom: dom};
}
"""

# Before clicking a cluster: note when the cluster group has finished re-drawing
# after the zoom the click starts (animationend), or has spread the cluster out
# at the last zoom level (spiderfied).
ARM_CLUSTER_SETTLED = """
() => {
  window.__leftbehindSettled = false;
  window.__leftbehindClusterGroup().once("animationend spiderfied", () => {
    window.__leftbehindSettled = true;
  });
}
"""
CLUSTER_SETTLED = "() => window.__leftbehindSettled === true"

# True while nothing moves the first map: no zoom or pan under way, and the cluster group not
# re-drawing after one. A mark clicked while the map is still fitting itself to its marks can be
# merged into a group when the zoom ends, and its popup closes with it.
MAP_AT_REST = """
() => {
  const group = window.__leftbehindClusterGroup();
  const map = group && group._map;
  return !!map && !map._animatingZoom && !(map._panAnim && map._panAnim._inProgress) && !group._inZoomAnimation;
}
"""

# Before clicking a mark: note whether its popup opened and stayed open ("open") or was
# closed again ("closed", when a re-draw took the mark off the map).
ARM_POPUP = """
() => {
  const map = window.__leftbehindClusterGroup()._map;
  window.__leftbehindPopup = "pending";
  map.once("popupopen", () => {
    window.__leftbehindPopup = "open";
    map.once("popupclose", () => { window.__leftbehindPopup = "closed"; });
  });
}
"""
# Once the armed popup is settled: "open" when it shows its link, "closed" when it closed first.
POPUP_OUTCOME = """
() => {
  const state = window.__leftbehindPopup;
  if (state === "open") return document.querySelector(".leaflet-popup-content a") ? "open" : null;
  return state === "closed" ? "closed" : null;
}
"""

# True (and the moment, in ms since navigation started) once all counts equal n.
MARKERS_REACHED = (
    "(n) => { const c = (" + MARKER_COUNTS + ")();"
    " if (c && c.loaded === n && c.shown === n && c.dom === n) {"
    " window.__leftbehindReachedAt = window.__leftbehindReachedAt || {};"
    " window.__leftbehindReachedAt[n] = window.__leftbehindReachedAt[n] || performance.now();"
    " return true; } return false; }"
)


# How often a condition in the page is checked while a test waits for it: a polling
# interval, not a wait (the wait ends as soon as the condition holds).
POLL_MS = 50


class ChromiumMissing(RuntimeError):
    """Debian's chromium is not installed: the browser tests cannot run."""


async def launch_chromium(playwright: Any) -> Any:
    """Launch headless Debian chromium; fail loudly when it is missing."""
    if not CHROMIUM.exists():
        raise ChromiumMissing(
            f"{CHROMIUM} not found: install Debian's chromium (apt-get install chromium; .ci/run does)"
        )
    return await playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS, headless=True)


def is_own(url: str, base: str) -> bool:
    """Whether ``url`` is a request to our server at ``base``."""
    own = urlsplit(base)
    other = urlsplit(url)
    return (other.scheme, other.netloc) == (own.scheme, own.netloc)


async def keep_to_own_server(context: Any, base: str) -> None:
    """Abort every request to another host (map tiles from OpenStreetMap).

    Offline they fail anyway; aborting them makes runs the same online and
    offline and keeps automated traffic off the OpenStreetMap tile servers.

    The matcher is a regular expression, which Playwright's driver applies itself: the
    site's own requests are never paused. A Python function as matcher paused every request
    of every page (the HTML, each script and style, each JSON fetch) until this process had
    answered whether to let it through.
    """
    own = urlsplit(base)
    await context.route(re.compile(rf"^(?!{re.escape(f'{own.scheme}://{own.netloc}/')})"), lambda route: route.abort())


async def add_map_hook(context: Any) -> None:
    await context.add_init_script(MAP_HOOK)


async def new_context(browser: Any, base: str, **options) -> Any:
    """A browser context for the site at ``base``: other hosts aborted, the map hook in,
    and the deadline (``DEADLINE_MS``) on every call."""
    context = await browser.new_context(**options)
    context.set_default_timeout(DEADLINE_MS)
    await keep_to_own_server(context, base)
    await add_map_hook(context)
    return context


async def wait_for_map_at_rest(page: Any) -> None:
    """Wait until the first map is neither zooming, panning nor re-drawing its groups."""
    await page.wait_for_function(MAP_AT_REST, polling=POLL_MS)


async def click_cluster(page: Any, cluster: Any) -> None:
    """On a map at rest, click a cluster icon and wait until the map has zoomed in or spread
    it out (a click during a zoom could ask for a zoom Leaflet ignores)."""
    await wait_for_map_at_rest(page)
    await page.evaluate(ARM_CLUSTER_SETTLED)
    await cluster.click()
    await page.wait_for_function(CLUSTER_SETTLED, polling=POLL_MS)


async def open_popup(page: Any, mark: Any) -> bool:
    """Click a lone mark on a map at rest; True once its popup is open and shows its link,
    False when the popup closed again first (the mark was re-drawn into a group)."""
    await wait_for_map_at_rest(page)
    await page.evaluate(ARM_POPUP)
    await mark.click()
    outcome = await page.wait_for_function(POPUP_OUTCOME, polling=POLL_MS)
    return await outcome.json_value() == "open"


async def marker_counts(page: Any) -> dict[str, int] | None:
    return await page.evaluate(MARKER_COUNTS)


async def wait_for_markers(page: Any, expected: int, polling: float | str = POLL_MS) -> float:
    """Wait until ``expected`` markers are loaded, shown and in the DOM.

    Returns the moment it happened, in milliseconds since the navigation started
    (``performance.now()`` in the page), as precise as ``polling``: the tests check
    every ``POLL_MS``, the map benchmark every frame (``"raf"``). Counting 7,433
    markers on every frame would take the CPU the map needs to draw them.
    On the deadline the error says what was counted.
    """
    from playwright.async_api import TimeoutError as PlaywrightTimeout

    try:
        await page.wait_for_function(MARKERS_REACHED, arg=expected, polling=polling)
    except PlaywrightTimeout as error:
        counts = await marker_counts(page)
        raise AssertionError(f"expected {expected} markers on the map, counted {counts}") from error
    return await page.evaluate("(n) => window.__leftbehindReachedAt[n]", expected)


@dataclass
class PageWatch:
    """Everything that went wrong while a page was open, on our side, and what is in flight.

    Failures of requests to other hosts (map tiles) are ignored; everything else
    counts: uncaught exceptions, console errors, failed requests and error
    responses from our server. Two failures are the browser's own doing and ignored,
    both ``net::ERR_ABORTED``: a navigation that turns into a download, and a request
    of a document that was being navigated away from (a type-ahead suggestion still in
    flight, or sent just after, when Enter submits the search): one that started while
    a navigation of the main frame was under way, or before one started. A request
    aborted for any other reason (by the page's script, say) still counts.

    It also keeps the page's own requests in flight, for ``settle``.
    """

    base: str
    problems: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    downloads: set[str] = field(default_factory=set)
    cancelled: list[str] = field(default_factory=list)  # left behind by a navigation: not problems
    navigations: int = 0  # of the main frame, started
    leaving: bool = False  # a navigation of the main frame has started and not yet committed
    in_flight: dict[Any, tuple[int, bool]] = field(default_factory=dict)  # request -> (navigations, leaving)
    idle: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.idle.set()

    def attach(self, page: Any) -> None:
        page.on("pageerror", lambda error: self.problems.append(f"JavaScript error: {error}"))
        page.on("console", self._on_console)
        page.on("request", lambda request: self._on_request(page, request))
        page.on("requestfinished", self._done)
        page.on("requestfailed", lambda request: self._on_request_failed(page, request))
        page.on("response", self._on_response)
        page.on("download", self._on_download)
        page.on("framenavigated", lambda frame: self._arrived() if frame == page.main_frame else None)

    def _arrived(self) -> None:
        self.leaving = False

    def _on_download(self, download: Any) -> None:
        self.downloads.add(download.url)
        self.leaving = False  # the navigation became a download: the document stays

    def _on_console(self, message: Any) -> None:
        if message.type != "error":
            return
        source = (message.location or {}).get("url") or ""
        if source and not is_own(source, self.base):
            return
        self.problems.append(f"console error at {source or '?'}: {message.text}")

    @staticmethod
    def _main_navigation(page: Any, request: Any) -> bool:
        return request.is_navigation_request() and request.frame == page.main_frame

    def _on_request(self, page: Any, request: Any) -> None:
        if self._main_navigation(page, request):
            self.navigations += 1
            self.leaving = True
        if is_own(request.url, self.base):
            self.in_flight[request] = (self.navigations, self.leaving)
            self.idle.clear()

    def _done(self, request: Any) -> tuple[int, bool] | None:
        """Forget ``request``; (navigations, leaving) when it started."""
        started = self.in_flight.pop(request, None)
        if not self.in_flight:
            self.idle.set()
        return started

    def _on_request_failed(self, page: Any, request: Any) -> None:
        started = self._done(request)
        if self._main_navigation(page, request):
            self.leaving = False
        if not is_own(request.url, self.base):
            return
        failure = str(request.failure)
        left_behind = (
            started is not None
            and not request.is_navigation_request()
            and (started[1] or self.navigations > started[0])
        )
        if "ERR_ABORTED" in failure and left_behind:
            self.cancelled.append(request.url)
            return
        self.failed.append((request.url, failure))

    def _on_response(self, response: Any) -> None:
        if is_own(response.url, self.base) and response.status >= 400:
            self.problems.append(f"HTTP {response.status}: {response.url}")

    def take(self) -> list[str]:
        """The problems so far, and start afresh."""
        failures = [
            f"request failed: {url} ({failure})"
            for url, failure in self.failed
            if not (url in self.downloads and "ERR_ABORTED" in failure)
        ]
        problems = self.problems + failures
        self.problems, self.failed, self.downloads, self.cancelled = [], [], set(), []
        return problems


# True once the page has loaded and nothing on it is still moving: no Leaflet zoom or
# cluster animation, no CSS or Web animation running, no region marked busy (our maps
# are aria-busy until their marks are drawn, static/maps.js).
STILL = """
() => document.readyState === "complete"
  && !document.querySelector(".leaflet-zoom-anim, .leaflet-cluster-anim, [aria-busy=true]")
  && document.getAnimations().every((animation) => animation.playState !== "running")
"""
# True when nothing in the document changed during the next two animation frames.
UNCHANGED_FOR_TWO_FRAMES = """
async () => {
  let changed = false;
  const observer = new MutationObserver(() => { changed = true; });
  observer.observe(document, { subtree: true, childList: true, attributes: true, characterData: true });
  await new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)));
  observer.disconnect();
  return !changed;
}
"""


async def settle(page: Any, watch: PageWatch) -> None:
    """Wait until the page is finished: loaded, still (``STILL``), none of its requests to
    our server in flight, and nothing in it changing over two frames.

    Events, not time: no "network idle for 500 ms", which is a guess that is wrong both
    ways under load (too short for a busy server, and always 500 ms too long).
    """
    await page.wait_for_load_state("load")
    async with asyncio.timeout(DEADLINE_MS / 1000):
        while True:
            await page.wait_for_function(STILL, polling=POLL_MS)
            await watch.idle.wait()
            if await page.evaluate(UNCHANGED_FOR_TWO_FRAMES) and watch.idle.is_set() and await page.evaluate(STILL):
                return


class Visit:
    """A fresh browser context and page at one viewport, watched for problems on our side."""

    def __init__(self, page: Any, watch: PageWatch, base: str, width: int):
        self.page = page
        self.watch = watch
        self.base = base
        self.width = width

    async def open(self, path: str, status: int = 200, *, reload_if_out_of_time: bool = False) -> Any:
        """Go to ``path`` and expect ``status``; the response. With ``reload_if_out_of_time``, a page expected to
        answer 200 that answered Datasette's "SQL query took too long" (a busy machine stopped its SQL
        at the time limit) is loaded once more, as a person would reload it."""
        response = await self.page.goto(self.base + path)
        if (
            reload_if_out_of_time and status == 200 and response is not None and response.status == 400
            and TOOK_TOO_LONG in await response.text()
        ):
            self.watch.take()  # that 400 and its console line were the machine's, not the page's
            response = await self.page.goto(self.base + path)
        assert response is not None and response.status == status, (path, response and response.status)
        return response

    async def resize(self, viewport: dict) -> None:
        """Lay out the pages opened next at ``viewport``, as a fresh context of that size would
        (the contexts set nothing else that depends on the width)."""
        if self.page.viewport_size != viewport:
            await self.page.set_viewport_size(viewport)
            self.width = viewport["width"]

    async def shoot(self, name: str) -> None:
        await screenshot(self.page, f"{name}-{self.width}")

    async def settle(self) -> None:
        await settle(self.page, self.watch)

    async def page_width(self) -> int:
        return await self.page.evaluate("document.documentElement.scrollWidth")

    def assert_no_problems(self) -> None:
        problems = self.watch.take()
        assert problems == [], problems


async def screenshot(page: Any, name: str) -> None:
    """The viewport as ``screenshots/NAME.png``, animations finished, when screenshots are
    wanted (``SCREENSHOTS_WANTED``)."""
    if SCREENSHOTS_WANTED:
        SCREENSHOTS.mkdir(exist_ok=True)
        await page.screenshot(path=SCREENSHOTS / f"{name}.png", animations="disabled")


async def visit(browser: Any, base: str, viewport: dict, **options) -> tuple[Any, Visit]:
    """A new context (``new_context``) and a watched page at ``viewport``."""
    context = await new_context(browser, base, viewport=viewport, **options)
    page = await context.new_page()
    watch = PageWatch(base)
    watch.attach(page)
    return context, Visit(page, watch, base, viewport["width"])
