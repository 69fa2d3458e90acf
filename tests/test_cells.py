"""leftbehind/site/cells.py: the cells it leaves to Datasette at once are exactly those it would not change."""

from __future__ import annotations

import sqlite3

from leftbehind.site import cells


async def test_every_cell_it_would_change_is_in_a_column_it_renders(datasette, db_path):
    await datasette.invoke_startup()
    known = datasette._leftbehind_cell_lookups  # read at start-up
    connection = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    connection.row_factory = sqlite3.Row
    names = [row[0] for row in connection.execute("select name from sqlite_master where type in ('table', 'view')")]
    assert set(known["columns"]) == set(names)
    changed_somewhere = set()
    for table in names:
        foreign = known["foreign_keys"][table]
        for row in connection.execute(f"select * from [{table}] limit 1000"):
            for column in row.keys():
                value = row[column]
                values = [value, {"value": value, "label": f"label of {value}"}] if column in foreign else [value]
                for value in values:
                    full = cells.cell_html(row, value, column, table, datasette, known)
                    hook = cells.render_cell(row, value, column, table, "leftbehind", datasette)
                    assert hook == full, (table, column, value)
                    if full is not None:
                        assert column in known["columns"][table], (table, column, value)
                        changed_somewhere.add((table, column))
    # It does change cells: lists, links by name, and foreign keys.
    assert {("publications", "topics"), ("left_behind_neighbourhoods", "ward_name"), ("wards", "lad_code")} <= changed_somewhere
    # And leaves every column of the wards table but its foreign keys to Datasette at once.
    assert known["columns"]["wards"] == set(known["foreign_keys"]["wards"])
