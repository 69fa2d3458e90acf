"""A small in-process cache of whole GET responses, for an immutable database.

The database never changes while it is served, so a page rendered once can be
sent again. Entries live for TTL_SECONDS (a micro-cache: a page whose facet
timed out under load is not kept for long) and the cache is bounded in bytes,
least recently used first out. Only complete 200 responses without cookies are
kept. Loaded with ``--plugins-dir plugins`` by the publishing profile.

``LEFTBEHIND_RESPONSE_CACHE=off`` in the server's environment turns it off, so
the benchmarks can measure what Datasette itself costs per request.
"""

from __future__ import annotations

import os
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import NamedTuple

from datasette import hookimpl

TTL_SECONDS = 60.0
MAX_BYTES = 64 * 1024 * 1024
MAX_ENTRY_BYTES = 4 * 1024 * 1024


class Entry(NamedTuple):  # not a dataclass: Datasette loads plugin files outside sys.modules
    status: int
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes
    stored_at: float


class ResponseCache:
    """A byte-bounded LRU of responses, each valid for ``ttl`` seconds."""

    def __init__(
        self,
        ttl: float = TTL_SECONDS,
        max_bytes: int = MAX_BYTES,
        max_entry_bytes: int = MAX_ENTRY_BYTES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self.max_bytes = max_bytes
        self.max_entry_bytes = max_entry_bytes
        self.clock = clock
        self.entries: OrderedDict[bytes, Entry] = OrderedDict()
        self.size = 0

    def get(self, key: bytes) -> Entry | None:
        entry = self.entries.get(key)
        if entry is None:
            return None
        if self.clock() - entry.stored_at > self.ttl:
            self._remove(key)
            return None
        self.entries.move_to_end(key)
        return entry

    def put(self, key: bytes, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        if len(body) > self.max_entry_bytes:
            return
        if key in self.entries:
            self._remove(key)
        self.entries[key] = Entry(status, tuple(headers), body, self.clock())
        self.size += len(body)
        while self.size > self.max_bytes:
            self._remove(next(iter(self.entries)))

    def _remove(self, key: bytes) -> None:
        self.size -= len(self.entries.pop(key).body)


def is_cacheable(status: int, headers: list[tuple[bytes, bytes]]) -> bool:
    return status == 200 and not any(name.lower() == b"set-cookie" for name, _ in headers)


def cache_enabled(datasette) -> bool:
    return os.environ.get("LEFTBEHIND_RESPONSE_CACHE", "on") != "off" and all_databases_immutable(datasette)


def all_databases_immutable(datasette) -> bool:
    served = [db for name, db in datasette.databases.items() if not name.startswith("_")]
    return bool(served) and all(db.is_mutable is False for db in served)


def cached(app, cache: ResponseCache, enabled: Callable[[], bool]):
    """Wrap an ASGI app so repeated GETs are answered from ``cache``."""

    async def cached_app(scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "GET" or not enabled():
            await app(scope, receive, send)
            return
        key = scope.get("raw_path", scope["path"].encode()) + b"?" + scope.get("query_string", b"")
        entry = cache.get(key)
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
                if not message.get("more_body", False) and size <= cache.max_entry_bytes:
                    headers = list(start.get("headers", []))
                    if is_cacheable(start.get("status", 0), headers):
                        cache.put(key, start["status"], headers, b"".join(chunks))
            await send(message)

        await app(scope, receive, capture)

    return cached_app


@hookimpl
def asgi_wrapper(datasette):
    cache = ResponseCache()

    def wrap(app):
        return cached(app, cache, lambda: cache_enabled(datasette))

    return wrap
