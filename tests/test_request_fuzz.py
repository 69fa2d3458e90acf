"""No request gets a 500: odd values for every Datasette parameter, on every table, view, canned
query and page of the site, through the publishing profile.

The space (about 300,000 requests) is grouped by what a request exercises: one parameter of one
table, one column's filters, one parameter of one query, one page. Each run sends one request of
every group (about 1,000), chosen with a fixed seed so that a failure repeats, and new tables,
columns and pages are fuzzed as soon as they exist. ``LEFTBEHIND_REQUEST_FUZZ=all`` sends every
request (well over an hour here); a number sends that many of the groups' requests.
"""

from __future__ import annotations

import os
import random
import sqlite3
from pathlib import Path
from urllib.parse import quote

from conftest import profile_datasette

SAMPLE = os.environ.get("LEFTBEHIND_REQUEST_FUZZ", "groups")
SEED = 20261130

VALUES = (
    "", "0", "-1", "1e9", "abc", "%00", "%FF", "'", "[", "{}", '{"a":1}', "null",
    "999999999999999999999", "x" * 3000, "\N{SLIGHTLY SMILING FACE}", "1,2", "E05003132", "on", "off", "all",
    "objects", "array", "arrays",
)
TABLE_PARAMETERS = (
    "_sort", "_sort_desc", "_facet", "_facet_array", "_facet_date", "_size", "_next", "_search",
    "_searchmode", "_where", "_col", "_nocol", "_labels", "_shape", "_json", "_nl", "_stream", "_trace",
    "_through", "_timelimit", "_nofacet", "_nocount", "_fts_table", "_fts_pk", "_sort_by_desc", "_dl",
    "_header", "_format",
)
QUERY_PARAMETERS = (
    "_shape", "_json", "_nl", "_stream", "_timelimit", "_size", "_next", "_labels", "_trace", "_dl",
    "_header", "_hide_sql", "_show_sql", "_format", "_extra", "name", "term", "q", "code", "_facet",
)
OPERATORS = (
    "__exact", "__not", "__contains", "__endswith", "__startswith", "__gt", "__gte", "__lt", "__lte",
    "__like", "__glob", "__in", "__notin", "__arraycontains", "__arraynotcontains", "__date", "__isnull",
    "__notnull", "__isblank", "__notblank",
)
ROW_TABLES = (
    "wards", "local_authorities", "regions", "local_authorities_2024", "publications", "sessions",
    "ward_links_2024", "ward_outlines", "people", "organisations", "topics", "sources",
)


def value(text: str) -> str:
    return quote(text, safe="%")


def request_groups(database: Path, queries: list[str]) -> dict[tuple[str, ...], list[str]]:
    """The whole space of requests, grouped by what they exercise: a parameter of a table, a
    column's filters, a parameter of a query, a page. Each group's requests differ only in value,
    operator or format."""
    with sqlite3.connect(database) as conn:
        tables = [name for (name,) in conn.execute(
            "select name from sqlite_master where type in ('table', 'view') "
            "and name not like '%fts%' and name not like 'sqlite%' order by name"
        )]
        columns = {name: [row[1] for row in conn.execute(f"pragma table_info([{name}])")] for name in tables}
    formats = ("", ".json", ".csv")
    groups: dict[tuple[str, ...], list[str]] = {}
    for table in tables:
        for p in TABLE_PARAMETERS:
            groups[(table, p)] = [f"/leftbehind/{table}{ext}?{p}={value(v)}" for ext in formats for v in VALUES]
        for c in columns[table]:
            groups[(table, c)] = [
                f"/leftbehind/{table}{ext}?{c}{op}={value(v)}" for ext in formats for op in OPERATORS for v in VALUES
            ]
    bases = [f"/leftbehind/{q}{{ext}}?" for q in queries]
    bases += ["/leftbehind{ext}?", "/leftbehind{ext}?sql=select+*+from+wards+limit+5&"]
    for base in bases:
        for p in QUERY_PARAMETERS:
            groups[(base, p)] = [f"{base.format(ext=ext)}{p}={value(v)}" for ext in formats for v in VALUES]
    pages = (
        "/find-my-ward?q={}", "/find-my-ward.json?q={}", "/find-my-ward?lat={}&lon=-1.5",
        "/find-my-ward?lat=54.5&lon={}", "/-/dashboards/left-behind?{}=1", "/-/dashboards/left-behind?region={}",
        "/assets/x{}", "/assets/maps.js?v={}", "/about?{}",
    ) + tuple(f"/leftbehind/{table}/x{{}}" for table in ROW_TABLES)
    for page in pages:
        groups[(page,)] = [page.format(value(v)) for v in VALUES]
    return groups


def sample(groups: dict[tuple[str, ...], list[str]]) -> list[str]:
    """One request from each group, the same ones every run (``all``: every request)."""
    if SAMPLE == "all":
        return [path for paths in groups.values() for path in paths]
    chooser = random.Random(SEED)
    chosen = [chooser.choice(paths) for paths in groups.values()]
    return chosen if SAMPLE == "groups" else chosen[: int(SAMPLE)]


async def test_no_request_gets_a_server_error(db_path, metadata):
    datasette = profile_datasette(db_path, metadata)
    queries = list(metadata["databases"]["leftbehind"].get("queries", {}))
    groups = request_groups(db_path, queries)
    assert len(groups) > 800, "the space of requests shrank: are tables or parameters missing?"
    failures = []
    for path in sample(groups):
        response = await datasette.client.get(path)
        if response.status_code >= 500:
            failures.append(f"{response.status_code} {path[:200]}")
    assert not failures, f"{len(failures)} requests got a server error:\n" + "\n".join(failures[:20])
