"""The in-process response cache of the publishing profile (plugins/response_cache.py)."""

from __future__ import annotations

import importlib.util

import httpx
import pytest

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


async def fetch(app, path: str, method: str = "GET") -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        return await client.request(method, path)


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
    cache = response_cache.ResponseCache(max_bytes=25, max_entry_bytes=10)
    for key in (b"a", b"b"):
        cache.put(key, 200, [], b"x" * 10)
    cache.get(b"a")  # a is now the most recently used
    cache.put(b"c", 200, [], b"x" * 10)
    assert set(cache.entries) == {b"a", b"c"}
    assert cache.size == 20
    cache.put(b"big", 200, [], b"x" * 11)  # over the per-entry limit
    assert b"big" not in cache.entries


def test_environment_switch_turns_the_cache_off(monkeypatch, datasette):
    assert response_cache.cache_enabled(datasette)
    monkeypatch.setenv("LEFTBEHIND_RESPONSE_CACHE", "off")
    assert not response_cache.cache_enabled(datasette)
