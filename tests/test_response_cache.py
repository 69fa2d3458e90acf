"""The in-process response cache of the publishing profile (leftbehind/site/cache.py)."""

from __future__ import annotations

import asyncio
import gc
import gzip
import sqlite3
import tracemalloc

import httpx
import pytest

from conftest import profile_datasette
from leftbehind.site import cache as response_cache


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


async def test_hundreds_of_long_unique_urls_stay_inside_the_cap(db_path, metadata):
    """The real site flooded with 600 unique 12 KB URLs, each a cacheable 200.

    The cache's accounted size stays under its cap, the memory it really holds
    (what clearing it gives back, measured by tracemalloc) is what it accounts
    for, and the process's Python memory grows by no more than the cap plus a
    stated overhead. The cap is small (2 MiB) so that few requests prove it: the
    flood offers several times the cap plus the overhead, so a cache without a
    bound would fail the last check (the flood of 2,000 URLs at 16 MiB took ten
    times as long to prove the same).
    """
    cap = 2 * 1024 * 1024
    overhead = 6 * 1024 * 1024  # Datasette's own caches and the allocator's free lists (about 3 MiB)
    requests = 600
    datasette = profile_datasette(db_path, metadata)
    cache = response_cache.response_cache_for(datasette)
    cache.max_bytes = cap
    pad = "p" * 12_000
    await datasette.client.get("/leftbehind/topics.json?_warm=1")  # Datasette's own first-request work
    await datasette.client.get("/-/settings.json?_warm=1")
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for n in range(requests):
            page = "/leftbehind/topics.json" if n % 10 == 0 else "/-/settings.json"  # mostly a cheap page
            response = await datasette.client.get(f"{page}?_flood={n}&_pad={pad}")
            assert response.status_code == 200
        gc.collect()
        flooded = tracemalloc.get_traced_memory()[0]
        accounted = cache.size
        assert 0 < len(cache.entries) < requests  # it filled up and evicted
        offered = requests * accounted / len(cache.entries)
        cache.clear()
        gc.collect()
        held = flooded - tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert offered > 1.5 * (cap + overhead), "the flood is too small to tell a bounded cache from an unbounded one"
    assert accounted <= cap
    assert held <= cap, f"the cache held {held / 2**20:.1f} MiB, over its {cap / 2**20:.0f} MiB cap"
    assert accounted >= 0.9 * held, f"accounted {accounted / 2**20:.1f} MiB, really held {held / 2**20:.1f} MiB"
    assert flooded - before <= cap + overhead, f"the process grew by {(flooded - before) / 2**20:.1f} MiB"


# --- issue 15: compression inside the cache -------------------------------------------

TEXT = b"".join(b"ward %05d,Some Ward Name,Some Council,North East,%d\n" % (n, n % 7) for n in range(2000))


def text_app(body: bytes = TEXT, content_type: bytes = b"text/csv", extra_headers=(), status: int = 200,
             chunk: int | None = None):
    """An app that answers ``body`` whole, or in chunks of ``chunk`` bytes (streamed)."""
    calls = []

    async def app(scope, receive, send):
        calls.append(dict(scope["headers"]).get(b"accept-encoding"))
        headers = [(b"content-type", content_type), *extra_headers]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        if chunk is None:
            await send({"type": "http.response.body", "body": body})
            return
        for start in range(0, len(body), chunk):
            await send({"type": "http.response.body", "body": body[start:start + chunk], "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    return app, calls


def vary_names_of(response: httpx.Response) -> set[str]:
    return {name.strip().lower() for value in response.headers.get_list("vary") for name in value.split(",")}


@pytest.mark.parametrize(
    ("accept", "chosen"),
    [
        ("gzip", b"gzip"),
        ("gzip, deflate, br, zstd", b"gzip"),
        ("deflate, gzip;q=0.5", b"gzip"),
        ("x-gzip", b"gzip"),
        ("*", b"gzip"),
        ("br;q=1.0, *;q=0.1", b"gzip"),
        ("gzip;q=0", b""),
        ("*;q=0", b""),
        ("gzip;q=0, *", b""),
        ("identity", b""),
        ("br, zstd", b""),
        ("", b""),
        ("gzip;q=nonsense", b""),
    ],
)
def test_the_encoding_chosen_for_an_accept_encoding_header(accept, chosen):
    assert response_cache.chosen_encoding(accept.encode()) == chosen


async def test_text_is_gzipped_for_clients_that_accept_it_and_says_it_varies():
    app, _ = text_app()
    wrapped = response_cache.compressed(app)
    zipped = await fetch(wrapped, "/a.csv", headers={"accept-encoding": "gzip, deflate, br"})
    plain = await fetch(wrapped, "/a.csv", headers={"accept-encoding": "identity"})
    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped.content == TEXT  # httpx decoded it
    assert "content-encoding" not in plain.headers and plain.content == TEXT
    assert "accept-encoding" in vary_names_of(zipped) and "accept-encoding" in vary_names_of(plain)


async def test_the_gzip_body_is_smaller_and_its_length_is_right():
    app, _ = text_app()
    wrapped = response_cache.compressed(app)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=wrapped), base_url="http://test") as client:
        async with client.stream("GET", "/a.csv", headers={"accept-encoding": "gzip"}) as response:
            raw = b"".join([chunk async for chunk in response.aiter_raw()])
    assert int(response.headers["content-length"]) == len(raw) < len(TEXT) / 4
    assert gzip.decompress(raw) == TEXT
    assert raw == response_cache.gzip_body(TEXT)  # the same bytes every time: no name, no time


@pytest.mark.parametrize(
    ("content_type", "extra_headers", "status", "body"),
    [
        (b"application/octet-stream", (), 200, TEXT),  # the .db download
        (b"image/png", (), 200, TEXT),
        (b"text/csv", ((b"content-encoding", b"br"),), 200, TEXT),  # already encoded
        (b"text/csv", ((b"content-range", b"bytes 0-99/200"),), 206, TEXT),  # a part of something
        (b"text/csv", ((b"cache-control", b"no-transform"),), 200, TEXT),
        (b"text/html; charset=utf-8", (), 200, b"<p>tiny</p>"),  # under MIN_COMPRESS_BYTES
    ],
)
async def test_what_is_never_compressed(content_type, extra_headers, status, body):
    app, _ = text_app(body, content_type, extra_headers, status)
    # Only the headers are read: the 'br' body here is not brotli, and httpx decodes brotli
    # when the brotli package is installed (the build needs it for the postcode directory).
    transport = httpx.ASGITransport(app=response_cache.compressed(app))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        async with client.stream("GET", "/a", headers={"accept-encoding": "gzip"}) as response:
            assert response.headers.get("content-encoding") in (None, "br")
            assert "accept-encoding" not in vary_names_of(response)


async def test_a_stream_is_compressed_as_it_streams_not_buffered():
    """Compressed bytes leave before the app has sent its last chunk, and the stream is whole."""
    sent: list[dict] = []
    seen_before_end: list[int] = []
    body = TEXT * 20  # 1.8 MB

    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        for start in range(0, len(body), 8192):
            await send({"type": "http.response.body", "body": body[start:start + 8192], "more_body": True})
        seen_before_end.append(sum(len(m.get("body", b"")) for m in sent if m["type"] == "http.response.body"))
        await send({"type": "http.response.body", "body": b""})

    async def record(message):
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": "/a.csv", "headers": [(b"accept-encoding", b"gzip")]}
    await response_cache.compressed(app)(scope, None, record)
    start, *bodies = sent
    headers = dict(start["headers"])
    assert headers[b"content-encoding"] == b"gzip" and b"content-length" not in headers
    assert seen_before_end[0] > 0, "nothing was sent before the stream ended: it was buffered"
    assert len(bodies) > 2 and all(m["more_body"] for m in bodies[:-1]) and not bodies[-1]["more_body"]
    assert gzip.decompress(b"".join(m["body"] for m in bodies)) == body


async def test_the_cache_keeps_one_variant_per_encoding_whatever_the_header_says():
    app, calls = text_app()
    cache = response_cache.ResponseCache()
    wrapped = response_cache.cached(response_cache.compressed(app), cache, lambda: True)
    first = await fetch(wrapped, "http://site/a.csv", headers={"accept-encoding": "gzip, deflate, br, zstd"})
    again = await fetch(wrapped, "http://site/a.csv", headers={"accept-encoding": "gzip"})
    plain = await fetch(wrapped, "http://site/a.csv", headers={"accept-encoding": "identity"})
    none = await fetch(wrapped, "http://site/a.csv", headers={"accept-encoding": ""})
    assert [r.headers.get("content-encoding") for r in (first, again, plain, none)] == ["gzip", "gzip", None, None]
    assert all(r.content == TEXT for r in (first, again, plain, none))
    assert len(calls) == 2  # one gzip variant, one plain: both then served from the cache
    stored = {key.split(b"\n", 1)[1]: entry for key, entry in cache.entries.items()}
    assert set(stored) == {b"accept-encoding:gzip", b"accept-encoding:"}
    assert (b"content-encoding", b"gzip") in stored[b"accept-encoding:gzip"].headers
    assert len(stored[b"accept-encoding:gzip"].body) < len(TEXT) / 4  # the compressed bytes are what is kept


async def test_the_site_gzips_pages_and_keeps_their_language_and_its_download(datasette, db_path):
    """Through the profile's own plugins, in their order: the page's lang survives compression."""
    page = await datasette.client.get("/", headers={"accept-encoding": "gzip"})
    assert page.headers["content-encoding"] == "gzip"
    assert '<html lang="en-GB">' in page.text
    download = await datasette.client.get("/leftbehind.db", headers={"accept-encoding": "gzip"})
    assert "content-encoding" not in download.headers
    assert download.content == db_path.read_bytes()


async def test_the_site_streams_a_gzipped_csv_export(datasette, db_path):
    """The profile's whole ASGI stack, called directly: a full CSV export leaves in many pieces."""
    sent: list[dict] = []

    async def record(message):
        sent.append(message)

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    scope = {
        "type": "http", "http_version": "1.1", "method": "GET", "scheme": "http", "server": ("localhost", 80),
        "path": "/leftbehind/wards.csv", "raw_path": b"/leftbehind/wards.csv", "query_string": b"_stream=on",
        "headers": [(b"host", b"localhost"), (b"accept-encoding", b"gzip")], "root_path": "",
    }
    await datasette.app()(scope, receive, record)
    start, *bodies = sent
    assert start["status"] == 200 and dict(start["headers"])[b"content-encoding"] == b"gzip"
    assert len([m for m in bodies if m.get("body")]) > 2
    rows = gzip.decompress(b"".join(m.get("body", b"") for m in bodies)).decode().splitlines()
    with sqlite3.connect(db_path) as connection:
        count = connection.execute("select count(*) from wards").fetchone()[0]
    assert len(rows) == count + 1  # the header and every ward: the stream went to the end


async def test_a_streams_small_pieces_leave_in_chunks_compressed_or_not():
    """Datasette streams a CSV a row per message: they leave in chunks, every byte in order, the last one
    when the stream ends."""
    body = TEXT * 5  # 450 KB in pieces of 60 bytes
    for accept in (b"gzip", b"identity"):
        app, _ = text_app(body, chunk=60)
        sent: list[dict] = []

        async def record(message):
            sent.append(message)

        scope = {"type": "http", "method": "GET", "path": "/a.csv", "headers": [(b"accept-encoding", accept)]}
        await response_cache.compressed(app)(scope, None, record)
        start, *bodies = sent
        assert len(bodies) < len(body) / response_cache.STREAM_CHUNK_BYTES + 3, len(bodies)
        assert all(len(m["body"]) >= response_cache.STREAM_CHUNK_BYTES for m in bodies[:-1] if accept == b"identity")
        assert [m.get("more_body", False) for m in bodies][-1] is False
        joined = b"".join(m["body"] for m in bodies)
        assert (gzip.decompress(joined) if accept == b"gzip" else joined) == body


ANONYMOUS_VISITS = [
    "/", "/about", "/find-my-ward", "/find-my-ward?q=park", "/find-my-ward.json?q=park", "/leftbehind",
    "/leftbehind/wards", "/leftbehind/wards?region_name=North+East", "/leftbehind/wards.json",
    "/leftbehind/wards/E05001648", "/leftbehind/local_authorities/E06000047", "/leftbehind/regions/E12000001",
    "/leftbehind/left_behind_neighbourhoods", "/leftbehind/ward_changes", "/leftbehind/search_publications?q=covid",
    "/leftbehind?sql=select+1", "/leftbehind/publications_feed.atom", "/leftbehind/wards.csv?_size=5",
    "/-/dashboards/left-behind", "/sitemap.xml", "/robots.txt", "/leftbehind/datapackage.json",
    "/leftbehind/publications?_facet=year", "/leftbehind/sessions",
]


async def test_no_page_sets_a_cookie_for_an_anonymous_visitor_and_each_is_kept(datasette):
    """Datasette's CSRF token (asgi-csrf's ds_csrftoken) and messages (ds_messages) are set only when a page
    has a form that posts or a message: none of the site's pages does for a visitor without a cookie. So an
    ordinary visitor gets public answers, and the page cache keeps every one of them."""
    cache = response_cache.response_cache_for(datasette)
    for path in ANONYMOUS_VISITS:
        first = await datasette.client.get(path)
        assert first.status_code == 200, path
        assert "set-cookie" not in first.headers, (path, first.headers.get("set-cookie"))
        control = first.headers["cache-control"]
        assert "private" not in control and "no-store" not in control, (path, control)
        url = b"http://localhost" + path.split("?")[0].encode() + b"?" + (path.split("?", 1)[1].encode() if "?" in path else b"")
        assert any(key.startswith(url) for key in cache.entries), path
