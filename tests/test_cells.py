"""leftbehind/site/cells.py: the cells it leaves to Datasette at once are exactly those it would not change."""

from __future__ import annotations

import copy
import sqlite3

import pytest

from conftest import profile_datasette
from datasette.plugins import pm
from datasette_render_markdown import render_cell as plugin_render_cell

from leftbehind.site import cells


async def test_every_cell_it_would_change_is_in_a_column_it_renders(datasette, db_path, metadata):
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
    # It does change cells: lists, links by name, foreign keys, and flags and shares in words.
    assert {("publications", "topics"), ("left_behind_neighbourhoods", "ward_name"), ("wards", "lad_code"),
            ("wards", "left_behind_2020"), ("wards", "population_share_in_imd_decile_1_lsoas")} <= changed_somewhere
    # And leaves every column of the wards table but its foreign keys and those metadata.yml shows
    # in words to Datasette at once.
    in_words = metadata["databases"]["leftbehind"]["tables"]["wards"]["shown_as"]
    assert known["columns"]["wards"] == set(known["foreign_keys"]["wards"]) | set(in_words)


@pytest.mark.parametrize("settings", ["the site's", "the plugin's defaults"])
async def test_markdown_is_asked_only_for_the_columns_it_converts(db_path, metadata, settings):
    """datasette-render-markdown renders exactly what it rendered before: the columns and patterns its
    settings name for a table, else the site's (none), else its defaults (*_markdown); other cells return
    at once."""
    configured = copy.deepcopy(metadata)
    if settings == "the plugin's defaults":
        del configured["plugins"]["datasette-render-markdown"]
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
    # The wards table has plugin settings of its own (the cluster map's), which Datasette reads in place of
    # the site's: there the plugin keeps its default pattern.
    by_default = {("note_markdown", None)} if settings == "the plugin's defaults" else set()
    assert converted == {("meaning", "topics"), ("label", "topics"), ("note_markdown", "wards")} | by_default
    response = await datasette.client.get("/leftbehind?sql=select+'**bold**'+as+x_markdown,+'**no**'+as+y")
    assert ("<strong>bold</strong>" in response.text) == bool(by_default) and "**no**" in response.text
