"""Point precision from source text, rank ties, and the IMD share's zero cases."""

from __future__ import annotations

import pytest

from leftbehind.credibility import (
    EXACT_LABEL,
    competition_ranks,
    coordinate_decimals,
    distance_m,
    imd_decile_counts,
    is_low_precision,
    location_precision,
    rank_problems,
    rounding_error_m,
    tied_ranks,
    wards_with_no_decile1_lsoa,
)


@pytest.mark.parametrize(
    ("text", "decimals"),
    [
        ("-0.4", 1),
        ("52.132889", 6),
        ("50.0", 1),
        ("-0.40", 2),  # the text, not the number, says how it was written
        ("52", 0),
        (" 1.5 ", 1),
        ("1e-05", 5),
        ("-7.000000000000001e-05", 20),
    ],
)
def test_coordinate_decimals_come_from_the_text(text: str, decimals: int) -> None:
    assert coordinate_decimals(text) == decimals


@pytest.mark.parametrize("text", ["", "north", "nan", "inf"])
def test_coordinate_decimals_refuse_non_numbers(text: str) -> None:
    with pytest.raises(ValueError):
        coordinate_decimals(text)


def test_location_precision_labels_the_coarser_axis() -> None:
    assert location_precision("-1.234567", "52.123456") == EXACT_LABEL
    assert location_precision("-1.23456", "52.12345") == EXACT_LABEL
    assert location_precision("-1.2345", "52.123456") == "to 0.0001 degree (within ~7 m)"
    assert location_precision("-0.73", "51.536331") == "rounded to 0.01 degree (up to ~700 m off)"
    assert location_precision("1.170377", "51.27") == "rounded to 0.01 degree (up to ~700 m off)"
    assert location_precision("-0.4", "52.132889") == "rounded to 0.1 degree (up to ~7 km off)"
    assert location_precision("-2", "52") == "rounded to 1 degree (up to ~70 km off)"


def test_low_precision_means_two_decimals_or_fewer_on_either_axis() -> None:
    assert is_low_precision("-0.73", "51.536331")
    assert is_low_precision("-0.4", "52.132889")
    assert not is_low_precision("-0.731", "51.536331")


def test_rounding_error_is_half_a_step_on_each_axis() -> None:
    # Longitude to 0.1 degree at 52.13 N: half a step is 0.05 degree, which is
    # 111,195 m x cos(52.13) x 0.05 = 3,413 m (worked by hand).
    assert rounding_error_m("-0.4", "52.132889") == pytest.approx(3413, abs=2)
    # Latitude to 0.01 degree: 0.005 degree of latitude is 556 m anywhere.
    assert rounding_error_m("1.170377", "51.27") == pytest.approx(556, abs=1)
    assert rounding_error_m("1.123456", "51.123456") < 0.1


def test_distance_m_is_great_circle_metres() -> None:
    assert distance_m((52.0, -1.0), (53.0, -1.0)) == pytest.approx(111_195, abs=1)
    assert distance_m((52.0, -1.0), (52.0, -1.0)) == 0.0


def test_competition_ranks_share_the_best_place_and_skip_the_next() -> None:
    scores = {"a": 10.0, "b": 9.0, "c": 9.0, "d": 8.0}
    assert competition_ranks(scores) == {"a": 1, "b": 2, "c": 2, "d": 4}
    assert competition_ranks(scores, highest_first=False) == {"a": 4, "b": 2, "c": 2, "d": 1}


def test_rank_problems_catch_dense_and_ordinal_rankings() -> None:
    scores = {"a": 10.0, "b": 9.0, "c": 9.0, "d": 8.0}
    assert rank_problems(scores, {"a": 1, "b": 2, "c": 2, "d": 4}) == []
    assert rank_problems(scores, {"a": 1, "b": 2, "c": 2, "d": 3}, label="CNI rank") == [
        "d: CNI rank 3 but the scores give 4"
    ]
    assert rank_problems(scores, {"a": 1, "b": 2, "c": 3, "d": 4}) == ["c: rank 3 but the scores give 2"]
    assert rank_problems(scores, {"a": 1, "b": 2, "c": 2}) == ["d: rank None but the scores give 4"]


def test_tied_ranks() -> None:
    assert tied_ranks({"a": 1, "b": 2, "c": 2, "d": 4, "e": 5, "f": 5, "g": 5}) == {2: ["b", "c"], 5: ["e", "f", "g"]}
    assert tied_ranks({"a": 1, "b": 2}) == {}


def test_wards_with_no_lsoa_in_decile_1() -> None:
    deciles = {"L1": 1, "L2": 2, "L3": 2, "L4": 3}
    ward_lsoas = {"W1": ["L1", "L2"], "W2": ["L2", "L3", "L4"], "W3": []}
    assert imd_decile_counts(ward_lsoas["W2"], deciles) == {2: 2, 3: 1}
    assert wards_with_no_decile1_lsoa(["W3", "W2", "W1", "W4"], ward_lsoas, deciles) == {"W2": {2: 2, 3: 1}}
