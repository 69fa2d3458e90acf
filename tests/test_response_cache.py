"""The in-process response cache of the publishing profile (plugins/response_cache.py)."""

from __future__ import annotations

import asyncio
import gc
import importlib.util
import tracemalloc

import httpx
import pytest

from conftest import profile_datasette
from leftbehind.serve import PLUGINS

spec = importlib.util.spec_from_file_location("response_cache", PLUGINS / "response_cache.py")
response_cache = importlib.util.module_from_spec(spec)
spec.loader.exec_module(response_cache)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def counting_app(status: int = 200, headers=None, body: bytes = b"hello"):
    calls = []

    async def app(scope, receive, send):
        calls.append(scope["path"] + "?" + scope["query_string"].decode())
        await send({"type": "http.response.start", "status": status, "headers": headers or [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": body + str(len(calls)).encode()})

    return app, calls


async def fetch(app, path: str, method: str = "GET", headers: dict[str, str] | None = None) -> httpx.Response:
    """``path`` from ``app``; an absolute URL chooses its own scheme and host."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        return await client.request(method, path, headers=headers or {})


async def test_repeated_get_is_served_from_the_cache():
    app, calls = counting_app()
    wrapped = response_cache.cached(app, response_cache.ResponseCache(), lambda: True)
    first = await fetch(wrapped, "/a?x=1")
    second = await fetch(wrapped, "/a?x=1")
    other = await fetch(wrapped, "/a?x=2")
    assert first.text == second.text == "hello1"
    assert other.text == "hello2"
    assert calls == ["/a?x=1", "/a?x=2"]


@pytest.mark.parametrize(
    ("status", "headers"),
    [(400, None), (500, None), (200, [(b"set-cookie", b"a=b")])],
)
async def test_errors_and_cookies_are_not_cached(status, headers):
    app, calls = counting_app(status, headers)
    wrapped = response_cache.cached(app, response_cache.ResponseCache(), lambda: True)
    await fetch(wrapped, "/a")
    await fetch(wrapped, "/a")
    assert len(calls) == 2


async def test_only_get_and_only_when_enabled():
    app, calls = counting_app()
    wrapped = response_cache.cached(app, response_cache.ResponseCache(), lambda: True)
    await fetch(wrapped, "/a", "HEAD")
    await fetch(wrapped, "/a", "HEAD")
    assert len(calls) == 2
    disabled = response_cache.cached(app, response_cache.ResponseCache(), lambda: False)
    await fetch(disabled, "/b")
    await fetch(disabled, "/b")
    assert len(calls) == 4


async def test_entries_expire_after_the_ttl():
    clock = Clock()
    app, calls = counting_app()
    wrapped = response_cache.cached(app, response_cache.ResponseCache(ttl=60, clock=clock), lambda: True)
    await fetch(wrapped, "/a")
    clock.now = 59
    await fetch(wrapped, "/a")
    clock.now = 61
    await fetch(wrapped, "/a")
    assert len(calls) == 2


def test_cache_is_bounded_in_bytes_least_recently_used_out():
    one = response_cache.entry_size(b"a", b"a", (), b"x" * 10)
    cache = response_cache.ResponseCache(max_bytes=2 * one + one // 2, max_entry_bytes=10)
    for url in (b"a", b"b"):
        assert cache.put(url, [], 200, [], b"x" * 10)
    cache.get(b"a", [])  # a is now the most recently used
    cache.put(b"c", [], 200, [], b"x" * 10)
    assert set(cache.entries) == {b"a", b"c"}
    assert cache.size == 2 * one
    assert not cache.put(b"big", [], 200, [], b"x" * 11)  # over the per-entry limit
    assert b"big" not in cache.entries


def test_environment_switch_turns_the_cache_off(monkeypatch, datasette):
    assert response_cache.cache_enabled(datasette)
    monkeypatch.setenv("LEFTBEHIND_RESPONSE_CACHE", "off")
    assert not response_cache.cache_enabled(datasette)


# --- issue 10: a real bound, and no answer meant for someone else ---------------------


def echo_app(vary: bytes | None = None):
    """An app whose body says which host, scheme and Accept-Encoding it was asked with."""
    calls = []

    async def app(scope, receive, send):
        calls.append(scope["path"])
        headers = dict(scope["headers"])
        body = b"%s://%s %s" % (scope["scheme"].encode(), headers.get(b"host", b""), headers.get(b"accept-encoding", b"-"))
        response_headers = [(b"content-type", b"text/plain")] + ([(b"vary", vary)] if vary else [])
        await send({"type": "http.response.start", "status": 200, "headers": response_headers})
        await send({"type": "http.response.body", "body": body})

    return app, calls


async def test_the_key_includes_scheme_and_host():
    app, calls = echo_app()
    wrapped = response_cache.cached(app, response_cache.ResponseCache(), lambda: True)
    first = await fetch(wrapped, "http://one.example/a")
    other_host = await fetch(wrapped, "http://two.example/a")
    other_scheme = await fetch(wrapped, "https://one.example/a")
    again = await fetch(wrapped, "http://one.example/a")
    hosts = [r.text.split(" ")[0] for r in (first, other_host, other_scheme)]
    assert hosts == ["http://one.example", "http://two.example", "https://one.example"]
    assert again.text == first.text
    assert len(calls) == 3


async def test_vary_is_honoured():
    app, calls = echo_app(vary=b"Accept-Encoding")
    wrapped = response_cache.cached(app, response_cache.ResponseCache(), lambda: True)
    gzip = await fetch(wrapped, "http://site/a", headers={"accept-encoding": "gzip"})
    plain = await fetch(wrapped, "http://site/a", headers={"accept-encoding": "identity"})
    gzip_again = await fetch(wrapped, "http://site/a", headers={"accept-encoding": "gzip"})
    plain_again = await fetch(wrapped, "http://site/a", headers={"accept-encoding": "identity"})
    assert gzip.text.endswith("gzip") and gzip_again.text == gzip.text
    assert plain.text.endswith("identity") and plain_again.text == plain.text
    assert len(calls) == 2


async def test_vary_star_is_never_cached():
    app, calls = echo_app(vary=b"*")
    wrapped = response_cache.cached(app, response_cache.ResponseCache(), lambda: True)
    await fetch(wrapped, "http://site/a")
    await fetch(wrapped, "http://site/a")
    assert len(calls) == 2


@pytest.mark.parametrize("header", ["cookie", "authorization"])
async def test_requests_with_a_cookie_or_authorization_neither_read_nor_fill_the_cache(header):
    app, calls = echo_app()
    cache = response_cache.ResponseCache()
    wrapped = response_cache.cached(app, cache, lambda: True)
    await fetch(wrapped, "http://site/a")  # cached for everyone
    await fetch(wrapped, "http://site/a", headers={header: "secret"})
    await fetch(wrapped, "http://site/b", headers={header: "secret"})
    assert len(calls) == 3
    assert len(cache.entries) == 1


async def test_expired_entries_are_swept_without_a_read():
    clock = Clock()
    app, _ = counting_app()
    cache = response_cache.ResponseCache(ttl=60, clock=clock, sweep_seconds=0.01)
    wrapped = response_cache.cached(app, cache, lambda: True)
    for n in range(5):
        await fetch(wrapped, f"/a?n={n}")
    assert len(cache.entries) == 5
    clock.now = 61
    for _ in range(100):  # the sweep timer runs on the event loop; wait for it without reading
        if not cache.entries:
            break
        await asyncio.sleep(0.01)
    assert cache.entries == {} and cache.size == 0 and cache.vary == {}


def test_an_entry_stored_twice_is_found():
    """Two requests for one URL that both missed store it twice; the second must still be found."""
    headers = [(b"vary", b"Cookie, Authorization")]
    cache = response_cache.ResponseCache()
    for body in (b"first", b"second"):
        assert cache.put(b"http://site/a?", [], 200, headers, body)
    entry = cache.get(b"http://site/a?", [])
    assert entry is not None and entry.body == b"second"
    assert len(cache.entries) == 1 and cache.size == response_cache.entry_size(
        b"http://site/a?", b"http://site/a?\nauthorization:\ncookie:", tuple(headers), b"second")


def test_the_number_of_entries_is_bounded():
    cache = response_cache.ResponseCache(max_entries=10)
    for n in range(50):
        cache.put(b"u%d" % n, [], 200, [], b"x")
    assert len(cache.entries) == 10
    assert set(cache.entries) == {b"u%d" % n for n in range(40, 50)}
    assert len(cache.vary) == len(cache.variants) == 10


async def test_thousands_of_long_unique_urls_stay_inside_the_cap(db_path, metadata):
    """The real site flooded with 2,000 unique 12 KB URLs, each a cacheable 200.

    The cache's accounted size stays under its cap, the memory it really holds
    (what clearing it gives back, measured by tracemalloc) is what it accounts
    for, and the process's Python memory grows by no more than the cap plus a
    stated overhead.
    """
    cap = 16 * 1024 * 1024
    overhead = 8 * 1024 * 1024  # Datasette's own caches and the allocator's free lists
    datasette = profile_datasette(db_path, metadata)
    cache = response_cache.response_cache_for(datasette)
    cache.max_bytes = cap
    pad = "p" * 12_000
    await datasette.client.get("/leftbehind/topics.json?_warm=1")  # Datasette's own first-request work
    await datasette.client.get("/-/versions.json?_warm=1")
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for n in range(2000):
            page = "/leftbehind/topics.json" if n % 10 == 0 else "/-/versions.json"  # mostly a cheap page
            response = await datasette.client.get(f"{page}?_flood={n}&_pad={pad}")
            assert response.status_code == 200
        gc.collect()
        flooded = tracemalloc.get_traced_memory()[0]
        accounted = cache.size
        assert 0 < len(cache.entries) < 2000  # it filled up and evicted
        cache.clear()
        gc.collect()
        held = flooded - tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert accounted <= cap
    assert held <= cap, f"the cache held {held / 2**20:.1f} MiB, over its {cap / 2**20:.0f} MiB cap"
    assert accounted >= 0.9 * held, f"accounted {accounted / 2**20:.1f} MiB, really held {held / 2**20:.1f} MiB"
    assert flooded - before <= cap + overhead, f"the process grew by {(flooded - before) / 2**20:.1f} MiB"
