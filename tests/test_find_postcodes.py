"""Find my ward by postcode, place name and location, and many postcodes at once (issue 22).

Through the publishing profile serving both databases of one real build (Datasette's test
client, a real server and headless Chromium). Expected answers are worked out here from the
source files with this file's own code (the outlines, the postcode directory, the lookups),
never from the site's output.
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
import sqlite3
from urllib.parse import parse_qs, urlencode, urlsplit

import numpy as np
import pytest
import shapely
from support.browser import PHONE, VIEWPORTS, visit
from support.pages import postcode_page_types
from test_accessibility import audit_page
from test_postcodes import (  # noqa: F401  (fixtures: the source files as read here)
    MOSS_BAY,
    TO_BNG,
    directory,
    england,
    flagged_outlines,
    folders,
    outlines_2019,
    own_outlines,
    postcodes_inside,
)

from leftbehind.serve import served_databases

FROM_BNG = TO_BNG.__class__.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)


async def answer(ds, **params) -> tuple[int, dict]:
    response = await ds.client.get("/find-my-ward.json?" + urlencode(params))
    return response.status_code, response.json()


async def page(ds, **params):
    return await ds.client.get("/find-my-ward?" + urlencode(params))


def lookup_names(source_data) -> tuple[dict[str, str], dict[str, str]]:
    """Ward code -> name and council code -> name, December 2017, from the ONS lookup files."""
    wards = {r["WD17CD"]: r["WD17NM"] for r in source_data[1]["ward_lad_lookup"].rows}
    return wards, {r["LAD17CD"]: r["LAD17NM"] for r in source_data[1]["lad_region_lookup"].rows}


@pytest.fixture(scope="module")
def deep_postcodes(england, source_data, outlines_2019) -> dict[str, str]:
    """One postcode 150 m or more inside each flagged ward's own outline, by ward code."""
    found = {}
    for code, outline in sorted(own_outlines(source_data, outlines_2019).items()):
        core = shapely.buffer(outline, -150)
        inside = [] if shapely.is_empty(core) else sorted(postcodes_inside(england, core))
        if inside:
            found[code] = inside[len(inside) // 2]
    return found


# --- one postcode --------------------------------------------------------------------------


async def test_postcodes_deep_inside_flagged_wards_answer_that_ward_in_any_spacing(postcode_datasette, deep_postcodes):
    assert len(deep_postcodes) > 200
    sample = list(deep_postcodes.items())[::12]
    for code, postcode in sample:
        typed = postcode.replace(" ", "").lower() if code < MOSS_BAY else f"  {postcode.replace(' ', '   ')} "
        status, data = await answer(postcode_datasette, q=typed)
        assert status == 200
        assert data["postcode"]["postcode"] == postcode and data["postcode"]["found"] == "england"
        assert data["wards"][0]["ward_code"] == code, postcode
        assert data["wards"][0]["status"] != "none"  # flagged in one set or both


async def test_a_real_postcode_of_moss_bay_says_yes_with_both_councils(postcode_datasette, england, source_data):
    postcode = sorted(postcodes_inside(england, shapely.buffer(flagged_outlines(source_data)[MOSS_BAY], -150)))[0]
    response = await page(postcode_datasette, q=postcode.lower())
    assert response.status_code == 200
    section = response.text[response.text.index('aria-labelledby="postcode"'):]
    section = section[: section.index("</section>")]
    assert f"{postcode} is in Moss Bay" in section
    assert "Left behind: in the 2020 and the 2019 sets" in section
    assert "Allerdale (E07000026)" in section
    status, data = await answer(postcode_datasette, q=postcode)
    ward = data["postcode"]["ward"]
    assert (ward["code"], ward["left_behind_2020"], ward["left_behind_2019"]) == (MOSS_BAY, 1, 1)


async def test_the_council_today_is_the_directorys(postcode_datasette, directory, deep_postcodes):
    council_of = dict(zip(directory["postcode"].tolist(), directory["laua"].tolist()))
    for postcode in list(deep_postcodes.values())[::40]:
        _, data = await answer(postcode_datasette, q=postcode)
        assert data["postcode"]["council_today"]["code"] == council_of[postcode], postcode


async def test_welsh_scottish_and_northern_irish_postcodes_say_which_nation(postcode_datasette, directory):
    country = directory["laua"].astype("U1")
    welsh = sorted(directory["postcode"][country == "W"].tolist())[0]
    scottish = sorted(directory["postcode"][country == "S"].tolist())[0]
    for postcode, nation in ((welsh, "Wales"), (scottish, "Scotland"), ("BT1 1AA", "Northern Ireland")):
        response = await page(postcode_datasette, q=postcode.lower().replace(" ", ""))
        assert f"{postcode} is in {nation}, outside England" in response.text
        _, data = await answer(postcode_datasette, q=postcode)
        assert (data["postcode"]["found"], data["postcode"]["country"], data["wards"]) == ("outside", nation, [])


@pytest.mark.parametrize("typed, says", [("CA14 3X", "is not a full postcode"), ("CA14", "first half of a postcode"),
                                         ("ZZ9 9ZZ", "was not found")])
async def test_a_malformed_or_unknown_postcode_says_so_and_offers_the_name_search(postcode_datasette, typed, says):
    response = await page(postcode_datasette, q=typed)
    assert response.status_code == 200
    assert says in response.text
    assert 'href="#q">search by the name of your town' in response.text


@pytest.mark.parametrize("path", ["/find-my-ward", "/find-my-ward.json"])
async def test_an_over_long_search_is_refused_naming_its_parameter(postcode_datasette, path):
    response = await postcode_datasette.client.get(path + "?" + urlencode({"q": "CA14 3XX " * 20}))
    assert response.status_code == 400
    assert "the parameter q" in response.text and "at most 100" in response.text


async def test_without_postcodes_db_the_site_says_postcodes_cannot_be_looked_up(datasette, db_path):
    assert served_databases(db_path) == [db_path]  # nothing beside it: served alone
    response = await datasette.client.get("/find-my-ward?q=CA14+3XX")
    assert response.status_code == 200
    assert "Postcodes cannot be looked up on this copy of the site" in response.text
    response = await datasette.client.get("/many-postcodes?postcodes=CA14+3XX")
    assert "Postcodes cannot be looked up on this copy of the site" in response.text


def test_postcodes_db_beside_the_database_is_served_as_the_second(both_databases):
    assert served_databases(both_databases[0]) == list(both_databases)


# --- place names ---------------------------------------------------------------------------


async def test_misspelt_and_written_otherwise_names_find_the_right_places(postcode_datasette, source_data):
    wards, councils = lookup_names(source_data)
    code_of_council = {name: code for code, name in councils.items()}
    _, data = await answer(postcode_datasette, q="Moss Bey")
    assert data["wards"][0]["ward_code"] == MOSS_BAY and wards[MOSS_BAY] == "Moss Bay"
    _, data = await answer(postcode_datasette, q="Moss Bay, Allerdale")
    assert [w["ward_code"] for w in data["wards"]] == [MOSS_BAY]
    _, data = await answer(postcode_datasette, q="Middlesbrogh")
    assert data["councils"][0]["code"] == code_of_council["Middlesbrough"]
    for typed in ("St Helens", "St. Helens", "saint helens"):
        _, data = await answer(postcode_datasette, q=typed)
        assert data["councils"][0]["code"] == code_of_council["St. Helens"], typed
        assert data["councils"][0]["ward_codes"]  # its wards are listed with it


async def test_grimsby_lists_the_wards_of_its_neighbourhoods(postcode_datasette, source_data):
    names = {row["MSOA11NM"]: row["MSOA11HCLNM"] for row in source_data[1]["msoa_names"].rows}
    grimsby = {ons for ons, name in names.items() if "Grimsby" in name.split()}
    lsoa_names = {row["LSOA11CD"]: row["LSOA11NM"][:-1] for row in source_data[1]["lsoa_outlines"].rows}
    expected = {row["WD17CD"] for row in source_data[1]["lsoa_ward_lookup"].rows if lsoa_names.get(row["LSOA11CD"]) in grimsby}
    _, data = await answer(postcode_datasette, q="Grimsby")
    assert {w["ward_code"] for w in data["wards"]} == expected
    assert len(data["neighbourhoods"]) == len(grimsby)


async def test_the_json_lists_the_wards_in_the_pages_order(postcode_datasette):
    for q in ("durham", "Clacton", "St Helens"):
        html = (await page(postcode_datasette, q=q)).text
        main = html[html.index("<main"):html.index("</main>")]
        linked = list(dict.fromkeys(re.findall(r'href="/leftbehind/wards/(E\d{8})"', main)))
        _, data = await answer(postcode_datasette, q=q)
        assert [w["ward_code"] for w in data["wards"]] == linked, q
        assert all(c["code"] for c in data["councils"])


# --- a location ----------------------------------------------------------------------------


def lon_lat(point) -> tuple[float, float]:
    lon, lat = FROM_BNG.transform(point.x, point.y)
    return round(lon, 6), round(lat, 6)


async def test_a_location_deep_inside_a_flagged_ward_is_in_it(postcode_datasette, source_data, outlines_2019):
    for code, outline in list(sorted(own_outlines(source_data, outlines_2019).items()))[::25]:
        core = shapely.buffer(outline, -150)
        if shapely.is_empty(core):
            continue
        lon, lat = lon_lat(shapely.point_on_surface(core))
        _, data = await answer(postcode_datasette, lat=lat, lon=lon)
        assert data["location"]["ward"]["code"] == code
        assert data["wards"][0]["ward_code"] == code


def points_outside_every_flagged_outline(source_data, outlines_2019, count: int) -> list[tuple[float, float]]:
    """Points 300 m outside a flagged ward's own outline, outside every other flagged outline
    by 300 m too, and inside an English ward's 2019 outline (so in England)."""
    flagged = shapely.union_all(list(own_outlines(source_data, outlines_2019).values()))
    england_2019 = shapely.STRtree(list(outlines_2019.values()))
    keep = shapely.buffer(flagged, 300)
    points = []
    for code, outline in sorted(own_outlines(source_data, outlines_2019).items())[::7]:
        ring = shapely.buffer(outline, 320).exterior if hasattr(shapely.buffer(outline, 320), "exterior") else None
        if ring is None:
            continue
        for fraction in np.linspace(0, 1, 8, endpoint=False):
            point = ring.interpolate(fraction, normalized=True)
            if not keep.contains(point) and len(england_2019.query(point, predicate="within")):
                points.append(lon_lat(point))
                break
        if len(points) == count:
            break
    return points


async def test_a_location_outside_every_flagged_outline_never_answers_yes(postcode_datasette, source_data, outlines_2019):
    points = points_outside_every_flagged_outline(source_data, outlines_2019, 12)
    assert len(points) >= 10
    for lon, lat in points:
        _, data = await answer(postcode_datasette, lat=lat, lon=lon)
        first = data["wards"][0]
        assert first["found_as"] == "location" and first["status"] == "none", (lat, lon, first)
        html = (await page(postcode_datasette, lat=lat, lon=lon)).text
        near = html[html.index('aria-labelledby="near"'):]
        assert "Yes." not in near[: near.index("</section>")] and "lb-mark--both" not in near.split("</p>")[0]


async def test_a_location_in_scotland_is_not_in_england(postcode_datasette):
    _, data = await answer(postcode_datasette, lat=55.9533, lon=-3.1883)  # Edinburgh
    assert data["location"]["in_england"] is False and data["wards"] == []
    assert "Your location is not in England" in (await page(postcode_datasette, lat=55.9533, lon=-3.1883)).text


# --- many postcodes ------------------------------------------------------------------------


async def test_a_thousand_postcodes_answer_one_row_each_as_a_table_and_csv(postcode_datasette, directory, deep_postcodes):
    country = directory["laua"].astype("U1")
    english = directory["postcode"][country == "E"]
    chosen = english[np.random.default_rng(22).choice(len(english), 997, replace=False)].tolist()
    chosen += [deep_postcodes[MOSS_BAY].lower().replace(" ", ""), sorted(directory["postcode"][country == "W"].tolist())[0], "NOT A CODE"]
    response = await postcode_datasette.client.get("/many-postcodes?" + urlencode({"postcodes": "\r\n".join(chosen)}))
    assert response.status_code == 200
    assert response.text.count('<th scope="row">') == 1000
    assert "Moss Bay</a> (E05003132)" in response.text
    csv_url = re.search(r'href="([^"]+\.csv\?[^"]+)"', response.text).group(1).replace("&amp;", "&")
    rows = list(csv.DictReader(io.StringIO((await postcode_datasette.client.get(csv_url)).text)))
    assert len(rows) == 1000
    assert [row["postcode"] for row in rows[:997]] == chosen[:997]
    assert rows[997]["ward_code"] == MOSS_BAY and rows[997]["left_behind_2020"] == "1"
    assert rows[998]["found"] == "outside England: Wales" and rows[999]["found"] == "not a postcode"
    assert {"ward_name", "lad_name", "council_today", "left_behind_2019", "also_possible"} <= set(rows[0])


async def test_a_thousand_and_one_postcodes_are_refused_clearly(postcode_datasette):
    postcodes = ",".join(["CA14 3XX"] * 1001)
    response = await postcode_datasette.client.get("/many-postcodes?" + urlencode({"postcodes": postcodes}))
    assert response.status_code == 400
    assert "the parameter postcodes" in response.text and "1,001" in response.text and "at most 1,000" in response.text
    query = await postcode_datasette.client.get("/postcodes/wards_of_postcodes.json?" + urlencode({"postcodes": postcodes, "_shape": "array"}))
    assert [row["found"] for row in query.json()] == ["refused: more than 1,000 postcodes were sent; send at most 1,000 at once"]


# --- in Chromium ---------------------------------------------------------------------------


async def test_on_a_phone_a_typed_postcode_gets_its_answer(chromium, live_postcode_site, deep_postcodes):
    context, opened = await visit(chromium, live_postcode_site, PHONE)
    try:
        await opened.open("/find-my-ward")
        postcode = deep_postcodes[MOSS_BAY]
        await opened.page.locator("#q").fill(postcode.lower())
        # The type-ahead asks /find-my-ward.json as one types: its answer first, then the search.
        suggestion = opened.page.locator("[data-suggest-list] a", has_text=f"{postcode}: Moss Bay, Allerdale")
        await suggestion.wait_for()
        await opened.page.locator("#q").press("Enter")
        await opened.page.wait_for_url(lambda url: parse_qs(urlsplit(url).query).get("q") == [postcode.lower()])
        heading = opened.page.locator("#postcode")
        assert await heading.inner_text() == f"{postcode} is in Moss Bay"
        assert "Left behind: in the 2020 and the 2019 sets" in await opened.page.locator(".lb-postcode-answer").inner_text()
        await opened.shoot("find-my-ward-postcode")
        assert await opened.page_width() <= PHONE["width"]
        opened.assert_no_problems()
    finally:
        await context.close()


async def test_on_a_phone_a_location_outside_every_flagged_outline_is_never_yes(chromium, live_postcode_site, source_data, outlines_2019):
    lon, lat = points_outside_every_flagged_outline(source_data, outlines_2019, 1)[0]
    context, opened = await visit(chromium, live_postcode_site, PHONE, geolocation={"latitude": lat, "longitude": lon},
                                  permissions=["geolocation"])
    try:
        await opened.open("/find-my-ward")
        await opened.page.get_by_role("button", name="Use my location").click()
        await opened.page.wait_for_url(lambda url: "lat" in parse_qs(urlsplit(url).query))
        answer_text = await opened.page.locator("section[aria-labelledby=near] .lb-answer").inner_text()
        assert "Not a left-behind neighbourhood" in answer_text and "Yes" not in answer_text
        await opened.shoot("find-my-ward-location")
        opened.assert_no_problems()
    finally:
        await context.close()


async def test_the_postcode_pages_have_no_critical_or_serious_violation(chromium, live_postcode_site, both_databases):
    """axe-core, structure and width on every postcode page state, at 1280 and 390 px, as
    tests/test_accessibility.py audits every other page type."""
    pages = postcode_page_types(both_databases[1])

    async def at(width: str) -> dict[str, dict]:
        context, opened = await visit(chromium, live_postcode_site, VIEWPORTS[width])
        try:
            return {page_type.name: found for page_type in pages if (found := await audit_page(opened, page_type, width))}
        finally:
            await context.close()

    assert await asyncio.gather(at("desktop"), at("phone")) == [{}, {}]


# --- every ward page draws its own outline --------------------------------------------------


async def test_every_ward_page_draws_its_own_outline_labelled_approximate_where_it_is(postcode_datasette, both_databases, outlines_2019,
                                                                                       source_data):
    """A ward that kept its code has its 2019 outline (within the 10 m simplification, as
    measured here on the file); a ward with neither that nor a flagged outline is approximate."""
    served = {row[0] for row in sqlite3.connect(f"file:{both_databases[0]}?mode=ro", uri=True).execute("select ward_code from wards")}
    wards = {code: name for code, name in lookup_names(source_data)[0].items() if code in served}  # those with a page
    flagged = set(flagged_outlines(source_data))
    exact = sorted(code for code in outlines_2019 if code in wards)[::700]
    approximate = sorted(code for code in wards if code not in outlines_2019 and code not in flagged)[::300]
    for code in exact + approximate:
        text = (await postcode_datasette.client.get(f"/leftbehind/wards/{code}")).text
        url = re.search(r'data-outlines="([^"]+)"', text).group(1).replace("&amp;", "&")
        rows = (await postcode_datasette.client.get(url)).json()["rows"]
        assert [row["ward_code"] for row in rows] == [code]
        drawn = shapely.geometry.shape(rows[0]["geojson"])
        drawn = shapely.transform(drawn, lambda xy: np.column_stack(TO_BNG.transform(xy[:, 0], xy[:, 1])))
        if code in outlines_2019:
            assert shapely.hausdorff_distance(drawn, outlines_2019[code]) < 30, code
            assert "its approximate outline" not in text
        else:
            assert "The outline drawn is approximate" in text and "its approximate outline" in text, code
