"""Every December 2017 ward's outline, in metres, and the map the postcodes are placed on.

No single source outlines the 2017 wards. Three pieces make them, in this order:

1. **exact**: the December 2019 ward outlines (source ``ward_outlines_2019``) whose code is
   also a 2017 code. Under the ONS coding policy a ward keeps its code only while its
   boundary is unchanged, so those outlines are the 2017 wards' own (5,335 wards);
2. **exact**: the flagged wards' own December 2017 outlines (the British Red Cross files,
   ``lba_outlines_2020`` and ``lba_outlines_2019``) for those of the 230 that changed
   before 2019 (47);
3. **approximate**: for every other ward (changed before 2019), the union of the LSOAs
   (2011, ``lsoa_outlines``) that the ONS best-fit lookup (``lsoa_ward_lookup``) gives it,
   clipped to the land of the changed wards: the 2019 wards whose codes are new cover
   exactly the 2017 wards that changed (an unchanged ward takes the same land in both
   years), less the flagged wards' exact outlines. Clipping keeps an approximate outline
   off its exact neighbours.

The geometry is done in British National Grid metres (EPSG:27700), the frame of the
postcodes' grid references, so that distances are plain metres. The outlines come in
longitude and latitude (CRS84) and are converted with pyproj: without the OSTN15 grid
(not shipped with pyproj, and no network here) PROJ picks the Helmert transformation
'OSGB36 to WGS 84 (6)'. Measured on the 7,219 ward label points that source
``ward_outlines_2019`` gives both ways (BNG_E/BNG_N and LONG/LAT): median 1.8 m, at most
4.9 m apart, far below what the generalised outlines can show (tens of metres).
``check_transformation`` repeats that measurement on every build.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely

from leftbehind.errors import BuildError
from leftbehind.outlines import MultiPolygon

WGS84 = "EPSG:4326"
BNG = "EPSG:27700"
# The build fails when ONS's own pairs of label points disagree by more than this after
# conversion: the sign that PROJ fell back to a coarse transformation.
MAX_TRANSFORMATION_ERROR_M = 10.0

# Outlines are stored simplified by this many metres (Douglas-Peucker, shapes kept valid).
OUTLINE_TOLERANCE_M = 10.0
EXACT, APPROXIMATE = "exact", "approximate"
# An approximate outline that clipping would cut below this share of its LSOAs' area keeps
# them whole: its LSOAs then lie mostly on unchanged land, and nothing better is known.
MIN_APPROXIMATE_SHARE = 0.05
# Gaps smaller than this (square metres) between outlines of different sources are slivers.
MIN_GAP_M2 = 2_000.0
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
    BASIS_LSOAS: "the union of the LSOAs (2011) the ONS best-fit lookup gives the ward, less the land of "
                 "the wards with exact outlines, plus any land of the wards changed before 2019 that no "
                 "outline covers, given to the ward whose LSOAs cover most of the December 2019 ward it is in",
    BASIS_LABEL_LSOA: "the LSOA (2011) that holds the ward's label point, less the land of the wards with "
                      "exact outlines: the best-fit lookup gives this ward, smaller than an LSOA, none of its own",
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
    """Each 2017 ward's outline in BNG metres, how it was made and from which source.

    ``changed_land`` holds the outlines of the 2019 wards with new codes, which cover the
    land of the 2017 wards that changed before 2019: a point there in no outline must lie
    in a changed ward.
    """

    codes: list[str]
    geometries: np.ndarray
    methods: list[str]
    source_ids: list[str]
    changed_land: np.ndarray
    bases: list[str] | None = None

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
    shapes_2019 = bng_shapes(wards_2019)
    kept = np.array([code in universe for code in codes_2019])
    outlines: dict[str, tuple[Any, str, str, str]] = {
        code: (shape, EXACT, SOURCE_WARDS_2019, BASIS_2019)
        for code, shape, keep in zip(codes_2019, shapes_2019, kept) if keep
    }
    own = sorted(code for code in flagged if code in universe and code not in outlines)
    own_shapes = _valid(geometries_to(np.array([multipolygon_geometry(flagged[code][1]) for code in own]), to_bng))
    for code, shape in zip(own, own_shapes):
        outlines[code] = (shape, EXACT, flagged[code][0], BASIS_OWN)

    lsoa_shapes = bng_shapes(lsoas)
    approximate = lsoa_unions(lsoas, lsoa_wards, universe - set(outlines), lsoa_shapes)
    bases = {code: BASIS_LSOAS for code in approximate}
    for code, shape in label_lsoas(lsoa_shapes, universe - set(outlines) - set(approximate), label_points or {}).items():
        approximate[code], bases[code] = shape, BASIS_LABEL_LSOA
    approximate_codes = sorted(approximate)
    unions = np.array([approximate[code] for code in approximate_codes])
    exact_codes = sorted(outlines)
    clipped = without_neighbours(
        unions,
        np.array([outlines[code][0] for code in exact_codes]),
        np.array([outlines[code][2] == SOURCE_WARDS_2019 for code in exact_codes]),
    )
    own_land = own_shapes if own else np.array([], dtype=object)
    filled = with_changed_land_filled(clipped, shapes_2019[~kept], own_land)
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
    )


def bng_shapes(table: Any) -> np.ndarray:
    """The geometries of a GeoJSON source table in BNG metres, made valid."""
    return _valid(geometries_to(np.array([row["geometry"] for row in table.rows]), to_bng))


def lsoa_unions(lsoas: Any, lsoa_wards: Mapping[str, str], ward_codes: set[str], shapes: np.ndarray | None = None) -> dict[str, Any]:
    """For each ward of ``ward_codes`` that the best-fit lookup gives LSOAs, the union of
    their outlines (BNG): the land whose people the ward counts. ``shapes``: the LSOAs'
    outlines already converted (``bng_shapes``)."""
    shapes = bng_shapes(lsoas) if shapes is None else shapes
    groups: dict[str, list[int]] = {}
    for position, row in enumerate(lsoas.rows):
        ward = lsoa_wards.get(row["LSOA11CD"])
        if ward in ward_codes:
            groups.setdefault(ward, []).append(position)
    # LSOAs tile the land (shared edges match exactly), so the coverage union gives what
    # union_all gives, measured identical on 1,500 wards, six times faster.
    return {code: shapely.coverage_union_all(shapes[positions]) for code, positions in sorted(groups.items())}


def label_lsoas(shapes: np.ndarray, ward_codes: set[str], label_points: Mapping[str, tuple[float, float]]) -> dict[str, Any]:
    """For each of ``ward_codes`` with a label point, the outline (BNG) of the LSOA holding it."""
    codes = sorted(code for code in ward_codes if code in label_points)
    if not codes:
        return {}
    x, y = to_bng(np.array([label_points[c][0] for c in codes]), np.array([label_points[c][1] for c in codes]))
    point_at, shape_at = shapely.STRtree(shapes).query(shapely.points(x, y), predicate="intersects")
    return {codes[point]: shapes[shape] for point, shape in zip(point_at.tolist(), shape_at.tolist())}


def without_neighbours(approximate: np.ndarray, exact: np.ndarray, in_coverage: np.ndarray) -> np.ndarray:
    """Each approximate outline less the exact outlines it overlaps.

    The land left is that of the wards that changed before 2019 (an exact outline is an
    unchanged ward's, or a flagged ward's own), done one ward at a time against only the
    exact outlines it touches: one difference against the union of all changed land took
    ten times longer. The 2019 outlines (``in_coverage``) tile the land without overlaps,
    so they are joined with the fast coverage union; the flagged wards' own outlines, from
    another source, are taken off one by one. A ward left with (almost) nothing keeps its
    whole union.
    """
    ward_at, exact_at = shapely.STRtree(exact).query(approximate, predicate="intersects")
    clipped = approximate.copy()
    for position in np.unique(ward_at):
        neighbours = exact_at[ward_at == position]
        rest = shapely.difference(approximate[position], shapely.coverage_union_all(exact[neighbours[in_coverage[neighbours]]]))
        for other in exact[neighbours[~in_coverage[neighbours]]]:
            rest = shapely.difference(rest, other)
        if not shapely.is_empty(rest) and shapely.area(rest) >= MIN_APPROXIMATE_SHARE * shapely.area(approximate[position]):
            clipped[position] = rest
    return _polygonal(clipped)


def with_changed_land_filled(approximate: np.ndarray, changed: np.ndarray, own: np.ndarray) -> np.ndarray:
    """The approximate outlines with the land of the changed wards that none of them covers
    added to one of them.

    An LSOA can be best fit to an unchanged ward while part of it lies in a changed one:
    that part would then be in no outline (up to kilometres of a large rural ward). Each
    2019 ward with a new code (``changed``) lies within the changed 2017 wards; what of it
    no approximate outline and no flagged ward's own outline (``own``) covers is given to
    the approximate ward that covers most of it (else the nearest).
    """
    result = approximate.copy()
    covered = np.concatenate([approximate, own])
    tree = shapely.STRtree(covered)
    approximate_tree = shapely.STRtree(approximate)
    changed_at, covered_at = tree.query(changed, predicate="intersects")
    additions: dict[int, list[Any]] = {}
    for position, shape in enumerate(changed):
        touching = covered_at[changed_at == position]
        rest = shapely.difference(shape, shapely.union_all(covered[touching])) if len(touching) else shape
        if shapely.is_empty(rest) or shapely.area(rest) < MIN_GAP_M2:
            continue
        candidates = touching[touching < len(approximate)]
        if len(candidates):
            overlaps = shapely.area(shapely.intersection(shape, approximate[candidates]))
            taker = int(candidates[int(np.argmax(overlaps))])
        else:
            taker = int(approximate_tree.query_nearest(shapely.point_on_surface(rest))[0])
        additions.setdefault(taker, []).append(rest)
    for taker, pieces in additions.items():
        result[taker] = shapely.union_all([result[taker], *pieces])
    return _polygonal(result)


def _polygonal(geometries: np.ndarray) -> np.ndarray:
    """Only the polygons of each geometry: an intersection can leave stray lines and points."""
    result = geometries.copy()
    for position, geometry in enumerate(geometries):
        if shapely.get_type_id(geometry) == 7:  # GeometryCollection
            parts = [part for part in shapely.get_parts(geometry) if shapely.get_type_id(part) in (3, 6)]
            result[position] = shapely.union_all(parts)
    return result


def rounded_ring_array(ring: np.ndarray, decimals: int) -> np.ndarray | None:
    """A ring's (x, y) rows rounded, without consecutive repeats, closed; None when fewer than
    four positions or no area are left (a sliver under a metre or so)."""
    points = np.round(ring, decimals)
    keep = np.ones(len(points), dtype=bool)
    keep[1:] = (points[1:] != points[:-1]).any(axis=1)
    points = points[keep]
    if len(points) and (points[0] != points[-1]).any():
        points = np.vstack([points, points[:1]])
    if len(points) < 4:
        return None
    x, y = points[:, 0], points[:, 1]
    if np.dot(x[:-1], y[1:]) - np.dot(x[1:], y[:-1]) == 0:
        return None
    return points


def multipolygon_lists(geometry: Any, decimals: int) -> MultiPolygon:
    """A shapely (Multi)Polygon, already wound as RFC 7946 asks, as nested lists of rounded
    (x, y) tuples (polygon -> ring -> point); rounding done in numpy, degenerate rings dropped."""
    result: MultiPolygon = []
    for part in shapely.get_parts(geometry):
        if shapely.get_type_id(part) != 3 or shapely.is_empty(part):  # keep polygons only
            continue
        holes = shapely.get_interior_ring(part, np.arange(shapely.get_num_interior_rings(part)))
        rings = [rounded_ring_array(shapely.get_coordinates(ring), decimals) for ring in [shapely.get_exterior_ring(part), *holes]]
        if rings[0] is None:
            continue
        result.append([list(map(tuple, ring.tolist())) for ring in rings if ring is not None])
    return result


def stored_outlines(outlines: WardOutlines, tolerance_m: float, decimals: int = 5) -> list[MultiPolygon]:
    """The outlines as stored and drawn: simplified by ``tolerance_m`` metres (shapes kept
    valid), in longitude and latitude rounded to ``decimals`` places, exteriors anticlockwise."""
    simplified = shapely.simplify(outlines.geometries, tolerance_m, preserve_topology=True)
    wound = shapely.orient_polygons(geometries_to(simplified, to_wgs84), exterior_cw=False)
    return [multipolygon_lists(shape, decimals) for shape in wound]
