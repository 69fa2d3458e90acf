"""Every December 2017 ward's outline, in metres, and the map the postcodes are placed on.

No single source outlines the 2017 wards. Three pieces make them, in this order:

1. **exact**: the December 2019 ward outlines (source ``ward_outlines_2019``) whose code is
   also a 2017 code. Under the ONS coding policy a ward keeps its code only while its
   boundary is unchanged, so those outlines are the 2017 wards' own (5,335 wards);
2. **exact**: the flagged wards' own December 2017 outlines (the British Red Cross files,
   ``lba_outlines_2020`` and ``lba_outlines_2019``) for those of the 230 that changed
   before 2019 (47);
3. **approximate**: for every other ward (changed before 2019), the union of the LSOAs
   (2011, ``lsoa_outlines``) that the ONS best-fit lookup (``lsoa_ward_lookup``) gives it.
   Where the 2019 wards with new codes (which cover exactly the land of the 2017 wards that
   changed: an unchanged ward takes the same land in both years) hold land no such union
   covers, that land is added to the approximate ward that covers most of that 2019 ward.
   An approximate outline can overlap its exact neighbours: the exact outline comes first
   wherever a point is placed.

The outlines are made in longitude and latitude, as the sources give them: unions and
differences need no metres, and the main database stores them so. Placing the postcodes
needs metres (100 m from an edge), so ``WardOutlines.in_bng`` converts the finished
outlines once to the British National Grid (EPSG:27700), the frame of the postcodes' grid
references. pyproj converts with PROJ's Helmert transformation 'OSGB36 to WGS 84 (6)' (the
OSTN15 grid is not shipped with pyproj, and there is no network here). Measured on the 7,219
ward label points that source ``ward_outlines_2019`` gives both ways (BNG_E/BNG_N and
LONG/LAT): median 1.8 m, at most 4.9 m apart, far below what the generalised outlines can
show (tens of metres). ``check_transformation`` repeats that measurement on every build of
the postcodes.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely

from leftbehind.errors import BuildError
from leftbehind.outlines import MAX_DISTANCE_M, MultiPolygon, distance_to_edge_m
from leftbehind.polyline import PRECISION, decode_outline, encode_rings, joined_outline

WGS84 = "EPSG:4326"
BNG = "EPSG:27700"
# The build fails when ONS's own pairs of label points disagree by more than this after
# conversion: the sign that PROJ fell back to a coarse transformation.
MAX_TRANSFORMATION_ERROR_M = 10.0

# Outlines are stored simplified by this many degrees (Douglas-Peucker, shapes kept valid):
# none. The sources are generalised already: simplifying by 10 or 20 m more removed 2% of
# the points (GeoJSON 11.8 MB at 10 m, 11.6 MB at 20 m), for a second of build time.
OUTLINE_TOLERANCE = 0.0
EXACT, APPROXIMATE = "exact", "approximate"
# Land in no outline smaller or thinner than this is a sliver between two generalisations
# (the 2019 outlines and the LSOAs', generalised apart), left to the nearest outline: in
# square degrees, about 2 hectares in England (a square degree is 7.0 to 8.0 thousand km²
# there), and an area over perimeter of 0.0002 degree (a strip about 30 m wide or less).
MIN_GAP = 20_000.0 / 7.5e9
MIN_GAP_THICKNESS = 0.0002
SOURCE_WARDS_2019 = "ward_outlines_2019"
SOURCE_LSOAS = "lsoa_outlines"
# How each outline was made (ward_shapes.basis; the column's description says each in full).
BASIS_2019 = "2019 outline, same code"
BASIS_OWN = "own 2017 outline"
BASIS_LSOAS = "best-fit LSOAs"
BASIS_LABEL_LSOA = "LSOA holding its label point"
BASES = {
    BASIS_2019: "the December 2019 outline of the same ward code (its boundary unchanged since 2017)",
    BASIS_OWN: "the ward's own December 2017 outline, published with the left-behind areas, much simplified "
               "(where both exist, these lie a median 178 m and at most 407 m from the 2019 outlines)",
    BASIS_LSOAS: "the union of the LSOAs (2011) the ONS best-fit lookup gives the ward, plus any land of the "
                 "wards changed before 2019 that no such union covers, given to the ward whose LSOAs cover "
                 "most of the December 2019 ward it is in",
    BASIS_LABEL_LSOA: "the LSOA (2011) that holds the ward's label point: the best-fit lookup gives this ward, "
                      "smaller than an LSOA, none of its own",
}


@functools.cache
def _transformer(source: str, target: str):
    import pyproj

    return pyproj.Transformer.from_crs(source, target, always_xy=True)


def to_bng(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Longitudes and latitudes (WGS84) as eastings and northings (metres)."""
    return _transformer(WGS84, BNG).transform(x, y)


def to_wgs84(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eastings and northings (metres) as longitudes and latitudes (WGS84)."""
    return _transformer(BNG, WGS84).transform(x, y)


def geometries_to(geometries: np.ndarray, convert) -> np.ndarray:
    """Shapely geometries with every coordinate converted (one call over all of them)."""
    return shapely.transform(geometries, lambda xy: np.column_stack(convert(xy[:, 0], xy[:, 1])))


def transformation_error_m(rows: Iterable[Mapping[str, Any]]) -> np.ndarray:
    """For each 2019 ward, how far (metres) its label point converted from BNG lies from the
    longitude and latitude the same file gives it (ONS wrote both, rounded to 1 m and 5 decimals)."""
    rows = list(rows)
    east = np.array([row["BNG_E"] for row in rows], dtype=float)
    north = np.array([row["BNG_N"] for row in rows], dtype=float)
    lon = np.array([row["LONG"] for row in rows], dtype=float)
    lat = np.array([row["LAT"] for row in rows], dtype=float)
    x, y = to_bng(lon, lat)
    return np.hypot(x - east, y - north)


def check_transformation(rows: Iterable[Mapping[str, Any]], label: str) -> np.ndarray:
    errors = transformation_error_m(rows)
    if not len(errors) or float(errors.max()) > MAX_TRANSFORMATION_ERROR_M:
        raise BuildError(
            "the conversion between longitude and latitude and the British National Grid is off",
            [f"{label}: ONS's label points given both ways lie up to {errors.max():.0f} m apart after "
             f"conversion (limit {MAX_TRANSFORMATION_ERROR_M:.0f} m): is pyproj's PROJ database complete?"],
        )
    return errors


def multipolygon_geometry(shape: MultiPolygon) -> shapely.MultiPolygon:
    """A shapely MultiPolygon from (longitude, latitude) rings, as leftbehind.outlines gives them."""
    return shapely.MultiPolygon([(polygon[0], polygon[1:]) for polygon in shape])


@dataclass(frozen=True)
class WardOutlines:
    """Each 2017 ward's outline (longitude and latitude, or metres after ``in_bng``), how it
    was made and from which source.

    ``changed_land`` holds the outlines of the 2019 wards with new codes, which cover the
    land of the 2017 wards that changed before 2019: a point there in no outline must lie
    in a changed ward. ``grains`` holds the LSOA outlines the approximate ones are made of:
    how large the LSOA holding a point is says how far off an approximate answer can be
    (``leftbehind.postcodes.place_points``).
    """

    codes: list[str]
    geometries: np.ndarray
    methods: list[str]
    source_ids: list[str]
    changed_land: np.ndarray
    bases: list[str] | None = None
    grains: np.ndarray | None = None

    def in_bng(self) -> WardOutlines:
        """The same outlines converted to British National Grid metres (the LSOAs made valid
        too: only those in approximate outlines were, and all are asked which holds a point)."""
        return dataclasses.replace(
            self,
            geometries=geometries_to(self.geometries, to_bng),
            changed_land=geometries_to(self.changed_land, to_bng),
            grains=None if self.grains is None else geometries_to(_valid(self.grains), to_bng),
        )

    def grain_m(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """For each point (metres), the width of the LSOA holding it (the square root of its
        area), 0 where none does or no LSOAs are known."""
        width = np.zeros(len(x))
        if self.grains is None or not len(x):
            return width
        point_at, lsoa_at = shapely.STRtree(self.grains).query(shapely.points(x, y), predicate="intersects")
        width[point_at] = np.sqrt(shapely.area(self.grains[lsoa_at]))
        return width

    def on_changed_land(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Whether each point lies in one of the 2019 wards with new codes."""
        if not len(self.changed_land):
            return np.zeros(len(x), dtype=bool)
        point_at, _ = shapely.STRtree(self.changed_land).query(shapely.points(x, y), predicate="intersects")
        found = np.zeros(len(x), dtype=bool)
        found[point_at] = True
        return found

    def index(self) -> dict[str, int]:
        return {code: position for position, code in enumerate(self.codes)}


def _valid(geometries: np.ndarray) -> np.ndarray:
    """Geometries made valid where generalisation left a self-touching ring."""
    invalid = ~shapely.is_valid(geometries)
    if invalid.any():
        geometries = geometries.copy()
        geometries[invalid] = shapely.make_valid(geometries[invalid])
    return geometries


def ward_outlines(
    ward_codes: Iterable[str],
    wards_2019: Any,
    lsoas: Any,
    lsoa_wards: Mapping[str, str],
    flagged: Mapping[str, tuple[str, MultiPolygon]],
    label_points: Mapping[str, tuple[float, float]] | None = None,
) -> WardOutlines:
    """The outline of every ward in ``ward_codes`` that one of the three routes can give.

    ``wards_2019`` and ``lsoas`` are the two GeoJSON source tables (longitude and
    latitude); ``lsoa_wards`` the best-fit 2017 ward of each LSOA; ``flagged`` the flagged
    wards' own outlines with their source ids (``leftbehind.outlines.ward_outline_sources``).
    A ward none of them reaches (no 2019 outline, not flagged, no best-fit LSOA: six small
    wards) is given the LSOA that holds its label point (``label_points``, longitude and
    latitude), approximate too; without a label point it has none.
    """
    universe = set(ward_codes)
    codes_2019 = [row["WD19CD"] for row in wards_2019.rows]
    shapes_2019 = np.array([row["geometry"] for row in wards_2019.rows])
    kept = np.array([code in universe for code in codes_2019])
    # Only what enters unions and differences must be valid (GEOS refuses a self-touching ring).
    shapes_2019[~kept] = _valid(shapes_2019[~kept])
    outlines: dict[str, tuple[Any, str, str, str]] = {
        code: (shape, EXACT, SOURCE_WARDS_2019, BASIS_2019)
        for code, shape, keep in zip(codes_2019, shapes_2019, kept) if keep
    }
    own = sorted(code for code in flagged if code in universe and code not in outlines)
    own_shapes = _valid(np.array([multipolygon_geometry(flagged[code][1]) for code in own], dtype=object))
    for code, shape in zip(own, own_shapes):
        outlines[code] = (shape, EXACT, flagged[code][0], BASIS_OWN)

    lsoa_shapes = np.array([row["geometry"] for row in lsoas.rows])
    wanted = universe - set(outlines)
    in_use = np.array([lsoa_wards.get(row["LSOA11CD"]) in wanted for row in lsoas.rows])
    lsoa_shapes[in_use] = _valid(lsoa_shapes[in_use])
    approximate = lsoa_unions(lsoas, lsoa_wards, universe - set(outlines), lsoa_shapes)
    bases = {code: BASIS_LSOAS for code in approximate}
    for code, shape in label_lsoas(lsoa_shapes, universe - set(outlines) - set(approximate), label_points or {}).items():
        approximate[code], bases[code] = shape, BASIS_LABEL_LSOA
    approximate_codes = sorted(approximate)
    unions = np.array([approximate[code] for code in approximate_codes])
    position_of = {code: position for position, code in enumerate(approximate_codes)}
    lsoa_ward = np.array([position_of.get(lsoa_wards.get(row["LSOA11CD"]), -1) for row in lsoas.rows])
    counted = lsoa_ward >= 0
    filled = with_changed_land_filled(unions, shapes_2019[~kept], lsoa_shapes[counted], lsoa_ward[counted], own_shapes)
    for code, shape in zip(approximate_codes, filled):
        outlines[code] = (shape, APPROXIMATE, SOURCE_LSOAS, bases[code])
    codes = sorted(outlines)
    return WardOutlines(
        codes=codes,
        geometries=np.array([outlines[code][0] for code in codes]),
        methods=[outlines[code][1] for code in codes],
        source_ids=[outlines[code][2] for code in codes],
        changed_land=shapes_2019[~kept],
        bases=[outlines[code][3] for code in codes],
        grains=lsoa_shapes,
    )


def valid_shapes(table: Any) -> np.ndarray:
    """The geometries of a GeoJSON source table (longitude and latitude), made valid."""
    return _valid(np.array([row["geometry"] for row in table.rows]))


def lsoa_unions(lsoas: Any, lsoa_wards: Mapping[str, str], ward_codes: set[str], shapes: np.ndarray | None = None) -> dict[str, Any]:
    """For each ward of ``ward_codes`` that the best-fit lookup gives LSOAs, the union of
    their outlines: the land whose people the ward counts. ``shapes``: the LSOAs' outlines
    already made valid (``valid_shapes``)."""
    shapes = valid_shapes(lsoas) if shapes is None else shapes
    groups: dict[str, list[int]] = {}
    for position, row in enumerate(lsoas.rows):
        ward = lsoa_wards.get(row["LSOA11CD"])
        if ward in ward_codes:
            groups.setdefault(ward, []).append(position)
    # LSOAs tile the land (shared edges match exactly), so the coverage union gives what
    # union_all gives, measured identical on 1,500 wards, six times faster.
    return {code: shapely.coverage_union_all(shapes[positions]) for code, positions in sorted(groups.items())}


def label_lsoas(shapes: np.ndarray, ward_codes: set[str], label_points: Mapping[str, tuple[float, float]]) -> dict[str, Any]:
    """For each of ``ward_codes`` with a label point, the outline of the LSOA holding it."""
    codes = sorted(code for code in ward_codes if code in label_points)
    if not codes:
        return {}
    x, y = np.array([label_points[c][0] for c in codes]), np.array([label_points[c][1] for c in codes])
    point_at, shape_at = shapely.STRtree(shapes).query(shapely.points(x, y), predicate="intersects")
    return {codes[point]: shapes[shape] for point, shape in zip(point_at.tolist(), shape_at.tolist())}


def with_changed_land_filled(
    approximate: np.ndarray, changed: np.ndarray, lsoas: np.ndarray, lsoa_ward: np.ndarray, own: np.ndarray
) -> np.ndarray:
    """The approximate outlines with the land of the changed wards that none of them covers
    added to one of them.

    An LSOA can be best fit to an unchanged ward while part of it lies in a changed one:
    that part would then be in no outline (up to kilometres of a large rural ward: postcodes
    in South Oxfordshire lay 5 km from any). The 2019 wards with new codes (``changed``) lie
    within the changed 2017 wards; the land of theirs that neither the LSOAs of the
    approximate wards (``lsoas``, ``lsoa_ward`` the index of each one's ward) nor a flagged
    ward's own outline (``own``) cover is found in one pass (coverage unions, as the 2019
    wards and the LSOAs each tile the land), slivers dropped, and each piece given to the
    approximate ward with the most LSOA land in the 2019 ward that holds it (by the LSOAs'
    inner points), else to the nearest.
    """
    gaps = shapely.difference(shapely.coverage_union_all(changed), shapely.coverage_union_all(lsoas))
    if len(own):
        gaps = shapely.difference(gaps, shapely.union_all(own))
    pieces = shapely.get_parts(gaps)
    area = shapely.area(pieces)
    pieces = pieces[(area >= MIN_GAP) & (area >= MIN_GAP_THICKNESS * shapely.length(pieces))]
    if not len(pieces):
        return approximate
    changed_tree = shapely.STRtree(changed)
    # Which approximate ward has most LSOA land in each changed 2019 ward.
    lsoa_at, ward_2019_at = changed_tree.query(shapely.point_on_surface(lsoas), predicate="within")
    weights = shapely.area(lsoas[lsoa_at])
    best: dict[int, int] = {}
    most: dict[int, float] = {}
    totals: dict[tuple[int, int], float] = {}
    for ward_2019, ward, weight in zip(ward_2019_at.tolist(), lsoa_ward[lsoa_at].tolist(), weights.tolist()):
        totals[ward_2019, ward] = totals.get((ward_2019, ward), 0.0) + weight
        if totals[ward_2019, ward] > most.get(ward_2019, 0.0):
            most[ward_2019], best[ward_2019] = totals[ward_2019, ward], ward
    inner = shapely.point_on_surface(pieces)
    piece_at, holder_at = changed_tree.query(inner, predicate="within")
    takers = np.full(len(pieces), -1)
    for piece, holder in zip(piece_at.tolist(), holder_at.tolist()):
        takers[piece] = best.get(holder, -1)
    loose = np.flatnonzero(takers < 0)
    if len(loose):
        found, nearest = shapely.STRtree(approximate).query_nearest(inner[loose], all_matches=False)
        takers[loose[found]] = nearest
    result = approximate.copy()
    for taker in np.unique(takers).tolist():
        result[taker] = shapely.union_all([result[taker], *pieces[takers == taker]])
    return _polygonal(result)


def _polygonal(geometries: np.ndarray) -> np.ndarray:
    """Only the polygons of each geometry: an intersection can leave stray lines and points."""
    result = geometries.copy()
    for position, geometry in enumerate(geometries):
        if shapely.get_type_id(geometry) == 7:  # GeometryCollection
            parts = [part for part in shapely.get_parts(geometry) if shapely.get_type_id(part) in (3, 6)]
            result[position] = shapely.union_all(parts)
    return result


def ward_shape_rows(outlines: WardOutlines, wards: list[dict[str, Any]], tolerance: float = OUTLINE_TOLERANCE) -> list[dict[str, Any]]:
    """Rows of ``ward_shapes`` for every ward of the index, done over all outlines at once.

    Each outline is wound as RFC 7946 asks (exteriors anticlockwise), simplified by
    ``tolerance`` degrees if any (shapes kept valid), rounded to the polylines' precision (4 decimals, a few metres) without repeated points,
    and stored as encoded polylines (``leftbehind.polyline``); a ring left with fewer than four
    points is dropped, and a polygon with its exterior. Each ward's map point is checked
    against its outline: more than 500 m outside an exact one fails the build (an approximate
    outline can miss its ward's point: the distance is recorded). A ward without an outline
    fails the build too: every ward is promised one.
    """
    index = outlines.index()
    codes = [ward["ward_code"] for ward in sorted(wards, key=lambda ward: ward["ward_code"])]
    missing = [code for code in codes if code not in index]
    if missing:
        raise BuildError("some wards have no outline", [f"ward {code}: no outline could be made for it" for code in missing[:20]])
    positions = np.array([index[code] for code in codes])
    simplified = shapely.orient_polygons(outlines.geometries[positions], exterior_cw=False)
    if tolerance:
        simplified = shapely.simplify(simplified, tolerance, preserve_topology=True)
    parts, part_ward = shapely.get_parts(simplified, return_index=True)
    polygonal = shapely.get_type_id(parts) == 3
    parts, part_ward = parts[polygonal], part_ward[polygonal]
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    coordinates, ring_of = shapely.get_coordinates(rings, return_index=True)
    rounded = np.round(coordinates, PRECISION)
    repeated = np.r_[False, (ring_of[1:] == ring_of[:-1]) & (rounded[1:] == rounded[:-1]).all(axis=1)]
    rounded, ring_of = rounded[~repeated], ring_of[~repeated]
    kept_ring = np.bincount(ring_of, minlength=len(rings)) >= 4
    is_exterior = np.r_[True, ring_part[1:] != ring_part[:-1]]
    kept_part = np.zeros(len(parts), dtype=bool)
    kept_part[ring_part[is_exterior & kept_ring]] = True
    kept_ring &= kept_part[ring_part]
    keep = kept_ring[ring_of]
    renumbered = np.cumsum(kept_ring) - 1
    texts = encode_rings(rounded[keep], renumbered[ring_of[keep]])
    polygons: list[list[list[str]]] = [[] for _ in codes]
    for ring, text in zip(np.flatnonzero(kept_ring).tolist(), texts):
        part = int(ring_part[ring])
        ward_polygons = polygons[int(part_ward[part])]
        if is_exterior[ring]:
            ward_polygons.append([])
        ward_polygons[-1].append(text)

    west, south, east, north = shapely.bounds(simplified).T
    points = {ward["ward_code"]: (ward["longitude"], ward["latitude"]) for ward in wards}
    x = np.array([points[code][0] for code in codes])
    y = np.array([points[code][1] for code in codes])
    inside = shapely.contains_xy(simplified, x, y) | shapely.intersects_xy(shapely.boundary(simplified), x, y)
    rows, problems, scale = [], [], 10**PRECISION
    for position, code in enumerate(codes):
        method = outlines.methods[positions[position]]
        if not polygons[position]:
            problems.append(f"ward {code}: its outline vanishes when simplified and rounded")
            continue
        outline = joined_outline(polygons[position])
        distance = 0.0 if inside[position] else round(distance_to_edge_m(decode_outline(outline), points[code]), 1)
        if method == EXACT and distance > MAX_DISTANCE_M:
            problems.append(f"outline {code} ({outlines.source_ids[positions[position]]}): the ward's map point is "
                            f"{distance:.0f} m outside it (limit {MAX_DISTANCE_M:.0f} m)")
        rows.append({
            "ward_code": code,
            "outline": outline,
            "method": method,
            "basis": outlines.bases[positions[position]],
            "source_id": outlines.source_ids[positions[position]],
            "point_inside": int(inside[position]),
            "distance_m": distance,
            "west": math.floor(west[position] * scale) / scale,
            "south": math.floor(south[position] * scale) / scale,
            "east": math.ceil(east[position] * scale) / scale,
            "north": math.ceil(north[position] * scale) / scale,
        })
    if problems:
        raise BuildError("ward outlines are missing or disagree with the map points", problems[:20])
    return rows
