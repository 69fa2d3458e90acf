"""SQLite configured for untrusted SQL, on every connection Datasette opens.

Anyone may send SQL to the public site (``?sql=``, ``_where=``), so every
connection is set up as SQLite's own guidance for untrusted SQL asks
("Defense against the dark arts", https://sqlite.org/security.html):

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
- Datasette's time limit is kept by a timer that interrupts the query
  (``interrupt_after``), not by a Python progress handler.
"""

from __future__ import annotations

import contextlib
import heapq
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable

from datasette import database as datasette_database
from datasette import hookimpl

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

# Columns read as NULL: the file a database was opened from names the server's folders.
HIDDEN_COLUMNS = {("pragma_database_list", "file")}


def authorizer(action: int, arg1: str | None, arg2: str | None, database: str | None, trigger: str | None) -> int:
    """SQLite's authorizer callback: refuse what exposes pointers, files or other statements."""
    if action == sqlite3.SQLITE_READ and ((arg1 or "").lower(), (arg2 or "").lower()) in HIDDEN_COLUMNS:
        return sqlite3.SQLITE_IGNORE
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


TICK_SECONDS = 0.01


class Interrupter:
    """One thread that interrupts every query still running at its deadline.

    A query registers its connection and deadline (a lock, a push on a heap) and, when it
    ends, marks its entry done; the thread sleeps until the earliest deadline, and is
    woken only when a new deadline comes before every other (the limits are all alike, so
    almost never). Done entries leave the heap when their deadline passes; the thread wakes
    at most every ``TICK_SECONDS`` for them, so a query may run up to that much past its
    limit, and a busy site's thousands of queries a second cost the thread 100 wake-ups. The thread
    calls ``Connection.interrupt()`` only under the lock and only for an entry not yet done,
    so it never interrupts the connection's next query.
    """

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """A fresh lock, heap and thread (also in a forked child: the parent's thread is not there)."""
        self.lock = threading.Lock()
        self.wake = threading.Condition(self.lock)
        self.heap: list[list] = []  # [deadline, sequence, connection, running]
        self.sequence = 0
        self.thread: threading.Thread | None = None

    def add(self, conn: sqlite3.Connection, seconds: float) -> list:
        deadline = time.monotonic() + seconds
        with self.lock:
            self.sequence += 1
            entry = [deadline, self.sequence, conn, True]
            heapq.heappush(self.heap, entry)
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self.run, name="sql-time-limit", daemon=True)
                self.thread.start()
            elif self.heap[0] is entry:
                self.wake.notify()
        return entry

    def done(self, entry: list) -> None:
        with self.lock:
            entry[3] = False
            entry[2] = None  # the connection is not kept alive until the deadline

    def run(self) -> None:
        with self.lock:
            while True:
                if not self.heap:
                    self.wake.wait()
                    continue
                wait = self.heap[0][0] - time.monotonic()
                if wait > 0:
                    self.wake.wait(max(wait, TICK_SECONDS))
                    continue
                _, _, conn, running = heapq.heappop(self.heap)
                if running:
                    conn.interrupt()


INTERRUPTER = Interrupter()
os.register_at_fork(after_in_child=INTERRUPTER.reset)


@contextlib.contextmanager
def interrupt_after(conn: sqlite3.Connection, ms: int):
    """Datasette's time limit, kept by a timer that interrupts the query, not a progress handler.

    Datasette 0.65 (``datasette.utils.sqlite_timelimit``) calls a Python function every
    1,000 SQLite instructions, about 12,000 times a second: a query running to the
    limit then takes the GIL back from the thread that renders every other visitor's
    page thousands of times a second (with four clients looping runaway queries, ordinary
    pages had about 30% less throughput). ``Connection.interrupt()`` from a timer ends
    the query the same way (SQLite's "interrupted", which Datasette reports as a query
    that took too long) while the query runs without ever needing the GIL. One thread
    keeps every query's deadline (``Interrupter``): a thread started per query cost more
    than many of the queries (79 on the home page).
    """
    entry = INTERRUPTER.add(conn, ms / 1000)
    try:
        yield
    finally:
        INTERRUPTER.done(entry)


def use_interrupt_time_limit() -> None:
    """Make Datasette keep its SQL time limits with ``interrupt_after`` (see there why)."""
    datasette_database.sqlite_timelimit = interrupt_after


@hookimpl
def prepare_connection(conn, database, datasette):
    """Runs on every connection Datasette opens, for every database."""
    connect_full_text_tables(conn)
    for limit, value in LIMITS.items():
        conn.setlimit(limit, value)
    conn.set_authorizer(authorizer)
    conn.row_factory = budgeted_row_factory(RESULT_BUDGET_BYTES)


def connect_full_text_tables(conn) -> None:
    """Open every FTS5 table on this connection now, before any time limit applies.

    SQLite connects a virtual table on a connection the first time a statement uses it,
    reading the table's configuration; a time limit that interrupts that read fails the
    visitor's query with "vtable constructor failed" (not "interrupted", so not retried),
    which a busy machine made happen on a connection's first full-text search.
    """
    names = [row[0] for row in conn.execute(
        "select name from sqlite_master where type = 'table' and sql like 'CREATE VIRTUAL TABLE%USING FTS5%'")]
    for name in names:
        conn.execute(f"select rowid from [{name.replace(']', ']]')}] where 0").fetchall()


