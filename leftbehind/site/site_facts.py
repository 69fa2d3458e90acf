"""Template variables for the footer and the About page: build time, row counts and sources.

Read from the database's own ``build_info`` and ``sources`` tables, so what the
site says about itself is always what was built. The database is immutable while
served, so the facts are read once per Datasette instance, not on every page.
"""

from __future__ import annotations

from datasette import hookimpl

DATABASE = "leftbehind"
# Figures the home and About pages state about the wards, counted rather than typed.
WARD_FACTS_SQL = """
select
  count(*) as wards,
  sum(location_method = 'population-weighted mean of LSOA centroids') as lsoa_points,
  sum(location_precision like 'rounded%') as low_precision,
  sum(population is null) as no_population,
  (select count(*) from ward_outlines) as outlines,
  (select sum(point_inside) from ward_outlines) as points_inside,
  sum(left_behind_2020 = 1 and lad24_name != lad_name) as renamed_2020,
  sum(left_behind_2020 = 1 and wards24_count >= 2) as overlapping_2020,
  sum(left_behind_2020 = 1 and population_share_in_imd_decile_1_lsoas = 0) as imd_zero_2020,
  (select group_concat(printf('%,d', cni_rank), ', ') from
    (select cni_rank from wards group by cni_rank having count(*) > 1 order by cni_rank)) as cni_rank_ties,
  (select group_concat(printf('%,d', engaged_community_rank), ', ') from
    (select engaged_community_rank from wards group by engaged_community_rank having count(*) > 1
     order by engaged_community_rank)) as engaged_community_rank_ties
from wards
"""


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
    ward_facts = dict((await db.execute(WARD_FACTS_SQL)).first() or {})
    return {"build": build, "counts": counts, "ward_facts": ward_facts, "data_sources": sources, "left_behind_sets": sets}


@hookimpl
def extra_template_vars(datasette):
    async def inner():
        cached = getattr(datasette, "_leftbehind_site_info", None)
        if cached is None:
            cached = await site_info(datasette)
            if all(db.is_mutable is False for name, db in datasette.databases.items() if not name.startswith("_")):
                datasette._leftbehind_site_info = cached
        return cached

    return inner
