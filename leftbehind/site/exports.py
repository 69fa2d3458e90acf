"""Exports that say what they hold: no silent truncation.

Datasette 0.65's "CSV" link on a table page asks for ``_size=max``: 1,000 rows
(``max_returned_rows``), not the 7,433 wards the page counts, and nothing says so; a
query's CSV stops at the same 1,000 rows even with ``_stream=on``. Here

- a table page's CSV link streams every row of the table as filtered (``_stream=on``),
  from the first, whatever page one is on (``url_csv``, which a plugin's template
  variables override);
- under the export links, a table page says how many rows the CSV holds and how JSON
  pages, and a query page states the cap of its exports and how to get more
  (``templates/_lb_macros.html``: ``table_export_note``, ``query_export_note``; placed by
  the filter ``after_export_links``).
- the database download (``/leftbehind.db``) says its size (``Content-Length``), so a
  browser shows how far it has got and a client knows it has the whole file: Datasette
  streams the file without one.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

from datasette import hookimpl
from markupsafe import Markup

EXPORT_LINKS = re.compile(r'(<p class="export-links">.*?</p>)', re.DOTALL)
# What a link to every row leaves out of the page's own query string.
PAGE_ONLY = ("_next", "_size", "_stream", "_labels", "_dl")


def every_row_csv_url(datasette, request, database: str, table: str) -> str:
    """The page's rows (its filters, sort and columns) as CSV, every one, streamed."""
    kept = [(key, value) for key, value in parse_qsl(request.query_string, keep_blank_values=True) if key not in PAGE_ONLY]
    query = urlencode([*kept, ("_labels", "on"), ("_stream", "on")])
    return datasette.urls.table(database, table, format="csv") + "?" + query


def after_export_links(html: str, note: str) -> Markup:
    """Datasette's rendered content with ``note`` placed just after its export links."""
    return Markup(EXPORT_LINKS.sub(lambda match: match.group(1) + str(note), str(html), count=1))


@hookimpl
def extra_template_vars(view_name, database, table, request, datasette):
    if view_name != "table" or request is None or not database or not table:
        return {}
    return {"url_csv": every_row_csv_url(datasette, request, database, table)}


@hookimpl
def prepare_jinja2_environment(env):
    env.filters["after_export_links"] = after_export_links


def download_size(datasette, scope) -> int | None:
    """The size of the database file a request downloads (``/NAME.db``), or None."""
    if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD") or not scope["path"].endswith(".db"):
        return None
    database = datasette.databases.get(scope["path"][1:-3])
    if database is None or database.is_memory or not database.path:
        return None
    return Path(database.path).stat().st_size


@hookimpl
def asgi_wrapper(datasette):
    def wrap(app):
        async def with_length(scope, receive, send):
            size = download_size(datasette, scope)
            if size is None:
                await app(scope, receive, send)
                return

            async def sending(message):
                if message["type"] == "http.response.start" and message["status"] == 200:
                    # Datasette's download says Transfer-Encoding: chunked, which would win over a length.
                    headers = [(name, value) for name, value in message.get("headers", [])
                               if name.lower() not in (b"content-length", b"transfer-encoding")]
                    message = {**message, "headers": [*headers, (b"content-length", str(size).encode())]}
                await send(message)

            await app(scope, receive, sending)

        return with_length

    return wrap
