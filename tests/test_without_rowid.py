"""Tables stored without rowid (to keep leftbehind.db under 15 MB) serve as a rowid table does:
the page with _size=max, the next page, a sort and the CSV stream, checked against the
database itself, for every such table of the main database."""

from __future__ import annotations

import csv
import io
import sqlite3

import pytest

from leftbehind.tables import TABLES

WITHOUT_ROWID = [table for table in TABLES if table.without_rowid]


@pytest.fixture(scope="module")
def conn(db_path) -> sqlite3.Connection:
    return sqlite3.connect(db_path)


def test_the_tables_declared_without_rowid_are_stored_so(conn):
    assert {table.name for table in WITHOUT_ROWID} >= {"similar_ward_lists", "neighbourhood_wards"}
    for table in WITHOUT_ROWID:
        sql = conn.execute("select sql from sqlite_master where name = ?", (table.name,)).fetchone()[0]
        assert sql.rstrip().upper().endswith("WITHOUT ROWID"), table.name


async def get(datasette, path: str):
    response = await datasette.client.get(path)
    assert response.status_code == 200, (path, response.text[:300])
    return response


@pytest.mark.parametrize("table", WITHOUT_ROWID, ids=[table.name for table in WITHOUT_ROWID])
async def test_pages_next_pages_sorts_and_csv_of_a_table_without_rowid(datasette, conn, table):
    name, key = table.name, list(table.primary_key)
    total = conn.execute(f"select count(*) from [{name}]").fetchone()[0]
    in_key_order = [list(row) for row in conn.execute(f"select * from [{name}] order by {', '.join(key)}")]
    await get(datasette, f"/leftbehind/{name}?_size=max")  # the HTML page, as its CSV link asks for it
    # Every row once, in key order, following next_url page after page.
    rows, path = [], f"/leftbehind/{name}.json?_size=max"
    while path:
        data = (await get(datasette, path)).json()
        rows += data["rows"]
        path = data["next_url"].replace("http://localhost", "") if data.get("next_url") else None
    assert rows == in_key_order
    # A sort on another column, descending, also over two pages.
    column = next(column.name for column in reversed(table.columns) if column.name not in key)
    first = (await get(datasette, f"/leftbehind/{name}.json?_sort_desc={column}&_size=2")).json()
    second = (await get(datasette, first["next_url"].replace("http://localhost", ""))).json()
    values = [row[table.column_names.index(column)] for row in first["rows"] + second["rows"]]
    assert values == sorted(values, key=lambda value: (value is not None, value), reverse=True)
    largest = conn.execute(f"select max([{column}]) from [{name}]").fetchone()[0]
    assert values[0] == largest
    # The whole table as one CSV stream.
    text = (await get(datasette, f"/leftbehind/{name}.csv?_stream=on&_size=max")).text
    streamed = list(csv.reader(io.StringIO(text)))
    assert streamed[0] == table.column_names and len(streamed) - 1 == total
