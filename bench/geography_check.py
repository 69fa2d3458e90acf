"""Issue 13 figures: today's geography, outlines, and how far to trust points and ranks.

Reads the real source files from LEFTBEHIND_SOURCES_DIR (fails loudly without it),
runs the pure functions of leftbehind.geography, leftbehind.outlines and
leftbehind.credibility on them, and prints the figures with the milliseconds each
part takes. It also recomputes the two 'done when' answers (Cumberland today;
Talavera's 2024 wards) a second, independent way with pandas joins, the way a
test could, and says whether the two agree.

Nothing is written to disk. Run: .venv/bin/python bench/geography_check.py
"""

from __future__ import annotations

import csv
import os
import sqlite3
import sys
import tempfile
import time
import warnings
from collections import Counter
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import rdata  # noqa: E402

from leftbehind import credibility, geography, outlines  # noqa: E402
from leftbehind.wards import weighted_point  # noqa: E402

FILES = {
    "cni2020": "cni2019_wards_2020_interim_set.csv",
    "cni2019": "cni2019_wards_2019_original_set.csv",
    "ward_points": "ward_centroids_latlong_drkane_geo_lookups.csv",
    "lsoa_centroids": "ons_lsoa11_population_weighted_centroids_dec2011.csv",
    "lsoa_ward_lookup": "ons_lsoa11_to_wd17_lad17_lookup_ew.csv",
    "lad_region_lookup": "ons_lad17_to_rgn17_lookup_england.csv",
    "imd_lsoa": "imd2019_england_lsoa11_ranks_deciles_humaniverse.csv",
    "imd_ward19": "imd2019_england_ward19_humaniverse.csv",
    "population": "population17_lsoa11_demographr.rda",
    "lsoa11_lsoa21": "lookup_lsoa11_lsoa21_ltla22_geographr.rda",
    "lsoa21_ward24": "lookup_lsoa21_ward24_ltla24_geographr.rda",
    "ltla24_region": "lookup_ltla24_region24_geographr.rda",
    "council_outlines": "boundaries_ltla24_geographr.rda",
    "lba_2020": "boundaries_lba_2020_set_brc.rda",
    "lba_2019": "boundaries_lba_2019_set_brc.rda",
}
TIMINGS: dict[str, float] = {}


def sources_dir() -> Path:
    value = os.environ.get("LEFTBEHIND_SOURCES_DIR")
    if not value or not Path(value).is_dir():
        sys.exit("geography_check: set LEFTBEHIND_SOURCES_DIR to the directory of the source files")
    return Path(value)


@contextmanager
def timed(name: str) -> Iterator[None]:
    start = time.perf_counter()
    yield
    TIMINGS[name] = (time.perf_counter() - start) * 1000


def _keep(obj: Any, attrs: Any) -> Any:
    """Keep an sf object (geometry list, crs, bbox) as the plain value rdata parsed."""
    return obj


def rda_constructors() -> dict[str, Callable[..., Any]]:
    """As leftbehind/wards.py: tibbles (and sf tables) are data frames, so no warnings.

    The sf geometry classes are kept as the nested lists rdata builds: polygon ->
    ring -> numpy array of (longitude, latitude).
    """
    constructors = dict(rdata.conversion.DEFAULT_CLASS_MAP)
    for name in ("tbl_df", "tbl", "sf"):
        constructors[name] = constructors["data.frame"]
    for name in ("sfc_MULTIPOLYGON", "sfc", "MULTIPOLYGON", "XY", "sfg", "crs", "bbox"):
        constructors[name] = _keep
    return constructors


def read_rda(path: Path) -> Any:
    """The one object of an .rda file; parsing and converting are timed apart."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with timed(f"read {path.name}: rdata parse"):
            parsed = rdata.parser.parse_file(path)
        with timed(f"read {path.name}: rdata convert"):
            objects = rdata.conversion.convert(parsed, rda_constructors())
    (frame,) = objects.values()
    return frame


def frame_rows(frame: Any) -> list[dict[str, Any]]:
    """A data frame as a list of dicts, as the lead's reader will return it."""
    columns = list(frame.columns)
    return [dict(zip(columns, values)) for values in zip(*(frame[column].tolist() for column in columns))]


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return list(csv.DictReader(handle))


def read_all(directory: Path) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for key, name in FILES.items():
        if name.endswith(".csv"):
            with timed(f"read {name}"):
                data[key] = read_csv(directory / name)
        else:
            frame = read_rda(directory / name)
            data[key + "_frame"] = frame
            with timed(f"read {name}: data frame to rows"):
                data[key] = frame_rows(frame)
    return data


def ward_inputs(data: dict[str, Any]) -> dict[str, Any]:
    """The plain inputs the build already derives: wards, their LSOAs, population, points."""
    cni2019 = {row["ward17_code"]: row["Left Behind Area?"] == "TRUE" for row in data["cni2019"]}
    wards = [
        {
            "ward_code": row["ward17_code"],
            "ward_name": row["ward17_name"],
            "lad_code": row["lad19_code"],
            "lad_name": row["lad19_name"],
            "left_behind_2020": int(row["Left Behind Area?"] == "TRUE"),
            "left_behind_2019": int(cni2019[row["ward17_code"]]),
        }
        for row in data["cni2020"]
    ]
    ward_lsoas: dict[str, list[str]] = {}
    for row in data["lsoa_ward_lookup"]:
        ward_lsoas.setdefault(row["WD17CD"], []).append(row["LSOA11CD"])
    return {
        "wards": wards,
        "by_code": {ward["ward_code"]: ward for ward in wards},
        "ward_lsoas": {code: sorted(lsoas) for code, lsoas in ward_lsoas.items()},
        "population": {row["lsoa11_code"]: float(row["total_population"]) for row in data["population"]},
        "region17": {row["LAD17CD"]: row["RGN17CD"] for row in data["lad_region_lookup"]},
        "label_text": {row["wdcd"]: (row["longitude"], row["latitude"]) for row in data["ward_points"]},
        "lsoa_points": {row["lsoa11cd"]: (float(row["Y"]), float(row["X"])) for row in data["lsoa_centroids"]},
        "imd_decile": {row["lsoa_code"]: int(row["IMD_decile"]) for row in data["imd_lsoa"]},
        "imd_rank": {row["lsoa_code"]: int(row["IMD_rank"]) for row in data["imd_lsoa"]},
    }


def label_point(text: tuple[str, str]) -> tuple[float, float]:
    """(longitude, latitude) from drkane's text."""
    return float(text[0]), float(text[1])


SQL_TYPES = {str: "text", int: "integer", float: "real"}


def column_type(rows: list[dict[str, Any]], column: str) -> str:
    """The SQLite type sqlite-utils would declare for a column (its first non-null value's)."""
    value = next((row[column] for row in rows if row[column] is not None), "")
    return SQL_TYPES[type(value)]


def sqlite_growth_bytes(table: str, rows: list[dict[str, Any]]) -> int:
    """Bytes a table adds to an SQLite file (after VACUUM), typed columns as sqlite-utils declares them."""
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "growth.db"
        connection = sqlite3.connect(path)
        connection.execute("create table anchor (x)")
        connection.commit()
        connection.execute("vacuum")
        before = path.stat().st_size
        columns = list(rows[0])
        connection.execute(f"create table {table} ({', '.join(f'{c} {column_type(rows, c)}' for c in columns)})")
        connection.executemany(
            f"insert into {table} values ({', '.join('?' for _ in columns)})",
            [tuple(row[column] for column in columns) for row in rows],
        )
        connection.commit()
        connection.execute("vacuum")
        after = path.stat().st_size
        connection.close()
    return after - before


def section(title: str) -> None:
    print(f"\n== {title}")


def report_geography(data: dict[str, Any], inputs: dict[str, Any]) -> dict[str, Any]:
    section("today's geography (files 11-13)")
    with timed("geography: lookups (parts, wards24, councils)"):
        parts = geography.lsoa21_parts(data["lsoa11_lsoa21"])
        wards24 = geography.wards24_by_lsoa21(data["lsoa21_ward24"])
        councils = geography.councils24(data["ltla24_region"])
    with timed("geography: every ward's 2024 geography"):
        geographies = geography.ward_geographies(
            inputs["by_code"], inputs["ward_lsoas"], inputs["population"], parts, wards24
        )
    with timed("geography: fallback council for wards without LSOAs"):
        fallback = geography.lad24_without_lsoas(inputs["wards"], geographies)
    with timed("geography: rows (ward columns, links, councils)"):
        columns = {
            code: geography.ward_columns_2024(value, councils, fallback.get(code))
            for code, value in geographies.items()
        }
        links = geography.ward_link_rows(geographies)
        authorities = geography.local_authority_2024_rows(inputs["wards"], geographies, councils, fallback)
    by_code = inputs["by_code"]
    flagged_2020 = [code for code, ward in by_code.items() if ward["left_behind_2020"]]
    print(f"wards: {len(geographies)}; with a 2024 geography: {sum(g is not None for g in geographies.values())}; "
          f"ward_links_2024 rows: {len(links)}; local_authorities_2024 rows: {len(authorities)}")
    council_names_2024 = {council.name for council in councils.values()}
    gone = [code for code in flagged_2020 if by_code[code]["lad_name"] not in council_names_2024]
    moved = [code for code in flagged_2020 if columns[code]["lad24_name"] != by_code[code]["lad_name"]]
    print(f"2020-set wards whose 2017 council no longer exists under that name: {len(gone)} "
          f"(whose 2024 council, by most people, has another name: {len(moved)})")
    for code in moved:
        ward = by_code[code]
        print(f"  {code} {ward['ward_name']}: {ward['lad_name']} -> {columns[code]['lad24_name']} "
              f"(share {columns[code]['lad24_population_share']})")
    overlapping = [code for code in flagged_2020 if columns[code]["wards24_count"] >= 2]
    print(f"2020-set wards overlapping two or more 2024 wards: {len(overlapping)} of {len(flagged_2020)}; "
          f"counts {sorted(Counter(columns[code]['wards24_count'] for code in flagged_2020).items())}")
    partial = [code for code, c in columns.items() if c["lad24_population_share"] not in (None, 1.0)]
    print(f"wards (all CNI) with people in two 2024 councils: {len(partial)}")
    for code in partial:
        value = geographies[code]
        print(f"  {code} {by_code[code]['ward_name']} ({by_code[code]['lad_name']}): "
              + "; ".join(f"{link.ward24.name} [{councils[link.ward24.lad24_code].name}] {link.share_units / 100:.2f}%"
                          for link in value.links))
    region_changed = [
        code for code, c in columns.items()
        if c["lad24_code"] and councils[c["lad24_code"]].region_code != inputs["region17"][by_code[code]["lad_code"]]
    ]
    print(f"wards whose 2024 council is in another region than their 2017 council: {len(region_changed)} "
          f"{[(code, by_code[code]['ward_name']) for code in region_changed]}; "
          f"of the 230 flagged: {sum(1 for code in region_changed if by_code[code]['left_behind_2020'] or by_code[code]['left_behind_2019'])}")
    code_name = Counter(
        (by_code[code]["lad_code"] == c["lad24_code"], by_code[code]["lad_name"] == c["lad24_name"])
        for code, c in columns.items() if c["lad24_code"]
    )
    print(f"all wards with a 2024 council, (same code, same name) -> count: {dict(sorted(code_name.items()))}")

    cumberland = sorted(
        (by_code[code]["ward_name"], by_code[code]["lad_name"], code, columns[code]["lad24_population_share"])
        for code in flagged_2020 if columns[code]["lad24_name"] == "Cumberland"
    )
    print(f"Q1 which left-behind neighbourhoods (2020 set) are in Cumberland today? {cumberland}")
    (talavera,) = [code for code, ward in by_code.items() if ward["ward_name"] == "Talavera" and ward["lad_name"] == "Northampton"]
    talavera_links = [row for row in links if row["ward_code"] == talavera]
    print(f"Q2 which 2024 wards does Talavera ({talavera}, Northampton, 2017) overlap? "
          + "; ".join(f"{row['ward24_name']} ({row['ward24_code']}, {councils[row['lad24_code']].name}): "
                      f"{row['population']} people, share {row['population_share']}" for row in talavera_links))

    split_wards = Counter()
    for lsoa11, targets in parts.items():
        if lsoa11.startswith("E") and len({wards24[lsoa21].code for lsoa21 in targets}) > 1:
            split_wards[lsoa11] = len(targets)
    flagged_people = sum(inputs["population"][lsoa] for code in flagged_2020 for lsoa in inputs["ward_lsoas"][code])
    split_people = sum(
        inputs["population"][lsoa] for code in flagged_2020 for lsoa in inputs["ward_lsoas"][code] if lsoa in split_wards
    )
    english_splits = sum(1 for lsoa11, targets in parts.items() if lsoa11.startswith("E") and len(targets) > 1)
    print(f"English LSOA11s shared among several LSOA21s (S or X): {english_splits}; whose parts lie in more than one "
          f"2024 ward (where equal shares matter): {len(split_wards)}; people of the 2020 set in those: "
          f"{split_people:.0f} of {flagged_people:.0f} ({100 * split_people / flagged_people:.2f}%)")

    section("the 12 wards with no best-fit LSOA")
    council_shapes = outlines.english_outlines(data["council_outlines"], "ltla24_code")
    with timed("geography: point-in-council check of the 12"):
        for code, value in geographies.items():
            if value is not None:
                continue
            longitude, latitude = label_point(inputs["label_text"][code])
            at_point = outlines.council_at_point(council_shapes, (longitude, latitude))
            by_succession = fallback.get(code)
            print(f"  {code} {by_code[code]['ward_name']} ({by_code[code]['lad_name']}): successor of its 2017 council: "
                  f"{councils[by_succession].name if by_succession else None}; label point in council outline: "
                  f"{councils[at_point[0]].name} ({at_point[1]} m outside); agree: {by_succession == at_point[0]}")
    print(f"wards given a council by succession: {len(fallback)}")

    section("local_authorities_2024")
    print(f"rows: {len(authorities)}; with CNI wards: {sum(1 for row in authorities if row['wards_2017_count'])}; "
          f"name new since 2017: {[row['lad24_name'] for row in authorities if row['name_new_since_2017']]}")
    print(f"sum of wards_2017_count: {sum(row['wards_2017_count'] for row in authorities)}; "
          f"left_behind_2020_count: {sum(row['left_behind_2020_count'] for row in authorities)}; "
          f"left_behind_2019_count: {sum(row['left_behind_2019_count'] for row in authorities)}; "
          f"left_behind_2020_population: {sum(row['left_behind_2020_population'] for row in authorities)}")
    lad17_today = geography.local_authority_2017_columns(inputs["wards"], geographies, councils)
    lad17_names = {ward["lad_code"]: ward["lad_name"] for ward in inputs["wards"]}
    gone_2017 = sorted(f"{lad17_names[code]} -> {value['lad24_name']}" for code, value in lad17_today.items() if not value["name_in_use_2024"])
    print(f"2017 councils (of {len(lad17_today)}) whose name no 2024 council has: {len(gone_2017)}: {'; '.join(gone_2017)}")
    for row in authorities:
        if row["lad24_name"] in ("Cumberland", "West Northamptonshire", "Folkestone and Hythe", "City of London"):
            print(f"  {row}")
    flagged_any = {code for code, ward in by_code.items() if ward["left_behind_2020"] or ward["left_behind_2019"]}
    ward_columns = [{"ward_code": code, **value} for code, value in columns.items()]
    new_columns = sqlite_growth_bytes("wards", ward_columns) - sqlite_growth_bytes(
        "wards", [{"ward_code": code} for code in columns]
    )
    print(f"database growth (SQLite, after VACUUM, no indexes): ward_links_2024 {sqlite_growth_bytes('ward_links_2024', links)} B "
          f"(only the 230 flagged wards: {sqlite_growth_bytes('ward_links_2024', [r for r in links if r['ward_code'] in flagged_any])} B); "
          f"local_authorities_2024 {sqlite_growth_bytes('local_authorities_2024', authorities)} B; "
          f"4 new wards columns: {new_columns} B")
    return {"parts": parts, "wards24": wards24, "councils": councils, "geographies": geographies,
            "columns": columns, "links": links, "cumberland": cumberland, "talavera": (talavera, talavera_links)}


def independent_answers(data: dict[str, Any], inputs: dict[str, Any]) -> tuple[list[str], dict[str, float]]:
    """The two 'done when' answers again, by pandas joins over the source frames.

    This is the route a test can take: no code shared with leftbehind.geography.
    A split LSOA 2011's people are divided by its number of LSOA 2021 rows.
    """
    import pandas as pd

    lookup = pd.read_csv(sources_dir() / FILES["lsoa_ward_lookup"], usecols=["LSOA11CD", "WD17CD"])
    cni = pd.read_csv(sources_dir() / FILES["cni2020"], usecols=["ward17_code", "ward17_name", "lad19_name", "Left Behind Area?"])
    population = data["population_frame"][["lsoa11_code", "total_population"]]
    to21 = data["lsoa11_lsoa21_frame"][["lsoa11_code", "lsoa21_code"]]
    to24 = data["lsoa21_ward24_frame"][["lsoa21_code", "ward24_code", "ward24_name", "ltla24_name"]]
    people = (
        lookup.rename(columns={"LSOA11CD": "lsoa11_code", "WD17CD": "ward17_code"})
        .merge(population, on="lsoa11_code")
        .merge(to21, on="lsoa11_code")
    )
    people["people"] = people["total_population"] / people.groupby("lsoa11_code")["lsoa21_code"].transform("count")
    people = people.merge(to24, on="lsoa21_code")
    flagged = cni[cni["Left Behind Area?"]]
    by_council = (
        people[people["ward17_code"].isin(flagged["ward17_code"])]
        .groupby(["ward17_code", "ltla24_name"], as_index=False)["people"].sum()
        .sort_values(["ward17_code", "people"], ascending=[True, False])
        .drop_duplicates("ward17_code")
    )
    cumberland = sorted(by_council.loc[by_council["ltla24_name"] == "Cumberland", "ward17_code"])
    talavera_code = cni.loc[(cni["ward17_name"] == "Talavera") & (cni["lad19_name"] == "Northampton"), "ward17_code"].item()
    talavera = people[people["ward17_code"] == talavera_code].groupby("ward24_code")["people"].sum()
    return cumberland, (talavera / talavera.sum()).to_dict()


def report_independent(data: dict[str, Any], inputs: dict[str, Any], result: dict[str, Any]) -> None:
    section("the two answers, recomputed independently (pandas joins over the source frames)")
    with timed("independent pandas check"):
        cumberland, talavera_shares = independent_answers(data, inputs)
    ours_cumberland = sorted(code for _, _, code, _ in result["cumberland"])
    print(f"Cumberland: independent {cumberland}; ours {ours_cumberland}; agree: {cumberland == ours_cumberland}")
    talavera_code, talavera_links = result["talavera"]
    ours = {row["ward24_code"]: row["population_share"] for row in talavera_links}
    agree = set(ours) == set(talavera_shares) and all(abs(ours[k] - talavera_shares[k]) <= 0.00005 for k in ours)
    print(f"Talavera: independent { {k: round(v, 6) for k, v in sorted(talavera_shares.items())} }; ours {dict(sorted(ours.items()))}; "
          f"agree to 4 decimals: {agree}")


def report_outlines(data: dict[str, Any], inputs: dict[str, Any]) -> None:
    section("outlines (files 14-16)")
    by_code = inputs["by_code"]
    flagged = {code for code, ward in by_code.items() if ward["left_behind_2020"] or ward["left_behind_2019"]}
    # Every flagged ward's map point is its drkane label point (all 230 are valid; see SOURCES.md).
    points = {code: label_point(inputs["label_text"][code]) for code in flagged}
    with timed("outlines: wards, sources and coverage"):
        sources = outlines.ward_outline_sources(data["lba_2020"], data["lba_2019"])
        outlines.check_outline_coverage(sources, flagged)
    with timed("outlines: wards, rounded GeoJSON + containment (5 decimals)"):
        rows = outlines.ward_outline_rows(sources, points)
    print(f"outlines: {len(rows)} (from {outlines.SOURCE_2020}: {sum(r['source_id'] == outlines.SOURCE_2020 for r in rows)}, "
          f"from {outlines.SOURCE_2019}: {sum(r['source_id'] == outlines.SOURCE_2019 for r in rows)}); flagged wards: {len(flagged)}")
    both_2020 = outlines.english_outlines(data["lba_2020"], "lba_code")
    both_2019 = outlines.english_outlines(data["lba_2019"], "lba_code")
    common = set(both_2020) & set(both_2019)
    print(f"wards in both outline files: {len(common)}; identical geometry: {sum(both_2020[c] == both_2019[c] for c in common)}")
    names = {row["lba_code"]: row["lba_name"] for row in data["lba_2019"] + data["lba_2020"]}
    print(f"outline names differing from the CNI ward name: {sum(names[c] != by_code[c]['ward_name'] for c in sources)}")
    shapes = [shape for _, shape in sources.values()]
    print(f"source points: {sum(len(ring) for shape in shapes for polygon in shape for ring in polygon)}; polygons: "
          f"{sum(len(shape) for shape in shapes)}; holes: {sum(len(polygon) - 1 for shape in shapes for polygon in shape)}; "
          f"wards with more than one polygon: {sum(len(shape) > 1 for shape in shapes)}")
    inside = sum(row["point_inside"] for row in rows)
    print(f"map point inside its outline: {inside} of {len(rows)}; largest distance outside: {max(row['distance_m'] for row in rows)} m")
    margins = sorted(outlines.distance_to_edge_m(outlines.rounded_multipolygon(sources[row['ward_code']][1]), points[row['ward_code']])
                     for row in rows)
    print(f"distance from point to its outline's edge (inside points): min {margins[0]:.0f} m, median {margins[len(margins) // 2]:.0f} m")
    for decimals in (4, 5, 6):
        sized = outlines.ward_outline_rows(sources, points, decimals)
        print(f"  {decimals} decimals: GeoJSON text {sum(len(r['geojson']) for r in sized)} B; SQLite growth "
              f"{sqlite_growth_bytes('ward_outlines', sized)} B; inside {sum(r['point_inside'] for r in sized)}")
    councils = [row["ltla24_code"] for row in data["ltla24_region"]]
    with timed("outlines: councils, rounded GeoJSON (5 decimals)"):
        council_rows = outlines.council_outline_rows(data["council_outlines"], councils)
    council_shapes = outlines.english_outlines(data["council_outlines"], "ltla24_code")
    print(f"council outlines: {len(council_rows)} English of {len(data['council_outlines'])} UK; points "
          f"{sum(len(ring) for shape in council_shapes.values() for polygon in shape for ring in polygon)}")
    for decimals in (3, 4, 5):
        sized = outlines.council_outline_rows(data["council_outlines"], councils, decimals)
        print(f"  {decimals} decimals: GeoJSON text {sum(len(r['geojson']) for r in sized)} B; SQLite growth "
              f"{sqlite_growth_bytes('council_outlines_2024', sized)} B")


def report_credibility(data: dict[str, Any], inputs: dict[str, Any]) -> None:
    section("location precision (drkane coordinates, read as text)")
    by_code = inputs["by_code"]
    usable = {
        code: text for code, text in inputs["label_text"].items()
        if code in by_code and float(text[1]) != 50.0
    }
    with timed("credibility: location precision of 7,415 points"):
        labels = Counter(credibility.location_precision(*text) for text in usable.values())
        low = sorted(code for code, text in usable.items() if credibility.is_low_precision(*text))
    print(f"labels over the {len(usable)} CNI wards with a usable label point: {dict(labels.most_common())}")
    print(f"points from coordinates with 2 decimals or fewer: {len(low)}; of them flagged wards: "
          f"{sum(1 for code in low if by_code[code]['left_behind_2020'] or by_code[code]['left_behind_2019'])}")
    for code in low:
        longitude, latitude = usable[code]
        derived = weighted_point(inputs["ward_lsoas"].get(code, []), inputs["lsoa_points"], inputs["population"])
        gap = credibility.distance_m((float(latitude), float(longitude)), derived) if derived else None
        print(f"  {code} {by_code[code]['ward_name']} ({by_code[code]['lad_name']}): text ({longitude}, {latitude}); "
              f"{credibility.location_precision(longitude, latitude)}; rounding can move it up to "
              f"{credibility.rounding_error_m(longitude, latitude):.0f} m; LSOA-derived point {gap:.0f} m away; no outline (not flagged)")

    section("rank ties (standard competition ranking, highest score = rank 1)")
    with timed("credibility: ranks checked, 4 measures x 2 files"):
        for file_key in ("cni2020", "cni2019"):
            for measure in ("Community Needs Index", "Civic Assets", "Connectedness", "Engaged community"):
                scores = {row["ward17_code"]: float(row[f"{measure} score"]) for row in data[file_key]}
                ranks = {row["ward17_code"]: int(row[f"{measure} rank"]) for row in data[file_key]}
                problems = credibility.rank_problems(scores, ranks)
                ties = {
                    rank: [f"{code} {by_code[code]['ward_name']} ({by_code[code]['lad_name']}) score {scores[code]!r}" for code in codes]
                    for rank, codes in credibility.tied_ranks(ranks).items()
                }
                print(f"  {file_key} {measure}: ranks not standard competition ranks: {len(problems)}; ties: {ties or 'none'}")

    section("the IMD share column: 2020-set wards with no LSOA in IMD decile 1")
    flagged_2020 = [code for code, ward in by_code.items() if ward["left_behind_2020"]]
    flagged_2019 = [code for code, ward in by_code.items() if ward["left_behind_2019"]]
    with timed("credibility: IMD share zero cases"):
        zero = credibility.wards_with_no_decile1_lsoa(flagged_2020, inputs["ward_lsoas"], inputs["imd_decile"])
    ward19 = {row["ward_code"]: float(row["Score"]) for row in data["imd_ward19"]}
    ward19_ranks = credibility.competition_ranks(ward19)
    decile1_cut = max(rank for lsoa, rank in inputs["imd_rank"].items() if inputs["imd_decile"][lsoa] == 1)
    print(f"2020 set: {len(zero)} of {len(flagged_2020)} score 0; 2019 set: "
          f"{len(credibility.wards_with_no_decile1_lsoa(flagged_2019, inputs['ward_lsoas'], inputs['imd_decile']))} of {len(flagged_2019)}. "
          f"LSOA decile 1 = IMD rank 1..{decile1_cut} of {len(inputs['imd_rank'])}; ward file (WD19): {len(ward19)} wards, "
          f"10% = rank {len(ward19) // 10}")
    for code, counts in zero.items():
        lsoa_ranks = sorted(inputs["imd_rank"][lsoa] for lsoa in inputs["ward_lsoas"][code])
        rank19 = ward19_ranks.get(code)
        print(f"  {code} {by_code[code]['ward_name']} ({by_code[code]['lad_name']}): LSOAs by decile {counts}, "
              f"best LSOA rank {lsoa_ranks[0]}; ward IMD score rank (WD19 file) "
              f"{f'{rank19} of {len(ward19)}' if rank19 else 'code not in the WD19 file'}")
    flagged_in_19 = [code for code in flagged_2020 if code in ward19_ranks]
    print(f"2020-set wards in the WD19 file: {len(flagged_in_19)}; of them ranked in the top 10% of its wards: "
          f"{sum(ward19_ranks[code] <= len(ward19) // 10 for code in flagged_in_19)}")


def main() -> None:
    directory = sources_dir()
    data = read_all(directory)
    inputs = ward_inputs(data)
    result = report_geography(data, inputs)
    report_independent(data, inputs, result)
    report_outlines(data, inputs)
    report_credibility(data, inputs)
    section("milliseconds")
    for name, ms in TIMINGS.items():
        print(f"  {ms:9.1f}  {name}")
    reads = sum(ms for name, ms in TIMINGS.items() if name.startswith("read "))
    new_files = [FILES[key] for key in ("lsoa11_lsoa21", "lsoa21_ward24", "ltla24_region", "council_outlines", "lba_2020", "lba_2019")]
    new_reads = sum(ms for name, ms in TIMINGS.items() if any(name.startswith(f"read {file}") for file in new_files))
    computed = sum(ms for name, ms in TIMINGS.items() if name.split(":")[0] in ("geography", "outlines"))
    print(f"reading all {len(FILES)} files: {reads:.0f} ms, of which files 11-16: {new_reads:.0f} ms; "
          f"geography and outline computations: {computed:.0f} ms; load average now: "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
