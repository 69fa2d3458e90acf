"""Hardening for the public site: a read-only server that answers bad input with 4xx.

Loaded with ``--plugins-dir plugins`` by the publishing profile (leftbehind/serve.py),
so every published copy carries it.
"""

from __future__ import annotations

from datasette import hookimpl
from datasette.handle_exception import handle_exception as default_handle_exception
from datasette.views.base import DatasetteError

READ_METHODS = {"GET", "HEAD", "OPTIONS"}
READ_ONLY_MESSAGE = b"This is a read-only site: only GET, HEAD and OPTIONS requests are accepted.\n"

# Datasette 0.65 raises these for bad query-string parameters without setting a
# status, so they would be served as 500 Internal Server Error.
CLIENT_ERROR_PREFIXES = (
    "Cannot sort table by ",
    "Cannot use _sort and _sort_desc at the same time",
    "Invalid _through",
)


@hookimpl
def asgi_wrapper(datasette):
    """Refuse every request that could write, before Datasette sees it.

    The database is immutable and no canned query writes; without this a POST
    reaches Datasette's table view and fails with a 500.
    """

    def wrap(app):
        async def read_only(scope, receive, send):
            if scope["type"] == "http" and scope["method"] not in READ_METHODS:
                await send(
                    {
                        "type": "http.response.start",
                        "status": 405,
                        "headers": [
                            (b"content-type", b"text/plain; charset=utf-8"),
                            (b"allow", b"GET, HEAD, OPTIONS"),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": READ_ONLY_MESSAGE})
                return
            await app(scope, receive, send)

        return read_only

    return wrap


def as_client_error(request, exception: Exception) -> DatasetteError | None:
    """The 400 error a bad query-string parameter should have given, if this was one."""
    if isinstance(exception, DatasetteError):
        if exception.status == 500 and str(exception.message).startswith(CLIENT_ERROR_PREFIXES):
            return DatasetteError(exception.message, title="Invalid request", status=400)
        return None
    if "_through" in request.args and isinstance(exception, (KeyError, ValueError, TypeError, IndexError)):
        # A malformed _through JSON object fails inside Datasette's filter code.
        return DatasetteError("Invalid _through parameter", title="Invalid request", status=400)
    return None


@hookimpl
def handle_exception(datasette, request, exception):
    """Serve Datasette's own error page, but as 400 for a bad request parameter."""
    client_error = as_client_error(request, exception)
    if client_error is None:
        return None  # Datasette's default handler renders it
    return default_handle_exception(datasette, request, client_error)
