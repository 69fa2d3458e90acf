"""One lane for visitors' own SQL, so ordinary pages never wait behind it.

Datasette runs every query on one pool of ``num_sql_threads`` threads, so four
clients looping queries that run until the time limit held every thread and each
ordinary page's queries waited behind them. Here a request carrying a visitor's
SQL (``?sql=``, ``_where=``) runs its queries on a thread of its own, at a lower
CPU priority (Linux), and at most ``USER_SQL_SLOTS`` such requests run at once;
one that cannot start within ``USER_SQL_WAIT_SECONDS`` is answered 429. The
site's own queries (the dashboard's charts, which are ``?sql=`` requests) are not
visitors' SQL. SQLite's own limits on every connection are in ``sqlite_limits``.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import os
import re
import sys
import threading
from concurrent import futures
from urllib.parse import parse_qsl

from datasette import hookimpl
from datasette.utils import InvalidSql, validate_sql_select

from leftbehind.site.sqlite_limits import use_interrupt_time_limit

USER_SQL_SLOTS = 1
USER_SQL_WAIT_SECONDS = 2.0
USER_SQL_THREADS = 1
USER_SQL_NICENESS = 10  # added to the visitors' SQL thread's nice value (Linux)
BUSY_MESSAGE = (
    "The server is already running another visitor's SQL query, and runs one at a time so that "
    "ordinary pages stay fast. Try again in a few seconds."
)
DATABASE_PATH = re.compile(r"^/(?P<database>[^/.]+)(\.\w+)?$")
TABLE_PATH = re.compile(r"^/(?P<database>[^/.]+)/[^/]+$")


def site_queries(datasette) -> frozenset[str]:
    """SQL the site itself sends as ``?sql=``: the dashboards' chart queries."""
    queries = set()
    for dashboard in (datasette.plugin_config("datasette-dashboards") or {}).values():
        for chart in (dashboard.get("charts") or {}).values():
            if isinstance(chart, dict) and chart.get("query"):
                queries.add(chart["query"])
    return frozenset(queries)


def will_run(sql: str) -> bool:
    """Whether Datasette would run ``sql``: it refuses anything but a SELECT before running it."""
    try:
        validate_sql_select(sql)
    except InvalidSql:
        return False
    return bool(sql.strip())


def is_user_sql(scope, databases: set[str], trusted: frozenset[str]) -> bool:
    """Whether this request runs SQL a visitor wrote: ``?sql=`` or ``_where=``."""
    path = (scope.get("raw_path") or scope["path"].encode("utf-8")).decode("latin-1")
    query_string = scope.get("query_string", b"")
    if b"sql=" not in query_string and b"_where=" not in query_string:
        return False
    params = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
    match = DATABASE_PATH.match(path)
    if match and match["database"] in databases:
        return any(name == "sql" and value not in trusted and will_run(value) for name, value in params)
    match = TABLE_PATH.match(path)
    if match and match["database"] in databases:
        return any(name == "_where" and value.strip() for name, value in params)
    return False


async def send_busy(send, path: str) -> None:
    if path.endswith(".json"):
        body = json.dumps({"ok": False, "error": BUSY_MESSAGE, "status": 429, "title": "Too many SQL queries"}).encode()
        content_type = b"application/json; charset=utf-8"
    else:
        body = (BUSY_MESSAGE + "\n").encode()
        content_type = b"text/plain; charset=utf-8"
    await send({
        "type": "http.response.start",
        "status": 429,
        "headers": [(b"content-type", content_type), (b"retry-after", b"2"), (b"cache-control", b"no-store"),
                    (b"content-length", str(len(body)).encode())],
    })
    await send({"type": "http.response.body", "body": body})


# Set while a request carrying a visitor's SQL is being answered; the executor
# below reads it when Datasette hands it a query.
VISITOR_SQL: contextvars.ContextVar[bool] = contextvars.ContextVar("visitor_sql", default=False)


def lower_thread_priority() -> None:
    """Make the calling thread yield the CPU to the others (Linux nice values are per thread)."""
    if sys.platform == "linux":
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), USER_SQL_NICENESS)


class LanedExecutor(futures.Executor):
    """Datasette's SQL thread pool, with visitors' SQL sent to a pool of its own."""

    def __init__(self, ordinary: futures.Executor, visitors: futures.Executor) -> None:
        self.ordinary = ordinary
        self.visitors = visitors

    def submit(self, fn, /, *args, **kwargs):
        pool = self.visitors if VISITOR_SQL.get() else self.ordinary
        return pool.submit(fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self.ordinary.shutdown(wait, cancel_futures=cancel_futures)
        self.visitors.shutdown(wait, cancel_futures=cancel_futures)


def use_laned_executor(datasette) -> None:
    """Give ``datasette`` a separate, low-priority thread for visitors' SQL (once)."""
    if datasette.executor is None or isinstance(datasette.executor, LanedExecutor):
        return  # Datasette without threads runs every query on the event loop's thread
    visitors = futures.ThreadPoolExecutor(
        max_workers=USER_SQL_THREADS, thread_name_prefix="visitor-sql", initializer=lower_thread_priority
    )
    datasette.executor = LanedExecutor(datasette.executor, visitors)


def user_sql_lane(app, datasette, slots: int = USER_SQL_SLOTS, wait: float = USER_SQL_WAIT_SECONDS):
    """Answer requests with visitors' SQL on their own lane: ``slots`` at a time, the rest wait, then 429."""
    semaphore = asyncio.Semaphore(slots)
    trusted = site_queries(datasette)

    async def lane(scope, receive, send):
        if scope["type"] != "http" or not is_user_sql(scope, set(datasette.databases), trusted):
            await app(scope, receive, send)
            return
        try:
            await asyncio.wait_for(semaphore.acquire(), wait)
        except asyncio.TimeoutError:
            await send_busy(send, scope["path"])
            return
        token = VISITOR_SQL.set(True)
        try:
            await app(scope, receive, send)
        finally:
            VISITOR_SQL.reset(token)
            semaphore.release()

    return lane


@hookimpl(tryfirst=True)
def asgi_wrapper(datasette):
    # tryfirst: the innermost layer, inside the page cache, so a cached answer
    # never waits for a slot.
    use_interrupt_time_limit()
    use_laned_executor(datasette)

    def wrap(app):
        return user_sql_lane(app, datasette)

    return wrap
