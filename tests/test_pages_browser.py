"""The pages for people in a real browser: headless Debian chromium, the publishing profile.

A real server on a free port of 127.0.0.1 serves the session's build; expected values
are read from that database with sqlite3. Requests to other hosts (map tiles) are
aborted, so every map here is drawn without tiles, as it would be offline.
With LEFTBEHIND_SCREENSHOTS=1, screenshots of every page type at 1280 and 390 px go to
``screenshots/`` (git-ignored).
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import pytest
import pytest_asyncio
import shapely
from playwright.async_api import Browser, Page

from support.browser import PHONE, VIEWPORTS, Visit, click_cluster, visit, wait_for_markers
from support.pages import ward_heading

from leftbehind.polyline import decode_outline

pytestmark = pytest.mark.long  # among the slowest files: scheduled first (tests/conftest.py)


# --- fixtures -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def site(live_site: str) -> str:
    """Base URL of the real server, publishing profile, on a free local port."""
    return live_site


@pytest_asyncio.fixture(params=list(VIEWPORTS))
async def tab(request, chromium: Browser, site: str) -> AsyncIterator[Visit]:
    context, opened = await visit(chromium, site, VIEWPORTS[request.param])
    try:
        yield opened
    finally:
        await context.close()


# --- expected values ------------------------------------------------------------------


def one(data: sqlite3.Connection, query: str, *params) -> sqlite3.Row:
    row = data.execute(query, params).fetchone()
    assert row is not None, query
    return row


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(a))


def ward_found_at_its_own_point(data: sqlite3.Connection) -> sqlite3.Row:
    """A left-behind ward whose outline (ward_shapes, read here with shapely) holds its own map
    point rounded to 3 decimals (what "use my location" sends), about 200 m from its edge."""
    for ward in data.execute("select w.*, s.outline from wards w join ward_shapes s using (ward_code)"
                             " where w.left_behind_2020 = 1 order by w.cni_rank"):
        shape = shapely.MultiPolygon([shapely.Polygon(p[0], p[1:]) for p in decode_outline(ward["outline"])])
        if shapely.buffer(shape, -0.003).contains(shapely.Point(round(ward["longitude"], 3), round(ward["latitude"], 3))):
            return ward
    raise AssertionError("no left-behind ward's outline holds its own rounded point")


# The marks a small map holds: those of its cluster group (drawn alone or inside a group) and the page's own ward.
AREA_MAP_MARKS = """() => {
  const group = window.__leftbehindClusterGroup();
  return group ? group.getLayers().length + document.querySelectorAll(".lb-map .lb-mark--focus").length : null;
}"""


async def wait_for_area_map(page: Page, expected: int) -> None:
    """Bring the small map near the screen (it is drawn only then), and wait until it holds
    ``expected`` marks and has said so."""
    figure = page.locator(".lb-map-figure").first
    await figure.scroll_into_view_if_needed()
    await figure.locator(".lb-map-status").filter(has_text=f"The map shows {expected:,} wards.").wait_for()
    assert await page.evaluate(AREA_MAP_MARKS) == expected


async def answer(page: Page) -> str:
    return " ".join((await page.locator(".lb-answer").inner_text()).split())


# --- a ward's page, a council's and a region's -------------------------------------------


@pytest.mark.parametrize("kind", ["left-behind", "never-listed"])
async def test_ward_page_answers_in_words_and_shows_a_map(tab: Visit, data, kind):
    where = "left_behind_change = 'in both sets'" if kind == "left-behind" else "left_behind_change is null"
    ward = one(data, f"select * from wards where {where} and population is not null order by cni_rank limit 1")
    council_wards = one(data, "select count(*) as n from wards where lad_code = ?", ward["lad_code"])["n"]
    await tab.open(f"/leftbehind/wards/{ward['ward_code']}")
    assert await tab.page.locator("h1").inner_text() == ward_heading(ward["ward_name"], ward["lad_name"], ward["lad24_name"])
    words = await answer(tab.page)
    expected = "Yes." if kind == "left-behind" else "No."
    assert words.startswith(f"{expected} {ward['ward_name']} is")
    await tab.shoot(f"ward-{kind}")
    map_figure = tab.page.locator(".lb-map-figure")
    await map_figure.scroll_into_view_if_needed()
    await wait_for_area_map(tab.page, council_wards)
    assert await map_figure.locator(".lb-map .lb-mark--focus").count() == 1
    await tab.shoot(f"ward-{kind}-map")
    assert await tab.page_width() <= tab.width
    tab.assert_no_problems()


async def test_ward_page_reads_well_without_javascript(chromium, site, data):
    ward = one(data, "select * from wards where left_behind_change = 'joined in 2020' order by cni_rank limit 1")
    context, opened = await visit(chromium, site, PHONE, java_script_enabled=False)
    try:
        await opened.open(f"/leftbehind/wards/{ward['ward_code']}")
        assert (await answer(opened.page)).startswith(f"Yes. {ward['ward_name']}")
        assert "joined the list in 2020" in await answer(opened.page)
        for heading in ("need", "people", "where", "others", "data", "sources"):
            assert await opened.page.locator(f"h2#{heading}").is_visible()
        assert await opened.page.locator(".lb-map-nojs").is_visible()
        assert await opened.page_width() <= PHONE["width"]
        await opened.shoot("ward-no-javascript")
    finally:
        await context.close()


async def test_council_page_lists_and_maps_its_wards(tab: Visit, data):
    council = one(
        data, "select lad_code, lad_name, count(*) as wards from wards group by lad_code order by sum(left_behind_2020) desc limit 1"
    )
    flagged = one(data, "select count(*) as n from wards where lad_code = ? and left_behind_2020 = 1", council["lad_code"])["n"]
    await tab.open(f"/leftbehind/local_authorities/{council['lad_code']}")
    assert await tab.page.locator("h1").inner_text() == council["lad_name"]
    assert await tab.page.locator("section[aria-labelledby=left-behind] .lb-ward-list > li").count() == flagged
    await tab.shoot("council")
    await tab.page.locator(".lb-map-figure").scroll_into_view_if_needed()
    await wait_for_area_map(tab.page, council["wards"])
    await tab.shoot("council-map")
    assert await tab.page_width() <= tab.width
    tab.assert_no_problems()


async def test_region_page_maps_its_left_behind_wards(tab: Visit, data):
    region = one(data, "select region_code, region_name from regions order by region_code limit 1")
    flagged = one(
        data, "select count(*) as n from wards where region_code = ? and left_behind_change is not null", region["region_code"]
    )["n"]
    await tab.open(f"/leftbehind/regions/{region['region_code']}")
    assert await tab.page.locator("h1").inner_text() == region["region_name"]
    await wait_for_area_map(tab.page, flagged)
    await tab.shoot("region")
    assert await tab.page_width() <= tab.width
    tab.assert_no_problems()


# --- Find my ward ----------------------------------------------------------------------


async def test_searching_part_of_a_ward_name_finds_its_page(tab: Visit, data):
    ward = one(data, "select * from wards where left_behind_change = 'in both sets' order by cni_rank limit 1")
    part = ward["ward_name"][1:-1]
    await tab.open("/find-my-ward")
    await tab.shoot("find-my-ward")
    await tab.open("/")
    await tab.shoot("home")
    await tab.page.get_by_label("Postcode, or the name of a place, ward or council").fill(part)
    await tab.page.get_by_label("Postcode, or the name of a place, ward or council").press("Enter")
    await tab.page.wait_for_url(lambda url: parse_qs(urlsplit(url).query).get("q") == [part])
    results = tab.page.locator("section[aria-labelledby=results]")
    link = results.get_by_role("link", name=ward["ward_name"], exact=True).first
    item = results.locator("li", has=tab.page.locator(f'a[href="/leftbehind/wards/{ward["ward_code"]}"]'))
    assert "Left behind: in the 2020 and the 2019 sets" in await item.inner_text()
    await tab.shoot("find-my-ward-results")
    assert await tab.page_width() <= tab.width
    await link.click()
    await tab.page.wait_for_url(f"{tab.base}/leftbehind/wards/{ward['ward_code']}")
    assert await tab.page.locator("h1").inner_text() == ward_heading(ward["ward_name"], ward["lad_name"], ward["lad24_name"])
    tab.assert_no_problems()


async def test_searching_a_council_lists_its_wards(desktop: Visit, data):
    council = one(data, "select lad_code, lad_name from local_authorities where lad_name = 'County Durham'")
    wards = {row[0] for row in data.execute("select ward_code from wards where lad_code = ?", (council["lad_code"],))}
    await desktop.open("/find-my-ward?" + urlencode({"q": council["lad_name"]}))
    block = desktop.page.locator(f"section[aria-labelledby=council-{council['lad_code']}]")
    await block.locator("details summary").click()
    hrefs = await block.locator("a[href^='/leftbehind/wards/']").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert {href.rsplit("/", 1)[1] for href in hrefs} == wards
    await desktop.shoot("find-my-ward-council")
    desktop.assert_no_problems()


async def test_suggestions_appear_while_typing(desktop: Visit, data):
    ward = one(data, "select ward_code, ward_name, lad_name from wards where left_behind_change = 'joined in 2020' order by cni_rank limit 1")
    await desktop.open("/find-my-ward")
    await desktop.page.locator("#q").press_sequentially(ward["ward_name"], delay=20)
    suggestion = desktop.page.locator("[data-suggest-list] a", has_text=f"{ward['ward_name']}, {ward['lad_name']}")
    await suggestion.wait_for()
    assert "suggestion" in await desktop.page.locator("[data-suggest-status]").inner_text()
    await desktop.shoot("find-my-ward-suggestions")
    await suggestion.click()
    await desktop.page.wait_for_url(f"{desktop.base}/leftbehind/wards/{ward['ward_code']}")
    desktop.assert_no_problems()


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
async def test_use_my_location_lists_that_ward_first(chromium, site, data, viewport):
    ward = ward_found_at_its_own_point(data)
    context, opened = await visit(
        chromium,
        site,
        VIEWPORTS[viewport],
        geolocation={"latitude": ward["latitude"], "longitude": ward["longitude"]},
        permissions=["geolocation"],
    )
    try:
        await opened.open("/find-my-ward")
        await opened.page.get_by_role("button", name="Use my location").click()
        await opened.page.wait_for_url(lambda url: "lat" in parse_qs(urlsplit(url).query))
        first = opened.page.locator("section[aria-labelledby=near] .lb-answer")
        assert await first.locator("a").first.get_attribute("href") == f"/leftbehind/wards/{ward['ward_code']}"
        assert "Your location is inside its outline" in await first.inner_text()
        await opened.shoot("find-my-ward-near")
        assert await opened.page_width() <= opened.width
        opened.assert_no_problems()
    finally:
        await context.close()


# --- the maps ----------------------------------------------------------------------------


async def test_neighbourhoods_map_is_first_and_holds_every_neighbourhood(tab: Visit, data):
    expected = one(data, "select count(*) as n from left_behind_neighbourhoods")["n"]
    await tab.open("/leftbehind/left_behind_neighbourhoods")
    await wait_for_markers(tab.page, expected)
    box = await tab.page.locator(".lb-map").bounding_box()
    viewport = tab.page.viewport_size
    assert 0 < box["y"] < viewport["height"] / 2, box
    assert await tab.page.locator("h1:visible").inner_text() == f"The {expected} left-behind neighbourhoods"
    key = await tab.page.locator(".lb-map-figure figcaption").inner_text()
    assert "a count, not a score" in key and "not on this map" in key
    left = [row[0] for row in data.execute("select ward_name from wards where left_behind_change = 'left in 2020'")]
    assert all(name in key for name in left)
    await tab.shoot("neighbourhoods-map-first")
    assert await tab.page_width() <= tab.width
    tab.assert_no_problems()


async def test_all_wards_map_marks_the_left_behind_wards(desktop: Visit, data):
    await desktop.open("/leftbehind/wards")
    first_page = 1000
    await wait_for_markers(desktop.page, first_page)
    flagged = one(
        data,
        "select count(*) as n from (select left_behind_change from wards order by cni_rank limit ?) where left_behind_change is not null",
        first_page,
    )["n"]
    statuses = await desktop.page.evaluate(
        "() => window.__leftbehindClusterGroup().getLayers().map((m) => m.options.icon.options.html)"
    )
    assert sum("lb-mark--none" not in html for html in statuses) == flagged
    assert await desktop.page.locator(".lb-map .lb-cluster--flagged").count() > 0
    await desktop.page.locator(".lb-map").scroll_into_view_if_needed()
    await desktop.shoot("wards-map-marked")
    # Zoom into a group that holds left-behind wards until one shows as its own mark.
    lone = desktop.page.locator(".lb-map .lb-mark--both, .lb-map .lb-mark--joined")
    for _ in range(12):
        if await lone.count():
            break
        await click_cluster(desktop.page, desktop.page.locator(".lb-map .lb-cluster--flagged:visible").first)
    assert await lone.count() > 0
    await desktop.shoot("wards-map-zoomed")
    desktop.assert_no_problems()


# --- every page type on a phone ---------------------------------------------------------




async def test_record_pages_at_both_widths(tab: Visit, data):
    publication = one(data, "select id from publications where json_array_length(topics) > 1 order by published desc limit 1")["id"]
    await tab.open(f"/leftbehind/publications/{quote(publication)}")
    assert await tab.page.locator("h2#by").is_visible()
    await tab.shoot("publication-record")
    await tab.open("/leftbehind/sessions/evidence-session-2")
    assert await tab.page.locator("h2#evidence").is_visible()
    await tab.shoot("session-record")
    await tab.open("/-/dashboards/left-behind")
    await tab.settle()
    await tab.shoot("dashboard")
    assert await tab.page_width() <= tab.width
    tab.assert_no_problems()


def test_no_new_page_is_a_dump(data, site):
    """The pages for people stay small: no page of a thousand rows (the old search gave 917 KB)."""
    import urllib.request

    ward = one(data, "select ward_code, lad_code, region_code from wards order by cni_rank limit 1")
    sizes = {}
    for path in (
        f"/leftbehind/wards/{ward['ward_code']}",
        f"/leftbehind/local_authorities/{ward['lad_code']}",
        f"/leftbehind/regions/{ward['region_code']}",
        "/find-my-ward",
        "/find-my-ward?q=durham",
        "/find-my-ward?q=a",
        "/leftbehind/find_ward",
        "/leftbehind/left_behind_neighbourhoods",
    ):
        with urllib.request.urlopen(site + path) as response:
            sizes[path] = len(response.read())
    assert all(size < 250_000 for size in sizes.values()), sizes


# --- today's geography and the outlines on the real data (issue 13) -------------------------


def inside_outline(point: tuple[float, float], geojson: str) -> bool:
    """Even-odd ray casting over a GeoJSON MultiPolygon; point is (longitude, latitude)."""
    x, y = point
    for polygon in json.loads(geojson)["coordinates"]:
        crossings = sum(
            1
            for ring in polygon
            for (x1, y1), (x2, y2) in zip(ring, ring[1:])
            if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1)
        )
        if crossings % 2:
            return True
    return False


def point_in_an_outline_nearer_another_ward(data: sqlite3.Connection) -> tuple[sqlite3.Row, float, float]:
    """A flagged ward and a point inside its outline whose nearest ward map point is another
    ward's: only the outline can tell that the point is in this ward."""
    points = data.execute("select ward_code, latitude, longitude from wards").fetchall()
    rows = data.execute("select w.*, s.outline from wards w join ward_shapes s using (ward_code)"
                        " where s.method = 'exact' and w.left_behind_change is not null order by w.cni_rank")
    for ward in rows:
        coordinates = decode_outline(ward["outline"])
        geojson = json.dumps({"type": "MultiPolygon", "coordinates": coordinates})
        ring = coordinates[0][0]
        for vertex in ring[:-1]:
            # a point a fifth of the way from an outline vertex towards the ward's own point
            lon = round(vertex[0] + (ward["longitude"] - vertex[0]) / 5, 3)
            lat = round(vertex[1] + (ward["latitude"] - vertex[1]) / 5, 3)
            if not inside_outline((lon, lat), geojson):
                continue
            nearest = min(points, key=lambda p: haversine_km(lat, lon, p["latitude"], p["longitude"]))
            if nearest["ward_code"] != ward["ward_code"]:
                return ward, lat, lon
    raise AssertionError("no point inside an outline is nearer another ward's point")


async def test_use_my_location_inside_an_outline_lists_that_ward_first(chromium, site, data):
    ward, lat, lon = point_in_an_outline_nearer_another_ward(data)
    context, opened = await visit(
        chromium, site, VIEWPORTS["desktop"], geolocation={"latitude": lat, "longitude": lon}, permissions=["geolocation"]
    )
    try:
        await opened.open("/find-my-ward")
        await opened.page.get_by_role("button", name="Use my location").click()
        await opened.page.wait_for_url(lambda url: "lat" in parse_qs(urlsplit(url).query))
        first = opened.page.locator("section[aria-labelledby=near] .lb-answer")
        assert await first.locator("a").first.get_attribute("href") == f"/leftbehind/wards/{ward['ward_code']}"
        opened.assert_no_problems()
    finally:
        await context.close()


async def test_a_flagged_wards_page_draws_its_outline_and_says_where_it_is_today(desktop: Visit, data):
    ward = one(data, """select w.ward_code, w.ward_name, w.lad24_name from wards w join local_authorities l using (lad_code)
                        where w.left_behind_2020 = 1 and l.name_in_use_2024 = 0 order by w.cni_rank limit 1""")
    await desktop.open(f"/leftbehind/wards/{ward['ward_code']}")
    outline = desktop.page.locator(".lb-map-figure .leaflet-overlay-pane path[stroke-dasharray]")
    await outline.first.wait_for()
    assert await outline.count() >= 1
    assert f"today {ward['ward_name']} is in {ward['lad24_name']}" in " ".join((await desktop.page.inner_text("main")).split())
    await desktop.shoot("ward-page-outline")
    desktop.assert_no_problems()
