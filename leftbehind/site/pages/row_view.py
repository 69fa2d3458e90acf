"""The people's row pages (a ward, a council, a region; a session, a publication, a person) without the
parts of Datasette's row view they replace.

Datasette's row view lays out every column of the row for its own table of the record, and
counts the rows of every table that points at it ("Links from other tables"), a query per
page; the people's templates replace that part of the page whenever they have the page's
data.

``PeopleRowView`` is Datasette's ``RowView`` for the tables in ``ROW_PAGES``, with one change:
its ``data`` reads the page's own data (``ward_page`` and so on) first and, when there is a
page, leaves the record table and the counts empty and hands the page to the template under
``READY`` (leftbehind/site/plain_templates.py), which then has no async function to call.
The archive's pages (``ARCHIVE_PAGES``, leftbehind/site/pages/archive.py) list the rows of other
tables that name the record, so for them the counts are kept. Without a page (no such page for
that row) everything is Datasette's. Permissions, the row's
query, 404s, JSON and CSV, headers: all ``RowView``'s. tests/test_row_view.py compares every
region and council page, 400 ward pages and every session, publication and person with Datasette's
own, byte for byte.
"""

from __future__ import annotations

from datasette.views.row import RowView

from leftbehind.site.pages.archive import ROW_PAGES as ARCHIVE_PAGES
from leftbehind.site.pages.areas import council_2024_page, council_page, region_page
from leftbehind.site.pages.reading import DATABASE
from leftbehind.site.pages.wards import ward_page
from leftbehind.site.plain_templates import READY

# table -> (the template's name for the page's function, the function)
ROW_PAGES = {
    "wards": ("ward_page", ward_page),
    "local_authorities": ("council_page", council_page),
    "local_authorities_2024": ("council_2024_page", council_2024_page),
    "regions": ("region_page", region_page),
    **ARCHIVE_PAGES,
}
# Datasette's own row route, for these tables of the site's database only (plugin routes come first).
ROUTE = rf"^/(?P<database>{DATABASE})/(?P<table>{'|'.join(ROW_PAGES)})/(?P<pks>[^/]+?)(\.(?P<format>\w+))?$"


class PeopleRowView(RowView):
    """``RowView`` for the people's pages: their data first, and not the record table they replace."""

    async def data(self, request, default_labels=False):
        data, template_data, templates = await super().data(request, default_labels)
        name, build = ROW_PAGES[data["table"]]
        values = data["primary_key_values"]

        async def people_template_data():
            page = await build(self.ds, values[0]) if len(values) == 1 else None
            if page is None:
                return await template_data()
            _, private = await self.ds.check_visibility(
                request.actor,
                permissions=[("view-table", (data["database"], data["table"])), ("view-database", data["database"]),
                             "view-instance"],
            )
            return {
                "private": private,
                "foreign_key_tables": (
                    await self.foreign_key_tables(data["database"], data["table"], values)
                    if data["table"] in ARCHIVE_PAGES else []
                ),
                "display_columns": [],
                "display_rows": [],
                "custom_table_templates": [
                    f"_table-{DATABASE}-{data['table']}.html", f"_table-row-{DATABASE}-{data['table']}.html", "_table.html",
                ],
                "metadata": (self.ds.metadata("databases") or {}).get(data["database"], {}).get("tables", {}).get(
                    data["table"], {}
                ),
                READY: {name: lambda asked: page if asked == values[0] else None},
            }

        return data, people_template_data, templates
