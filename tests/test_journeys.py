"""What a person does on the site, in headless Chromium at 390 px (issue 24): a resident's journey by
keyboard alone, a wrong address, a person's page, the type-ahead, the ward page's map, the dashboard.

Against the real server with the publishing profile (tiles from other hosts aborted). Expected
values are read from the database with the test's own SQL. Every wait is for an event (a URL, an
element, a focus), never for time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import pytest_asyncio
from playwright.async_api import Browser, Page

from support.browser import PHONE, Visit, visit
from support.pages import ward_heading

MAX_TABS = 120

# Where keyboard focus is, whether a person can see it, and what it is.
FOCUS = """() => {
  const element = document.activeElement;
  if (!element || element === document.body) return null;
  const box = element.getBoundingClientRect();
  const style = getComputedStyle(element);
  return {
    tag: element.tagName.toLowerCase(),
    id: element.id,
    href: element.getAttribute("href"),
    text: element.innerText ? element.innerText.trim().slice(0, 80) : "",
    classes: element.className && element.className.baseVal === undefined ? element.className : "",
    inMap: Boolean(element.closest(".leaflet-container")),
    similar: element.hasAttribute("data-similar-ward"),
    visible: box.width > 0 && box.height > 0 && box.bottom > 0 && box.top < innerHeight && box.right > 0 && box.left < innerWidth,
    ring: style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2,
  };
}"""

# Issue 23's "Neighbourhoods like this one" links on a ward's page carry this attribute.
SIMILAR_WARD = "a[data-similar-ward]"


@pytest_asyncio.fixture
async def phone(chromium: Browser, live_site: str) -> AsyncIterator[Visit]:
    context, opened = await visit(chromium, live_site, PHONE)
    try:
        yield opened
    finally:
        await context.close()


def one(data, query: str, *params):
    row = data.execute(query, params).fetchone()
    assert row is not None, query
    return row


async def focused(page: Page) -> dict | None:
    return await page.evaluate(FOCUS)


async def tab_to(page: Page, wanted, what: str) -> dict:
    """Press Tab until ``wanted(focus)`` holds; every stop on the way must show its focus."""
    for _ in range(MAX_TABS):
        await page.keyboard.press("Tab")
        focus = await focused(page)
        if focus is None:
            continue
        assert focus["visible"] and focus["ring"], (what, focus)
        if wanted(focus):
            return focus
    raise AssertionError(f"{MAX_TABS} presses of Tab never reached {what}")


async def follow(page: Page, base: str, path: str) -> None:
    """Press Enter on the focused link and wait for its page."""
    await page.keyboard.press("Enter")
    await page.wait_for_url(base + path)
    await page.wait_for_load_state("domcontentloaded")


async def starts_at_the_top(page: Page) -> None:
    """A new page: the first Tab reaches the skip link, shown, before anything else."""
    await page.keyboard.press("Tab")
    focus = await focused(page)
    assert focus and "lb-skip-link" in focus["classes"] and focus["visible"] and focus["ring"], focus


def journey_ward(data):
    """A left-behind ward whose people now live in a council of another name, which holds others."""
    return one(
        data,
        """select w.ward_code, w.ward_name, w.lad_name, w.lad24_code, w.lad24_name from wards w
        where w.left_behind_2020 = 1 and w.lad24_name != w.lad_name
          and (select count(*) from wards o where o.lad24_code = w.lad24_code and o.left_behind_2020 = 1) > 1
          and (select count(*) from wards n where n.ward_name = w.ward_name) = 1
        order by w.cni_rank limit 1""",
    )


async def test_a_residents_journey_by_keyboard_alone_at_390_px(phone: Visit, data):
    """Home, Find my ward, a ward, its council today, another of its neighbourhoods, and a ward like that
    one (issue 23's similar wards): Tab and Enter only, focus checked at each step."""
    page, base = phone.page, phone.base
    ward = journey_ward(data)
    await phone.open("/")

    # Home: the site's navigation leads to Find my ward.
    await starts_at_the_top(page)
    await tab_to(page, lambda f: f["href"] == "/find-my-ward" and f["text"] == "Find my ward", "the navigation's Find my ward")
    await follow(page, base, "/find-my-ward")

    # Find my ward: the search box, a search, and focus on the results.
    await starts_at_the_top(page)
    await tab_to(page, lambda f: f["id"] == "q", "the search box")
    await page.keyboard.type(ward["ward_name"])
    await page.keyboard.press("Enter")
    await page.wait_for_url(lambda url: parse_qs(urlsplit(url).query).get("q") == [ward["ward_name"]])
    await page.wait_for_function("() => document.activeElement && document.activeElement.id === 'results'")
    results = await focused(page)
    assert results["visible"] and results["text"] == f"Results for “{ward['ward_name']}”", results

    # From the results, the ward's own page.
    ward_path = f"/leftbehind/wards/{ward['ward_code']}"
    await tab_to(page, lambda f: f["href"] == ward_path, "the ward's link in the results")
    await follow(page, base, ward_path)
    assert await page.locator("h1").inner_text() == ward_heading(ward["ward_name"], ward["lad_name"], ward["lad24_name"])

    # The ward: today's council is named before the map, and reached before any of the map's stops.
    await starts_at_the_top(page)
    council_path = f"/leftbehind/local_authorities_2024/{ward['lad24_code']}"
    reached = await tab_to(page, lambda f: f["href"] == council_path or f["inMap"], "today's council")
    assert not reached["inMap"] and reached["text"] == ward["lad24_name"], reached
    await follow(page, base, council_path)
    assert await page.locator("h1").inner_text() == ward["lad24_name"]

    # Today's council: another of its left-behind neighbourhoods.
    await starts_at_the_top(page)
    others = {
        f"/leftbehind/wards/{row[0]}"
        for row in data.execute(
            "select ward_code from wards where lad24_code = ? and left_behind_2020 = 1 and ward_code != ?",
            (ward["lad24_code"], ward["ward_code"]),
        )
    }
    target = await tab_to(page, lambda f: f["href"] in others, "another of the council's neighbourhoods")
    await follow(page, base, target["href"])
    code = target["href"].rsplit("/", 1)[1]
    related = one(data, "select ward_name, lad_name, lad24_name from wards where ward_code = ?", code)
    assert await page.locator("h1").inner_text() == ward_heading(*related)

    # That ward: a ward like it, one of its similar wards.
    await starts_at_the_top(page)
    alike = {f"/leftbehind/wards/{row[0]}" for row in data.execute(
        "select similar_ward_code from similar_wards where ward_code = ?", (code,))}
    assert alike and await page.locator(SIMILAR_WARD).count() == len(alike)
    target = await tab_to(page, lambda f: f["similar"], "a ward like it")
    assert target["href"] in alike, target
    await follow(page, base, target["href"])
    like = one(data, "select ward_name, lad_name, lad24_name from wards where ward_code = ?", target["href"].rsplit("/", 1)[1])
    assert await page.locator("h1").inner_text() == ward_heading(*like)
    await starts_at_the_top(page)
    assert await phone.page_width() <= PHONE["width"]
    phone.assert_no_problems()


async def test_a_wrong_address_says_so_and_leads_to_find_my_ward(phone: Visit, data):
    await phone.open("/leftbehind/wards/E0500313", status=404)  # a ward code one digit short
    page = phone.page
    main = page.locator("main")
    assert await main.locator("h1").inner_text() == "Page not found"
    text = " ".join((await main.inner_text()).split())
    assert "There is no page at this address." in text
    assert await main.get_by_role("link", name="The home page").get_attribute("href") == "/"
    assert await main.get_by_role("link", name="Find my ward").get_attribute("href") == "/find-my-ward"
    assert await page.locator("header").get_by_role("link", name="APPG archive").is_visible()
    await phone.shoot("journey-404")
    # Its search finds the ward the address meant.
    ward = one(data, "select ward_code, ward_name from wards where ward_code = 'E05003132'")
    await main.get_by_label("Postcode, or the name of a place, ward or council").fill(ward["ward_name"])
    await main.get_by_label("Postcode, or the name of a place, ward or council").press("Enter")
    await page.wait_for_url(lambda url: parse_qs(urlsplit(url).query).get("q") == [ward["ward_name"]])
    assert await page.locator(f'section[aria-labelledby=results] a[href="/leftbehind/wards/{ward["ward_code"]}"]').count() >= 1
    phone.watch.take()  # the 404 itself is the point of this test
    assert await phone.page_width() <= PHONE["width"]


async def test_a_persons_page_says_what_they_did_and_as_what(phone: Visit, data):
    person = one(
        data,
        """select p.id, p.name from people p join session_people s on s.person_id = p.id
        where s.position is not null and s.organisation_id is not null group by p.id order by count(*) desc, p.id limit 1""",
    )
    sessions = data.execute(
        """select s.id, s.label, sp.role, sp.position, o.name as organisation from session_people sp
        join sessions s on s.id = sp.session_id left join organisations o on o.id = sp.organisation_id
        where sp.person_id = ? order by s.date is null, s.date, s.label""",
        (person["id"],),
    ).fetchall()
    await phone.open(f"/leftbehind/people/{person['id']}")
    page = phone.page
    assert await page.locator("h1").inner_text() == person["name"]
    lead = " ".join((await page.locator(".lb-lead").inner_text()).split())
    assert lead.startswith(f"{person['name']} gave evidence at {len(sessions)} session")
    items = page.locator("section[aria-labelledby=sessions] li")
    assert await items.count() == len(sessions)
    for item, session in zip(await items.all(), sessions):
        words = " ".join((await item.inner_text()).split())
        assert await item.get_by_role("link", name=session["label"]).get_attribute("href") == f"/leftbehind/sessions/{session['id']}"
        given = ", ".join(part for part in (session["position"], session["organisation"]) if part)
        assert f"{session['role'].capitalize()}, given as {given}." in words, words
    assert "as given at that session, not today's" in await page.locator("main").inner_text()
    await phone.shoot("journey-person")
    assert await phone.page_width() <= PHONE["width"]
    phone.assert_no_problems()


def is_suggestion_for(url: str, text: str) -> bool:
    """Whether ``url`` asks Find my ward's suggestions for ``text``."""
    parts = urlsplit(url)
    return parts.path == "/find-my-ward.json" and parse_qs(parts.query).get("q") == [text]


async def test_the_suggestions_are_reached_one_after_another_with_the_arrow_keys(phone: Visit):
    page = phone.page
    await phone.open("/find-my-ward")
    box = page.locator("#q")
    # The list for "nor" itself: with the cores busy the list for "no" can be drawn first and
    # then replaced, taking focus with it, so wait for the answer to the last request to be drawn.
    async with page.expect_response(lambda response: is_suggestion_for(response.url, "nor")) as answer:
        await box.press_sequentially("nor", delay=20)
    answered = [item["label"] for item in (await (await answer.value).json())["suggestions"]]
    links = page.locator("[data-suggest-list] a")
    await page.wait_for_function(
        "(labels) => JSON.stringify([...document.querySelectorAll('[data-suggest-list] a')].map((a) => a.textContent))"
        " === JSON.stringify(labels)",
        arg=answered,
    )
    count = await links.count()
    labels = await links.all_inner_texts()
    for expected in labels:
        await page.keyboard.press("ArrowDown")
        assert (await focused(page))["text"] == expected
    await page.keyboard.press("ArrowDown")  # past the last: stays on it
    assert (await focused(page))["text"] == labels[-1]
    for expected in reversed(labels[:-1]):
        await page.keyboard.press("ArrowUp")
        assert (await focused(page))["text"] == expected
    await page.keyboard.press("ArrowUp")  # from the first, back to the box
    assert (await focused(page))["id"] == "q"
    await page.keyboard.press("ArrowDown")
    await page.keyboard.press("Escape")  # from a suggestion: the list goes, the box keeps focus
    assert (await focused(page))["id"] == "q" and await links.count() == 0
    assert count == len(labels) > 2
    phone.assert_no_problems()


async def test_a_map_below_the_first_screen_waits_until_a_person_scrolls_to_it(phone: Visit, data):
    """Leaflet (most of a map page's bytes) and its stylesheet are fetched only as the map nears the screen."""
    council = one(data, "select lad_code from wards group by lad_code order by sum(left_behind_2020) desc, lad_code limit 1")
    page = phone.page
    leaflet: list[str] = []
    page.on("request", lambda request: leaflet.append(request.url) if "leaflet" in request.url.lower() else None)
    await phone.open(f"/leftbehind/local_authorities/{council['lad_code']}")
    await phone.settle()
    box = await page.locator(".lb-map").bounding_box()
    assert box["y"] > PHONE["height"] + 400, box  # beyond the distance a map starts loading at
    assert leaflet == [], leaflet
    await page.locator(".lb-map").scroll_into_view_if_needed()
    await page.locator(".lb-map .leaflet-marker-icon").first.wait_for()
    assert any(url.endswith(".css") for url in leaflet) and any(url.endswith(".js") for url in leaflet), leaflet
    phone.assert_no_problems()


async def test_a_wards_map_is_framed_on_its_outline_and_skippable(phone: Visit, data):
    ward = one(data, "select ward_code from ward_outlines o join wards using (ward_code) where left_behind_2020 = 1 order by cni_rank")
    page = phone.page
    await phone.open(f"/leftbehind/wards/{ward['ward_code']}")

    # Tab reaches "Skip the map" before any of the map's own stops, and it leads past them all.
    await starts_at_the_top(page)
    skip = await tab_to(page, lambda f: "lb-skip-map" in (f["classes"] or "") or f["inMap"], "the map or its skip link")
    assert "lb-skip-map" in skip["classes"], skip
    await page.keyboard.press("Enter")
    assert (await focused(page))["id"] == "after-map"
    await page.keyboard.press("Tab")
    assert not (await focused(page))["inMap"]
    await page.locator(".lb-map-figure .leaflet-overlay-pane path").first.wait_for()

    # Framed on the ward: its outline, wholly inside the map, spans at least 40% of it (the map zooms in
    # whole steps, each doubling the scale, so a framed outline spans between about half and all of it).
    await page.wait_for_function("() => document.querySelector('.lb-map-status').textContent.startsWith('The map shows')")
    outline = await page.locator(".lb-map-figure .leaflet-overlay-pane path").first.bounding_box()
    frame = await page.locator(".lb-map").bounding_box()
    assert outline["width"] >= 0.4 * frame["width"] or outline["height"] >= 0.4 * frame["height"], (outline, frame)
    assert frame["x"] <= outline["x"] and outline["x"] + outline["width"] <= frame["x"] + frame["width"] + 1
    await phone.shoot("journey-ward-map")
    phone.assert_no_problems()


async def test_the_dashboard_reads_on_a_phone(phone: Visit, data):
    page = phone.page
    await phone.open("/-/dashboards/left-behind")
    await page.locator("#chart-sets-by-region svg .role-axis-grid line").first.wait_for(state="attached")
    # The bar chart keeps its width for the bars: its key is under it, not beside it.
    plot = await page.evaluate("""() => {
      const lines = [...document.querySelectorAll('#chart-sets-by-region svg .role-axis-grid line')].map((l) => l.getBoundingClientRect().left);
      return {plot: Math.max(...lines) - Math.min(...lines), card: document.querySelector('#card-sets-by-region').getBoundingClientRect().width};
    }""")
    assert plot["plot"] >= 0.4 * plot["card"], plot
    # Every change: headers in words, each ward linked to its page.
    changes = data.execute(
        "select ward_code from wards where left_behind_change in ('joined in 2020', 'left in 2020')"
    ).fetchall()
    await page.locator("#chart-changes-list tbody tr").nth(len(changes) - 1).wait_for(state="attached")
    headers = await page.locator("#chart-changes-list th").all_inner_texts()
    assert headers == ["Change in 2020", "Ward and council", "Region"]
    hrefs = await page.locator("#chart-changes-list td a").evaluate_all("(links) => links.map((a) => a.getAttribute('href'))")
    assert sorted(hrefs) == sorted(f"/leftbehind/wards/{row[0]}" for row in changes)
    # The dot map: England's shape hidden from screen readers, every ward that changed named.
    await page.locator("#chart-changes-2020 svg [role=graphics-symbol]").first.wait_for(state="attached")
    symbols = await page.evaluate("""() => {
      const all = [...document.querySelectorAll('#chart-changes-2020 svg [role=graphics-symbol]')];
      const exposed = all.filter((s) => !s.closest('[aria-hidden=true]'));
      return {exposed: exposed.length, unnamed: exposed.filter((s) => !s.getAttribute('aria-label')).length,
              names: exposed.map((s) => s.getAttribute('aria-label'))};
    }""")
    assert symbols["unnamed"] == 0, symbols
    named = {name.split(":")[0] for name in symbols["names"] if name and " in 2020" in name and "legend" not in name.lower()}
    expected = {
        f"{row[0]}, {row[1]}"
        for row in data.execute("select ward_name, lad_name from wards where left_behind_change in ('joined in 2020', 'left in 2020')")
    }
    assert named == expected
    assert await phone.page_width() <= PHONE["width"]
    await phone.shoot("journey-dashboard")
    phone.assert_no_problems()


async def test_a_click_elsewhere_folds_only_menus_not_the_pages_sections(desktop: Visit, data):
    """Datasette's own script folded every open <details> on any click: the facets, the column notes, a ward's sources."""
    page = desktop.page
    await desktop.open("/leftbehind/publications")
    facets = page.locator("details.lb-facets")
    assert await facets.evaluate("(details) => details.open")  # open on a wide screen
    await page.locator("h1").first.click()
    assert await facets.evaluate("(details) => details.open")
    ward = one(data, "select ward_code from wards where left_behind_2020 = 1 order by cni_rank")
    await desktop.open(f"/leftbehind/wards/{ward['ward_code']}")
    sources = page.locator("details.lb-sources-details")
    await sources.locator("summary").click()
    await page.locator("h2#people").click()
    assert await sources.evaluate("(details) => details.open")
    desktop.assert_no_problems()


async def test_the_archives_search_gives_results_that_fit_a_wide_screen(desktop: Visit, data):
    """publications?_search= with every column was 3,197 px wide, its rows up to 870 px tall."""
    page = desktop.page
    await desktop.open("/archive")
    await page.get_by_label("Search the papers").fill("community")
    await page.get_by_label("Search the papers").press("Enter")
    await page.wait_for_url(lambda url: parse_qs(urlsplit(url).query).get("_search") == ["community"])
    table = await page.locator("table.rows-and-columns").bounding_box()
    assert table["x"] + table["width"] <= page.viewport_size["width"], table
    heights = await page.locator("table.rows-and-columns tbody tr").evaluate_all("(rows) => rows.map((row) => row.getBoundingClientRect().height)")
    matches = data.execute(
        "select count(*) from publications_fts where publications_fts match 'community'"
    ).fetchone()[0]
    assert len(heights) == min(matches, 100) and sorted(heights)[len(heights) // 2] < 250, heights
    desktop.assert_no_problems()


async def test_the_archives_search_shows_its_first_result_on_a_phones_first_screen(phone: Visit, data):
    """At 390 px the first result came after about 3,500 px of facets; now the facets are folded
    and the first result begins within a screen and a half (after the table's description, its
    search box and the folded facets), its values under labels in words, not column names."""
    page = phone.page
    await phone.open("/leftbehind/publications?_search=community")
    titles = {row["title"] for row in data.execute(
        "select title from publications where rowid in"
        " (select rowid from publications_fts where publications_fts match 'community')"
    )}
    assert not await page.locator("details.lb-facets").evaluate("(details) => details.open")
    card = page.locator("table.rows-and-columns tbody tr").first
    box = await card.bounding_box()
    assert box["y"] < 1.5 * PHONE["height"], box
    assert box["x"] + box["width"] <= PHONE["width"], box
    text = await card.inner_text()
    assert titles and any(title in text for title in titles), text
    labels = await card.locator("td").evaluate_all(
        "(cells) => cells.map((cell) => getComputedStyle(cell, '::before').content.replace(/^\"|\"$/g, ''))"
    )
    assert labels and all(label and "_" not in label for label in labels), labels
    phone.assert_no_problems()
