"""Find my ward: search by name or code, "use my location", and suggestions while typing."""

from __future__ import annotations

import json
import math
import re
from typing import Any

from leftbehind.site.pages.areas import WARD_LIST_SQL, set_counts
from leftbehind.site.pages.geometry import (
    bounding_box,
    distance_km,
    distance_words,
    geometry_contains,
    parse_coordinate,
    polygons_of,
)
from leftbehind.site.retry import read_rows
from leftbehind.site.pages.reading import (
    DATABASE,
    facts_of,
    fetch_rows,
    once,
    schema_of,
    ward_link,
)

MAX_QUERY_CHARS = 100
MAX_WARD_RESULTS = 50
MAX_COUNCILS_LISTED_WITH_WARDS = 3
MAX_SUGGESTIONS = 8
NEAREST_COUNT = 10
CODE_PATTERN = re.compile(r"^E\d{8}$", re.IGNORECASE)


def normalise_query(text: str | None) -> str:
    return " ".join((text or "").split())[:MAX_QUERY_CHARS]


def like_pattern(text: str, prefix_only: bool = False) -> str:
    """A LIKE pattern (with ESCAPE '\\') matching ``text`` anywhere, or at the start."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"{escaped}%" if prefix_only else f"%{escaped}%"



async def search(datasette, text: str | None) -> dict[str, Any]:
    """Councils, regions and wards matching a name (or a code), each ward with its answer."""
    query = normalise_query(text)
    result: dict[str, Any] = {"query": query, "councils": [], "regions": [], "wards": [], "more_wards": False}
    if not query:
        return result
    db = datasette.get_database(DATABASE)
    schema = await schema_of(datasette)
    params = {"q": query, "pattern": like_pattern(query), "prefix": like_pattern(query, prefix_only=True)}
    is_code = bool(CODE_PATTERN.match(query))
    if is_code:
        params["q"] = query.upper()

    council_where = "lad_code = :q" if is_code else "lad_name like :pattern escape '\\'"
    councils = await fetch_rows(
        db,
        f"""select lad_code as code, lad_name as name, local_authorities.region_code, region_name, 2017 as year
        from local_authorities join regions on regions.region_code = local_authorities.region_code
        where {council_where}
        order by lower(lad_name) = lower(:q) desc, lad_name like :prefix escape '\\' desc, lad_name""",
        params,
    )
    if schema.councils_2024:
        where = "lad24_code = :q" if is_code else "lad24_name like :pattern escape '\\'"
        names = {c["name"].lower() for c in councils}
        for row in await fetch_rows(
            db,
            f"""select lad24_code as code, lad24_name as name, region_code, region_name, 2024 as year
            from local_authorities_2024 where {where}
            order by lower(lad24_name) = lower(:q) desc, lad24_name""",
            params,
        ):
            if row["name"].lower() not in names:
                councils.append(row)
    for council in councils:
        table, column = ("local_authorities", "lad_code") if council["year"] == 2017 else ("local_authorities_2024", "lad24_code")
        council["url"] = datasette.urls.row(DATABASE, table, council["code"])
        council["wards"] = None
    for council in councils[:MAX_COUNCILS_LISTED_WITH_WARDS]:
        column = "lad_code" if council["year"] == 2017 else "lad24_code"
        wards = await fetch_rows(db, WARD_LIST_SQL.format(where=f"{column} = :code"), {"code": council["code"]})
        council["counts"] = set_counts(wards)
        council["wards"] = [ward_link(datasette, w) for w in wards]
        council["flagged"] = [w for w in council["wards"] if w["status"] != "none"]
        council["others"] = sorted((w for w in council["wards"] if w["status"] == "none"), key=lambda w: w["name"])
    result["councils"] = councils

    region_where = "region_code = :q" if is_code else "region_name like :pattern escape '\\'"
    result["regions"] = [
        {**row, "url": datasette.urls.row(DATABASE, "regions", row["region_code"])}
        for row in await fetch_rows(db, f"select region_code, region_name from regions where {region_where} order by region_name", params)
    ]

    where = ["ward_code = :q" if is_code else "ward_name like :pattern escape '\\'"]
    extra_columns = ""
    if schema.links_2024 and not is_code:
        where.append("ward_code in (select ward_code from ward_links_2024 where ward24_name like :pattern escape '\\')")
        extra_columns += (
            ", (select group_concat(ward24_name, '; ') from ward_links_2024 as links"
            " where links.ward_code = wards.ward_code and ward24_name like :pattern escape '\\') as matched_2024"
        )
    if schema.today:
        extra_columns += ", lad24_name"
    wards = await fetch_rows(
        db,
        f"""select ward_code, ward_name, lad_code, lad_name, region_code, region_name, left_behind_change, cni_rank{extra_columns}
        from wards where {' or '.join(where)}
        order by lower(ward_name) = lower(:q) desc, ward_name like :prefix escape '\\' desc, ward_name, lad_name
        limit {MAX_WARD_RESULTS + 1}""",
        params,
    )
    result["more_wards"] = len(wards) > MAX_WARD_RESULTS
    result["wards"] = [_search_result(datasette, row) for row in wards[:MAX_WARD_RESULTS]]
    return result


def _search_result(datasette, row: dict[str, Any]) -> dict[str, Any]:
    link = ward_link(datasette, row)
    if row.get("lad24_name") and row["lad24_name"] != row["lad_name"]:
        link["today"] = row["lad24_name"]
    if row.get("matched_2024"):
        link["matched_2024"] = row["matched_2024"]
    return link


async def outline_index(datasette) -> list[tuple[str, tuple[float, float, float, float], list]]:
    """Every outline with its bounding box, parsed once, for "use my location"."""

    async def compute():
        db = datasette.get_database(DATABASE)
        index = []
        for row in await read_rows(db, "select ward_code, geojson from ward_outlines"):
            try:
                polygons = polygons_of(json.loads(row["geojson"]))
            except (TypeError, ValueError):
                continue
            if polygons:
                index.append((row["ward_code"], bounding_box(polygons), polygons))
        return index

    return await once(datasette, "outlines", compute)


async def nearest(datasette, latitude: float, longitude: float) -> dict[str, Any]:
    """The wards whose map points are nearest; a ward whose outline holds the point comes first."""
    db = datasette.get_database(DATABASE)
    schema = await schema_of(datasette)
    scale = math.cos(math.radians(latitude))
    rows = await fetch_rows(
        db,
        f"""select ward_code, ward_name, lad_code, lad_name, region_code, region_name, left_behind_change, cni_rank,
          latitude, longitude
        from wards
        order by (latitude - :lat) * (latitude - :lat) + (longitude - :lon) * (longitude - :lon) * :scale * :scale
        limit {NEAREST_COUNT}""",
        {"lat": latitude, "lon": longitude, "scale": scale},
    )
    inside: list[str] = []
    if schema.outlines:
        for code, (west, south, east, north), polygons in await outline_index(datasette):
            if west <= longitude <= east and south <= latitude <= north and geometry_contains(polygons, longitude, latitude):
                inside.append(code)
        missing = [code for code in inside if code not in {row["ward_code"] for row in rows}]
        if missing:
            rows += await fetch_rows(
                db,
                "select ward_code, ward_name, lad_code, lad_name, region_code, region_name, left_behind_change, cni_rank,"
                " latitude, longitude from wards where ward_code in (select value from json_each(:codes))",
                {"codes": json.dumps(missing)},
            )
    results = []
    for row in rows:
        link = ward_link(datasette, row)
        km = distance_km(latitude, longitude, row["latitude"], row["longitude"])
        link.update({"km": km, "distance": distance_words(km), "inside": row["ward_code"] in inside})
        results.append(link)
    results.sort(key=lambda w: (not w["inside"], w["km"]))
    return {"latitude": latitude, "longitude": longitude, "wards": results, "outlines": schema.outlines}


async def examples(datasette) -> dict[str, Any]:
    """A few searches to try: the ward most in need, and the council and region with most left-behind wards."""

    async def compute():
        db = datasette.get_database(DATABASE)
        ward = await read_rows(db, "select ward_name from wards order by cni_rank limit 1")
        council = await read_rows(
            db, "select lad_name from wards group by lad_code order by sum(left_behind_2020) desc, lad_name limit 1"
        )
        other = await read_rows(
            db,
            "select ward_name from wards where left_behind_change is null and cni_rank > 3000"
            " and ward_name not like '%and%' order by ward_code limit 1",
        )
        return [row[key] for rows, key in ((ward, "ward_name"), (council, "lad_name"), (other, "ward_name")) for row in rows]

    return await once(datasette, "examples", compute)


async def finder(datasette, request) -> dict[str, Any]:
    """Everything the Find my ward page shows for this request."""
    facts = await facts_of(datasette)
    page: dict[str, Any] = {"sets": facts["sets"], "total_wards": facts["total_wards"], "near": None, "problem": None}
    args = request.args
    if "lat" in args or "lon" in args:
        latitude = parse_coordinate(args.get("lat"), 90)
        longitude = parse_coordinate(args.get("lon"), 180)
        if latitude is None or longitude is None:
            page["problem"] = "That location could not be read: give a latitude and a longitude in decimal degrees."
        else:
            page["near"] = await nearest(datasette, latitude, longitude)
    page["search"] = await search(datasette, args.get("q"))
    page["examples"] = await examples(datasette)
    return page


async def suggestions(datasette, text: str | None) -> dict[str, Any]:
    """Up to MAX_SUGGESTIONS councils and wards for the search box, as links."""
    found = await search(datasette, text)
    items = [
        {"label": f"{c['name']} (council{', today' if c['year'] == 2024 else ''})", "url": c["url"], "kind": "council"}
        for c in found["councils"]
    ]
    items += [
        {"label": f"{w['name']}, {w['council']}", "url": w["url"], "kind": "ward", "answer": w["answer"]}
        for w in found["wards"]
    ]
    return {"query": found["query"], "suggestions": items[:MAX_SUGGESTIONS]}


