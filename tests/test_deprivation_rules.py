"""The rules of leftbehind/deprivation.py and similar.py on the tiny hand-written world, in memory:
the 10% line, the two tests, errors that name the file and the record, small inputs."""

from __future__ import annotations

import json
import sqlite3

import numpy as np
import pytest

from support import tiny
from support.tiny import source_tables

from leftbehind.build import Inputs
from leftbehind.deprivation import meets_both, ten_percent_line
from leftbehind.errors import BuildError
from leftbehind.similar import similar_ward_rows, sort_key


def tiny_inputs(**changes) -> Inputs:
    world = tiny.inputs()
    tables = source_tables(**changes)
    return Inputs(world.catalogue, {k: t.source for k, t in tables.items()}, tables)


def test_the_10_percent_line_is_a_tenth_of_the_wards_ranked():
    assert [ten_percent_line(n) for n in (7433, 7421, 10, 9)] == [743, 742, 1, 0]


def test_both_tests_known_or_unknown():
    assert meets_both(1, 1, 1, 1) == 1
    assert meets_both(2, 1, 1, 1) == 0
    assert meets_both(None, 1, 5, 1) == 0  # failing one test is enough to say no
    assert meets_both(1, 1, None, 1) is None  # meets one, the other unknown: cannot be told


def test_tiny_world_figures():
    wards = {ward["ward_code"]: ward for ward in tiny_inputs().wards}
    assert wards["E1"]["imd2019_ward_score"] == 45.5 and wards["E1"]["imd2019_ward_rank"] == 1
    assert wards["E2"]["imd2019_ward_rank"] == 2 and wards["E3"]["imd2019_ward_rank"] is None
    # E1: L1 (1,000 people) -> N1 (50); L2 (3,000) split equally into N2a (40) and N2b (20).
    assert wards["E1"]["imd2025_ward_score"] == round((1000 * 50 + 1500 * 40 + 1500 * 20) / 4000, 4)
    assert wards["E2"]["cni2023_ward_score"] == 60.0 and wards["E3"]["cni2023_ward_score"] is None
    # Three wards: the 10% line is rank 0, so no ward meets either test.
    assert {w["reproduced_2020"] for w in wards.values()} == {0}


def test_an_lsoa_2021_missing_from_an_index_is_named():
    rows = [{"lsoa21_code": n, "IMD_score": v} for n, v in [("N1", 50.0), ("N2a", 40.0), ("N3", 10.0)]]
    with pytest.raises(BuildError) as caught:
        tiny_inputs(imd2025_lsoa=rows).wards
    assert ("source 'imd2025_lsoa' (imd2025_lsoa.rda): no row for LSOA N2b (from LSOA11 L2 of ward E1)"
            in caught.value.report())


def test_an_lsoa_2021_listed_twice_is_named():
    rows = [{"lsoa21_code": n, "Community Needs Index 2023 Score": "1"} for n in ("N1", "N2a", "N2b", "N3", "N2a")]
    with pytest.raises(BuildError) as caught:
        tiny_inputs(cni2023_lsoa=rows).wards
    assert ("source 'cni2023_lsoa' (cni2023_lsoa.csv): line 6, column 'lsoa21_code': LSOA N2a is listed twice"
            in caught.value.report())


def test_ward_figures_for_an_unknown_ward_or_missing_a_ward_are_named():
    row = {"Score": "1", **{f"{d}_Score": "1" for d in ("Income", "Employment", "Education", "Health", "Crime",
                                                          "Housing_and_Access", "Environment")}}
    with pytest.raises(BuildError) as caught:
        tiny_inputs(imd2019_ward=[{"WD17CD": "E1", **row}, {"WD17CD": "E9", **row}]).wards
    assert ("source 'imd2019_ward' (imd2019_ward.csv): line 3, column 'WD17CD': E9 is not a December 2017 ward"
            in caught.value.report())
    with pytest.raises(BuildError) as caught:
        tiny_inputs(imd2019_ward=[{"WD17CD": "E1", **row}]).wards
    assert "source 'imd2019_ward' (imd2019_ward.csv): no row for CNI ward E2, which has best-fit LSOAs" in caught.value.report()
    with pytest.raises(BuildError) as caught:
        tiny_inputs(imd2019_ward=[{"WD17CD": "E1", **row}, {"WD17CD": "E2", **row, "Score": "high"}]).wards
    assert "line 3, column 'Score': 'high' is not a number" in caught.value.report()


def test_similar_wards_in_a_small_world():
    """Fewer wards than candidates: measured exactly. A ward without IMD figures (E3) is never
    listed for one that has them, and is compared with every other ward on the CNI."""
    rows = similar_ward_rows(tiny_inputs().wards)
    lists = {row["ward_code"]: json.loads(row["similar_ward_codes"]) for row in rows}
    assert lists == {"E1": ["E2"], "E2": ["E1"], "E3": ["E2", "E1"]}
    distances = {row["ward_code"]: json.loads(row["distances"]) for row in rows}
    assert {code: len(listed) for code, listed in distances.items()} == {"E1": 1, "E2": 1, "E3": 2}
    assert all(distance > 0 for listed in distances.values() for distance in listed)
    assert distances["E3"] == sorted(distances["E3"])  # nearest first


def test_the_tiny_world_writes_every_new_table(tmp_path):
    path = tiny.database(tmp_path / "tiny.db")
    with sqlite3.connect(path) as conn:
        lines = dict(conn.execute("select id, wards_ranked from ten_percent_lines"))
        counts = conn.execute("select count(*) from similar_ward_lists, json_each(similar_ward_codes)").fetchone()[0]
        england = conn.execute(
            "select wards from left_behind_2020_in_2025_by_region where region_name = 'England'").fetchone()[0]
    assert lines == {"cni2019": 3, "imd2019": 2, "cni2023": 2, "imd2025": 2}
    assert counts == 4 and england == 2


@pytest.mark.parametrize("largest", [1000, 2**60])  # the second does not fit one int64 key: ranks instead
def test_one_sort_key_orders_as_the_columns_do(largest):
    rng = np.random.default_rng(23)
    first, second, third = (rng.integers(0, high, 5000) for high in (50, largest, 7))
    expected = np.lexsort((third, second, first))
    assert (np.argsort(sort_key(first, second, third), kind="stable") == expected).all()
