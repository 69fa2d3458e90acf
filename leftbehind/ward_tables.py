"""The ward side's rows besides the wards themselves: sources, the two sets, the map view's SQL.

What each column is and means is declared in ``leftbehind/tables.py``.
"""

from __future__ import annotations

from typing import Any

from leftbehind.errors import BuildError
from leftbehind.geography import Today, local_authority_2017_columns
from leftbehind.sources import Source
from leftbehind.wards import local_authority_rows

DATABASE_NAME = "leftbehind"

# Which catalogue publication, where one is known, each left-behind set comes from.
LEFT_BEHIND_SETS = (
    {
        "id": "2020",
        "name": "Left Behind Areas 2020 (Interim Set)",
        "flag_column": "left_behind_2020",
        "source_id": "cni2020",
        "publication_id": "left-behind-areas-2020-interim-set",
        "note": "Recalculated by OCSI with the Index of Multiple Deprivation 2019.",
    },
    {
        "id": "2019",
        "name": "Original 2019 set",
        "flag_column": "left_behind_2019",
        "source_id": "cni2019",
        "publication_id": None,
        "note": (
            "The original set of 2019, before OCSI's 2020 recalculation with the Index of "
            "Multiple Deprivation 2019. The catalogue holds no publication stated to be "
            "this set's own release."
        ),
    },
)

# The popup says in words where the ward is, today's council when it has changed, how it
# ranks and how many people live there, with the caveat the population figure needs.
NEIGHBOURHOODS_VIEW_SQL = f"""
select
  ward_code,
  ward_name,
  lad_name,
  lad24_name,
  region_name,
  population,
  cni_rank,
  civic_assets_rank,
  connectedness_rank,
  engaged_community_rank,
  population_share_in_imd_decile_1_lsoas,
  left_behind_change,
  latitude,
  longitude,
  json_object(
    'title', ward_name,
    'description', lad_name
      || case when lad24_name is not null and lad24_name != lad_name then ' (now ' || lad24_name || ')' else '' end
      || ', ' || region_name || '. Community Needs Index rank ' || printf('%,d', cni_rank)
      || ' of ' || printf('%,d', (select count(*) from wards)) || ' (1 = most need).'
      || coalesce(' About ' || printf('%,d', population)
        || ' people (mid-2017; an approximation from small areas, often 10% or more off).', ''),
    'link', '/{DATABASE_NAME}/wards/' || ward_code
  ) as popup
from wards
where left_behind_2020 = 1
order by cni_rank
"""


def check_set_publications(publication_ids: set[str], label: str = "data/publications.yml") -> None:
    """The catalogue must hold every publication a left-behind set links to."""
    problems = [
        f"{label}: record '{entry['publication_id']}': missing, but the wards table's "
        f"{entry['flag_column']} column is linked to it"
        for entry in LEFT_BEHIND_SETS
        if entry["publication_id"] is not None and entry["publication_id"] not in publication_ids
    ]
    if problems:
        raise BuildError("the catalogue lacks a publication the ward data needs", problems)


def source_rows(sources: dict[str, Source], rows_read: dict[str, int]) -> list[dict[str, Any]]:
    return [
        {
            "id": s.id,
            "title": s.title,
            "file": s.local_name,
            "files": len(s.pieces),
            "repository": s.repository,
            "commit": s.commit,
            "path": s.path,
            "url": s.url,
            "sha256": s.digest,
            "rows_read": rows_read[s.id],
            "licence": s.licence,
            "licence_url": s.licence_url,
            "attribution": s.attribution,
        }
        for s in sorted(sources.values(), key=lambda s: s.id)
    ]


def left_behind_set_rows(wards: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for entry in LEFT_BEHIND_SETS:
        members = [w for w in wards if w[entry["flag_column"]] == 1]
        rows.append(
            {
                **entry,
                "wards": len(members),
                "population": sum(w["population"] or 0 for w in members),
            }
        )
    return sorted(rows, key=lambda row: row["id"])


def local_authority_rows_today(wards: list[dict[str, Any]], today: Today) -> list[dict[str, Any]]:
    """The December 2017 councils, each with the May 2024 council that holds most of its people."""
    successors = local_authority_2017_columns(wards, today.geographies, today.councils)
    unknown = {"lad24_code": None, "lad24_name": None, "name_in_use_2024": None}
    return [{**row, **successors.get(row["lad_code"], unknown)} for row in local_authority_rows(wards)]


# The 2020 set then and now (issue 23): each ward's ranks, and whether it is within each 10% line.
_WITHIN_2025 = """
  cni2023_ward_rank <= (select line from ten_percent_lines where id = 'cni2023') as cni2023_within_line,
  imd2025_ward_rank <= (select line from ten_percent_lines where id = 'imd2025') as imd2025_within_line"""

LEFT_BEHIND_2020_IN_2025_SQL = f"""
select
  ward_code,
  ward_name,
  lad_name,
  lad24_name,
  region_name,
  cni_rank,
  imd2019_ward_rank,
  cni2023_ward_rank,
  imd2025_ward_rank,{_WITHIN_2025},
  indicative_2025
from wards
where left_behind_2020 = 1
order by cni_rank, ward_code
"""

LEFT_BEHIND_2020_IN_2025_BY_REGION_SQL = f"""
with set_2020 as (
  select region_name,{_WITHIN_2025},
    indicative_2025
  from wards
  where left_behind_2020 = 1
),
counts as (
  select region_name, count(*) as wards, sum(cni2023_within_line) as cni2023_within_line,
    sum(imd2025_within_line) as imd2025_within_line, sum(indicative_2025) as indicative_2025
  from set_2020 group by region_name
  union all
  select 'England', count(*), sum(cni2023_within_line), sum(imd2025_within_line), sum(indicative_2025)
  from set_2020
)
select region_name, wards, cni2023_within_line, imd2025_within_line, indicative_2025
from counts
order by region_name = 'England', region_name
"""
