"""leftbehind/site/schema.py: an immutable database's schema read once, with the same answers."""

from __future__ import annotations

import sqlite3

from conftest import profile_datasette



def table_and_view_names(db_path) -> list[str]:
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as connection:
        return [row[0] for row in connection.execute("select name from sqlite_master where type in ('table', 'view')")]


async def all_answers(db, names: list[str]) -> dict:
    answers = {}
    for method in ("attached_databases", "table_names", "view_names", "hidden_table_names", "get_all_foreign_keys"):
        answers[method] = await getattr(db, method)()
    for name in [*names, "no_such_table"]:
        for method in ("table_exists", "table_columns", "table_column_details", "primary_keys", "fts_table",
                       "label_column_for_table", "foreign_keys_for_table", "get_view_definition"):
            answers[(method, name)] = await getattr(db, method)(name)
        answers[("get_table_definition", name)] = await db.get_table_definition(name, "table")
    return answers


async def test_every_schema_answer_is_a_fresh_reads(db_path, metadata):
    names = table_and_view_names(db_path)
    ours = profile_datasette(db_path, metadata)
    await ours.invoke_startup()
    theirs = profile_datasette(db_path, metadata)  # never started: Datasette reads every time
    db = ours.get_database("leftbehind")
    assert db.table_columns.__qualname__.startswith("remembered")
    first = await all_answers(db, names)
    assert first == await all_answers(theirs.get_database("leftbehind"), names)
    assert await all_answers(db, names) == first  # and again, from what was kept


async def test_a_callers_change_never_reaches_the_next(datasette):
    await datasette.invoke_startup()
    db = datasette.get_database("leftbehind")
    columns = await db.table_columns("wards")
    columns.append("not_a_column")
    keys = await db.foreign_keys_for_table("wards")
    keys[0]["other_table"] = "changed"
    assert "not_a_column" not in await db.table_columns("wards")
    assert (await db.foreign_keys_for_table("wards"))[0]["other_table"] != "changed"


async def test_schema_is_read_once_and_refreshed_once(db_path, metadata, monkeypatch):
    monkeypatch.setenv("LEFTBEHIND_RESPONSE_CACHE", "off")  # every request rendered, none from the page cache
    datasette = profile_datasette(db_path, metadata)
    for path in ("/", "/leftbehind"):  # starts up, refreshes the schemas once, reads each table's schema
        await datasette.client.get(path)
    trips = []
    for db in datasette.databases.values():
        execute_fn = db.execute_fn

        async def counted(fn, execute_fn=execute_fn, name=db.name):
            trips.append(name)
            return await execute_fn(fn)

        monkeypatch.setattr(db, "execute_fn", counted)
    for path in ("/", "/leftbehind"):
        response = await datasette.client.get(path)
        assert response.status_code == 200
        assert 'href="/leftbehind/wards"' in response.text
    # Every table's columns, keys and full-text table were read by the first requests, and the pages'
    # facts at start-up: these two pages (over 100 trips each before) make none.
    assert trips == []
    # While a page with queries of its own still makes them (the count works).
    assert (await datasette.client.get("/leftbehind/wards?_size=5")).status_code == 200
    assert trips
