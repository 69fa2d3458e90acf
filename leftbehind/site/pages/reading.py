"""Reading the database for the people's pages: its schema, its facts, and links to pages.

Today's geography (lad24_* columns on ``wards``, ``local_authorities_2024``,
``ward_links_2024``) and ``ward_outlines`` are used when the database has them and
ignored when it does not: the schema is read once per Datasette instance. The database
is immutable while served, so facts that never change (set sizes, the sources) are read
once per instance and kept: at start-up (``pages.hooks.startup``), with ``read_rows``,
without the visitors' time limit.
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple
from urllib.parse import urlencode

from leftbehind.site.once import immutable, once  # noqa: F401 (the pages import them from here)
from leftbehind.site.pages.words import STATUS_SHORT, status_of
from leftbehind.site.retry import read_rows
from leftbehind.site.urls import row_url

DATABASE = "leftbehind"

MAP_COLUMNS = ("ward_code", "ward_name", "lad_name", "left_behind_change", "cni_rank", "latitude", "longitude")


class Schema(NamedTuple):
    tables: frozenset[str]
    ward_columns: frozenset[str]

    @property
    def today(self) -> bool:
        return {"lad24_code", "lad24_name"} <= self.ward_columns

    @property
    def links_2024(self) -> bool:
        return "ward_links_2024" in self.tables

    @property
    def councils_2024(self) -> bool:
        return "local_authorities_2024" in self.tables

    @property
    def outlines(self) -> bool:
        return "ward_outlines" in self.tables




def kept_once_found(kind: str):
    """A decorator for the data of the pages of a few hundred areas (councils, regions):
    once found, a code's page data is kept on the instance (its databases immutable), so
    only the first visitor of each pays for it. Codes that find nothing are never kept, so
    no visitor can fill the memory with made-up codes; the areas' number bounds it."""

    def wrap(build):
        @functools.wraps(build)
        async def kept(datasette, code: str):
            store = getattr(datasette, "_leftbehind_area_pages", None)
            if store is None:
                store = datasette._leftbehind_area_pages = {}
            key = (kind, code)
            if key in store:
                return store[key]
            page = await build(datasette, code)
            if page is not None and immutable(datasette):
                store[key] = page
            return page

        return kept

    return wrap


async def fetch_rows(db, sql: str, params: dict | None = None) -> list[dict[str, Any]]:
    return [dict(row) for row in (await db.execute(sql, params or {})).rows]


async def schema_of(datasette) -> Schema:
    async def compute() -> Schema:
        db = datasette.get_database(DATABASE)
        tables = frozenset(row["name"] for row in await read_rows(db, "select name from sqlite_master where type = 'table'"))
        columns = frozenset(row["name"] for row in await read_rows(db, "pragma table_info(wards)"))
        return Schema(tables, columns)

    return await once(datasette, "schema", compute)


async def facts_of(datasette) -> dict[str, Any]:
    """Figures every page states: how many wards, the two sets, the sources, where each test's
    10% ends, and the wards on which the reproduced definition and the official set differ."""

    async def compute() -> dict[str, Any]:
        db = datasette.get_database(DATABASE)
        counts = (await read_rows(db, "select count(*) as wards, sum(population is null) as unknown from wards"))[0]
        sets = {row["id"]: row["wards"] for row in await read_rows(db, "select id, wards from left_behind_sets")}
        # Each source with the address of its row's page (``page_url``), made once here rather
        # than by ``urls.row`` for every source of every ward's page.
        sources = {
            row["id"]: {**row, "page_url": str(datasette.urls.row(DATABASE, "sources", row["id"]))}
            for row in await read_rows(db, "select id, title, url, licence, licence_url, attribution from sources")
        }
        tables = (await schema_of(datasette)).tables
        lines = (
            {row["id"]: row for row in await read_rows(db, "select id, wards_ranked, line from ten_percent_lines")}
            if "ten_percent_lines" in tables else {}
        )
        differences = (
            {row["ward_code"]: row for row in await read_rows(db, "select ward_code, difference, likely_reason from reproduction_differences")}
            if "reproduction_differences" in tables else {}
        )
        return {
            "total_wards": counts["wards"],
            "unknown_population": counts["unknown"] or 0,
            "sets": sets,
            "sources": sources,
            "lines": lines,
            "differences": differences,
            "similar": "similar_ward_lists" in tables,
        }

    return await once(datasette, "facts", compute)


def ward_link(datasette, row: dict[str, Any]) -> dict[str, Any]:
    """A ward as the lists on every page show it."""
    status = status_of(row.get("left_behind_change"))
    return {
        "code": row["ward_code"],
        "name": row["ward_name"],
        "url": row_url(datasette, "wards", row["ward_code"]),
        "status": status,
        "answer": STATUS_SHORT[status],
        "cni_rank": row.get("cni_rank"),
        "council": row.get("lad_name"),
        "council_code": row.get("lad_code"),
        "council_url": row_url(datasette, "local_authorities", row["lad_code"]) if row.get("lad_code") else None,
        "region": row.get("region_name"),
        "region_url": row_url(datasette, "regions", row["region_code"]) if row.get("region_code") else None,
    }


def json_url(datasette, table: str, params: list[tuple[str, str]]) -> str:
    return datasette.urls.table(DATABASE, table, format="json") + "?" + urlencode(params)


def map_url(datasette, filters: list[tuple[str, str]]) -> str:
    """The wards JSON a small map reads: only the columns it draws, no facets, no count."""
    columns = [("_col", column) for column in MAP_COLUMNS if column != "ward_code"]
    return json_url(
        datasette, "wards", [*filters, *columns, ("_shape", "objects"), ("_size", "max"), ("_nofacet", "1"), ("_nocount", "1")]
    )


def outlines_url(datasette, codes: list[str]) -> str | None:
    if not codes:
        return None
    return json_url(
        datasette,
        "ward_outlines",
        [("ward_code__in", ",".join(codes)), ("_col", "geojson"), ("_shape", "objects"), ("_size", "max"), ("_nofacet", "1")],
    )


def sources_used(facts: dict[str, Any], uses: list[tuple[str, list[str]]]) -> list[dict[str, Any]]:
    """For each figure, the sources rows it comes from, with their licence in words."""
    listed = []
    for figure, ids in uses:
        sources = [
            facts["sources"][source_id]
            for source_id in ids
            if source_id in facts["sources"]
        ]
        if sources:
            listed.append({"figure": figure, "sources": sources})
    return listed


