"""What the database and the site's pages need from SQLite, beside the limits set for untrusted SQL.

leftbehind/site/sql_lane.py lowers SQLite's run-time limits on every connection.
This script measures, on a real build, how close the site comes to each one:

- the largest value and the largest row stored in any table (FTS shadow tables
  included), against SQLITE_LIMIT_LENGTH;
- every statement Datasette runs while serving every page type (table, row,
  JSON and CSV exports with the largest page, the map's requests, facets,
  search, canned queries, the dashboard's charts, and the longest request the
  site accepts): its length, its parameters, its compiled size (EXPLAIN), its
  UNION terms and the JSON cost of its rows, against the other limits.

    python bench/sqlite_needs.py [--database PATH]

It prints a table of measured need, limit and headroom; it exits non-zero if a
page failed or a need is over its limit.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sqlite3
import sys
from pathlib import Path
from urllib.parse import quote

from _common import database as benchmark_database
from _common import print_machine
from datasette.utils import path_from_row_pks

from leftbehind.serve import profile_instance
from leftbehind.site import guard, sql_lane, sqlite_limits


def stored_sizes(database: Path) -> tuple[tuple[int, str], tuple[int, str], int]:
    """The largest value, the largest row (bytes, where) and the widest table (columns)."""
    conn = sqlite3.connect(f"file:{database}?immutable=1", uri=True)
    tables = [r[0] for r in conn.execute("select name from sqlite_master where type = 'table'")]
    largest_value, largest_row, widest = (0, ""), (0, ""), 0
    for table in tables:
        try:
            columns = [r[1] for r in conn.execute(f"pragma table_info([{table}])")]
        except sqlite3.DatabaseError:
            continue  # a virtual table whose module is not here
        widest = max(widest, len(columns))
        lengths = [f"coalesce(length(cast([{c}] as blob)), 0)" for c in columns]
        for column, expression in zip(columns, lengths):
            (value,) = conn.execute(f"select max({expression}) from [{table}]").fetchone()
            if value and value > largest_value[0]:
                largest_value = (value, f"{table}.{column}")
        (row,) = conn.execute(f"select max({' + '.join(lengths) or '0'}) from [{table}]").fetchone()
        if row and row > largest_row[0]:
            largest_row = (row, table)
    return largest_value, largest_row, widest


def pages(datasette) -> list[str]:
    """One or more URLs of every page type the site serves."""
    db = "leftbehind"
    conn = sqlite3.connect(f"file:{datasette.databases[db].path}?immutable=1", uri=True)
    tables = [r[0] for r in conn.execute("select name from sqlite_master where type in ('table', 'view') "
                                         "and name not like '%_fts%' and name not like 'sqlite_%'")]
    paths = ["/", f"/{db}", "/about", "/-/dashboards/left-behind", f"/{db}/publications_feed.atom"]
    map_qs = "_size=max&_labels=on&_extra=count&_extra=next_url&_shape=objects"
    conn.row_factory = sqlite3.Row
    for table in tables:
        paths += [f"/{db}/{table}", f"/{db}/{table}.json?{map_qs}", f"/{db}/{table}.csv?_stream=on&_size=max"]
        pks = [r["name"] for r in sorted(conn.execute(f"pragma table_info([{table}])"), key=lambda r: r["pk"]) if r["pk"]]
        row = conn.execute(f"select rowid, * from [{table}] limit 1").fetchone()
        if row is not None and not table.startswith("left_behind"):
            paths.append(f"/{db}/{table}/{path_from_row_pks(row, pks, use_rowid=not pks)}")
    paths += [f"/{db}/sessions/evidence-session-1",
              f"/{db}/publications?_search=covid", f"/{db}/publications?_facet_array=topics&_facet=kind",
              f"/{db}/wards?_facet=region_name&_facet=lad_name&_facet=left_behind_change"]
    for name, query in (datasette.metadata("queries", database=db) or {}).items():
        params = re.findall(r":(\w+)", query["sql"] if isinstance(query, dict) else query)
        paths.append(f"/{db}/{name}.json?" + "&".join(f"{p}=park" for p in params))
    for query in sql_lane.site_queries(datasette):
        paths.append(f"/{db}.json?sql={quote(query)}&_shape=objects")
    # The most a request may ask for: as many filters and facets as the site accepts.
    facets = "&".join(f"_facet={c}" for c in ["region_name", "lad_name", "left_behind_change", "left_behind_2019",
                                               "left_behind_2020", "ward_name", "lad_code", "region_code",
                                               "location_method", "location_source"][: guard.MAX_FACETS])
    filters = "&".join(f"ward_name__not=w{i}" for i in range(guard.MAX_PARAMETERS - guard.MAX_FACETS - 1))
    paths.append(f"/{db}/wards?{facets}&{filters}&cni_rank__gt=1")
    return paths


def compiled_size(conn: sqlite3.Connection, sql: str, params) -> int:
    return len(conn.execute("explain " + sql, params or {}).fetchall())


def result_cost(conn: sqlite3.Connection, sql: str, params) -> int:
    return sum(16 + sum(map(sqlite_limits.json_cost, row)) for row in conn.execute(sql, params or {}))


async def crawl(datasette) -> tuple[list[dict], list[str]]:
    from datasette.tracer import capture_traces

    traces: list[dict] = []
    failed = []
    for path in pages(datasette):
        found: list = []
        with capture_traces(found):
            response = await datasette.client.get(path)
        if response.status_code != 200:
            failed.append(f"{path[:100]}: {response.status_code}")
        traces += [dict(t, page=path) for t in found if t.get("sql")]
    return traces, failed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", type=Path, default=None, help="default: a fresh build in bench/out/")
    args = parser.parse_args()
    database = args.database.resolve() if args.database else benchmark_database()
    print("# What the site needs from SQLite\n")
    print_machine()
    datasette = profile_instance(database)
    traces, failed = asyncio.run(crawl(datasette))
    # A connection as Datasette prepares it: its SQL functions (escape_fts) and the limits.
    conn = sqlite3.connect(f"file:{database}?immutable=1", uri=True)
    datasette._prepare_connection(conn, "leftbehind")
    served = [t for t in traces if t.get("database") == "leftbehind" and not t.get("error")]
    longest = max(served, key=lambda t: len(t["sql"]))
    most_params = max(served, key=lambda t: len(t["params"] or []))
    sizes = [(compiled_size(conn, t["sql"], t["params"]), t) for t in served]
    costs = [(result_cost(conn, t["sql"], t["params"]), t) for t in served]
    biggest_program, program_trace = max(sizes, key=lambda x: x[0])
    biggest_result, result_trace = max(costs, key=lambda x: x[0])
    compound = max(len(re.findall(r"\bunion\b|\bintersect\b|\bexcept\b", t["sql"], re.I)) + 1 for t in served)
    value, row, widest = stored_sizes(database)
    limits = sqlite_limits.LIMITS
    rows = [
        ("largest value stored", value[0], limits[sqlite3.SQLITE_LIMIT_LENGTH], value[1]),
        ("largest row stored", row[0], limits[sqlite3.SQLITE_LIMIT_LENGTH], row[1]),
        ("longest statement", len(longest["sql"]), limits[sqlite3.SQLITE_LIMIT_SQL_LENGTH], longest["page"][:60]),
        ("most parameters in a statement", len(most_params["params"] or []),
         limits[sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER], most_params["page"][:60]),
        ("largest compiled statement (VDBE ops)", biggest_program, limits[sqlite3.SQLITE_LIMIT_VDBE_OP],
         program_trace["page"][:60]),
        ("most SELECTs in a compound", compound, limits[sqlite3.SQLITE_LIMIT_COMPOUND_SELECT], ""),
        ("widest table (columns)", widest, limits[sqlite3.SQLITE_LIMIT_COLUMN], ""),
        ("largest result, JSON cost", biggest_result, sqlite_limits.RESULT_BUDGET_BYTES, result_trace["page"][:60]),
    ]
    print(f"\n{len(served)} statements from {len({t['page'] for t in traces})} pages\n")
    print("| need | measured | limit | headroom | where |")
    print("| --- | --- | --- | --- | --- |")
    over = []
    for name, measured, limit, where in rows:
        print(f"| {name} | {measured:,} | {limit:,} | {limit / max(measured, 1):.1f}x | {where} |")
        if measured > limit:
            over.append(name)
    print("\nEvery page above was served with these limits in force; expression depth and LIKE pattern "
          "length are covered by the longest request the site accepts (the last page).")
    for problem in failed:
        print(f"FAILED {problem}")
    if over:
        print("OVER THE LIMIT: " + ", ".join(over))
    return 1 if failed or over else 0


if __name__ == "__main__":
    sys.exit(main())
