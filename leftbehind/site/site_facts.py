"""Template variables for the footer and the About page: build time, row counts and sources.

Read from the database's own ``build_info`` and ``sources`` tables, so what the
site says about itself is always what was built; the counts the prose states are
``leftbehind.counts.COUNTS``, as README's. The database is immutable while served, so
the facts are read once per Datasette instance, at start-up, without the visitors' time
limit, not on every page.
"""

from __future__ import annotations

import sqlite3

from datasette import hookimpl

from leftbehind.counts import COUNTS
from leftbehind.site.once import once
from leftbehind.site.retry import read_rows

DATABASE = "leftbehind"


async def site_info(datasette) -> dict:
    if DATABASE not in datasette.databases:
        return {"build": {}, "counts": {}, "ward_facts": {}, "data_sources": [], "left_behind_sets": [],
                "reproduction_differences": [], "still_2025_by_region": []}
    db = datasette.get_database(DATABASE)
    build = {row["item"]: row["value"] for row in await read_rows(db, "select item, value from build_info")}
    counts = {item.removeprefix("rows:"): int(value) for item, value in build.items() if item.startswith("rows:")}
    sources = await read_rows(
        db, "select id, title, repository, [commit], url, licence, licence_url, attribution from sources order by id"
    )
    sets = await read_rows(db, "select id, name, wards, population from left_behind_sets order by id")
    ward_facts = {}
    for name, sql in COUNTS.items():
        try:
            [row] = await read_rows(db, sql)
        except sqlite3.OperationalError as error:
            # A database built before a table or column existed (the plugin tests serve small
            # ones) has no such count: unknown, and the page leaves out what would state it.
            if not str(error).startswith("no such"):
                raise
            ward_facts[name] = None
            continue
        ward_facts[name] = next(iter(row.values()))
    return {
        "build": build, "counts": counts, "ward_facts": ward_facts, "data_sources": sources, "left_behind_sets": sets,
        **await deprivation_facts(db),
    }


async def deprivation_facts(db) -> dict:
    """What About says of the definition reproduced and of the indicative 2025 re-run: every
    difference from the official set, and the 225 still within the 10% by region (issue 23)."""
    names = {row["name"] for row in await read_rows(db, "select name from sqlite_master where type in ('table', 'view')")}
    if not {"reproduction_differences", "left_behind_2020_in_2025_by_region"} <= names:
        return {"reproduction_differences": [], "still_2025_by_region": []}
    differences = await read_rows(
        db,
        "select d.ward_code, d.ward_name, d.lad_name, d.difference, d.cni_rank, d.imd2019_ward_rank, d.likely_reason, "
        "w.left_behind_change from reproduction_differences d join wards w using (ward_code) "
        "order by d.difference, d.cni_rank",
    )
    by_region = await read_rows(
        db,
        "select region_name, wards, cni2023_within_line, imd2025_within_line, indicative_2025 "
        "from left_behind_2020_in_2025_by_region order by region_name = 'England', region_name",
    )
    return {"reproduction_differences": differences, "still_2025_by_region": by_region}


async def site_facts(datasette) -> dict:
    """``site_info``, read once per Datasette instance when its databases are immutable."""
    return await once(datasette, "site_facts", lambda: site_info(datasette))


@hookimpl
def extra_template_vars(datasette):
    async def inner():
        return await site_facts(datasette)

    return inner


@hookimpl
def startup(datasette):
    async def inner():
        await site_facts(datasette)

    return inner
