"""A public, read-only server: slow SQL is cut off, writes are refused, bad parameters get 4xx, text is escaped."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
import yaml
from datasette.app import Datasette

import leftbehind.build
from leftbehind.build import ROOT, build
from conftest import profile_datasette
from leftbehind.serve import SETTINGS

SLOW_SQL = "with recursive c(x) as (select 1 union all select x + 1 from c) select count(*) from c"
WRITES = [
    "insert into topics values ('x', 'y', 'z')",
    "update topics set label = 'x'",
    "delete from topics",
    "drop table topics",
    "attach database '/tmp/evil.db' as evil",
    "pragma writable_schema = 1",
    "create table evil (x)",
    "vacuum",
]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


async def test_slow_sql_is_cut_off_at_the_time_limit(datasette):
    import time

    started = time.perf_counter()
    response = await datasette.client.get("/leftbehind.json", params={"sql": SLOW_SQL})
    elapsed = time.perf_counter() - started
    assert response.status_code == 400
    assert "SQL query took too long" in response.json()["error"]
    limit = int(SETTINGS["sql_time_limit_ms"]) / 1000
    assert elapsed < limit + 2.0, f"the slow query held the request for {elapsed:.1f}s"


async def test_cross_join_is_cut_off(datasette):
    sql = "select count(*) from wards a, wards b, wards c"
    response = await datasette.client.get("/leftbehind.json", params={"sql": sql})
    assert response.status_code == 400
    assert "took too long" in response.json()["error"]


@pytest.mark.parametrize("sql", WRITES)
async def test_writes_through_sql_are_refused(datasette, db_path, sql):
    before = digest(db_path)
    response = await datasette.client.get("/leftbehind.json", params={"sql": sql})
    assert 400 <= response.status_code < 500, response.text[:300]
    assert response.json()["ok"] is False
    assert digest(db_path) == before


@pytest.mark.parametrize(
    "path",
    ["/leftbehind/topics", "/leftbehind/search_publications", "/leftbehind", "/leftbehind/wards/E05001595", "/-/insert"],
)
@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
async def test_write_methods_are_refused(datasette, db_path, path, method):
    before = digest(db_path)
    response = await datasette.client.request(method, path, data={"q": "x", "sql": "drop table topics"})
    assert response.status_code == 405
    assert "read-only" in response.text
    assert digest(db_path) == before


@pytest.mark.parametrize(
    "path",
    [
        "/leftbehind/wards.json?_size=999999",
        "/leftbehind/wards?_facet=no_such_column",
        "/leftbehind/wards.json?_facet=no_such_column",
        "/leftbehind/wards?_facet_array=lad_name",
        "/leftbehind/publications?_search=%22",
        "/leftbehind/publications?_search=AND+OR+(&_searchmode=raw",
        "/leftbehind/publications.json?_search=%22%22%22*",
        "/leftbehind/wards?_sort=no_such_column",
        "/leftbehind/wards.json?_sort_desc=no_such_column",
        "/leftbehind/wards?_sort=cni_rank&_sort_desc=cni_rank",
        "/leftbehind/wards?_where=1%3D1)+union+select",
        "/leftbehind/wards.json?_shape=nonsense",
        "/leftbehind/wards?_col=no_such_column",
        "/leftbehind/wards?_through=%7B%22table%22%3A%22x%22%7D",
        "/leftbehind/search_publications?q=",
        "/leftbehind/search_publications.json?q=%22",
        "/leftbehind/wards?cni_rank__gt=abc",
        "/leftbehind/wards/NO_SUCH_WARD",
        "/leftbehind/wards?ward_name=" + "x" * 8000,
    ],
)
async def test_malformed_parameters_never_give_a_server_error(datasette, path):
    response = await datasette.client.get(path)
    assert response.status_code < 500, (path, response.status_code, response.text[:300])


async def test_empty_search_finds_nothing_without_error(datasette):
    response = await datasette.client.get("/leftbehind/search_publications.json?q=&_shape=objects")
    assert response.status_code == 200
    assert response.json()["rows"] == []


HOSTILE = '<script>alert("x")</script><b>bold</b>'


@pytest.fixture(scope="module")
def hostile_db(tmp_path_factory, source_data) -> Path:
    """A database whose catalogue text holds HTML and a script."""
    folder = tmp_path_factory.mktemp("hostile")
    data = folder / "data"
    shutil.copytree(ROOT / "data", data)
    publications = yaml.safe_load((data / "publications.yml").read_text(encoding="utf-8"))
    publications[0]["title"] = f"Hostile {HOSTILE}"
    publications[0]["description"] = f"Zebra description {HOSTILE}"
    (data / "publications.yml").write_text(yaml.safe_dump(publications, allow_unicode=True, sort_keys=False), encoding="utf-8")
    organisations = yaml.safe_load((data / "organisations.yml").read_text(encoding="utf-8"))
    organisations[0]["name"] = f"Org {HOSTILE}"
    (data / "organisations.yml").write_text(yaml.safe_dump(organisations, allow_unicode=True, sort_keys=False), encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(leftbehind.build, "read_sources", lambda *args: source_data)
        return build(folder / "leftbehind.db", data)


@pytest.fixture(scope="module")
def hostile_site(hostile_db, metadata) -> Datasette:
    return profile_datasette(hostile_db, metadata)


async def test_catalogue_html_is_escaped_on_every_page(hostile_site, hostile_db):
    import sqlite3

    with sqlite3.connect(hostile_db) as conn:
        publication_id = conn.execute("select id from publications where title like 'Hostile%'").fetchone()[0]
        organisation_id = conn.execute("select id from organisations where name like 'Org%'").fetchone()[0]
    pages = [
        "/leftbehind/publications",
        f"/leftbehind/publications/{publication_id}",
        "/leftbehind/publications?_search=zebra",
        "/leftbehind/search_publications?q=zebra",
        f"/leftbehind/organisations/{organisation_id}",
        f"/leftbehind/publication_organisations?organisation_id={organisation_id}",
        "/leftbehind/publications?_facet_array=organisations",
    ]
    for page in pages:
        response = await hostile_site.client.get(page)
        assert response.status_code == 200, page
        assert '<script>alert("x")' not in response.text, page
        assert "<b>bold</b>" not in response.text, page
        assert "&lt;script&gt;" in response.text, page
