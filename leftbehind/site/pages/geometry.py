"""Points and outlines: distances, and whether a GeoJSON outline holds a point."""

from __future__ import annotations

import math
from typing import Any

EARTH_RADIUS_KM = 6371.0088


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


