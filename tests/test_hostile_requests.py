"""Issue 10: what a hostile request can no longer do to the public site.

Host and forwarded headers, request size, slow clients and log lines are tested
through a real server started with the publishing profile (they live in the HTTP
layer); SQLite's limits, the SQL lane and bad parameters through Datasette's own
test client with the profile's plugins.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import sqlite3
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from conftest import profile_datasette
from support.live import HOST, PROBE_PATH, free_port, inspected, running
from leftbehind.serve import serve_command
from leftbehind.site import guard, sql_lane, sqlite_limits

pytestmark = pytest.mark.long  # among the slowest files: scheduled first (tests/conftest.py)

EVIL = "evil.example"
RUNAWAY_SQL = "with recursive c(x) as (select 1 union all select x + 1 from c) select count(*) from c"


@contextmanager
def profile_site(database: Path, folder: Path, env: dict[str, str] | None = None) -> Iterator[tuple[str, Path]]:
    """The profile served as ``make serve`` serves it, told its origin; yields (base URL, log)."""
    folder.mkdir(parents=True, exist_ok=True)
    inspect_file = inspected(database)
    port = free_port()
    base = f"http://{HOST}:{port}"
    log = folder / f"server-{port}.log"
    with running(serve_command(database, inspect_file, HOST, port), base + PROBE_PATH, log,
                 env={"LEFTBEHIND_ORIGIN": base, **(env or {})}):
        yield base, log


@pytest.fixture(scope="module")
def site(db_path, tmp_path_factory) -> Iterator[tuple[str, Path]]:
    with profile_site(db_path, tmp_path_factory.mktemp("hostile-site")) as served:
        yield served


@pytest.fixture(scope="module")
def patient(db_path, metadata):
    """The publishing profile with a long time limit, for the tests of SQLite's limits: what
    stops these queries must be the limit under test, never the clock of a busy machine."""
    datasette = profile_datasette(db_path, metadata)
    datasette._settings["sql_time_limit_ms"] = datasette.sql_time_limit_ms = 60_000
    return datasette


def raw_exchange(base: str, request: bytes, timeout: float = 30) -> bytes:
    """Send ``request`` as it is and read the whole answer until the server closes."""
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def get(base: str, path: str, host: str | None = None, extra: str = "", version: str = "1.1") -> bytes:
    host_line = f"Host: {host}\r\n" if host is not None else ""
    request = f"GET {path} HTTP/{version}\r\n{host_line}{extra}Connection: close\r\n\r\n"
    return raw_exchange(base, request.encode())


# 1. Absolute URLs never come from untrusted headers ------------------------------------------


@pytest.mark.parametrize("host", [EVIL, f"{EVIL}:8001", "127.0.0.1:1", "localhost.evil.example"])
def test_requests_for_another_host_are_refused(site, host):
    base, _ = site
    answer = get(base, "/leftbehind/wards.json?_size=1", host=host)
    assert status_of(answer) == 400
    assert b"Unknown host" in answer


def test_two_host_headers_are_refused(site):
    base, _ = site
    own = base.removeprefix("http://")
    answer = get(base, "/", host=own, extra=f"Host: {EVIL}\r\n")
    assert status_of(answer) == 400


PRIMED_PAGES = [
    "/leftbehind/wards.json?_size=2&_primed=1",
    "/leftbehind/wards?_size=2&_primed=1",
    "/-/dashboards/left-behind?_primed=1",
]


def test_hostile_headers_never_reach_the_next_visitor(site):
    """Prime the page cache with every hostile variant, then read the pages as a visitor."""
    base, _ = site
    own = base.removeprefix("http://")
    for page in PRIMED_PAGES:
        for host, extra in [
            (EVIL, ""),
            (own, f"X-Forwarded-Host: {EVIL}\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Port: 443\r\n"),
            (own, f"Forwarded: host={EVIL};proto=https\r\nX-Original-URL: //{EVIL}/\r\n"),
        ]:
            get(base, page, host=host, extra=extra)
        get(base, page, host=None, version="1.0")
    for page in PRIMED_PAGES:
        response = httpx.get(base + page, timeout=30)
        assert response.status_code == 200, page
        text = response.text + response.headers.get("link", "")
        for foreign in (EVIL, "https://127.0.0.1", "http://localhost"):
            assert foreign not in text, (page, foreign)
    data = httpx.get(base + PRIMED_PAGES[0], timeout=30)
    assert data.json()["next_url"].startswith(base + "/leftbehind/wards.json?")
    assert data.headers["link"].startswith(f"<{base}/leftbehind/wards.json?")
    dashboard = httpx.get(base + PRIMED_PAGES[2], timeout=30).text
    absolute_urls = set(re.findall(r"renderChart\('[^']*', .*?, '[^']*', '([^']*)'\)", dashboard))
    assert absolute_urls == {base + "/"}


def test_a_request_without_host_gets_the_sites_own_links(site):
    """HTTP/1.0 allows no Host: Datasette would have built http://localhost/ links."""
    base, _ = site
    answer = get(base, "/leftbehind/wards.json?_size=1&_nohost=1", host=None, version="1.0")
    assert status_of(answer) == 200
    body = answer.split(b"\r\n\r\n", 1)[1]
    assert json.loads(body)["next_url"].startswith(base + "/")
    assert b"localhost" not in answer


def test_forwarded_headers_are_not_trusted_from_the_client(site):
    base, _ = site
    response = httpx.get(base + "/leftbehind/wards.json?_size=1&_fwd=1", timeout=30,
                         headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"})
    assert response.json()["next_url"].startswith(base + "/")


async def test_a_configured_origin_names_every_absolute_url(db_path, metadata, monkeypatch):
    """Publishing sets the real origin: links use it, and the address served on is not accepted."""
    monkeypatch.setenv("LEFTBEHIND_ORIGIN", "https://leftbehind.example.org")
    datasette = profile_datasette(db_path, metadata)
    ours = await datasette.client.get("/leftbehind/wards.json?_size=1", headers={"host": "leftbehind.example.org"})
    assert ours.status_code == 200
    assert ours.json()["next_url"].startswith("https://leftbehind.example.org/leftbehind/wards.json?")
    assert ours.headers["strict-transport-security"].startswith("max-age=")
    assert (await datasette.client.get("/leftbehind/wards.json?_size=1")).status_code == 400  # Host: localhost


def test_make_serve_takes_its_origin_from_the_address_it_serves_on(db_path, tmp_path):
    """``python -m leftbehind.serve serve --port N`` (what ``make serve`` runs), with no origin set."""
    port = free_port()
    base = f"http://{HOST}:{port}"
    command = [sys.executable, "-m", "leftbehind.serve", "--database", str(db_path), "serve", "--port", str(port)]
    assert "LEFTBEHIND_ORIGIN" not in os.environ
    with running(command, base + PROBE_PATH, tmp_path / "serve.log"):
        own = httpx.get(base + "/leftbehind/wards.json?_size=1", timeout=30)
        alias = httpx.get(f"http://localhost:{port}/leftbehind/wards.json?_size=1&_alias=1", timeout=30)
        foreign = httpx.get(base + "/", headers={"host": f"{EVIL}:{port}"}, timeout=30)
    assert own.json()["next_url"].startswith(base + "/")
    assert alias.json()["next_url"].startswith(base + "/")  # localhost is this machine too; links name the origin
    assert foreign.status_code == 400


def test_an_origin_with_a_path_is_a_startup_error():
    with pytest.raises(ValueError, match="scheme and host only"):
        guard.parse_origin("https://example.org/site")


# 2. SQLite configured for untrusted SQL ---------------------------------------------------------


@pytest.mark.parametrize(
    "sql",
    [
        "select zeroblob(20000000)",
        "select randomblob(20000000)",
        "select length(replace(hex(zeroblob(3000000)), '00', 'xxx'))",
    ],
)
async def test_one_function_call_cannot_build_a_huge_value(patient, sql):
    response = await patient.client.get("/leftbehind.json", params={"sql": sql})
    assert response.status_code == 400
    assert "string or blob too big" in response.json()["error"]


async def test_printf_past_the_length_limit_gives_null(patient):
    response = await patient.client.get("/leftbehind.json", params={"sql": "select printf('%.*c', 20000000, 'x')"})
    assert response.status_code == 200
    assert response.json()["rows"] == [[None]]


@pytest.mark.parametrize(
    "sql",
    [
        "select hex(zeroblob(200000)) from wards limit 250",
        "select cast(zeroblob(1000000) as text) from wards limit 20",
        "with recursive s(v, n) as (select 'x', 0 union all select v || v, n + 1 from s where n < 20)"
        " select v from s, wards where n = 20 limit 150",
    ],
)
async def test_a_result_too_large_for_json_is_refused_before_it_is_built(patient, sql):
    response = await patient.client.get("/leftbehind.json", params={"sql": sql})
    assert response.status_code == 400
    assert "Query result too large" in response.json()["error"]


@pytest.mark.parametrize(
    "sql",
    [
        "select fts3_tokenizer('simple')",
        "select fts3_tokenizer('simple', x'0000000000000000')",
        "select load_extension('/tmp/x')",
        "select * from sqlite_stmt",
        "select * from dbstat",
    ],
)
async def test_pointers_files_and_other_statements_are_out_of_reach(datasette, sql):
    response = await datasette.client.get("/leftbehind.json", params={"sql": sql})
    assert response.status_code == 400
    error = response.json()["error"]
    assert "not authorized" in error or "prohibited" in error, error


async def test_every_connection_carries_the_limits_and_the_authorizer(datasette):
    db = datasette.get_database("leftbehind")

    def limits(conn):
        return {limit: conn.getlimit(limit) for limit in sqlite_limits.LIMITS}

    assert await db.execute_fn(limits) == sqlite_limits.LIMITS

    def write_pragma(conn):
        try:
            conn.execute("pragma cache_size = 0")
        except Exception as error:  # noqa: BLE001 - the test reports what was raised
            return str(error)
        return "allowed"

    assert await db.execute_fn(write_pragma) == "not authorized"


async def test_the_sites_own_pages_fit_inside_the_limits(datasette):
    for path in ["/leftbehind/wards.json?_size=max&_labels=on&_shape=objects", "/leftbehind/publications?_search=covid",
                 "/leftbehind.json?sql=" + quote("select * from pragma_table_info('wards')"),
                 "/leftbehind/publications.json?_facet_array=topics&_facet=kind&_size=max"]:
        response = await datasette.client.get(path)
        assert response.status_code == 200, (path, response.text[:300])


# 3. Request limits before Datasette parses anything ---------------------------------------------


def test_an_over_long_url_gets_414(site):
    base, _ = site
    for length in (guard.MAX_TARGET_BYTES + 10, 100_000):
        answer = get(base, "/leftbehind/wards?ward_name=" + "x" * length, host=base.removeprefix("http://"))
        assert status_of(answer) == 414


def test_too_many_parameters_get_400(site):
    base, _ = site
    own = base.removeprefix("http://")
    answer = get(base, "/leftbehind/wards?" + "&".join("c=1" for _ in range(3000)), host=own)
    assert status_of(answer) == 400
    assert b"Too many query parameters" in answer
    facets = "&".join("_facet=region_name" for _ in range(guard.MAX_FACETS + 1))
    answer = get(base, "/leftbehind/wards?" + facets, host=own)
    assert status_of(answer) == 400
    assert b"Too many facets" in answer


def test_too_many_headers_get_431(site):
    base, _ = site
    extra = "".join(f"X-Pad-{i}: {i}\r\n" for i in range(guard.MAX_HEADERS + 1))
    assert status_of(get(base, "/", host=base.removeprefix("http://"), extra=extra)) == 431


def test_a_client_that_sends_its_headers_slowly_is_cut_off(site):
    """A client that sends its headers a byte a second is answered 408 and closed, not held for ever."""
    from leftbehind.server import HEADER_TIMEOUT_SECONDS

    base, _ = site
    host, port = base.removeprefix("http://").split(":")
    give_up = time.monotonic() + HEADER_TIMEOUT_SECONDS + 20
    answer = b""
    with socket.create_connection((host, int(port)), timeout=1) as sock:
        sock.sendall(f"GET / HTTP/1.1\r\nHost: {host}:{port}\r\nX-Slow: ".encode())
        while time.monotonic() < give_up:
            try:
                chunk = sock.recv(4096)
            except socket.timeout:
                sock.sendall(b"a")  # one more byte of a header that never ends
                continue
            except (ConnectionResetError, BrokenPipeError):
                break
            if not chunk:
                break
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 408"), answer[:100]


def test_log_lines_are_cut_to_a_sane_length(site):
    base, log = site
    long_path = "/leftbehind/topics?_pad=" + "p" * (guard.MAX_TARGET_BYTES - 200)
    assert httpx.get(base + long_path, timeout=30).status_code == 200
    deadline = time.monotonic() + 60  # the access log line is written after the response: wait for it
    while True:
        lines = log.read_text(errors="replace").splitlines()
        if any("_pad=ppp" in line for line in lines):
            break
        assert time.monotonic() < deadline, "the request was never logged"
        time.sleep(0.05)
    assert max(len(line) for line in lines) < 2 * guard.LOG_ARGUMENT_CHARS


# 5. Visitors' SQL cannot take every SQL thread ----------------------------------------------------


async def test_ordinary_pages_are_answered_while_runaway_queries_run(db_path, metadata):
    """Four runaway queries at once: ordinary pages asked for after them are answered first.

    Without a lane of their own they hold all three SQL threads for the whole time
    limit, and the ordinary pages wait for one of them to be cut off. The
    dashboard's charts are ``?sql=`` requests too, but the site's own.
    """
    datasette = profile_datasette(db_path, metadata)
    chart_query = sorted(sql_lane.site_queries(datasette))[0]
    finished: list[str] = []

    async def runaway(n: int) -> int:
        response = await datasette.client.get("/leftbehind.json", params={"sql": RUNAWAY_SQL, "_n": n})
        finished.append("runaway")
        return response.status_code

    lane = sql_lane.lane_for(datasette)

    async def ordinary(path: str, params: dict) -> int:
        async with asyncio.timeout(60):  # a deadline, not a wait
            while lane.running == 0:  # until a runaway query holds the lane (an event, not a guess of 0.2 s)
                await asyncio.sleep(0.01)
        response = await datasette.client.get(path, params=params)
        finished.append("ordinary")
        return response.status_code

    statuses = await asyncio.gather(
        *(runaway(n) for n in range(4)),
        ordinary("/leftbehind/wards/E05001595.json", {"_shape": "objects"}),
        ordinary("/leftbehind.json", {"sql": chart_query, "_shape": "objects"}),
    )
    assert statuses[-2:] == [200, 200]
    assert finished[:2] == ["ordinary", "ordinary"], finished
    assert set(statuses[:-2]) <= {400, 429}


async def test_a_visitor_waiting_too_long_for_the_sql_lane_gets_429(db_path, metadata):
    datasette = profile_datasette(db_path, metadata)
    # A runaway query holds the lane until the time limit (1 s); a wait shorter than that makes
    # the second one give up whatever the machine's speed (at the 2 s wait, four queries of
    # 1 s each made the third's wait a race with the second's end).
    sql_lane.lane_for(datasette).wait = 0.5
    responses = await asyncio.gather(*(
        datasette.client.get("/leftbehind.json", params={"sql": RUNAWAY_SQL, "_n": n}) for n in range(4)
    ))
    busy = [r for r in responses if r.status_code == 429]
    assert busy, [r.status_code for r in responses]
    assert "one at a time" in busy[0].json()["error"]
    assert busy[0].headers["retry-after"] == "2"
    assert busy[0].headers["cache-control"] == "no-store"


# 6. Every bad parameter is a 4xx with a message --------------------------------------------------


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/leftbehind/wards?_facet=%00", "NUL"),
        ("/leftbehind/wards?_facet=ward_name%00", "NUL"),
        ("/leftbehind/wards.json?_facet_array=%00", "NUL"),
        ("/leftbehind/wards?_facet_date=ward%00name", "NUL"),
        ("/leftbehind/wards?_where=1%00", "NUL"),
        ("/leftbehind/wards?ward%00name=x", "NUL"),
        ("/leftbehind/wards?ward_name%00__exact=x", "NUL"),
        ("/leftbehind/wards?_timelimit=abc", "_timelimit"),
        ("/leftbehind/wards.json?_timelimit=-5", "_timelimit"),
        ("/leftbehind.json?sql=select+1&_timelimit=abc", "_timelimit"),
        ('/leftbehind/wards?_through={"table":1,"column":2,"value":3}', "_through"),
        ('/leftbehind/wards?_through={"table":"lad_wards","column":["x"],"value":3}', "_through"),
        ("/leftbehind.json?sql=" + quote("select json_extract('{}', cast(x'ff' as text))"), "not valid UTF-8"),
        ("/leftbehind/wards.json?_where=" + quote("json_extract('{}', cast(x'ff' as text)) is null"), "not valid UTF-8"),
        ("/leftbehind/publication_organisations/13", "primary key"),
        # Found by sending every Datasette parameter odd values (not in the list):
        ("/leftbehind/wards.json?_facet=%7B%7D", "_facet"),
        ('/leftbehind/wards?_facet_array={"simple":1}', "_facet_array"),
        ("/leftbehind/wards.json?ward_name__in=%5B", "not valid JSON"),
        ('/leftbehind/wards.json?ward_name__in=[{"a":1}]', "cannot be used in SQL"),
        ("/leftbehind/wards.json?cni_rank__gt=99999999999999999999", "too large for SQLite"),
        ("/leftbehind.json?_shape=array", "_shape"),
        # Found by fuzzing every table's and view's parameters after the people's pages and outlines:
        ("/leftbehind/left_behind_neighbourhoods?_next=null", "_next"),
        ("/leftbehind/left_behind_neighbourhoods.json?_next=1,2", "_next"),
        ("/leftbehind/left_behind_neighbourhoods.csv?_next=off", "_next"),
        ("/leftbehind/left_behind_neighbourhoods.json?_next=999999999999999999999", "_next"),
        ("/leftbehind.csv", "give a query"),
        ("/leftbehind.csv?_stream=on&_size=max", "give a query"),
        # and the static routes: a name longer than a file's may be.
        ("/assets/" + "a" * 300, "File not found"),
        ("/-/static/" + "a" * 300, "File not found"),
        ("/-/static-plugins/datasette-leaflet/" + "a" * 300, "File not found"),
    ],
)
async def test_bad_parameters_get_a_4xx_with_a_message(datasette, path, message):
    response = await datasette.client.get(path)
    assert 400 <= response.status_code < 500, (path, response.status_code, response.text[:300])
    assert message in response.text


async def test_error_pages_print_no_traceback(db_path, metadata, capsys):
    """An error page for a bad request costs no traceback: cheap 4xx answers must neither stall the
    event loop (a highlighted traceback with locals) nor let a client fill the log."""
    import rich  # noqa: F401 - present in the test environment (through frictionless), as it may be anywhere

    datasette = profile_datasette(db_path, metadata)
    capsys.readouterr()
    for path in (
        "/leftbehind/no_such_table",
        "/leftbehind/wards?_sort=no_such_column",
        # Errors the profile answers as 4xx: Datasette's own handler must not also treat them as 500s.
        "/leftbehind/publication_organisations/13",
        "/leftbehind/wards.json?cni_rank__gt=99999999999999999999",
        "/assets/" + "a" * 300,
    ):
        response = await datasette.client.get(path)
        assert 400 <= response.status_code < 500, (path, response.status_code)
    printed = capsys.readouterr()
    assert "Traceback" not in printed.out + printed.err
    assert "locals" not in printed.out + printed.err


def test_time_limit_interrupts_only_the_query_it_guards():
    """The timer that keeps the SQL time limit stops a runaway query, and never the next one."""
    conn = sqlite3.connect(":memory:", check_same_thread=False)
    started = time.perf_counter()
    with pytest.raises(sqlite3.OperationalError, match="interrupted"):
        with sqlite_limits.interrupt_after(conn, 100):
            conn.execute(RUNAWAY_SQL).fetchall()
    assert time.perf_counter() - started < 1.0
    with sqlite_limits.interrupt_after(conn, 100):
        assert conn.execute("select 1").fetchone() == (1,)
    # The next query on the connection runs past the finished query's limit: its timer must not end it.
    counted = "with recursive c(x) as (select 1 union all select x + 1 from c where x < 3000000) select count(*) from c"
    started = time.perf_counter()
    assert conn.execute(counted).fetchone() == (3000000,)
    assert time.perf_counter() - started > 0.2, "the check needs a query that outlasts the 100 ms limit"


QUICK_DEADLINE_MS = 10_000


def test_one_thread_keeps_every_querys_time_limit():
    """Queries on several connections at once, with different limits: each is interrupted at its own
    deadline, one that finishes in time is not, and one thread keeps all the deadlines."""
    def run(limit_ms: int, sql: str):
        conn = sqlite3.connect(":memory:", check_same_thread=False)
        started = time.perf_counter()
        try:
            with sqlite_limits.interrupt_after(conn, limit_ms):
                value = conn.execute(sql).fetchone()[0]
        except sqlite3.OperationalError as error:
            value = str(error)
        return value, time.perf_counter() - started

    short = "with recursive c(x) as (select 1 union all select x + 1 from c where x < 1000) select count(*) from c"
    # The deadlines far apart, so that a timer thread kept waiting by a busy machine still
    # tells them apart: the bounds are the deadlines themselves, not guesses at the delays.
    with ThreadPoolExecutor(4) as pool:
        late = pool.submit(run, 1500, RUNAWAY_SQL)
        early = pool.submit(run, 150, RUNAWAY_SQL)
        # Quick queries with a deadline far beyond their run: running while the others' deadlines
        # pass, they must not be interrupted by them (with a 150 ms deadline of their own, a
        # machine at load 14 sometimes took longer than that to count to 1,000).
        quick = [pool.submit(run, QUICK_DEADLINE_MS, short) for _ in range(50)]
        (early_value, early_seconds), (late_value, late_seconds) = early.result(), late.result()
    assert early_value == late_value == "interrupted"
    assert 0.15 <= early_seconds < 1.5, early_seconds  # its own deadline, not the later one
    assert late_seconds >= 1.5, late_seconds  # not cut short by the earlier deadline
    assert all(future.result()[0] == 1000 for future in quick)
    assert [t.name for t in threading.enumerate()].count("sql-time-limit") == 1
