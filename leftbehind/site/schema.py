"""Datasette's reads of an immutable database's schema, made once per process instead of per page.

Datasette 0.65 reads a database's schema again on every page, each read a trip through the
SQL thread pool: the home and database pages ask three questions of each of 34 tables (its
columns, primary keys and full-text table: 102 trips), a table page about ten more, and every
page first checks each database's ``PRAGMA schema_version`` (``Datasette.refresh_schemas``).
An immutable database's schema cannot change while it is served, so for each database opened
``--immutable`` the answers are kept on its ``Database`` object, for this Datasette instance:

- ``SCHEMA_READS``: each method's answer, kept by its arguments. Only arguments naming one
  of the database's own tables or views are kept (read at start-up), so requests for made-up
  names cannot grow the store; those are asked every time, as before. Answers that depend
  on the metadata too (hidden tables, a table's label column) are kept per metadata object,
  and not at all while a plugin implements ``get_metadata``. Each caller gets its own copy
  of lists and dicts, as from Datasette.
- ``refresh_schemas`` runs as before until it has run once with every served database
  immutable; from then on, while the same databases are served, it returns at once.

A mutable database is never touched. tests/test_schema.py compares every answer with a
fresh read.
"""

from __future__ import annotations

from typing import Any

from datasette import hookimpl
from datasette.plugins import pm

# Database methods that only read the schema; True where the answer depends on the metadata.
SCHEMA_READS = {
    "attached_databases": False,
    "table_exists": False,
    "table_names": False,
    "view_names": False,
    "hidden_table_names": True,
    "table_columns": False,
    "table_column_details": False,
    "primary_keys": False,
    "fts_table": False,
    "label_column_for_table": True,
    "foreign_keys_for_table": False,
    "get_all_foreign_keys": False,
    "get_table_definition": False,
    "get_view_definition": False,
}
NAMES_SQL = "select name from sqlite_master where type in ('table', 'view')"


def fresh(value: Any) -> Any:
    """A copy of ``value`` no caller's change can reach: lists and dicts copied all the way down."""
    if isinstance(value, list):
        return [fresh(item) for item in value]
    if isinstance(value, dict):
        return {key: fresh(item) for key, item in value.items()}
    return value  # strings, numbers, None, and Datasette's named tuples


def remembered(datasette, method, names: frozenset[str], uses_metadata: bool):
    """``method`` of an immutable database, its answers kept for arguments naming its own tables."""
    kept: dict[tuple, Any] = {}
    kept_for: list[Any] = [None]

    async def read(*args):
        if args and args[0] not in names:
            return await method(*args)
        if uses_metadata:
            if pm.hook.get_metadata.get_hookimpls():
                return await method(*args)
            if datasette._metadata_local is not kept_for[0]:
                kept.clear()
                kept_for[0] = datasette._metadata_local
        if args not in kept:
            kept[args] = await method(*args)
        return fresh(kept[args])

    return read


def refreshed_once(datasette):
    """``refresh_schemas``, returning at once once it has run with only immutable databases served."""
    refresh = datasette.refresh_schemas
    done_for: list[Any] = [None]

    async def refresh_schemas():
        served = tuple((name, id(db)) for name, db in datasette.databases.items())
        if served == done_for[0]:
            return
        if datasette._refresh_schemas_lock.locked():
            return await refresh()  # another request is refreshing; Datasette returns at once too
        await refresh()
        if all(db.is_mutable is False for name, db in datasette.databases.items() if name != "_internal"):
            done_for[0] = served

    return refresh_schemas


async def install(datasette) -> None:
    """Keep the schema reads of ``datasette``'s immutable databases (once; again is harmless)."""
    for db in datasette.databases.values():
        if db.is_mutable is not False or getattr(db, "_leftbehind_schema", False):
            continue
        names = frozenset(row[0] for row in await db.execute_fn(lambda conn: conn.execute(NAMES_SQL).fetchall()))
        for name, uses_metadata in SCHEMA_READS.items():
            setattr(db, name, remembered(datasette, getattr(db, name), names, uses_metadata))
        db._leftbehind_schema = True
    if not getattr(datasette, "_leftbehind_refreshed_once", False):
        datasette.refresh_schemas = refreshed_once(datasette)
        datasette._leftbehind_refreshed_once = True


@hookimpl
def startup(datasette):
    async def inner():
        await install(datasette)

    return inner
