"""Table cells people can read: lists instead of JSON arrays, links instead of bare codes.

Registered by ``leftbehind.site.register()``. Only the HTML pages
change: CSV and JSON keep their machine forms (``render_cell`` is not used for them).

- A cell holding a JSON array becomes a list; its items link where we know the page:
  topics (by id), organisations, sessions and speakers (by name), and URLs. An
  empty array reads "none". A publication's organisations carry their roles.
- A foreign key shows its label and its code inside one link (Datasette's own
  rendering puts the code outside the link, in grey).
- In views and query results, which have no foreign keys, a ward's code and name
  link to its page, and council and region names to theirs.
- A column declared ``shown_as`` (metadata.yml, from leftbehind/tables.py) reads in
  words: a 0/1 flag as "yes" or "no", a share from 0 to 1 as a percentage. Facets on
  such flags, and on topics (stored as ids), are labelled the same way
  (``value_labels``, for templates/_facet_results.html).

Names, and every table's foreign keys, are read once per Datasette instance, at
start-up (the database is immutable), without the visitors' time limit: read on a
visitor's first request under a busy machine, they failed that page with a 500.
"""

from __future__ import annotations

import fnmatch
import json
import re
from typing import Any

from datasette import hookimpl
from datasette.plugins import pm
from markupsafe import Markup, escape

from leftbehind.site.once import immutable
from leftbehind.site.retry import read_rows
from leftbehind.site.urls import row_url

DATABASE = "leftbehind"
URL_PREFIXES = ("http://", "https://")
# A cell of a visitor's own query (no table) is read as a list only up to this size:
# a 1 MB array made a list of thousands of links on the event loop.
MAX_QUERY_LIST_CHARS = 10_000
SESSION_LABEL_SQL = """
select
  case when number is not null then upper(substr(kind, 1, 1)) || substr(kind, 2) || ' ' || number
  else coalesce(title, id) end,
  id
from sessions
"""


async def lookups(datasette) -> dict[str, Any]:
    """Names and ids the cells link by, and which columns of each table and view they may
    change, read once per instance (the database is immutable): at start-up."""
    cached = getattr(datasette, "_leftbehind_cell_lookups", None)
    if cached is not None:
        return cached
    db = datasette.get_database(DATABASE)
    tables = {row["name"] for row in await read_rows(db, "select name from sqlite_master where type = 'table'")}

    async def pairs(sql: str, needs: str) -> dict:
        if needs not in tables:
            return {}
        return {row[0]: row[1] for row in (tuple(row.values()) for row in await read_rows(db, sql))}

    roles: dict[tuple[str, str], list[str]] = {}
    if {"publication_organisations", "organisations"} <= tables:
        for row in await read_rows(
            db,
            "select publication_id, organisations.name, role from publication_organisations"
            " join organisations on organisations.id = organisation_id order by role",
        ):
            roles.setdefault((row["publication_id"], row["name"]), []).append(row["role"])
    result = {
        "topics": await pairs("select id, label from topics", "topics"),
        "organisations": await pairs("select name, id from organisations", "organisations"),
        # The short labels the build writes into the arrays (catalogue_tables.session_label).
        "sessions": await pairs(SESSION_LABEL_SQL, "sessions"),
        "people": await pairs("select name, id from people", "people"),
        "councils": await pairs("select lad_name, lad_code from local_authorities", "local_authorities"),
        "regions": await pairs("select region_name, region_code from regions", "regions"),
        "roles": roles,
        "foreign_keys": {},
        "shown_as": shown_as_by_table(datasette),
        "columns": {},
    }
    if immutable(datasette):
        for table in [*tables, *await db.view_names()]:
            await foreign_keys_of(datasette, result, table)
            result["columns"][table] = await columns_rendered(
                db, table, result["foreign_keys"][table], result["shown_as"].get(table, {})
            )
        result["links"] = {}  # (table, code, name) -> a council's or region's link (name_link)
        datasette._leftbehind_cell_lookups = result
    return result


def shown_as_by_table(datasette) -> dict[str, dict[str, str]]:
    """table -> column -> "yes-no" or "percent", as metadata.yml declares."""
    tables = (datasette.metadata("tables", database=DATABASE, fallback=False) or {}) if DATABASE in datasette.databases else {}
    return {name: dict(entry.get("shown_as") or {}) for name, entry in tables.items() if entry.get("shown_as")}


def shown_value(kind: str, value: Any) -> str | None:
    """A flag or a share in words, or None when the value is not one (a null, or text)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if kind == "yes-no" and value in (0, 1):
        return "yes" if value == 1 else "no"
    if kind == "percent":
        return f"{value * 100:.1f}%"
    return None


async def columns_rendered(db, table: str, foreign: dict[str, str], shown_as: dict[str, str]) -> frozenset[str]:
    """The columns of ``table`` whose cells ``cell_html`` may change: its foreign keys, the
    columns declared ``shown_as`` (flags and shares in words), the columns with a value that
    looks like a JSON array, and the names it links (outside ``wards``, and each outside its
    own table). Every other cell is Datasette's at once."""
    columns = await db.table_columns(table)
    arrays: set[str] = set()
    if columns:
        escaped = [column.replace("]", "]]") for column in columns]
        sql = "select " + ", ".join(
            f"exists(select 1 from [{table.replace(']', ']]')}] where [{c}] like '[%' and [{c}] like '%]')"
            for c in escaped
        )
        found = await db.execute_fn(lambda conn: conn.execute(sql).fetchone())
        arrays = {column for column, holds in zip(columns, found) if holds}
    links = set()
    if table != "wards":
        links = {"ward_code", "ward_name"} | ({"lad_name"} if table != "local_authorities" else set())
        links |= {"region_name"} if table != "regions" else set()
    return frozenset(foreign) | frozenset(shown_as) | frozenset(arrays) | (frozenset(columns) & links)


def json_list(value: Any, limit: int | None = None) -> list | None:
    """The list a cell holds as JSON text, or None when it holds something else
    (or is longer than ``limit`` characters, or nested too deeply to parse)."""
    if not isinstance(value, str) or not value.startswith("[") or not value.endswith("]"):
        return None
    if limit is not None and len(value) > limit:
        return None
    try:
        parsed = json.loads(value)
    except (ValueError, RecursionError):
        return None
    return parsed if isinstance(parsed, list) else None


def link(url: str, text: str) -> Markup:
    # Markup.format would escape the same way, at several times the cost (a table has thousands of links).
    return Markup(f'<a href="{escape(url)}">{escape(text)}</a>')


def item_html(datasette, known: dict[str, Any], column: str, item: Any, row_id: str | None) -> Markup:
    """One list item: a link to its page where we know it, else its text."""
    text = item if isinstance(item, str) else json.dumps(item, ensure_ascii=False)
    if text.startswith(URL_PREFIXES):
        return link(text, text)
    if column == "topics" and text in known["topics"]:
        return link(row_url(datasette, "topics", text), known["topics"][text])
    if column == "organisations" and text in known["organisations"]:
        html = link(row_url(datasette, "organisations", known["organisations"][text]), text)
        roles = known["roles"].get((row_id, text)) if row_id else None
        return html + Markup(" ({})").format(", ".join(roles)) if roles else html
    if column == "sessions" and text in known["sessions"]:
        return link(row_url(datasette, "sessions", known["sessions"][text]), text)
    if column == "speakers" and text in known["people"]:
        return link(row_url(datasette, "people", known["people"][text]), text)
    return Markup(escape(text))


def list_html(items: list[Markup]) -> Markup:
    if not items:
        return Markup('<span class="lb-none">none</span>')
    return Markup('<ul class="lb-cell-list">' + "".join(f"<li>{escape(item)}</li>" for item in items) + "</ul>")


def row_value(row: Any, key: str) -> Any:
    try:
        value = row[key]
    except (KeyError, IndexError):
        return None
    return value.get("value") if isinstance(value, dict) else value


async def foreign_keys_of(datasette, known: dict[str, Any], table: str) -> dict[str, str]:
    """column -> the table it points to, read once per table."""
    keys = known["foreign_keys"]
    if table not in keys:
        db = datasette.get_database(DATABASE)
        keys[table] = {fk["column"]: fk["other_table"] for fk in await db.foreign_keys_for_table(table)}
    return keys[table]


def cell_html(row, value, column: str, table: str | None, datasette, known: dict[str, Any]) -> Markup | None:
    """The cell's HTML, or None for Datasette's own rendering. Needs the lookups and, for a
    table, its foreign keys (``known["foreign_keys"][table]``) already read."""
    foreign = known["foreign_keys"].get(table, {}) if table else {}
    kind = known["shown_as"].get(table, {}).get(column) if table else None
    if kind:
        words = shown_value(kind, value)
        return Markup(escape(words)) if words is not None else None
    if isinstance(value, dict) and "value" in value:
        other = foreign.get(column)
        if other is None or value["value"] is None:
            return None
        url = row_url(datasette, other, str(value["value"]))
        label = value.get("label")
        if label in (None, "", value["value"]):
            return link(url, str(value["value"]))
        return Markup(f'<a href="{escape(url)}">{escape(label)} <span class="lb-code">{escape(value["value"])}</span></a>')
    if column in foreign and value:
        return link(row_url(datasette, foreign[column], str(value)), str(value))
    items = json_list(value, MAX_QUERY_LIST_CHARS if table is None else None)
    if items is not None:
        row_id = row_value(row, "id") if table in (None, "publications") else None
        return list_html([item_html(datasette, known, column, item, row_id) for item in items])
    if table == "wards" or not value:
        return None
    if column in ("ward_code", "ward_name"):
        code = row_value(row, "ward_code")
        if isinstance(code, str) and code.startswith("E05"):
            return name_link(datasette, known, "wards", code, value)
    if column == "lad_name" and value in known["councils"] and table != "local_authorities":
        return name_link(datasette, known, "local_authorities", known["councils"][value], value)
    if column == "region_name" and value in known["regions"] and table != "regions":
        return name_link(datasette, known, "regions", known["regions"][value], value)
    return None


def name_link(datasette, known: dict[str, Any], table: str, code: str, text: Any) -> Markup:
    """The link from a ward's, council's or region's code or name to its page. A council's and a
    region's are written once per instance (a view's 100 rows link the same few again and again),
    keyed by names the database holds, so never more than its councils and regions; a ward's code
    and name come from the row (a visitor's query may make up any), and are written each time."""
    if table == "wards" or type(text) is not str or "links" not in known:
        return link(row_url(datasette, table, code), text)
    key = (table, code, text)
    html = known["links"].get(key)
    if html is None:
        html = known["links"][key] = link(row_url(datasette, table, code), text)
    return html


def may_change(value, table: str | None) -> bool:
    """Only text (lists, codes, names), expanded foreign keys and, in a table, numbers (flags and
    shares) are ever rendered differently."""
    return isinstance(value, str) or (table is not None and isinstance(value, (dict, int, float)))


@hookimpl
def render_cell(row, value, column, table, database, datasette):
    """Synchronous and at once for the cells it does not change (a table of 100 rows calls this
    thousands of times, and a coroutine per cell costs more than the work)."""
    if database != DATABASE or not may_change(value, table):
        return None
    known = getattr(datasette, "_leftbehind_cell_lookups", None)
    if known is not None and (table is None or table in known["foreign_keys"]):
        if table is not None and column not in known["columns"].get(table, (column,)):
            return None
        return cell_html(row, value, column, table, datasette, known)

    async def inner():
        ready = await lookups(datasette)
        if table is not None:
            await foreign_keys_of(datasette, ready, table)
        return cell_html(row, value, column, table, datasette, ready)

    return inner


def renders_column(datasette, database: str, table: str, column: str) -> bool:
    """Whether ``render_cell`` may change a cell of this table's column (False: it answers None
    for every cell of it, so ``leftbehind/site/lean_table.py`` need not ask it)."""
    if database != DATABASE:
        return False
    known = getattr(datasette, "_leftbehind_cell_lookups", None)
    if known is None or table not in known["foreign_keys"]:
        return True
    return column in known["columns"].get(table, (column,))


render_cell.leftbehind_answers = renders_column


async def value_labels(datasette, table: str) -> dict[str, dict[Any, str]]:
    """column -> value -> words, for the facets of one table: its flags, and topics by their label."""
    known = await lookups(datasette)
    labels: dict[str, dict[Any, str]] = {
        column: {1: "yes", 0: "no"} for column, kind in known["shown_as"].get(table, {}).items() if kind == "yes-no"
    }
    if known["topics"]:
        labels["topics"] = dict(known["topics"])
    return labels


@hookimpl
def extra_template_vars(view_name, database, table, datasette):
    if view_name != "table" or database != DATABASE or not table:
        return {}

    async def inner():
        return {"value_labels": await value_labels(datasette, table)}

    return inner


MARKDOWN_PLUGIN = "render_markdown"  # datasette-render-markdown's name with Datasette's plugin manager


def markdown_columns(datasette, database: str | None, table: str | None):
    """The columns datasette-render-markdown converts in ``table``: (names, pattern or None)."""
    config = datasette.plugin_config("datasette-render-markdown", database=database, table=table) or {}
    patterns = config.get("patterns")
    if patterns is None:
        patterns = ["*_markdown"]
    pattern = re.compile("|".join(fnmatch.translate(p) for p in patterns)) if patterns else None
    return frozenset(config.get("columns") or []), pattern


def markdown_for_its_columns(render_markdown_cell):
    """datasette-render-markdown's ``render_cell``, asked only for the columns it converts.

    The plugin reads its configuration from the metadata for every text cell of every page
    (``datasette.plugin_config``), a few microseconds a cell, to find that a column is not
    one it converts. Which columns it converts in a table (its ``columns`` and ``patterns``
    settings, ``*_markdown`` by default, matched as ``fnmatch`` matches on POSIX) depends only
    on the metadata: read once per table and metadata object; every other cell returns at once.
    """
    decided: dict[tuple, tuple] = {}
    decided_for: list = [None]

    def render_cell(value, column, table, database, datasette):
        if isinstance(value, str) and renders_column(datasette, database, table, column):
            return render_markdown_cell(value, column, table, database, datasette)
        return None

    def renders_column(datasette, database, table, column) -> bool:
        """Whether ``render_cell`` may convert this column's cells (see ``lean_table.column_renderers``)."""
        if pm.hook.get_metadata.get_hookimpls():
            return True
        if decided_for[0] is not datasette._metadata_local:
            decided.clear()
            decided_for[0] = datasette._metadata_local
        key = (database, table)
        if key not in decided:
            decided[key] = markdown_columns(datasette, database, table)
        names, pattern = decided[key]
        return column in names or (pattern is not None and pattern.match(column) is not None)

    render_cell.leftbehind_scoped = True
    render_cell.leftbehind_answers = renders_column
    return render_cell


def scope_markdown_cells() -> None:
    """Put ``markdown_for_its_columns`` in place of datasette-render-markdown's ``render_cell``
    (in this process, once; the plugin stays registered as it is, for /-/plugins.json too)."""
    for implementation in pm.hook.render_cell.get_hookimpls():
        if implementation.plugin_name == MARKDOWN_PLUGIN and not getattr(
            implementation.function, "leftbehind_scoped", False
        ):
            implementation.function = markdown_for_its_columns(implementation.function)


@hookimpl
def startup(datasette):
    async def inner():
        scope_markdown_cells()
        if DATABASE in datasette.databases:
            await lookups(datasette)

    return inner
