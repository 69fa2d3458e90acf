"""Ordinary pages are served while the database's connections stall, as they do when the
machine's cores are busy elsewhere: never a 500, never Datasette's 'SQL Interrupted'.

On a busy machine a query that takes a millisecond can pass Datasette's time limit while it
waits for a core. Here, once the site has started, every statement run under a time limit is
interrupted the first time it runs, as the limit's timer interrupts a statement that has passed
it, and runs as usual after: a moment of contention, which a second try gets past. Through the
publishing profile's real plugins. What the site reads once (the cells' lookups, its facts and
schema, the sitemap) is read at start-up without the visitors' time limit; an ordinary page's
interrupted query is tried once more, and logged; visitors' own SQL is not given a second go.

The time limit itself is far beyond any run of these queries on a busy machine: what is proved
is that the interrupted first attempt is tried again, not how fast the second one is.
"""

from __future__ import annotations

import logging
import threading
from urllib.parse import quote

import pytest_asyncio
from datasette import hookimpl
from datasette.plugins import pm

from conftest import profile_datasette
from leftbehind.site.sqlite_limits import INTERRUPTER
from support.live import PROBE_PATH

TIME_LIMIT_MS = 60_000  # never reached: the first runs are interrupted on purpose
PAGES = [
    "/about",  # the site's facts, and its JSON-LD
    "/leftbehind/wards?region_name=North+East",  # the page that failed in CI (the cells' lookups)
    "/leftbehind/wards/E05001595",
    "/leftbehind/publications",
    "/leftbehind/left_behind_neighbourhoods",
    "/find-my-ward?q=durham",
    "/find-my-ward.json?q=dur",
]


class StallingConnections:
    """A plugin: on every connection to leftbehind, a statement run under a time limit is
    interrupted the first time it runs."""

    __name__ = "stalling-connections"  # Datasette lists its plugins by name

    def __init__(self) -> None:
        self.seen: set[str] = set()
        self.lock = threading.Lock()
        self.active = False

    @property
    def stalls(self) -> int:
        return len(self.seen)

    @hookimpl
    def prepare_connection(self, conn, database, datasette):
        if database != "leftbehind":
            return

        def trace(statement: str) -> None:
            # SQLite traces the statements a statement runs inside it (full-text search's reads
            # of its own tables) with a leading "-- ": the contention is the outer statement's.
            if not self.active or statement.startswith("-- ") or not under_time_limit(conn):
                return
            with self.lock:
                first = statement not in self.seen
                self.seen.add(statement)
            if first:
                conn.interrupt()  # what the limit's timer does to a statement that has passed it

        conn.set_trace_callback(trace)


def under_time_limit(conn) -> bool:
    """Whether ``conn`` is running a statement under a time limit (its deadline is on the
    limit's heap, not yet done). What the site reads without a limit is never interrupted."""
    with INTERRUPTER.lock:
        return any(entry[2] is conn and entry[3] for entry in INTERRUPTER.heap)


@pytest_asyncio.fixture(scope="module")
async def stalling(db_path, metadata):
    """The publishing profile's Datasette, started, then its time limit made short and its
    connections stalling (one instance for the file)."""
    plugin = StallingConnections()
    pm.register(plugin, "stalling-connections")
    try:
        datasette = profile_datasette(db_path, metadata)
        assert (await datasette.client.get(PROBE_PATH)).status_code == 200  # start-up
        datasette._settings["sql_time_limit_ms"] = datasette.sql_time_limit_ms = TIME_LIMIT_MS
        plugin.active = True
        yield datasette, plugin
    finally:
        pm.unregister(plugin, "stalling-connections")


async def test_ordinary_pages_are_served_while_connections_stall(stalling, caplog):
    datasette, plugin = stalling
    caplog.set_level(logging.WARNING, logger="leftbehind")
    statuses = {}
    for path in PAGES:
        response = await datasette.client.get(path)
        statuses[path] = response.status_code
    assert statuses == {path: 200 for path in PAGES}
    assert plugin.stalls > 3 * len(PAGES)  # the connections did stall, on every page
    retried = [record for record in caplog.records if "tried once more" in record.getMessage()]
    assert retried, "no interrupted query was logged"


async def test_a_visitors_own_sql_is_not_tried_twice(stalling, caplog):
    datasette, plugin = stalling
    caplog.set_level(logging.WARNING, logger="leftbehind")
    caplog.clear()
    statuses, asked = [], []
    for n in range(3):
        sql = f"select count(*) + {n} from wards"  # a new statement: it stalls
        asked.append(sql)
        statuses.append((await datasette.client.get(f"/leftbehind.json?sql={quote(sql)}")).status_code)
    assert statuses == [400, 400, 400]  # interrupted, and answered so
    # The site's own queries on the way (Datasette's reading of sqlite_master, say) are ordinary and
    # may be tried again when they stall for the first time; the visitor's never is.
    retried = [record.getMessage() for record in caplog.records if "tried once more" in record.getMessage()]
    assert not [message for message in retried if any(sql in message for sql in asked)], retried
