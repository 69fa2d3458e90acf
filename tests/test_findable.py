"""Issue 15: findable. robots.txt, sitemap.xml, the schema.org JSON-LD, the data package and the Atom feed.

All through a real server started with the publishing profile and a configured public
origin (``ORIGIN``) that is not the address it listens on: every absolute URL must name
the origin, never the host a request was sent to, and must answer 200 there.
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import functools
import io
import json
import re
import sqlite3
import urllib.robotparser
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit

import frictionless
import httpx
import pytest
import yaml

from datasette.utils import tilde_encode

from leftbehind.build import ROOT
from leftbehind.site import feeds
from support.live import profile_server

pytestmark = pytest.mark.long  # among the slowest files: scheduled first (tests/conftest.py)

ORIGIN = "https://data.example.org"
SITEMAPS = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
ATOM = "{http://www.w3.org/2005/Atom}"
FEED = "/leftbehind/publications_feed.atom"
METADATA = yaml.safe_load((ROOT / "metadata.yml").read_text(encoding="utf-8"))
DATASET = METADATA["plugins"]["leftbehind-dataset"]
# The row pages the sitemap lists, by table: wards, councils (2017 and today's), regions,
# publications and sessions.
ROW_KINDS = ("wards", "local_authorities", "local_authorities_2024", "regions", "publications", "sessions")
# Pages for people: the robots rules must let crawlers read them.
HUMAN_PAGES = [
    "/",
    "/about",
    "/find-my-ward",
    "/-/dashboards/left-behind",
    "/leftbehind",
    "/leftbehind/wards",
    "/leftbehind/left_behind_neighbourhoods",
    "/leftbehind/wards/E05001595",
    "/leftbehind/local_authorities/E07000026",
    "/leftbehind/local_authorities_2024/E06000063",
    "/leftbehind/regions/E12000002",
    "/leftbehind/publications/communities-at-risk",
    "/leftbehind/sessions/evidence-session-1",
    "/leftbehind/ward_changes",
]
# What a page needs to be rendered by a crawler: its styles and scripts.
PAGE_RESOURCES = [
    "/-/static/app.css?d59929",
    "/assets/site.css?v=0123456789ab",
    "/assets/maps.js?v=0123456789ab",
    "/-/static-plugins/datasette-leaflet/leaflet-v1.7.1.min.js",
    "/-/static-plugins/datasette-dashboards/vega.min.js",
]
# Expensive or endless URLs: crawlers must stay off them.
EXPENSIVE = [
    "/leftbehind?sql=select+*+from+wards",
    "/leftbehind/wards?_facet=region_name&_facet=lad_name",
    "/leftbehind/wards?region_name=North+East&_facet=lad_name",
    "/leftbehind/wards?_sort=cni_rank",
    "/leftbehind/wards?_sort_desc=population",
    "/leftbehind/wards?_next=100",
    "/leftbehind/publications?_search=covid",
    "/leftbehind/search_publications?q=health",
    "/leftbehind/wards.csv",
    "/leftbehind/wards.csv?_stream=on",
    "/leftbehind/wards.json",
    "/leftbehind/wards/E05001595.json",
    "/leftbehind/datapackage.json",
    "/leftbehind/publications_feed.atom",
    "/find-my-ward?q=park",
    "/find-my-ward?lat=54.6&lon=-3.5",
    "/find-my-ward.json?q=park",
    "/leftbehind.db",
    "/-/versions.json",
    "/-/dashboards",
    "/-/dashboards/left-behind?region=North+East",
]
# Of those, the only ones a parser that knows no wildcards (Python's robotparser) cannot
# decide: a row's own JSON (one row: cheap and finite) and the dashboard with a query string
# (it takes none: the same page).
ONLY_BY_WILDCARD = [
    "/leftbehind/wards/E05001595.json",
    "/-/dashboards/left-behind?region=North+East",
]


@pytest.fixture(scope="module")
def server(db_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with profile_server(db_path, tmp_path_factory.mktemp("findable"), origin=ORIGIN) as base:
        yield base


@pytest.fixture(scope="module")
def client(server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server, timeout=60) as client:
        yield client


def local(url: str) -> str:
    """An absolute URL on the origin as the path to ask the local server for; fails for any other URL."""
    assert url.startswith(ORIGIN + "/"), f"{url} is not on the configured origin {ORIGIN}"
    return url[len(ORIGIN):]


def database_rows(db_path: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as connection:
        return connection.execute(sql).fetchall()


# --- robots.txt --------------------------------------------------------------------


@functools.lru_cache(maxsize=4)
def google_rules(robots: str) -> tuple[tuple[re.Pattern, int, bool], ...]:
    """The ``User-agent: *`` rules of ``robots`` as (regex, length, allow), compiled once
    (the sitemap's 8,000 URLs are each checked against all of them)."""
    rules = []
    for line in robots.splitlines():
        field, _, value = line.partition(":")
        pattern = value.strip()
        if field.strip().lower() in ("allow", "disallow") and pattern:
            anchored = pattern.endswith("$")
            regex = "".join(".*" if c == "*" else re.escape(c) for c in pattern.rstrip("$")) + ("$" if anchored else "")
            rules.append((re.compile(regex), len(pattern), field.strip().lower() == "allow"))
    return tuple(rules)


def google_allows(robots: str, path: str) -> bool:
    """Whether Google's crawler may fetch ``path``, by the rules Google documents for robots.txt.

    The group for ``User-agent: *``; ``*`` matches any characters and a final ``$`` the
    end; the longest matching rule wins, Allow over Disallow on a tie; no match allows.
    """
    best: tuple[int, bool] | None = None
    for regex, length, allow in google_rules(robots):
        if regex.match(path):
            candidate = (length, allow)
            if best is None or candidate[0] > best[0] or (candidate[0] == best[0] and allow):
                best = candidate
    return best is None or best[1]


@pytest.fixture(scope="module")
def robots(client: httpx.Client) -> str:
    response = client.get("/robots.txt")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


@pytest.fixture(scope="module")
def robot_parser(robots: str) -> urllib.robotparser.RobotFileParser:
    parser = urllib.robotparser.RobotFileParser()
    parser.parse(robots.splitlines())
    return parser


def test_robots_lets_crawlers_read_the_pages_for_people_both_ways(robots, robot_parser):
    for path in HUMAN_PAGES + PAGE_RESOURCES:
        assert google_allows(robots, path), f"Google's rules keep crawlers off {path}"
        assert robot_parser.can_fetch("*", ORIGIN + path), f"robotparser keeps crawlers off {path}"


def every_tables_exports_and_query_strings(db_path: Path, metadata: dict) -> list[str]:
    """For every table and view: its JSON and CSV, a sort, and a filter by each of its columns;
    for every canned query: its exports and each of its parameters."""
    paths = []
    for (table,) in database_rows(db_path, "select name from sqlite_master where type in ('table', 'view')"):
        base = f"/leftbehind/{quote(table)}"
        paths += [f"{base}.json", f"{base}.csv?_stream=on", f"{base}?_sort=rowid", f"{base}?_next=100"]
        paths += [f"{base}?{column}__exact=x" for (column,) in database_rows(
            db_path, f"select name from pragma_table_info('{table}')")]
    for name, query in metadata["databases"]["leftbehind"]["queries"].items():
        paths += [f"/leftbehind/{name}.json", f"/leftbehind/{name}.csv", f"/leftbehind/{name}?_shape=array"]
        sql = re.sub(r"'[^']*'", "''", query["sql"])  # a :name inside a string is no parameter
        paths += [f"/leftbehind/{name}?{parameter}=x" for parameter in re.findall(r"(?<![\w:]):([A-Za-z_]\w*)", sql)]
    return paths


def test_robots_keeps_crawlers_off_expensive_urls(robots, robot_parser, db_path, metadata):
    expensive = EXPENSIVE + every_tables_exports_and_query_strings(db_path, metadata)
    allowed = [path for path in expensive if google_allows(robots, path)]
    assert allowed == [], f"Google's rules let crawlers read {allowed}"
    # robotparser knows no wildcards (it would read /*? as a literal path), as some crawlers do
    # not: every table's and query's exports and query strings are kept off it by prefix.
    allowed = [path for path in expensive if robot_parser.can_fetch("*", ORIGIN + path)]
    assert allowed == ONLY_BY_WILDCARD, f"robotparser lets crawlers read {allowed}"


def test_robots_names_the_sitemap_on_the_origin(robot_parser):
    assert robot_parser.site_maps() == [f"{ORIGIN}/sitemap.xml"]


# --- sitemap.xml -------------------------------------------------------------------


@pytest.fixture(scope="module")
def sitemap(client: httpx.Client) -> list[str]:
    response = client.get("/sitemap.xml")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xml")
    root = ET.fromstring(response.content)
    assert root.tag == f"{SITEMAPS}urlset"
    assert all(child.tag == f"{SITEMAPS}url" for child in root)
    urls = [child.findtext(f"{SITEMAPS}loc") for child in root]
    assert all(url for url in urls)
    for child in root:
        lastmod = child.findtext(f"{SITEMAPS}lastmod")
        assert lastmod is None or dt.date.fromisoformat(lastmod)
    return urls


def test_sitemap_urls_are_absolute_on_the_origin_and_unique(sitemap):
    assert len(sitemap) == len(set(sitemap)) < 50_000
    for url in sitemap:
        local(url)
    assert f"{ORIGIN}/" in sitemap and f"{ORIGIN}/about" in sitemap and f"{ORIGIN}/-/dashboards/left-behind" in sitemap
    assert f"{ORIGIN}/find-my-ward" in sitemap


def test_sitemap_lists_every_row_page_of_each_kind_and_every_tables_first_page(sitemap, db_path):
    paths = [local(url) for url in sitemap]
    for table in ROW_KINDS:
        rows = database_rows(db_path, f"select count(*) from [{table}]")[0][0]
        listed = [p for p in paths if p.startswith(f"/leftbehind/{table}/") and p.count("/") == 3]
        assert len(listed) == rows > 0, table
    tables = {name for (name,) in database_rows(
        db_path, "select name from sqlite_master where type in ('table', 'view') and name not like '%_fts%'"
    )}
    first_pages = {p.split("/")[2] for p in paths if p.count("/") == 2 and p.startswith("/leftbehind/")}
    assert tables <= first_pages
    assert not any("?" in p or p.endswith((".json", ".csv", ".db")) for p in paths)


def test_every_sitemap_url_is_one_robots_allows(sitemap, robots, robot_parser):
    for url in sitemap:
        assert google_allows(robots, local(url)) and robot_parser.can_fetch("*", url), url


def test_every_row_url_names_a_row_and_every_row_has_one(sitemap, db_path):
    paths = {local(url) for url in sitemap}
    for table in ROW_KINDS:
        keys = [c[1] for c in sorted(database_rows(db_path, f"pragma table_info([{table}])"), key=lambda c: c[5]) if c[5]]
        assert len(keys) == 1, table  # each kind is named by one key column (no tilde-encoding of commas here)
        expected = {f"/leftbehind/{table}/{tilde_encode(str(value))}"
                    for (value,) in database_rows(db_path, f"select [{keys[0]}] from [{table}]")}
        listed = {p for p in paths if p.startswith(f"/leftbehind/{table}/")}
        assert listed == expected, table


ROWS_FETCHED_PER_KIND = 25


async def test_sitemap_urls_answer_200(server, sitemap):
    """Every page that is not a row's, and of each row kind the first, the last and others spread
    evenly between (25 in all): rendering all 8,000 pages takes minutes on this machine, and the
    test above shows that each row URL names a row that exists."""
    paths = [local(url) for url in sitemap]
    fetched = [p for p in paths if not any(p.startswith(f"/leftbehind/{kind}/") for kind in ROW_KINDS)]
    for kind in ROW_KINDS:
        rows = [p for p in paths if p.startswith(f"/leftbehind/{kind}/")]
        step = max(1, (len(rows) - 1) // (ROWS_FETCHED_PER_KIND - 1))
        fetched += rows[::step] + rows[-1:]
    failures: list[tuple[str, int]] = []
    async with httpx.AsyncClient(base_url=server, timeout=60, limits=httpx.Limits(max_connections=4)) as client:

        async def check(path: str) -> None:
            response = await client.get(path)
            if response.status_code != 200:
                failures.append((path, response.status_code))

        await asyncio.gather(*(check(path) for path in fetched))
    assert failures == []
    assert len(fetched) > 150


# --- the schema.org Dataset (JSON-LD) ---------------------------------------------------


def json_ld(html: str) -> list[dict]:
    blocks = re.findall(r'<script type="application/ld\+json">(.*?)</script>', html, re.DOTALL)
    return [json.loads(block) for block in blocks]


@pytest.fixture(scope="module")
def dataset(client: httpx.Client) -> dict:
    home = json_ld(client.get("/").text)
    about = json_ld(client.get("/about").text)
    assert len(home) == 1 and home == about
    return home[0]


def all_urls(value) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key in ("url", "contentUrl") and isinstance(item, str):
                yield item
            else:
                yield from all_urls(item)
    elif isinstance(value, list):
        for item in value:
            yield from all_urls(item)


def test_dataset_has_what_dataset_search_needs(dataset, metadata):
    assert dataset["@context"] == "https://schema.org" and dataset["@type"] == "Dataset"
    assert dataset["name"] == metadata["title"]
    assert 50 <= len(dataset["description"]) <= 5000 and "<" not in dataset["description"]
    assert dataset["url"] == f"{ORIGIN}/"
    assert dataset["creator"]["@type"] == "Organization" and dataset["creator"]["name"] == DATASET["creator"]["name"]
    assert dataset["temporalCoverage"] == DATASET["temporal_coverage"]
    start, end = dataset["temporalCoverage"].split("/")
    assert re.fullmatch(r"\d{4}-\d{2}", start) and re.fullmatch(r"\d{4}-\d{2}", end) and start < end
    assert dataset["spatialCoverage"] == {"@type": "Place", "name": DATASET["spatial_coverage"]}
    assert dataset["isAccessibleForFree"] is True


def test_dataset_has_a_licence_and_keywords_at_the_top(client, dataset, metadata):
    """What Google's Dataset Search asks of the whole: a licence and keywords. No one licence
    covers the whole, so the licence is About's section that says which covers which part."""
    licence = dataset["license"]
    assert licence == {"@type": "CreativeWork", "name": metadata["license"], "url": f"{ORIGIN}/about#licences"}
    about = client.get(local(licence["url"]).split("#")[0])
    section = re.search(r'<h2 id="licences">(.*?)</h2>(.*?)<h2', about.text, re.DOTALL)
    assert section, "About has no section the licence points to"
    words = " ".join(re.sub(r"<[^>]+>", "", section.group(2)).split())
    assert "CC BY 4.0" in words and "Open Government Licence" in words and "No open licence is stated" in words
    assert dataset["keywords"] == DATASET["keywords"]
    assert len(dataset["keywords"]) >= 5 and all(isinstance(k, str) and k.strip() for k in dataset["keywords"])


def test_dataset_states_the_licence_of_each_part(dataset, db_path, metadata):
    parts = dataset["hasPart"]
    catalogue = [p for p in parts if p["name"] == DATASET["catalogue"]["name"]]
    assert len(catalogue) == 1 and catalogue[0]["license"] == "https://creativecommons.org/licenses/by/4.0/"
    sources = database_rows(db_path, "select title, url, licence, licence_url from sources")
    by_name = {p["name"]: p for p in parts}
    assert len(parts) == len(sources) + 1
    ogl = "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/"
    for title, url, licence, licence_url in sources:
        part = by_name[title]
        assert part["url"] == url and part["conditionsOfAccess"] == licence
        assert part.get("license") == licence_url
        if licence_url is None:  # the Community Needs Index: no open licence is stated
            assert licence.startswith("No open licence stated")
    cni = [p for p in parts if p["name"].startswith("Community Needs Index")]
    # The CNI 2019 (two files, one per set) and the CNI 2023.
    assert len(cni) == 3 and all("license" not in p and "No open licence" in p["conditionsOfAccess"] for p in cni)
    assert any(p.get("license") == ogl for p in parts)  # the ONS data


def test_dataset_distributions_are_the_database_and_the_main_tables_as_csv(client, dataset, db_path):
    downloads = {d["encodingFormat"]: [] for d in dataset["distribution"]}
    for download in dataset["distribution"]:
        assert download["@type"] == "DataDownload"
        downloads[download["encodingFormat"]].append(download)
    (database,) = downloads["application/vnd.sqlite3"]
    assert database["contentUrl"] == f"{ORIGIN}/leftbehind.db"
    response = client.get(local(database["contentUrl"]))
    assert response.status_code == 200 and response.content == db_path.read_bytes()
    tables = [re.fullmatch(rf"{re.escape(ORIGIN)}/leftbehind/(\w+)\.csv\?_stream=on", d["contentUrl"]).group(1)
              for d in downloads["text/csv"]]
    assert tables == DATASET["csv_downloads"]
    for table, download in zip(tables, downloads["text/csv"]):
        response = client.get(local(download["contentUrl"]))
        assert response.status_code == 200
        rows = list(csv.reader(io.StringIO(response.text)))
        assert len(rows) - 1 == database_rows(db_path, f"select count(*) from [{table}]")[0][0], table


def test_every_url_in_the_dataset_is_absolute_and_ours_answer_200(client, dataset):
    urls = list(all_urls(dataset))
    assert len(urls) > 20
    for url in urls:
        parts = urlsplit(url)
        assert parts.scheme in ("http", "https") and parts.netloc, url
        if url.startswith(ORIGIN):
            if not url.endswith((".db", "_stream=on")):  # fetched in the test above
                assert client.get(local(url)).status_code == 200, url
        else:
            assert urlsplit(ORIGIN).netloc not in url and "127.0.0.1" not in url, url


# --- the Frictionless data package --------------------------------------------------------


@pytest.fixture(scope="module")
def package(client: httpx.Client) -> dict:
    response = client.get("/leftbehind/datapackage.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    return response.json()


def test_the_data_package_descriptor_is_valid(package):
    report = frictionless.Package.validate_descriptor(package)
    assert report.valid, report.flatten(["type", "note"])
    assert package["profile"] == "tabular-data-package"


def test_the_data_package_describes_every_downloadable_table_from_the_database(package, db_path):
    tables = [name for (name,) in database_rows(
        db_path, "select name from sqlite_master where type in ('table', 'view') and name not like '%_fts%'"
    )]
    resources = {r["name"]: r for r in package["resources"]}
    assert set(resources) == set(tables)
    for table in tables:
        resource = resources[table]
        assert resource["path"] == f"{ORIGIN}/leftbehind/{table}.csv?_stream=on"
        assert resource["licenses"] and all(licence.get("path") or licence.get("title") for licence in resource["licenses"])
        columns = database_rows(db_path, f"pragma table_info([{table}])")
        fields = resource["schema"]["fields"]
        assert [f["name"] for f in fields] == [c[1] for c in columns]
        assert all(f.get("description") for f in fields), table  # every column is described in metadata.yml
        primary_key = [c[1] for c in sorted(columns, key=lambda c: c[5]) if c[5]]
        assert resource["schema"].get("primaryKey", []) == primary_key
        keys = database_rows(db_path, f"pragma foreign_key_list([{table}])")
        described = {(tuple(k["fields"]), k["reference"]["resource"], tuple(k["reference"]["fields"]))
                     for k in resource["schema"].get("foreignKeys", [])}
        assert described == {((k[3],), k[2], (k[4],)) for k in keys}, table
    assert {s["path"] for s in package["sources"]} == {url for (url,) in database_rows(db_path, "select url from sources")}
    assert package["homepage"] == f"{ORIGIN}/"


def test_every_table_data_matches_its_schema(client, package, tmp_path):
    """Every CSV download, as served, read against the package's schemas: types, keys and foreign keys."""
    descriptor = json.loads(json.dumps(package))
    for resource in descriptor["resources"]:
        response = client.get(local(resource["path"]))
        assert response.status_code == 200
        (tmp_path / f"{resource['name']}.csv").write_bytes(response.content)
        resource["path"] = f"{resource['name']}.csv"
    report = frictionless.Package(descriptor, basepath=str(tmp_path)).validate()
    assert report.stats["tasks"] == len(descriptor["resources"])
    assert report.valid, report.flatten(["resourceName", "rowNumber", "fieldName", "type", "note"])[:20]


# --- the Atom feed (RFC 4287) ----------------------------------------------------------


@pytest.fixture(scope="module")
def feed(client: httpx.Client) -> httpx.Response:
    response = client.get(FEED)
    assert response.status_code == 200
    return response


def rfc3339(value: str) -> dt.datetime:
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})", value), value
    return dt.datetime.fromisoformat(value)


def has_author(element: ET.Element) -> bool:
    return any(author.findtext(f"{ATOM}name") for author in element.findall(f"{ATOM}author"))


def test_the_feed_is_served_as_atom(feed):
    assert feed.headers["content-type"].split(";")[0] == "application/atom+xml"


def test_the_feed_has_what_rfc_4287_requires(feed, metadata):
    root = ET.fromstring(feed.content)
    assert root.tag == f"{ATOM}feed"
    feed_id = root.findtext(f"{ATOM}id")
    assert feed_id == metadata["databases"]["leftbehind"]["queries"]["publications_feed"]["atom_id"]
    assert re.fullmatch(r"tag:[a-z0-9.-]+,\d{4}(-\d{2}(-\d{2})?)?:\S+", feed_id)  # RFC 4151
    assert root.findtext(f"{ATOM}title")
    updated = rfc3339(root.findtext(f"{ATOM}updated"))
    self_links = [link for link in root.findall(f"{ATOM}link") if link.get("rel") == "self"]
    assert [link.get("href") for link in self_links] == [ORIGIN + FEED]
    entries = root.findall(f"{ATOM}entry")
    assert entries
    assert has_author(root) or all(has_author(entry) for entry in entries)
    ids = [entry.findtext(f"{ATOM}id") for entry in entries]
    assert len(ids) == len(set(ids)) and all(ids)
    for entry in entries:
        assert entry.findtext(f"{ATOM}title")
        assert rfc3339(entry.findtext(f"{ATOM}updated")) <= updated
        links = entry.findall(f"{ATOM}link")
        assert links or entry.find(f"{ATOM}content") is not None
        for link in links + root.findall(f"{ATOM}link"):
            parts = urlsplit(link.get("href"))
            assert parts.scheme in ("http", "https") and parts.netloc, link.get("href")  # absolute: no xml:base needed
            assert "127.0.0.1" not in parts.netloc


def test_the_feeds_own_links_answer(client, feed):
    root = ET.fromstring(feed.content)
    ours = [link.get("href") for link in root.iter(f"{ATOM}link") if link.get("href").startswith(ORIGIN)]
    assert any("/leftbehind/publications/" in url for url in ours)  # entries without their own page link here
    for url in ours:
        assert client.get(local(url)).status_code == 200, url


def test_the_feed_id_does_not_depend_on_the_host_asked(client, feed):
    again = client.get(FEED, headers={"host": urlsplit(ORIGIN).netloc})
    assert again.status_code == 200
    ids = [ET.fromstring(r.content).findtext(f"{ATOM}id") for r in (feed, again)]
    assert ids[0] == ids[1]
    assert again.content == feed.content


def test_feed_entries_name_their_authors_where_known(feed, db_path):
    authors = {}
    for publication, name, role in database_rows(db_path, """
        select publication_id, organisations.name, role from publication_organisations
        join organisations on organisations.id = organisation_id where role in ('author', 'publisher')
    """):
        authors.setdefault(publication, {}).setdefault(role, set()).add(name)
    root = ET.fromstring(feed.content)
    checked = 0
    for entry in root.findall(f"{ATOM}entry"):
        publication = entry.findtext(f"{ATOM}id").rsplit("/", 1)[1]
        roles = authors.get(publication, {})
        expected = roles.get("author") or roles.get("publisher") or set()
        named = {author.findtext(f"{ATOM}name") for author in entry.findall(f"{ATOM}author")}
        assert named == expected, publication
        checked += bool(expected)
    assert checked > 0


@pytest.mark.parametrize("path", ["/", "/leftbehind/publications", "/leftbehind/publications_feed"])
def test_pages_link_to_the_feed_for_autodiscovery(client, path):
    html = client.get(path).text
    links = re.findall(r'<link rel="alternate" type="application/atom\+xml"[^>]*href="([^"]+)"', html)
    assert links == [ORIGIN + FEED]


def test_the_site_refuses_to_start_beside_another_atom_renderer():
    """An old .venv keeps datasette-atom after pip install -e; it must not serve the feed instead."""
    from leftbehind.site import feeds as atom_feed

    class Site:
        renderers = {"atom": (lambda *args: None, lambda columns: True)}

    with pytest.raises(RuntimeError, match="pip uninstall datasette-atom"):
        atom_feed.startup(Site())
    Site.renderers = {"atom": (atom_feed.render_atom, atom_feed.can_render_atom)}
    atom_feed.startup(Site())  # its own renderer: starts


def elementtree_writes(xml: bytes) -> bytes:
    """What ElementTree writes for the elements ``xml`` holds (Atom as the default namespace)."""
    ET.register_namespace("", "http://www.w3.org/2005/Atom")
    return ET.tostring(ET.fromstring(xml), encoding="utf-8", xml_declaration=True)


async def test_the_feed_is_written_exactly_as_elementtree_writes_it(datasette):
    """leftbehind/site/feeds.py writes the XML itself (ElementTree's writer took most of a feed's time):
    byte for byte what ElementTree writes, for the served feed and for text and attributes that need escaping."""
    served = (await datasette.client.get("/leftbehind/publications_feed.atom?_size=max")).content
    assert served.count(b"<entry>") > 50
    awkward = feeds.parent("feed", [feeds.parent("entry", [
        feeds.element("title", 'A & B <c> "d" \'e\'\n\tf'),  # (a parser reads a CR in text as a LF)
        feeds.element("link", rel="alternate", href='https://x.example/?a=1&b=<2>"3"\n\t\r', type=None),
        feeds.element("content", "", type="text"),  # an empty text: a short empty element, as ElementTree writes it
        feeds.person({"name": "Ünïcödé – ‘quoted’", "uri": "/people/1"}, "https://x.example/feed"),
        feeds.parent("entry", []),
    ])], namespace="http://www.w3.org/2005/Atom")
    for xml in (served, (feeds.XML_DECLARATION + awkward).encode("utf-8")):
        assert xml == elementtree_writes(xml)


async def test_a_visitors_feed_with_awkward_values_is_written_as_elementtree_writes_it(datasette):
    """A feed of a visitor's own query, whose links, contents and authors need escaping or lose
    characters XML cannot hold (the entries' parts that render_atom writes directly, and the
    authors it keeps once written): what ElementTree writes, the second time as the first."""
    sql = """select 'id-' || value as atom_id, 'Title & <' || value || '>' as atom_title,
      '2024-01-0' || value as atom_updated,
      case value when 1 then 'https://x.example/?a=1&b="2"' || char(9) when 2 then '/people/<3>'
        else 'javascript:alert(1)' end as atom_link,
      case value when 1 then 'Tab' || char(9) || 'and' || char(1) || ' control' when 2 then char(2) else '' end
        as atom_content,
      case value when 1 then '[{"name": "Ünïcödé & co", "uri": "/orgs/\\"1\\""}]' when 2 then '[{"name": 3}, "x", {}]'
        else 'not json' end as atom_authors
    from json_each('[1, 2, 3]')"""
    path = "/leftbehind.atom?" + urlencode({"sql": sql})
    first, second = (await datasette.client.get(path)), (await datasette.client.get(path))
    assert first.status_code == 200, first.text
    assert first.content == second.content
    assert first.content == elementtree_writes(first.content)
    feed = ET.fromstring(first.content)
    entries = feed.findall(f"{ATOM}entry")
    # The second's content holds nothing XML can: an empty element, as ElementTree writes it.
    assert [entry.findtext(f"{ATOM}content") for entry in entries] == ["Tab\tand control", "", None]
    assert [len(entry.findall(f"{ATOM}link")) for entry in entries] == [1, 1, 0]  # no javascript: link
    assert [author.findtext(f"{ATOM}name") for author in entries[0].findall(f"{ATOM}author")] == ["Ünïcödé & co"]
    assert [author.findtext(f"{ATOM}name") for author in entries[1].findall(f"{ATOM}author")] == ["3"]
