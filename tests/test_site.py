"""The site through Datasette's own test client, configured as the publishing profile."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections import Counter
from urllib.parse import quote

import pytest

from leftbehind.serve import STATIC


async def get_json(datasette, path: str) -> dict:
    response = await datasette.client.get(path)
    assert response.status_code == 200, (path, response.text[:500])
    return response.json()


async def test_home_page_explains_the_data(datasette):
    response = await datasette.client.get("/")
    assert response.status_code == 200
    assert "left behind" in response.text
    assert "Community Needs Index" in response.text
    assert "CC BY 4.0" in response.text


async def test_every_table_and_view_answers(datasette, db_path):
    import sqlite_utils

    db = sqlite_utils.Database(db_path)
    names = db.table_names() + db.view_names()
    for name in names:
        response = await datasette.client.get(f"/leftbehind/{name}")
        assert response.status_code == 200, name
    assert (await datasette.client.get("/leftbehind")).status_code == 200
    assert (await datasette.client.get("/about")).status_code == 200


async def test_publication_facets_match_the_catalogue(datasette, catalogue_yaml):
    data = await get_json(datasette, "/leftbehind/publications.json?_size=0")
    facets = data["facet_results"]["results"] if "results" in data["facet_results"] else data["facet_results"]
    publications = catalogue_yaml["publications"]
    organisation_names = {o["id"]: o["name"] for o in catalogue_yaml["organisations"]}

    def buckets(name):
        return {str(b["value"]): b["count"] for b in facets[name]["results"]}

    assert buckets("kind") == dict(Counter(p["kind"] for p in publications))
    years = Counter(str(p["published"])[:4] if p["published"] else "date unknown" for p in publications)
    assert buckets("year") == dict(years)
    topics = Counter(t for p in publications for t in set(p["topics"]))
    assert buckets("topics") == dict(topics)
    organisations = Counter(
        n for p in publications for n in {organisation_names[o["id"]] for o in p["organisations"]}
    )
    assert buckets("organisations") == dict(organisations)
    sections = Counter(s for p in publications for s in {x["section"] for x in p.get("sessions", [])})
    assert buckets("sections") == dict(sections)
    session_ids = Counter(s for p in publications for s in {x["session"] for x in p.get("sessions", [])})
    assert sum(buckets("sessions").values()) == sum(session_ids.values())
    assert len(buckets("sessions")) == len(session_ids)


async def test_search_finds_a_publication_by_a_word_of_its_description(datasette, catalogue_yaml):
    target = next(p for p in catalogue_yaml["publications"] if p["id"] == "building-a-social-stimulus")
    assert "15-point" in target["description"]
    data = await get_json(datasette, "/leftbehind/publications.json?_search=stimulus&_shape=objects")
    assert [row["id"] for row in data["rows"]] == ["building-a-social-stimulus"]
    data = await get_json(datasette, "/leftbehind/publications.json?_search=lockdown&_shape=objects")
    assert "building-a-social-stimulus" in {row["id"] for row in data["rows"]}


async def test_canned_search_query(datasette):
    data = await get_json(datasette, "/leftbehind/search_publications.json?q=mutual+aid&_shape=objects")
    assert [row["id"] for row in data["rows"]] == ["social-capital-and-the-response-to-covid-19"]
    # Search syntax characters are escaped, not an error.
    data = await get_json(datasette, '/leftbehind/search_publications.json?q=%22unbalanced&_shape=objects')
    assert data["rows"] == []


async def test_publication_exports_hold_every_row(datasette, catalogue_yaml):
    expected = {p["id"] for p in catalogue_yaml["publications"]}
    response = await datasette.client.get("/leftbehind/publications.csv?_size=max")
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert {row["id"] for row in rows} == expected
    data = await get_json(datasette, "/leftbehind/publications.json?_shape=array&_size=max")
    assert {row["id"] for row in data} == expected
    assert all(isinstance(json.loads(row["topics"]), list) for row in data)


async def test_row_pages_link_related_rows(datasette):
    response = await datasette.client.get("/leftbehind/publications/communities-at-risk")
    assert response.status_code == 200
    assert "publication_organisations" in response.text
    response = await datasette.client.get("/leftbehind/publication_organisations?publication_id=communities-at-risk")
    # Labels from label_column appear instead of bare ids.
    assert "Oxford Consultants for Social Inclusion (OCSI)" in response.text


async def test_ward_facets_and_default_sort(datasette):
    data = await get_json(datasette, "/leftbehind/wards.json?_shape=objects&_size=5")
    assert [row["cni_rank"] for row in data["rows"]] == [1, 2, 3, 4, 5]
    facets = data["facet_results"]["results"] if "results" in data["facet_results"] else data["facet_results"]
    assert {"region_name", "lad_name", "left_behind_2020", "left_behind_2019", "left_behind_change"} <= set(facets)
    buckets = {b["value"]: b["count"] for b in facets["left_behind_2020"]["results"]}
    assert buckets == {0: 7433 - 225, 1: 225}


@pytest.mark.parametrize("path", ["/leftbehind/wards", "/leftbehind/left_behind_neighbourhoods"])
async def test_map_script_is_on_the_page(datasette, path):
    # The site's own map (static/maps.js, with a key) replaces datasette-cluster-map's on
    # these two pages; the bundled Leaflet and marker clustering it loads must be served.
    response = await datasette.client.get(path)
    assert response.status_code == 200
    scripts = re.findall(r'<script type="module" src="(/assets/maps\.js\?v=[0-9a-f]{12})">', response.text)
    assert len(scripts) == 1 and (await datasette.client.get(scripts[0])).status_code == 200
    assert 'data-map="table"' in response.text
    assert "datasette-cluster-map.js" not in response.text
    for script in re.findall(r'data-(?:leaflet|cluster)-js="([^"]+)"', response.text):
        assert (await datasette.client.get(script)).status_code == 200, script


async def test_map_data_request_answers(datasette):
    # The request datasette-cluster-map 0.18 makes (static/datasette-cluster-map.js).
    qs = "_size=max&_labels=on&_extra=count&_extra=next_url&_shape=objects"
    data = await get_json(datasette, f"/leftbehind/left_behind_neighbourhoods.json?{qs}")
    assert len(data["rows"]) == 225
    assert all(-6.5 < r["longitude"] < 1.8 and 49.8 < r["latitude"] < 55.9 for r in data["rows"])
    assert all(json.loads(r["popup"])["link"].startswith("/leftbehind/wards/E05") for r in data["rows"])
    data = await get_json(datasette, f"/leftbehind/wards.json?{qs}")
    assert len(data["rows"]) == 1000
    assert data["next_url"]
    assert data.get("count", data.get("filtered_table_rows_count")) == 7433


async def test_canned_ward_queries(datasette):
    data = await get_json(datasette, "/leftbehind/ward_changes.json?_shape=objects&_size=max")
    changes = Counter(row["left_behind_change"] for row in data["rows"])
    assert changes == {"joined in 2020": 24, "left in 2020": 5}
    data = await get_json(datasette, "/leftbehind/region_summary.json?_shape=objects")
    assert sum(row["left_behind_2020"] for row in data["rows"]) == 225
    assert sum(row["left_behind_2019"] for row in data["rows"]) == 206
    assert sum(row["wards"] for row in data["rows"]) == 7433
    data = await get_json(datasette, "/leftbehind/find_ward.json?name=Norton+South&_shape=objects")
    found = [(r["ward_name"], r["lad_name"]) for r in data["rows"]]
    assert ("Norton South", "Halton") in found
    assert all("norton south" in name.lower() for name, _ in found)


async def test_the_225_as_csv(datasette):
    response = await datasette.client.get("/leftbehind/left_behind_neighbourhoods.csv?_stream=on&_size=max")
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 225
    assert len({row["ward_code"] for row in rows}) == 225


async def test_json_api_allows_cross_origin_use(datasette):
    response = await datasette.client.get("/leftbehind/wards.json?_size=1")
    assert response.headers.get("access-control-allow-origin") == "*"


async def test_site_stylesheet_is_served(datasette):
    page = await datasette.client.get("/leftbehind/wards")
    assert "/assets/site.css" in page.text
    css = await datasette.client.get("/assets/site.css")
    assert css.status_code == 200 and "column-descriptions" in css.text


@pytest.mark.parametrize("name", ["site.css", "maps.js", "find-my-ward.js"])
async def test_the_sites_own_assets_are_linked_by_their_hash_and_kept_a_year(datasette, name):
    pages = {"site.css": "/", "maps.js": "/leftbehind/wards", "find-my-ward.js": "/"}
    html = (await datasette.client.get(pages[name])).text
    (url,) = set(re.findall(rf'"(/assets/{re.escape(name)}\?v=[0-9a-f]+)"', html))
    digest = hashlib.sha256((STATIC / name).read_bytes()).hexdigest()
    assert url == f"/assets/{name}?v={digest[:12]}"
    current = await datasette.client.get(url)
    assert current.status_code == 200 and current.content == (STATIC / name).read_bytes()
    assert current.headers["cache-control"] == "public, max-age=31536000, immutable"
    for stale in (f"/assets/{name}?v=000000000000", f"/assets/{name}"):  # an old page's link, or none
        assert (await datasette.client.get(stale)).headers["cache-control"] == "max-age=3600", stale


async def test_datasettes_stylesheet_by_its_hash_is_kept_a_year(datasette):
    (url,) = re.findall(r'href="(/-/static/app\.css\?[0-9a-f]+)"', (await datasette.client.get("/")).text)
    assert (await datasette.client.get(url)).headers["cache-control"] == "public, max-age=31536000, immutable"
    assert (await datasette.client.get("/-/static/app.css?0")).headers["cache-control"] == "max-age=3600"


async def test_database_download_works_for_datasette_lite(datasette, db_path):
    response = await datasette.client.get("/leftbehind.db")
    assert response.status_code == 200
    assert response.headers.get("access-control-allow-origin") == "*"
    assert response.content == db_path.read_bytes()


@pytest.mark.parametrize("name", ["%", "_", "%%", "nort%", "Norton_South", "norton south"])
async def test_the_name_search_takes_every_character_literally(datasette, data, name):
    """% and _ are not wildcards: '%' found every ward (issue 25)."""
    expected = sorted(
        row[0] for row in data.execute("select ward_code, ward_name from wards")
        if name.strip().lower() in row[1].lower()
    ) if name.strip() else []
    found = await get_json(datasette, f"/leftbehind/find_ward.json?name={quote(name)}&_shape=objects")
    assert sorted(row["ward_code"] for row in found["rows"]) == expected
