"""leftbehind/site/pages/row_view.py: the people's row pages, served leaner, are Datasette's byte for byte."""

from __future__ import annotations

import contextlib
import re
import sqlite3

import pytest
from datasette import hookimpl
from datasette.database import QueryInterrupted
from datasette.plugins import pm
from datasette.utils.asgi import Request
from datasette.views import row as row_module
from datasette.views import table as datasette_table
from datasette.views.row import RowView
from datasette.views.table import _sql_params_pks

from leftbehind.site.pages.row_view import LEAN_PAGES, ROW_PAGES, PeopleRowView, table_columns
from leftbehind.site.pages.wards import ward_page

QUERY_TIME = re.compile(r"Queries took [\d.]+ms")


def sample(db_path) -> list[tuple[str, str]]:
    """(table, key) of pages to compare: every region and council (2017 and today's), every ward in
    either set, every 40th other ward, and every session, publication and person."""
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as connection:
        pages = [("regions", row[0]) for row in connection.execute("select region_code from regions")]
        pages += [("local_authorities", row[0]) for row in connection.execute("select lad_code from local_authorities")]
        pages += [("local_authorities_2024", row[0])
                  for row in connection.execute("select lad24_code from local_authorities_2024")]
        pages += [("wards", row[0]) for row in connection.execute(
            "select ward_code from wards where left_behind_change is not null or rowid % 40 = 0"
        )]
        for table in ("sessions", "publications", "people"):
            pages += [(table, row[0]) for row in connection.execute(f"select id from {table}")]
    return pages


async def answer(view_class, datasette, table: str, key: str, query: str = "", fmt: str | None = None):
    """The view's answer to GET /leftbehind/TABLE/KEY(.FMT), as Datasette's router would ask it."""
    path = f"/leftbehind/{table}/{key}" + (f".{fmt}" if fmt else "")
    scope = {
        "type": "http", "http_version": "1.1", "method": "GET", "scheme": "http", "path": path,
        "raw_path": path.encode(), "query_string": query.encode(), "headers": [(b"host", b"localhost")],
        "csrftoken": lambda: "", "url_route": {"kwargs": {"database": "leftbehind", "table": table, "pks": key,
                                                          "format": fmt}},
    }
    try:
        response = await view_class.as_view(datasette)(Request(scope, None), None)
    except Exception as error:  # Datasette's router turns these into its error pages
        return type(error).__name__, str(error)
    return response.status, sorted(response.headers.items()), QUERY_TIME.sub("Queries took Xms", response.body)


async def test_every_people_page_is_datasettes_own(datasette, db_path):
    await datasette.invoke_startup()
    pages = sample(db_path)
    assert {table for table, _ in pages} == set(ROW_PAGES)
    assert len(pages) > 900
    for table, key in pages:
        ours = await answer(PeopleRowView, datasette, table, key)
        assert ours[0] == 200, (table, key)
        assert ours == await answer(RowView, datasette, table, key), (table, key)


@pytest.mark.parametrize(("table", "key", "query", "fmt"), [
    ("wards", "E05999999", "", None),  # no such ward: Datasette's "Record not found"
    ("local_authorities", "E07999999", "", None),  # no such council
    ("regions", "E12999999", "", None),  # no such region
    ("local_authorities_2024", "E06999999", "", None),  # no such council of today
    ("wards", "E05001648,E05001649", "", None),  # two keys for a table of one: Datasette's answer
    ("wards", "E05001648", "anything=1", None),  # a query string changes the page's own URLs
    ("regions", "E12000001", "_ttl=10", None),  # and Datasette's cache header
    ("wards", "E05001648", "", "json"),  # the row's JSON is Datasette's
    ("local_authorities", "E08000009", "_shape=object", "json"),
])
async def test_other_requests_are_answered_as_datasette_answers_them(datasette, table, key, query, fmt):
    await datasette.invoke_startup()
    ours = await answer(PeopleRowView, datasette, table, key, query, fmt)
    if fmt == "json":  # the time the query took is in the JSON
        ours, theirs = (
            (status, headers, re.sub(r'"query_ms": [\d.e-]+', "", body))
            for status, headers, body in (ours, await answer(RowView, datasette, table, key, query, fmt))
        )
        assert ours == theirs
    else:
        assert ours == await answer(RowView, datasette, table, key, query, fmt)


async def test_without_the_database_the_route_is_datasettes_not_found(tmp_path):
    """An instance not serving leftbehind.db (the route is the plugin's all the same): Datasette's 404."""
    from datasette.app import Datasette

    sqlite3.connect(tmp_path / "other.db").close()
    other = Datasette([str(tmp_path / "other.db")])
    await other.invoke_startup()
    assert await answer(PeopleRowView, other, "wards", "E05001648") == ("NotFound", "Database not found")
    assert (await other.client.get("/leftbehind/wards/E05001648")).status_code == 404


async def test_a_row_as_csv_is_datasettes(datasette, data, monkeypatch):
    monkeypatch.setenv("LEFTBEHIND_RESPONSE_CACHE", "off")
    region = data.execute("select region_code, region_name from regions order by region_code limit 1").fetchone()
    response = await datasette.client.get(f"/leftbehind/regions/{region['region_code']}.csv")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    assert response.text.splitlines() == ["region_code,region_name", f"{region['region_code']},{region['region_name']}"]


async def test_a_forbidden_table_is_forbidden_as_datasette_forbids_it(datasette):
    """The leaner page asks the same permission first: a table no one may see is answered 403, not served."""
    await datasette.invoke_startup()

    class DenyWards:
        @hookimpl
        def permission_allowed(self, action, resource):
            if action == "view-table" and resource == ("leftbehind", "wards"):
                return False
            return None

    pm.register(DenyWards(), name="deny-wards")
    try:
        ours = await answer(PeopleRowView, datasette, "wards", "E05001648")
        assert ours == ("Forbidden", "You do not have permission to view this table")
        assert ours == await answer(RowView, datasette, "wards", "E05001648")
        assert (await answer(PeopleRowView, datasette, "regions", "E12000001"))[0] == 200
    finally:
        pm.unregister(name="deny-wards")


async def test_lean_pages_name_the_columns_and_keys_datasette_finds(datasette):
    """The columns and primary keys kept per table are those Datasette's own query of a row gives."""
    await datasette.invoke_startup()
    db = datasette.get_database("leftbehind")
    for table in LEAN_PAGES:
        columns, keys = await table_columns(datasette, table)
        sql, params, pks = await _sql_params_pks(db, table, ["x"])
        assert columns == [column[0] for column in (await db.execute(sql, params)).description], table
        assert keys == pks, table


async def test_a_lean_page_never_queries_its_row(datasette, monkeypatch):
    """A ward's, a council's and a region's page are found by their own data: Datasette's query of the
    row (and of the table's keys) is made only for a key that has no page, to answer it as Datasette does."""
    await datasette.invoke_startup()
    asked = []
    original = row_module._sql_params_pks

    async def noted(db, table, pk_values):
        asked.append((table, tuple(pk_values)))
        return await original(db, table, pk_values)

    monkeypatch.setattr(row_module, "_sql_params_pks", noted)
    for table, key in (("wards", "E05001648"), ("local_authorities", "E08000009"), ("regions", "E12000001")):
        assert (await answer(PeopleRowView, datasette, table, key))[0] == 200
    assert asked == []
    assert (await answer(PeopleRowView, datasette, "wards", "E05999999"))[0] == "NotFound"
    assert asked == [("wards", ("E05999999",))]


class Interrupting:
    """``sqlite_timelimit`` whose first ``times`` uses end their query as the time limit does."""

    def __init__(self, times: int) -> None:
        self.times = times

    @contextlib.contextmanager
    def __call__(self, connection, ms):
        yield
        if self.times > 0:
            self.times -= 1
            raise sqlite3.OperationalError("interrupted")


async def test_a_ward_page_interrupted_once_is_read_again(datasette, monkeypatch, caplog):
    """A ward page's queries, read in one trip, keep Datasette's time limit and the site's one retry."""
    await datasette.invoke_startup()
    expected = await ward_page(datasette, "E05001648")
    monkeypatch.setattr("datasette.database.sqlite_timelimit", Interrupting(1))
    assert await ward_page(datasette, "E05001648") == expected
    assert "tried once more" in caplog.text
    monkeypatch.setattr("datasette.database.sqlite_timelimit", Interrupting(2))
    with pytest.raises(QueryInterrupted):
        await ward_page(datasette, "E05001648")


async def test_the_site_serves_people_pages_without_the_record_table(datasette, monkeypatch):
    """Through the whole site, a ward's page is served by the leaner view: Datasette's layout of the
    record's columns (which the page does not show) is never computed; another table's row page is Datasette's."""
    laid_out = []
    display = datasette_table.display_columns_and_rows

    async def recorded(*args, **kwargs):
        laid_out.append(args[2])
        return await display(*args, **kwargs)

    monkeypatch.setattr("datasette.views.row.display_columns_and_rows", recorded)
    monkeypatch.setenv("LEFTBEHIND_RESPONSE_CACHE", "off")
    ward = await datasette.client.get("/leftbehind/wards/E05001648")
    assert ward.status_code == 200 and "is it a left-behind neighbourhood?" in ward.text
    assert laid_out == []
    source = await datasette.client.get("/leftbehind/sources/cni2020")
    assert source.status_code == 200 and laid_out == ["sources"]
