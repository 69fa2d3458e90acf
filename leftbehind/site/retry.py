"""An ordinary page's query that the time limit interrupts is tried once more, and logged.

On a busy machine a query that takes a millisecond can pass Datasette's time limit while
it waits for a core (the limit is kept by a timer, ``sqlite_limits.interrupt_after``), and
the page failed: Datasette's 'SQL Interrupted' page, or a 500 from a hook. So a query
interrupted while serving an ordinary request runs once more, and a warning names it.

Not tried again: visitors' own SQL (``sql_lane.VISITOR_SQL``), whose limit is the point,
and queries given a shorter limit of their own (facets, counts, suggested facets), which
Datasette already leaves out of the page when they take too long. A query interrupted
twice is answered 503 by ``client_errors``, never 500.

What the pages read once (lookups, facts, schema, the sitemap) is read at start-up with
``read_rows``, without the visitors' time limit (``startup`` hooks in those modules).
"""

from __future__ import annotations

import logging
from typing import Any

from datasette import database as datasette_database
from datasette.database import QueryInterrupted

from leftbehind.site.sql_lane import VISITOR_SQL

logger = logging.getLogger(__name__)


def use_retry_on_interrupt() -> None:
    """Make Datasette's ``Database.execute`` try an ordinary interrupted query once more (once)."""
    original = datasette_database.Database.execute
    if getattr(original, "tries_twice", False):
        return

    async def execute(self, sql, params=None, truncate=False, custom_time_limit=None, page_size=None,
                      log_sql_errors=True):
        arguments = (sql, params, truncate, custom_time_limit, page_size, log_sql_errors)
        try:
            return await original(self, *arguments)
        except QueryInterrupted:
            if custom_time_limit is not None or VISITOR_SQL.get():
                raise
            logger.warning(
                "a query of an ordinary page passed the %s ms time limit; tried once more: %s",
                self.ds.sql_time_limit_ms, " ".join(str(sql).split())[:300],
            )
            return await original(self, *arguments)

    execute.tries_twice = True
    datasette_database.Database.execute = execute


async def read_rows(db, sql: str, params: dict | tuple | None = None) -> list[dict[str, Any]]:
    """``sql``'s rows as dicts, read on one of Datasette's connections without a time limit:
    for what the site reads once, at start-up, from the immutable database."""

    def read(connection) -> list[dict[str, Any]]:
        cursor = connection.execute(sql, params or {})
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]

    return await db.execute_fn(read)
