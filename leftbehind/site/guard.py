"""Hardening for the public site: the outermost layer around Datasette.

Part of every copy of the site (``leftbehind.site.register()``). Before Datasette
sees a request, this layer:

1. refuses what is too big to parse cheaply: a request target over
   ``MAX_TARGET_BYTES`` (414), more than ``MAX_PARAMETERS`` parameters or
   ``MAX_FACETS`` facets (400), too many or too large headers (431);
2. refuses parameters Datasette 0.65 would answer with a 500 (a NUL byte
   anywhere, a non-numeric ``_timelimit``, a ``_through`` that is not an object of
   strings) with a 400 that says what is wrong;
3. accepts only the site's own host (400 otherwise) and rewrites the request so
   Datasette builds every absolute URL from the configured public origin, never
   from the request's ``Host`` or forwarded headers;
4. hides the debug pages and anything that reveals paths, the server's user or
   the exact versions of its software (404), and serves ``/-/databases.json``
   without file paths;
5. refuses every method but GET, HEAD and OPTIONS (405);
6. refuses ``_trace`` (Datasette's debug trace writes SQLite's error text into a
   page unescaped) and drops every ``Cookie`` header: the site has no logins, so
   no cookie means anything to it, and Python's cookie parser (quadratic in
   CPython before 3.11.10, CVE-2024-7592) is never reached.

Parameters are judged by name as Datasette will read them, after decoding
(``?_tr%61ce=1`` is ``_trace``), never by their raw bytes.

and on the way out it adds the security headers and a ``Cache-Control`` to every
response. Its ``asgi_wrapper`` runs last (``trylast``), so it wraps the page cache
(leftbehind/site/cache.py) and the SQL lane (leftbehind/site/sql_lane.py): no
refused request reaches them, and cached answers get the headers too.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import re
from typing import NamedTuple
from urllib.parse import parse_qsl, urlencode, urlsplit

from datasette import hookimpl
from datasette.utils.asgi import Response

READ_METHODS = {"GET", "HEAD", "OPTIONS"}
READ_ONLY_MESSAGE = "This is a read-only site: only GET, HEAD and OPTIONS requests are accepted."

# Request limits, checked before Datasette parses anything. Datasette 0.65 parses
# the query string again for every filter, so its cost grows with the square of
# the number of parameters: 3,000 took about 14 s, 100 take a few milliseconds.
MAX_TARGET_BYTES = 16 * 1024  # path and query string; room for a long ?sql= query
MAX_PARAMETERS = 100
MAX_FACETS = 5  # _facet, _facet_array and _facet_date together; each is a query (and a list to render)
MAX_HEADERS = 64
MAX_HEADER_BYTES = 16 * 1024
LOG_ARGUMENT_CHARS = 512  # each argument of a log line (the path above all)
# A body is handed to the server in pieces of at most this size, so that a client
# that reads slowly or not at all holds at most one piece in the server's write
# buffer (beyond its high-water mark), never a second copy of a whole large answer.
BODY_PIECE_BYTES = 64 * 1024

# Debug pages and pages that reveal the server's paths, threads or user.
# The versions and plugins pages name the exact version of every component, which
# makes any known flaw of one easy to aim at.
HIDDEN_PAGES = re.compile(
    r"^/-/(threads|actor|messages|allow-debug|patterns|permissions|auth-token|logout|versions|plugins)(\.json)?$"
)
# What one page may ask for, so that no page costs the server's event loop much more
# than the site's own pages do (measured with the fuzzer's loop-CPU check,
# tests/test_request_fuzz.py). A table's HTML page renders every cell and every facet
# value with links: 1,000 rows and ten facets of 1,000 values took 2.4 s. So HTML pages
# show at most MAX_HTML_PAGE_SIZE rows, each facet listing at most MAX_HTML_FACET_SIZE
# values (Datasette's default); in any format a facet lists at most MAX_FACET_SIZE
# values (ten facets of 1,000 values took 1.3 s as JSON) and a request asks for at most
# MAX_FACETS facets. JSON and CSV keep Datasette's max_returned_rows. A larger _size
# or _facet_size (or "max") is read as the cap, since Datasette's own "more values"
# link asks for _facet_size=max.
MAX_HTML_PAGE_SIZE = 100
MAX_FACET_SIZE = 50
MAX_HTML_FACET_SIZE = 30
DATA_FORMATS = (".json", ".csv", ".atom")
FACET_PARAMETERS = ("_facet", "_facet_array", "_facet_date")
# Request headers no page of this site reads; dropped before Datasette sees the request.
DROPPED_HEADERS = {b"cookie"}
BOOLEAN_VALUES = {"on", "off", "true", "false", "1", "0"}  # what Datasette's value_as_boolean accepts
DATABASES_PAGE = re.compile(r"^/-/databases(\.json)?$")
# Headers a proxy may add to say what the client asked for. They are never used
# to build URLs: the origin is configured.
FORWARDED_HEADERS = {
    b"forwarded",
    b"x-forwarded-host",
    b"x-forwarded-proto",
    b"x-forwarded-port",
    b"x-forwarded-prefix",
    b"x-forwarded-server",
    b"x-forwarded-scheme",
    b"x-original-host",
    b"x-original-url",
    b"x-rewrite-url",
    b"x-host",
}
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")

# What a page may load (README, "What a page may load"): scripts, styles, data
# and fonts from the site itself; images also from OpenStreetMap's tile servers
# and as data: URIs (Datasette's own icon for a binary value is one).
# 'unsafe-inline' is needed for scripts because Datasette 0.65 and its plugins
# write inline scripts whose text changes from page to page (the map's
# settings, the dashboard's chart calls), so neither hashes nor nonces can list
# them; for styles because Datasette's templates and Leaflet write inline
# styles. The dashboard's charts (Vega) compile their expressions with
# Function(), hence 'unsafe-eval' on the dashboard pages only.
OSM_TILES = "https://tile.openstreetmap.org https://*.tile.openstreetmap.org"
CSP_DIRECTIVES = (
    "default-src 'self'",
    "script-src 'self' 'unsafe-inline'",
    "style-src 'self' 'unsafe-inline'",
    f"img-src 'self' data: {OSM_TILES}",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
)
DASHBOARD_PAGES = re.compile(r"^/-/dashboards/")
# geolocation stays allowed for the site itself (the "use my location" button).
PERMISSIONS_POLICY = (
    "geolocation=(self), camera=(), microphone=(), payment=(), usb=(), "
    "accelerometer=(), gyroscope=(), magnetometer=()"
)
ERROR_CACHE_CONTROL = b"no-store"
DEFAULT_PORTS = {"http": 80, "https": 443}


class Origin(NamedTuple):
    scheme: str
    host: str  # lower case; an IPv6 address in brackets
    port: int

    @property
    def netloc(self) -> str:
        return self.host if self.port == DEFAULT_PORTS[self.scheme] else f"{self.host}:{self.port}"

    def __str__(self) -> str:
        return f"{self.scheme}://{self.netloc}"


def bracketed(host: str) -> str:
    host = host.lower()
    try:
        return f"[{host}]" if ipaddress.ip_address(host).version == 6 else host
    except ValueError:
        return host


def parse_origin(value: str) -> Origin:
    """``https://example.org`` as an Origin; ValueError for anything else."""
    parts = urlsplit(value.strip())
    if (
        parts.scheme not in DEFAULT_PORTS
        or not parts.hostname
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or parts.username
        or parts.password
    ):
        raise ValueError(f"the site's origin must be like https://example.org (scheme and host only), not {value!r}")
    return Origin(parts.scheme, bracketed(parts.hostname), parts.port or DEFAULT_PORTS[parts.scheme])


def setting(datasette, name: str) -> str:
    """A setting of this site: the ``leftbehind`` plugin configuration, else LEFTBEHIND_<NAME>.

    ``datasette publish --plugin-secret leftbehind origin URL`` sets both.
    """
    return (datasette.plugin_config("leftbehind") or {}).get(name) or os.environ.get(f"LEFTBEHIND_{name.upper()}", "")


def configured_origin(datasette) -> Origin | None:
    """The public origin (``origin`` / LEFTBEHIND_ORIGIN), if it is set."""
    value = setting(datasette, "origin")
    return parse_origin(value) if value else None


def origin_of_server(scope) -> Origin:
    """The address the request arrived at, from the socket, never from a header.

    Used when no origin is configured: serving on 127.0.0.1:8001 makes the site's
    origin http://127.0.0.1:8001.
    """
    host, port = scope.get("server") or ("localhost", None)
    return Origin("http", bracketed(str(host)), port or 80)


def accepted_hosts(origin: Origin, extra: str = "") -> frozenset[bytes]:
    """Host header values that mean this site: the origin's, its loopback aliases, and any extra."""
    hosts = [origin.host] + (list(LOOPBACK_NAMES) if origin.host in LOOPBACK_NAMES else [])
    names = {f"{host}:{origin.port}" for host in hosts}
    if origin.port == DEFAULT_PORTS[origin.scheme]:
        names.update(hosts)
    names.update(name.strip().lower() for name in extra.split(",") if name.strip())
    return frozenset(name.encode("latin-1") for name in names)


class Refusal(NamedTuple):
    status: int
    message: str


def header_refusal(headers: list[tuple[bytes, bytes]]) -> Refusal | None:
    if len(headers) > MAX_HEADERS or sum(len(name) + len(value) for name, value in headers) > MAX_HEADER_BYTES:
        return Refusal(431, f"Too many or too large request headers: at most {MAX_HEADERS} headers "
                            f"and {MAX_HEADER_BYTES:,} bytes in all.")
    return None


def target_refusal(raw_path: bytes, query_string: bytes) -> Refusal | None:
    """Why the request line is refused before parsing, or None."""
    if len(raw_path) + len(query_string) + 1 > MAX_TARGET_BYTES:
        return Refusal(414, f"The URL is too long: at most {MAX_TARGET_BYTES:,} bytes of path and query string.")
    if b"%00" in raw_path or b"\0" in raw_path or b"%00" in query_string or b"\0" in query_string:
        return Refusal(400, "The URL contains a NUL byte (%00), which no table, column or value here can hold.")
    if sum(1 for field in query_string.split(b"&") if field) > MAX_PARAMETERS:
        return Refusal(400, f"Too many query parameters: at most {MAX_PARAMETERS}.")
    return None


def parameter_refusal(query_string: bytes) -> Refusal | None:
    """Parameters Datasette 0.65 would fail on with a 500; the query string is already bounded."""
    params = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
    if sum(1 for name, _ in params if name in FACET_PARAMETERS) > MAX_FACETS:
        return Refusal(400, f"Too many facets: at most {MAX_FACETS} _facet, _facet_array and _facet_date parameters.")
    for name, value in params:
        if name == "_trace":
            return Refusal(400, "_trace is not available on this site.")
        if name == "_json_infinity" and value.lower() not in BOOLEAN_VALUES:
            return Refusal(400, "_json_infinity must be on or off (also true/false, 1/0).")
        if name == "_timelimit" and not value.isdigit():
            return Refusal(400, "_timelimit must be a whole number of milliseconds.")
        if name.startswith("_facet") and value.startswith("{") and not valid_facet_config(value):
            return Refusal(400, f'{name} must name a column, or be a JSON object like {{"simple": "column"}} '
                                "whose values are text.")
        if name == "_through" and not valid_through(value):
            return Refusal(400, '_through must be a JSON object like {"table": "...", "column": "...", "value": "..."} '
                                "with text for table and column.")
    return None


def is_html_page(path: str, params: list[tuple[str, str]]) -> bool:
    """Whether Datasette will answer with an HTML page: no data extension on the path, and no
    ``_format``. When in doubt, HTML (its caps are the tighter)."""
    return not path.endswith(DATA_FORMATS) and not any(name == "_format" for name, _ in params)


def capped(value: str, cap: int) -> str:
    """A ``_size`` or ``_facet_size`` value no larger than ``cap`` ("max" is the cap)."""
    if value == "max" or (value.isdigit() and int(value) > cap):
        return str(cap)
    return value


def page_cost_caps(path: str, query_string: bytes) -> bytes | None:
    """The query string with ``_size`` and ``_facet_size`` capped; None if nothing changes."""
    if b"size" not in query_string and b"_facet" not in query_string and b"%" not in query_string:
        return None
    params = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
    html = is_html_page(path, params)
    caps = {"_facet_size": MAX_HTML_FACET_SIZE if html else MAX_FACET_SIZE}
    if html:
        caps["_size"] = MAX_HTML_PAGE_SIZE
    changed = [(name, capped(value, caps[name]) if name in caps else value) for name, value in params]
    if changed == params:
        return None
    return urlencode(changed).encode("latin-1")


def valid_facet_config(value: str) -> bool:
    try:
        config = json.loads(value)
    except ValueError:
        return False
    return isinstance(config, dict) and isinstance(config.get("simple"), str) and all(
        isinstance(v, str) for v in config.values()
    )


def valid_through(value: str) -> bool:
    try:
        through = json.loads(value)
    except ValueError:
        return False
    return (
        isinstance(through, dict)
        and isinstance(through.get("table"), str)
        and isinstance(through.get("column"), str)
        and isinstance(through.get("value"), (str, int, float))
        and not isinstance(through.get("value"), bool)
    )


def host_header(headers: list[tuple[bytes, bytes]]) -> bytes | None:
    values = [value for name, value in headers if name == b"host"]
    if len(values) > 1:
        return b""  # two Host headers: never ours
    return values[0].strip().lower().rstrip(b".") if values else None


def for_origin(scope, origin: Origin) -> dict:
    """``scope`` as if the client had asked the origin itself: its scheme and Host, no forwarded
    headers, and no cookies."""
    headers = [(name, value) for name, value in scope["headers"]
               if name != b"host" and name not in FORWARDED_HEADERS and name not in DROPPED_HEADERS]
    headers.append((b"host", origin.netloc.encode("latin-1")))
    return dict(scope, scheme=origin.scheme, headers=headers)


def security_headers(origin: Origin | None, dashboard: bool) -> list[tuple[bytes, bytes]]:
    """The headers every response gets (``dashboard``: a datasette-dashboards page)."""
    directives = list(CSP_DIRECTIVES)
    if dashboard:
        directives[1] += " 'unsafe-eval'"
    headers = [
        (b"content-security-policy", "; ".join(directives).encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"strict-origin-when-cross-origin"),
        (b"x-frame-options", b"DENY"),
        (b"permissions-policy", PERMISSIONS_POLICY.encode()),
    ]
    if origin is not None and origin.scheme == "https":
        headers.append((b"strict-transport-security", b"max-age=31536000"))
    return headers


def with_site_headers(headers: list[tuple[bytes, bytes]], status: int, extra: list[tuple[bytes, bytes]],
                      max_age: int) -> list[tuple[bytes, bytes]]:
    """Response headers with ``extra`` in place of any of the same name, and a Cache-Control if there was none."""
    replaced = {name for name, _ in extra}
    out = [(name, value) for name, value in headers if name.lower() not in replaced]
    out += extra
    if not any(name.lower() == b"cache-control" for name, _ in headers):
        out.append((b"cache-control", ERROR_CACHE_CONTROL if status >= 400 else f"max-age={max_age}".encode()))
    return out


async def send_refusal(send, refusal: Refusal, extra_headers: list[tuple[bytes, bytes]] = ()) -> None:
    body = (refusal.message + "\n").encode("utf-8")
    await send({
        "type": "http.response.start",
        "status": refusal.status,
        "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode()),
                    *extra_headers],
    })
    await send({"type": "http.response.body", "body": body})


async def send_in_pieces(send, message: dict) -> None:
    """Send one body message as several of at most ``BODY_PIECE_BYTES``, waiting for each."""
    body = memoryview(message["body"])
    more = message.get("more_body", False)
    for start in range(0, len(body), BODY_PIECE_BYTES):
        end = start + BODY_PIECE_BYTES
        await send({"type": "http.response.body", "body": bytes(body[start:end]),
                    "more_body": more or end < len(body)})


def guarded(app, datasette):
    """The outermost ASGI layer: limits, host, hidden pages, methods, headers."""
    configured = configured_origin(datasette)
    extra_hosts = setting(datasette, "allowed_hosts")  # other names the site is reached by, comma-separated
    configured_hosts = accepted_hosts(configured, extra_hosts) if configured else None
    max_age = int(datasette.setting("default_cache_ttl"))
    page_headers = security_headers(configured, dashboard=False)
    dashboard_headers = security_headers(configured, dashboard=True)

    async def guard(scope, receive, send):
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        origin = configured or origin_of_server(scope)
        hosts = configured_hosts or accepted_hosts(origin, extra_hosts)
        site_headers = dashboard_headers if DASHBOARD_PAGES.match(scope["path"]) else page_headers

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = with_site_headers(list(message.get("headers", [])), message["status"], site_headers, max_age)
                message = dict(message, headers=headers)
            elif message["type"] == "http.response.body" and len(message.get("body", b"")) > BODY_PIECE_BYTES:
                await send_in_pieces(send, message)
                return
            await send(message)

        refusal = refusal_for(scope, hosts)
        if refusal is None:
            caps = page_cost_caps(scope["path"], scope.get("query_string", b""))
            if caps is not None:
                scope = dict(scope, query_string=caps)
        if refusal is not None:
            extra = [(b"allow", b"GET, HEAD, OPTIONS")] if refusal.status == 405 else []
            await send_refusal(send_with_headers, refusal, extra)
            return
        await app(for_origin(scope, origin), receive, send_with_headers)

    return guard


def refusal_for(scope, hosts: frozenset[bytes]) -> Refusal | None:
    """Why this request is answered here and not by Datasette, or None."""
    raw_path = scope.get("raw_path") or scope["path"].encode("utf-8")
    query_string = scope.get("query_string", b"")
    refusal = header_refusal(scope["headers"]) or target_refusal(raw_path, query_string)
    if refusal is not None:
        return refusal
    host = host_header(scope["headers"])
    if host is not None and host not in hosts:
        return Refusal(400, "Unknown host: this server answers only for its own address.")
    if scope["method"] not in READ_METHODS:
        return Refusal(405, READ_ONLY_MESSAGE)
    if HIDDEN_PAGES.match(scope["path"]) or HIDDEN_PAGES.match(raw_path.decode("latin-1")):
        return Refusal(404, "Not found.")
    return parameter_refusal(query_string)


class ShortLogArguments(logging.Filter):
    """Cut every argument of a log record to ``LOG_ARGUMENT_CHARS`` characters.

    uvicorn logs each request's full path; a 16 KB URL would otherwise be a 16 KB
    log line.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(shortened(arg) for arg in record.args)
        if isinstance(record.msg, str) and len(record.msg) > LOG_ARGUMENT_CHARS * 4:
            record.msg = shortened(record.msg, LOG_ARGUMENT_CHARS * 4)
        return True


def shortened(value, limit: int = LOG_ARGUMENT_CHARS):
    if isinstance(value, str) and len(value) > limit:
        return f"{value[:limit]}…[{len(value) - limit:,} more characters]"
    return value


def install_log_filter() -> None:
    for name in ("uvicorn.access", "uvicorn.error"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, ShortLogArguments) for f in logger.filters):
            logger.addFilter(ShortLogArguments())


def no_rich_tracebacks() -> None:
    """Stop Datasette printing a rich traceback, with every local variable, for each error page.

    Datasette 0.65's default error handler does so whenever the ``rich`` package can be
    imported (a test or tool dependency may bring it). Highlighting a traceback and its
    locals takes tens of milliseconds of the one event loop, so cheap requests that end
    in a 400 or 404 could stall every other visitor. A 500 is still logged, plainly.
    """
    from datasette import handle_exception as default_handler

    default_handler.rich = None


@hookimpl(trylast=True)
def asgi_wrapper(datasette):
    install_log_filter()
    no_rich_tracebacks()

    def wrap(app):
        return guarded(app, datasette)

    return wrap


async def databases_view(datasette, request):
    """``/-/databases.json`` without the file paths: name, hash and the other public facts.

    The deploy workflow reads the served database's hash here.
    """
    databases = [
        {
            "name": name,
            "route": db.route,
            "size": db.size,
            "is_mutable": db.is_mutable,
            "is_memory": db.is_memory,
            "hash": db.hash,
        }
        for name, db in datasette.databases.items()
        if not name.startswith("_")
    ]
    return Response.json(databases, headers={"cache-control": "no-cache"})


@hookimpl
def extra_js_urls(datasette):
    """static/safe-links.js on every page: no link, whoever drew it, runs script when clicked."""
    from leftbehind.site.assets import asset_url

    return [asset_url(datasette, "safe-links.js")]


@hookimpl
def register_routes():
    # Plugin routes are matched before Datasette's own, so this replaces its page.
    return [(DATABASES_PAGE, databases_view)]
