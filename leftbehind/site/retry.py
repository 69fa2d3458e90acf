"""An ordinary page's query that the time limit interrupts is tried once more, and logged.

On a busy machine a query that takes a millisecond can pass Datasette's time limit while
it waits for a core (the limit is kept by a timer, ``sqlite_limits.interrupt_after``), and
the page failed: Datasette's 'SQL Interrupted' page, or a 500 from a hook. So a query
interrupted while serving an ordinary request runs once more, and a warning names it.

Not tried again: a query carrying a visitor's own SQL (``sql_lane.REQUEST``), whose limit is the point,
and queries given a shorter limit of their own (facets, counts, suggested facets), which
Datasette already leaves out of the page when they take too long. A query interrupted
twice is answered 503 by ``client_errors``, never 500.

What the pages read once (lookups, facts, schema, the sitemap) is read at start-up with
``read_rows``, without the visitors' time limit (``startup`` hooks in those modules).
"""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

from datasette import database as datasette_database
from datasette.database import QueryInterrupted

from leftbehind.site import sql_lane

logger = logging.getLogger(__name__)


def carries_visitor_sql(sql: str, params) -> bool:
    """Whether this query runs SQL a visitor wrote into the request being answered."""
    request = sql_lane.REQUEST.get()
    return request is not None and request[2].runs_in(sql, params)


def log_retry(limit_ms: int, sql: str) -> None:
    logger.warning(
        "a query of an ordinary page passed the %s ms time limit; tried once more: %s",
        limit_ms, " ".join(str(sql).split())[:300],
    )


_installed = False


def use_retry_on_interrupt() -> None:
    """Make Datasette's ``Database.execute`` try an ordinary interrupted query once more.

    Once per process, and first (``register()`` runs before any instance is built): the
    SQL lane (``sql_lane.use_lane_for_execute``) then wraps this, so a retry never takes a
    second place on the lane, and a second wrapping never hides the lane's own.
    """
    global _installed
    if _installed:
        return
    _installed = True
    original = datasette_database.Database.execute

    async def execute(self, sql, params=None, truncate=False, custom_time_limit=None, page_size=None,
                      log_sql_errors=True):
        arguments = (sql, params, truncate, custom_time_limit, page_size, log_sql_errors)
        try:
            return await original(self, *arguments)
        except QueryInterrupted:
            if custom_time_limit is not None or carries_visitor_sql(sql, params):
                raise
            log_retry(self.ds.sql_time_limit_ms, sql)
            return await original(self, *arguments)

    # Should the lane's wrapping already be in place (an instance built before register()),
    # say so, or the lane would wrap again and a visitor's query wait on itself for a place.
    execute._leftbehind_lane = getattr(original, "_leftbehind_lane", False)
    datasette_database.Database.execute = execute


async def read_rows(db, sql: str, params: dict | tuple | None = None) -> list[dict[str, Any]]:
    """``sql``'s rows as dicts, read on one of Datasette's connections without a time limit:
    for what the site reads once, at start-up, from the immutable database."""

    return await db.execute_fn(lambda connection: rows_of(connection.execute(sql, params or {})))


def rows_of(cursor: sqlite3.Cursor) -> list[dict[str, Any]]:
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def rows_within_limit(connection: sqlite3.Connection, sql: str, params: dict, limit_ms: int) -> list[dict[str, Any]]:
    """For a function run on one of Datasette's connections (``db.execute_fn``): ``sql``'s rows under
    the time limit, tried once more when the limit interrupts them, as ``Database.execute`` does
    for an ordinary page's query; interrupted twice, ``QueryInterrupted``, as there."""
    for attempt in (1, 2):
        try:
            with datasette_database.sqlite_timelimit(connection, limit_ms):
                return rows_of(connection.execute(sql, params))
        except sqlite3.OperationalError as error:
            if "interrupted" not in str(error):
                raise
            if attempt == 2:
                raise QueryInterrupted(error, sql, params) from error
            log_retry(limit_ms, sql)
