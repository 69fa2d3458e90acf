"""Every English postcode placed in its December 2017 ward, computed at build time.

A postcode's place is its ONS grid reference (source ``postcodes``, BNG metres). Its ward
is the one whose outline (``leftbehind.ward_geometry``) holds that point:

* an exact outline first (if generalisation makes two exact outlines overlap there, the
  one the point lies deeper inside);
* else an approximate one (the land of the ward's best-fit LSOAs, see
  ``leftbehind.ward_geometry``);
* else, for a point in no outline (a gap between generalised outlines, or the shore), the
  nearest outline: only the approximate ones when the point lies on changed land.

Outlines are generalised, so every other ward whose outline lies within ``NEAR_M`` of
the point is listed in ``also_possible``, nearest first. An answer from an approximate
outline is rougher: its LSOAs are heavily generalised, and a best-fit LSOA can straddle
two wards, so that a postcode can lie in the other ward anywhere within the LSOA. Such an
answer lists every ward within ``NEAR_APPROXIMATE_M``, or within ``NEAR_GRAIN_SHARE`` of the
width of the LSOA holding the point where that is more (at most ``NEAR_GRAIN_MAX_M``: rural
LSOAs are kilometres wide). The whole is vectorised with shapely's STRtree: 2.26 million
points in one query.

Welsh and Scottish postcodes are kept only as the country of their outward code (and,
where an outward code also holds English postcodes, as the postcode itself), so that the
site can say "that postcode is in Wales". Northern Ireland's postcodes (``laua`` starting
N) are licensed separately: they are dropped as soon as the file is read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely

from leftbehind.errors import BuildError
from leftbehind.ward_geometry import EXACT, WardOutlines, to_wgs84

# The sources the postcode database is made from (its own sources table lists them).
POSTCODE_DATABASE_SOURCES = (
    "postcodes", "ward_outlines_2019", "lsoa_outlines", "lsoa_ward_lookup", "ward_lad_lookup",
    "lba_outlines_2020", "lba_outlines_2019", "lad_region_lookup", "ltla24_region", "cni2020", "cni2019",
)
# Other wards whose outline lies this close to the point are listed in also_possible.
NEAR_M = 100.0
NEAR_APPROXIMATE_M = 250.0
# For an approximate answer, also the wards within this share of the width (square root of
# the area) of the LSOA holding the point, up to NEAR_GRAIN_MAX_M. Chosen on half of the
# councils of unchanged land, as the least share of 0.1, 0.15, ... 0.4 with which the
# approximate route lists the right ward as often as the exact route does (98.9%): see
# bench/postcode_accuracy.py, which reports the other half apart.
NEAR_GRAIN_SHARE = 0.2
NEAR_GRAIN_MAX_M = 1500.0
COUNTRIES = {"E": "England", "W": "Wales", "S": "Scotland"}
# The prefix of the council code of a postcode never to be used: Northern Ireland.
NORTHERN_IRELAND = "N"
# Postcodes whose point lies further than this from every outline fail the build.
MAX_OUTSIDE_M = 5_000.0


def written_form(pcd: np.ndarray) -> np.ndarray:
    """ONS's 7-character postcodes ('CA141AA', 'CA1 1AA', 'SW1A0AA': the outward code padded
    to 4) in the usual written form, one space before the 3-character inward code."""
    return np.array([f"{code[:4].rstrip()} {code[4:]}" for code in pcd.tolist()], dtype=str)


@dataclass(frozen=True)
class Placed:
    """The answer for each point: its ward (index into the outlines), how, and the others near."""

    ward: np.ndarray  # int, index into WardOutlines.codes
    method: np.ndarray  # str: 'exact', 'approximate', 'nearest'
    distance_m: np.ndarray  # 0 inside the chosen outline, else metres to it
    # The other wards near each point, nearest first: pairs (point, ward index), sorted by point.
    near_point: np.ndarray
    near_ward: np.ndarray

    def others(self, point: int) -> np.ndarray:
        """The indexes of the other wards near one point, nearest first."""
        start, end = np.searchsorted(self.near_point, [point, point + 1])
        return self.near_ward[start:end]

    def has_others(self) -> np.ndarray:
        found = np.zeros(len(self.ward), dtype=bool)
        found[self.near_point] = True
        return found


@dataclass(frozen=True)
class Segments:
    """Every edge of every outline, as coordinate arrays, with the ward it belongs to."""

    x0: np.ndarray
    y0: np.ndarray
    x1: np.ndarray
    y1: np.ndarray
    ward: np.ndarray
    tree: Any


def outline_segments(geometries: np.ndarray, radius: float) -> Segments:
    """The edges, in a tree of their bounding boxes grown by ``radius``: a point's own
    (degenerate) box then meets exactly the edges whose box lies within ``radius`` of it."""
    parts, part_ward = shapely.get_parts(geometries, return_index=True)
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    coordinates, ring_of = shapely.get_coordinates(rings, return_index=True)
    same_ring = ring_of[1:] == ring_of[:-1]
    start, end = coordinates[:-1][same_ring], coordinates[1:][same_ring]
    boxes = shapely.box(np.minimum(start[:, 0], end[:, 0]) - radius, np.minimum(start[:, 1], end[:, 1]) - radius,
                        np.maximum(start[:, 0], end[:, 0]) + radius, np.maximum(start[:, 1], end[:, 1]) + radius)
    return Segments(start[:, 0], start[:, 1], end[:, 0], end[:, 1],
                    part_ward[ring_part[ring_of[:-1][same_ring]]], shapely.STRtree(boxes))


def near_edges(points: np.ndarray, east: np.ndarray, north: np.ndarray, segments: Segments, radius: float) -> tuple[np.ndarray, ...]:
    """(point, ward, metres) for every ward with an edge within ``radius`` of a point: the
    distance from the point to that ward's outline (to its edge, even from inside)."""
    point_at, segment_at = segments.tree.query(points)
    px, py = east[point_at], north[point_at]
    ax, ay = segments.x0[segment_at], segments.y0[segment_at]
    dx, dy = segments.x1[segment_at] - ax, segments.y1[segment_at] - ay
    length2 = dx * dx + dy * dy
    along = np.clip(((px - ax) * dx + (py - ay) * dy) / np.where(length2 == 0, 1, length2), 0, 1)
    distance = np.hypot(ax + along * dx - px, ay + along * dy - py)
    close = distance <= radius
    point_at, ward_at, distance = point_at[close], segments.ward[segment_at[close]], distance[close]
    # The nearest edge of each ward for each point.
    order = np.lexsort((distance, ward_at, point_at))
    point_at, ward_at, distance = point_at[order], ward_at[order], distance[order]
    first = np.ones(len(point_at), dtype=bool)
    first[1:] = (point_at[1:] != point_at[:-1]) | (ward_at[1:] != ward_at[:-1])
    return point_at[first], ward_at[first], distance[first]


def place_points(
    east: np.ndarray,
    north: np.ndarray,
    outlines: WardOutlines,
    near_m: float = NEAR_M,
    near_approximate_m: float = NEAR_APPROXIMATE_M,
    grain_share: float = NEAR_GRAIN_SHARE,
    chunk: int = 250_000,
) -> Placed:
    """Each point's ward and the wards it may be in instead (see the module's docstring).

    Containment is asked of the outlines (a tree of the points queried with each outline,
    which shapely prepares); nearness of the outlines' edges, a few at a time in numpy.
    ``grain_share`` 0 lists only within the fixed distances.
    """
    count = len(east)
    geometries = outlines.geometries
    exact = np.array([method == EXACT for method in outlines.methods])
    radius = max(near_m, near_approximate_m)
    points = shapely.points(east, north)
    ward_in, point_in = shapely.STRtree(points).query(geometries, predicate="intersects")
    segments = outline_segments(geometries, radius)
    starts = range(0, count, chunk)
    near = [near_edges(points[i:i + chunk], east[i:i + chunk], north[i:i + chunk], segments, radius) for i in starts]

    # Every candidate (point, ward), once: whether the point is inside the outline, and the
    # metres to its edge when an edge is within the radius (else more than the radius).
    point_at = np.concatenate([point_in, *(found + i for (found, _, _), i in zip(near, starts))])
    ward_at = np.concatenate([ward_in, *(wards for _, wards, _ in near)])
    edge = np.concatenate([np.full(len(point_in), radius + 1.0), *(metres for _, _, metres in near)])
    held_flag = np.concatenate([np.ones(len(point_in), dtype=bool), np.zeros(len(point_at) - len(point_in), dtype=bool)])
    order = np.lexsort((ward_at, point_at))
    point_at, ward_at, edge, held_flag = point_at[order], ward_at[order], edge[order], held_flag[order]
    new = np.ones(len(point_at), dtype=bool)
    new[1:] = (point_at[1:] != point_at[:-1]) | (ward_at[1:] != ward_at[:-1])
    starts_at = np.flatnonzero(new)
    edge = np.minimum.reduceat(edge, starts_at)
    inside = np.maximum.reduceat(held_flag, starts_at)
    point_at, ward_at = point_at[starts_at], ward_at[starts_at]
    distance = np.where(inside, 0.0, edge)
    depth = np.where(inside, edge, 0.0)
    rank = np.where(inside & exact[ward_at], 0, np.where(inside, 1, 2))
    order = np.lexsort((distance, -depth, rank, point_at))
    point_at, ward_at, distance, rank = point_at[order], ward_at[order], distance[order], rank[order]
    first = np.ones(len(point_at), dtype=bool)
    first[1:] = point_at[1:] != point_at[:-1]

    ward = np.full(count, -1, dtype=np.int64)
    chosen_distance = np.full(count, np.nan)
    method = np.full(count, "", dtype=object)
    held = first & (rank < 2)
    ward[point_at[held]] = ward_at[held]
    chosen_distance[point_at[held]] = 0.0
    method[point_at[held]] = np.where(rank[held] == 0, "exact", "approximate")

    # Points in no outline: the nearest, only among approximate outlines on changed land.
    loose = np.flatnonzero(ward < 0)
    if len(loose):
        on_changed = outlines.on_changed_land(east[loose], north[loose])
        for subset, allowed in ((loose[on_changed], ~exact), (loose[~on_changed], None)):
            if not len(subset):
                continue
            candidates = np.flatnonzero(allowed) if allowed is not None else np.arange(len(geometries))
            points = shapely.points(east[subset], north[subset])
            found_point, found_ward = shapely.STRtree(geometries[candidates]).query_nearest(points, all_matches=False)
            ward[subset[found_point]] = candidates[found_ward]
            chosen_distance[subset[found_point]] = shapely.distance(points[found_point], geometries[candidates[found_ward]])
            method[subset[found_point]] = "nearest"

    # The other wards near the point, within the radius its answer calls for.
    limits = near_limits_m(east, north, method != "exact", outlines, near_m, near_approximate_m, grain_share)
    other = (ward_at != ward[point_at]) & (distance <= limits[point_at])
    near_point, near_ward, near_distance = point_at[other], ward_at[other], distance[other]
    farther = np.flatnonzero(limits > radius)
    if len(farther):
        # Beyond the first query's radius: other wards' edges up to each point's own limit,
        # found by querying the same edges (boxes grown by the radius) with boxes grown by the rest.
        listed = np.zeros(count, dtype=bool)
        listed[farther] = True
        listed = listed[point_at]  # the candidates already found (held or near) of these points
        known = point_at[listed] * len(geometries) + ward_at[listed]
        found = [near_point]
        wards = [near_ward]
        metres = [near_distance]
        for start in range(0, len(farther), max(1, chunk // 10)):
            some = farther[start:start + max(1, chunk // 10)]
            grow = float(limits[some].max()) - radius
            boxes = shapely.box(east[some] - grow, north[some] - grow, east[some] + grow, north[some] + grow)
            at, ward_near, metres_near = near_edges(boxes, east[some], north[some], segments, radius + grow)
            at = some[at]
            beyond = (ward_near != ward[at]) & (metres_near <= limits[at]) & ~np.isin(at * len(geometries) + ward_near, known)
            found.append(at[beyond])
            wards.append(ward_near[beyond])
            metres.append(metres_near[beyond])
        near_point, near_ward, near_distance = np.concatenate(found), np.concatenate(wards), np.concatenate(metres)
    nearest_first = np.lexsort((near_distance, near_point))
    return Placed(ward=ward, method=method.astype(str), distance_m=chosen_distance,
                  near_point=near_point[nearest_first], near_ward=near_ward[nearest_first])


def near_limits_m(
    east: np.ndarray, north: np.ndarray, approximate: np.ndarray, outlines: WardOutlines,
    near_m: float, near_approximate_m: float, grain_share: float,
) -> np.ndarray:
    """How far from each point another ward's outline may lie and still be listed: ``near_m``
    for an exact answer; for another, ``near_approximate_m`` or ``grain_share`` of the width
    of the LSOA holding the point, whichever is more, at most ``NEAR_GRAIN_MAX_M``."""
    limits = np.where(approximate, near_approximate_m, near_m)
    rough = np.flatnonzero(approximate)
    if grain_share and len(rough):
        widths = outlines.grain_m(east[rough], north[rough])
        limits[rough] = np.clip(grain_share * widths, near_approximate_m, max(near_approximate_m, NEAR_GRAIN_MAX_M))
    return limits


@dataclass(frozen=True)
class PostcodeColumns:
    """The postcodes of one country, as read: written form, council code, grid reference."""

    postcode: np.ndarray
    council: np.ndarray
    east: np.ndarray
    north: np.ndarray


def postcodes_by_country(table: Any) -> dict[str, PostcodeColumns]:
    """England's, Wales's and Scotland's postcodes; Northern Ireland's and the Crown
    dependencies' are dropped here, before anything else looks at them."""
    columns = table.columns
    prefix = columns["laua"].astype("U1")  # the first letter: the country
    result = {}
    for letter in COUNTRIES:
        keep = prefix == letter
        result[letter] = PostcodeColumns(
            postcode=written_form(columns["pcd"][keep]),
            council=columns["laua"][keep],
            east=columns["oseast1m"][keep],
            north=columns["osnrth1m"][keep],
        )
    england = result["E"]
    missing = ~(np.isfinite(england.east) & np.isfinite(england.north))
    if missing.any():
        examples = ", ".join(england.postcode[missing][:5].tolist())
        raise BuildError(
            f"{table.source.label} has English postcodes without a grid reference",
            [f"{table.source.label}: {int(missing.sum())} English postcodes have no oseast1m/osnrth1m ({examples})"],
        )
    return result


def outward_code(postcode: str) -> str:
    return postcode.split(" ", 1)[0]


def postcode_rows(england: PostcodeColumns, outlines: WardOutlines, placed: Placed) -> list[tuple]:
    """Rows of ``postcodes`` as tuples, in the declared order (2.26 million: no dict each)."""
    codes = np.array(outlines.codes, dtype=str)
    far = np.flatnonzero(placed.distance_m > MAX_OUTSIDE_M)
    if len(far):
        raise BuildError(
            "postcodes lie far from every ward outline",
            [f"postcode {england.postcode[i]}: {placed.distance_m[i]:.0f} m from the nearest ward outline "
             f"(limit {MAX_OUTSIDE_M:.0f} m)" for i in far[:20]],
        )
    longitude, latitude = to_wgs84(england.east, england.north)
    also = also_possible_texts(len(england.postcode), placed, outlines.codes)
    order = np.argsort(england.postcode, kind="stable")  # inserted in key order: SQLite appends
    rows = list(zip(
        england.postcode.tolist(),
        codes[placed.ward].tolist(),
        also,
        placed.method.tolist(),
        np.round(placed.distance_m, 0).astype(int).tolist(),
        england.council.tolist(),
        np.round(latitude, 5).tolist(),
        np.round(longitude, 5).tolist(),
    ))
    return [rows[i] for i in order.tolist()]


def also_possible_texts(count: int, placed: Placed, codes: list[str]) -> list[str]:
    """Each point's other wards as JSON text ('["E05000001","E05000002"]'), '[]' for most.

    Ward codes are plain letters and digits, so the JSON is joined as text: json.dumps
    for 650,000 short lists took longer than placing every postcode.
    """
    texts = ["[]"] * count
    if not len(placed.near_point):
        return texts
    starts = np.flatnonzero(np.r_[True, placed.near_point[1:] != placed.near_point[:-1]])
    names = [codes[ward] for ward in placed.near_ward.tolist()]
    ends = [*starts[1:].tolist(), len(names)]
    for point, start, end in zip(placed.near_point[starts].tolist(), starts.tolist(), ends):
        texts[point] = '["' + '","'.join(names[start:end]) + '"]'
    return texts


def outward_code_rows(countries: Mapping[str, PostcodeColumns]) -> list[dict[str, Any]]:
    """Rows of ``postcode_districts``: each outward code with its postcodes in each country."""
    counts: dict[str, dict[str, int]] = {}
    for letter, columns in countries.items():
        outward, number = np.unique(np.char.partition(columns.postcode, " ")[:, 0], return_counts=True)
        for code, n in zip(outward.tolist(), number.tolist()):
            counts.setdefault(code, {})[letter] = n
    rows = []
    for code in sorted(counts):
        by = counts[code]
        present = [COUNTRIES[letter] for letter in COUNTRIES if by.get(letter)]
        rows.append({
            "outward_code": code,
            "country": present[0] if len(present) == 1 else "more than one",
            "england": by.get("E", 0),
            "wales": by.get("W", 0),
            "scotland": by.get("S", 0),
        })
    return rows


def border_postcode_rows(countries: Mapping[str, PostcodeColumns]) -> list[dict[str, Any]]:
    """Rows of ``postcodes_outside_england``: the Welsh and Scottish postcodes whose outward
    code also holds English postcodes (elsewhere the outward code says the country)."""
    english_outward = set(np.char.partition(countries["E"].postcode, " ")[:, 0].tolist())
    rows = []
    for letter in ("W", "S"):
        for postcode, council in zip(countries[letter].postcode.tolist(), countries[letter].council.tolist()):
            if outward_code(postcode) in english_outward:
                rows.append({"postcode": postcode, "country": COUNTRIES[letter], "council_code": council})
    return sorted(rows, key=lambda row: row["postcode"])


def postcode_ward_rows(
    wards: list[dict[str, Any]], ward_lookup: list[dict[str, Any]], council_lookup: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Rows of ``postcode_wards``: the index's wards as the wards table has them, and the other
    English wards of December 2017 (the City of London's, the Isles of Scilly's) from the
    ONS ward to council lookup, outside the index."""
    council_names = {row["LAD17CD"]: row["LAD17NM"] for row in council_lookup}
    rows = {
        ward["ward_code"]: {
            "ward_code": ward["ward_code"], "ward_name": ward["ward_name"],
            "lad_code": ward["lad_code"], "lad_name": ward["lad_name"],
            "lad24_code": ward["lad24_code"], "lad24_name": ward["lad24_name"], "in_index": 1,
            "left_behind_2020": ward["left_behind_2020"], "left_behind_2019": ward["left_behind_2019"],
        }
        for ward in wards
    }
    problems = []
    for index, row in enumerate(ward_lookup):
        code = row["WD17CD"]
        if not code.startswith("E") or code in rows:
            continue
        if row["LAD17CD"] not in council_names:
            problems.append(f"ward {code}: its council {row['LAD17CD']} is not in the council to region lookup")
            continue
        rows[code] = {
            "ward_code": code, "ward_name": row["WD17NM"], "lad_code": row["LAD17CD"],
            "lad_name": council_names[row["LAD17CD"]], "lad24_code": None, "lad24_name": None,
            "in_index": 0, "left_behind_2020": None, "left_behind_2019": None,
        }
    if problems:
        raise BuildError("wards outside the index have no council", problems[:20])
    return [rows[code] for code in sorted(rows)]


def council_rows(
    councils: np.ndarray, ward_codes: np.ndarray, wards: list[dict[str, Any]], lookup_2024: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Rows of ``postcode_councils``: each council code of the English postcodes with its name
    from the 2024 lookup, or for a code new since, the 2024 council of the wards that hold
    most of its postcodes (said so in name_basis)."""
    names = {row["ltla24_code"]: row["ltla24_name"] for row in lookup_2024}
    ward_council = {ward["ward_code"]: ward["lad24_name"] for ward in wards}
    rows = []
    for code in np.unique(councils).tolist():
        if code in names:
            rows.append({"lad25_code": code, "name": names[code], "name_basis": "2024 lookup"})
            continue
        held = [ward_council.get(ward) for ward in ward_codes[councils == code].tolist()]
        counts: dict[str, int] = {}
        for name in held:
            if name:
                counts[name] = counts.get(name, 0) + 1
        if not counts:
            raise BuildError("a council has no name", [f"council {code}: not in the 2024 lookup, and none of its postcodes lies in a ward of the index"])
        rows.append({"lad25_code": code, "name": max(sorted(counts), key=counts.get), "name_basis": "inferred"})
    return rows
