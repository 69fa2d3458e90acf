"""The pages for people, through Datasette's own test client (publishing profile).

Expected values are read from the built database with sqlite3 or computed here from
first principles, never copied from a page. Issue 13's optional tables and columns
(today's geography, outlines) are exercised on a small hand-written database.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import sqlite3
import urllib.request
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest
import sqlite_utils
from datasette.app import Datasette

from leftbehind.build import content_tables
from support.live import default_server
from leftbehind.serve import STATIC, STATIC_MOUNT, TEMPLATES
from leftbehind.site import register

TRAFFORD_CHECK = ("7.7%", "\u221218.2%", "+20.6%")


# --- helpers ------------------------------------------------------------------------


def one(sql: sqlite3.Connection, query: str, *params) -> sqlite3.Row:
    row = sql.execute(query, params).fetchone()
    assert row is not None, query
    return row


async def html(datasette, path: str) -> str:
    response = await datasette.client.get(path)
    assert response.status_code == 200, (path, response.status_code, response.text[:300])
    assert response.headers["content-type"].startswith("text/html")
    return response.text


def english_ordinal(n: int) -> str:
    suffix = "th" if n % 100 in (11, 12, 13) else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n:,}{suffix}"


class Page(HTMLParser):
    """The parts of an HTML page the tests look at: links, text by element, h1."""

    def __init__(self, text: str):
        super().__init__()
        self.links: list[tuple[str, str]] = []
        self.cells: list[str] = []
        self.h1 = ""
        self._link: list | None = None
        self._cell: list[str] | None = None
        self._cell_depth = 0
        self._in_h1 = False
        self._skip = 0
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
        if tag == "a":
            self._link = [dict(attrs).get("href", ""), ""]
        if tag in ("td", "dd"):
            if self._cell is None:
                self._cell = []
            self._cell_depth += 1
        if tag == "h1":
            self._in_h1 = True

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip -= 1
        if tag == "a" and self._link is not None:
            self.links.append((self._link[0], " ".join(self._link[1].split())))
            self._link = None
        if tag in ("td", "dd") and self._cell is not None:
            self._cell_depth -= 1
            if self._cell_depth == 0:
                self.cells.append("".join(self._cell).strip())
                self._cell = None
        if tag == "h1":
            self._in_h1 = False

    def handle_data(self, data):
        if self._skip:
            return
        if self._link is not None:
            self._link[1] += data
        if self._cell is not None:
            self._cell.append(data)
        if self._in_h1:
            self.h1 += data

    def hrefs(self) -> set[str]:
        return {href for href, _ in self.links}


def section(text: str, heading_id: str) -> str:
    """The HTML of the <section> labelled by the heading with this id."""
    start = text.index(f'aria-labelledby="{heading_id}"')
    return text[start : text.index("</section>", start)]


def json_arrays_in_cells(text: str) -> list[str]:
    found = []
    for cell in Page(text).cells:
        if cell.startswith("[") and cell.endswith("]"):
            try:
                if isinstance(json.loads(cell), list):
                    found.append(cell)
            except ValueError:
                pass
    return found


# --- a ward's page ---------------------------------------------------------------------


def sets(sql) -> dict[str, int]:
    return {row["id"]: row["wards"] for row in sql.execute("select id, wards from left_behind_sets")}


@pytest.mark.parametrize(
    "change, first_words",
    [("in both sets", "Yes."), ("joined in 2020", "Yes."), ("left in 2020", "Not any more."), (None, "No.")],
)
async def test_ward_page_answers_in_words(datasette, sql, change, first_words):
    where = "left_behind_change is null" if change is None else "left_behind_change = ?"
    params = () if change is None else (change,)
    ward = one(sql, f"select * from wards where {where} and population is not null order by cni_rank limit 1", *params)
    total = one(sql, "select count(*) as n from wards")["n"]
    counts = sets(sql)
    text = await html(datasette, f"/leftbehind/wards/{ward['ward_code']}")
    page = Page(text)

    assert page.h1.strip() == f"{ward['ward_name']}, {ward['lad_name']}"
    answer = re.search(r'<p class="lb-answer[^"]*">(.*?)</p>', text, re.S).group(1)
    answer = " ".join(re.sub(r"<[^>]+>", "", answer).split()).replace("&#39;", "'")
    assert answer.startswith(f"{first_words} {ward['ward_name']}")
    assert f"{counts['2020']:,}" in answer and f"{counts['2019']:,}" in answer
    if change == "joined in 2020":
        assert "joined the list in 2020" in answer
    if change == "left in 2020":
        assert "left the list" in answer
    # Need in words: the overall and the three domain ranks, against every ward.
    assert f"{english_ordinal(ward['cni_rank'])} most in need of {total:,} wards" in text
    for domain in ("civic_assets", "connectedness", "engaged_community"):
        assert f"{english_ordinal(ward[domain + '_rank'])} most in need of {total:,} wards" in text
    # ... and, where the ward has an IMD 2019 figure, the IMD overall and its seven domains.
    assert text.count('class="lb-scale"') == 4 + (8 if ward["imd2019_ward_rank"] is not None else 0)
    # The IMD context with its caveat, the population with its caveat and measured error.
    percent = round(ward["population_share_in_imd_decile_1_lsoas"] * 100)
    assert f"{percent}% of its residents live in small areas" in text
    assert "not the ward-level deprivation score OCSI used" in text
    assert f"About {ward['population']:,} people (mid-2017)." in text
    for figure in TRAFFORD_CHECK:
        assert figure in text
    # Council and region pages linked, the row as JSON and CSV, a map.
    assert {f"/leftbehind/local_authorities/{ward['lad_code']}", f"/leftbehind/regions/{ward['region_code']}"} <= page.hrefs()
    assert 'data-map="area"' in text and f'data-focus="{ward["ward_code"]}"' in text
    # The CNI's licence is not called MIT (the humaniverse/IMD package's code licence).
    assert "licence: MIT" not in text and not re.search(r"Data license:[^·]*MIT", text)


async def test_ward_page_lists_its_councils_other_left_behind_wards(datasette, sql):
    council = one(
        sql,
        "select lad_code from wards where left_behind_change is not null group by lad_code order by count(*) desc, lad_code limit 1",
    )["lad_code"]
    wards = sql.execute(
        "select ward_code, ward_name from wards where lad_code = ? and left_behind_change is not null order by ward_code", (council,)
    ).fetchall()
    assert len(wards) > 2
    code = wards[0]["ward_code"]
    text = await html(datasette, f"/leftbehind/wards/{code}")
    others = Page(section(text, "others"))
    linked = {href.rsplit("/", 1)[1] for href in others.hrefs() if href.startswith("/leftbehind/wards/")}
    assert linked == {w["ward_code"] for w in wards[1:]}


async def test_ward_page_downloads_hold_the_row(datasette, sql):
    ward = one(sql, "select ward_code, ward_name from wards where left_behind_2020 = 1 order by ward_code limit 1")
    page = Page(await html(datasette, f"/leftbehind/wards/{ward['ward_code']}"))
    json_link = next(href for href, label in page.links if label == "JSON")
    csv_link = next(href for href, label in page.links if label == "CSV")
    data = (await datasette.client.get(json_link)).json()
    assert data["rows"][0][0] == ward["ward_code"]
    rows = list(csv.DictReader(io.StringIO((await datasette.client.get(csv_link)).text)))
    assert [(r["ward_code"], r["ward_name"]) for r in rows] == [(ward["ward_code"], ward["ward_name"])]


async def test_ward_page_names_every_source_and_its_licence(datasette, sql):
    ward = one(sql, "select ward_code, location_source from wards where left_behind_2020 = 1 limit 1")
    text = await html(datasette, f"/leftbehind/wards/{ward['ward_code']}")
    sources = Page(section(text, "sources")).hrefs()
    for source_id in ("cni2020", "cni2019", "population", "lsoa_ward_lookup", "imd_lsoa", ward["location_source"]):
        assert f"/leftbehind/sources/{source_id}" in sources
    ons = one(sql, "select attribution from sources where id = 'population'")["attribution"]
    assert str(ons).replace("'", "&#39;") in text
    licence = one(sql, "select licence from sources where id = 'cni2020'")["licence"]
    assert licence.startswith("No open licence stated")
    assert " ".join(str(licence).replace("'", "&#39;").split()) in " ".join(text.split())


async def test_a_ward_without_population_says_why(datasette, sql):
    unknown = one(sql, "select count(*) as n from wards where population is null")["n"]
    ward = one(sql, "select ward_code from wards where population is null order by ward_code limit 1")
    text = await html(datasette, f"/leftbehind/wards/{ward['ward_code']}")
    people = section(text, "people")
    assert "Not known." in people
    assert f"one of {unknown} wards like this" in people
    assert "counted in neighbouring wards" in people


async def test_a_zero_imd_share_in_a_left_behind_ward_is_explained(datasette, sql):
    ward = one(sql, "select ward_code from wards where left_behind_2020 = 1 and population_share_in_imd_decile_1_lsoas = 0 limit 1")
    text = await html(datasette, f"/leftbehind/wards/{ward['ward_code']}")
    assert "0% of its residents" in text
    assert "a left-behind ward can show 0% here" in text


# --- council and region pages -----------------------------------------------------------


async def test_council_page_counts_and_lists_its_left_behind_wards(datasette, sql):
    council = one(
        sql,
        "select lad_code, lad_name from wards group by lad_code order by sum(left_behind_2020) desc, lad_code limit 1",
    )
    wards = sql.execute("select * from wards where lad_code = ?", (council["lad_code"],)).fetchall()
    in_2020 = [w["ward_code"] for w in wards if w["left_behind_2020"]]
    in_2019 = [w for w in wards if w["left_behind_2019"]]
    text = await html(datasette, f"/leftbehind/local_authorities/{council['lad_code']}")
    assert Page(text).h1.strip() == council["lad_name"]
    assert f"{len(in_2020)} of its {len(wards)} wards are in the 2020 set" in text
    assert f"and {len(in_2019)} were in the original 2019 set" in text
    listed = Page(section(text, "left-behind")).hrefs()
    assert {f"/leftbehind/wards/{code}" for code in in_2020} <= listed
    everything = Page(text).hrefs()
    assert {f"/leftbehind/wards/{w['ward_code']}" for w in wards} <= everything
    assert 'data-map="area"' in text


async def test_region_page_lists_its_councils_and_left_behind_wards(datasette, sql):
    region = one(sql, "select region_code, region_name from regions order by region_code limit 1")
    wards = sql.execute("select * from wards where region_code = ?", (region["region_code"],)).fetchall()
    text = await html(datasette, f"/leftbehind/regions/{region['region_code']}")
    assert Page(text).h1.strip() == region["region_name"]
    in_2020 = sum(w["left_behind_2020"] for w in wards)
    assert f"{in_2020} of its {len(wards):,} wards are in the 2020 set" in text
    links = Page(text).hrefs()
    assert {f"/leftbehind/local_authorities/{w['lad_code']}" for w in wards} <= links
    flagged = {f"/leftbehind/wards/{w['ward_code']}" for w in wards if w["left_behind_2020"] or w["left_behind_2019"]}
    assert flagged <= links


# --- Find my ward ---------------------------------------------------------------------


async def test_home_page_has_a_labelled_search_form(datasette):
    text = await html(datasette, "/")
    form = text[text.index('<form class="lb-search"') : text.index("</form>", text.index('<form class="lb-search"'))]
    assert 'action="/find-my-ward"' in form and 'method="get"' in form
    assert '<label for="q">' in form and 'id="q" name="q"' in form
    assert "/leftbehind/left_behind_neighbourhoods" in Page(text).hrefs()


async def test_empty_search_shows_the_form_and_examples_not_rows(datasette):
    text = await html(datasette, "/find-my-ward")
    assert '<label for="q">' in text
    assert 'aria-labelledby="results"' not in text
    examples = [href for href in Page(section(text, "examples")).hrefs() if href.startswith("/find-my-ward?q=")]
    assert 2 <= len(examples) <= 5
    assert "select " not in text.lower()
    for example in examples:
        assert 'aria-labelledby="results"' in await html(datasette, example)


async def test_search_by_part_of_a_ward_name_links_its_page(datasette, sql):
    ward = one(sql, "select ward_code, ward_name, lad_name from wards where left_behind_change = 'in both sets' order by ward_code limit 1")
    part = ward["ward_name"][1:6].lower()
    text = await html(datasette, "/find-my-ward?" + urlencode({"q": part}))
    results = section(text, "results")
    assert f'href="/leftbehind/wards/{ward["ward_code"]}"' in results
    matching = sql.execute("select count(*) from wards where instr(lower(ward_name), ?) > 0", (part,)).fetchone()[0]
    assert results.count('href="/leftbehind/wards/') >= min(matching, 50)
    assert "Left behind: in the 2020 and the 2019 sets" in results


async def test_search_by_council_lists_all_its_wards(datasette, sql):
    council = one(sql, "select lad_code, lad_name from local_authorities where lad_name = 'County Durham'")
    codes = {row[0] for row in sql.execute("select ward_code from wards where lad_code = ?", (council["lad_code"],))}
    text = await html(datasette, "/find-my-ward?q=durham")
    block = section(text, f"council-{council['lad_code']}")
    listed = {href.rsplit("/", 1)[1] for href in Page(block).hrefs() if href.startswith("/leftbehind/wards/")}
    assert listed == codes


@pytest.mark.parametrize("query", ["%", "_", "\\", "' or 1=1 --", "x" * 100])
async def test_search_treats_its_text_literally(datasette, sql, query):
    response = await datasette.client.get("/find-my-ward?" + urlencode({"q": query}))
    assert response.status_code == 200
    expected = sql.execute("select count(*) from wards where instr(ward_name, ?) > 0", (query[:100],)).fetchone()[0]
    assert section(response.text, "results").count('href="/leftbehind/wards/') == min(expected, 50)


async def test_suggestions_are_links_to_matching_pages(datasette, sql):
    response = await datasette.client.get("/find-my-ward.json?q=norton")
    assert response.status_code == 200
    suggestions = response.json()["suggestions"]
    assert 0 < len(suggestions) <= 8
    for item in suggestions:
        assert "norton" in item["label"].lower()
        assert (await datasette.client.get(item["url"])).status_code == 200
    assert (await datasette.client.get("/find-my-ward.json")).json()["suggestions"] == []


def haversine_km(lat1, lon1, lat2, lon2) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(a))


async def test_near_me_puts_the_ward_whose_outline_holds_the_point_first_whatever_the_map_points(datasette, sql):
    """Every ward has an outline (ward_shapes): the one holding the point comes first, never
    the ward with the nearest map point. A flagged ward's map point lies inside its own outline
    (the build checks it); a point beside it, nearer another ward's map point, still finds it."""
    ward = one(sql, "select * from wards where left_behind_2020 = 1 order by cni_rank limit 1")
    text = await html(datasette, "/find-my-ward?" + urlencode({"lat": ward["latitude"], "lon": ward["longitude"]}))
    near = section(text, "near")
    listed = [href.rsplit("/", 1)[1] for href, _ in Page(near).links if href.startswith("/leftbehind/wards/")]
    assert listed[0] == ward["ward_code"]
    assert "Your location is inside its outline" in near


@pytest.mark.parametrize("query", ["lat=north&lon=1", "lat=91&lon=0", "lat=nan&lon=0", "lat=1"])
async def test_an_unreadable_location_is_explained(datasette, query):
    text = await html(datasette, f"/find-my-ward?{query}")
    assert "That location could not be read" in text
    assert 'aria-labelledby="near"' not in text


# --- the map pages --------------------------------------------------------------------


async def test_neighbourhoods_page_puts_its_map_first_and_hides_popup(datasette, sql):
    text = await html(datasette, "/leftbehind/left_behind_neighbourhoods")
    count = one(sql, "select count(*) as n from left_behind_neighbourhoods")["n"]
    main = text[text.index("<main") :]
    assert re.search(rf"<h1[^>]*>The {count} left-behind neighbourhoods</h1>", main)
    assert main.index('data-map="table"') < main.index("<table") < main.index("</main>")
    assert main.index('data-map="table"') < main.index('class="facet-results"')
    assert 'data-column="popup"' not in text and "col-popup" not in text
    left = sql.execute("select ward_code from wards where left_behind_change = 'left in 2020'").fetchall()
    legend = text[text.index('class="lb-map-figure') : text.index("</figure>")]
    assert "not on this map" in legend
    assert {f"/leftbehind/wards/{row[0]}" for row in left} <= Page(legend).hrefs()
    # Rows link to the ward pages; the JSON the map reads keeps popup.
    first = one(sql, "select ward_code from left_behind_neighbourhoods limit 1")["ward_code"]
    assert f'<a href="/leftbehind/wards/{first}">' in text
    data = (await datasette.client.get("/leftbehind/left_behind_neighbourhoods.json?_shape=objects&_size=1")).json()
    assert "popup" in data["rows"][0]


async def test_csv_and_json_keep_their_machine_forms(datasette, sql):
    response = await datasette.client.get("/leftbehind/publications.csv?_size=max")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    stored = {row["id"]: row["topics"] for row in sql.execute("select id, topics from publications")}
    assert {row["id"]: row["topics"] for row in rows} == stored
    assert all(isinstance(json.loads(row["topics"]), list) for row in rows)


async def test_no_html_page_shows_a_raw_json_array(datasette, db_path, metadata):
    db = sqlite_utils.Database(db_path)
    paths = [f"/leftbehind/{name}?_size=max" for name in content_tables(db) + db.view_names()]
    paths += [f"/leftbehind/{name}" for name in metadata["databases"]["leftbehind"]["queries"]]
    paths += ["/leftbehind/search_publications?q=community"]
    for table in ("publications", "sessions", "people", "appg_roles"):
        paths += [f"/leftbehind/{table}/{quote(row[0])}" for row in db.execute(f"select id from {table}").fetchall()]
    assert len(paths) > 100
    found = {}
    for path in paths:
        arrays = json_arrays_in_cells(await html(datasette, path))
        if arrays:
            found[path] = arrays[:3]
    assert found == {}


async def test_publication_lists_link_their_pages(datasette, sql):
    publication = one(
        sql, "select id, topics, organisations from publications where json_array_length(organisations) > 1 order by id limit 1"
    )
    text = await html(datasette, f"/leftbehind/publications/{publication['id']}")
    links = Page(text).hrefs()
    for topic in json.loads(publication["topics"]):
        assert f"/leftbehind/topics/{topic}" in links
    for row in sql.execute(
        "select organisation_id, role from publication_organisations where publication_id = ?", (publication["id"],)
    ):
        assert f"/leftbehind/organisations/{row[0]}" in links
        assert f"</a>: {row[1]}</li>" in text


async def test_facets_are_titled_in_words_and_years_run_in_order(datasette, sql, metadata):
    text = await html(datasette, "/leftbehind/publications")
    titles = metadata["databases"]["leftbehind"]["tables"]["publications"]["facet_titles"]
    for column, title in titles.items():
        block = text[text.index(f'id="facet-{column}"') :]
        assert title.replace("'", "&#39;") in block[: block.index("</h2>")]
    assert "(array)" not in text
    block = text[text.index('id="facet-year"') :]
    block = block[: block.index("</ul>")]
    years = re.findall(r">(\d{4}|date unknown)</a>", block)
    expected = [row[0] for row in sql.execute("select distinct year from publications where year != 'date unknown' order by year")]
    assert years == expected + ["date unknown"]  # the years in order, then the undated
    unknown = one(sql, "select count(*) as n from publications where year = 'date unknown'")["n"]
    assert re.search(rf">date unknown</a> {unknown}\b", block)
    filtered = await html(datasette, "/leftbehind/publications?year=date+unknown")
    assert f"{unknown} row" in filtered


async def test_row_pages_link_codes_beside_names(datasette, sql):
    ward = one(sql, "select ward_code, lad_code, lad_name from wards order by ward_code limit 1")
    text = await html(datasette, f"/leftbehind/wards?ward_code={ward['ward_code']}")
    assert (
        f'<a href="/leftbehind/local_authorities/{ward["lad_code"]}">{ward["lad_name"]} <span class="lb-code">{ward["lad_code"]}</span></a>'
        in text
    )


async def test_every_html_page_declares_british_english(datasette):
    for path in ("/", "/leftbehind", "/leftbehind/wards", "/leftbehind/wards/E05001595", "/find-my-ward", "/about", "/-/dashboards/left-behind"):
        assert (await html(datasette, path)).startswith('<!DOCTYPE html>\n<html lang="en-GB">'), path
    response = await datasette.client.get("/leftbehind/wards.json?_size=1")
    assert "lang=" not in response.text


async def test_dashboard_metrics_have_thousands_separators(sql, metadata):
    charts = metadata["plugins"]["datasette-dashboards"]["left-behind"]["charts"]
    population = one(sql, "select sum(population) as n from wards where left_behind_2020 = 1")["n"]
    assert population > 999
    assert one(sql, charts["population-2020"]["query"])[0] == f"{population:,}"
    layout = metadata["plugins"]["datasette-dashboards"]["left-behind"]["layout"]
    assert {slug for row in layout for slug in row} == set(charts)
    assert len({len(row) for row in layout}) == 1


# --- without the plugin, the templates fall back to Datasette's own pages ----------------


def test_default_datasette_serves_its_own_row_page(db_path, tmp_path):
    with default_server(db_path, tmp_path) as base:
        with urllib.request.urlopen(f"{base}/leftbehind/wards/E05001595") as response:
            text = response.read().decode()
    assert "<h1" in text and "wards: E05001595" in text
    assert "lb-answer" not in text


# --- issue 13's tables, on a hand-written database -----------------------------------------

SQUARE = {"type": "Polygon", "coordinates": [[[-1.0, 53.0], [-0.9, 53.0], [-0.9, 53.1], [-1.0, 53.1], [-1.0, 53.0]]]}


def small_database(path: Path) -> Path:
    """Three wards in two 2017 councils that are one council today, with outlines and 2024 links."""
    db = sqlite_utils.Database(path)
    db["sources"].insert_all(
        [
            {"id": source, "title": f"Test source {source}", "repository": "example/test", "commit": "0" * 40,
             "url": "https://example.org/", "licence": "OGL v3.0",
             "licence_url": "https://example.org/licence", "attribution": f"Attribution for {source}."}
            for source in ("cni2020", "cni2019", "population", "lsoa_ward_lookup", "imd_lsoa", "ward_points", "outlines")
        ],
        pk="id",
    )
    db["regions"].insert({"region_code": "E12000099", "region_name": "Testshire Region"}, pk="region_code")
    db["local_authorities"].insert_all(
        [{"lad_code": "E07000901", "lad_name": "Oldtown", "region_code": "E12000099"},
         {"lad_code": "E07000902", "lad_name": "Otherborough", "region_code": "E12000099"}],
        pk="lad_code",
    )
    db["local_authorities_2024"].insert(
        {"lad24_code": "E06000999", "lad24_name": "Newshire", "region_code": "E12000099", "region_name": "Testshire Region"},
        pk="lad24_code",
    )
    db["left_behind_sets"].insert_all(
        [{"id": "2020", "name": "2020 set", "wards": 1, "population": 5000},
         {"id": "2019", "name": "2019 set", "wards": 1, "population": 5000}],
        pk="id",
    )
    db["build_info"].insert({"item": "built_at", "value": "2024-01-01T00:00:00Z"}, pk="item")

    def ward(code, name, lad, change, rank, lat, lon):
        return {
            "ward_code": code, "ward_name": name, "lad_code": lad,
            "lad_name": {"E07000901": "Oldtown", "E07000902": "Otherborough"}[lad],
            "region_code": "E12000099", "region_name": "Testshire Region",
            "left_behind_2020": int(change in ("in both sets", "joined in 2020")),
            "left_behind_2019": int(change in ("in both sets", "left in 2020")),
            "left_behind_change": change, "cni_rank": rank, "cni_score": 100.0,
            "civic_assets_rank": rank, "civic_assets_score": 1.0, "connectedness_rank": rank, "connectedness_score": 1.0,
            "engaged_community_rank": rank, "engaged_community_score": 1.0,
            "population": 5000, "lsoa_count": 3, "lsoas_in_imd_decile_1": 1, "population_share_in_imd_decile_1_lsoas": 0.3,
            "latitude": lat, "longitude": lon, "location_method": "ONS ward label point", "location_source": "ward_points",
            "lad24_code": "E06000999", "lad24_name": "Newshire", "lad24_population_share": 1.0, "wards24_count": 2,
            "location_precision": "exact",
        }

    db["wards"].insert_all(
        [
            # Inside the square, but with its map point near its edge...
            ward("E05900001", "Brookside", "E07000901", "in both sets", 1, 53.099, -0.999),
            # ...and a neighbour whose point is nearer the middle of that square, outside it.
            ward("E05900002", "Hillcrest", "E07000901", None, 2, 53.05, -0.88),
            ward("E05900003", "Meadowbank", "E07000902", None, 3, 53.3, -0.5),
        ],
        pk="ward_code",
    )
    db["ward_outlines"].insert(
        {"ward_code": "E05900001", "geojson": json.dumps(SQUARE), "source_id": "outlines", "point_inside": 1, "distance_m": 0},
        pk="ward_code",
    )
    db["ward_links_2024"].insert_all(
        [
            {"ward_code": "E05900001", "ward24_code": "E05999001", "ward24_name": "Riverside North", "lad24_code": "E06000999",
             "population": 3000, "population_share": 0.6},
            {"ward_code": "E05900001", "ward24_code": "E05999002", "ward24_name": "Riverside South", "lad24_code": "E06000999",
             "population": 2000, "population_share": 0.4},
        ]
    )
    return path


@pytest.fixture(scope="module")
async def today_datasette(tmp_path_factory, metadata):
    path = small_database(tmp_path_factory.mktemp("today") / "leftbehind.db")
    register()
    ds = Datasette(
        [], immutables=[str(path)], metadata={"title": metadata["title"]}, template_dir=str(TEMPLATES),
        static_mounts=[(STATIC_MOUNT, str(STATIC))],
    )
    await ds.invoke_startup()
    return ds


async def test_ward_page_draws_its_outline_and_says_where_it_is_today(today_datasette):
    text = await html(today_datasette, "/leftbehind/wards/E05900001")
    outlines = re.search(r'data-outlines="([^"]+)"', text).group(1).replace("&amp;", "&")
    data = (await today_datasette.client.get(outlines)).json()
    assert [json.loads(row["geojson"]) for row in data["rows"]] == [SQUARE]
    where = section(text, "where")
    # Today's council leads, before the map: in the heading, and in a sentence after the answer.
    assert Page(text).h1.split() == "Brookside, Oldtown (in Newshire today)".split()
    today = text[text.index('<p class="lb-today">'):]
    today = today[: today.index("</p>")]
    assert "today Brookside is in" in today and "Newshire" in today
    assert text.index('<p class="lb-answer') < text.index('<p class="lb-today">') < text.index('aria-labelledby="where"')
    assert "Riverside North (E05999001): 60%" in where and "Riverside South (E05999002): 40%" in where
    assert "/leftbehind/sources/outlines" in Page(section(text, "sources")).hrefs()
    # A ward without an outline has its point only.
    assert 'data-outlines=""' in await html(today_datasette, "/leftbehind/wards/E05900002")


async def test_search_finds_wards_by_todays_council_and_ward_names(today_datasette):
    text = await html(today_datasette, "/find-my-ward?q=newshire")
    block = section(text, "council-E06000999")
    assert {h.rsplit("/", 1)[1] for h in Page(block).hrefs() if "/wards/" in h} == {"E05900001", "E05900002", "E05900003"}
    text = await html(today_datasette, "/find-my-ward?q=riverside+south")
    results = section(text, "results")
    assert "/leftbehind/wards/E05900001" in Page(results).hrefs()
    assert "overlaps today's ward Riverside South" in results


async def test_near_me_puts_the_ward_whose_outline_holds_the_point_first(today_datasette):
    latitude, longitude = 53.05, -0.91  # inside Brookside's outline; Hillcrest's point is nearer
    assert haversine_km(latitude, longitude, 53.05, -0.88) < haversine_km(latitude, longitude, 53.099, -0.999)
    text = await html(today_datasette, "/find-my-ward?" + urlencode({"lat": latitude, "lon": longitude}))
    near = section(text, "near")
    listed = [h.rsplit("/", 1)[1] for h, _ in Page(near).links if "/wards/" in h]
    assert listed[:2] == ["E05900001", "E05900002"]
    assert "Your location is inside its outline." in near


async def test_todays_council_page_lists_the_wards_now_in_it(today_datasette):
    text = await html(today_datasette, "/leftbehind/local_authorities_2024/E06000999")
    assert Page(text).h1.strip() == "Newshire"
    assert {"/leftbehind/local_authorities/E07000901", "/leftbehind/local_authorities/E07000902"} <= Page(text).hrefs()
    assert "/leftbehind/wards/E05900001" in Page(text).hrefs()


def test_facet_titles_and_year_facets_name_configured_facets(metadata):
    tables = metadata["databases"]["leftbehind"]["tables"]
    titled = 0
    for name, entry in tables.items():
        facets = {f["array"] if isinstance(f, dict) else f for f in entry.get("facets", [])}
        assert set(entry.get("facet_titles", {})) <= facets, name
        assert set(entry.get("year_facets", [])) <= facets, name
        if facets:
            assert set(entry.get("facet_titles", {})) == facets, f"{name}: every facet needs a title in words"
            titled += 1
    assert titled >= 10
