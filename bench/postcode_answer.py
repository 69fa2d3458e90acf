"""How long the server takes to answer one postcode, uncached (target: under 20 ms).

    .venv/bin/python bench/postcode_answer.py [--database leftbehind.db] [--count 300]

The publishing profile's Datasette, in this process, serving both databases (postcodes.db
beside the main one, as ``make serve`` does), with its page cache on as published: every
request asks for a different postcode, so none is answered from the cache and each is
whole server work (routing, the guard, both databases' queries, rendering). Interleaved:
for each postcode the answer alone (``postcode_answer``), ``/find-my-ward.json`` and the
HTML page, then the same for a location (``/find-my-ward.json?lat=&lon=``, the outlines
near the point decoded and tested). Figures are wall-clock on a shared machine: the load
average is printed beside them.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sqlite3
import statistics
import time
from pathlib import Path
from urllib.parse import urlencode

import yaml
from _common import ROOT, print_machine, save
from conftest import profile_datasette

from leftbehind.serve import served_databases
from leftbehind.site.pages.postcodes import postcode_answer


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def summary(values: list[float]) -> dict[str, float]:
    return {"median_ms": round(statistics.median(values), 2), "p95_ms": round(percentile(values, 0.95), 2),
            "max_ms": round(max(values), 2)}


async def measure(database: Path, count: int) -> dict:
    databases = served_databases(database)
    if len(databases) != 2:
        raise SystemExit(f"no postcodes.db beside {database}: build it (python build_db.py {database})")
    metadata = yaml.safe_load((ROOT / "metadata.yml").read_text(encoding="utf-8"))
    ds = profile_datasette(databases[0], metadata, postcodes=databases[1])
    await ds.invoke_startup()
    await ds.client.get("/find-my-ward.json?q=CA14+3XX")  # the first request's one-off work
    with sqlite3.connect(f"file:{databases[1]}?mode=ro", uri=True) as data:
        total = data.execute("select count(*) from postcodes").fetchone()[0]
        rng = random.Random(22)
        rows = [data.execute("select postcode, latitude, longitude from postcodes limit 1 offset ?", (rng.randrange(total),)).fetchone()
                for _ in range(count)]
    timings: dict[str, list[float]] = {"answer alone": [], "json": [], "page": [], "location json": []}
    for postcode, latitude, longitude in rows:
        typed = postcode.replace(" ", "").lower()
        started = time.perf_counter()
        await postcode_answer(ds, typed)
        timings["answer alone"].append((time.perf_counter() - started) * 1000)
        for kind, path in (("json", "/find-my-ward.json?"), ("page", "/find-my-ward?")):
            started = time.perf_counter()
            response = await ds.client.get(path + urlencode({"q": typed}))
            timings[kind].append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (path, postcode)
        started = time.perf_counter()
        response = await ds.client.get("/find-my-ward.json?" + urlencode({"lat": latitude, "lon": longitude}))
        timings["location json"].append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    return {kind: summary(values) for kind, values in timings.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", type=Path, default=ROOT / "leftbehind.db")
    parser.add_argument("--count", type=int, default=300)
    args = parser.parse_args()
    print_machine()
    load_before = os.getloadavg()[0]
    figures = asyncio.run(measure(args.database.resolve(), args.count))
    print(f"\n{args.count} random postcodes, each asked once (uncached); load average {load_before:.2f} before, "
          f"{os.getloadavg()[0]:.2f} after:")
    for kind, figure in figures.items():
        print(f"  {kind:15} median {figure['median_ms']:7.2f} ms   95th percentile {figure['p95_ms']:7.2f} ms   max {figure['max_ms']:7.2f} ms")
    print(f"  target: the answer under 20 ms: {'met' if figures['json']['median_ms'] < 20 else 'NOT met'} (median of the JSON answer)")
    save("postcode_answer", {"count": args.count, "figures": figures})


if __name__ == "__main__":
    main()
