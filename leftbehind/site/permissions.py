"""Datasette's permission checks, with the same answers and without their per-check work.

Datasette 0.65.5 answers each ``view-table`` check (the home page and the database page
make about 70, a table page five or more, a streamed CSV five per 100 rows) in two costly
steps:

1. it resolves the table's name as SQLite spells it with a query of ``sqlite_master``,
   sent through the SQL thread pool like any page's query;
2. ``Datasette._table_permission_allows`` deep-copies every metadata source (all of
   ``metadata.yml``, 58 KB of descriptions) to collect the table's ``allow`` blocks:
   about 0.8 ms a check, most of the home page's time.

Both answers depend only on the database's schema and the metadata, and neither changes
while the site is served: the databases are immutable, and ``metadata.yml`` is read once
at start-up. So, for each Datasette instance this plugin is registered in:

- the names of the tables and views of each immutable database are read once, at start-up,
  and a check looks the name up there instead of querying (a mutable database, or one
  whose names could not be read, is still asked every time);
- each table's ``allow`` blocks are computed once by Datasette's own
  ``_table_permission_allows`` and kept, keyed by the metadata object they came from. Nothing
  is kept while any plugin implements ``get_metadata``, whose answers could change with
  anything;
- an anonymous visitor's answer to each check (action and resource: a query page asks a
  dozen, the same on every request) is kept, keyed by the metadata object, while Datasette's
  default ``permission_allowed`` is the only one and no plugin supplies metadata or canned
  queries: then it depends only on the metadata and the instance's settings. Every check is
  still recorded.

Everything else (the ``permission_allowed`` hooks, the default, the record of checks
Datasette keeps for ``/-/permissions``) is Datasette's own method, step for step;
tests/test_permissions.py compares every answer with Datasette's for every table and view,
in any case, with and without ``allow`` blocks.
"""

from __future__ import annotations

import datetime
from typing import Any

from datasette import hookimpl
from datasette.app import _SQLITE_IDENTIFIER_CASE, Datasette
from datasette.plugins import pm
from datasette.utils import await_me_maybe

TABLES_AND_VIEWS_SQL = "select name from sqlite_master where type in ('table', 'view')"


def folded(name: str) -> str:
    """A name as SQLite's NOCASE compares it: ASCII letters folded, nothing else."""
    return name.translate(_SQLITE_IDENTIFIER_CASE)


class TableNames:
    """For each immutable database: its tables' and views' names, by their NOCASE form."""

    def __init__(self) -> None:
        self.by_database: dict[str, dict[str, str]] = {}

    async def read(self, datasette: Datasette) -> None:
        for name, db in datasette.databases.items():
            if db.is_mutable is False and name not in self.by_database:
                rows = await db.execute_fn(lambda conn: conn.execute(TABLES_AND_VIEWS_SQL).fetchall())
                self.by_database[name] = {folded(row[0]): row[0] for row in rows}

    def spelled(self, database: str, table: str) -> str | None:
        """The table's name as SQLite spells it; None when that is not known here."""
        names = self.by_database.get(database)
        if names is None:
            return None
        return names.get(folded(table), table)


def remembered_table_allows(datasette: Datasette):
    """Datasette's ``_table_permission_allows``, computed once per table and metadata."""
    compute = datasette._table_permission_allows
    kept: dict[tuple[str, str], list] = {}
    kept_for: list[Any] = [None]  # the metadata object the kept answers came from

    def table_permission_allows(database: str, table: str) -> list:
        if pm.hook.get_metadata.get_hookimpls():
            return compute(database, table)
        if datasette._metadata_local is not kept_for[0]:
            kept.clear()
            kept_for[0] = datasette._metadata_local
        key = (database, table)
        if key not in kept:
            kept[key] = compute(database, table)
        return list(kept[key])

    return table_permission_allows


DEFAULT_PERMISSIONS = "datasette.default_permissions"
# Answers kept at most: the site's actions and resources are a few hundred; a resource spelled by
# a request (a database or query name Datasette has not yet refused) must not grow the store.
KEPT_ANSWERS_AT_MOST = 4096


def anonymous_answers_kept() -> bool:
    """Whether an anonymous visitor's answer depends only on the metadata and the settings: Datasette's
    default ``permission_allowed`` is the only one, and no plugin supplies metadata or canned queries."""
    return (
        [i.plugin_name for i in pm.hook.permission_allowed.get_hookimpls()] == [DEFAULT_PERMISSIONS]
        and not pm.hook.get_metadata.get_hookimpls()
        and not pm.hook.canned_queries.get_hookimpls()
    )


def looked_up_permission_allowed(datasette: Datasette, names: TableNames):
    """Datasette's ``permission_allowed``, with the table's name looked up in ``names`` and an
    anonymous visitor's answers kept per action and resource (for the metadata object they came
    from, while ``anonymous_answers_kept``): a query page asks a dozen, the same on every request."""
    ask_sqlite = datasette.permission_allowed
    kept: dict[tuple, Any] = {}
    kept_for: list[Any] = [None]  # the metadata object the kept answers came from

    async def hooks_answer(actor, action, resource):
        result = None
        for check in pm.hook.permission_allowed(datasette=datasette, actor=actor, action=action, resource=resource):
            check = await await_me_maybe(check)
            if check is not None:
                result = check
        return result

    async def permission_allowed(actor, action, resource=None, default=False):
        if action == "view-table" and resource is not None:
            database, table = resource
            if database in datasette.databases:
                spelled = names.spelled(database, table)
                if spelled is None:
                    return await ask_sqlite(actor, action, resource=resource, default=default)
                resource = (database, spelled)
        # From here, Datasette 0.65.5's Datasette.permission_allowed after its query.
        if actor is None and anonymous_answers_kept():
            if datasette._metadata_local is not kept_for[0]:
                kept.clear()
                kept_for[0] = datasette._metadata_local
            key = (action, resource)
            try:
                if key in kept:
                    result = kept[key]
                else:
                    result = await hooks_answer(actor, action, resource)
                    if len(kept) < KEPT_ANSWERS_AT_MOST:  # bounded whatever names requests bring
                        kept[key] = result
            except TypeError:  # a resource that cannot be a key (a plugin's list): asked every time
                result = await hooks_answer(actor, action, resource)
        else:
            result = await hooks_answer(actor, action, resource)
        used_default = False
        if result is None:
            result = default
            used_default = True
        datasette._permission_checks.append({
            "when": datetime.datetime.now(datetime.timezone.utc).isoformat(),
            "actor": actor,
            "action": action,
            "resource": resource,
            "used_default": used_default,
            "result": result,
        })
        return result

    return permission_allowed


async def install(datasette: Datasette) -> None:
    """Give ``datasette`` (this instance only) the checks above; again is harmless."""
    if getattr(datasette, "_leftbehind_permissions", None) is not None:
        return
    names = TableNames()
    await names.read(datasette)
    datasette._leftbehind_permissions = names
    datasette._table_permission_allows = remembered_table_allows(datasette)
    datasette.permission_allowed = looked_up_permission_allowed(datasette, names)


@hookimpl
def startup(datasette):
    async def inner():
        await install(datasette)

    return inner
