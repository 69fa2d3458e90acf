"""Bad requests answered as 4xx with Datasette's own error page, never as 500.

Datasette 0.65 raises plain Python and SQLite exceptions for many malformed requests
(a sort by an unknown column, a ``_next`` too large for SQLite, a ``_through`` naming
nothing); its default handler would serve each as 500 Internal Server Error and print
a traceback. ``as_client_error`` says which exceptions are the client's doing, and the
``handle_exception`` wrapper serves Datasette's page for them with the right status.
"""

from __future__ import annotations

import errno
import inspect
import json
import sqlite3

from datasette import hookimpl
from datasette.database import QueryInterrupted
from datasette.views.base import DatasetteError

BUSY_MESSAGE = "The server is too busy to finish this page just now. Please try again in a few seconds."

# What SQLite (or the result budget of leftbehind/site/sql_lane.py) says when a
# query goes past one of the limits set for untrusted SQL.
LIMIT_MESSAGES = (
    "not authorized",
    "is prohibited",
    "string or blob too big",
    "Expression tree is too large",
    "too many SQL variables",
    "LIKE or GLOB pattern too complex",
    "too many terms in compound SELECT",
    "too many columns",
    "too many arguments on function",
    "statement too long",
    "Query result too large",
)

# Datasette 0.65 raises these for bad query-string parameters without setting a
# status, so they would be served as 500 Internal Server Error.
CLIENT_ERROR_PREFIXES = (
    "Cannot sort table by ",
    "Cannot use _sort and _sort_desc at the same time",
    "Invalid _through",
)


def as_client_error(request, exception: Exception) -> DatasetteError | None:
    """The 400 error a bad request should have given, if this was one (or the 503 of a
    server too busy to finish a query of the site's own pages in time)."""
    if isinstance(exception, QueryInterrupted):
        # Interrupted twice (leftbehind/site/retry.py): the machine is too busy right now.
        return DatasetteError(BUSY_MESSAGE, title="Too busy", status=503)
    if isinstance(exception, DatasetteError):
        if exception.status == 500 and str(exception.message).startswith(CLIENT_ERROR_PREFIXES):
            return DatasetteError(exception.message, title="Invalid request", status=400)
        return None
    if isinstance(exception, UnicodeDecodeError):
        # SQLite's message quoted text that is not UTF-8 (cast(x'ff' as text)), and
        # Python's sqlite3 fails to decode the message instead of raising it.
        return DatasetteError(
            "SQLite reported an error whose message is not valid UTF-8 text: check any text made from bytes "
            "(such as cast(x'ff' as text)) in the query.",
            title="Invalid query",
            status=400,
        )
    if isinstance(exception, sqlite3.DatabaseError) and any(part in str(exception) for part in LIMIT_MESSAGES):
        # A query stopped by the SQLite limits (leftbehind/site/sql_lane.py) inside a
        # table page: too large a result, too deep an expression, not authorised.
        return DatasetteError(str(exception), title="Invalid query", status=400)
    if isinstance(exception, json.JSONDecodeError):
        # A parameter Datasette reads as JSON (a list for __in, a _through object).
        return DatasetteError(f"A parameter that must be JSON is not valid JSON: {exception}.",
                              title="Invalid request", status=400)
    if isinstance(exception, RecursionError):
        # A value nested thousands deep (JSON in a ?sql= cell read with _json=, say):
        # Python's parsers give up at its recursion limit.
        return DatasetteError("A value in the request or its result is nested too deeply to read "
                              "(JSON nested thousands of levels, for example).", title="Invalid request", status=400)
    if isinstance(exception, OverflowError):
        return DatasetteError("A number in the request is too large for SQLite, whose integers stop at "
                              "9223372036854775807.", title="Invalid request", status=400)
    if isinstance(exception, (sqlite3.ProgrammingError, sqlite3.InterfaceError)) and "binding parameter" in str(
        exception
    ) and "You did not supply" not in str(exception):
        # A JSON list for __in whose items are objects or lists.
        return DatasetteError(f"A value in the request cannot be used in SQL: {exception}.",
                              title="Invalid request", status=400)
    if isinstance(exception, KeyError) and "_shape" in request.args:
        # ?_shape= on a database's own page, which has no rows to reshape.
        return DatasetteError("_shape reshapes rows: it applies to tables, rows and queries (?sql=), "
                              "not to a database's page.", title="Invalid request", status=400)
    if isinstance(exception, sqlite3.ProgrammingError) and "You did not supply a value for binding" in str(exception):
        # A row URL with fewer values than the table has primary key columns.
        return DatasetteError(
            "Row not found: a row of this table is named by each of its primary key values, joined by commas.",
            title="Not found",
            status=404,
        )
    if "_through" in request.args and isinstance(exception, (KeyError, ValueError, TypeError, IndexError, AttributeError)):
        # A _through naming a table or column that is not there fails inside Datasette's filter code.
        return DatasetteError("Invalid _through parameter", title="Invalid request", status=400)
    url_vars = request.url_vars
    database_csv = url_vars.get("format") == "csv" and "table" not in url_vars and not request.args.get("sql")
    if isinstance(exception, KeyError) and database_csv:
        # A database's own page as CSV, without a query to export.
        return DatasetteError("A database's page has no rows to export: give a query, ?sql=select ...",
                              title="Invalid request", status=400)
    bad_offset = (isinstance(exception, ValueError) and "invalid literal for int()" in str(exception)) or (
        isinstance(exception, sqlite3.IntegrityError) and "datatype mismatch" in str(exception)
    )
    if "_next" in request.args and bad_offset:
        # A view pages by row offset, written into the SQL: its _next must be a whole number
        # SQLite can hold (a larger one is written as a real, and OFFSET refuses it).
        return DatasetteError("Invalid _next: on a view it is the number of rows to skip, a whole number "
                              "below 9223372036854775808.", title="Invalid request", status=400)
    if isinstance(exception, OSError) and exception.errno == errno.ENAMETOOLONG:
        # A static file path with a name longer than the file system allows.
        return DatasetteError("File not found", title="Not found", status=404)
    return None


@hookimpl(hookwrapper=True)
def handle_exception(datasette, request, exception):
    """Serve Datasette's own error page, but as a 4xx for a bad request.

    A wrapper, not a plain implementation: Datasette awaits every implementation's
    answer and uses the first, so its default handler would still run for the original
    exception, print its traceback as for a 500 and render a page nobody gets. For a
    request we answer, the other implementations' answers are dropped unawaited.
    """
    # Imported here, not at the top: importing datasette.handle_exception before
    # datasette.plugins (as a script that loads this file on its own would) leaves
    # Datasette's default handler unregistered.
    from datasette.handle_exception import handle_exception as default_handle_exception

    outcome = yield
    client_error = as_client_error(request, exception)
    if client_error is None:
        return  # Datasette's default handler renders it
    for answer in outcome.get_result():
        if inspect.iscoroutine(answer):
            answer.close()  # never started: closing it avoids a "never awaited" warning
    outcome.force_result([default_handle_exception(datasette, request, client_error)])
