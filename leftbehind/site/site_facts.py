"""Template variables for the footer and the About page: build time, row counts and sources.

Read from the database's own ``build_info`` and ``sources`` tables, so what the
site says about itself is always what was built; the counts the prose states are
``leftbehind.counts.COUNTS``, as README's. The database is immutable while served, so
the facts are read once per Datasette instance, at start-up, not on every page.
"""

from __future__ import annotations

from datasette import hookimpl

from leftbehind.counts import COUNTS

DATABASE = "leftbehind"


async def site_info(datasette) -> dict:
    if DATABASE not in datasette.databases:
        return {"build": {}, "counts": {}, "ward_facts": {}, "data_sources": [], "left_behind_sets": []}
    db = datasette.get_database(DATABASE)
    build = {row["item"]: row["value"] for row in (await db.execute("select item, value from build_info")).rows}
    counts = {item.removeprefix("rows:"): int(value) for item, value in build.items() if item.startswith("rows:")}
    sources = [dict(row) for row in (await db.execute(
        "select id, title, repository, [commit], url, licence, licence_url, attribution from sources order by id"
    )).rows]
    sets = [dict(row) for row in (await db.execute(
        "select id, name, wards, population from left_behind_sets order by id"
    )).rows]
    ward_facts = {name: (await db.execute(sql)).single_value() for name, sql in COUNTS.items()}
    return {"build": build, "counts": counts, "ward_facts": ward_facts, "data_sources": sources, "left_behind_sets": sets}


async def site_facts(datasette) -> dict:
    """``site_info``, read once per Datasette instance when its databases are immutable."""
    cached = getattr(datasette, "_leftbehind_site_info", None)
    if cached is None:
        cached = await site_info(datasette)
        if all(db.is_mutable is False for name, db in datasette.databases.items() if not name.startswith("_")):
            datasette._leftbehind_site_info = cached
    return cached


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
