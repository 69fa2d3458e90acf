"""The ward page: is it left behind, why, where is it today, and what is it near."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from leftbehind.polyline import decode_outline
from leftbehind.site.pages.reading import (
    DATABASE,
    Schema,
    facts_of,
    fetch_rows,
    map_url,
    outlines_url,
    schema_of,
    sources_used,
    ward_link,
)
from leftbehind.site.pages.words import (
    DOMAINS,
    IMD_DOMAINS,
    INDICATIVE_CAVEAT,
    answer_sentence,
    answer_with_tests,
    imd_summary,
    line_test,
    picture_2025,
    population_summary,
    rank_summary,
    status_of,
    weighs_most,
)
from leftbehind.site.retry import rows_within_limit

WARD_AND_COUNCIL_SQL = """
with council as (
  select lad_code, count(*) as council_wards from wards
  where lad_code = (select lad_code from wards where ward_code = :code)
  group by lad_code
)
select wards.*, council.council_wards
from wards join council on council.lad_code = wards.lad_code
where wards.left_behind_change is not null or wards.ward_code = :code
order by wards.left_behind_2020 desc, wards.cni_rank
"""


def ward_queries(schema: Schema, facts: dict[str, Any]) -> dict[str, str]:
    """What a ward's page reads, by name, for this database (its tables decide which)."""
    queries = {"council": WARD_AND_COUNCIL_SQL}
    if facts["similar"]:
        queries["similar"] = SIMILAR_SQL
    if "ward_shapes" in schema.tables:  # every ward's outline, exact or approximate (issue 22)
        queries["outline"] = "select ward_code, method, basis, source_id from ward_shapes where ward_code = :code"
    elif schema.outlines:
        queries["outline"] = "select ward_code, source_id from ward_outlines where ward_code = :code"
    if schema.links_2024:
        queries["links_2024"] = LINKS_2024_SQL
    return queries


async def read_ward(datasette, db, queries: dict[str, str], ward_code: str) -> dict[str, list[dict[str, Any]]]:
    """Every query of a ward's page, in one trip to a SQL thread (each trip costs more than
    these indexed queries), each under Datasette's time limit with the site's one more try
    (``leftbehind/site/retry.py``)."""
    limit, params = datasette.sql_time_limit_ms, {"code": ward_code}
    return await db.execute_fn(
        lambda connection: {name: rows_within_limit(connection, sql, params, limit) for name, sql in queries.items()}
    )


async def ward_page(datasette, ward_code: str) -> dict[str, Any] | None:
    db = datasette.get_database(DATABASE)
    schema = await schema_of(datasette)
    facts = await facts_of(datasette)
    # The ward, the other wards of its council in either set and how many wards the council has
    # (one query), its similar wards, its outline and today's wards it overlaps.
    rows = await read_ward(datasette, db, ward_queries(schema, facts), ward_code)
    council = rows["council"]
    ward = next((row for row in council if row["ward_code"] == ward_code), None)
    if ward is None:
        return None
    others = [row for row in council if row["ward_code"] != ward_code]
    council_wards = ward["council_wards"]
    status = status_of(ward["left_behind_change"])
    total = facts["total_wards"]
    link = ward_link(datasette, ward)
    page: dict[str, Any] = {
        "ward": ward,
        "link": link,
        "status": status,
        "answer": answer_sentence(ward["ward_name"], status, facts["sets"]),
        "difference": facts["differences"].get(ward_code),
        "sets": facts["sets"],
        "cni": rank_summary(ward["cni_rank"], total),
        "domains": [
            {"name": name, "meaning": meaning, "rank": rank_summary(ward[f"{key}_rank"], total)}
            for key, name, meaning in DOMAINS
        ],
        "imd": imd_summary(ward, status),
        "population": population_summary(ward["population"], facts["unknown_population"]),
        "other_left_behind": [ward_link(datasette, row) for row in others],
        "council_wards": council_wards,
        "today": _ward_today(datasette, schema, ward, rows.get("links_2024", [])),
        "outline": None,
        "json_url": datasette.urls.row(DATABASE, "wards", ward_code, format="json"),
        "csv_url": datasette.urls.table(DATABASE, "wards", format="csv") + "?" + urlencode({"ward_code": ward_code}),
        "table_url": datasette.urls.table(DATABASE, "wards") + "?" + urlencode({"lad_code": ward["lad_code"]}),
    }
    page.update(_why(ward, status, facts))
    if "similar" in rows:
        page["similar"] = [ward_link(datasette, row) for row in rows["similar"]]
        page["similar_url"] = datasette.urls.table(DATABASE, "similar_wards") + "?" + urlencode({"ward_code": ward_code})
    outline_source = []
    outline_url = None
    outline = rows.get("outline")
    if "ward_shapes" in schema.tables:
        if outline:
            page["outline"] = outline[0]
            outline_source = [outline[0]["source_id"]]
            outline_url = datasette.urls.path(f"/ward-outline/{ward_code}.json")
    elif schema.outlines:
        if outline:
            page["outline"] = outline[0]
            outline_source = [outline[0]["source_id"]] if outline[0].get("source_id") else []
            outline_url = outlines_url(datasette, [ward_code])
    page["map"] = {
        "points": map_url(datasette, [("lad_code", ward["lad_code"])]),
        "outlines": outline_url,
        "focus": ward_code,
        "frame": "focus",  # framed on this ward (its outline where it has one), not on the whole council
    }
    page["sources"] = sources_used(
        facts,
        [
            ("Membership of the 2020 set and the Community Needs Index ranks", ["cni2020"]),
            ("Membership of the 2019 set", ["cni2019"]),
            ("Council and region (December 2017)", ["ward_lad_lookup", "lad_region_lookup"]),
            ("Population", ["population", "lsoa_ward_lookup"]),
            ("Deprivation (IMD 2019), share of residents in the most deprived small areas", ["imd_lsoa", "lsoa_ward_lookup"]),
            ("Deprivation by ward (IMD 2019 and its domains)", ["imd2019_ward"] if page.get("imd2019") else []),
            (
                "The 2025 picture (indicative)",
                ["cni2023_lsoa", "imd2025_lsoa", "lsoa11_lsoa21", "population", "lsoa_ward_lookup"] if page.get("in_2025") else [],
            ),
            ("Map point", [ward["location_source"]] if ward.get("location_source") else []),
            ("Outline", outline_source),
        ],
    )
    page["source_count"] = len({source["id"] for group in page["sources"] for source in group["sources"]})
    return page


async def ward_outline(datasette, ward_code: str) -> dict[str, Any] | None:
    """A ward's outline from ``ward_shapes`` as the maps read outlines (rows with GeoJSON),
    decoded from its encoded polylines; None for a ward without one."""
    db = datasette.get_database(DATABASE)
    rows = await fetch_rows(db, "select ward_code, outline, method, basis from ward_shapes where ward_code = :code", {"code": ward_code})
    if not rows:
        return None
    row = rows[0]
    geometry = {"type": "MultiPolygon", "coordinates": decode_outline(row["outline"])}
    return {"rows": [{"ward_code": row["ward_code"], "method": row["method"], "basis": row["basis"], "geojson": geometry}]}


SIMILAR_SQL = """
select w.ward_code, w.ward_name, w.lad_code, w.lad_name, w.region_code, w.region_name, w.left_behind_change, w.cni_rank
from similar_ward_lists s, json_each(s.similar_ward_codes) similar join wards w on w.ward_code = similar.value
where s.ward_code = :code order by similar.key
"""


def _why(ward: dict[str, Any], status: str, facts: dict[str, Any]) -> dict[str, Any]:
    """The answer with the two tests, the IMD 2019 and its domains, and the 2025 sentence, when
    the database has the ward-level deprivation (issue 23); else the answer alone."""
    lines = facts["lines"]
    if not {"cni2019", "imd2019"} <= lines.keys() or "imd2019_ward_rank" not in ward:
        return {}
    name = ward["ward_name"]
    need = line_test("cni2019", ward["cni_rank"], lines)
    deprivation = line_test("imd2019", ward["imd2019_ward_rank"], lines)
    why: dict[str, Any] = {"answer": answer_with_tests(name, status, facts["sets"], need, deprivation)}
    total = lines["imd2019"]["wards_ranked"]
    why["imd2019"] = None
    if ward["imd2019_ward_rank"] is not None:
        domains = [
            {"key": key, "name": label, "meaning": meaning,
             "rank": rank_summary(ward[f"imd2019_{key}_rank"], total, "deprived")}
            for key, label, meaning in IMD_DOMAINS
        ]
        why["imd2019"] = {
            "overall": rank_summary(ward["imd2019_ward_rank"], total, "deprived"),
            "score": ward["imd2019_ward_score"],
            "domains": domains,
            "weighs_most": weighs_most(name, domains),
            "unranked": facts["total_wards"] - total,
        }
    if {"cni2023", "imd2025"} <= lines.keys():
        sentence = picture_2025(
            name, status, line_test("cni2023", ward.get("cni2023_ward_rank"), lines),
            line_test("imd2025", ward.get("imd2025_ward_rank"), lines),
        )
        if sentence:
            why["in_2025"] = {"sentence": sentence, "caveat": INDICATIVE_CAVEAT}
    return why


LINKS_2024_SQL = """select ward24_code, ward24_name, lad24_code, population, population_share
from ward_links_2024 where ward_code = :code order by population_share desc, ward24_name"""


def _ward_today(datasette, schema: Schema, ward: dict[str, Any], links: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Where the ward's population is today (2024 councils and wards), where the database says."""
    if not schema.today and not schema.links_2024:
        return None
    today: dict[str, Any] = {"council": None, "wards": []}
    if schema.today and ward.get("lad24_name"):
        share = ward.get("lad24_population_share")
        today["council"] = {
            "code": ward["lad24_code"],
            "name": ward["lad24_name"],
            "url": datasette.urls.row(DATABASE, "local_authorities_2024", ward["lad24_code"]) if schema.councils_2024 else None,
            "differs": ward["lad24_name"] != ward["lad_name"],
            "share": round(share * 100) if isinstance(share, (int, float)) else None,
        }
    if schema.links_2024:
        today["wards"] = [
            {**row, "share": round(row["population_share"] * 100) if row["population_share"] is not None else None}
            for row in links
        ]
    if "location_precision" in schema.ward_columns:
        today["location_precision"] = ward.get("location_precision")
    return today


