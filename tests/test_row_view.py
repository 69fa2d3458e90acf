"""leftbehind/site/pages/row_view.py: the people's row pages, served leaner, are Datasette's byte for byte."""

from __future__ import annotations

import re
import sqlite3

import pytest
from datasette.utils.asgi import Request
from datasette.views import table as datasette_table
from datasette.views.row import RowView

from leftbehind.site.pages.row_view import ROW_PAGES, PeopleRowView

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


async def answer(view_class, datasette, table: str, key: str, query: str = ""):
    """The view's answer to GET /leftbehind/TABLE/KEY, as Datasette's router would ask it."""
    path = f"/leftbehind/{table}/{key}"
    scope = {
        "type": "http", "http_version": "1.1", "method": "GET", "scheme": "http", "path": path,
        "raw_path": path.encode(), "query_string": query.encode(), "headers": [(b"host", b"localhost")],
        "csrftoken": lambda: "", "url_route": {"kwargs": {"database": "leftbehind", "table": table, "pks": key,
                                                          "format": None}},
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


@pytest.mark.parametrize(("table", "key", "query"), [
    ("wards", "E05999999", ""),  # no such ward: Datasette's "Record not found"
    ("wards", "E05001648", "anything=1"),  # a query string changes the page's own URLs
    ("regions", "E12000001", "_ttl=10"),  # and Datasette's cache header
])
async def test_other_requests_are_answered_as_datasette_answers_them(datasette, table, key, query):
    await datasette.invoke_startup()
    assert await answer(PeopleRowView, datasette, table, key, query) == await answer(RowView, datasette, table, key, query)


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
