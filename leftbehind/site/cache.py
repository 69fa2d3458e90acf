"""Compression, and a small in-process cache of whole GET responses, for an immutable database.

Two layers, composed in one ``asgi_wrapper`` so that their order is fixed here and
not left to the order pluggy registers the site's modules in: the cache outside, the
compression inside it, so each compressed variant is made once and then served
from memory (``compressed`` below, then the cache).

Compression
-----------
gzip (level 6, the standard library's zlib) for text: HTML, CSS, JavaScript, JSON,
CSV, plain text, XML, Atom and SVG, when the client accepts it and the body is at
least ``MIN_COMPRESS_BYTES``. Responses that are already encoded, partial (206, a
``Content-Range``), marked ``Cache-Control: no-transform``, or of any other type
(the ``.db`` download is ``application/octet-stream``: gzip would take about 200 ms of
the event loop for each 6 MB download, drop its Content-Length and leave Datasette's strong
ETag naming two byte sequences) pass through untouched. A body or chunk of
``OFF_LOOP_BYTES`` or more is compressed on a thread, off the event loop.
A response that could be compressed carries ``Vary: Accept-Encoding`` whether or
not this client gets it compressed, so no cache on the way hands one client's
variant to another. A streamed response (a CSV export with ``_stream=on``) is
compressed as it streams: its pieces (a message per row, from Datasette) are
gathered into chunks of 16 KB, each chunk goes through one zlib stream and out as
soon as zlib has output for it, so memory stays at zlib's window and one chunk
whatever the export's size, and nothing waits for the export to end. Brotli was measured and
left out: at the same speed (quality 5) it made the site's largest files only
about 5% smaller than gzip, and its high qualities cost 50 times as much CPU per
compression (800 ms for the dashboard's Vega), for a compiled dependency in
every published copy.

The cache
---------

The database never changes while it is served, so a page rendered once can be
sent again. Entries live for TTL_SECONDS (a micro-cache: a page whose facet
timed out under load is not kept for long).

The bound is real: every byte an entry holds is counted (its key, up to 16 KB of
URL; its headers; its body; and the Python objects around them, measured with
``sys.getsizeof``), against ``MAX_BYTES`` and ``MAX_ENTRIES``, least recently
used out first. Expired entries are swept every ``SWEEP_SECONDS`` by a timer,
not only when their URL is asked for again.

The key is the scheme, host, path and query string. A response's ``Vary``
header is honoured: the request headers it names become part of the key, so a
gzip answer (``Vary: Accept-Encoding``) is never sent to a client that did not
ask for it; ``Vary: *`` is never cached. For ``Accept-Encoding`` the key holds
the encoding the compression layer chooses for that header (gzip or none), not
the header's text, so the dozen ways browsers and crawlers spell "gzip, deflate,
br, zstd" share one entry. Requests with a ``Cookie`` or
``Authorization`` header neither read nor fill the cache: their answers may be
someone's own. Only complete 200 responses without ``Set-Cookie`` and without
``Cache-Control: no-store`` or ``private`` are kept.

``LEFTBEHIND_RESPONSE_CACHE=off`` in the server's environment turns it off, so
the benchmarks can measure what Datasette itself costs per request.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
import time
import zlib
from collections import OrderedDict
from collections.abc import Callable
from typing import NamedTuple

from datasette import hookimpl

TTL_SECONDS = 60.0
MAX_BYTES = 64 * 1024 * 1024
MAX_ENTRIES = 10_000
MAX_ENTRY_BYTES = 4 * 1024 * 1024
SWEEP_SECONDS = 5.0
# An OrderedDict keeps a hash-table slot and a linked-list node per key, which
# sys.getsizeof does not show on the entry: counted here per entry.
ORDERED_DICT_SLOT_BYTES = 120
PRIVATE_REQUEST_HEADERS = (b"cookie", b"authorization")

# What is worth compressing: text. Everything else (the .db download, images, fonts)
# is already compact or would lose range and length semantics for little gain.
COMPRESSIBLE_TYPES = frozenset({
    b"text/html",
    b"text/css",
    b"text/csv",
    b"text/plain",
    b"text/javascript",
    b"text/xml",
    b"application/javascript",
    b"application/x-javascript",
    b"application/json",
    b"application/geo+json",
    b"application/ld+json",
    b"application/xml",
    b"application/atom+xml",
    b"image/svg+xml",
})
# Below this a body fits in one packet anyway, and gzip's 18 bytes of framing can
# make it larger.
MIN_COMPRESS_BYTES = 1024
# A streamed body (a CSV export: Datasette sends each row as a message of its own) leaves in
# pieces of at least this much: every layer outside, and the server, then handle tens of
# messages where they handled thousands, and nothing waits for the export to end.
STREAM_CHUNK_BYTES = 16 * 1024
GZIP_LEVEL = 6  # zlib's default: level 9 made the site's largest files 0.2-1% smaller at 1.3-2.5 times the time
GZIP_WBITS = 16 + zlib.MAX_WBITS  # a gzip header and trailer around the deflate stream
# A body (or a streamed chunk) this large is compressed on a thread, not on the event
# loop: zlib lets go of the GIL while it works, so the loop goes on serving others
# (gzip of a 14 MB answer took 0.55 s of the loop).
OFF_LOOP_BYTES = 128 * 1024
# A coding and its q-value ("gzip;q=0.5"); a q-value that is not a number counts as 0.
CODING = re.compile(rb"^\s*([A-Za-z0-9!#$%&'*+.^_`|~-]+)\s*(?:;\s*q\s*=\s*([^\s,;]*))?")


class Entry(NamedTuple):  # not a dataclass: Datasette loads plugin files outside sys.modules
    status: int
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes
    stored_at: float
    url_length: int  # the key starts with the URL; the rest names the Vary variant
    size: int


def entry_size(url: bytes, key: bytes, headers: tuple[tuple[bytes, bytes], ...], body: bytes) -> int:
    """The memory an entry holds: key, headers, body and the objects around them.

    Also the URL's own record (in ``ResponseCache.vary`` and ``.variants``),
    counted once per entry: over-counted when a URL has several variants.
    """
    header_bytes = sys.getsizeof(headers)
    for pair in headers:
        header_bytes += sys.getsizeof(pair) + sys.getsizeof(pair[0]) + sys.getsizeof(pair[1])
    entry_tuple = sys.getsizeof(Entry(0, (), b"", 0.0, 0, 0)) + 4 * 32  # the tuple and its int and float fields
    url_record = sys.getsizeof(url) + 2 * ORDERED_DICT_SLOT_BYTES + 64  # the URL, two dict slots, tuple and count
    return (sys.getsizeof(key) + sys.getsizeof(body) + header_bytes + entry_tuple + ORDERED_DICT_SLOT_BYTES
            + url_record)


def vary_names(headers: list[tuple[bytes, bytes]]) -> tuple[bytes, ...] | None:
    """The request headers a response varies on, sorted; None for ``Vary: *``."""
    names: set[bytes] = set()
    for name, value in headers:
        if name.lower() == b"vary":
            names.update(part.strip().lower() for part in value.split(b",") if part.strip())
    if b"*" in names:
        return None
    return tuple(sorted(names))


def request_header(headers: list[tuple[bytes, bytes]], name: bytes) -> bytes:
    return b",".join(value for key, value in headers if key.lower() == name)


def vary_value(headers: list[tuple[bytes, bytes]], name: bytes) -> bytes:
    """What a request's header named in ``Vary`` adds to the key.

    Accept-Encoding adds the encoding the compression layer would choose for it,
    since that is all the answer depends on; other headers add their text.
    """
    if name == b"accept-encoding":
        return chosen_encoding(request_header(headers, name))
    return request_header(headers, name)


def chosen_encoding(accept_encoding: bytes) -> bytes:
    """``b"gzip"`` when the Accept-Encoding header accepts gzip, else ``b""`` (no encoding).

    gzip is accepted when named (or as x-gzip) with a q-value above 0, or when
    ``*`` is, and gzip is not named with q=0 (RFC 9110, 12.5.3).
    """
    qualities: dict[bytes, float] = {}
    for part in accept_encoding.split(b","):
        match = CODING.match(part)
        if not match:
            continue
        try:
            quality = float(match.group(2)) if match.group(2) else 1.0
        except ValueError:
            quality = 0.0
        qualities[match.group(1).lower()] = quality
    gzip = qualities.get(b"gzip", qualities.get(b"x-gzip"))
    if gzip is None:
        gzip = qualities.get(b"*", 0.0)
    return b"gzip" if gzip > 0 else b""


def variant_key(url: bytes, names: tuple[bytes, ...], request_headers: list[tuple[bytes, bytes]]) -> bytes:
    """The key of one variant of ``url``: the URL, then each header the response varies on."""
    return url + b"".join(b"\n" + name + b":" + vary_value(request_headers, name) for name in names)


class ResponseCache:
    """A byte- and count-bounded LRU of responses, each valid for ``ttl`` seconds."""

    def __init__(
        self,
        ttl: float = TTL_SECONDS,
        max_bytes: int = MAX_BYTES,
        max_entry_bytes: int = MAX_ENTRY_BYTES,
        max_entries: int = MAX_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
        sweep_seconds: float = SWEEP_SECONDS,
    ) -> None:
        self.ttl = ttl
        self.sweep_seconds = sweep_seconds
        self.max_bytes = max_bytes
        self.max_entry_bytes = max_entry_bytes
        self.max_entries = max_entries
        self.clock = clock
        self.entries: OrderedDict[bytes, Entry] = OrderedDict()
        # For each URL with entries: the request headers its responses vary on.
        self.vary: dict[bytes, tuple[bytes, ...]] = {}
        self.variants: dict[bytes, int] = {}
        self.size = 0
        self._sweeper: asyncio.TimerHandle | None = None

    def key(self, url: bytes, request_headers: list[tuple[bytes, bytes]]) -> bytes:
        return variant_key(url, self.vary.get(url, ()), request_headers)

    def get(self, url: bytes, request_headers: list[tuple[bytes, bytes]]) -> Entry | None:
        key = self.key(url, request_headers)
        entry = self.entries.get(key)
        if entry is None:
            return None
        if self.expired(entry):
            self._remove(key)
            return None
        self.entries.move_to_end(key)
        return entry

    def put(self, url: bytes, request_headers: list[tuple[bytes, bytes]], status: int,
            headers: list[tuple[bytes, bytes]], body: bytes) -> bool:
        """Keep a response; False when it is not kept (too big, or ``Vary: *``)."""
        names = vary_names(headers)
        if names is None or len(body) > self.max_entry_bytes:
            return False
        key = variant_key(url, names, request_headers)
        stored_headers = tuple(headers)
        size = entry_size(url, key, stored_headers, body)
        if size > self.max_bytes:
            return False
        if self.vary.get(url, names) != names:
            self._forget_url(url)  # the URL's responses now vary on other headers
        if key in self.entries:
            self._remove(key)  # (two requests missed at once; this one came second)
        self.vary[url] = names
        self.entries[key] = Entry(status, stored_headers, body, self.clock(), len(url), size)
        self.variants[url] = self.variants.get(url, 0) + 1
        self.size += size
        while self.size > self.max_bytes or len(self.entries) > self.max_entries:
            self._remove(next(iter(self.entries)))
        return True

    def expired(self, entry: Entry) -> bool:
        return self.clock() - entry.stored_at > self.ttl

    def sweep(self) -> int:
        """Drop every expired entry; return how many went."""
        stale = [key for key, entry in self.entries.items() if self.expired(entry)]
        for key in stale:
            self._remove(key)
        return len(stale)

    def schedule_sweeps(self, loop: asyncio.AbstractEventLoop) -> None:
        """Sweep every ``sweep_seconds`` while the cache holds anything."""
        if self._sweeper is None and self.entries:
            self._sweeper = loop.call_later(self.sweep_seconds, self._timed_sweep, loop)

    def _timed_sweep(self, loop: asyncio.AbstractEventLoop) -> None:
        self._sweeper = None
        self.sweep()
        self.schedule_sweeps(loop)

    def _remove(self, key: bytes) -> None:
        entry = self.entries.pop(key)
        self.size -= entry.size
        url = key[: entry.url_length]
        self.variants[url] -= 1
        if self.variants[url] == 0:
            del self.variants[url]
            self._drop_url_if_unused(url)

    def _drop_url_if_unused(self, url: bytes) -> None:
        if url not in self.variants:
            self.vary.pop(url, None)

    def clear(self) -> None:
        for key in list(self.entries):
            self._remove(key)

    def _forget_url(self, url: bytes) -> None:
        for key in [k for k, e in self.entries.items() if e.url_length == len(url) and k.startswith(url)]:
            self._remove(key)


def is_cacheable(status: int, headers: list[tuple[bytes, bytes]]) -> bool:
    if status != 200:
        return False
    for name, value in headers:
        name = name.lower()
        if name == b"set-cookie":
            return False
        if name == b"cache-control" and any(word in value.lower() for word in (b"no-store", b"private")):
            return False
    return True


def is_private_request(headers: list[tuple[bytes, bytes]]) -> bool:
    return any(name.lower() in PRIVATE_REQUEST_HEADERS for name, _ in headers)


def request_url(scope) -> bytes:
    """What the cache keys on: scheme, host, raw path and query string."""
    host = request_header(scope["headers"], b"host")
    path = scope.get("raw_path") or scope["path"].encode("utf-8")
    return scope.get("scheme", "http").encode() + b"://" + host + path + b"?" + scope.get("query_string", b"")


def cache_enabled(datasette) -> bool:
    return os.environ.get("LEFTBEHIND_RESPONSE_CACHE", "on") != "off" and all_databases_immutable(datasette)


def all_databases_immutable(datasette) -> bool:
    served = [db for name, db in datasette.databases.items() if not name.startswith("_")]
    return bool(served) and all(db.is_mutable is False for db in served)


def cached(app, cache: ResponseCache, enabled: Callable[[], bool]):
    """Wrap an ASGI app so repeated GETs are answered from ``cache``."""

    async def cached_app(scope, receive, send):
        if (
            scope["type"] != "http"
            or scope["method"] != "GET"
            or is_private_request(scope["headers"])
            or not enabled()
        ):
            await app(scope, receive, send)
            return
        url = request_url(scope)
        entry = cache.get(url, scope["headers"])
        if entry is not None:
            await send({"type": "http.response.start", "status": entry.status, "headers": list(entry.headers)})
            await send({"type": "http.response.body", "body": entry.body})
            return
        start: dict = {}
        chunks: list[bytes] = []
        size = 0

        async def capture(message):
            nonlocal size
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                body = message.get("body", b"")
                size += len(body)
                if size <= cache.max_entry_bytes:
                    chunks.append(body)
                else:
                    chunks.clear()
                if not message.get("more_body", False) and size <= cache.max_entry_bytes:
                    headers = list(start.get("headers", []))
                    if is_cacheable(start.get("status", 0), headers):
                        cache.put(url, scope["headers"], start["status"], headers, b"".join(chunks))
                        cache.schedule_sweeps(asyncio.get_running_loop())
            await send(message)

        await app(scope, receive, capture)

    return cached_app


def header_value(headers: list[tuple[bytes, bytes]], name: bytes) -> bytes | None:
    for key, value in headers:
        if key.lower() == name:
            return value
    return None


def with_vary_accept_encoding(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """``headers`` with Accept-Encoding among the Vary names (once)."""
    names = [part.strip().lower() for name, value in headers if name.lower() == b"vary" for part in value.split(b",")]
    if b"accept-encoding" in names or b"*" in names:
        return headers
    return [*headers, (b"vary", b"Accept-Encoding")]


def may_compress(status: int, headers: list[tuple[bytes, bytes]]) -> bool:
    """Whether this response's body is text we may gzip (its size aside)."""
    if status < 200 or status in (204, 206, 304):
        return False
    content_type = (header_value(headers, b"content-type") or b"").split(b";")[0].strip().lower()
    if content_type not in COMPRESSIBLE_TYPES:
        return False
    if header_value(headers, b"content-encoding") not in (None, b"", b"identity"):
        return False
    if header_value(headers, b"content-range") is not None:
        return False
    return b"no-transform" not in (header_value(headers, b"cache-control") or b"").lower()


def compressed_headers(headers: list[tuple[bytes, bytes]], length: int | None) -> list[tuple[bytes, bytes]]:
    """The headers of the gzip variant: Content-Encoding, and the new length if known."""
    kept = [(name, value) for name, value in headers
            if name.lower() not in (b"content-length", b"content-encoding", b"transfer-encoding")]
    kept.append((b"content-encoding", b"gzip"))
    if length is not None:
        kept.append((b"content-length", str(length).encode()))
    return kept


def gzip_body(body: bytes) -> bytes:
    """``body`` as one gzip member, the same bytes every time (no file name, mtime 0)."""
    compressor = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, GZIP_WBITS)
    return compressor.compress(body) + compressor.flush()


async def gzip_off_loop(body: bytes) -> bytes:
    """``gzip_body(body)``, on a thread when the body is large."""
    if len(body) < OFF_LOOP_BYTES:
        return gzip_body(body)
    return await asyncio.to_thread(gzip_body, body)


async def compress_chunk(compressor, body: bytes, last: bool) -> bytes:
    """One streamed chunk through ``compressor`` (and its end, if ``last``), on a thread when large."""

    def work() -> bytes:
        output = compressor.compress(body)
        return output + compressor.flush() if last else output

    return work() if len(body) < OFF_LOOP_BYTES else await asyncio.to_thread(work)


def compressed(app):
    """Wrap an ASGI app so text responses go out gzipped to the clients that accept it.

    The response start is held until the first body message: then it is known
    whether the body is complete and small (sent as it is), complete (gzipped
    whole, with its new Content-Length) or streamed (gzipped chunk by chunk).
    A streamed body's pieces are gathered into chunks of ``STREAM_CHUNK_BYTES``,
    compressed or not.
    """

    async def compressing_app(scope, receive, send):
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        wants_gzip = chosen_encoding(request_header(scope["headers"], b"accept-encoding")) == b"gzip"
        start: dict = {}
        state = {"mode": None}  # None until the first body message; then "plain", "whole" or "stream"
        compressor = None
        pending: list[bytes] = []  # a stream's small pieces, until they make a chunk
        pending_size = 0

        async def compressing_send(message):
            nonlocal compressor, pending_size
            kind = message["type"]
            if kind == "http.response.start":
                start.update(message)
                if not may_compress(message["status"], list(message.get("headers", []))):
                    state["mode"] = "plain"
                    await send(message)
                return
            if kind == "http.response.body" and (message.get("more_body", False) or pending):
                body = message.get("body", b"")
                pending.append(body)
                pending_size += len(body)
                if message.get("more_body", False) and pending_size < STREAM_CHUNK_BYTES:
                    return
                message = {**message, "body": b"".join(pending)}
                pending.clear()
                pending_size = 0
            if kind != "http.response.body" or state["mode"] in ("plain", "whole"):
                await send(message)
                return
            body = message.get("body", b"")
            more = message.get("more_body", False)
            headers = list(start.get("headers", []))
            if state["mode"] is None:
                if not more and len(body) < MIN_COMPRESS_BYTES:
                    state["mode"] = "plain"
                    await send(start)
                    await send(message)
                    return
                headers = with_vary_accept_encoding(headers)
                if not wants_gzip:
                    state["mode"] = "plain"
                    await send({**start, "headers": headers})
                    await send(message)
                    return
                if not more:
                    state["mode"] = "whole"
                    body = await gzip_off_loop(body)
                    await send({**start, "headers": compressed_headers(headers, len(body))})
                    await send({**message, "body": body})
                    return
                state["mode"] = "stream"
                compressor = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, GZIP_WBITS)
                await send({**start, "headers": compressed_headers(headers, None)})
            output = await compress_chunk(compressor, body, last=not more)
            if output or not more:
                await send({"type": "http.response.body", "body": output, "more_body": more})

        await app(scope, receive, compressing_send)

    return compressing_app


def response_cache_for(datasette) -> ResponseCache:
    """The one cache of a Datasette instance, shared by every app it builds."""
    cache = getattr(datasette, "_leftbehind_response_cache", None)
    if cache is None:
        cache = ResponseCache()
        datasette._leftbehind_response_cache = cache
    return cache


@hookimpl
def asgi_wrapper(datasette):
    cache = response_cache_for(datasette)

    def wrap(app):
        # Compression inside the cache: the cache keeps each compressed variant.
        return cached(compressed(app), cache, lambda: cache_enabled(datasette))

    return wrap
