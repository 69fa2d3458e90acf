"""One lane for visitors' own SQL, shared fairly, so ordinary pages never wait behind it.

Datasette runs every query on one pool of ``num_sql_threads`` threads, so four
clients looping queries that run until the time limit held every thread and each
ordinary page's queries waited behind them. Here a request that runs SQL a visitor
wrote runs its queries on a thread of its own, at a lower CPU priority (Linux).

Which requests: those whose parameters, *as Datasette reads them*, carry SQL of the
visitor's: ``sql`` (unless it is one of the site's own dashboard queries), ``_where``,
or a full-text search in raw mode (``_searchmode=raw``: the visitor writes FTS5's
query language). The parameters are parsed by Datasette's own ``Request``, so a
percent-encoded name (``?s%71l=``, ``?_wh%65re=``) is the name Datasette will use, and
the path is not looked at at all, so no spelling of a database or table name
(``/leftbehin~64.json``) takes a query off the lane.

The lane is held only while a query runs, never while an answer is sent: every query
of such a request that carries the visitor's text (``Database.execute``, the one door
Datasette's views use, sees the SQL and its parameters) first takes one of
``USER_SQL_SLOTS`` places and gives it back when SQLite is done; Datasette's own
look-ups for the same page run as usual.
A streamed CSV that its client never reads waits in its send, holding nothing.
Queries that find the places taken wait in turn *by client*: each time a place
comes free it goes to the waiting client whose last turn is oldest (a client never
served first), so one client sending query after query cannot starve the others:
anyone else waits for at most the queries already running. A query that
cannot start within ``USER_SQL_WAIT_SECONDS``, or whose client already has
``MAX_WAITING_PER_CLIENT`` queries waiting, is answered 429. Each server process
(leftbehind/server.py) has its own lane.

SQLite's own limits on every connection are in ``sqlite_limits``.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import ipaddress
import os
import sys
import threading
from collections import OrderedDict, deque
from concurrent import futures
from typing import NamedTuple

from datasette import hookimpl
from datasette.database import Database
from datasette.utils import InvalidSql, validate_sql_select
from datasette.utils.asgi import Request
from datasette.views.base import DatasetteError

from leftbehind.site.sqlite_limits import use_interrupt_time_limit

USER_SQL_SLOTS = 1
USER_SQL_WAIT_SECONDS = 2.0
MAX_WAITING_PER_CLIENT = 4
USER_SQL_THREADS = 1
USER_SQL_NICENESS = 10  # added to the visitors' SQL thread's nice value (Linux)
RETRY_AFTER_SECONDS = 2
BUSY_MESSAGE = (
    "The server is already running other visitors' SQL queries, and runs them one at a time, "
    "taking turns, so that ordinary pages stay fast. Try again in a few seconds."
)


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


class VisitorSql(NamedTuple):
    """What a visitor wrote into a request: SQL (``sql``, ``_where``) and raw full-text searches."""

    sql: tuple[str, ...]
    searches: tuple[str, ...]

    def runs_in(self, sql: str, params) -> bool:
        """Whether a query Datasette is about to execute carries any of it.

        ``?sql=`` is executed as it is and each ``_where`` is written into the
        table page's queries as it is; a search is passed as a parameter.
        """
        if any(text in sql for text in self.sql):
            return True
        values = params.values() if isinstance(params, dict) else (params or ())
        return any(isinstance(value, str) and value in self.searches for value in values)


def visitor_sql(scope, trusted: frozenset[str]) -> VisitorSql | None:
    """The SQL a visitor wrote into this request, judged by the parameters as Datasette reads them; None if none."""
    args = Request(scope, None).args
    sql = [value for value in args.getlist("sql") if value not in trusted and will_run(value)]
    sql += [value for value in args.getlist("_where") if value.strip()]
    searches = []
    if "raw" in args.getlist("_searchmode"):
        searches = [value for name in args.keys() if name.startswith("_search") and name != "_searchmode"
                    for value in args.getlist(name) if value.strip()]
    if not sql and not searches:
        return None
    return VisitorSql(tuple(sql), tuple(searches))


def is_user_sql(scope, trusted: frozenset[str]) -> bool:
    """Whether this request runs SQL a visitor wrote."""
    return visitor_sql(scope, trusted) is not None


# The header in which the platform's proxy states each visitor's address, when the site
# runs behind one: there every request comes from the proxy's own address, so without it
# the lane would see a single client, and one visitor's queries could keep every other
# visitor's waiting (as bench/hostile_load.py's staggered run showed: 85% of another
# client's queries refused). Only a header the proxy itself sets on every request will do
# (its value the last, should a visitor send one too): Fly's ``Fly-Client-IP``
# (deploy/fly.toml sets it). Unset, the connection's own address.
CLIENT_HEADER_VARIABLE = "LEFTBEHIND_CLIENT_HEADER"


def client_of(scope) -> str:
    """Who is asking: the address in the proxy's client header (``CLIENT_HEADER_VARIABLE``)
    when one is configured and holds an IP address, else the connection's own address (the
    proxy's ``X-Forwarded-For`` only when the proxy is trusted, leftbehind/server.py)."""
    header = os.environ.get(CLIENT_HEADER_VARIABLE, "").strip().lower().encode("latin-1")
    if header:
        stated = [value for name, value in scope.get("headers", ()) if name == header]
        if stated:  # the last: a proxy that adds its own rather than replacing puts it last
            with contextlib.suppress(ValueError, UnicodeDecodeError):
                return str(ipaddress.ip_address(stated[-1].decode("ascii").strip()))
    client = scope.get("client")
    return str(client[0]) if client else ""


class LaneBusy(DatasetteError):
    """No place on the lane came free in time: answered 429."""

    def __init__(self) -> None:
        super().__init__(BUSY_MESSAGE, title="Too many SQL queries", status=429)


class FairLane:
    """``slots`` places for visitors' queries; those waiting are served one client at a time, in turn.

    ``queues`` holds, for each client with queries waiting, its waiting queries in
    order. ``last_turn`` numbers each client's latest turn (the ``REMEMBERED_TURNS``
    latest clients); a place that comes free goes to the waiting client whose last
    turn is oldest, one never served first, ties in order of arrival.
    """

    REMEMBERED_TURNS = 4096

    def __init__(self, slots: int = USER_SQL_SLOTS, wait: float = USER_SQL_WAIT_SECONDS,
                 per_client: int = MAX_WAITING_PER_CLIENT) -> None:
        self.slots = slots
        self.wait = wait
        self.per_client = per_client
        self.running = 0
        self.queues: OrderedDict[str, deque[asyncio.Future]] = OrderedDict()
        self.turns = 0
        self.last_turn: OrderedDict[str, int] = OrderedDict()

    def _take_turn(self, client: str) -> None:
        self.turns += 1
        self.last_turn.pop(client, None)
        self.last_turn[client] = self.turns
        if len(self.last_turn) > self.REMEMBERED_TURNS:
            self.last_turn.popitem(last=False)

    async def acquire(self, client: str) -> bool:
        """Take a place (True), or give up after ``wait`` seconds or at once when the client has too many waiting."""
        if self.running < self.slots and not self.queues:
            self.running += 1
            self._take_turn(client)
            return True
        queue = self.queues.get(client)
        if queue is not None and len(queue) >= self.per_client:
            return False
        future = asyncio.get_running_loop().create_future()
        self.queues.setdefault(client, deque()).append(future)
        try:
            await asyncio.wait_for(future, self.wait)
            return True
        except asyncio.TimeoutError:
            return False
        finally:
            if not (future.done() and not future.cancelled()):
                self._forget(client, future)

    def release(self) -> None:
        """Give a place back: to the next client in turn, if any is waiting."""
        while self.queues:
            client = min(self.queues, key=lambda name: self.last_turn.get(name, 0))
            queue = self.queues[client]
            future = queue.popleft()
            if not queue:
                del self.queues[client]
            if not future.done():
                self._take_turn(client)
                future.set_result(True)
                return
        self.running -= 1

    def _forget(self, client: str, future: asyncio.Future) -> None:
        queue = self.queues.get(client)
        if queue is not None and future in queue:
            queue.remove(future)
            if not queue:
                del self.queues[client]


# While a request with a visitor's SQL is answered: the lane, the client and what the
# visitor wrote; ``Database.execute`` reads them for every query the request runs.
REQUEST: contextvars.ContextVar[tuple[FairLane, str, VisitorSql] | None] = contextvars.ContextVar(
    "visitor_sql_request", default=None
)
# Set for the one query that runs on the lane: the executor sends it to the visitors' thread.
ON_LANE: contextvars.ContextVar[bool] = contextvars.ContextVar("visitor_sql_on_lane", default=False)


async def execute_on_lane(original, db: Database, sql: str, *args, **kwargs):
    """Run a query that carries a visitor's SQL once it has a place on the lane; give the place back
    when SQLite is done. Every other query (Datasette's own look-ups) runs as usual.

    The query runs as a task of its own: if the request is cancelled (its client went
    away), the place is still held until the query's thread has finished with it.
    """
    request = REQUEST.get()
    params = args[0] if args else kwargs.get("params")
    if request is None or not request[2].runs_in(sql, params):
        return await original(db, sql, *args, **kwargs)
    lane, client, _ = request
    if not await lane.acquire(client):
        raise LaneBusy()
    token = ON_LANE.set(True)
    try:
        query = asyncio.ensure_future(original(db, sql, *args, **kwargs))  # copies the context: ON_LANE
    finally:
        ON_LANE.reset(token)
    query.add_done_callback(lambda done: (lane.release(), done.cancelled() or done.exception()))
    return await asyncio.shield(query)


def use_lane_for_execute() -> None:
    """Make ``Database.execute`` take a place on the lane for visitors' queries (once per process)."""
    original = Database.execute
    if getattr(original, "_leftbehind_lane", False):
        return

    async def execute(self, sql, *args, **kwargs):
        return await execute_on_lane(original, self, sql, *args, **kwargs)

    execute._leftbehind_lane = True
    Database.execute = execute


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
        pool = self.visitors if ON_LANE.get() else self.ordinary
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


def lane_for(datasette) -> FairLane:
    """The one lane of a Datasette instance, shared by every app it builds."""
    lane = getattr(datasette, "_leftbehind_sql_lane", None)
    if lane is None:
        lane = datasette._leftbehind_sql_lane = FairLane()
    return lane


def user_sql_lane(app, datasette):
    """Mark requests with visitors' SQL, so their queries take turns on the lane (and say when to retry)."""
    lane = lane_for(datasette)
    trusted = site_queries(datasette)

    async def laned(scope, receive, send):
        visitor = visitor_sql(scope, trusted) if scope["type"] == "http" else None
        if visitor is None:
            await app(scope, receive, send)
            return
        started = False

        async def send_with_retry_after(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                if message["status"] == 429:
                    headers = [*message.get("headers", []), (b"retry-after", str(RETRY_AFTER_SECONDS).encode())]
                    message = dict(message, headers=headers)
            await send(message)

        token = REQUEST.set((lane, client_of(scope), visitor))
        try:
            await app(scope, receive, send_with_retry_after)
        except LaneBusy:
            # Raised by a query Datasette runs before its views' own error handling.
            if started:
                raise
            await send_busy(send_with_retry_after)
        finally:
            REQUEST.reset(token)

    return laned


async def send_busy(send) -> None:
    body = (BUSY_MESSAGE + "\n").encode()
    await send({
        "type": "http.response.start",
        "status": 429,
        "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"cache-control", b"no-store"),
                    (b"content-length", str(len(body)).encode())],
    })
    await send({"type": "http.response.body", "body": body})


@hookimpl(tryfirst=True)
def asgi_wrapper(datasette):
    # tryfirst: the innermost layer, inside the page cache, so a cached answer
    # never waits for a place.
    use_interrupt_time_limit()
    use_laned_executor(datasette)
    use_lane_for_execute()

    def wrap(app):
        return user_sql_lane(app, datasette)

    return wrap
