"""One URL of every page type the site serves to people, read from a real build, and the
interaction states reached on them.

The accessibility tests (tests/test_accessibility.py) and their benchmark
(bench/accessibility.py) audit exactly this list, so the figures in
docs/accessibility.md and what CI checks are the same pages. Tables and views
come from the database itself: a new table is audited without being listed here.

A page type with a ``state`` is audited after ``reach_state`` has done what a person
does there (open a column's menu, load every ward onto the map, type into the search);
every page with a map has it scrolled into view and drawn first, as maps are drawn
only near the screen. ``WIDTHS_OF_STATE`` names a state only one width has.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import NamedTuple
from urllib.parse import quote, urlencode

import sqlite_utils

from leftbehind.build import content_tables

DATABASE = "leftbehind"
CANNED_QUERIES = {
    "search_publications": "?q=community",
    "publications_feed": "",
    "find_ward": "?name=norton",
    "ward_changes": "",
    "region_summary": "",
}
# Row pages of the catalogue, by table: the page type's name.
RECORD_TABLES = {
    "publications": "publication",
    "sessions": "session",
    "people": "person",
    "organisations": "organisation",
    "topics": "topic",
    "sources": "source",
    "appg_roles": "APPG role",
}


class PageType(NamedTuple):
    name: str
    path: str
    status: int = 200
    state: str | None = None  # what reach_state does on the page before it is audited
    widths: tuple[str, ...] = ("desktop", "phone")  # the viewports (support.browser.VIEWPORTS) it exists at


def _one(data: sqlite3.Connection, query: str) -> sqlite3.Row:
    row = data.execute(query).fetchone()
    assert row is not None, query
    return row


def page_types(data: sqlite3.Connection, db_path: Path) -> list[PageType]:
    """Home, database, every table and view, the canned queries, a row of every kind,
    search results, Find my ward, About, the dashboard and the error pages."""
    db = sqlite_utils.Database(db_path)
    ward = _one(
        data,
        "select w.ward_code, w.lad_code, w.lad24_code, w.region_code, w.latitude, w.longitude from wards w"
        " join ward_outlines using (ward_code) where w.left_behind_2020 = 1 order by w.cni_rank",
    )
    pages = [
        PageType("home", "/"),
        PageType("database", f"/{DATABASE}"),
    ]
    for name in content_tables(db) + db.view_names():
        kind = "view" if name in db.view_names() else "table"
        pages.append(PageType(f"{kind} {name}", f"/{DATABASE}/{name}"))
    for name, query in CANNED_QUERIES.items():
        pages.append(PageType(f"query {name}", f"/{DATABASE}/{name}{query}"))
    pages += [
        PageType("SQL query", f"/{DATABASE}?" + urlencode({"sql": "select ward_code, ward_name, cni_rank from wards order by cni_rank limit 5"})),
        # latitude and longitude columns: datasette-cluster-map draws its own map above the rows
        PageType("SQL query with a map", f"/{DATABASE}?" + urlencode(
            {"sql": "select ward_code, ward_name, latitude, longitude from wards where left_behind_2020 = 1 order by cni_rank"})),
        PageType("row ward", f"/{DATABASE}/wards/{ward['ward_code']}"),
        # Issue 23's states of the answer: a ward in neither set that meets one test (the CNI's first),
        # a flagged ward the public data does not reproduce (a reason under the answer), a ward with
        # no IMD figure (no domains, no 2025 sentence).
        PageType("row ward, meets one test", "/{}/wards/{}".format(DATABASE, _one(
            data, "select ward_code from wards where left_behind_change is null order by cni_rank")["ward_code"])),
        PageType("row ward, not reproduced", "/{}/wards/{}".format(DATABASE, _one(
            data, "select ward_code from reproduction_differences where difference like 'in the official%' order by cni_rank")["ward_code"])),
        PageType("row ward, no IMD figure", "/{}/wards/{}".format(DATABASE, _one(
            data, "select ward_code from wards where imd2019_ward_rank is null order by ward_code")["ward_code"])),
        PageType("row council", f"/{DATABASE}/local_authorities/{ward['lad_code']}"),
        PageType("row council today", f"/{DATABASE}/local_authorities_2024/{ward['lad24_code']}"),
        PageType("row region", f"/{DATABASE}/regions/{ward['region_code']}"),
    ]
    for table, kind in RECORD_TABLES.items():
        row_id = _one(data, f"select id from {table} order by id")["id"]
        pages.append(PageType(f"row {kind}", f"/{DATABASE}/{table}/{quote(row_id)}"))
    pages += [
        PageType("row session with contents", f"/{DATABASE}/sessions/evidence-session-1"),
        PageType("table search results", f"/{DATABASE}/publications?_search=community"),
        # The states are reached on small pages: axe takes seconds on a page of 100 rows (20 s for the
        # wards table at 390 px), and the markup a state adds is the same whatever the rows.
        # After a facet click: the chosen value with its 'remove' control, and the table (and map) narrowed.
        PageType("table after a facet click", f"/{DATABASE}/publications?" + urlencode({"kind": _one(
            data, "select kind from publications group by kind having count(*) > 1 order by count(*), kind")["kind"]})),
        PageType("table of wards after a facet click", f"/{DATABASE}/wards?" + urlencode({"lad_name": _one(
            data, "select lad_name from wards group by lad_code having sum(left_behind_2020) > 0 order by count(*), lad_name")["lad_name"]})),
        # Datasette hides the column headings, and so their menus, on a phone.
        PageType("table with a column menu open", f"/{DATABASE}/publications?_size=5", state="column menu", widths=("desktop",)),
        # The map reads every row whatever the table's page size: 'load all' fetches all 7,433 wards.
        PageType("map after 'load all'", f"/{DATABASE}/wards?_size=5", state="load all"),
        PageType("find my ward, suggestions shown", "/find-my-ward", state="suggestions"),
        PageType("archive", "/archive"),
        PageType("find my ward", "/find-my-ward"),
        PageType("find my ward, a search", "/find-my-ward?q=durham"),
        PageType("find my ward, a location", "/find-my-ward?" + urlencode({"lat": ward["latitude"], "lon": ward["longitude"]})),
        PageType("about", "/about"),
        PageType("dashboards", "/-/dashboards"),
        PageType("dashboard", "/-/dashboards/left-behind"),
        PageType("dashboard chart", "/-/dashboards/left-behind/sets-by-region"),
        PageType("not found (404)", f"/{DATABASE}/no_such_table", 404),
        PageType("bad request (400)", f"/{DATABASE}/wards?_sort=no_such_column", 400),
    ]
    return pages


def postcode_page_types(postcodes_db: Path) -> list[PageType]:
    """The page states that need postcodes.db served too (issue 22): a postcode's answer, a
    postcode outside England, one malformed, a place name, a location, and many at once."""
    data = sqlite3.connect(f"file:{postcodes_db}?mode=ro", uri=True)
    try:
        near = data.execute("select postcode from postcodes where also_possible != '[]' order by postcode limit 1").fetchone()[0]
        some = [row[0] for row in data.execute("select postcode from postcodes order by postcode limit 5")]
        point = data.execute("select latitude, longitude from postcodes where postcode = ?", (near,)).fetchone()
    finally:
        data.close()
    return [
        PageType("find my ward, a postcode near a boundary", "/find-my-ward?" + urlencode({"q": near})),
        PageType("find my ward, a postcode outside England", "/find-my-ward?q=CF10+1AA"),
        PageType("find my ward, not a postcode", "/find-my-ward?q=CA14+3X"),
        PageType("find my ward, a place name", "/find-my-ward?q=Grimsby"),
        PageType("find my ward, a misspelt name", "/find-my-ward?q=Moss+Bey"),
        PageType("find my ward, a location's ward", "/find-my-ward?" + urlencode({"lat": point[0], "lon": point[1]})),
        PageType("find my ward, a search too long (400)", "/find-my-ward?" + urlencode({"q": "x" * 101}), 400),
        PageType("many postcodes", "/many-postcodes"),
        PageType("many postcodes, answered", "/many-postcodes?" + urlencode({"postcodes": "\n".join(some + ["CF10 1AA", "XX"])})),
        PageType("many postcodes, too many (400)", "/many-postcodes?" + urlencode({"postcodes": ",".join(["CA14 3XX"] * 1001)}), 400),
    ]


# The cells of a page (table cells and record values) whose text is a raw JSON array.
JSON_ARRAY_CELLS = """
() => [...document.querySelectorAll("td, dd")].map((cell) => cell.innerText.trim()).filter((text) => {
  if (!text.startsWith("[") || !text.endsWith("]")) return false;
  try { return Array.isArray(JSON.parse(text)); } catch (error) { return false; }
})
"""


def ward_heading(ward_name: str, lad_name: str, lad24_name: str | None) -> str:
    """A ward page's <h1> as a person reads it: the ward, its council of 2017, and today's council
    where its people now mostly live in another one."""
    today = f" (in {lad24_name} today)" if lad24_name and lad24_name != lad_name else ""
    return f"{ward_name}, {lad_name}{today}"


# Enough letters of a common ward name for the suggestions to list several.
SUGGESTION_TEXT = "nor"


async def reach_state(page, page_type: PageType) -> bool:
    """Do on the page what a person does to reach ``page_type``'s state, and wait until it is there;
    whether anything was done (False: the page is as it opened, and need not settle again).

    Every map on the page is first scrolled to and drawn (static/maps.js draws one only near the
    screen), so its marks and controls are audited too.
    """
    from support.browser import wait_for_markers

    maps = page.locator("[data-map]")
    drawn = await maps.count()
    for index in range(drawn):
        await maps.nth(index).scroll_into_view_if_needed()
        status = maps.nth(index).locator("xpath=ancestor::figure[1]//*[contains(@class, 'lb-map-status')]")
        await page.wait_for_function("(status) => status.textContent.trim() !== ''", arg=await status.element_handle())
    if drawn:
        await page.evaluate("window.scrollTo(0, 0)")  # drawn; back to the top, as the page opened
    if page_type.state is None:
        return drawn > 0
    if page_type.state == "column menu":
        icon = page.locator(".rows-and-columns th svg.dropdown-menu-icon").nth(1)
        await icon.click()
        await page.locator("main .dropdown-menu").wait_for(state="visible")
    elif page_type.state == "load all":
        button = page.locator("button.lb-map-load-all")
        await button.wait_for()
        total = int(await button.get_attribute("data-total"))
        await button.click()
        await wait_for_markers(page, total)
    elif page_type.state == "suggestions":
        await page.locator("#q").press_sequentially(SUGGESTION_TEXT)
        await page.wait_for_function("() => document.querySelectorAll('[data-suggest-list] a').length > 1")
    else:
        raise ValueError(f"no such state: {page_type.state}")
    return True
