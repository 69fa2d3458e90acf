"""Derive one row per English CNI ward from the already-read source tables.

Pure functions over ``SourceTable`` rows (``leftbehind.readers``): no file is read
here. A value the derivation cannot use raises a BuildError naming the file, the
line and the column.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from leftbehind.credibility import location_precision, rank_problems
from leftbehind.errors import BuildError
from leftbehind.readers import SourceTable
from leftbehind.sources import Source

# England, generously: the Scillies to Berwick, Land's End to Lowestoft.
ENGLAND_BOUNDS = {"min_lat": 49.8, "max_lat": 55.9, "min_lon": -6.5, "max_lon": 1.8}
# drkane/geo-lookups marks a broken point with this latitude (see SOURCES.md).
CORRUPT_LATITUDE = 50.0

LOCATION_LABEL_POINT = "ONS ward label point"
LOCATION_LSOA_CENTROIDS = "population-weighted mean of LSOA centroids"
# The precision of a point this build computes (to 6 decimals) rather than reads.
COMPUTED_POINT = "computed to ~0.1 m"

# The CNI file's columns, and what this project calls each of them.
CNI_COLUMNS = {
    "ward17_code": "ward_code",
    "ward17_name": "ward_name",
    "lad19_code": "lad_code",
    "lad19_name": "lad_name",
    "Community Needs Index score": "cni_score",
    "Community Needs Index rank": "cni_rank",
    "Civic Assets score": "civic_assets_score",
    "Civic Assets rank": "civic_assets_rank",
    "Connectedness score": "connectedness_score",
    "Connectedness rank": "connectedness_rank",
    "Engaged community score": "engaged_community_score",
    "Engaged community rank": "engaged_community_rank",
    "Left Behind Area?": "left_behind",
}


def population_by_lsoa(table: SourceTable) -> dict[str, float]:
    """Mid-2017 population of each LSOA (England and Wales)."""
    codes = [table.text(index, "lsoa11_code") for index in range(len(table.rows))]
    return dict(zip(codes, table.numbers("total_population")))


def _flag(table: SourceTable, index: int) -> int:
    value = table.rows[index]["Left Behind Area?"]
    if value not in ("TRUE", "FALSE"):
        raise table.problem(index, "Left Behind Area?", f"{value!r} is not TRUE or FALSE")
    return 1 if value == "TRUE" else 0


def cni_wards(cni2020: SourceTable, cni2019: SourceTable) -> dict[str, dict[str, Any]]:
    """The CNI scores and ranks (2020 file) with both left-behind flags."""
    wards: dict[str, dict[str, Any]] = {}
    figures = {
        name: cni2020.numbers(column, float if name.endswith("_score") else int)
        for column, name in CNI_COLUMNS.items()
        if name.endswith(("_score", "_rank"))
    }
    for index, row in enumerate(cni2020.rows):
        ward = {
            "ward_code": row["ward17_code"],
            "ward_name": row["ward17_name"],
            "lad_code": row["lad19_code"],
            "lad_name": row["lad19_name"],
        }
        for name, values in figures.items():
            ward[name] = values[index]
        ward["left_behind_2020"] = _flag(cni2020, index)
        if ward["ward_code"] in wards:
            raise cni2020.problem(index, "ward17_code", f"duplicate ward {ward['ward_code']}")
        wards[ward["ward_code"]] = ward
    check_competition_ranks(wards, cni2020)
    seen = set()
    for index, row in enumerate(cni2019.rows):
        code = row["ward17_code"]
        if code not in wards:
            raise cni2019.problem(index, "ward17_code", f"ward {code} is not in {cni2020.source.file}")
        wards[code]["left_behind_2019"] = _flag(cni2019, index)
        seen.add(code)
    if len(seen) != len(wards):
        missing = sorted(set(wards) - seen)[:5]
        raise BuildError(
            f"{cni2019.source.label} does not cover the same wards",
            [f"{cni2019.source.label}: lacks wards such as {', '.join(missing)}"],
        )
    return wards


def check_competition_ranks(wards: Mapping[str, Mapping[str, Any]], cni: SourceTable) -> None:
    """Each rank must be the standard competition rank of its score (1 = highest score = most need).

    Equal scores share the best rank and the next rank is skipped (5921, 5921, 5923):
    the two ties in the file are documented in the column descriptions.
    """
    problems = []
    for column, name in CNI_COLUMNS.items():
        if not name.endswith("_rank"):
            continue
        score = name.removesuffix("_rank") + "_score"
        scores = {code: ward[score] for code, ward in wards.items()}
        ranks = {code: ward[name] for code, ward in wards.items()}
        problems += [f"{cni.source.label}: column '{column}': {p}" for p in rank_problems(scores, ranks, label=name)]
    if problems:
        raise BuildError(f"{cni.source.label} has ranks that do not follow its scores", problems[:20])


def left_behind_change(in_2019: int, in_2020: int) -> str | None:
    """How a ward's membership changed between the 2019 and 2020 sets."""
    return {
        (1, 1): "in both sets",
        (0, 1): "joined in 2020",
        (1, 0): "left in 2020",
    }.get((in_2019, in_2020))


def regions_by_lad(lookup: SourceTable) -> dict[str, dict[str, str]]:
    return {
        row["LAD17CD"]: {
            "lad_name": row["LAD17NM"],
            "region_code": row["RGN17CD"],
            "region_name": row["RGN17NM"],
        }
        for row in lookup.rows
    }


def lsoas_by_ward(lookup: SourceTable) -> dict[str, list[str]]:
    wards: dict[str, list[str]] = {}
    for row in lookup.rows:
        wards.setdefault(row["WD17CD"], []).append(row["LSOA11CD"])
    return {code: sorted(lsoas) for code, lsoas in wards.items()}


def lsoa_points(centroids: SourceTable) -> dict[str, tuple[float, float]]:
    """(latitude, longitude) of each LSOA's population-weighted centroid."""
    codes = [row["lsoa11cd"] for row in centroids.rows]
    return dict(zip(codes, zip(centroids.numbers("Y"), centroids.numbers("X"))))


def ward_label_points(points: SourceTable) -> dict[str, tuple[float, float]]:
    codes = [row["wdcd"] for row in points.rows]
    return dict(zip(codes, zip(points.numbers("latitude"), points.numbers("longitude"))))


def label_point_texts(points: SourceTable) -> dict[str, tuple[str, str]]:
    """Each label point's (longitude, latitude) as the source writes them: their precision is in the text."""
    return {row["wdcd"]: (row["longitude"], row["latitude"]) for row in points.rows}


def imd_by_lsoa(imd: SourceTable) -> dict[str, int]:
    """The IMD 2019 decile of each English LSOA; 1 = the most deprived 10%."""
    codes = [row["lsoa_code"] for row in imd.rows]
    return dict(zip(codes, imd.numbers("IMD_decile", int)))


def in_england(latitude: float, longitude: float) -> bool:
    b = ENGLAND_BOUNDS
    return b["min_lat"] <= latitude <= b["max_lat"] and b["min_lon"] <= longitude <= b["max_lon"]


def is_usable_label_point(point: tuple[float, float] | None) -> bool:
    return point is not None and point[0] != CORRUPT_LATITUDE and in_england(*point)


def weighted_point(
    lsoas: list[str], points: dict[str, tuple[float, float]], population: dict[str, float]
) -> tuple[float, float] | None:
    """Population-weighted mean of the LSOAs' centroids, or None without LSOAs."""
    weights = [(points[code], population[code]) for code in lsoas]
    total = sum(weight for _, weight in weights)
    if not weights or total <= 0:
        return None
    latitude = sum(point[0] * weight for point, weight in weights) / total
    longitude = sum(point[1] * weight for point, weight in weights) / total
    return round(latitude, 6), round(longitude, 6)


def imd_context(
    lsoas: list[str], imd: dict[str, int], population: dict[str, float]
) -> dict[str, Any]:
    """The share of the ward's population in England's most deprived 10% of LSOAs."""
    if not lsoas:
        return {"lsoa_count": None, "lsoas_in_imd_decile_1": None, "population_share_in_imd_decile_1_lsoas": None}
    total = sum(map(population.__getitem__, lsoas))
    in_decile_1 = [code for code in lsoas if imd[code] == 1]
    share = sum(map(population.__getitem__, in_decile_1)) / total if total else None
    return {
        "lsoa_count": len(lsoas),
        "lsoas_in_imd_decile_1": len(in_decile_1),
        "population_share_in_imd_decile_1_lsoas": round(share, 4) if share is not None else None,
    }


def check_codes_against_lookup(wards: dict[str, dict[str, Any]], lookup: SourceTable, cni: Source) -> None:
    """Every CNI ward must be a December 2017 ward of the LAD the CNI gives it."""
    lad_of_ward = {row["WD17CD"]: row["LAD17CD"] for row in lookup.rows}
    problems = [
        f"{cni.label}: ward {code}: LAD {ward['lad_code']} but {lookup.source.file} "
        f"gives {lad_of_ward.get(code, 'no such ward')}"
        for code, ward in sorted(wards.items())
        if lad_of_ward.get(code) != ward["lad_code"]
    ]
    if problems:
        raise BuildError(f"{cni.label} disagrees with {lookup.source.label}", problems[:20])


def check_lsoas_known(
    wards: dict[str, dict[str, Any]], ward_lsoas: dict[str, list[str]], lookups: dict[str, dict[str, Any]]
) -> None:
    """Every LSOA of a CNI ward must have a centroid, an IMD decile and a population."""
    problems = []
    needed = {lsoa for code in wards for lsoa in ward_lsoas.get(code, [])}
    for label, values in lookups.items():
        missing = sorted(needed.difference(values))
        if missing:
            problems.append(f"{label}: lacks {len(missing)} LSOAs of CNI wards, such as {', '.join(missing[:5])}")
    if problems:
        raise BuildError("the LSOA sources do not cover every ward", problems)


def ward_rows(
    tables: Mapping[str, SourceTable],
    population: Mapping[str, float] | None = None,
    ward_lsoas: Mapping[str, list[str]] | None = None,
) -> list[dict[str, Any]]:
    """One row per CNI ward, sorted by ward code.

    ``population`` and ``ward_lsoas`` are computed from the tables when not given; the
    build passes its own, which today's geography uses too.
    """
    population = population if population is not None else population_by_lsoa(tables["population"])
    ward_lsoas = ward_lsoas if ward_lsoas is not None else lsoas_by_ward(tables["lsoa_ward_lookup"])
    wards = cni_wards(tables["cni2020"], tables["cni2019"])
    check_codes_against_lookup(wards, tables["ward_lad_lookup"], tables["cni2020"].source)
    regions = regions_by_lad(tables["lad_region_lookup"])
    centroids = lsoa_points(tables["lsoa_centroids"])
    label_points = ward_label_points(tables["ward_points"])
    point_texts = label_point_texts(tables["ward_points"])
    imd = imd_by_lsoa(tables["imd_lsoa"])

    check_lsoas_known(wards, ward_lsoas, {
        tables["lsoa_centroids"].source.label: centroids,
        tables["imd_lsoa"].source.label: imd,
        tables["population"].source.label: population,
    })

    rows = []
    for code in sorted(wards):
        ward = wards[code]
        region = regions.get(ward["lad_code"])
        if region is None:
            raise BuildError(
                "a ward's local authority has no region",
                [f"{tables['cni2020'].source.label}: ward {code}: LAD {ward['lad_code']} "
                 f"is not in {tables['lad_region_lookup'].source.file}"],
            )
        lsoas = ward_lsoas.get(code, [])
        label_point = label_points.get(code)
        if is_usable_label_point(label_point):
            point, method, point_source = label_point, LOCATION_LABEL_POINT, "ward_points"
            point_precision = location_precision(*point_texts[code])
        else:
            point = weighted_point(lsoas, centroids, population)
            method, point_source = LOCATION_LSOA_CENTROIDS, "lsoa_centroids"
            point_precision = COMPUTED_POINT
        if point is None or not in_england(*point):
            raise BuildError(
                "a ward has no usable map point",
                [f"{tables['ward_points'].source.label}: ward {code}: no valid point, and no LSOA in "
                 f"{tables['lsoa_ward_lookup'].source.file} to derive one from"],
            )
        rows.append(
            {
                "ward_code": code,
                "ward_name": ward["ward_name"],
                "lad_code": ward["lad_code"],
                "lad_name": ward["lad_name"],
                "region_code": region["region_code"],
                "region_name": region["region_name"],
                "left_behind_2020": ward["left_behind_2020"],
                "left_behind_2019": ward["left_behind_2019"],
                "left_behind_change": left_behind_change(ward["left_behind_2019"], ward["left_behind_2020"]),
                "cni_rank": ward["cni_rank"],
                "cni_score": ward["cni_score"],
                "civic_assets_rank": ward["civic_assets_rank"],
                "civic_assets_score": ward["civic_assets_score"],
                "connectedness_rank": ward["connectedness_rank"],
                "connectedness_score": ward["connectedness_score"],
                "engaged_community_rank": ward["engaged_community_rank"],
                "engaged_community_score": ward["engaged_community_score"],
                "population": round(sum(map(population.__getitem__, lsoas))) if lsoas else None,
                **imd_context(lsoas, imd, population),
                "latitude": point[0],
                "longitude": point[1],
                "location_method": method,
                "location_precision": point_precision,
                "location_source": point_source,
            }
        )
    return rows


def local_authority_rows(ward_rows_: list[dict[str, Any]]) -> list[dict[str, Any]]:
    authorities = {
        row["lad_code"]: {"lad_code": row["lad_code"], "lad_name": row["lad_name"], "region_code": row["region_code"]}
        for row in ward_rows_
    }
    return [authorities[code] for code in sorted(authorities)]


def region_rows(ward_rows_: list[dict[str, Any]]) -> list[dict[str, Any]]:
    regions = {row["region_code"]: row["region_name"] for row in ward_rows_}
    return [{"region_code": code, "region_name": regions[code]} for code in sorted(regions)]
