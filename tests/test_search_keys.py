"""Search keys and encoded outlines: the small pieces the site reads the new tables with."""

from __future__ import annotations

import pytest

from leftbehind.polyline import decode_outline, decode_ring, encode_outline, encode_ring
from leftbehind.search_keys import search_key


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("St Helens", "St. Helens"),
        ("saint helens", "St. Helens"),
        ("Clacton on Sea", "Clacton-on-Sea"),
        ("Harbour and Victoria", "Harbour & Victoria"),
        ("bockings elm", "Bocking's Elm"),
        ("Moss Bay Allerdale", "Moss Bay, Allerdale"),
        ("Ynys Mon", "Ynys Môn"),
        ("  newcastle   upon tyne", "Newcastle upon Tyne"),
    ],
)
def test_what_people_type_and_the_stored_name_give_one_key(typed, stored):
    assert search_key(typed) == search_key(stored)


def test_keys_hold_only_lower_case_letters_digits_and_single_spaces():
    key = search_key("  St. Mary's & All-Saints (Ward 2), Barrow-in-Furness ")
    assert key == "st marys and all saints ward 2 barrow in furness"


def test_the_published_example_polyline_decodes():
    """Google's documented example, at its precision 5: (38.5, -120.2), (40.7, -120.95), (43.252, -126.453)."""
    assert decode_ring("_p~iF~ps|U_ulLnnqC_mqNvxq`@", 5) == [(-120.2, 38.5), (-120.95, 40.7), (-126.453, 43.252)]
    assert encode_ring([(-120.2, 38.5), (-120.95, 40.7), (-126.453, 43.252)], 5) == "_p~iF~ps|U_ulLnnqC_mqNvxq`@"


def test_outlines_are_stored_at_precision_4():
    """Units of 0.0001 degree: a point encodes as one ten times nearer zero does at precision 5."""
    assert encode_ring([(-120.2, 38.5)]) == encode_ring([(-12.02, 3.85)], 5) == "o}nV~sjhA"
    assert decode_ring("o}nV~sjhA") == [(-120.2, 38.5)]
    assert decode_ring(encode_ring([(-3.56789, 54.64321)])) == [(-3.5679, 54.6432)]


def test_an_outline_with_a_hole_and_an_island_round_trips():
    outline = [
        [[(-1.52, 52.4), (-1.5, 52.4), (-1.5, 52.42), (-1.52, 52.42), (-1.52, 52.4)],
         [(-1.515, 52.405), (-1.515, 52.415), (-1.505, 52.415), (-1.505, 52.405), (-1.515, 52.405)]],
        [[(-1.48, 52.4), (-1.47, 52.4), (-1.47, 52.41), (-1.48, 52.4)]],
    ]
    assert decode_outline(encode_outline(outline)) == outline


def test_a_damaged_polyline_is_refused():
    with pytest.raises(ValueError):
        decode_ring("_p~iF~ps|U_ulLnnqC_mqNvxq`")  # cut inside a number
    with pytest.raises(ValueError):
        decode_ring("_p~iF~ps|U\x01")
