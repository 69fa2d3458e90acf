"""Pages for people: every ward, council and region in words, and "Find my ward".

Registered by ``leftbehind.site.register()``. The row templates
(``templates/row-leftbehind-wards.html``, ``-local_authorities``, ``-regions`` and
``-local_authorities_2024``) call ``ward_page(code)``, ``council_page(code)`` and so on;
``templates/pages/find-my-ward.html`` gets ``finder``; ``/find-my-ward.json`` gives the
suggestions the search box shows while typing.

Today's geography (lad24_* columns on ``wards``, ``local_authorities_2024``,
``ward_links_2024``) and ``ward_outlines`` are used when the database has them and
ignored when it does not: the schema is read once per Datasette instance.

The database is immutable while served, so facts that never change (set sizes, the
sources, the outlines for "use my location") are read once per instance and kept.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, NamedTuple
from urllib.parse import urlencode

from datasette import hookimpl
from datasette.utils.asgi import Response

DATABASE = "leftbehind"

# Issue 13's check of the population method: ONS's own mid-2017 ward estimates for
# the 21 Trafford wards against the sum over each ward's best-fit LSOAs.
POPULATION_CHECK = {
    "council": "Trafford",
    "wards": 21,
    "mean_error_pct": 7.7,
    "lowest_pct": -18.2,
    "highest_pct": 20.6,
}

DOMAINS = (
    (
        "civic_assets",
        "Civic assets",
        "places where people can meet and do things together, such as community centres, "
        "libraries, sports grounds and green spaces",
    ),
    (
        "connectedness",
        "Connectedness",
        "how well people can reach jobs, services and each other, by transport and online",
    ),
    (
        "engaged_community",
        "Engaged community",
        "how far residents take part in local civic and community life, and how active local charities and groups are",
    ),
)

STATUS_BY_CHANGE = {"in both sets": "both", "joined in 2020": "joined", "left in 2020": "left"}
STATUS_SHORT = {
    "both": "Left behind: in the 2020 and the 2019 sets",
    "joined": "Left behind: joined the list in 2020",
    "left": "Not on the 2020 list: left it in 2020",
    "none": "Not a left-behind neighbourhood",
}

MAX_QUERY_CHARS = 100
MAX_WARD_RESULTS = 50
MAX_COUNCILS_LISTED_WITH_WARDS = 3
MAX_SUGGESTIONS = 8
NEAREST_COUNT = 10
EARTH_RADIUS_KM = 6371.0088
CODE_PATTERN = re.compile(r"^E\d{8}$", re.IGNORECASE)

MAP_COLUMNS = ("ward_code", "ward_name", "lad_name", "left_behind_change", "cni_rank", "latitude", "longitude")


# --- small pure functions ---------------------------------------------------------


def ordinal(number: int) -> str:
    """1st, 2nd, 3rd, 4th, 11th, 12th, 13th, 21st, 1,002nd."""
    if 10 <= number % 100 <= 20:
        suffix = "th"
    else:
        suffix = {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number:,}{suffix}"


def status_of(left_behind_change: str | None) -> str:
    """'both', 'joined', 'left' or 'none', from the wards table's left_behind_change."""
    return STATUS_BY_CHANGE.get(left_behind_change or "", "none")


def answer_sentence(name: str, status: str, sets: dict[str, int]) -> str:
    """The one-sentence answer to "is this ward left behind?"."""
    new, old = sets["2020"], sets["2019"]
    if status == "both":
        return (
            f"Yes. {name} is one of the {new:,} 'left behind' neighbourhoods of the 2020 set, "
            f"and it was in the original 2019 set of {old:,} too."
        )
    if status == "joined":
        return (
            f"Yes. {name} is one of the {new:,} 'left behind' neighbourhoods of the 2020 set. "
            f"It joined the list in 2020: it was not in the original 2019 set of {old:,}."
        )
    if status == "left":
        return (
            f"Not any more. {name} was one of the {old:,} 'left behind' neighbourhoods of the original "
            f"2019 set, but it is not in the 2020 set of {new:,}: it left the list when it was recalculated in 2020."
        )
    return (
        f"No. {name} is not a 'left behind' neighbourhood: it is in neither the 2020 set of {new:,} "
        f"nor the original 2019 set of {old:,}."
    )


def rank_summary(rank: int | None, total: int) -> dict[str, Any] | None:
    """A rank (1 = most need) in words, and where it sits on a scale from 1 to ``total``."""
    if rank is None:
        return None
    share = math.ceil(rank * 100 / total)
    if share <= 50:
        band = f"among the {share}% of wards most in need" if share > 1 else "among the 1% of wards most in need"
    else:
        band = "in the half of wards less in need"
    return {
        "rank": rank,
        "total": total,
        "words": f"{ordinal(rank)} most in need of {total:,} wards",
        "last": ordinal(total),
        "band": band,
        "position": round((rank - 1) * 100 / max(total - 1, 1), 2),
    }


def signed(value: float) -> str:
    """A number with its sign, and a true minus sign."""
    return f"{value:+}".replace("-", "\u2212")


def population_summary(population: int | None, unknown_wards: int) -> dict[str, Any]:
    """The population figure in words, and what it is worth."""
    check = POPULATION_CHECK
    accuracy = (
        f"Checked against ONS's own mid-2017 estimates for the {check['wards']} wards of {check['council']}, "
        f"the borough's total matched exactly but single wards were off by {check['mean_error_pct']}% "
        f"on average (from {signed(check['lowest_pct'])}% to {signed(check['highest_pct'])}%)."
    )
    if population is None:
        return {
            "known": False,
            "words": "Not known.",
            "caveat": (
                "ONS's best-fit lookup assigns none of England's small census areas (LSOAs) to this ward, "
                "so its residents are counted in neighbouring wards and its population is left empty, "
                f"not zero. It is one of {unknown_wards} wards like this."
            ),
            "accuracy": accuracy,
        }
    return {
        "known": True,
        "words": f"About {population:,} people (mid-2017).",
        "caveat": (
            "An approximation: the sum of ONS's mid-2017 estimates for the small census areas (LSOAs) "
            "that ONS's best-fit lookup places in the ward. An LSOA that straddles a ward boundary is "
            "counted wholly in one ward."
        ),
        "accuracy": accuracy,
    }


def imd_summary(ward: dict[str, Any], status: str) -> dict[str, Any] | None:
    """The Index of Multiple Deprivation context of a ward, with what it is and is not."""
    share = ward.get("population_share_in_imd_decile_1_lsoas")
    lsoas = ward.get("lsoa_count")
    if share is None or lsoas is None:
        return None
    deprived = ward.get("lsoas_in_imd_decile_1") or 0
    percent = round(share * 100)
    words = (
        f"{percent}% of its residents live in small areas (LSOAs) that are among England's most deprived 10% "
        f"on the Index of Multiple Deprivation 2019: {deprived} of its {lsoas} LSOA{'s' if lsoas != 1 else ''}."
    )
    caveat = (
        "This is this site's own measure, worked out through the same best-fit lookup as the population. "
        "It is not the ward-level deprivation score OCSI used to choose the left-behind neighbourhoods, "
        "which this site does not hold."
    )
    if share == 0 and status in ("both", "joined"):
        caveat += (
            " So a left-behind ward can show 0% here: a ward can be among the most deprived wards overall "
            "without any one of its small areas being in the most deprived tenth."
        )
    return {"percent": percent, "words": words, "caveat": caveat}


def normalise_query(text: str | None) -> str:
    return " ".join((text or "").split())[:MAX_QUERY_CHARS]


def like_pattern(text: str, prefix_only: bool = False) -> str:
    """A LIKE pattern (with ESCAPE '\\') matching ``text`` anywhere, or at the start."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"{escaped}%" if prefix_only else f"%{escaped}%"


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine)."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlambda = math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def distance_words(km: float) -> str:
    if km < 0.1:
        return "less than 0.1 km"
    if km < 10:
        return f"{km:.1f} km"
    return f"{km:,.0f} km"


def parse_coordinate(text: str | None, limit: float) -> float | None:
    try:
        value = float(text or "")
    except ValueError:
        return None
    if not math.isfinite(value) or abs(value) > limit:
        return None
    return value


def polygons_of(geometry: dict[str, Any]) -> list[list[list[tuple[float, float]]]]:
    """The rings of a GeoJSON Polygon or MultiPolygon as lists of (lon, lat)."""
    kind = geometry.get("type")
    coordinates = geometry.get("coordinates") or []
    if kind == "Polygon":
        coordinates = [coordinates]
    elif kind != "MultiPolygon":
        return []
    return [[[(float(x), float(y)) for x, y, *_ in ring] for ring in polygon] for polygon in coordinates]


def ring_contains(ring: list[tuple[float, float]], lon: float, lat: float) -> bool:
    inside = False
    j = len(ring) - 1
    for i, (xi, yi) in enumerate(ring):
        xj, yj = ring[j]
        if (yi > lat) != (yj > lat) and lon < (xj - xi) * (lat - yi) / (yj - yi) + xi:
            inside = not inside
        j = i
    return inside


def geometry_contains(polygons: list[list[list[tuple[float, float]]]], lon: float, lat: float) -> bool:
    """Whether a point lies inside a polygon's outer ring and outside its holes."""
    for rings in polygons:
        if rings and ring_contains(rings[0], lon, lat) and not any(ring_contains(h, lon, lat) for h in rings[1:]):
            return True
    return False


def bounding_box(polygons: list[list[list[tuple[float, float]]]]) -> tuple[float, float, float, float]:
    points = [point for rings in polygons for ring in rings for point in ring]
    xs = [x for x, _ in points]
    ys = [y for _, y in points]
    return min(xs), min(ys), max(xs), max(ys)


# --- reading the database ------------------------------------------------------------


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


def _immutable(datasette) -> bool:
    return all(db.is_mutable is False for name, db in datasette.databases.items() if not name.startswith("_"))


async def _once(datasette, key: str, compute):
    """``compute()``'s result, kept on the Datasette instance when its databases are immutable."""
    store = getattr(datasette, "_leftbehind_pages", None)
    if store is None:
        store = datasette._leftbehind_pages = {}
    if key in store:
        return store[key]
    value = await compute()
    if _immutable(datasette):
        store[key] = value
    return value


async def _rows(db, sql: str, params: dict | None = None) -> list[dict[str, Any]]:
    return [dict(row) for row in (await db.execute(sql, params or {})).rows]


async def schema_of(datasette) -> Schema:
    async def compute() -> Schema:
        db = datasette.get_database(DATABASE)
        tables = frozenset(await db.table_names())
        columns = frozenset(await db.table_columns("wards")) if "wards" in tables else frozenset()
        return Schema(tables, columns)

    return await _once(datasette, "schema", compute)


async def facts_of(datasette) -> dict[str, Any]:
    """Figures every page states: how many wards, the two sets, the sources."""

    async def compute() -> dict[str, Any]:
        db = datasette.get_database(DATABASE)
        counts = (await _rows(db, "select count(*) as wards, sum(population is null) as unknown from wards"))[0]
        sets = {row["id"]: row["wards"] for row in await _rows(db, "select id, wards from left_behind_sets")}
        sources = {
            row["id"]: row
            for row in await _rows(db, "select id, title, url, licence, licence_url, attribution from sources")
        }
        return {
            "total_wards": counts["wards"],
            "unknown_population": counts["unknown"] or 0,
            "sets": sets,
            "sources": sources,
        }

    return await _once(datasette, "facts", compute)


def _ward_link(datasette, row: dict[str, Any]) -> dict[str, Any]:
    """A ward as the lists on every page show it."""
    status = status_of(row.get("left_behind_change"))
    return {
        "code": row["ward_code"],
        "name": row["ward_name"],
        "url": datasette.urls.row(DATABASE, "wards", row["ward_code"]),
        "status": status,
        "answer": STATUS_SHORT[status],
        "cni_rank": row.get("cni_rank"),
        "council": row.get("lad_name"),
        "council_url": datasette.urls.row(DATABASE, "local_authorities", row["lad_code"]) if row.get("lad_code") else None,
        "region": row.get("region_name"),
        "region_url": datasette.urls.row(DATABASE, "regions", row["region_code"]) if row.get("region_code") else None,
    }


def _json_url(datasette, table: str, params: list[tuple[str, str]]) -> str:
    return datasette.urls.table(DATABASE, table, format="json") + "?" + urlencode(params)


def _map_url(datasette, filters: list[tuple[str, str]]) -> str:
    """The wards JSON a small map reads: only the columns it draws, no facets, no count."""
    columns = [("_col", column) for column in MAP_COLUMNS if column != "ward_code"]
    return _json_url(
        datasette, "wards", [*filters, *columns, ("_shape", "objects"), ("_size", "max"), ("_nofacet", "1"), ("_nocount", "1")]
    )


def _outlines_url(datasette, codes: list[str]) -> str | None:
    if not codes:
        return None
    return _json_url(
        datasette,
        "ward_outlines",
        [("ward_code__in", ",".join(codes)), ("_col", "geojson"), ("_shape", "objects"), ("_size", "max"), ("_nofacet", "1")],
    )


def _sources_used(facts: dict[str, Any], uses: list[tuple[str, list[str]]]) -> list[dict[str, Any]]:
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


# --- the ward page -------------------------------------------------------------------

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


async def ward_page(datasette, ward_code: str) -> dict[str, Any] | None:
    db = datasette.get_database(DATABASE)
    schema = await schema_of(datasette)
    facts = await facts_of(datasette)
    # One query: the ward, the other wards of its council in either set, and how many wards the council has.
    council = await _rows(db, WARD_AND_COUNCIL_SQL, {"code": ward_code})
    ward = next((row for row in council if row["ward_code"] == ward_code), None)
    if ward is None:
        return None
    others = [row for row in council if row["ward_code"] != ward_code]
    council_wards = ward["council_wards"]
    status = status_of(ward["left_behind_change"])
    total = facts["total_wards"]
    link = _ward_link(datasette, ward)
    page: dict[str, Any] = {
        "ward": ward,
        "link": link,
        "status": status,
        "answer": answer_sentence(ward["ward_name"], status, facts["sets"]),
        "sets": facts["sets"],
        "cni": rank_summary(ward["cni_rank"], total),
        "domains": [
            {"name": name, "meaning": meaning, "rank": rank_summary(ward[f"{key}_rank"], total)}
            for key, name, meaning in DOMAINS
        ],
        "imd": imd_summary(ward, status),
        "population": population_summary(ward["population"], facts["unknown_population"]),
        "other_left_behind": [_ward_link(datasette, row) for row in others],
        "council_wards": council_wards,
        "today": await _ward_today(datasette, db, schema, ward),
        "outline": None,
        "json_url": datasette.urls.row(DATABASE, "wards", ward_code, format="json"),
        "csv_url": datasette.urls.table(DATABASE, "wards", format="csv") + "?" + urlencode({"ward_code": ward_code}),
        "table_url": datasette.urls.table(DATABASE, "wards") + "?" + urlencode({"lad_code": ward["lad_code"]}),
    }
    outline_source = []
    if schema.outlines:
        outline = await _rows(db, "select ward_code, source_id from ward_outlines where ward_code = :code", {"code": ward_code})
        if outline:
            page["outline"] = outline[0]
            outline_source = [outline[0]["source_id"]] if outline[0].get("source_id") else []
    page["map"] = {
        "points": _map_url(datasette, [("lad_code", ward["lad_code"])]),
        "outlines": _outlines_url(datasette, [ward_code]) if page["outline"] else None,
        "focus": ward_code,
    }
    page["sources"] = _sources_used(
        facts,
        [
            ("Membership of the 2020 set and the Community Needs Index ranks", ["cni2020"]),
            ("Membership of the 2019 set", ["cni2019"]),
            ("Council and region (December 2017)", ["ward_lad_lookup", "lad_region_lookup"]),
            ("Population", ["population", "lsoa_ward_lookup"]),
            ("Deprivation (IMD 2019)", ["imd_lsoa", "lsoa_ward_lookup"]),
            ("Map point", [ward["location_source"]] if ward.get("location_source") else []),
            ("Outline", outline_source),
        ],
    )
    return page


async def _ward_today(datasette, db, schema: Schema, ward: dict[str, Any]) -> dict[str, Any] | None:
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
        links = await _rows(
            db,
            """select ward24_code, ward24_name, lad24_code, population, population_share
            from ward_links_2024 where ward_code = :code order by population_share desc, ward24_name""",
            {"code": ward["ward_code"]},
        )
        today["wards"] = [
            {**row, "share": round(row["population_share"] * 100) if row["population_share"] is not None else None}
            for row in links
        ]
    if "location_precision" in schema.ward_columns:
        today["location_precision"] = ward.get("location_precision")
    return today


# --- council and region pages --------------------------------------------------------


def _set_counts(wards: list[dict[str, Any]]) -> dict[str, int]:
    statuses = [status_of(w["left_behind_change"]) for w in wards]
    return {
        "wards": len(wards),
        "in_2020": sum(s in ("both", "joined") for s in statuses),
        "in_2019": sum(s in ("both", "left") for s in statuses),
        "joined": statuses.count("joined"),
        "left": statuses.count("left"),
    }


def _people(wards: list[dict[str, Any]]) -> dict[str, int]:
    members = [w for w in wards if status_of(w["left_behind_change"]) in ("both", "joined")]
    return {
        "population": sum(w["population"] or 0 for w in members),
        "unknown": sum(w["population"] is None for w in members),
    }


def _area_summary(datasette, wards: list[dict[str, Any]], facts: dict[str, Any]) -> dict[str, Any]:
    """What a council's or a region's page says about its wards: counts, people, and who is listed."""
    return {
        "counts": _set_counts(wards),
        "people": _people(wards),
        "sets": facts["sets"],
        "left_behind": [_ward_link(datasette, w) for w in wards if status_of(w["left_behind_change"]) in ("both", "joined")],
        "left": [_ward_link(datasette, w) for w in wards if status_of(w["left_behind_change"]) == "left"],
    }


WARD_LIST_SQL = """
select ward_code, ward_name, lad_code, lad_name, region_code, region_name, left_behind_change,
  left_behind_2020, cni_rank, population
from wards where {where}
order by left_behind_2020 desc, left_behind_2019 desc, cni_rank
"""


async def council_page(datasette, lad_code: str) -> dict[str, Any] | None:
    db = datasette.get_database(DATABASE)
    facts = await facts_of(datasette)
    schema = await schema_of(datasette)
    found = await _rows(
        db,
        """select lad_code, lad_name, local_authorities.region_code, region_name
        from local_authorities join regions on regions.region_code = local_authorities.region_code
        where lad_code = :code""",
        {"code": lad_code},
    )
    if not found:
        return None
    council = found[0]
    wards = await _rows(db, WARD_LIST_SQL.format(where="lad_code = :code"), {"code": lad_code})
    flagged = [w["ward_code"] for w in wards if w["left_behind_change"]]
    page = {
        "council": council,
        "region_url": datasette.urls.row(DATABASE, "regions", council["region_code"]),
        **_area_summary(datasette, wards, facts),
        "other": sorted((_ward_link(datasette, w) for w in wards if not w["left_behind_change"]), key=lambda w: w["name"]),
        "map": {
            "points": _map_url(datasette, [("lad_code", lad_code)]),
            "outlines": _outlines_url(datasette, flagged) if schema.outlines else None,
            "focus": "",
        },
        "today": None,
        "json_url": datasette.urls.row(DATABASE, "local_authorities", lad_code, format="json"),
        "csv_url": datasette.urls.table(DATABASE, "wards", format="csv") + "?" + urlencode({"lad_code": lad_code, "_size": "max"}),
        "table_url": datasette.urls.table(DATABASE, "wards") + "?" + urlencode({"lad_code": lad_code}),
    }
    if schema.today:
        today = await _rows(
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


async def council_2024_page(datasette, lad24_code: str) -> dict[str, Any] | None:
    """Today's council: the 2017 wards most of whose population now lies in it."""
    schema = await schema_of(datasette)
    if not (schema.councils_2024 and schema.today):
        return None
    db = datasette.get_database(DATABASE)
    facts = await facts_of(datasette)
    found = await _rows(db, "select * from local_authorities_2024 where lad24_code = :code", {"code": lad24_code})
    if not found:
        return None
    wards = await _rows(db, WARD_LIST_SQL.format(where="lad24_code = :code"), {"code": lad24_code})
    councils_2017 = sorted({(w["lad_code"], w["lad_name"]) for w in wards}, key=lambda c: c[1])
    return {
        "council": found[0],
        **_area_summary(datasette, wards, facts),
        "councils_2017": [
            {"code": code, "name": name, "url": datasette.urls.row(DATABASE, "local_authorities", code)}
            for code, name in councils_2017
        ],
        "map": {"points": _map_url(datasette, [("lad24_code", lad24_code)]), "outlines": None, "focus": ""},
        "table_url": datasette.urls.table(DATABASE, "wards") + "?" + urlencode({"lad24_code": lad24_code}),
    }


async def region_page(datasette, region_code: str) -> dict[str, Any] | None:
    db = datasette.get_database(DATABASE)
    facts = await facts_of(datasette)
    found = await _rows(db, "select region_code, region_name from regions where region_code = :code", {"code": region_code})
    if not found:
        return None
    wards = await _rows(db, WARD_LIST_SQL.format(where="region_code = :code"), {"code": region_code})
    councils: dict[str, dict[str, Any]] = {}
    for ward in wards:
        council = councils.setdefault(
            ward["lad_code"],
            {
                "code": ward["lad_code"],
                "name": ward["lad_name"],
                "url": datasette.urls.row(DATABASE, "local_authorities", ward["lad_code"]),
                "wards": [],
            },
        )
        council["wards"].append(ward)
    council_rows = []
    for council in councils.values():
        counts = _set_counts(council.pop("wards"))
        council_rows.append({**council, **counts})
    council_rows.sort(key=lambda c: (-c["in_2020"], -c["in_2019"], c["name"]))
    return {
        "region": found[0],
        "councils": council_rows,
        **_area_summary(datasette, wards, facts),
        "map": {
            "points": _map_url(datasette, [("region_code", region_code), ("left_behind_change__notnull", "1")]),
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
    db = datasette.get_database(DATABASE)
    facts = await facts_of(datasette)
    left = await _rows(
        db,
        "select ward_code, ward_name, lad_code, lad_name, region_code, region_name, left_behind_change, cni_rank "
        "from wards where left_behind_change = 'left in 2020' order by ward_name",
    )
    counts = {
        row["left_behind_change"]: row["n"]
        for row in await _rows(db, "select left_behind_change, count(*) as n from wards group by left_behind_change")
    }
    return {
        "sets": facts["sets"],
        "both": counts.get("in both sets", 0),
        "joined": counts.get("joined in 2020", 0),
        "left": [_ward_link(datasette, row) for row in left],
        "ward_url_prefix": datasette.urls.table(DATABASE, "wards") + "/",
    }


# --- Find my ward --------------------------------------------------------------------


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
    councils = await _rows(
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
        for row in await _rows(
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
        wards = await _rows(db, WARD_LIST_SQL.format(where=f"{column} = :code"), {"code": council["code"]})
        council["counts"] = _set_counts(wards)
        council["wards"] = [_ward_link(datasette, w) for w in wards]
        council["flagged"] = [w for w in council["wards"] if w["status"] != "none"]
        council["others"] = sorted((w for w in council["wards"] if w["status"] == "none"), key=lambda w: w["name"])
    result["councils"] = councils

    region_where = "region_code = :q" if is_code else "region_name like :pattern escape '\\'"
    result["regions"] = [
        {**row, "url": datasette.urls.row(DATABASE, "regions", row["region_code"])}
        for row in await _rows(db, f"select region_code, region_name from regions where {region_where} order by region_name", params)
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
    wards = await _rows(
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
    link = _ward_link(datasette, row)
    if row.get("lad24_name") and row["lad24_name"] != row["lad_name"]:
        link["today"] = row["lad24_name"]
    if row.get("matched_2024"):
        link["matched_2024"] = row["matched_2024"]
    return link


async def _outline_index(datasette) -> list[tuple[str, tuple[float, float, float, float], list]]:
    """Every outline with its bounding box, parsed once, for "use my location"."""

    async def compute():
        db = datasette.get_database(DATABASE)
        index = []
        for row in await _rows(db, "select ward_code, geojson from ward_outlines"):
            try:
                polygons = polygons_of(json.loads(row["geojson"]))
            except (TypeError, ValueError):
                continue
            if polygons:
                index.append((row["ward_code"], bounding_box(polygons), polygons))
        return index

    return await _once(datasette, "outlines", compute)


async def nearest(datasette, latitude: float, longitude: float) -> dict[str, Any]:
    """The wards whose map points are nearest; a ward whose outline holds the point comes first."""
    db = datasette.get_database(DATABASE)
    schema = await schema_of(datasette)
    scale = math.cos(math.radians(latitude))
    rows = await _rows(
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
        for code, (west, south, east, north), polygons in await _outline_index(datasette):
            if west <= longitude <= east and south <= latitude <= north and geometry_contains(polygons, longitude, latitude):
                inside.append(code)
        missing = [code for code in inside if code not in {row["ward_code"] for row in rows}]
        if missing:
            rows += await _rows(
                db,
                "select ward_code, ward_name, lad_code, lad_name, region_code, region_name, left_behind_change, cni_rank,"
                " latitude, longitude from wards where ward_code in (select value from json_each(:codes))",
                {"codes": json.dumps(missing)},
            )
    results = []
    for row in rows:
        link = _ward_link(datasette, row)
        km = distance_km(latitude, longitude, row["latitude"], row["longitude"])
        link.update({"km": km, "distance": distance_words(km), "inside": row["ward_code"] in inside})
        results.append(link)
    results.sort(key=lambda w: (not w["inside"], w["km"]))
    return {"latitude": latitude, "longitude": longitude, "wards": results, "outlines": schema.outlines}


async def examples(datasette) -> dict[str, Any]:
    """A few searches to try: the ward most in need, and the council and region with most left-behind wards."""

    async def compute():
        db = datasette.get_database(DATABASE)
        ward = await _rows(db, "select ward_name from wards order by cni_rank limit 1")
        council = await _rows(
            db, "select lad_name from wards group by lad_code order by sum(left_behind_2020) desc, lad_name limit 1"
        )
        other = await _rows(
            db,
            "select ward_name from wards where left_behind_change is null and cni_rank > 3000"
            " and ward_name not like '%and%' order by ward_code limit 1",
        )
        return [row[key] for rows, key in ((ward, "ward_name"), (council, "lad_name"), (other, "ward_name")) for row in rows]

    return await _once(datasette, "examples", compute)


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


# --- Datasette hooks -----------------------------------------------------------------

ROW_PAGES = {
    "wards": ("ward_page", ward_page),
    "local_authorities": ("council_page", council_page),
    "local_authorities_2024": ("council_2024_page", council_2024_page),
    "regions": ("region_page", region_page),
}


@hookimpl
def extra_template_vars(template, database, table, view_name, request, datasette):
    if DATABASE not in datasette.databases:
        return {}
    if view_name == "row" and database == DATABASE and table in ROW_PAGES:
        name, build = ROW_PAGES[table]

        async def page(code: str):
            return await build(datasette, code)

        return {name: page}
    if view_name == "table" and database == DATABASE and table in ("left_behind_neighbourhoods", "wards"):

        async def legend():
            return await neighbourhoods_map(datasette)

        return {"neighbourhoods_map": legend}
    if template == "pages/find-my-ward.html" and request is not None:

        async def inner():
            return {"finder": await finder(datasette, request)}

        return inner
    return {}


async def suggestions_view(datasette, request):
    return Response.json(await suggestions(datasette, request.args.get("q")))


@hookimpl
def register_routes():
    return [(r"^/find-my-ward\.json$", suggestions_view)]
