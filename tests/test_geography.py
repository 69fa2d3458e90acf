"""Today's geography of a ward, on a small hand-made world (no source data).

The world: council C1 (region R1) has 2024 wards X and Y, council C2 (region
R2) has 2024 ward Z. LSOA 2011s:
  A (100 people) unchanged          -> a  (in X)
  B (60 people)  split in two       -> b1 (in X), b2 (in Z)
  D (30 people), E (50 people) merged -> de (in Y)
  F (40 people) irregular, two rows -> f1 (in Y), f2 (in Z)
  G (10 people) irregular, one row  -> de (in Y)
"""

from __future__ import annotations

import pytest

from leftbehind.errors import BuildError
from leftbehind.geography import (
    SHARE_UNITS,
    Council24,
    Ward24,
    councils24,
    lad24_without_lsoas,
    largest_remainder,
    local_authority_2017_columns,
    local_authority_2024_rows,
    lsoa21_parts,
    majority_key,
    successors_2024,
    ward_columns_2024,
    ward_geographies,
    ward_geography,
    ward_link_rows,
    wards24_by_lsoa21,
)

LSOA11_LSOA21 = [
    {"lsoa11_code": "A", "change_code": "U", "lsoa21_code": "a"},
    {"lsoa11_code": "B", "change_code": "S", "lsoa21_code": "b1"},
    {"lsoa11_code": "B", "change_code": "S", "lsoa21_code": "b2"},
    {"lsoa11_code": "D", "change_code": "M", "lsoa21_code": "de"},
    {"lsoa11_code": "E", "change_code": "M", "lsoa21_code": "de"},
    {"lsoa11_code": "F", "change_code": "X", "lsoa21_code": "f1"},
    {"lsoa11_code": "F", "change_code": "X", "lsoa21_code": "f2"},
    {"lsoa11_code": "G", "change_code": "X", "lsoa21_code": "de"},
]
LSOA21_WARD24 = [
    {"lsoa21_code": "a", "ward24_code": "X", "ward24_name": "Ex", "ltla24_code": "C1", "ltla24_name": "One"},
    {"lsoa21_code": "b1", "ward24_code": "X", "ward24_name": "Ex", "ltla24_code": "C1", "ltla24_name": "One"},
    {"lsoa21_code": "b2", "ward24_code": "Z", "ward24_name": "Zed", "ltla24_code": "C2", "ltla24_name": "Two"},
    {"lsoa21_code": "de", "ward24_code": "Y", "ward24_name": "Why", "ltla24_code": "C1", "ltla24_name": "One"},
    {"lsoa21_code": "f1", "ward24_code": "Y", "ward24_name": "Why", "ltla24_code": "C1", "ltla24_name": "One"},
    {"lsoa21_code": "f2", "ward24_code": "Z", "ward24_name": "Zed", "ltla24_code": "C2", "ltla24_name": "Two"},
]
COUNCIL_REGIONS = [
    {"ltla24_code": "C1", "ltla24_name": "One", "region24_code": "R1", "region24_name": "Region one"},
    {"ltla24_code": "C2", "ltla24_name": "Two", "region24_code": "R2", "region24_name": "Region two"},
    {"ltla24_code": "C3", "ltla24_name": "Three", "region24_code": "R1", "region24_name": "Region one"},
]
POPULATION = {"A": 100.0, "B": 60.0, "D": 30.0, "E": 50.0, "F": 40.0, "G": 10.0}
WARD_LSOAS = {"W1": ["A", "B"], "W2": ["D", "E"], "W3": ["F"], "W4": ["G"]}
# 2017 wards: W1, W2 in old council L1 ("One"), W3 in L2 ("Old two"), W4 in L3 ("Gone"),
# W5 in L1 with no best-fit LSOA.
WARDS = [
    {"ward_code": "W1", "lad_code": "L1", "lad_name": "One", "left_behind_2020": 1, "left_behind_2019": 0},
    {"ward_code": "W2", "lad_code": "L1", "lad_name": "One", "left_behind_2020": 0, "left_behind_2019": 1},
    {"ward_code": "W3", "lad_code": "L2", "lad_name": "Old two", "left_behind_2020": 1, "left_behind_2019": 1},
    {"ward_code": "W4", "lad_code": "L3", "lad_name": "Gone", "left_behind_2020": 0, "left_behind_2019": 0},
    {"ward_code": "W5", "lad_code": "L1", "lad_name": "One", "left_behind_2020": 0, "left_behind_2019": 0},
]


def world() -> tuple[dict, dict, dict]:
    return lsoa21_parts(LSOA11_LSOA21), wards24_by_lsoa21(LSOA21_WARD24), councils24(COUNCIL_REGIONS)


def geographies() -> dict:
    parts, wards24, _ = world()
    return ward_geographies([w["ward_code"] for w in WARDS], WARD_LSOAS, POPULATION, parts, wards24)


def test_split_and_irregular_lsoas_share_people_equally_merges_pass_all() -> None:
    parts = lsoa21_parts(LSOA11_LSOA21)
    assert parts["A"] == {"a": 1.0}
    assert parts["B"] == {"b1": 0.5, "b2": 0.5}
    assert parts["D"] == {"de": 1.0} and parts["E"] == {"de": 1.0}
    assert parts["F"] == {"f1": 0.5, "f2": 0.5}
    assert parts["G"] == {"de": 1.0}


def test_a_three_way_split_gives_a_third_each() -> None:
    rows = [{"lsoa11_code": "S", "change_code": "S", "lsoa21_code": code} for code in ("s3", "s1", "s2")]
    assert lsoa21_parts(rows) == {"S": {"s1": 1 / 3, "s2": 1 / 3, "s3": 1 / 3}}


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ([{"lsoa11_code": "A", "change_code": "Q", "lsoa21_code": "a"}], "row 1 (LSOA11 A): change_code 'Q'"),
        ([{"lsoa11_code": "B", "change_code": "S", "lsoa21_code": "b"}], "LSOA11 B: change_code 'S' (split) but only one"),
        (
            [{"lsoa11_code": "A", "change_code": "U", "lsoa21_code": c} for c in ("a1", "a2")],
            "LSOA11 A: change_code 'U' but 2 LSOA21s",
        ),
        (
            [{"lsoa11_code": "B", "change_code": "S", "lsoa21_code": c} for c in ("b1", "b1", "b2")],
            "row 2 (LSOA11 B): LSOA21 b1 listed twice",
        ),
        (
            [
                {"lsoa11_code": "B", "change_code": "S", "lsoa21_code": "b1"},
                {"lsoa11_code": "B", "change_code": "X", "lsoa21_code": "b2"},
            ],
            "row 2 (LSOA11 B): change_code 'X' but an earlier row says 'S'",
        ),
    ],
)
def test_an_inconsistent_lsoa_lookup_is_named_row_by_row(rows: list[dict], expected: str) -> None:
    with pytest.raises(BuildError) as error:
        lsoa21_parts(rows, label="source 'lsoa11_lsoa21' (file.rda)")
    assert any(expected in problem for problem in error.value.problems), error.value.problems
    assert all(problem.startswith("source 'lsoa11_lsoa21' (file.rda)") for problem in error.value.problems)


def test_the_2024_ward_lookup_rejects_repeats_and_wards_in_two_councils() -> None:
    repeated = LSOA21_WARD24 + [dict(LSOA21_WARD24[0])]
    with pytest.raises(BuildError, match="inconsistent") as error:
        wards24_by_lsoa21(repeated)
    assert "LSOA21 a listed twice" in error.value.problems[0]
    moved = [dict(LSOA21_WARD24[0]), {**LSOA21_WARD24[1], "ltla24_code": "C2"}]
    with pytest.raises(BuildError) as error:
        wards24_by_lsoa21(moved)
    assert "ward X has a second name or council" in error.value.problems[0]


def test_a_ward_is_followed_through_its_lsoas_to_its_2024_wards() -> None:
    parts, wards24, _ = world()
    geography = ward_geography("W1", WARD_LSOAS["W1"], POPULATION, parts, wards24)
    # A: 100 people to X; B: 30 to X (b1) and 30 to Z (b2). 130 / 160 = 0.8125.
    assert [(link.ward24.code, link.people, link.share_units) for link in geography.links] == [
        ("X", 130, 8125),
        ("Z", 30, 1875),
    ]
    assert geography.lad24_code == "C1"
    assert geography.lad24_share_units == 8125


def test_merged_lsoas_give_their_whole_people_to_the_one_2024_ward() -> None:
    parts, wards24, _ = world()
    geography = ward_geography("W2", WARD_LSOAS["W2"], POPULATION, parts, wards24)
    assert [(link.ward24.code, link.people, link.share_units) for link in geography.links] == [("Y", 80, SHARE_UNITS)]


def test_an_even_split_between_councils_goes_to_the_lower_council_code() -> None:
    parts, wards24, _ = world()
    # F's people are halved between f1 (Y, council C1) and f2 (Z, council C2).
    geography = ward_geography("W3", ["F"], POPULATION, parts, wards24)
    assert geography.lad24_code == "C1"
    assert geography.lad24_share_units == 5000
    assert sorted(link.people for link in geography.links) == [20, 20]


def test_the_result_does_not_depend_on_the_order_of_the_lookup_rows() -> None:
    forward = geographies()
    parts = lsoa21_parts(list(reversed(LSOA11_LSOA21)))
    wards24 = wards24_by_lsoa21(list(reversed(LSOA21_WARD24)))
    backward = ward_geographies(["W5", "W4", "W3", "W2", "W1"], WARD_LSOAS, POPULATION, parts, wards24)
    assert list(backward) == list(forward) == ["W1", "W2", "W3", "W4", "W5"]
    assert backward == forward


def test_people_add_up_to_the_ward_population_and_shares_to_exactly_one() -> None:
    parts = {"L": {"p": 1 / 3, "q": 1 / 3, "r": 1 / 3}}
    wards24 = {code: Ward24(code.upper(), code, "C1") for code in "pqr"}
    geography = ward_geography("W", ["L"], {"L": 100.0}, parts, wards24)
    assert sum(link.people for link in geography.links) == 100
    assert sum(link.share_units for link in geography.links) == SHARE_UNITS
    # 33.33... each: the one spare person and the one spare unit go to the lowest code.
    assert [(link.ward24.code, link.people, link.share_units) for link in geography.links] == [
        ("P", 34, 3334),
        ("Q", 33, 3333),
        ("R", 33, 3333),
    ]


def test_a_ward_without_lsoas_has_no_2024_geography() -> None:
    assert geographies()["W5"] is None


def test_an_lsoa_missing_from_a_lookup_is_named_with_its_ward() -> None:
    parts, wards24, _ = world()
    with pytest.raises(BuildError) as error:
        ward_geography("W9", ["A", "Q"], {**POPULATION, "Q": 5.0}, parts, wards24)
    assert error.value.problems == ["ward W9: LSOA11 Q has no row in the LSOA11->LSOA21 lookup"]
    del wards24["b2"]
    with pytest.raises(BuildError) as error:
        ward_geography("W1", ["A", "B"], POPULATION, parts, wards24)
    assert error.value.problems == ["ward W1: LSOA21 b2 (from LSOA11 B) has no row in the LSOA21->WD24 lookup"]


def test_largest_remainder_is_exact_and_breaks_ties_by_key() -> None:
    assert largest_remainder({"b": 1.0, "a": 1.0, "c": 1.0}, 10) == {"a": 4, "b": 3, "c": 3}
    assert largest_remainder({"a": 0.0, "b": 0.0}, 3) == {"a": 2, "b": 1}
    assert largest_remainder({"a": 2.0, "b": 1.0}, 0) == {"a": 0, "b": 0}
    with pytest.raises(ValueError):
        largest_remainder({}, 5)


def test_majority_key_prefers_the_lower_key_on_a_tie() -> None:
    assert majority_key({"C2": 5.0, "C1": 5.0, "C3": 4.0}) == "C1"
    assert majority_key({"C2": 6.0, "C1": 5.0}) == "C2"


def test_ward_columns_2024() -> None:
    _, _, councils = world()
    found = geographies()
    assert ward_columns_2024(found["W1"], councils) == {
        "lad24_code": "C1",
        "lad24_name": "One",
        "lad24_population_share": 0.8125,
        "wards24_count": 2,
    }
    assert ward_columns_2024(found["W5"], councils) == dict.fromkeys(
        ("lad24_code", "lad24_name", "lad24_population_share", "wards24_count")
    )
    assert ward_columns_2024(found["W5"], councils, "C1") == {
        "lad24_code": "C1",
        "lad24_name": "One",
        "lad24_population_share": None,
        "wards24_count": None,
    }


def test_a_council_missing_from_the_region_lookup_is_named() -> None:
    councils = councils24(COUNCIL_REGIONS[1:])
    with pytest.raises(BuildError) as error:
        ward_columns_2024(geographies()["W1"], councils)
    assert error.value.problems == ["ward W1: council C1 has no row in the LAD24->region lookup"]


def test_ward_link_rows() -> None:
    rows = ward_link_rows(geographies())
    assert rows == [
        {"ward_code": "W1", "ward24_code": "X", "ward24_name": "Ex", "lad24_code": "C1", "population": 130, "population_share": 0.8125},
        {"ward_code": "W1", "ward24_code": "Z", "ward24_name": "Zed", "lad24_code": "C2", "population": 30, "population_share": 0.1875},
        {"ward_code": "W2", "ward24_code": "Y", "ward24_name": "Why", "lad24_code": "C1", "population": 80, "population_share": 1.0},
        {"ward_code": "W3", "ward24_code": "Y", "ward24_name": "Why", "lad24_code": "C1", "population": 20, "population_share": 0.5},
        {"ward_code": "W3", "ward24_code": "Z", "ward24_name": "Zed", "lad24_code": "C2", "population": 20, "population_share": 0.5},
        {"ward_code": "W4", "ward24_code": "Y", "ward24_name": "Why", "lad24_code": "C1", "population": 10, "population_share": 1.0},
    ]


def test_successors_and_the_council_of_a_ward_without_lsoas() -> None:
    found = geographies()
    assert successors_2024(WARDS, found) == {"L1": "C1", "L2": "C1", "L3": "C1"}
    # W5's 2017 council L1 lies wholly in C1 (W1 and W2 are both mostly there).
    assert lad24_without_lsoas(WARDS, found) == {"W5": "C1"}
    # Were W2 mostly in C2, L1 would be split between councils: no council for W5.
    split = dict(found)
    split["W2"] = type(found["W2"])("W2", "C2", SHARE_UNITS, found["W2"].links)
    assert lad24_without_lsoas(WARDS, split) == {}


def test_local_authority_2024_rows() -> None:
    _, _, councils = world()
    found = geographies()
    rows = {row["lad24_code"]: row for row in local_authority_2024_rows(WARDS, found, councils, {"W5": "C1"})}
    assert list(rows) == ["C1", "C2", "C3"]
    assert rows["C1"] == {
        "lad24_code": "C1",
        "lad24_name": "One",
        "region_code": "R1",
        "region_name": "Region one",
        "wards_2017_count": 5,  # W1..W4 by most people, W5 by its 2017 council
        "left_behind_2020_count": 2,  # W1, W3 (W3 by the lower code on its tie)
        "left_behind_2019_count": 2,  # W2, W3
        "left_behind_2020_population": 130 + 20,  # W1's people in X, W3's in Y
        "councils_2017": "Gone; Old two; One",
        "name_new_since_2017": 0,
    }
    # C2 holds no ward by most people, but people of the 2020 set live there.
    assert rows["C2"]["wards_2017_count"] == 0
    assert rows["C2"]["left_behind_2020_population"] == 30 + 20
    assert rows["C2"]["councils_2017"] is None and rows["C2"]["name_new_since_2017"] is None
    total_2020 = sum(link.people for code in ("W1", "W3") for link in found[code].links)
    assert sum(row["left_behind_2020_population"] for row in rows.values()) == total_2020


def test_a_renamed_or_merged_council_is_new_since_2017() -> None:
    councils = {"C1": Council24("C1", "Merged", "R1", "Region one"), "C2": Council24("C2", "Two", "R2", "Region two")}
    rows = local_authority_2024_rows(WARDS[:2], geographies(), councils)
    assert rows[0]["councils_2017"] == "One"
    assert rows[0]["name_new_since_2017"] == 1


def test_local_authority_rows_name_a_council_missing_from_the_region_lookup() -> None:
    councils = councils24(COUNCIL_REGIONS[:1])
    with pytest.raises(BuildError) as error:
        local_authority_2024_rows(WARDS, geographies(), councils)
    assert "council C2, which has no row in the LAD24->region lookup" in error.value.problems[0]


def test_what_each_2017_council_is_today() -> None:
    councils = {
        "C1": Council24("C1", "One", "R1", "Region one"),
        "C2": Council24("C2", "Two", "R2", "Region two"),
    }
    assert local_authority_2017_columns(WARDS, geographies(), councils) == {
        "L1": {"lad24_code": "C1", "lad24_name": "One", "name_in_use_2024": 1},
        "L2": {"lad24_code": "C1", "lad24_name": "One", "name_in_use_2024": 0},
        "L3": {"lad24_code": "C1", "lad24_name": "One", "name_in_use_2024": 0},
    }
