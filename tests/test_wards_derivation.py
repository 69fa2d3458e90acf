"""Deriving the wards (leftbehind/wards.py) from small hand-written source tables, in memory.

Three invented wards in two invented districts stand in for the real files, so each
rule is checked in milliseconds: flags, points, population, IMD context, and the
errors that name the file, the line and the column.
"""

from __future__ import annotations

import pytest

from support.tiny import cni_row, source_tables, table

from leftbehind.errors import BuildError
from leftbehind.wards import (
    LOCATION_LABEL_POINT,
    LOCATION_LSOA_CENTROIDS,
    imd_context,
    left_behind_change,
    population_by_lsoa,
    ward_rows,
    weighted_point,
)


def test_three_wards_derived():
    wards = {w["ward_code"]: w for w in ward_rows(source_tables())}
    assert list(wards) == ["E1", "E2", "E3"]
    assert [wards[c]["left_behind_change"] for c in wards] == ["in both sets", "joined in 2020", None]
    assert wards["E1"]["population"] == 4000 and wards["E3"]["population"] is None
    assert wards["E1"]["region_name"] == "North"
    assert (wards["E1"]["latitude"], wards["E1"]["location_method"]) == (53.1, LOCATION_LABEL_POINT)
    # E2's label point is corrupt, so its point is its one LSOA's centroid.
    assert (wards["E2"]["latitude"], wards["E2"]["longitude"]) == (52.0, -2.0)
    assert wards["E2"]["location_method"] == LOCATION_LSOA_CENTROIDS
    assert wards["E1"]["population_share_in_imd_decile_1_lsoas"] == 0.25  # 1,000 of 4,000 people in decile 1
    assert wards["E1"]["cni_rank"] == 1 and wards["E1"]["cni_score"] == 9.9


def test_left_behind_change():
    assert left_behind_change(1, 1) == "in both sets"
    assert left_behind_change(0, 1) == "joined in 2020"
    assert left_behind_change(1, 0) == "left in 2020"
    assert left_behind_change(0, 0) is None


def test_weighted_point_and_imd_context():
    points = {"a": (50.0, 0.0), "b": (52.0, 2.0)}
    population = {"a": 1.0, "b": 3.0}
    assert weighted_point(["a", "b"], points, population) == (51.5, 1.5)
    assert weighted_point([], points, population) is None
    assert imd_context(["a", "b"], {"a": 1, "b": 2}, population)["population_share_in_imd_decile_1_lsoas"] == 0.25
    assert imd_context([], {}, population)["lsoa_count"] is None


def test_a_bad_flag_names_the_file_line_and_column():
    rows = [cni_row("E1", "One", "D1", 1, "MAYBE")] + [cni_row("E2", "Two", "D1", 2, "TRUE"), cni_row("E3", "Three", "D2", 3, "FALSE")]
    with pytest.raises(BuildError) as caught:
        ward_rows(source_tables(cni2020=rows))
    assert "source 'cni2020' (cni2020.csv): line 2, column 'Left Behind Area?': 'MAYBE' is not TRUE or FALSE" in caught.value.report()


def test_a_bad_number_in_an_r_file_names_its_row():
    rows = [{"lsoa11_code": "L1", "total_population": 1000.0}, {"lsoa11_code": "L2", "total_population": None},
            {"lsoa11_code": "L3", "total_population": 1.0}]
    with pytest.raises(BuildError) as caught:
        population_by_lsoa(table("population", rows, "rda"))
    assert "source 'population' (population.rda): row 2, column 'total_population': None is not a number" in caught.value.report()


def test_a_ward_without_a_region_is_named():
    regions = [{"LAD17CD": "D1", "LAD17NM": "District D1", "RGN17CD": "R1", "RGN17NM": "North"}]
    with pytest.raises(BuildError) as caught:
        ward_rows(source_tables(lad_region_lookup=regions))
    assert "ward E3: LAD D2 is not in lad_region_lookup.csv" in caught.value.report()


def test_a_ward_the_lookup_places_elsewhere_is_named():
    lookup = [{"WD17CD": "E1", "WD17NM": "One", "LAD17CD": "D2"}, {"WD17CD": "E2", "WD17NM": "Two", "LAD17CD": "D1"},
              {"WD17CD": "E3", "WD17NM": "Three", "LAD17CD": "D2"}]
    with pytest.raises(BuildError) as caught:
        ward_rows(source_tables(ward_lad_lookup=lookup))
    assert "ward E1: LAD D1 but ward_lad_lookup.csv gives D2" in caught.value.report()


def test_an_lsoa_without_a_population_is_named():
    population = [{"lsoa11_code": "L1", "total_population": 1.0}, {"lsoa11_code": "L3", "total_population": 1.0}]
    with pytest.raises(BuildError) as caught:
        ward_rows(source_tables(population=population))
    assert "source 'population' (population.rda): lacks 1 LSOAs of CNI wards, such as L2" in caught.value.report()


def test_ranks_must_follow_the_scores():
    """Ranks are standard competition ranks: 1 = highest score; a tie shares the better rank."""
    rows = [cni_row("E1", "One", "D1", 1, "TRUE"), cni_row("E2", "Two", "D1", 2, "TRUE"),
            cni_row("E3", "Three", "D2", 3, "FALSE")]
    rows[1]["Community Needs Index score"] = rows[0]["Community Needs Index score"]  # a tie at rank 1 ...
    with pytest.raises(BuildError) as caught:  # ... so E2's rank should be 1, not 2
        ward_rows(source_tables(cni2020=rows))
    assert "column 'Community Needs Index rank': E2: cni_rank 2 but the scores give 1" in caught.value.report()
    rows[1]["Community Needs Index rank"] = "1"
    rows[2]["Community Needs Index rank"] = "3"  # competition ranking skips 2 after a tie
    wards = {w["ward_code"]: w for w in ward_rows(source_tables(cni2020=rows))}
    assert (wards["E1"]["cni_rank"], wards["E2"]["cni_rank"], wards["E3"]["cni_rank"]) == (1, 1, 3)


def test_location_precision_is_read_from_the_text():
    points = [{"wdcd": "E1", "longitude": "-1.10000", "latitude": "53.10000"},
              {"wdcd": "E2", "longitude": "-2.0", "latitude": "50.0"},
              {"wdcd": "E3", "longitude": "-3.0", "latitude": "51.000001"}]
    wards = {w["ward_code"]: w for w in ward_rows(source_tables(ward_points=points))}
    assert wards["E1"]["location_precision"] == "exact to ~1 m"
    assert wards["E2"]["location_precision"] == "computed to ~0.1 m"  # its label point is corrupt
    assert wards["E3"]["location_precision"] == "rounded to 0.1 degree (up to ~7 km off)"
