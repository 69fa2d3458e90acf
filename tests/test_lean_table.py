"""leftbehind/site/lean_table.py: table and query pages whose rows Python writes are byte for byte
the pages Datasette's own ``display_columns_and_rows``, ``_table.html`` and ``query.html`` give."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from datasette import hookimpl
from datasette.plugins import pm
from datasette.views import table as table_view
from support.pages import page_types

from leftbehind.site import lean_table

DATABASE = "leftbehind"


def variants(data) -> list[str]:
    """Table pages in the states a visitor reaches: sorted both ways, labels off, columns hidden,
    a later page, a table with a rowid, filters, and the map page."""
    lad = data.execute("select lad_name from wards where left_behind_2020 = 1 order by cni_rank").fetchone()[0]
    return [
        f"/{DATABASE}/left_behind_neighbourhoods",
        f"/{DATABASE}/left_behind_neighbourhoods?_sort_desc=population",
        f"/{DATABASE}/wards?_sort=ward_name",
        f"/{DATABASE}/wards?_sort_desc=cni_rank&_labels=off",
        f"/{DATABASE}/wards?" + urlencode({"lad_name": lad}),
        f"/{DATABASE}/wards?region_name=North+East&_facet=lad_name",
        f"/{DATABASE}/wards?_col=ward_name&_col=left_behind_2020&_size=7",
        f"/{DATABASE}/wards?_nocol=ward_name&_next=100",
        f"/{DATABASE}/publications?_sort=published&_size=20",
        f"/{DATABASE}/sources",
        f"/{DATABASE}/wards?ward_code=no-such-ward",
        # Query pages: rows of every kind of value, one row, none, the most a page shows.
        sql_page("select ward_code, ward_name, lad_name, region_name, null as nothing, '' as empty,"
                 " '<b>&amp;</b> \"q\"' as markup, 'https://example.com/a?b=1&c=2' as url, x'00ff' as blob,"
                 " '[\"a\", 1]' as list, 1.5 as share from wards order by cni_rank limit 30"),
        sql_page("select 1 as one"),
        sql_page("select * from wards where 0"),
        sql_page("select ward_code, cni_rank from wards"),
        sql_page("select :who as who, ward_name from wards limit 3", who="<me>"),
    ]


def sql_page(sql: str, **params: str) -> str:
    return f"/{DATABASE}?" + urlencode({"sql": sql, **params})


async def pages_both_ways(datasette, paths: list[str]) -> dict[str, tuple[int, str, str]]:
    """path -> (status, the site's page, the page with Datasette's own table code)."""
    pages = {}
    for path in paths:
        ours = await datasette.client.get(path)
        pm.unregister(lean_table)
        lean, lean_query, direct = table_view.display_columns_and_rows, lean_table.render_plainly, pm.hook.render_cell
        table_view.display_columns_and_rows = lean_table.datasette_display_columns_and_rows
        lean_table.render_plainly = lambda template, context: template.render(context)
        pm.hook.render_cell = direct.caller  # pluggy's own hook caller
        try:
            theirs = await datasette.client.get(path)
        finally:
            table_view.display_columns_and_rows, lean_table.render_plainly = lean, lean_query
            pm.hook.render_cell = direct
            pm.register(lean_table, "leftbehind.site.lean_table")
        assert ours.status_code == theirs.status_code, path
        pages[path] = (ours.status_code, ours.text, theirs.text)
    return pages


async def test_every_page_is_what_datasette_writes(datasette, data, db_path, monkeypatch):
    """Every page type, and table pages in many states: the same bytes either way."""
    monkeypatch.setenv("LEFTBEHIND_RESPONSE_CACHE", "off")
    await datasette.invoke_startup()
    assert table_view.display_columns_and_rows is lean_table.display_columns_and_rows
    paths = [page.path for page in page_types(data, db_path)] + variants(data)
    pages = await pages_both_ways(datasette, paths)
    assert {path for path, (_, ours, theirs) in pages.items() if ours != theirs} == set()
    # The comparison saw real tables: the map page's rows without their popup, a sorted wards table.
    _, map_page, _ = pages[f"/{DATABASE}/left_behind_neighbourhoods"]
    flagged = data.execute("select count(*) from left_behind_neighbourhoods").fetchone()[0]
    assert map_page.count('<td class="col-ward_code type-str">') == min(flagged, 100)
    assert 'class="col-popup' not in map_page
    assert pages[f"/{DATABASE}/wards?_sort=ward_name"][1].count("<tr>") == 101
    all_wards = data.execute("select count(*) from wards").fetchone()[0]
    assert pages[sql_page("select ward_code, cni_rank from wards")][1].count('<td class="col-cni_rank">') == min(
        all_wards, 1000)  # the settings' max_returned_rows
    assert "&lt;me&gt;" in pages[sql_page("select :who as who, ward_name from wards limit 3", who="<me>")][1]


async def test_the_cells_are_datasettes_cells(datasette, data, db_path, monkeypatch):
    """The columns and cells (values, raw values, types, links) are Datasette's, not only their HTML."""
    monkeypatch.setenv("LEFTBEHIND_RESPONSE_CACHE", "off")
    await datasette.invoke_startup()
    compared = []

    async def both(*args, **kwargs):
        ours = await lean_table.display_columns_and_rows(*args, **kwargs)
        theirs = await lean_table.datasette_display_columns_and_rows(*args, **kwargs)
        compared.append((args[2], ours[0] == theirs[0] and [r.cells for r in ours[1]] == [r.cells for r in theirs[1]]))
        return ours

    monkeypatch.setattr(table_view, "display_columns_and_rows", both)
    tables = [row[0] for row in data.execute("select name from sqlite_master where type in ('table', 'view')"
                                             " and name not like 'sqlite_%' and name not like '%_fts%' order by name")]
    for name in tables:
        response = await datasette.client.get(f"/{DATABASE}/{name}?_size=20")
        assert response.status_code in (200, 403), name  # hidden tables are forbidden
    assert len(compared) > 10
    assert [name for name, same in compared if not same] == []


class Shouting:
    """Another plugin's render_cell, which the lean cells must ask for every cell, as Datasette does."""

    def __init__(self):
        self.asked = 0

    @hookimpl
    def render_cell(self, value, column):
        self.asked += 1
        return f"<{value}>".upper() if column == "ward_name" else None


class Wrapping:
    """A render_cell wrapper: only pluggy can call it, so the lean cells hand every cell to pluggy."""

    def __init__(self):
        self.wrapped = 0

    @hookimpl(wrapper=True)
    def render_cell(self, value):
        self.wrapped += 1
        return (yield)


# A table page of 10 rows of 15 columns, and a query page of 10 rows of 2: the cells each has.
PAGES_OF_CELLS = {
    f"/{DATABASE}/left_behind_neighbourhoods?_size=10": 10 * 15,
    sql_page("select ward_code, ward_name from left_behind_neighbourhoods limit 10"): 10 * 2,
}


@pytest.mark.parametrize("path", PAGES_OF_CELLS)
@pytest.mark.parametrize("plugin_class", [Shouting, Wrapping])
async def test_other_plugins_render_cells_as_with_datasette(datasette, data, monkeypatch, plugin_class, path):
    monkeypatch.setenv("LEFTBEHIND_RESPONSE_CACHE", "off")
    await datasette.invoke_startup()
    plugin = plugin_class()
    pm.register(plugin, "test-cells")
    try:
        (_, ours, theirs), = (await pages_both_ways(datasette, [path])).values()
    finally:
        pm.unregister(plugin)
    assert ours == theirs
    # Both ways, every cell.
    assert getattr(plugin, "asked", getattr(plugin, "wrapped", 0)) == 2 * PAGES_OF_CELLS[path]
    if plugin_class is Shouting:
        name = data.execute("select ward_name from left_behind_neighbourhoods limit 1").fetchone()[0]
        assert f"&lt;{name.upper()}&gt;" in ours  # escaped: a plugin's plain string is text


def test_text_is_escaped_as_jinja_escapes_it():
    from markupsafe import Markup, escape

    class Html:
        def __html__(self):
            return "<b>x</b>"

    for value in ["plain", "a & b", "<script>", "it's \"quoted\"", Markup("<a href='x'>y</a>"), 12, 1.5, None, Html()]:
        assert lean_table.html_text(value) == str(escape(value)), value


async def test_render_cell_is_still_pluggys_hook_but_for_the_call(datasette, data):
    """``DirectRenderCell`` answers as pluggy's caller does, cell for cell, and is pluggy's hook
    for everything else: a plugin registered later is called, listed, and unregistered."""
    await datasette.invoke_startup()
    direct = pm.hook.render_cell
    assert isinstance(direct, lean_table.DirectRenderCell)
    rows = data.execute("select * from wards order by cni_rank limit 20").fetchall()
    cells = [
        {"row": row, "value": row[column], "column": column, "table": table, "database": DATABASE,
         "datasette": datasette, "request": None, "value_type": None, "pks": [], "column_type": None}
        for row in rows for column in row.keys() for table in ("wards", None)
    ]
    assert [direct(**cell) for cell in cells] == [direct.caller(**cell) for cell in cells]
    assert any(direct(**cell) for cell in cells)  # some cells are ours to write

    plugin = Shouting()
    pm.register(plugin, "test-cells-later")
    try:
        answers = [direct(**cell) for cell in cells]
        assert answers == [direct.caller(**cell) for cell in cells]
        assert plugin.asked == 2 * len(cells)
        assert [hook.name for hook in pm.get_hookcallers(plugin)] == ["render_cell"]  # as /-/plugins lists hooks
    finally:
        pm.unregister(plugin)
    assert [direct(**cell) for cell in cells] == [direct.caller(**cell) for cell in cells]
    assert plugin.asked == 2 * len(cells)  # no longer asked

    # A caller that leaves out an argument gets pluggy's own answer: its warning and its error.
    incomplete = {k: v for k, v in cells[0].items() if k != "column"}
    with pytest.warns(UserWarning, match="column"), pytest.raises(Exception) as theirs:
        direct.caller(**incomplete)
    with pytest.warns(UserWarning, match="column"), pytest.raises(type(theirs.value)):
        direct(**incomplete)
