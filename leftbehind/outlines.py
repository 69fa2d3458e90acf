"""Outlines of the flagged wards (and of today's councils) as compact GeoJSON.

The outlines come from R ``sf`` MULTIPOLYGON columns, which ``rdata`` gives as
nested lists: polygon -> ring -> numpy array of shape (n, 2) holding
(longitude, latitude) in WGS84. Here they become GeoJSON MultiPolygon text:

* coordinates rounded to 5 decimal places: 0.00001 degrees is at most 1.1 m
  of latitude and 0.7 m of longitude in England. The outlines are heavily
  generalised (3,026 points for the 230 wards), so a metre is far below what
  they can show; 6 places would store digits with no meaning (+9% bytes),
  4 places (up to 11 m) would save only 9% of the text;
* consecutive points that become equal after rounding are dropped, and a ring
  left with fewer than 4 positions (a sliver under a metre or so) is dropped;
* rings wound as RFC 7946 asks: exteriors anticlockwise, holes clockwise.

The containment check measures, for each ward, whether its map point lies in
its outline (holes and multipolygons respected) and otherwise how far it is
from the outline's edge, in metres on a local equirectangular projection
around the point (error far below a metre at the distances that matter here).
Pure Python: 230 outlines of about 13 points each need no geometry library.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from leftbehind.errors import BuildError

DECIMALS = 5
EARTH_RADIUS_M = 6_371_008.8  # mean radius (IUGG)
# The build fails when a ward's point is further than this outside its outline.
MAX_DISTANCE_M = 500.0
SOURCE_2020 = "lba_outlines_2020"
SOURCE_2019 = "lba_outlines_2019"
SOURCE_COUNCILS = "council_outlines_2024"

Position = tuple[float, float]  # (longitude, latitude), as GeoJSON orders them
Ring = list[Position]
Polygon = list[Ring]
MultiPolygon = list[Polygon]


def plain_multipolygon(geometry: Any) -> MultiPolygon:
    """rdata's polygon -> ring -> (n, 2) array nesting as lists of (lon, lat) tuples."""
    return [
        [[(float(point[0]), float(point[1])) for point in ring] for ring in polygon]
        for polygon in geometry
    ]


def signed_area(ring: Sequence[Position]) -> float:
    """Twice the shoelace area in degrees²: positive when anticlockwise."""
    return sum(
        x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in zip(ring, ring[1:])
    )


def rounded_ring(ring: Sequence[Position], decimals: int) -> Ring | None:
    """The ring rounded, closed, without repeated points; None if it collapses."""
    points: Ring = []
    for lon, lat in ring:
        point = (round(lon, decimals), round(lat, decimals))
        if not points or point != points[-1]:
            points.append(point)
    if not points:
        return None
    if points[0] != points[-1]:
        points.append(points[0])
    if len(points) < 4 or signed_area(points) == 0:
        return None
    return points


def wound(ring: Ring, anticlockwise: bool) -> Ring:
    """The ring in the winding RFC 7946 asks for (exterior anticlockwise)."""
    return ring if (signed_area(ring) > 0) == anticlockwise else ring[::-1]


def rounded_multipolygon(geometry: MultiPolygon, decimals: int = DECIMALS) -> MultiPolygon:
    """The outline rounded to ``decimals`` places, RFC 7946 winding, degenerate rings dropped."""
    polygons: MultiPolygon = []
    for polygon in geometry:
        exterior = rounded_ring(polygon[0], decimals) if polygon else None
        if exterior is None:
            continue
        holes = [rounded_ring(ring, decimals) for ring in polygon[1:]]
        polygons.append(
            [wound(exterior, True)] + [wound(hole, False) for hole in holes if hole is not None]
        )
    if not polygons:
        raise ValueError("the outline has no polygon left after rounding")
    return polygons


def geojson_text(geometry: MultiPolygon) -> str:
    """A GeoJSON MultiPolygon geometry as compact JSON text."""
    coordinates = [[[list(point) for point in ring] for ring in polygon] for polygon in geometry]
    return json.dumps({"type": "MultiPolygon", "coordinates": coordinates}, separators=(",", ":"))


def in_ring(point: Position, ring: Sequence[Position]) -> bool:
    """Even-odd ray casting: is the point inside the closed ring?"""
    x, y = point
    inside = False
    for (x1, y1), (x2, y2) in zip(ring, ring[1:]):
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


def contains(geometry: MultiPolygon, point: Position) -> bool:
    """Is the point inside some polygon's exterior and outside all of that polygon's holes?"""
    return any(
        in_ring(point, polygon[0]) and not any(in_ring(point, hole) for hole in polygon[1:])
        for polygon in geometry
    )


def distance_to_edge_m(geometry: MultiPolygon, point: Position) -> float:
    """Metres from the point to the nearest edge of any ring of the outline.

    Equirectangular projection centred on the point: x east and y north in
    metres. Over a few kilometres the error is a tiny fraction of the distance.
    """
    lon0, lat0 = point
    scale_y = math.radians(1) * EARTH_RADIUS_M
    scale_x = scale_y * math.cos(math.radians(lat0))
    best = math.inf
    for polygon in geometry:
        for ring in polygon:
            xy = [((lon - lon0) * scale_x, (lat - lat0) * scale_y) for lon, lat in ring]
            for (x1, y1), (x2, y2) in zip(xy, xy[1:]):
                best = min(best, _distance_to_segment(x1, y1, x2, y2))
    return best


def _distance_to_segment(x1: float, y1: float, x2: float, y2: float) -> float:
    """Distance from the origin to the segment (x1, y1)-(x2, y2)."""
    dx, dy = x2 - x1, y2 - y1
    length2 = dx * dx + dy * dy
    t = 0.0 if length2 == 0 else max(0.0, min(1.0, -(x1 * dx + y1 * dy) / length2))
    return math.hypot(x1 + t * dx, y1 + t * dy)


def point_check(geometry: MultiPolygon, point: Position) -> tuple[int, float]:
    """(1, 0.0) when the point is inside the outline, else (0, metres to its edge)."""
    if contains(geometry, point):
        return 1, 0.0
    return 0, round(distance_to_edge_m(geometry, point), 1)


def english_outlines(
    rows: Iterable[Mapping[str, Any]], code_column: str, label: str = "outline file"
) -> dict[str, MultiPolygon]:
    """The outlines of rows whose code starts with E (England), keyed by code."""
    result: dict[str, MultiPolygon] = {}
    for index, row in enumerate(rows, start=1):
        code = row[code_column]
        if code.startswith("E"):
            if code in result:
                raise BuildError(f"the {label} repeats an area", [f"{label}: row {index}: area {code} has a second outline"])
            result[code] = plain_multipolygon(row["geometry"])
    return result


def stored_geometry(shape: MultiPolygon, decimals: int, where: str) -> MultiPolygon:
    """The rounded outline, or a clear error naming the area when nothing is left of it."""
    try:
        return rounded_multipolygon(shape, decimals)
    except ValueError as error:
        raise BuildError("an outline vanishes when rounded", [f"{where}: {error}"]) from None


def ward_outline_sources(
    rows_2020: Iterable[Mapping[str, Any]],
    rows_2019: Iterable[Mapping[str, Any]],
    labels: tuple[str, str] = ("2020 outline file", "2019 outline file"),
) -> dict[str, tuple[str, MultiPolygon]]:
    """Each flagged ward's outline and the source it comes from.

    The 2020 set's file gives the 225 wards of that set; the 2019 set's file is
    used only for the wards that left in 2020 (both files cut the same ONS
    December 2017 boundaries, so a ward in both is taken once, from 2020).
    """
    outlines = {code: (SOURCE_2020, shape) for code, shape in english_outlines(rows_2020, "lba_code", labels[0]).items()}
    for code, shape in english_outlines(rows_2019, "lba_code", labels[1]).items():
        outlines.setdefault(code, (SOURCE_2019, shape))
    return dict(sorted(outlines.items()))


def check_outline_coverage(outline_codes: Iterable[str], flagged_codes: Iterable[str]) -> None:
    """Every flagged ward needs exactly one outline, and no outline may be for another ward."""
    outlines, flagged = set(outline_codes), set(flagged_codes)
    problems = [f"ward {code} is flagged but has no outline" for code in sorted(flagged - outlines)]
    problems += [f"outline {code} is for a ward not flagged in either set" for code in sorted(outlines - flagged)]
    if problems:
        raise BuildError("the outlines do not match the flagged wards", problems[:20])


def ward_outline_rows(
    outlines: Mapping[str, tuple[str, MultiPolygon]],
    points: Mapping[str, Position],
    decimals: int = DECIMALS,
    max_distance_m: float = MAX_DISTANCE_M,
) -> list[dict[str, Any]]:
    """Rows of ``ward_outlines``, checked against each ward's (longitude, latitude) map point.

    The check runs on the rounded outline, the one stored and drawn. A point
    more than ``max_distance_m`` outside its outline fails the build: the
    point or the outline would then be for the wrong place.
    """
    rows, problems = [], []
    for code, (source_id, shape) in sorted(outlines.items()):
        if code not in points:
            problems.append(f"outline {code} ({source_id}): the ward has no map point")
            continue
        geometry = stored_geometry(shape, decimals, f"outline {code} ({source_id})")
        inside, distance = point_check(geometry, points[code])
        if distance > max_distance_m:
            problems.append(
                f"outline {code} ({source_id}): the ward's map point is {distance:.0f} m outside it "
                f"(limit {max_distance_m:.0f} m)"
            )
        rows.append(
            {
                "ward_code": code,
                "geojson": geojson_text(geometry),
                "source_id": source_id,
                "point_inside": inside,
                "distance_m": distance,
            }
        )
    if problems:
        raise BuildError("ward outlines and map points disagree", problems[:20])
    return rows


def council_outline_rows(
    rows: Iterable[Mapping[str, Any]],
    council_codes: Iterable[str],
    decimals: int = DECIMALS,
    label: str = "council outline file",
) -> list[dict[str, Any]]:
    """Rows of ``council_outlines_2024`` for the given (English) councils."""
    outlines = english_outlines(rows, "ltla24_code", label)
    missing = sorted(set(council_codes) - set(outlines))
    if missing:
        raise BuildError("a 2024 council has no outline", [f"council {code} has no outline" for code in missing[:20]])
    return [
        {
            "lad24_code": code,
            "geojson": geojson_text(stored_geometry(outlines[code], decimals, f"council outline {code}")),
            "source_id": SOURCE_COUNCILS,
        }
        for code in sorted(set(council_codes))
    ]


def council_at_point(outlines: Mapping[str, MultiPolygon], point: Position) -> tuple[str, float] | None:
    """The council whose outline holds the point, or else the nearest: (code, metres outside).

    None without outlines. Used only to cross-check the councils given to the
    12 wards that have no best-fit LSOA.
    """
    best: tuple[float, str] | None = None
    for code, shape in sorted(outlines.items()):
        if contains(shape, point):
            return code, 0.0
        distance = distance_to_edge_m(shape, point)
        if best is None or distance < best[0]:
            best = (distance, code)
    return None if best is None else (best[1], round(best[0], 1))


def outline_rows(
    wards: Iterable[Mapping[str, Any]], lba_2020: Any, lba_2019: Any
) -> list[dict[str, Any]]:
    """Rows of ``ward_outlines`` for the wards flagged in either set, from the two outline
    source tables (``SourceTable``), each checked against its ward's map point."""
    flagged = {w["ward_code"]: w for w in wards if w["left_behind_2020"] or w["left_behind_2019"]}
    outlines = ward_outline_sources(lba_2020.rows, lba_2019.rows, (lba_2020.source.label, lba_2019.source.label))
    check_outline_coverage(outlines, flagged)
    points = {code: (ward["longitude"], ward["latitude"]) for code, ward in flagged.items()}
    return ward_outline_rows(outlines, points)

