"""Growth benchmark: the wards multiplied 10 and 100 times, built and served.

    LEFTBEHIND_SOURCES_DIR=../shared/data .venv/bin/python bench/growth.py [--factors 1 10 100]

Each scaled database is written by the real build (``leftbehind.build.build``)
into bench/out/xFACTOR/ (git-ignored, never committed), with one change: the ward rows
the build derives are repeated ``factor`` times, each copy under new ward codes
(``E05001595-02`` ...) and names, with everything else (local authority, region,
flags, point) kept. So the scaled build runs the same inserts, indexes, full-text
index, checks and VACUUM as the real one, on factor x 7,433 wards. Only similar_ward_lists is
computed for the original wards and copied (its cost grows with the square of the wards).

Each database is then served with the publishing profile and every page is
timed with wrk over one connection (latency, not throughput). At every scale all
the wards page's facets must complete inside facet_time_limit_ms: Datasette
0.65 does not put ``facets_timed_out`` in the JSON, so a facet that timed out
shows as missing from ``facet_results`` and in the HTML's "These facets timed out".
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any
from unittest import mock

import _wrk
import yaml
from _common import DEFAULT_CACHE_DIR, DEFAULT_DATA_DIR, ROOT, out_dir, print_machine, save, sources_dir_from_environment
from serving import pages

import leftbehind.build
from support.live import profile_server
from leftbehind.serve import SETTINGS

WARDS_PAGES = {
    "wards JSON": "/leftbehind/wards.json",
    "wards page": "/leftbehind/wards",
    "faceted wards page": "/leftbehind/wards?region_name=North+East",
    "faceted wards JSON": "/leftbehind/wards.json?region_name=North+East",
}


def multiplied(original: Callable[..., list[dict[str, Any]]], factor: int) -> Callable[..., list[dict[str, Any]]]:
    """Wrap ``ward_rows`` so that it returns ``factor`` copies under new codes."""

    def scaled_ward_rows(*args: Any, **kwargs: Any) -> list[dict[str, Any]]:
        rows = original(*args, **kwargs)
        copies = list(rows)
        for copy in range(2, factor + 1):
            copies += [
                {**row, "ward_code": f"{row['ward_code']}-{copy:02d}", "ward_name": f"{row['ward_name']} ({copy})"}
                for row in rows
            ]
        return copies

    return scaled_ward_rows


def similar_for_originals(original: Callable[..., list[dict[str, Any]]]) -> Callable[..., list[dict[str, Any]]]:
    """Wrap ``similar_ward_rows``: computed for the original wards, copied for each copy.

    Its pairwise work grows with the square of the wards (hours at x100), and the copies
    are the originals again, so each copy's similar wards are the copies of its original's.
    The table still grows with the wards, as the pages need.
    """

    def scaled_similar_ward_rows(wards: list[dict[str, Any]], *args: Any, **kwargs: Any) -> list[dict[str, Any]]:
        rows = original([ward for ward in wards if "-" not in ward["ward_code"]], *args, **kwargs)
        copies = {ward["ward_code"].partition("-")[2] for ward in wards if "-" in ward["ward_code"]}
        scaled = list(rows)
        for copy in sorted(copies):
            scaled += [{**row, "ward_code": f"{row['ward_code']}-{copy}",
                        "similar_ward_codes": json.dumps([f"{code}-{copy}" for code in json.loads(row["similar_ward_codes"])],
                                                         separators=(",", ":"))} for row in rows]
        return scaled

    return scaled_similar_ward_rows


def build_scaled(factor: int) -> tuple[Path, float]:
    """Build the database with the wards multiplied ``factor`` times; return it and the seconds taken."""
    # Datasette names a database after its file, and metadata.yml describes "leftbehind".
    folder = out_dir() / f"x{factor}"
    folder.mkdir(exist_ok=True)
    target = folder / "leftbehind.db"
    started = time.perf_counter()
    with (
        mock.patch.object(leftbehind.build, "ward_rows", multiplied(leftbehind.build.ward_rows, factor)),
        mock.patch.object(leftbehind.build, "similar_ward_rows", similar_for_originals(leftbehind.build.similar_ward_rows)),
    ):
        leftbehind.build.build(target, DEFAULT_DATA_DIR, sources_dir_from_environment(), DEFAULT_CACHE_DIR)
    return target, time.perf_counter() - started


def configured_facets() -> set[str]:
    metadata = yaml.safe_load((ROOT / "metadata.yml").read_text(encoding="utf-8"))
    return set(metadata["databases"]["leftbehind"]["tables"]["wards"]["facets"])


def facet_check(base: str) -> dict[str, Any]:
    """Which configured facets are missing (timed out) from the wards pages, JSON and HTML."""
    expected = configured_facets()
    missing: dict[str, list[str]] = {}
    for name, path in WARDS_PAGES.items():
        with urllib.request.urlopen(base + path, timeout=60) as response:
            body = response.read().decode()
        if path.split("?")[0].endswith(".json"):
            present = set(json.loads(body)["facet_results"])
            gone = sorted(expected - present)
        else:
            gone = ["(HTML says: These facets timed out)"] if 'class="facets-timed-out"' in body else []
        if gone:
            missing[name] = gone
    return missing


def facet_query_ms(db: Path) -> dict[str, float]:
    """Each wards facet's query on the unfiltered page, as Datasette 0.65 words it
    (facets.py), run straight in SQLite: best of three, in ms. Shows the margin
    left under facet_time_limit_ms, which a yes/no 'timed out' does not."""
    connection = sqlite3.connect(f"file:{db}?mode=ro&immutable=1", uri=True)
    timings = {}
    try:
        for column in sorted(configured_facets()):
            sql = (f"select [{column}] as value, count(*) as count from (select * from wards) "
                   f"where [{column}] is not null group by [{column}] order by count desc, value limit 31")
            best = float("inf")
            for _ in range(3):
                started = time.perf_counter()
                connection.execute(sql).fetchall()
                best = min(best, time.perf_counter() - started)
            timings[column] = best * 1000
    finally:
        connection.close()
    return timings


def latencies(base: str, page_paths: dict[str, str], seconds: int) -> dict[str, _wrk.Result]:
    for path in page_paths.values():  # warm up
        urllib.request.urlopen(base + path, timeout=60).read()
    return {name: _wrk.run(base + path, seconds, connections=1) for name, path in page_paths.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--factors", type=int, nargs="+", default=[1, 10, 100])
    parser.add_argument("--seconds", type=int, default=3)
    args = parser.parse_args()
    print_machine()
    results = {}
    for factor in args.factors:
        print(f"building x{factor} ...", flush=True)
        db, build_seconds = build_scaled(factor)
        page_paths = {name: path for name, (path, _) in pages(db).items()}
        page_paths.update({k: v for k, v in WARDS_PAGES.items() if k not in ("wards JSON", "faceted wards page")})
        facet_ms = facet_query_ms(db)
        # Without the response cache: every request pays the full query, as growth needs.
        with profile_server(db, out_dir() / "growth-logs", response_cache=False) as base:
            timed_out = facet_check(base)
            measured = latencies(base, page_paths, args.seconds)
        results[factor] = {"db": db, "size": db.stat().st_size, "build_s": build_seconds,
                           "timed_out": timed_out, "facet_ms": facet_ms, "pages": measured}
        print(f"  x{factor}: built in {build_seconds:.1f} s, {db.stat().st_size / 1e6:.0f} MB, "
              f"facets timed out: {timed_out or 'none'}", flush=True)
    report(results, args)
    return 0


def report(results: dict[int, dict[str, Any]], args) -> None:
    factors = list(results)
    print(f"\ngrowth: wards x{', x'.join(map(str, factors))}; "
          f"p50/p99 latency in ms, wrk -t1 -c1 -d{args.seconds}s per page; "
          f"facet time limit {SETTINGS['facet_time_limit_ms']} ms")
    print(f"{'':26}" + "".join(f"{'x' + str(f) + ' (' + format(7433 * f, ',') + ')':>22}" for f in factors))
    print(f"{'build (s)':26}" + "".join(f"{results[f]['build_s']:>22.1f}" for f in factors))
    print(f"{'database (MB)':26}" + "".join(f"{results[f]['size'] / 1e6:>22.0f}" for f in factors))
    for name in results[factors[0]]["pages"]:
        cells = []
        for f in factors:
            r = results[f]["pages"][name]
            cells.append(f"{r.p50_ms:.1f}/{r.p99_ms:.1f}" + ("" if r.clean else " ERR"))
        print(f"{name:26}" + "".join(f"{c:>22}" for c in cells))
    print(f"{'facets timed out':26}" + "".join(f"{str(results[f]['timed_out'] or 'none'):>22}" for f in factors))
    for column in results[factors[0]]["facet_ms"]:
        print(f"{'facet ' + column + ' (ms)':26}" + "".join(f"{results[f]['facet_ms'][column]:>22.1f}" for f in factors))
    save("growth", {
        "seconds": args.seconds,
        "factors": {
            str(f): {
                "wards": 7433 * f, "build_s": r["build_s"], "database_bytes": r["size"],
                "facets_timed_out": r["timed_out"], "facet_query_ms": r["facet_ms"],
                "pages": {name: vars(res) for name, res in r["pages"].items()},
            }
            for f, r in results.items()
        },
    })


if __name__ == "__main__":
    raise SystemExit(main())
