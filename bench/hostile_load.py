"""Mixed concurrent load with hostile requests, then each attack class alone.

Starts the site exactly as ``make serve`` does (leftbehind/serve.py) on 127.0.0.1,
then for a bounded time drives, at each concurrency level, a mix of ordinary
requests (facets, JSON and CSV exports, search, canned queries, the map's data
requests, ward row pages) and hostile ones (SQL that would run for minutes,
writes, malformed and oversized parameters). Prints requests per second,
p50/p99 latency and errors per class, and checks the database file is unchanged.

Then it runs the attack classes of issue 10 one at a time (bench/_attacks.py):
cache poisoning through Host and forwarded headers, SQL with huge results,
3,000-parameter and 100 KB URLs, a flood of unique long URLs into the page cache,
four clients looping runaway SQL, the parameters that used to give 500s, and
slow clients. For each: the server's memory before, after and at its peak, and
the latency of ordinary uncached pages requested meanwhile.

    python bench/hostile_load.py [--database PATH] [--seconds 20] [--levels 8 32]

This is a measurement script, not a test: it prints figures and exits non-zero
only when a target is missed (a 5xx, a dropped connection, a write or runaway
query that got through, ordinary requests whose p99 exceeds the time limit
plus the margin, or one of the attack classes' targets).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import _attacks
import httpx
from _attacks import CLIENT_HEADER, Tally
from _common import database as benchmark_database
from _common import print_machine

from support.live import HOST, PROBE_PATH, free_port, running
from leftbehind.serve import SETTINGS, inspect_command, serve_command

MARGIN_SECONDS = 1.0  # stated margin over sql_time_limit_ms for ordinary requests
SLOW_SQL = [
    "with recursive c(x) as (select 1 union all select x + 1 from c) select count(*) from c",
    "select count(*) from wards a, wards b, wards c",
]
WRITE_SQL = [
    "insert into topics values ('x', 'y', 'z')",
    "update wards set population = 0",
    "drop table wards",
    "attach database '/tmp/evil.db' as evil",
    "pragma writable_schema = 1",
]
MALFORMED = [
    "/leftbehind/wards.json?_size=999999",
    "/leftbehind/wards?_facet=no_such_column",
    "/leftbehind/publications?_search=%22",
    "/leftbehind/publications?_search=AND+OR+(&_searchmode=raw",
    "/leftbehind/wards?_sort=no_such_column",
    "/leftbehind/wards?ward_name=" + "x" * 6000,
    "/leftbehind/wards?_through=%7B%22table%22%3A1%7D",
]


def ordinary_requests(ward_codes: list[str]) -> dict[str, list[str]]:
    """Paths a normal visitor or API user sends, by class; each class is equally likely."""
    map_qs = "_size=max&_labels=on&_extra=count&_extra=next_url&_shape=objects"
    return {
        "facets": ["/leftbehind/wards", "/leftbehind/wards?region_name=North+East", "/leftbehind/publications"],
        "json": ["/leftbehind/wards.json?_size=100&_shape=objects", "/leftbehind/publications.json?_shape=array"],
        "csv": ["/leftbehind/left_behind_neighbourhoods.csv?_stream=on&_size=max", "/leftbehind/publications.csv"],
        "search": ["/leftbehind/publications?_search=covid", "/leftbehind/wards.json?_search=park"],
        "canned": ["/leftbehind/region_summary.json", "/leftbehind/find_ward.json?name=park",
                   "/leftbehind/search_publications.json?q=community", "/leftbehind/ward_changes"],
        "map": [f"/leftbehind/left_behind_neighbourhoods.json?{map_qs}", f"/leftbehind/wards.json?{map_qs}"],
        "row": [f"/leftbehind/wards/{code}" for code in ward_codes],
    }


def hostile_requests() -> list[tuple[str, str, str]]:
    """(class, method, path) pairs: writes and malformed parameters."""
    requests = [("write", "GET", "/leftbehind.json?" + httpx.QueryParams({"sql": sql}).__str__()) for sql in WRITE_SQL]
    requests += [("write", "POST", "/leftbehind/topics"), ("write", "POST", "/leftbehind/search_publications")]
    requests += [("malformed", "GET", path) for path in MALFORMED]
    return requests


async def timed(client: httpx.AsyncClient, method: str, path: str) -> tuple[int | None, float]:
    started = time.perf_counter()
    try:
        response = await client.request(method, path, data={"sql": "drop table wards"} if method == "POST" else None)
        await response.aread()
        return response.status_code, time.perf_counter() - started
    except httpx.HTTPError:
        return None, time.perf_counter() - started


async def run_level(base: str, connections: int, seconds: float, ward_codes: list[str]) -> dict[str, Tally]:
    tallies: dict[str, Tally] = {}
    ordinary = ordinary_requests(ward_codes)
    hostile = hostile_requests()
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:

        async def visitor(seed: int) -> None:
            rng = random.Random(seed)
            while time.perf_counter() < deadline:
                if rng.random() < 0.1:
                    kind, method, path = rng.choice(hostile)
                else:
                    kind = rng.choice(sorted(ordinary))
                    path, method = rng.choice(ordinary[kind]), "GET"
                status, elapsed = await timed(client, method, path)
                tallies.setdefault(kind, Tally()).add(status, elapsed)

        async def slow_sql_sender() -> None:
            rng = random.Random(0)
            while time.perf_counter() < deadline:
                path = "/leftbehind.json?" + str(httpx.QueryParams({"sql": rng.choice(SLOW_SQL)}))
                status, elapsed = await timed(client, "GET", path)
                tallies.setdefault("slow sql", Tally()).add(status, elapsed)

        workers = [visitor(i) for i in range(connections - 1)] + [slow_sql_sender()]
        await asyncio.gather(*workers)
    return tallies


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def report(level: int, seconds: float, tallies: dict[str, Tally]) -> list[str]:
    lines = [f"\n### {level} concurrent connections, {seconds:.0f} s", "",
             "| class | requests | req/s | p50 ms | p99 ms | max ms | 4xx | 5xx | dropped |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    total = Tally()
    for kind in sorted(tallies):
        t = tallies[kind]
        total.latencies += t.latencies
        for status, n in t.statuses.items():
            total.statuses[status] = total.statuses.get(status, 0) + n
        total.dropped += t.dropped
        lines.append(row(kind, t, seconds))
    lines.append(row("**all**", total, seconds))
    return lines


def row(kind: str, t: Tally, seconds: float) -> str:
    client_errors = sum(n for s, n in t.statuses.items() if 400 <= s < 500)
    top = max(t.latencies) if t.latencies else float("nan")
    return (f"| {kind} | {t.count} | {t.count / seconds:.1f} | {t.percentile(50) * 1000:.0f} | "
            f"{t.percentile(99) * 1000:.0f} | {top * 1000:.0f} | {client_errors} | {t.server_errors} | {t.dropped} |")


def check_targets(tallies: dict[str, Tally]) -> list[str]:
    limit = int(SETTINGS["sql_time_limit_ms"]) / 1000
    missed = []
    for kind, t in tallies.items():
        if t.server_errors:
            missed.append(f"{kind}: {t.server_errors} responses were 5xx")
        if t.dropped:
            missed.append(f"{kind}: {t.dropped} connections dropped")
    # Writes and runaway SQL must be refused; a malformed parameter may also get a clean page.
    for kind in ("write", "slow sql"):
        ok = {s for s in tallies.get(kind, Tally()).statuses if s < 400}
        if ok:
            missed.append(f"{kind}: got success statuses {sorted(ok)}")
    for kind in ("facets", "json", "csv", "search", "canned", "map", "row"):
        t = tallies.get(kind)
        if t and t.latencies and t.percentile(99) > limit + MARGIN_SECONDS:
            missed.append(f"{kind}: p99 of ordinary requests {t.percentile(99):.2f}s, over {limit + MARGIN_SECONDS:.1f}s")
    return missed


@dataclass
class Server:
    base: str
    pid: int
    log: Path


@contextmanager
def profile_process(database: Path) -> Iterator[Server]:
    """The profile served as ``make serve`` serves it, with its process id and log.

    The server is told its public origin (LEFTBEHIND_ORIGIN), as a published site is, and
    the header that names each visitor behind a proxy (LEFTBEHIND_CLIENT_HEADER).
    """
    with tempfile.TemporaryDirectory(prefix="leftbehind-load-") as name:
        folder = Path(name)
        inspect_file = folder / "inspect.json"
        subprocess.run(inspect_command(database, inspect_file), check=True, capture_output=True)
        port = free_port()
        base = f"http://{HOST}:{port}"
        log = folder / "server.log"
        command = serve_command(database, inspect_file, HOST, port)
        # As on Fly (deploy/fly.toml), visitors are told apart by the proxy's client header:
        # the load's clients all connect from 127.0.0.1, as every visitor reaches a published
        # copy from its proxy's address; those that stand for different visitors say so in it.
        env = {"LEFTBEHIND_ORIGIN": base, "LEFTBEHIND_CLIENT_HEADER": CLIENT_HEADER}
        with running(command, base + PROBE_PATH, log, env=env) as process:
            yield Server(base, process.pid, log)


def cache_limits() -> tuple[int, int]:
    """The page cache's byte cap and per-entry limit, read from the plugin itself."""
    from leftbehind.site import cache

    return cache.MAX_BYTES, cache.MAX_ENTRY_BYTES


ATTACK_CLASSES = ("poison", "huge", "long", "flood", "runaway", "params", "slow",
                  "encoded", "cells", "facets", "rawsearch", "cookie", "stream", "staggered", "readers")
# What the server may grow by in a cache flood beyond the cache's own cap: Python's
# allocator keeps freed memory in its arenas, and the other structures of a busy server.
CACHE_OVERHEAD_BYTES = 32 * 1024 * 1024


async def attack_classes(server: Server, ward_codes: list[str], args: argparse.Namespace) -> tuple[list[str], list[str]]:
    """Run every attack class once, in order; return the report lines and missed targets."""
    memory = _attacks.Memory(server.pid)
    victims = _attacks.Victims(server.base, ward_codes)
    cap, _ = cache_limits()
    base = server.base
    classes = {
        "poison": lambda: _attacks.poisoned_cache(base, memory, victims),
        "huge": lambda: _attacks.huge_results(base, memory, victims),
        "long": lambda: _attacks.long_urls(base, memory, victims, server.log),
        "flood": lambda: _attacks.cache_flood(base, memory, victims, args.flood, cap, CACHE_OVERHEAD_BYTES),
        "runaway": lambda: _attacks.runaway_sql(base, memory, victims, args.runaway_seconds),
        "params": lambda: _attacks.bad_parameters(base, memory, victims),
        "slow": lambda: _attacks.slow_clients(base, memory, victims, 50, args.slow_seconds),
        # issue 21
        "encoded": lambda: _attacks.encoded_lane_bypass(base, memory, victims, args.class_seconds),
        "cells": lambda: _attacks.heavy_cells(base, memory, victims, args.class_seconds),
        "facets": lambda: _attacks.ten_facet_pages(base, memory, victims, args.class_seconds),
        "rawsearch": lambda: _attacks.raw_search(base, memory, victims, args.class_seconds),
        "cookie": lambda: _attacks.backslash_cookie(base, memory, victims, args.class_seconds),
        "stream": lambda: _attacks.never_reading_stream(base, memory, victims, args.class_seconds),
        "staggered": lambda: _attacks.staggered_starvation(base, memory, victims, args.class_seconds),
        "readers": lambda: _attacks.never_reading_readers(base, memory, victims),
    }
    results = [await classes[name]() for name in args.classes]
    lines = ["\n### Attack classes, one at a time"]
    missed = []
    for result in results:
        lines += result.lines()
        missed += result.missed
        for label, latencies in (("attack", result.attack), ("victims", result.victims)):
            if latencies.server_errors:
                missed.append(f"{result.name}: {latencies.server_errors} 5xx responses to the {label}")
            if latencies.dropped:
                missed.append(f"{result.name}: {latencies.dropped} requests of the {label} got no answer")
    return lines, missed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", type=Path, default=None, help="default: a fresh build in bench/out/")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--levels", type=int, nargs="*", default=[8, 32])
    parser.add_argument("--flood", type=int, default=3000, help="unique URLs in the cache flood")
    parser.add_argument("--runaway-seconds", type=float, default=20)
    parser.add_argument("--slow-seconds", type=float, default=30, help="how long a slow client keeps trying")
    parser.add_argument("--class-seconds", type=float, default=15, help="how long each of issue 21's classes runs")
    parser.add_argument("--classes", nargs="*", default=list(ATTACK_CLASSES), choices=ATTACK_CLASSES,
                        help="the attack classes to run, in order (none: only the mixed load)")
    args = parser.parse_args()
    database = args.database.resolve() if args.database else benchmark_database()
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as conn:
        ward_codes = [r[0] for r in conn.execute("select ward_code from wards order by ward_code limit 50")]
        all_codes = [r[0] for r in conn.execute("select ward_code from wards order by ward_code")]
    before = sha256(database)
    missed: list[str] = []
    print("# Hostile load against the publishing profile\n")
    print_machine()
    print(f"\nsql_time_limit_ms {SETTINGS['sql_time_limit_ms']}, margin {MARGIN_SECONDS:.1f} s; "
          "one connection sends slow SQL continuously, about 10% of the others' requests are hostile.")
    with profile_process(database) as server:
        for level in args.levels:
            tallies = asyncio.run(run_level(server.base, level, args.seconds, ward_codes))
            print("\n".join(report(level, args.seconds, tallies)))
            missed += [f"{level} connections: {m}" for m in check_targets(tallies)]
        if args.classes:
            random.Random(1).shuffle(all_codes)
            lines, attack_missed = asyncio.run(attack_classes(server, all_codes, args))
            print("\n".join(lines))
            missed += attack_missed
    after = sha256(database)
    print(f"\nDatabase sha256 before {before[:16]}…, after {after[:16]}…: {'unchanged' if before == after else 'CHANGED'}")
    if before != after:
        missed.append("the database file changed")
    print("\nTargets: " + ("all met" if not missed else "missed:\n- " + "\n- ".join(missed)))
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
