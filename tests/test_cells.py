"""leftbehind/site/cells.py: the cells it leaves to Datasette at once are exactly those it would not change."""

from __future__ import annotations

import copy
import sqlite3

from conftest import profile_datasette
from datasette.plugins import pm
from datasette_render_markdown import render_cell as plugin_render_cell

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


async def test_markdown_is_asked_only_for_the_columns_it_converts(db_path, metadata):
    """datasette-render-markdown renders exactly what it rendered before: *_markdown columns by default,
    and the columns and patterns its settings name for a table; other cells return at once."""
    configured = copy.deepcopy(metadata)
    table = configured["databases"]["leftbehind"]["tables"]["topics"]
    table.setdefault("plugins", {})["datasette-render-markdown"] = {"columns": ["meaning"], "patterns": ["lab*"]}
    datasette = profile_datasette(db_path, configured)
    await datasette.invoke_startup()
    [scoped] = [i.function for i in pm.hook.render_cell.get_hookimpls() if i.plugin_name == cells.MARKDOWN_PLUGIN]
    assert scoped.leftbehind_scoped
    cases = [
        ("**bold**", "note_markdown", None), ("**bold**", "note_markdown", "wards"), ("**bold**", "note", None),
        ("**bold**", "meaning", "topics"), ("**bold**", "label", "topics"), ("**bold**", "id", "topics"),
        ("**bold**", "meaning", "sessions"), (3, "x_markdown", None), (None, "x_markdown", "topics"),
    ]
    converted = set()
    for value, column, in_table in cases:
        ours = scoped(value, column, in_table, "leftbehind", datasette)
        assert ours == plugin_render_cell(value, column, in_table, "leftbehind", datasette), (column, in_table)
        if ours is not None:
            converted.add((column, in_table))
    assert converted == {("note_markdown", None), ("note_markdown", "wards"), ("meaning", "topics"), ("label", "topics")}
    response = await datasette.client.get("/leftbehind?sql=select+'**bold**'+as+x_markdown,+'**no**'+as+y")
    assert "<strong>bold</strong>" in response.text and "**no**" in response.text
