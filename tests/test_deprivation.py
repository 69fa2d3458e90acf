"""Ward deprivation, the definition reproduced, the 2025 re-run and similar wards, on the real build.

Every expected value is recomputed here from the source files with short pandas (and
numpy) code of its own, sharing nothing with leftbehind/deprivation.py, geography.py or
similar.py, and compared with what the database holds.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadr
import pytest

from leftbehind.build import DEFAULT_CACHE_DIR, ROOT
from leftbehind.sources import load_manifest, locate_source

MANIFEST = load_manifest(ROOT / "data" / "sources.yml")
DOMAINS = {  # file 22's prefixes and the wards columns they become
    "Income": "income", "Employment": "employment", "Education": "education", "Health": "health",
    "Crime": "crime", "Housing_and_Access": "housing_and_services", "Environment": "living_environment",
}
LAINDON_PARK, MOSS_BAY = "E05004026", "E05003132"


@pytest.fixture(scope="module")
def path(sources_dir):
    return lambda source_id: locate_source(MANIFEST[source_id], sources_dir, DEFAULT_CACHE_DIR)


@pytest.fixture(scope="module")
def cni(path) -> pd.DataFrame:
    frame = pd.read_csv(path("cni2020"), usecols=["ward17_code", "ward17_name", "Community Needs Index rank",
                                                  "Left Behind Area?"])
    return frame.rename(columns={"ward17_code": "ward_code", "Community Needs Index rank": "cni_rank",
                                 "Left Behind Area?": "official"}).set_index("ward_code")


@pytest.fixture(scope="module")
def imd2019(path, cni) -> pd.DataFrame:
    """File 22 for the CNI's wards, with ranks among those that have a score (1 = most deprived)."""
    frame = pd.read_csv(path("imd2019_ward")).set_index("WD17CD")
    frame = frame[frame.index.isin(cni.index)]
    frame["rank"] = frame["Score"].rank(ascending=False, method="min").astype(int)
    return frame


@pytest.fixture(scope="module")
def averages_2025(path, cni) -> pd.DataFrame:
    """Each CNI ward's mid-2017 people followed into LSOAs 2021 (a split LSOA's people shared equally),
    and the people-weighted mean of the LSOAs' IMD 2025 and CNI 2023 scores, rounded to 4 decimals."""
    best_fit = pd.read_csv(path("lsoa_ward_lookup"), usecols=["LSOA11CD", "WD17CD"])
    population = pyreadr.read_r(str(path("population")))["population17_lsoa11"]
    to21 = pyreadr.read_r(str(path("lsoa11_lsoa21")))["lookup_lsoa11_lsoa21_ltla22"][["lsoa11_code", "lsoa21_code"]]
    imd = pyreadr.read_r(str(path("imd2025_lsoa")))["imd2025_england_lsoa21"][["lsoa21_code", "IMD_score"]]
    cni23 = pd.read_csv(path("cni2023_lsoa"), usecols=["lsoa21_code", "Community Needs Index 2023 Score"])
    people = best_fit.merge(population, left_on="LSOA11CD", right_on="lsoa11_code").merge(to21, on="lsoa11_code")
    people["people"] = people["total_population"] / people.groupby("lsoa11_code")["lsoa21_code"].transform("count")
    people = people.merge(imd, on="lsoa21_code").merge(cni23, on="lsoa21_code")
    for score in ("IMD_score", "Community Needs Index 2023 Score"):
        people[score] = people[score] * people["people"]
    people = people[people["WD17CD"].isin(cni.index)]
    sums = people.groupby("WD17CD")[["people", "IMD_score", "Community Needs Index 2023 Score"]].sum()
    return pd.DataFrame({
        "imd2025": (sums["IMD_score"] / sums["people"]).round(4),
        "cni2023": (sums["Community Needs Index 2023 Score"] / sums["people"]).round(4),
    })


@pytest.fixture(scope="module")
def wards(db_path: Path) -> pd.DataFrame:
    with sqlite3.connect(db_path) as conn:
        return pd.read_sql("select * from wards", conn).set_index("ward_code")


def line(ranked: int) -> int:
    """The 10% of ``ranked`` wards: ranks up to a tenth of them."""
    return ranked // 10


def test_ward_imd_2019_is_file_22s(wards, imd2019, cni):
    scored = wards[wards["imd2019_ward_score"].notna()]
    assert set(scored.index) == set(imd2019.index)
    assert len(cni) - len(scored) == 12  # the wards with no best-fit LSOA have no figure
    assert (scored["imd2019_ward_score"] == imd2019.loc[scored.index, "Score"]).all()
    assert (scored["imd2019_ward_rank"] == imd2019.loc[scored.index, "rank"]).all()
    for prefix, name in DOMAINS.items():
        expected = imd2019.loc[scored.index, f"{prefix}_Score"]
        assert (scored[f"imd2019_{name}_score"] == expected).all(), name
        assert (scored[f"imd2019_{name}_rank"] == expected.rank(ascending=False, method="min")).all(), name


def test_the_definition_reproduced_and_every_difference(wards, imd2019, cni, db_path):
    in_cni = cni["cni_rank"] <= line(len(cni))
    in_imd = imd2019["rank"] <= line(len(imd2019))
    reproduced = set(cni.index[in_cni]) & set(imd2019.index[in_imd])
    official = set(cni.index[cni["official"]])
    # SOURCES.md, file 22: 225 wards in both 10%, 218 of them the official 225.
    assert (len(reproduced), len(reproduced & official), len(official)) == (225, 218, 225)
    assert set(wards.index[wards["reproduced_2020"] == 1]) == reproduced
    # No ward that meets the CNI test lacks an IMD figure, so reproduced_2020 is never unknown.
    assert wards["reproduced_2020"].notna().all()
    # Ranking the IMD among all 7,433 wards (line 743) would give the same wards.
    assert set(cni.index[in_cni]) & set(imd2019.index[imd2019["rank"] <= line(len(cni))]) == reproduced
    with sqlite3.connect(db_path) as conn:
        listed = pd.read_sql("select * from reproduction_differences", conn).set_index("ward_code")
    assert set(listed.index) == (official - reproduced) | (reproduced - official)
    for code, row in listed.iterrows():
        assert row["difference"] == ("in the official 2020 set, not reproduced" if code in official
                                     else "reproduced, not in the official 2020 set")
        assert (row["cni_rank"], row["imd2019_ward_rank"]) == (cni.loc[code, "cni_rank"], imd2019.loc[code, "rank"])
        assert f"{imd2019.loc[code, 'rank']:,}" in row["likely_reason"]
    # Winton's CNI rank lies beyond every official ward's, so its reason is the CNI's; the others' the IMD's.
    lowest_official = cni.loc[list(official), "cni_rank"].max()
    for code, row in listed.iterrows():
        beyond = code not in official and cni.loc[code, "cni_rank"] > lowest_official
        assert ("OCSI's CNI line" in row["likely_reason"]) == beyond
        assert ("OCSI's own ward-level IMD" in row["likely_reason"]) == (not beyond)


def test_laindon_park_meets_the_cni_test_and_misses_the_imd_test(wards, imd2019):
    ward = wards.loc[LAINDON_PARK]
    assert ward["ward_name"] == "Laindon Park" and ward["cni_rank"] == 1
    assert ward["imd2019_ward_rank"] == imd2019.loc[LAINDON_PARK, "rank"] > line(len(imd2019))
    assert ward["reproduced_2020"] == 0 and ward["left_behind_2020"] == 0
    moss_bay = wards.loc[MOSS_BAY]
    assert moss_bay["ward_name"] == "Moss Bay" and moss_bay["left_behind_2020"] == moss_bay["reproduced_2020"] == 1


def test_2025_ward_scores_ranks_and_the_indicative_rerun(wards, averages_2025):
    scored = wards[wards["imd2025_ward_score"].notna()]
    assert set(scored.index) == set(averages_2025.index) == set(wards.index[wards["imd2019_ward_score"].notna()])
    for column, expected in (("imd2025", averages_2025["imd2025"]), ("cni2023", averages_2025["cni2023"])):
        assert np.allclose(scored[f"{column}_ward_score"], expected.loc[scored.index], rtol=0, atol=1e-9), column
        ranks = expected.rank(ascending=False, method="min")
        assert (scored[f"{column}_ward_rank"] == ranks.loc[scored.index]).all(), column
    both = (averages_2025["cni2023"].rank(ascending=False, method="min") <= line(len(averages_2025))) & (
        averages_2025["imd2025"].rank(ascending=False, method="min") <= line(len(averages_2025)))
    assert set(wards.index[wards["indicative_2025"] == 1]) == set(both.index[both])
    assert wards["indicative_2025"].isna().sum() == 12


def test_the_2020_set_in_2025_by_region(wards, averages_2025, db_path):
    flagged = wards[wards["left_behind_2020"] == 1].join(averages_2025)
    lines = line(len(averages_2025))
    flagged["cni"] = averages_2025["cni2023"].rank(ascending=False, method="min").loc[flagged.index] <= lines
    flagged["imd"] = averages_2025["imd2025"].rank(ascending=False, method="min").loc[flagged.index] <= lines
    flagged["both"] = flagged["cni"] & flagged["imd"]
    expected = flagged.groupby("region_name")[["cni", "imd", "both"]].sum()
    expected.loc["England"] = expected.sum()
    with sqlite3.connect(db_path) as conn:
        rows = pd.read_sql("select * from left_behind_2020_in_2025_by_region", conn).set_index("region_name")
        listed = pd.read_sql("select * from left_behind_2020_in_2025", conn)
    assert list(rows.index) == sorted(set(flagged["region_name"])) + ["England"]
    assert rows.loc["England", "wards"] == 225
    for region, row in rows.iterrows():
        assert (row["cni2023_within_line"], row["imd2025_within_line"], row["indicative_2025"]) == tuple(
            expected.loc[region, ["cni", "imd", "both"]]), region
    assert set(listed["ward_code"]) == set(flagged.index)
    assert listed["indicative_2025"].sum() == flagged["both"].sum()


def test_similar_wards_for_a_sample_recomputed_by_brute_force(wards, db_path):
    """z-scores over the wards that have each domain; distance = sqrt(mean of squared differences
    over the CNI domains + the same over the IMD domains); wards without IMD figures on the CNI
    alone (doubled), never listed for a ward that has them; ties to the lower code."""
    cni_columns = ["civic_assets_score", "connectedness_score", "engaged_community_score"]
    imd_columns = [f"imd2019_{name}_score" for name in DOMAINS.values()]
    z = (wards[cni_columns + imd_columns] - wards[cni_columns + imd_columns].mean()) / wards[
        cni_columns + imd_columns].std(ddof=0)
    has_imd = z[imd_columns].notna().all(axis=1)
    without = list(z.index[~has_imd])
    sample = sorted(set(z.sample(25, random_state=23).index) | {LAINDON_PARK, MOSS_BAY, without[0]})
    with sqlite3.connect(db_path) as conn:
        stored = {code: (json.loads(codes), json.loads(distances)) for code, codes, distances in conn.execute(
            "select ward_code, similar_ward_codes, distances from similar_ward_lists")}
    listed = 5  # similar_wards' description: the five wards most like it
    assert set(stored) == set(wards.index)
    assert all(len(codes) == len(distances) == listed for codes, distances in stored.values())
    for code in sample:
        others = z.drop(code)
        cni_part = ((others[cni_columns] - z.loc[code, cni_columns]) ** 2).mean(axis=1)
        if has_imd[code]:
            others_imd = ((others[imd_columns] - z.loc[code, imd_columns]) ** 2).mean(axis=1)
            distance = np.sqrt(cni_part + others_imd)[has_imd.drop(code)]
        else:
            distance = np.sqrt(2 * cni_part)
        expected = sorted(zip(distance.round(4), distance.index))[:listed]
        codes, distances = stored[code]
        assert codes == [other for _, other in expected], code
        assert np.allclose(distances, [d for d, _ in expected], atol=1.01e-4), code


def test_the_similar_wards_view_has_a_row_per_pair_as_the_issue_names_them(db_path):
    """similar_wards (ward_code, similar_ward_code, rank, distance): the stored lists, one row per pair."""
    with sqlite3.connect(db_path) as conn:
        lists = {code: (json.loads(codes), json.loads(distances)) for code, codes, distances in conn.execute(
            "select ward_code, similar_ward_codes, distances from similar_ward_lists")}
        pairs = conn.execute("select ward_code, similar_ward_code, rank, distance from similar_wards").fetchall()
        one = conn.execute("select similar_ward_code from similar_wards where ward_code = ? order by rank",
                           (LAINDON_PARK,)).fetchall()
    expected = {(code, other, rank + 1, distance) for code, (codes, distances) in lists.items()
                for rank, (other, distance) in enumerate(zip(codes, distances))}
    assert len(pairs) == len(expected) == 5 * len(lists)
    assert set(pairs) == expected
    assert [row[0] for row in one] == lists[LAINDON_PARK][0]
