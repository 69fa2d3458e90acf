"""The council (2017 and today's), region and neighbourhoods pages: their wards in counts and lists."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from leftbehind.site.pages.reading import (
    DATABASE,
    facts_of,
    fetch_rows,
    kept_once_found,
    map_url,
    once,
    outlines_url,
    schema_of,
    ward_link,
)
from leftbehind.site.pages.words import status_of
from leftbehind.site.retry import read_rows
from leftbehind.site.urls import row_url


def set_counts(wards: list[dict[str, Any]]) -> dict[str, int]:
    statuses = [status_of(w["left_behind_change"]) for w in wards]
    return {
        "wards": len(wards),
        "in_2020": sum(s in ("both", "joined") for s in statuses),
        "in_2019": sum(s in ("both", "left") for s in statuses),
        "joined": statuses.count("joined"),
        "left": statuses.count("left"),
    }


def people_counts(wards: list[dict[str, Any]]) -> dict[str, int]:
    members = [w for w in wards if status_of(w["left_behind_change"]) in ("both", "joined")]
    return {
        "population": sum(w["population"] or 0 for w in members),
        "unknown": sum(w["population"] is None for w in members),
    }


def area_summary(datasette, wards: list[dict[str, Any]], facts: dict[str, Any]) -> dict[str, Any]:
    """What a council's or a region's page says about its wards: counts, people, and who is listed."""
    return {
        "counts": set_counts(wards),
        "people": people_counts(wards),
        "sets": facts["sets"],
        "left_behind": [ward_link(datasette, w) for w in wards if status_of(w["left_behind_change"]) in ("both", "joined")],
        "left": [ward_link(datasette, w) for w in wards if status_of(w["left_behind_change"]) == "left"],
    }


WARD_LIST_SQL = """
select ward_code, ward_name, lad_code, lad_name, region_code, region_name, left_behind_change,
  left_behind_2020, cni_rank, population
from wards where {where}
order by left_behind_2020 desc, left_behind_2019 desc, cni_rank
"""


@kept_once_found("council")
async def council_page(datasette, lad_code: str) -> dict[str, Any] | None:
    db = datasette.get_database(DATABASE)
    facts = await facts_of(datasette)
    schema = await schema_of(datasette)
    found = await fetch_rows(
        db,
        """select lad_code, lad_name, local_authorities.region_code, region_name
        from local_authorities join regions on regions.region_code = local_authorities.region_code
        where lad_code = :code""",
        {"code": lad_code},
    )
    if not found:
        return None
    council = found[0]
    wards = await fetch_rows(db, WARD_LIST_SQL.format(where="lad_code = :code"), {"code": lad_code})
    flagged = [w["ward_code"] for w in wards if w["left_behind_change"]]
    page = {
        "council": council,
        "region_url": datasette.urls.row(DATABASE, "regions", council["region_code"]),
        **area_summary(datasette, wards, facts),
        "other": sorted((ward_link(datasette, w) for w in wards if not w["left_behind_change"]), key=lambda w: w["name"]),
        "map": {
            "points": map_url(datasette, [("lad_code", lad_code)]),
            "outlines": outlines_url(datasette, flagged) if schema.outlines else None,
            "focus": "",
        },
        "today": None,
        "json_url": datasette.urls.row(DATABASE, "local_authorities", lad_code, format="json"),
        "csv_url": datasette.urls.table(DATABASE, "wards", format="csv") + "?" + urlencode({"lad_code": lad_code, "_size": "max"}),
        "table_url": datasette.urls.table(DATABASE, "wards") + "?" + urlencode({"lad_code": lad_code}),
    }
    if schema.today:
        today = await fetch_rows(
            db,
            """select lad24_code, lad24_name, count(*) as wards from wards where lad_code = :code and lad24_code is not null
            group by lad24_code, lad24_name order by wards desc, lad24_name""",
            {"code": lad_code},
        )
        page["today"] = [
            {**row, "url": datasette.urls.row(DATABASE, "local_authorities_2024", row["lad24_code"]) if schema.councils_2024 else None}
            for row in today
        ]
    return page


def councils_of(datasette, wards: list[dict[str, Any]]) -> list[dict[str, str]]:
    """The December 2017 councils of some wards, each once, by name, with a link to its page."""
    councils = sorted({(w["lad_code"], w["lad_name"]) for w in wards}, key=lambda council: council[1])
    return [
        {"code": code, "name": name, "url": datasette.urls.row(DATABASE, "local_authorities", code)}
        for code, name in councils
    ]


@kept_once_found("council_2024")
async def council_2024_page(datasette, lad24_code: str) -> dict[str, Any] | None:
    """Today's council: the 2017 wards most of whose population now lies in it."""
    schema = await schema_of(datasette)
    if not (schema.councils_2024 and schema.today):
        return None
    db = datasette.get_database(DATABASE)
    facts = await facts_of(datasette)
    found = await fetch_rows(db, "select * from local_authorities_2024 where lad24_code = :code", {"code": lad24_code})
    if not found:
        return None
    wards = await fetch_rows(db, WARD_LIST_SQL.format(where="lad24_code = :code"), {"code": lad24_code})
    in_2020 = [w for w in wards if status_of(w["left_behind_change"]) in ("both", "joined")]
    return {
        "council": found[0],
        **area_summary(datasette, wards, facts),
        # The councils of 2017 its wards were in, and those of its left-behind neighbourhoods alone.
        "councils_2017": councils_of(datasette, wards),
        "councils_2017_left_behind": councils_of(datasette, in_2020),
        "map": {"points": map_url(datasette, [("lad24_code", lad24_code)]), "outlines": None, "focus": ""},
        "table_url": datasette.urls.table(DATABASE, "wards") + "?" + urlencode({"lad24_code": lad24_code}),
    }


@kept_once_found("region")
async def region_page(datasette, region_code: str) -> dict[str, Any] | None:
    db = datasette.get_database(DATABASE)
    facts = await facts_of(datasette)
    found = await fetch_rows(db, "select region_code, region_name from regions where region_code = :code", {"code": region_code})
    if not found:
        return None
    wards = await fetch_rows(db, WARD_LIST_SQL.format(where="region_code = :code"), {"code": region_code})
    councils: dict[str, dict[str, Any]] = {}
    for ward in wards:
        council = councils.get(ward["lad_code"])
        if council is None:
            council = councils[ward["lad_code"]] = {
                "code": ward["lad_code"],
                "name": ward["lad_name"],
                "url": row_url(datasette, "local_authorities", ward["lad_code"]),
                "wards": [],
            }
        council["wards"].append(ward)
    council_rows = []
    for council in councils.values():
        counts = set_counts(council.pop("wards"))
        council_rows.append({**council, **counts})
    council_rows.sort(key=lambda c: (-c["in_2020"], -c["in_2019"], c["name"]))
    summary = area_summary(datasette, wards, facts)
    # A region's list is long: most in need first, whichever set a ward joined in.
    summary["left_behind"].sort(key=lambda ward: (ward["cni_rank"] is None, ward["cni_rank"], ward["name"]))
    return {
        "region": found[0],
        "councils": council_rows,
        **summary,
        "map": {
            "points": map_url(datasette, [("region_code", region_code), ("left_behind_change__notnull", "1")]),
            "outlines": None,
            "focus": "",
        },
        "json_url": datasette.urls.row(DATABASE, "regions", region_code, format="json"),
        "csv_url": datasette.urls.table(DATABASE, "wards", format="csv")
        + "?"
        + urlencode({"region_code": region_code, "left_behind_change__notnull": "1", "_size": "max"}),
        "table_url": datasette.urls.table(DATABASE, "wards") + "?" + urlencode({"region_code": region_code}),
    }


async def neighbourhoods_map(datasette) -> dict[str, Any]:
    """What the neighbourhoods page says beside its map: the set sizes and the wards that left."""

    async def compute() -> dict[str, Any]:
        db = datasette.get_database(DATABASE)
        facts = await facts_of(datasette)
        left = await read_rows(
            db,
            "select ward_code, ward_name, lad_code, lad_name, region_code, region_name, left_behind_change, cni_rank "
            "from wards where left_behind_change = 'left in 2020' order by ward_name",
        )
        counts = {
            row["left_behind_change"]: row["n"]
            for row in await read_rows(db, "select left_behind_change, count(*) as n from wards group by left_behind_change")
        }
        return {
            "sets": facts["sets"],
            "both": counts.get("in both sets", 0),
            "joined": counts.get("joined in 2020", 0),
            "left": [ward_link(datasette, row) for row in left],
            "ward_url_prefix": datasette.urls.table(DATABASE, "wards") + "/",
        }

    return await once(datasette, "neighbourhoods_map", compute)
