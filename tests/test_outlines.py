"""Outlines as GeoJSON and the point-in-outline check, on small hand-drawn shapes."""

from __future__ import annotations

import json
import math

import numpy
import pytest

from leftbehind.errors import BuildError
from leftbehind.outlines import (
    SOURCE_2019,
    SOURCE_2020,
    SOURCE_COUNCILS,
    check_outline_coverage,
    contains,
    council_at_point,
    council_outline_rows,
    distance_to_edge_m,
    geojson_text,
    plain_multipolygon,
    point_check,
    rounded_multipolygon,
    rounded_ring,
    signed_area,
    ward_outline_rows,
    ward_outline_sources,
)

# A 0.02-degree square near Coventry with a 0.01-degree square hole in the middle,
# its exterior drawn clockwise (as many sf files are), and a small island to the east.
SQUARE = [(-1.52, 52.40), (-1.52, 52.42), (-1.50, 52.42), (-1.50, 52.40), (-1.52, 52.40)]
HOLE = [(-1.515, 52.405), (-1.505, 52.405), (-1.505, 52.415), (-1.515, 52.415), (-1.515, 52.405)]
ISLAND = [(-1.48, 52.40), (-1.47, 52.40), (-1.47, 52.41), (-1.48, 52.41), (-1.48, 52.40)]
SHAPE = [[SQUARE, HOLE], [ISLAND]]
METRES_PER_DEGREE = math.pi / 180 * 6_371_008.8


def rdata_geometry(shape: list) -> list:
    """The nesting rdata gives an sf MULTIPOLYGON: polygon -> ring -> (n, 2) array."""
    return [[numpy.array(ring) for ring in polygon] for polygon in shape]


def test_rdata_nesting_becomes_plain_tuples() -> None:
    plain = plain_multipolygon(rdata_geometry(SHAPE))
    assert plain == SHAPE
    assert all(type(value) is float for polygon in plain for ring in polygon for point in ring for value in point)


def test_rings_are_rounded_without_repeats_and_stay_closed() -> None:
    ring = [(0.123456, 1.0), (0.123457, 1.0), (0.2, 1.0), (0.2, 1.1), (0.1234561, 1.0000001)]
    assert rounded_ring(ring, 5) == [(0.12346, 1.0), (0.2, 1.0), (0.2, 1.1), (0.12346, 1.0)]


def test_a_ring_that_collapses_when_rounded_is_dropped() -> None:
    sliver = [(0.0, 0.0), (0.000001, 0.0), (0.000001, 0.000001), (0.0, 0.0)]
    assert rounded_ring(sliver, 5) is None
    # A hole that collapses goes; the polygon stays.
    assert rounded_multipolygon([[SQUARE, sliver]]) == [[list(reversed(SQUARE))]]
    with pytest.raises(ValueError, match="no polygon left"):
        rounded_multipolygon([[sliver]])


def test_exteriors_are_anticlockwise_and_holes_clockwise() -> None:
    assert signed_area(SQUARE) < 0 and signed_area(HOLE) > 0  # as drawn: the wrong way round
    geometry = rounded_multipolygon(SHAPE)
    assert signed_area(geometry[0][0]) > 0
    assert signed_area(geometry[0][1]) < 0
    assert signed_area(geometry[1][0]) > 0


def test_geojson_text_is_compact_and_valid() -> None:
    text = geojson_text(rounded_multipolygon([[[(-1.5200004, 52.4), (-1.5, 52.4), (-1.5, 52.42), (-1.5200004, 52.4)]]]))
    assert " " not in text
    assert json.loads(text) == {
        "type": "MultiPolygon",
        "coordinates": [[[[-1.52, 52.4], [-1.5, 52.4], [-1.5, 52.42], [-1.52, 52.4]]]],
    }


@pytest.mark.parametrize(
    ("point", "inside"),
    [
        ((-1.518, 52.41), True),  # in the square, west of the hole
        ((-1.51, 52.41), False),  # in the hole
        ((-1.475, 52.405), True),  # on the island
        ((-1.49, 52.41), False),  # between the square and the island
        ((-1.51, 52.43), False),  # north of everything
    ],
)
def test_contains_respects_holes_and_every_polygon(point: tuple[float, float], inside: bool) -> None:
    assert contains(rounded_multipolygon(SHAPE), point) is inside


def test_distance_to_the_edge_is_in_metres() -> None:
    geometry = rounded_multipolygon(SHAPE)
    # 0.01 degrees due north of the square's top edge.
    assert distance_to_edge_m(geometry, (-1.51, 52.43)) == pytest.approx(0.01 * METRES_PER_DEGREE, rel=1e-3)
    # Between square and island: 0.01 degrees of longitude to either, shortened by cos(latitude).
    expected = 0.01 * METRES_PER_DEGREE * math.cos(math.radians(52.41))
    assert distance_to_edge_m(geometry, (-1.49, 52.41)) == pytest.approx(expected, rel=1e-3)
    # In the hole: 0.005 degrees of longitude to the hole's edge.
    expected = 0.005 * METRES_PER_DEGREE * math.cos(math.radians(52.41))
    assert distance_to_edge_m(geometry, (-1.51, 52.41)) == pytest.approx(expected, rel=1e-3)


def test_point_check() -> None:
    geometry = rounded_multipolygon(SHAPE)
    assert point_check(geometry, (-1.518, 52.41)) == (1, 0.0)
    inside, distance = point_check(geometry, (-1.51, 52.43))
    assert inside == 0 and distance == pytest.approx(1112, abs=1)


def outline_row(code: str, shape: list) -> dict:
    return {"lba_code": code, "lba_name": f"Ward {code}", "geometry": rdata_geometry(shape)}


def test_ward_outlines_come_from_2020_then_2019_and_only_for_england() -> None:
    rows_2020 = [outline_row("E1", [[SQUARE]]), outline_row("W1", [[ISLAND]])]
    rows_2019 = [outline_row("E1", [[ISLAND]]), outline_row("E2", [[ISLAND]]), outline_row("S1", [[SQUARE]])]
    sources = ward_outline_sources(rows_2020, rows_2019)
    assert list(sources) == ["E1", "E2"]
    assert sources["E1"] == (SOURCE_2020, [[SQUARE]])
    assert sources["E2"] == (SOURCE_2019, [[ISLAND]])


def test_an_outline_file_that_repeats_a_ward_is_refused() -> None:
    with pytest.raises(BuildError, match="repeats") as error:
        ward_outline_sources([], [outline_row("E1", [[SQUARE]]), outline_row("E1", [[ISLAND]])], ("a", "source 'x' (x.rda)"))
    assert error.value.problems == ["source 'x' (x.rda): row 2: area E1 has a second outline"]


def test_an_outline_that_vanishes_when_rounded_is_named() -> None:
    speck = [(-1.5, 52.4), (-1.500001, 52.4), (-1.500001, 52.400001), (-1.5, 52.4)]
    with pytest.raises(BuildError, match="vanishes") as error:
        ward_outline_rows({"E1": (SOURCE_2020, [[speck]])}, {"E1": (-1.5, 52.4)})
    assert error.value.problems == [f"outline E1 ({SOURCE_2020}): the outline has no polygon left after rounding"]


def test_outline_coverage_must_match_the_flagged_wards() -> None:
    check_outline_coverage(["E1", "E2"], {"E2", "E1"})
    with pytest.raises(BuildError) as error:
        check_outline_coverage(["E1", "E3"], ["E1", "E2"])
    assert error.value.problems == [
        "ward E2 is flagged but has no outline",
        "outline E3 is for a ward not flagged in either set",
    ]


def test_ward_outline_rows() -> None:
    sources = {"E2": (SOURCE_2019, [[ISLAND]]), "E1": (SOURCE_2020, SHAPE)}
    points = {"E1": (-1.51, 52.41), "E2": (-1.475, 52.405)}  # E1's point sits in its hole
    rows = ward_outline_rows(sources, points)
    assert [(row["ward_code"], row["source_id"], row["point_inside"]) for row in rows] == [
        ("E1", SOURCE_2020, 0),
        ("E2", SOURCE_2019, 1),
    ]
    assert rows[0]["distance_m"] == pytest.approx(340, abs=1)
    assert rows[1]["distance_m"] == 0.0
    assert json.loads(rows[0]["geojson"])["coordinates"][0][1]  # the hole is kept


def test_a_point_far_outside_its_outline_fails_the_build() -> None:
    sources = {"E1": (SOURCE_2020, [[SQUARE]])}
    with pytest.raises(BuildError) as error:
        ward_outline_rows(sources, {"E1": (-1.51, 52.43)}, max_distance_m=500)
    assert error.value.problems == [
        f"outline E1 ({SOURCE_2020}): the ward's map point is 1112 m outside it (limit 500 m)"
    ]
    assert ward_outline_rows(sources, {"E1": (-1.51, 52.43)}, max_distance_m=2000)[0]["point_inside"] == 0
    with pytest.raises(BuildError, match="no map point"):
        ward_outline_rows(sources, {})


def test_council_outline_rows_and_the_council_at_a_point() -> None:
    rows = [
        {"ltla24_code": "E2", "ltla24_name": "Two", "geometry": rdata_geometry([[ISLAND]])},
        {"ltla24_code": "E1", "ltla24_name": "One", "geometry": rdata_geometry(SHAPE)},
        {"ltla24_code": "W1", "ltla24_name": "Wales", "geometry": rdata_geometry([[SQUARE]])},
    ]
    council_rows = council_outline_rows(rows, ["E2", "E1"])
    assert [(row["lad24_code"], row["source_id"]) for row in council_rows] == [("E1", SOURCE_COUNCILS), ("E2", SOURCE_COUNCILS)]
    with pytest.raises(BuildError, match="has no outline"):
        council_outline_rows(rows, ["E1", "E3"])
    shapes = {"E1": [[SQUARE]], "E2": [[ISLAND]]}
    assert council_at_point(shapes, (-1.475, 52.405)) == ("E2", 0.0)
    code, distance = council_at_point(shapes, (-1.4745, 52.42))
    assert code == "E2" and distance == pytest.approx(0.01 * METRES_PER_DEGREE, rel=1e-3)
    assert council_at_point({}, (0.0, 0.0)) is None
