"""The site in a real browser: headless Debian chromium against the real server.

The server is started with the publishing profile (``leftbehind.serve``'s
``inspect_command`` and ``serve_command``) on a free port of 127.0.0.1, serving
the session's real build. Expected numbers are read from that database with
sqlite3, never copied from a run. Requests to other hosts (OpenStreetMap tiles)
are aborted and ignored; everything from our own server must succeed.

With LEFTBEHIND_SCREENSHOTS=1, screenshots of every page visited go to ``screenshots/`` (git-ignored).
If chromium is missing these tests fail, they do not skip.
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
import sqlite3
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page
from playwright.async_api import Error as PlaywrightError

from support.pages import ward_heading
from support.browser import (
    POLL_MS,
    VIEWPORT,
    PageWatch,
    click_cluster,
    new_context,
    open_popup,
    screenshot,
    settle,
    wait_for_map_at_rest,
    wait_for_markers,
)
from leftbehind.serve import SETTINGS

pytestmark = pytest.mark.long  # among the slowest files: scheduled first (tests/conftest.py)

PAGE_SIZE = int(SETTINGS["default_page_size"])
MAX_ROWS = int(SETTINGS["max_returned_rows"])
MAP_TABLES = ("wards", "left_behind_neighbourhoods")
REGION = "North East"


# --- fixtures -------------------------------------------------------------------


@pytest.fixture(scope="session")
def server(live_site: str) -> str:
    """Base URL of the real server, publishing profile, on a free local port."""
    return live_site


@pytest.fixture(scope="session")
def browser(chromium: Browser) -> Browser:
    return chromium


class Tab:
    """A fresh browser context and page, watched for problems on our side."""

    def __init__(self, page: Page, watch: PageWatch, base: str):
        self.page = page
        self.watch = watch
        self.base = base

    async def open(self, path: str) -> None:
        response = await self.page.goto(self.base + path)
        assert response is not None and response.ok, (path, response and response.status)

    async def shoot(self, name: str, show_map: bool = False) -> None:
        """Screenshot the viewport, scrolled to the map when ``show_map``.

        Animations are finished first so popups and markers are fully drawn.
        """
        if show_map:
            await self.page.locator(".leaflet-container").scroll_into_view_if_needed()
        await screenshot(self.page, name)

    def assert_no_problems(self) -> None:
        assert self.watch.take() == []


@pytest_asyncio.fixture
async def tab(browser: Browser, server: str) -> AsyncIterator[Tab]:
    context = await new_context(browser, server, viewport=VIEWPORT, accept_downloads=True)
    page = await context.new_page()
    watch = PageWatch(server)
    watch.attach(page)
    try:
        yield Tab(page, watch, server)
    finally:
        await context.close()


# --- expected values, from the database -------------------------------------------


def scalar(sql: sqlite3.Connection, query: str, *params: object) -> object:
    return sql.execute(query, params).fetchone()[0]


def mapped_rows(sql: sqlite3.Connection, table: str, where: str = "1", *params: object) -> int:
    """Rows the map can show: those with a latitude and a longitude."""
    return int(
        scalar(sql, f"select count(*) from [{table}] where latitude is not null and longitude is not null and {where}", *params)
    )


def first_map_page(total: int) -> int:
    """The map's first request asks for _size=max: at most max_returned_rows rows."""
    return min(total, MAX_ROWS)


# Datasette's row count heading, an <h3> made <h2> (leftbehind/site/accessible_markup.py): the first on a table page.
ROW_COUNT = "main h2.lb-subheading"


def heading_count(text: str) -> int:
    """The row count in a table page's heading, e.g. '339 rows where ...'."""
    match = re.match(r"\s*([\d,]+) rows?\b", text)
    assert match, f"no row count in heading {text!r}"
    return int(match.group(1).replace(",", ""))


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def word_only_in_one_description(sql: sqlite3.Connection) -> tuple[str, str]:
    """A word of a publication's description (not of its title or subtitle) that
    the full-text index matches in that publication only: (word, publication id)."""
    rows = sql.execute(
        "select id, title, coalesce(subtitle, ''), coalesce(description, '') from publications order by id"
    ).fetchall()
    for publication_id, title, subtitle, description in rows:
        heading = f"{title} {subtitle}".lower()
        for word in sorted(set(re.findall(r"[a-z]{7,}", description.lower()))):
            if word in heading:
                continue
            matches = sql.execute(
                "select publications.id from publications join publications_fts"
                " on publications_fts.rowid = publications.rowid where publications_fts match ?",
                (f'"{word}"',),
            ).fetchall()
            if [match[0] for match in matches] == [publication_id]:
                return word, publication_id
    raise AssertionError("no description word identifies a single publication")


# --- tests ------------------------------------------------------------------------


async def hold_requests(page: Page, pattern: str) -> tuple[asyncio.Event, asyncio.Event]:
    """Hold every request matching ``pattern`` in flight until ``release`` is set: (held, release)."""
    held, release = asyncio.Event(), asyncio.Event()

    async def hold(route) -> None:
        held.set()
        await release.wait()
        try:
            await route.continue_()
        except PlaywrightError:  # the browser has given up on it meanwhile
            pass

    await page.route(pattern, hold)
    return held, release


async def test_the_page_watcher_forgives_only_what_a_navigation_cancelled(tab: Tab):
    """A suggestion in flight when Enter submits the search is cancelled by the browser
    (net::ERR_ABORTED): not a problem of the site. The same request aborted by the page's
    own script, with no navigation, is one."""
    suggestion, release_suggestions = await hold_requests(tab.page, "**/find-my-ward.json?*")
    await tab.open("/find-my-ward")
    async with tab.page.expect_event("requestfailed") as cancelled:
        await tab.page.locator("#q").fill("durham")  # the suggestion request goes out, and is held
        await suggestion.wait()
        await tab.page.locator("#q").press("Enter")
        await tab.page.wait_for_url(lambda url: parse_qs(urlsplit(url).query).get("q") == ["durham"])
    assert "ERR_ABORTED" in (await cancelled.value).failure
    assert len(tab.watch.cancelled) == 1 and tab.watch.take() == []

    # Aborted by the page itself: a problem.
    suggestion.clear()
    async with tab.page.expect_event("requestfailed"):
        await tab.page.evaluate("""() => {
            const controller = new AbortController();
            fetch("/find-my-ward.json?q=norton", { signal: controller.signal }).catch(() => {});
            window.__abortSuggestion = () => controller.abort();
        }""")
        await suggestion.wait()
        await tab.page.evaluate("window.__abortSuggestion()")
    release_suggestions.set()
    problems = tab.watch.take()
    assert len(problems) == 1 and "find-my-ward.json?q=norton" in problems[0] and "ERR_ABORTED" in problems[0], problems


# An init script: every mark takes 2 ms to add to a cluster group, as on a slow phone (or a
# machine whose cores are busy), so the group draws 1,000 marks in several chunks.
SLOW_DEVICE = """
window.addEventListener("DOMContentLoaded", () => {
  const wait = setInterval(() => {
    if (!window.L || !L.MarkerClusterGroup) return;
    clearInterval(wait);
    const addLayer = L.MarkerClusterGroup.prototype._addLayer;
    L.MarkerClusterGroup.prototype._addLayer = function (...args) {
      const until = performance.now() + 2;
      while (performance.now() < until) {}
      return addLayer.apply(this, args);
    };
  }, 1);
});
"""


async def test_the_wards_map_works_on_a_slow_device(tab: Tab, sql):
    """Drawn in chunks, the map still fits itself to its marks and offers to load the rest (on a
    slow device it said it 'could not load its data': it fitted to bounds not yet computed)."""
    total = mapped_rows(sql, "wards")
    await tab.page.add_init_script(SLOW_DEVICE)
    await tab.open("/leftbehind/wards")
    await wait_for_markers(tab.page, first_map_page(total))
    figure = tab.page.locator(".lb-map-figure").first
    await figure.locator(".lb-map-status").filter(has_text=f"Showing {first_map_page(total):,} of {total:,} wards").wait_for()
    assert await tab.page.locator("button.lb-map-load-all").inner_text() == f"Load all {total:,} wards"
    tab.assert_no_problems()


async def test_neighbourhood_map_shows_all_225_and_a_popup_opens_the_ward(tab: Tab, sql):
    expected = mapped_rows(sql, "left_behind_neighbourhoods")
    assert expected == 225
    await tab.open("/leftbehind/left_behind_neighbourhoods")
    await wait_for_markers(tab.page, expected)
    await tab.shoot("left_behind_neighbourhoods-map", show_map=True)

    link = await open_a_marker_popup(tab.page)
    href = await link.get_attribute("href")
    assert href and href.startswith("/leftbehind/wards/")
    ward_code = href.rsplit("/", 1)[1]
    ward_name = scalar(sql, "select ward_name from left_behind_neighbourhoods where ward_code = ?", ward_code)
    assert ward_name, f"the popup links to {ward_code}, which is not a left-behind neighbourhood"
    assert ward_name in await link.inner_text()
    await tab.shoot("left_behind_neighbourhoods-popup", show_map=True)

    await link.click()
    await tab.page.wait_for_url(tab.base + href)
    # The ward's own page (templates/row-leftbehind-wards.html): its name and council as the heading.
    lad_name = scalar(sql, "select lad_name from wards where ward_code = ?", ward_code)
    lad24_name = scalar(sql, "select lad24_name from wards where ward_code = ?", ward_code)
    assert await tab.page.locator("h1").inner_text() == ward_heading(ward_name, lad_name, lad24_name)
    await tab.shoot("ward-row")
    tab.assert_no_problems()


async def open_a_marker_popup(page: Page, max_clicks: int = 12):
    """Click into clusters until a lone marker is visible, click it, return the popup's link.

    Each click on a cluster zooms the map in (or spreads the cluster out at the
    last zoom); the next click waits until the cluster group has re-drawn. A mark is
    clicked only on a map at rest, and clicked again should a re-draw close its popup.
    """
    container = page.locator(".leaflet-container")
    # Only what can be clicked: static/maps.js hides a mark that lies under the map's buttons.
    lone_marker = container.locator(".leaflet-marker-icon:not(.marker-cluster):visible")
    for _ in range(max_clicks):
        await wait_for_map_at_rest(page)
        if await lone_marker.count():
            if await open_popup(page, lone_marker.first):
                return container.locator(".leaflet-popup-content a")
            continue
        await click_cluster(page, container.locator(".marker-cluster:visible").first)
    raise AssertionError(f"no lone marker's popup stayed open after {max_clicks} clicks")


async def test_wards_map_shows_every_ward_after_load_all(tab: Tab, sql):
    expected = mapped_rows(sql, "wards")
    assert expected == int(scalar(sql, "select count(*) from wards")) == 7433
    await tab.open("/leftbehind/wards")
    await wait_for_markers(tab.page, first_map_page(expected))
    # The site's own map (static/maps.js) loads the rest on request, like datasette-cluster-map did.
    button = tab.page.locator("button.lb-map-load-all")
    assert await button.inner_text() == f"Load all {expected:,} wards"
    await button.click()
    await wait_for_markers(tab.page, expected)
    assert await button.count() == 0
    await tab.shoot("wards-map-all", show_map=True)
    tab.assert_no_problems()


async def test_region_facet_narrows_the_table_and_the_map(tab: Tab, sql, tmp_path):
    expected = int(scalar(sql, "select count(*) from wards where region_name = ?", REGION))
    assert 0 < expected < MAX_ROWS  # the map shows them all without 'load all'
    await tab.open("/leftbehind/wards")
    await wait_for_markers(tab.page, first_map_page(mapped_rows(sql, "wards")))

    await tab.page.locator("#facet-region_name").get_by_role("link", name=REGION, exact=True).click()
    await tab.page.wait_for_url(lambda url: parse_qs(urlsplit(url).query).get("region_name") == [REGION])
    assert heading_count(await tab.page.locator(ROW_COUNT).first.inner_text()) == expected
    cells = await tab.page.locator("table.rows-and-columns td.col-region_name").all_inner_texts()
    assert len(cells) == min(expected, PAGE_SIZE)
    assert set(cells) == {REGION}
    await wait_for_markers(tab.page, mapped_rows(sql, "wards", "region_name = ?", REGION))
    await tab.shoot("wards-facet-north-east", show_map=True)

    # The advanced export, 'download file' ticked: every row of the filtered table, not one page.
    await tab.page.locator("#export input[name=_dl]").check()
    async with tab.page.expect_download() as download_info:
        await tab.page.locator("#export input[type=submit]").click()
    download = await download_info.value
    saved = tmp_path / download.suggested_filename
    await download.save_as(saved)
    rows = csv_rows(saved.read_text(encoding="utf-8"))
    assert len(rows) == expected
    assert {row["region_name"] for row in rows} == {REGION}
    tab.assert_no_problems()


async def test_search_box_finds_a_publication_by_a_word_of_its_description(tab: Tab, sql):
    word, publication_id = word_only_in_one_description(sql)
    await tab.open("/leftbehind/publications")
    await tab.page.locator("input#_search").fill(word)
    await tab.page.locator("input#_search").press("Enter")
    await tab.page.wait_for_url(lambda url: parse_qs(urlsplit(url).query).get("_search") == [word])
    count = heading_count(await tab.page.locator(ROW_COUNT).first.inner_text())
    ids = await tab.page.locator("table.rows-and-columns td.col-id").all_inner_texts()
    assert ids == [publication_id] and count == 1
    await tab.shoot("publications-search")

    # The page's CSV export link: its file holds exactly the rows the table counts.
    async with tab.page.expect_response(lambda r: urlsplit(r.url).path.endswith(".csv")) as response_info:
        await tab.page.locator("p.export-links").get_by_role("link", name="CSV", exact=True).click()
    response = await response_info.value
    assert response.ok
    rows = csv_rows(await response.text())
    assert len(rows) == count
    assert [row["id"] for row in rows] == ids
    tab.assert_no_problems()


async def test_each_map_tables_page_draws_its_first_page_of_markers(tab: Tab, sql):
    """The map above each table of places shows the rows of its first request, every one drawn.

    That every page loads without a problem in the browser is the accessibility sweep's to
    prove (tests/test_accessibility.py watches each page type it audits, at 390 px and 1280 px);
    every table's every row is served without an error in tests/test_pages.py."""
    for table in MAP_TABLES:
        await tab.open(f"/leftbehind/{table}")
        await wait_for_markers(tab.page, first_map_page(mapped_rows(sql, table)))
        await settle(tab.page, tab.watch)
        await tab.shoot(table, show_map=True)
    tab.assert_no_problems()


# --- the dashboard ------------------------------------------------------------------

# Vega draws each datum of a bar, point or line mark as a path inside a group whose
# role is "mark" (axes and legends have other roles).
VEGA_MARKS = "svg.marks g.role-mark path"


async def test_every_dashboard_chart_renders(tab: Tab, sql, metadata):
    dashboard = metadata["plugins"]["datasette-dashboards"]["left-behind"]
    await tab.open("/-/dashboards/left-behind")
    changes = int(scalar(sql, "select count(*) from wards where left_behind_change in ('joined in 2020', 'left in 2020')"))
    for slug, chart in dashboard["charts"].items():
        container = tab.page.locator(f"#chart-{slug}")
        library = chart["library"]
        if library == "vega-lite":
            rows = len(sql.execute(chart["query"]).fetchall())
            marks = container.locator(VEGA_MARKS)
            await marks.nth(rows - 1).wait_for(state="attached")
            assert await marks.count() >= rows, f"{slug}: fewer marks than rows of data"
        elif library == "metric":
            # Metrics are formatted in SQL with thousands separators (printf('%,d', ...)).
            value = str(scalar(sql, chart["query"]))
            assert re.fullmatch(r"\d{1,3}(,\d{3})*", value), (slug, value)
            await tab.page.wait_for_function(
                "([id, text]) => document.getElementById(id).innerText.includes(text)",
                arg=[f"chart-{slug}", value],
                polling=POLL_MS,
            )
        elif library == "map":
            markers = container.locator(".leaflet-marker-icon")
            await markers.nth(changes - 1).wait_for(state="attached")
            assert await markers.count() == changes
        elif library == "table":
            rows = container.locator("tbody tr")
            await rows.nth(changes - 1).wait_for(state="attached")
            assert await rows.count() == changes
        else:
            raise AssertionError(f"no check for chart library {library}")
    await tab.shoot("dashboard")
    tab.assert_no_problems()


# --- what a page loads -----------------------------------------------------------------


async def test_the_sql_editor_is_loaded_when_someone_edits_sql(tab: Tab, sql):
    """The SQL editor (CodeMirror, 83 KB compressed) is not loaded with the page: the text area is a text
    area until it is focused; then the editor replaces it, named, with the cursor in it, and runs the query."""
    loaded: list[str] = []
    tab.page.on("request", lambda request: loaded.append(request.url))
    await tab.open("/leftbehind")
    await tab.page.wait_for_load_state("load")
    assert not any("codemirror" in url for url in loaded)
    assert await tab.page.locator(".CodeMirror").count() == 0
    assert await tab.page.locator("button#sql-format").is_visible()  # as Datasette shows it on load
    await tab.page.locator("textarea#sql-editor").focus()
    editor = tab.page.locator(".CodeMirror")
    await editor.wait_for()
    assert any("codemirror-5.57.0.min.js" in url for url in loaded)
    assert await tab.page.locator(".CodeMirror textarea").get_attribute("aria-label") == "SQL query"
    await tab.page.evaluate("document.querySelector('.CodeMirror').CodeMirror.setValue('select count(*) as n from regions')")
    await tab.page.keyboard.press("Shift+Enter")
    await tab.page.wait_for_url(lambda url: "sql=" in url)
    count = scalar(sql, "select count(*) from regions")
    assert await tab.page.locator("td.col-n").inner_text() == str(count)
    tab.assert_no_problems()


async def test_pages_load_leaflet_minified_and_only_to_draw_a_map(tab: Tab):
    scripts: list[str] = []
    tab.page.on("request", lambda request: scripts.append(request.url) if "leaflet" in request.url else None)
    await tab.open("/leftbehind/left_behind_neighbourhoods")
    await wait_for_markers(tab.page, 225)
    assert any(url.endswith("/leaflet-v1.7.1.min.js") for url in scripts)
    assert not any(url.endswith("/leaflet-v1.7.1.js") for url in scripts)
    scripts.clear()
    await tab.open("/-/dashboards/left-behind")
    await tab.page.wait_for_load_state("networkidle")
    assert scripts == []  # no chart of the dashboard is a map
    tab.assert_no_problems()
