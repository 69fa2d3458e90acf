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

Names are looked up once per Datasette instance: the database is immutable.
"""

from __future__ import annotations

import json
from typing import Any

from datasette import hookimpl
from markupsafe import Markup, escape

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
    """Names and ids the cells link by, read once per instance (the database is immutable)."""
    cached = getattr(datasette, "_leftbehind_cell_lookups", None)
    if cached is not None:
        return cached
    db = datasette.get_database(DATABASE)
    tables = set(await db.table_names())

    async def pairs(sql: str, needs: str) -> dict:
        if needs not in tables:
            return {}
        return {row[0]: row[1] for row in (await db.execute(sql)).rows}

    roles: dict[tuple[str, str], list[str]] = {}
    if {"publication_organisations", "organisations"} <= tables:
        for row in (await db.execute(
            "select publication_id, organisations.name, role from publication_organisations"
            " join organisations on organisations.id = organisation_id order by role"
        )).rows:
            roles.setdefault((row[0], row[1]), []).append(row[2])
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
    }
    if all(db.is_mutable is False for name, db in datasette.databases.items() if not name.startswith("_")):
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
    return Markup('<a href="{}">{}</a>').format(url, text)


def item_html(datasette, known: dict[str, Any], column: str, item: Any, row_id: str | None) -> Markup:
    """One list item: a link to its page where we know it, else its text."""
    text = item if isinstance(item, str) else json.dumps(item, ensure_ascii=False)
    if text.startswith(URL_PREFIXES):
        return link(text, text)
    if column == "topics" and text in known["topics"]:
        return link(datasette.urls.row(DATABASE, "topics", text), known["topics"][text])
    if column == "organisations" and text in known["organisations"]:
        html = link(datasette.urls.row(DATABASE, "organisations", known["organisations"][text]), text)
        roles = known["roles"].get((row_id, text)) if row_id else None
        return html + Markup(" ({})").format(", ".join(roles)) if roles else html
    if column == "sessions" and text in known["sessions"]:
        return link(datasette.urls.row(DATABASE, "sessions", known["sessions"][text]), text)
    if column == "speakers" and text in known["people"]:
        return link(datasette.urls.row(DATABASE, "people", known["people"][text]), text)
    return Markup(escape(text))


def list_html(items: list[Markup]) -> Markup:
    if not items:
        return Markup('<span class="lb-none">none</span>')
    return Markup('<ul class="lb-cell-list">{}</ul>').format(Markup("").join(Markup("<li>{}</li>").format(i) for i in items))


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
        url = datasette.urls.row(DATABASE, other, str(value["value"]))
        label = value.get("label")
        if label in (None, "", value["value"]):
            return link(url, str(value["value"]))
        return Markup('<a href="{}">{} <span class="lb-code">{}</span></a>').format(url, label, value["value"])
    if column in foreign and value:
        return link(datasette.urls.row(DATABASE, foreign[column], str(value)), str(value))
    items = json_list(value, MAX_QUERY_LIST_CHARS if table is None else None)
    if items is not None:
        row_id = row_value(row, "id") if table in (None, "publications") else None
        return list_html([item_html(datasette, known, column, item, row_id) for item in items])
    if table == "wards" or not value:
        return None
    if column in ("ward_code", "ward_name"):
        code = row_value(row, "ward_code")
        if isinstance(code, str) and code.startswith("E05"):
            return link(datasette.urls.row(DATABASE, "wards", code), value)
    if column == "lad_name" and value in known["councils"] and table != "local_authorities":
        return link(datasette.urls.row(DATABASE, "local_authorities", known["councils"][value]), value)
    if column == "region_name" and value in known["regions"] and table != "regions":
        return link(datasette.urls.row(DATABASE, "regions", known["regions"][value]), value)
    return None


def may_change(value, table: str | None) -> bool:
    """Only text (lists, codes, names), expanded foreign keys and, in a table, numbers (flags and
    shares) are ever rendered differently."""
    return isinstance(value, str) or (table is not None and isinstance(value, (dict, int, float)))


@hookimpl
def render_cell(row, value, column, table, database, datasette):
    """Synchronous once the lookups are read (a table of 100 rows calls this thousands of
    times, and a coroutine per cell costs more than the work)."""
    if database != DATABASE or not may_change(value, table):
        return None
    known = getattr(datasette, "_leftbehind_cell_lookups", None)
    if known is not None and (table is None or table in known["foreign_keys"]):
        return cell_html(row, value, column, table, datasette, known)

    async def inner():
        ready = await lookups(datasette)
        if table is not None:
            await foreign_keys_of(datasette, ready, table)
        return cell_html(row, value, column, table, datasette, ready)

    return inner


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
