"""SQLite configured for untrusted SQL, and one lane for visitors' own SQL.

Anyone may send SQL to the public site (``?sql=``, ``_where=``), so every
connection Datasette opens is set up as SQLite's own guidance for untrusted SQL
asks ("Defense against the dark arts", https://sqlite.org/security.html):

- ``LIMITS`` lower SQLite's run-time limits to what this site needs, so one
  function call cannot build a 300 MB value (``zeroblob``, ``printf``) and one
  statement cannot be megabytes long or thousands of levels deep. README.md
  ("The publishing profile") says why each value was chosen; ``bench/sqlite_needs.py``
  measures what the database and the pages need.
- An authorizer refuses ``fts3_tokenizer`` (it hands out a native pointer, and
  with two arguments replaces a tokenizer of the pooled connection),
  ``load_extension``, ATTACH and DETACH, any PRAGMA that is not a plain read, and
  the virtual tables that show the connection's other statements or the file's
  pages (``sqlite_stmt``, ``dbstat``).
- A row factory counts the size every value could take once encoded as JSON and
  stops a query whose rows pass ``RESULT_BUDGET_BYTES`` with a clear error,
  before the rows are in memory, let alone encoded.

Visitors' own SQL also gets its own lane. Datasette runs every query on one
pool of ``num_sql_threads`` threads, so four clients looping queries that run
until the time limit held every thread and each ordinary page's queries waited
behind them. Here a request carrying a visitor's SQL runs its queries on a
thread of its own, at a lower CPU priority (Linux), and at most
``USER_SQL_SLOTS`` such requests run at once; one that cannot start within
``USER_SQL_WAIT_SECONDS`` is answered 429. The site's own queries (the
dashboard's charts, which are ``?sql=`` requests) are not visitors' SQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import os
import re
import sqlite3
import sys
import threading
import weakref
from collections.abc import Callable
from concurrent import futures
from urllib.parse import parse_qsl

from datasette import database as datasette_database
from datasette import hookimpl
from datasette.utils import InvalidSql, validate_sql_select

# What each limit is set to and why: README.md, "The publishing profile".
LIMITS = {
    sqlite3.SQLITE_LIMIT_LENGTH: 5_000_000,  # largest string, blob or row
    sqlite3.SQLITE_LIMIT_SQL_LENGTH: 50_000,  # longest statement
    sqlite3.SQLITE_LIMIT_COLUMN: 200,  # columns in a table, index, result, ORDER BY or GROUP BY
    sqlite3.SQLITE_LIMIT_EXPR_DEPTH: 250,  # depth of an expression's parse tree
    sqlite3.SQLITE_LIMIT_COMPOUND_SELECT: 20,  # terms of a UNION / INTERSECT / EXCEPT
    sqlite3.SQLITE_LIMIT_VDBE_OP: 50_000,  # instructions in one compiled statement
    sqlite3.SQLITE_LIMIT_FUNCTION_ARG: 64,  # arguments of one function call
    sqlite3.SQLITE_LIMIT_ATTACHED: 0,  # attached databases
    sqlite3.SQLITE_LIMIT_LIKE_PATTERN_LENGTH: 1_000,  # length of a LIKE or GLOB pattern
    sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER: 2_000,  # ? and :name parameters in one statement
    sqlite3.SQLITE_LIMIT_TRIGGER_DEPTH: 1,  # the database has no triggers
    sqlite3.SQLITE_LIMIT_WORKER_THREADS: 0,  # no helper threads for sorting
}
RESULT_BUDGET_BYTES = 16 * 1024 * 1024
RESULT_TOO_LARGE = (
    "Query result too large: its rows would take more than {budget} MB as JSON. "
    "Ask for fewer rows (LIMIT, _size) or fewer or shorter columns."
)

DENIED_FUNCTIONS = {"fts3_tokenizer", "load_extension", "readfile", "writefile", "edit"}
DENIED_TABLES = {"sqlite_stmt", "dbstat", "sqlite_dbpage", "sqlite_dbdata", "sqlite_dbptr"}
# PRAGMAs that only read, as Datasette itself and its ?sql= pages use them.
READ_PRAGMAS = {
    "database_list",
    "foreign_key_list",
    "function_list",
    "index_info",
    "index_list",
    "index_xinfo",
    "page_count",
    "max_page_count",
    "page_size",
    "schema_version",
    "table_info",
    "table_xinfo",
    "table_list",
    "collation_list",
    "module_list",
    "pragma_list",
    "compile_options",
    "data_version",  # FTS5 reads it when it opens a table
    "freelist_count",
    "encoding",
    "user_version",
    "application_id",
}
# A PRAGMA with an argument writes (``PRAGMA cache_size = 0``) except these, whose
# argument names a table or index to read about.
READ_PRAGMAS_WITH_ARGUMENT = {
    "foreign_key_list",
    "index_info",
    "index_list",
    "index_xinfo",
    "table_info",
    "table_xinfo",
    "table_list",
}

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


def authorizer(action: int, arg1: str | None, arg2: str | None, database: str | None, trigger: str | None) -> int:
    """SQLite's authorizer callback: refuse what exposes pointers, files or other statements."""
    if action == sqlite3.SQLITE_FUNCTION and (arg2 or "").lower() in DENIED_FUNCTIONS:
        return sqlite3.SQLITE_DENY
    if action in (sqlite3.SQLITE_ATTACH, sqlite3.SQLITE_DETACH):
        return sqlite3.SQLITE_DENY
    if action == sqlite3.SQLITE_READ and (arg1 or "").lower() in DENIED_TABLES:
        return sqlite3.SQLITE_DENY
    if action == sqlite3.SQLITE_PRAGMA:
        name = (arg1 or "").lower()
        if name not in READ_PRAGMAS or (arg2 is not None and name not in READ_PRAGMAS_WITH_ARGUMENT):
            return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK


def json_cost(value) -> int:
    """The most bytes ``value`` can take in a JSON answer.

    Printable ASCII text is sent as it is; any other character may become a
    six-byte escape (``\\u0000``), and bytes may be sent as such text.
    """
    kind = type(value)
    if kind is str:
        return len(value) if value.isascii() and value.isprintable() else 6 * len(value)
    if kind is bytes:
        return 6 * len(value)
    return 8


def budgeted_row_factory(budget: int) -> Callable:
    """A row factory that stops a query once its rows' JSON cost passes ``budget``.

    One per connection: a connection serves one query at a time, and the count
    starts again with each new cursor (Datasette opens one per query).
    """
    state: dict = {"cursor": None, "spent": 0}

    def row_factory(cursor, values):
        current = state["cursor"]
        if current is None or current() is not cursor:
            state["cursor"] = weakref.ref(cursor)
            state["spent"] = 0
        spent = state["spent"] + 16 + sum(map(json_cost, values))
        if spent > budget:
            raise sqlite3.DatabaseError(RESULT_TOO_LARGE.format(budget=budget // (1024 * 1024)))
        state["spent"] = spent
        return sqlite3.Row(cursor, values)

    return row_factory


@contextlib.contextmanager
def interrupt_after(conn: sqlite3.Connection, ms: int):
    """Datasette's time limit, kept by a timer that interrupts the query, not a progress handler.

    Datasette 0.65 (``datasette.utils.sqlite_timelimit``) calls a Python function every
    1,000 SQLite instructions, about 12,000 times a second: a query running to the
    limit then takes the GIL back from the thread that renders every other visitor's
    page thousands of times a second (with four clients looping runaway queries, ordinary
    pages had about 30% less throughput). ``Connection.interrupt()`` from a timer ends
    the query the same way (SQLite's "interrupted", which Datasette reports as a query
    that took too long) while the query runs without ever needing the GIL.
    """
    lock = threading.Lock()
    running = True

    def interrupt() -> None:
        with lock:  # never interrupt the next query on this connection
            if running:
                conn.interrupt()

    timer = threading.Timer(ms / 1000, interrupt)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        with lock:
            running = False
        timer.cancel()


def use_interrupt_time_limit() -> None:
    """Make Datasette keep its SQL time limits with ``interrupt_after`` (see there why)."""
    datasette_database.sqlite_timelimit = interrupt_after


@hookimpl
def prepare_connection(conn, database, datasette):
    """Runs on every connection Datasette opens, for every database."""
    for limit, value in LIMITS.items():
        conn.setlimit(limit, value)
    conn.set_authorizer(authorizer)
    conn.row_factory = budgeted_row_factory(RESULT_BUDGET_BYTES)


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
