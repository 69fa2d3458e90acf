"""Today's geography, the outlines and the figures' caveats, checked on the real build.

The expected answers are computed here from the source files with pandas joins
(pyreadr for the R files), sharing no code with leftbehind/geography.py or
leftbehind/outlines.py, and compared with what SQL on the site answers.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pandas as pd
import pytest
import pyreadr

from leftbehind.build import DEFAULT_CACHE_DIR, ROOT
from leftbehind.sources import load_manifest, locate_source

MANIFEST = load_manifest(ROOT / "data" / "sources.yml")


@pytest.fixture(scope="module")
def source_file(sources_dir):
    def path(source_id: str) -> Path:
        return locate_source(MANIFEST[source_id], sources_dir, DEFAULT_CACHE_DIR)

    return path


@pytest.fixture(scope="module")
def people_by_2024_ward(source_file) -> pd.DataFrame:
    """Each WD17 ward's mid-2017 people in each 2024 ward: best-fit LSOA11s -> LSOA21 -> WD24.

    A split LSOA11's people are divided equally among its LSOA21 rows (the rule the
    project states).
    """
    lookup = pd.read_csv(source_file("lsoa_ward_lookup"), usecols=["LSOA11CD", "WD17CD"])
    population = pyreadr.read_r(str(source_file("population")))["population17_lsoa11"][["lsoa11_code", "total_population"]]
    to21 = pyreadr.read_r(str(source_file("lsoa11_lsoa21")))["lookup_lsoa11_lsoa21_ltla22"][["lsoa11_code", "lsoa21_code"]]
    to24 = pyreadr.read_r(str(source_file("lsoa21_ward24")))["lookup_lsoa21_ward24_ltla24"][
        ["lsoa21_code", "ward24_code", "ward24_name", "ltla24_name"]
    ]
    people = (
        lookup.rename(columns={"LSOA11CD": "lsoa11_code", "WD17CD": "ward_code"})
        .merge(population, on="lsoa11_code")
        .merge(to21, on="lsoa11_code")
    )
    people["people"] = people["total_population"] / people.groupby("lsoa11_code")["lsoa21_code"].transform("count")
    return people.merge(to24, on="lsoa21_code")


@pytest.fixture(scope="module")
def cni(source_file) -> pd.DataFrame:
    frame = pd.read_csv(source_file("cni2020"), usecols=["ward17_code", "ward17_name", "lad19_name", "Left Behind Area?"])
    return frame.rename(columns={"ward17_code": "ward_code"})


async def sql(datasette, query: str) -> list[dict]:
    response = await datasette.client.get("/leftbehind.json", params={"sql": query, "_shape": "objects"})
    assert response.status_code == 200, response.text[:300]
    return response.json()["rows"]


async def test_which_left_behind_neighbourhoods_are_in_cumberland_today(datasette, people_by_2024_ward, cni):
    flagged = set(cni.loc[cni["Left Behind Area?"], "ward_code"])
    by_council = (
        people_by_2024_ward[people_by_2024_ward["ward_code"].isin(flagged)]
        .groupby(["ward_code", "ltla24_name"], as_index=False)["people"].sum()
        .sort_values(["ward_code", "people"], ascending=[True, False])
        .drop_duplicates("ward_code")
    )
    expected = set(by_council.loc[by_council["ltla24_name"] == "Cumberland", "ward_code"])
    rows = await sql(datasette, "select ward_code from wards where left_behind_2020 = 1 and lad24_name = 'Cumberland'")
    assert {row["ward_code"] for row in rows} == expected
    assert expected  # Cumberland was made in 2023 from Allerdale, Carlisle and Copeland


async def test_which_2024_wards_talavera_overlaps(datasette, people_by_2024_ward, cni):
    [code] = cni.loc[(cni["ward17_name"] == "Talavera") & (cni["lad19_name"] == "Northampton"), "ward_code"]
    parts = people_by_2024_ward[people_by_2024_ward["ward_code"] == code].groupby("ward24_code")["people"].sum()
    expected = (parts / parts.sum()).to_dict()
    rows = await sql(datasette, f"""
        select ward24_code, ward24_name, population_share from ward_links_2024
        where ward_code = '{code}' order by population_share desc""")
    assert {row["ward24_code"] for row in rows} == set(expected)
    for row in rows:
        assert row["population_share"] == pytest.approx(expected[row["ward24_code"]], abs=0.00005)
    assert len(rows) >= 2


def test_every_wards_links_add_up(db_path):
    with sqlite3.connect(db_path) as conn:
        bad = conn.execute("""
            select w.ward_code from wards w join ward_links_2024 l using (ward_code)
            group by w.ward_code having sum(l.population) != w.population or abs(sum(l.population_share) - 1) > 1e-9
        """).fetchall()
        without = conn.execute("select count(*) from wards where population is null and lad24_code is null").fetchone()[0]
    assert bad == []
    assert without == 0  # even the wards with no LSOA are placed in today's council


def inside(point: tuple[float, float], polygon: list[list[list[float]]]) -> bool:
    """Even-odd ray casting over every ring (holes included) of one polygon."""
    x, y = point
    crossings = 0
    for ring in polygon:
        for (x1, y1), (x2, y2) in zip(ring, ring[1:]):
            if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
                crossings += 1
    return crossings % 2 == 1


def test_230_outlines_hold_their_wards_points(db_path):
    with sqlite3.connect(db_path) as conn:
        flagged = conn.execute("select count(*) from wards where left_behind_2020 = 1 or left_behind_2019 = 1").fetchone()[0]
        rows = conn.execute("""
            select o.geojson, o.point_inside, o.distance_m, w.longitude, w.latitude, o.source_id
            from ward_outlines o join wards w using (ward_code)""").fetchall()
    assert len(rows) == flagged == 230
    contained = 0
    for geojson, point_inside, distance, longitude, latitude, _ in rows:
        geometry = json.loads(geojson)
        assert geometry["type"] == "MultiPolygon"
        found = any(inside((longitude, latitude), polygon) for polygon in geometry["coordinates"])
        assert found == bool(point_inside)
        assert (distance == 0) == found
        contained += found
    assert contained == 230  # every point lies inside its outline, as SOURCES.md found for the unrounded ones
    assert {row[5] for row in rows} == {"lba_outlines_2020", "lba_outlines_2019"}


def test_twelve_of_the_225_are_in_councils_that_no_longer_have_their_name(db_path):
    with sqlite3.connect(db_path) as conn:
        renamed = conn.execute("""
            select count(*) from wards w join local_authorities l using (lad_code)
            where w.left_behind_2020 = 1 and l.name_in_use_2024 = 0""").fetchone()[0]
        changed = conn.execute("select count(*) from wards where left_behind_2020 = 1 and lad24_name != lad_name").fetchone()[0]
        overlapping = conn.execute("select count(*) from wards where left_behind_2020 = 1 and wards24_count >= 2").fetchone()[0]
    assert renamed == changed == 12
    assert overlapping == 65


def test_low_precision_points_are_flagged(db_path, source_file):
    """Points given with 2 decimals or fewer in the source text are not labelled exact."""
    text = pd.read_csv(source_file("ward_points"), dtype=str)
    short = text[text["longitude"].str.split(".").str[1].str.len().fillna(0).le(2)
                 | text["latitude"].str.split(".").str[1].str.len().fillna(0).le(2)]
    with sqlite3.connect(db_path) as conn:
        flagged = {row[0] for row in conn.execute("select ward_code from wards where location_precision like 'rounded%'")}
        label_points = {row[0] for row in conn.execute("select ward_code from wards where location_method = 'ONS ward label point'")}
        great_barford = conn.execute("select location_precision from wards where ward_name = 'Great Barford'").fetchone()[0]
    assert flagged == set(short["wdcd"]) & label_points
    assert len(flagged) == 6  # as SOURCES.md counts them
    assert "7 km" in great_barford


def test_rank_ties_follow_standard_competition_ranking(db_path):
    with sqlite3.connect(db_path) as conn:
        ties = conn.execute("select cni_rank from wards group by cni_rank having count(*) > 1").fetchall()
        next_rank = conn.execute("select count(*) from wards where cni_rank = 5922").fetchone()[0]
        engaged = conn.execute(
            "select engaged_community_rank from wards group by 1 having count(*) > 1").fetchall()
    assert ties == [(5921,)] and next_rank == 0
    assert engaged == [(1234,)]


def test_the_imd_share_zero_cases_are_explained(db_path, metadata):
    with sqlite3.connect(db_path) as conn:
        zero = conn.execute(
            "select count(*) from wards where left_behind_2020 = 1 and population_share_in_imd_decile_1_lsoas = 0").fetchone()[0]
    description = metadata["databases"]["leftbehind"]["tables"]["wards"]["columns"]["population_share_in_imd_decile_1_lsoas"]
    assert f"{zero} wards of the 2020 set score 0" in " ".join(description.split())
    assert "not OCSI's ward-level IMD" in description


def test_no_source_claims_a_licence_nobody_granted(db_path, metadata):
    with sqlite3.connect(db_path) as conn:
        cni = conn.execute("select licence, licence_url from sources where id in ('cni2020', 'cni2019')").fetchall()
    for licence, url in cni:
        assert licence.startswith("No open licence stated") and url is None
    text = json.dumps(metadata)
    assert "MIT (CNI" not in text and "(MIT)" not in text
