"""A location's ward: the ward whose outline holds the point, and those near a boundary.

Every ward has an outline in ``ward_shapes`` (leftbehind.db), each with its bounding box.
One request reads only the outlines whose boxes come within ``NEAR_APPROXIMATE_M`` of the
point (an indexed range on the boxes), decodes those few, and tests each: whether it holds
the point and how far its boundary is. The ward holding the point comes first, an exact
outline before an approximate one, as postcodes.db places postcodes
(``leftbehind/postcodes.py``); every other ward whose outline lies within 100 m (250 m when
the answer's outline is approximate) is stated as possible. A point in no outline and near
none is not in England (or out at sea), and no ward is put first: so no left-behind ward
comes first unless the point is inside it.
"""

from __future__ import annotations

import json
import math
from typing import Any

from leftbehind.polyline import decode_outline
from leftbehind.site.pages.geometry import geometry_contains
from leftbehind.site.pages.reading import DATABASE, fetch_rows, ward_link

NEAR_EXACT_M = 100.0  # as postcodes.db's also_possible
NEAR_APPROXIMATE_M = 250.0
METRES_PER_DEGREE_LAT = 111_320.0

SHAPES_SQL = """
select ward_code, outline, method from ward_shapes
where south <= :north and north >= :south and west <= :east and east >= :west
"""
WARDS_SQL = """
select ward_code, ward_name, lad_code, lad_name, lad24_code, lad24_name, region_code, region_name,
  left_behind_change, left_behind_2020, left_behind_2019, cni_rank
from wards where ward_code in (select value from json_each(:codes))
"""


def segment_distance(ax: float, ay: float, bx: float, by: float) -> float:
    """Distance from the origin to the segment from (ax, ay) to (bx, by)."""
    dx, dy = bx - ax, by - ay
    length = dx * dx + dy * dy
    t = 0.0 if length == 0 else max(0.0, min(1.0, -(ax * dx + ay * dy) / length))
    return math.hypot(ax + t * dx, ay + t * dy)


def boundary_distance_m(polygons, longitude: float, latitude: float) -> float:
    """Metres from the point to the nearest edge of the outline (a local flat projection:
    exact enough over the few hundred metres that matter here)."""
    x_scale = METRES_PER_DEGREE_LAT * math.cos(math.radians(latitude))
    best = math.inf
    for rings in polygons:
        for ring in rings:
            points = [((lon - longitude) * x_scale, (lat - latitude) * METRES_PER_DEGREE_LAT) for lon, lat in ring]
            for (ax, ay), (bx, by) in zip(points, points[1:] + points[:1]):
                best = min(best, segment_distance(ax, ay, bx, by))
    return best


async def outlines_near(db, latitude: float, longitude: float) -> list[dict[str, Any]]:
    """The outlines within NEAR_APPROXIMATE_M of the point: whether each holds it, and how far
    its boundary is (metres)."""
    dlat = NEAR_APPROXIMATE_M / METRES_PER_DEGREE_LAT
    dlon = dlat / max(math.cos(math.radians(latitude)), 0.01)
    rows = await fetch_rows(
        db, SHAPES_SQL,
        {"south": latitude - dlat, "north": latitude + dlat, "west": longitude - dlon, "east": longitude + dlon},
    )
    found = []
    for row in rows:
        polygons = decode_outline(row["outline"])
        inside = geometry_contains(polygons, longitude, latitude)
        distance = boundary_distance_m(polygons, longitude, latitude)
        if inside or distance <= NEAR_APPROXIMATE_M:
            found.append({"code": row["ward_code"], "method": row["method"], "inside": inside, "edge_m": distance})
    return found


async def located(datasette, latitude: float, longitude: float) -> dict[str, Any]:
    """The ward holding the point (or None), and the wards it may also be in."""
    db = datasette.get_database(DATABASE)
    near = await outlines_near(db, latitude, longitude)
    holding = sorted((o for o in near if o["inside"]), key=lambda o: (o["method"] != "exact", -o["edge_m"]))
    answer = holding[0] if holding else None
    limit = NEAR_EXACT_M if answer and answer["method"] == "exact" else NEAR_APPROXIMATE_M
    others = sorted(
        (o for o in near if o is not answer and (o["inside"] or o["edge_m"] <= limit)),
        key=lambda o: (not o["inside"], 0.0 if o["inside"] else o["edge_m"]),
    )
    codes = ([answer["code"]] if answer else []) + [o["code"] for o in others]
    rows = {row["ward_code"]: row for row in await fetch_rows(db, WARDS_SQL, {"codes": json.dumps(codes)})}

    def described(outline: dict[str, Any]) -> dict[str, Any]:
        row = rows[outline["code"]]
        link = ward_link(datasette, row)
        today = row.get("lad24_name")
        link.update({
            "method": outline["method"],
            "inside": outline["inside"],
            "edge_m": round(outline["edge_m"]),
            "today": today if today and today != row["lad_name"] else None,
            "council_code": row["lad_code"],
            "today_code": row.get("lad24_code"),
            "left_behind_2020": row.get("left_behind_2020"),
            "left_behind_2019": row.get("left_behind_2019"),
        })
        return link

    return {
        "latitude": latitude,
        "longitude": longitude,
        "located": True,
        "ward": described(answer) if answer else None,
        "also_possible": [described(o) for o in others if o["code"] in rows],
        "near_m": round(limit),
        "in_england": answer is not None or bool(others),
    }
