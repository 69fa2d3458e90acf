"""Serving benchmark: the publishing profile, default Datasette and a static file server, side by side.

    LEFTBEHIND_SOURCES_DIR=../shared/data .venv/bin/python bench/serving.py [--seconds 5] [--connections 4]

One run, one database, one request mix. Three servers on 127.0.0.1:

- profile: ``leftbehind.serve`` (inspect, then serve with --immutable and the settings),
  as published, with its in-memory response cache;
- uncached: the same profile with the response cache turned off, to show what
  Datasette itself costs per request under the profile's settings;
- default: ``datasette serve leftbehind.db`` with the same metadata, templates and
  plugins, but Datasette's default settings, no --immutable, no inspect file;
- static: ``python -m http.server`` serving, for each page, a file exactly as large as
  the profile's response: the cost of only moving those bytes on this machine.

Each page is loaded with wrk for a bounded time (one wrk thread, a few connections),
one server at a time so that they never compete, interleaved page by page and
repeated over rounds so that load from others on this shared machine hits all
alike. A sixth, reference row, ``/-/versions.json``, is the cheapest answer
Datasette gives: its per-request floor on this machine. Targets: the profile at
least 5 times default Datasette's throughput on the JSON endpoints, 2 times on
the faceted page.

The ward page is the site's own page for a ward (templates/row-leftbehind-wards.html
with leftbehind/site/pages/); default Datasette, which does not load the site's plugins, serves
its own row page at the same URL, so the two stand side by side. Its latency is
also measured with one connection (wrk -c1), where p50 is the time one request
takes rather than time spent queueing behind three others: target, uncached p50
under 30 ms.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import tempfile
import urllib.request
from contextlib import ExitStack
from pathlib import Path

import _wrk
from _common import database, out_dir, print_machine, save

from support.live import default_server, profile_server, static_server

SEARCH_WORD = "lockdown"
MAP_QUERY = "_size=max&_labels=on&_extra=count&_extra=next_url&_shape=objects"
JSON_TARGET = 5.0
FACETED_TARGET = 2.0
WARD_PAGE_P50_TARGET_MS = 30.0
WARD_PAGE = "ward page (default: its row page)"
MIX = "mix of all five"
FLOOR = ("Datasette floor (reference)", "/-/versions.json")


def pages(db: Path) -> dict[str, tuple[str, str]]:
    """name -> (path, kind). kind is 'json', 'faceted' or 'html' and picks the target."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as connection:
        ward = connection.execute("select ward_code from wards order by cni_rank limit 1").fetchone()[0]
    return {
        "wards JSON (100 rows)": ("/leftbehind/wards.json", "json"),
        "faceted wards page": ("/leftbehind/wards?region_name=North+East", "faceted"),
        "map data (_size=max)": (f"/leftbehind/left_behind_neighbourhoods.json?{MAP_QUERY}", "json"),
        "publications search": (f"/leftbehind/publications.json?_search={SEARCH_WORD}", "json"),
        WARD_PAGE: (f"/leftbehind/wards/{ward}", "html"),
    }


def fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as response:
        assert response.status == 200, (url, response.status)
        return response.read()


def warm_up(base: str, paths: list[str], times: int = 5) -> None:
    for _ in range(times):
        for path in paths:
            fetch(base + path)


def static_copies(profile: str, page_paths: dict[str, str], folder: Path) -> dict[str, str]:
    """For each page, a file as large as the profile's response; name -> file path."""
    files = {}
    for number, (name, path) in enumerate(page_paths.items()):
        size = len(fetch(profile + path))
        file = f"page{number}.bin"
        (folder / file).write_bytes(b"x" * size)
        files[name] = "/" + file
    return files


def measure(
    servers: dict[str, tuple[str, dict[str, str]]], seconds: int, connections: int, rounds: int
) -> dict[str, dict[str, _wrk.Result]]:
    """``servers``: name -> (base URL, page name -> path); the mix is every page but the floor."""
    """Then wrk every page on every server, interleaved: for each round, each page, each server
    in turn, so that load from others on this shared machine hits all alike.
    Rounds are combined: all requests over all seconds, the median p50, the worst p99."""
    for base, paths in servers.values():
        warm_up(base, list(paths.values()))
    runs: dict[str, dict[str, list[_wrk.Result]]] = {server: {} for server in servers}
    for round_number in range(1, rounds + 1):
        print(f"round {round_number} of {rounds} ...", flush=True)
        for page in [*next(iter(servers.values()))[1], MIX]:
            for server, (base, paths) in servers.items():
                if page == MIX:
                    mix = [path for name, path in paths.items() if name != FLOOR[0]]
                    result = _wrk.run(base + "/", seconds, connections, mix=mix)
                else:
                    result = _wrk.run(base + paths[page], seconds, connections)
                runs[server].setdefault(page, []).append(result)
    return {server: {page: combine(results) for page, results in pages_.items()} for server, pages_ in runs.items()}


def combine(results: list[_wrk.Result]) -> _wrk.Result:
    return _wrk.Result(
        requests=sum(r.requests for r in results),
        seconds=sum(r.seconds for r in results),
        bytes=sum(r.bytes for r in results),
        errors=sum(r.errors for r in results),
        status_errors=sum(r.status_errors for r in results),
        p50_ms=statistics.median(r.p50_ms for r in results),
        p99_ms=max(r.p99_ms for r in results),
        max_ms=max(r.max_ms for r in results),
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    db = database()
    print_machine()
    page_list = pages(db)
    page_paths = {name: path for name, (path, _) in page_list.items()} | {FLOOR[0]: FLOOR[1]}
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="leftbehind-bench-serve-")))
        logs = out_dir() / "serving-logs"
        profile = stack.enter_context(profile_server(db, logs))
        uncached = stack.enter_context(profile_server(db, logs, response_cache=False))
        default = stack.enter_context(default_server(db, logs))
        files = static_copies(profile, page_paths, folder)
        static = stack.enter_context(static_server(folder, files[next(iter(files))].lstrip("/"), logs))
        servers = {
            "profile": (profile, page_paths),
            "uncached": (uncached, page_paths),
            "default": (default, page_paths),
            "static": (static, files),
        }
        results = measure(servers, args.seconds, args.connections, args.rounds)
        latency = ward_page_latency(servers, args.seconds, args.rounds)
    report(results, page_list, args, latency)
    return 0


def ward_page_latency(
    servers: dict[str, tuple[str, dict[str, str]]], seconds: int, rounds: int
) -> dict[str, _wrk.Result]:
    """The ward page with one connection on every server, interleaved over rounds."""
    runs: dict[str, list[_wrk.Result]] = {server: [] for server in servers}
    for _ in range(rounds):
        for server, (base, paths) in servers.items():
            runs[server].append(_wrk.run(base + paths[WARD_PAGE], seconds, 1))
    return {server: combine(results) for server, results in runs.items()}


def report(
    results: dict[str, dict[str, _wrk.Result]],
    page_list: dict[str, tuple[str, str]],
    args,
    latency: dict[str, _wrk.Result],
) -> None:
    print(f"\nserving: wrk -t1 -c{args.connections} -d{args.seconds}s per page and server, {args.rounds} rounds "
          "interleaved; requests/s, p50/p99 latency in ms")
    header = (f"{'page':24} {'profile':>22} {'uncached':>22} {'default':>22} {'static':>22} "
              f"{'prof/def':>9} {'unc/def':>8} {'prof/static':>11}  target")
    print(header)
    print("-" * len(header))
    rows = {}
    for name in [*page_list, MIX, FLOOR[0]]:
        p, u, d, s = (results[server][name] for server in ("profile", "uncached", "default", "static"))
        kind = page_list.get(name, ("", "mix" if name == MIX else "floor"))[1]
        target = {"json": JSON_TARGET, "faceted": FACETED_TARGET}.get(kind)
        ratio = p.rps / d.rps if d.rps else float("inf")
        verdict = "" if target is None else f">= {target:.0f}x {'met' if ratio >= target else 'NOT met'}"
        dirty = [server for server, r in (("profile", p), ("uncached", u), ("default", d), ("static", s)) if not r.clean]
        print(f"{name:24} {cell(p):>22} {cell(u):>22} {cell(d):>22} {cell(s):>22} {ratio:8.2f}x "
              f"{u.rps / d.rps:7.2f}x {p.rps / s.rps:10.2f}x  {verdict}"
              + (f"  ERRORS in {dirty}" if dirty else ""))
        rows[name] = {"kind": kind, "target": target, "profile_over_default": ratio,
                      "uncached_over_default": u.rps / d.rps if d.rps else None,
                      **{server: vars(results[server][name]) | {"rps": results[server][name].rps}
                         for server in results}}
    print(f"\n{WARD_PAGE}, one connection (wrk -t1 -c1 -d{args.seconds}s, {args.rounds} rounds): requests/s, p50/p99 ms")
    for server, result in latency.items():
        print(f"  {server:10} {cell(result):>22}" + ("" if result.clean else "  ERRORS"))
    uncached = latency["uncached"].p50_ms
    verdict = "met" if uncached < WARD_PAGE_P50_TARGET_MS else "NOT met"
    print(f"  uncached p50 {uncached:.1f} ms: target < {WARD_PAGE_P50_TARGET_MS:.0f} ms {verdict}")
    save("serving", {
        "seconds": args.seconds, "connections": args.connections, "rounds": args.rounds, "pages": rows,
        "ward_page_one_connection": {server: vars(r) | {"rps": r.rps} for server, r in latency.items()},
        "ward_page_p50_target_ms": WARD_PAGE_P50_TARGET_MS,
    })


def cell(result: _wrk.Result) -> str:
    return f"{result.rps:7.1f} {result.p50_ms:6.1f}/{result.p99_ms:6.1f}"


if __name__ == "__main__":
    raise SystemExit(main())
