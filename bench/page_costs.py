"""Where each page type's time goes: the publishing profile in process, without its page cache.

    LEFTBEHIND_SOURCES_DIR=../shared/data .venv/bin/python bench/page_costs.py [--requests 20] [--rounds 3]

The profile's Datasette instance (``leftbehind.serve.profile_instance``, the same
arguments as the server) answers each page of ``bench/_pages.py`` through its whole ASGI
stack (guard, cache turned off, compression, SQL lane) with Datasette's own test client,
in this process. For each page type it prints:

- **ms** and **cpu ms**: the median wall time and CPU time (all the process's threads:
  the event loop and the SQL threads) of one request, without a profiler, over
  ``--rounds`` rounds that interleave the page types (so load from others on this shared
  machine hits all alike), ``--requests`` requests each. On a busy machine the CPU time
  is the steadier figure;
- **top costs**: under cProfile, the cumulative time per request inside the functions
  that mark each kind of work (permission checks, metadata deep copies, templates,
  ``render_cell`` hooks, facets, the people's pages' data, gzip) and the time the event
  loop waited for its SQL threads (SQLite's own work, and the thread hops). These are
  cumulative and overlap (``render_cell`` runs inside templates); cProfile slows Python
  code more than SQLite, so read them as shares, not as milliseconds to subtract.

The figures are written to ``bench/out/page_costs.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import statistics
import subprocess
import time
from pathlib import Path

from _common import database, out_dir, print_machine, save
from _pages import FLOOR, pages

os.environ["LEFTBEHIND_RESPONSE_CACHE"] = "off"

from leftbehind.serve import inspect_command, profile_instance  # noqa: E402

# name -> a test on pstats' (file, line, function) key: the functions that mark the work.
MARKERS = {
    "permission checks": lambda f, n: n == "permission_allowed" and f.endswith("datasette/app.py"),
    "metadata deep copies": lambda f, n: n == "deepcopy" and f.endswith("copy.py"),
    "templates": lambda f, n: n == "render_async" and "jinja2" in f,
    "render_cell hooks": lambda f, n: n == "render_cell" and "datasette/" not in f.replace("datasette_", ""),
    "facets": lambda f, n: n == "facet_results" and f.endswith("facets.py"),
    "people's page data": lambda f, n: n in ("ward_page", "council_page", "region_page", "finder", "council_2024_page"),
    "gzip": lambda f, n: "zlib.Compress" in n,
    "waiting for SQL threads": lambda f, n: "epoll" in n,
}


async def request(datasette, path: str) -> tuple[float, float]:
    """Wall and CPU seconds (of every thread of this process) of one request."""
    started, cpu = time.perf_counter(), time.process_time()
    response = await datasette.client.get(path)
    elapsed, used = time.perf_counter() - started, time.process_time() - cpu
    if response.status_code != 200:
        raise SystemExit(f"{path} answered {response.status_code}: {response.text[:300]}")
    return elapsed, used


async def timings(datasette, paths: dict[str, str], requests: int, rounds: int) -> dict[str, tuple[float, float]]:
    """name -> median wall and CPU milliseconds of one request, rounds interleaving the pages."""
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in paths}
    for _ in range(rounds):
        for name, path in paths.items():
            for _ in range(requests):
                samples[name].append(await request(datasette, path))
    return {
        name: (statistics.median(v[0] for v in values) * 1000, statistics.median(v[1] for v in values) * 1000)
        for name, values in samples.items()
    }


async def profile(datasette, path: str, requests: int) -> tuple[dict[str, float], list[tuple[str, float]]]:
    """Per request: ms inside each marker, and the ten functions with the most time of their own."""
    profiler = cProfile.Profile(time.thread_time)  # CPU time of the event loop thread: preemption by others is not counted
    profiler.enable()
    for _ in range(requests):
        await request(datasette, path)
    profiler.disable()
    stats = pstats.Stats(profiler).stats  # (file, line, name) -> (cc, nc, tt, ct, callers)
    costs = {}
    for marker, test in MARKERS.items():
        field = 2 if marker == "waiting for SQL threads" else 3
        costs[marker] = sum(v[field] for (f, _, n), v in stats.items() if test(f, n)) * 1000 / requests
    costs["all (under the profiler)"] = sum(v[2] for v in stats.values()) * 1000 / requests
    own = sorted(stats.items(), key=lambda item: item[1][2], reverse=True)[:10]
    top = [(f"{Path(f).name}:{line}({n})", v[2] * 1000 / requests) for (f, line, n), v in own]
    return costs, top


async def run(db: Path, inspect_file: Path, requests: int, rounds: int, only: list[str]) -> dict:
    datasette = profile_instance(db, inspect_file)
    await datasette.invoke_startup()
    paths = {name: page.path for name, page in pages(db).items() if not only or name in only}
    paths["floor: /-/settings.json"] = FLOOR.path
    for path in paths.values():  # first requests read the once-per-instance facts
        await request(datasette, path)
    medians = await timings(datasette, paths, requests, rounds)
    result = {}
    for name, path in paths.items():
        costs, top = await profile(datasette, path, max(5, requests // 2))
        wall, cpu = medians[name]
        result[name] = {"path": path, "ms": wall, "cpu_ms": cpu, "costs_ms": costs, "top_own_ms": top}
    return result


def report(result: dict) -> None:
    names = list(MARKERS) + ["all (under the profiler)"]
    print("\nms per request, in process, uncached (median wall time, and CPU time of all the process's threads); then ms per request under cProfile inside each kind of work")
    short = {"permission checks": "perms", "metadata deep copies": "deepcopy", "templates": "templ",
             "render_cell hooks": "cells", "facets": "facets", "people's page data": "pages", "gzip": "gzip",
             "waiting for SQL threads": "sql wait", "all (under the profiler)": "profiled"}
    header = f"{'page':28} {'ms':>7} {'cpu ms':>7} " + " ".join(f"{short[n]:>9}" for n in names)
    print(header)
    print("-" * len(header))
    for page, figures in result.items():
        print(f"{page:28} {figures['ms']:7.1f} {figures['cpu_ms']:7.1f} " + " ".join(f"{figures['costs_ms'][n]:9.1f}" for n in names))
    print("\nfunctions with the most time of their own (ms per request, under cProfile):")
    for page, figures in result.items():
        print(f"  {page}: " + "; ".join(f"{name} {ms:.1f}" for name, ms in figures["top_own_ms"][:6]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--page", action="append", default=[], help="only this page type (repeatable)")
    args = parser.parse_args()
    db = database()
    print_machine()
    inspect_file = out_dir() / "page-costs-inspect.json"
    subprocess.run(inspect_command(db, inspect_file), check=True, capture_output=True)
    result = asyncio.run(run(db, inspect_file, args.requests, args.rounds, args.page))
    report(result)
    save("page_costs", {"requests": args.requests, "rounds": args.rounds, "pages": result})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
