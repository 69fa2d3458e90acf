"""WCAG 2.2 AA in a real browser: axe-core on every page type, and the keyboard alone.

Headless Debian chromium against a real server with the publishing profile; map tiles
from other hosts are aborted, so nothing here needs the network (axe-core itself comes
inside the axe-playwright-python package). Every page type of tests/support/pages.py is
audited at 1280 and 390 px wide; any violation of impact critical or serious fails, and
the page must not scroll sideways at 390 px. With LEFTBEHIND_SCREENSHOTS=1,
screenshots go to ``screenshots/``.
docs/accessibility.md lists what axe still reports (moderate and minor) and why.
"""

from __future__ import annotations

import asyncio
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.async_api import Page

from support.axe import axe_report
from support.browser import PHONE, VIEWPORT, VIEWPORTS, Visit, visit, wait_for_map_at_rest, wait_for_markers
from support.pages import JSON_ARRAY_CELLS, RECORD_TABLES, page_types, reach_state

pytestmark = pytest.mark.long
WARDS = "/leftbehind/wards"
FOCUS_TARGETS = {
    "skip link": "a.lb-skip-link",
    "search box": "input#_search",
    "facet link": ".facet-info li a",
    "zoom in": ".lb-map .leaflet-control-zoom-in",
    "zoom out": ".lb-map .leaflet-control-zoom-out",
    "load all": "button.lb-map-load-all",
    "column options": ".rows-and-columns th svg.dropdown-menu-icon",
}
# Which of FOCUS_TARGETS has focus, whether its focus is visible, and where it is.
FOCUSED = """
(targets) => {
  const element = document.activeElement;
  if (!element || element === document.body) return null;
  const name = Object.keys(targets).find((key) => element.matches(targets[key])) || element.tagName.toLowerCase();
  const style = getComputedStyle(element);
  const box = element.getBoundingClientRect();
  return {
    name: name,
    outline: style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2,
    inViewport: box.bottom > 0 && box.top < innerHeight && box.right > 0 && box.left < innerWidth,
    inMain: Boolean(element.closest("main")),
  };
}
"""
MAX_TABS = 800
NEXT_FRAMES = "() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))"


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


# --- axe-core on every page type, at both widths -------------------------------------------

# What every page must have: one <main id="main">, the language, and a skip link to <main>
# as the first thing a keyboard reaches.
STRUCTURE = """() => ({
  mains: document.querySelectorAll("main").length,
  mainId: document.querySelector("main")?.id,
  lang: document.documentElement.lang,
  firstFocusable: document.querySelector("a[href], button, input, select, textarea, [tabindex]")?.className,
  skipTarget: document.querySelector("a.lb-skip-link")?.getAttribute("href"),
})"""
EXPECTED_STRUCTURE = {"mains": 1, "mainId": "main", "lang": "en-GB", "firstFocusable": "lb-skip-link", "skipTarget": "#main"}


# Browser contexts auditing side by side, each taking the next audit from one queue and setting
# its viewport to the audit's width. One context per auditor, not one per width: every context
# fetches and compiles the site's scripts and styles afresh (Leaflet, Vega), and two auditors of
# one context each keep a worker's share of the cores busy. Measured with the sweep alone on two
# workers: four auditors with a context per width took 225-237 CPU-seconds, two with one
# context each 196-197 (and 107 s rather than 120-126 s).
AUDITORS = 2
# Every page type is audited at 390 px, where target size, reflow and crowding are hardest. At
# 1280 px every page type is too, except the members of a family drawn by one template beyond
# its representatives (WIDE): what differs between the members (a table's columns, cell
# renderers and values; a record's fields; a canned query's rows; the words of a ward's answer)
# is the same at any width, and the template's wide layout is what the representatives prove.
# Every interaction state is audited at both widths. `make audit` (bench/accessibility.py)
# audits every page type at both widths, as the figures in docs/accessibility.md do.
CATALOGUE_RECORDS = {f"row {kind}" for kind in RECORD_TABLES.values()} | {"row session with contents"}
FAMILIES = {  # by page type: a table or view as served, not searched or faceted
    "tables and views": lambda page: page.name.startswith(("table ", "view ")) and "?" not in page.path,
    "canned queries": lambda page: page.name.startswith("query "),
    "ward pages": lambda page: page.name.startswith("row ward"),
    "catalogue records": lambda page: page.name in CATALOGUE_RECORDS,
}
WIDE = (
    "table wards",  # the most visited page, with its map and facets
    "table publications",  # the catalogue's markdown and links
    "table session_people",  # a table of links between records
    "view left_behind_neighbourhoods",  # a view with a map
    "query search_publications",
    "query region_summary",
    "row ward",
    "row ward, not reproduced",
    "row publication",
    "row session with contents",
)


def family_of(page_type) -> str | None:
    """The family of page types drawn by one template that ``page_type`` belongs to, if any
    (an interaction state belongs to none)."""
    if page_type.state is not None:
        return None
    return next((family for family, member in FAMILIES.items() if member(page_type)), None)


def audited_at(page_type, width: str) -> bool:
    """Whether the sweep audits ``page_type`` at ``width`` (``desktop`` or ``phone``)."""
    if width not in page_type.widths:
        return False
    return width == "phone" or family_of(page_type) is None or page_type.name in WIDE


# A table or view page's rows repeat one row template and each column's cell renderer, so axe
# finds on its first rows what it would on all of them, at a fifth of the cost: axe's time grows
# with the cells (the 100-row wards page took 30-40 s of the sweep's 715 axe-seconds, and the
# tables and views 486). The sweep audits them at AUDITED_ROWS rows; the one exception is the
# page most visited, the wards table, audited as served (100 rows) at 390 px: every rule on
# every row, but colour contrast (nearly all of axe's time there) on its first AUDITED_ROWS.
# Any other page with more rows (a canned query's 40, the SQL page's 225 wards on a map) has
# its colour contrast checked on the first AUDITED_ROWS rows of each table body in the same way:
# contrast was 55-70 % of axe's CPU on those pages.
AUDITED_ROWS = 20
AS_SERVED = ("table wards", "phone")
LONGEST_TABLE_BODY = "() => Math.max(0, ...[...document.querySelectorAll('tbody')].map((body) => body.rows.length))"


def audited_path(page_type, width: str) -> str:
    """The page type's path, with at most ``AUDITED_ROWS`` rows for a table or view."""
    if not page_type.name.startswith(("table ", "view ")) or (page_type.name, width) == AS_SERVED:
        return page_type.path
    if "_size=" in page_type.path:
        return page_type.path
    return page_type.path + ("&" if "?" in page_type.path else "?") + f"_size={AUDITED_ROWS}"


async def audit_page(opened: Visit, page_type, width: str) -> dict[str, object]:
    """One page type at one width: its blocking axe violations, a wrong structure, a sideways
    scroll at 390 px, any cell showing a raw JSON array, and problems on our side."""
    found: dict[str, object] = {}
    response = await opened.open(audited_path(page_type, width), page_type.status, reload_if_out_of_time=True)
    if "content-security-policy" not in response.headers:  # what breaks it is a console error: a page problem
        found["no Content-Security-Policy"] = True
    await opened.settle()
    if await reach_state(opened.page, page_type):
        await opened.settle()
    longest_body = await opened.page.evaluate(LONGEST_TABLE_BODY)
    report = await axe_report(opened.page, contrast_rows=AUDITED_ROWS if longest_body > AUDITED_ROWS else None)
    if report.blocking():
        found["axe"] = report.blocking()
    if (structure := await opened.page.evaluate(STRUCTURE)) != EXPECTED_STRUCTURE:
        found["structure"] = structure
    if width == "phone" and (scroll_width := await opened.page_width()) > PHONE["width"]:
        found["too wide"] = scroll_width
    if arrays := await opened.page.evaluate(JSON_ARRAY_CELLS):  # lists are shown as lists, not JSON
        found["raw JSON arrays"] = arrays[:2]
    await opened.shoot(f"a11y-{slug(page_type.name)}")
    url = opened.page.url
    if problems := [problem for problem in opened.watch.take() if not its_own_error_status(problem, url, page_type.status)]:
        found["page problems"] = problems
    return found


def its_own_error_status(problem: str, url: str, status: int) -> bool:
    """Whether ``problem`` is only the status of the page at ``url`` itself, when that is an error
    on purpose (the 404 and 400 pages), as the watch reports it and as Chromium's console does."""
    return status != 200 and (
        problem == f"HTTP {status}: {url}"
        or (problem.startswith(f"console error at {url}: ") and f"the server responded with a status of {status}" in problem)
    )


def heaviest_first(audits: list[tuple]) -> list[tuple]:
    """(page type, width) pairs, the full wards page first, then tables and views: axe takes
    longest over their rows, and a long page started last would leave the other auditors idle."""
    return sorted(audits, key=lambda audit: ((audit[0].name, audit[1]) != AS_SERVED, not audit[0].name.startswith(("table ", "view "))))


# The sweep in parts, each its own xdist group: a worker free for one takes it, so the sweep,
# the run's longest work, is shared by the workers rather than ending the run on one of them.
SWEEP_PARTS = 3


@pytest.mark.parametrize(
    "part", [pytest.param(part, marks=pytest.mark.xdist_group(f"accessibility-sweep-{part}")) for part in range(SWEEP_PARTS)]
)
async def test_every_page_type_at_both_widths_has_no_critical_or_serious_violation(chromium, live_site, data, db_path, part):
    """axe-core on every page type at 390 px, and at 1280 px as ``audited_at`` says, ``AUDITORS``
    browser contexts at a time: this part's share of the audits, every ``SWEEP_PARTS``th one,
    heaviest first."""
    pages = page_types(data, db_path)
    assert len(pages) > 40
    widths = {"desktop": "1280 px", "phone": "390 px"}
    audits = heaviest_first([(page_type, width) for page_type in pages for width in widths if audited_at(page_type, width)])
    at_390 = {page_type.name for page_type, width in audits if width == "phone"}
    assert at_390 == {page_type.name for page_type in pages if "phone" in page_type.widths}
    wide = {page_type.name for page_type, width in audits if width == "desktop"}
    assert wide >= set(WIDE) and {family_of(page_type) for page_type in pages} - {None} == set(FAMILIES)
    queue: asyncio.Queue = asyncio.Queue()
    for audit in audits[part::SWEEP_PARTS]:
        queue.put_nowait(audit)
    share = queue.qsize()
    failures: dict[str, dict] = {label: {} for label in widths.values()}
    audited: list[tuple[str, str]] = []

    async def auditor() -> None:
        context, tab = await visit(chromium, live_site, VIEWPORTS["desktop"])
        try:
            while not queue.empty():
                page_type, width = queue.get_nowait()
                await tab.resize(VIEWPORTS[width])
                for kind, failure in (await audit_page(tab, page_type, width)).items():
                    failures[widths[width]].setdefault(kind, {})[page_type.name] = failure
                audited.append((page_type.name, width))
        finally:
            await context.close()

    await asyncio.gather(*(auditor() for _ in range(AUDITORS)))
    assert len(audited) == share > 0
    assert failures == {"1280 px": {}, "390 px": {}}


async def test_axe_finds_what_it_should(chromium, live_site):
    """The audit can fail: the same run on a page with an unlabelled control reports it as critical."""
    context, opened = await visit(chromium, live_site, VIEWPORT)
    try:
        await opened.open("/about")
        await opened.settle()
        await opened.page.evaluate(
            "document.querySelector('main').insertAdjacentHTML('beforeend', '<select><option>x</option></select>')"
        )
        report = await axe_report(opened.page)
    finally:
        await context.close()
    assert "select-name" in report.rules("critical")
    assert report.blocking()


async def test_a_sampled_contrast_check_still_finds_both_kinds_of_failure(chromium, live_site):
    """Colour contrast checked on the first rows only still fails a faint cell there, and every
    other rule still runs on the rows after them (an unlabelled control in a late row). On the
    publications table: the sampling is the same on any table, and the wards table's map (its
    1,000 markers drawn) cost more than the audit itself."""
    context, opened = await visit(chromium, live_site, PHONE)
    try:
        await opened.open(f"/leftbehind/publications?_size={AUDITED_ROWS + 10}")
        await opened.settle()
        await opened.page.evaluate(
            """(rows) => {
              const body = document.querySelectorAll("table.rows-and-columns tbody tr");
              for (const element of body[2].querySelectorAll("td, td *")) element.style.color = "#dddddd";
              body[rows + 5].querySelector("td").insertAdjacentHTML("beforeend", "<select><option>x</option></select>");
            }""",
            AUDITED_ROWS,
        )
        report = await axe_report(opened.page, contrast_rows=AUDITED_ROWS)
    finally:
        await context.close()
    assert "color-contrast" in report.rules("serious")
    assert "select-name" in report.rules("critical")


# --- the keyboard alone ------------------------------------------------------------------------


async def tab_until(page: Page, wanted: set[str]) -> dict[str, dict]:
    """Press Tab from where focus is until every wanted target has had focus; what each looked like."""
    reached: dict[str, dict] = {}
    for _ in range(MAX_TABS):
        await page.keyboard.press("Tab")
        focused = await page.evaluate(FOCUSED, FOCUS_TARGETS)
        if focused and focused["name"] in wanted and focused["name"] not in reached:
            reached[focused["name"]] = focused
            if set(reached) == wanted:
                break
    return reached


async def focus_from_the_top(page: Page) -> None:
    """Put the keyboard back at the start of the page, as a fresh load does."""
    await page.evaluate("() => { document.activeElement?.blur(); window.scrollTo(0, 0); }")
    await page.locator("body").focus()


async def test_keyboard_alone_reaches_and_operates_search_facets_and_the_map(desktop: Visit, data):
    page = desktop.page
    await desktop.open(WARDS)
    await wait_for_markers(page, 1000)

    # The first Tab reaches the skip link, which shows itself and moves the keyboard into <main>.
    await page.keyboard.press("Tab")
    first = await page.evaluate(FOCUSED, FOCUS_TARGETS)
    assert first["name"] == "skip link" and first["inViewport"] and first["outline"], first
    await desktop.shoot("keyboard-skip-link")
    await page.keyboard.press("Enter")
    assert urlsplit(page.url).fragment == "main"
    await page.keyboard.press("Tab")
    assert (await page.evaluate(FOCUSED, FOCUS_TARGETS))["inMain"]

    # From the top, Tab alone reaches every other control, each with a visible focus. (Not the skip
    # link again: Chromium goes on from where the skip link sent the keyboard, so reaching it
    # again means going round the whole page, some 700 presses; the lines above proved it.)
    await focus_from_the_top(page)
    wanted = set(FOCUS_TARGETS) - {"skip link"}
    reached = await tab_until(page, wanted)
    assert set(reached) == wanted, f"never reached: {wanted - set(reached)}"
    assert all(target["outline"] and target["inViewport"] for target in reached.values()), reached

    # The map's zoom buttons work from the keyboard, once it has fitted itself to its marks
    # (Leaflet ignores a zoom asked for while it is zooming).
    zoom = "() => window.__leftbehindMaps[0].getZoom()"
    await wait_for_map_at_rest(page)
    before = await page.evaluate(zoom)
    await page.locator(FOCUS_TARGETS["zoom in"]).focus()
    await page.keyboard.press("Enter")
    await page.wait_for_function(f"(before) => ({zoom})() > before", arg=before)
    await page.locator(FOCUS_TARGETS["zoom out"]).focus()
    await page.keyboard.press("Enter")
    await page.wait_for_function(f"(before) => ({zoom})() === before", arg=before)

    # 'Load all' puts every ward with a map point on the map.
    wards = data.execute("select count(*) from wards where latitude is not null").fetchone()[0]
    await page.locator(FOCUS_TARGETS["load all"]).focus()
    await page.keyboard.press("Enter")
    await wait_for_markers(page, wards)

    # A column's options menu opens from the keyboard, takes focus, and Escape closes it.
    icon = page.locator(FOCUS_TARGETS["column options"]).first
    assert (await icon.get_attribute("aria-label")).startswith("Options for the column ")
    await icon.focus()
    # Focusing it scrolls the table sideways, and table.js closes its menu on that scroll event,
    # which comes with the next frame: a person's Enter comes later than that.
    await page.evaluate(NEXT_FRAMES)
    await page.keyboard.press("Enter")
    assert await icon.get_attribute("aria-expanded") == "true"
    assert await page.evaluate("document.activeElement.closest('.dropdown-menu') !== null")
    await desktop.shoot("keyboard-column-menu")
    await page.keyboard.press("Escape")
    assert await icon.get_attribute("aria-expanded") == "false"
    assert await page.evaluate("document.activeElement.matches('svg.dropdown-menu-icon')")

    # A facet link filters the table.
    facet = page.locator(FOCUS_TARGETS["facet link"]).first
    column = await facet.evaluate("(link) => link.closest('.facet-info').dataset.column")
    await facet.focus()
    await page.keyboard.press("Enter")
    await page.wait_for_url(lambda url: column in parse_qs(urlsplit(url).query))
    await desktop.settle()  # its map, before the next page cuts it short

    # The search box searches.
    await desktop.open(WARDS)
    await focus_from_the_top(page)
    assert "search box" in await tab_until(page, {"search box"})
    await page.keyboard.type("norton")
    await page.keyboard.press("Enter")
    await page.wait_for_url(lambda url: parse_qs(urlsplit(url).query).get("_search") == ["norton"])
    assert await page.locator(".rows-and-columns tbody tr").count() > 0
    desktop.assert_no_problems()


async def test_keyboard_alone_reaches_the_find_my_ward_search_and_the_dashboards_chart_menus(desktop: Visit):
    page = desktop.page
    await desktop.open("/")
    await page.keyboard.press("Tab")
    assert (await page.evaluate(FOCUSED, FOCUS_TARGETS))["name"] == "skip link"
    for _ in range(MAX_TABS):
        await page.keyboard.press("Tab")
        if await page.evaluate("document.activeElement.id") == "q":
            break
    else:
        raise AssertionError("Tab never reached the Find my ward search box")
    await page.keyboard.type("Norton")
    await page.keyboard.press("Enter")
    await page.wait_for_url(lambda url: parse_qs(urlsplit(url).query).get("q") == ["Norton"])

    await desktop.open("/-/dashboards/left-behind")
    menus = page.locator(".vega-embed > details > summary")
    await menus.first.wait_for()
    names = await menus.evaluate_all("(summaries) => summaries.map((s) => s.getAttribute('aria-label'))")
    assert names and all(name and name.startswith("Actions for the chart “") for name in names), names
    assert len(set(names)) == len(names)
    for _ in range(MAX_TABS):
        await page.keyboard.press("Tab")
        if await page.evaluate("document.activeElement.matches('.vega-embed > details > summary')"):
            break
    else:
        raise AssertionError("Tab never reached a chart's actions menu")
    await page.keyboard.press("Enter")
    assert await page.evaluate("document.activeElement.parentElement.open")
    await desktop.shoot("keyboard-chart-menu")
    desktop.assert_no_problems()
