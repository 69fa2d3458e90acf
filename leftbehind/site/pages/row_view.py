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
that row) everything is Datasette's. Permissions, 404s, JSON and CSV, headers: all ``RowView``'s.

For the HTML pages of a ward, a council and a region (``LEAN_PAGES``) the view goes further: the
page's data says whether the row exists, so Datasette's own query of the row (and of the
table's primary keys), two trips to the SQL threads whose answer those templates never show,
is not made. The row's columns, which Datasette passes to the templates and to plugin hooks,
are the table's, read once per instance (the database is immutable while served); the row
itself is not passed (no template or hook of these pages reads ``rows``). The permission
check is ``RowView``'s, made first, as it makes it; a code with no page (no such row) goes
to ``RowView`` whole, so a bad code is answered by Datasette as before (404, "Record not found").
The view also vouches (``PLAIN``) that nothing in the context it builds is awaitable, so the
plain renderer does not search it.

tests/test_row_view.py compares every region and council page, 400 ward pages and every session,
publication and person with Datasette's own, byte for byte.
"""

from __future__ import annotations

from datasette.utils import tilde_decode, to_css_class, urlsafe_components
from datasette.utils.asgi import Forbidden
from datasette.views.row import RowView

from leftbehind.site.once import once
from leftbehind.site.pages.archive import ROW_PAGES as ARCHIVE_PAGES
from leftbehind.site.pages.areas import council_2024_page, council_page, region_page
from leftbehind.site.pages.reading import DATABASE
from leftbehind.site.pages.wards import ward_page
from leftbehind.site.plain_templates import PLAIN, READY
from leftbehind.site.retry import read_rows

# table -> (the template's name for the page's function, the function)
LEAN_PAGES = {
    "wards": ("ward_page", ward_page),
    "local_authorities": ("council_page", council_page),
    "local_authorities_2024": ("council_2024_page", council_2024_page),
    "regions": ("region_page", region_page),
}
ROW_PAGES = {**LEAN_PAGES, **ARCHIVE_PAGES}
# Datasette's own row route, for these tables of the site's database only (plugin routes come first).
ROUTE = rf"^/(?P<database>{DATABASE})/(?P<table>{'|'.join(ROW_PAGES)})/(?P<pks>[^/]+?)(\.(?P<format>\w+))?$"


async def table_columns(datasette, table: str) -> tuple[list[str], list[str]]:
    """The columns of one of ``LEAN_PAGES``' tables, in the order ``select *`` gives them, and its
    primary key's (read once)."""

    async def compute() -> dict[str, tuple[list[str], list[str]]]:
        db = datasette.get_database(DATABASE)
        found = {}
        for name in LEAN_PAGES:
            rows = await read_rows(db, f"select name, pk from pragma_table_info('{name}')")
            found[name] = ([row["name"] for row in rows], [row["name"] for row in sorted(rows, key=lambda r: r["pk"]) if row["pk"]])
        return found

    return (await once(datasette, "people_page_columns", compute))[table]


class PeopleRowView(RowView):
    """``RowView`` for the people's pages: their data first, and not the record table they replace."""

    async def data(self, request, default_labels=False):
        table = tilde_decode(request.url_vars["table"])
        if (table in LEAN_PAGES and request.url_vars.get("format") is None and request.url_vars["database"] == DATABASE
                and DATABASE in self.ds.databases):
            lean = await self.lean_data(request, table)
            if lean is not None:
                return lean
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
            return self.people_context(data["table"], values, private, page, name, foreign_key_tables=(
                await self.foreign_key_tables(data["database"], data["table"], values)
                if data["table"] in ARCHIVE_PAGES else []
            ))

        return data, people_template_data, templates

    async def lean_data(self, request, table: str):
        """``RowView.data`` for a ward's, a council's or a region's HTML page, from the page's data
        alone; None where the page has no data (``RowView`` answers, as it would have)."""
        database = self.ds.get_database(DATABASE).name
        visible, private = await self.ds.check_visibility(
            request.actor,
            permissions=[("view-table", (database, table)), ("view-database", database), "view-instance"],
        )
        if not visible:
            raise Forbidden("You do not have permission to view this table")
        values = urlsafe_components(request.url_vars["pks"])
        name, build = LEAN_PAGES[table]
        page = await build(self.ds, values[0]) if len(values) == 1 else None
        if page is None:
            return None
        columns, primary_keys = await table_columns(self.ds, table)
        data = {
            "database": database,
            "table": table,
            "rows": [],
            "columns": columns,
            "primary_keys": primary_keys,
            "primary_key_values": values,
            "units": self.ds.table_metadata(database, table).get("units", {}),
        }
        context = self.people_context(table, values, private, page, name, foreign_key_tables=[])
        context[PLAIN] = True
        return data, context, (f"row-{to_css_class(database)}-{to_css_class(table)}.html", "row.html")

    def people_context(self, table: str, values: list[str], private: bool, page: dict, name: str,
                       foreign_key_tables: list) -> dict:
        """What ``RowView``'s template data would be, with the page's own data in place of the record table."""
        return {
            "private": private,
            "foreign_key_tables": foreign_key_tables,
            "display_columns": [],
            "display_rows": [],
            "custom_table_templates": [
                f"_table-{DATABASE}-{table}.html", f"_table-row-{DATABASE}-{table}.html", "_table.html",
            ],
            "metadata": (self.ds.metadata("databases") or {}).get(DATABASE, {}).get("tables", {}).get(table, {}),
            READY: {name: lambda asked: page if asked == values[0] else None},
        }
