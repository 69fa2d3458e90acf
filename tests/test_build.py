"""The built database: tables, keys, counts, determinism and provenance."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest
import sqlite_utils
import yaml

from leftbehind.build import ROOT, content_tables

# SOURCES.md (an independent check of the files): the wards whose drkane point is corrupt,
# and those to which the LSOA best-fit lookup assigns no LSOA.
CORRUPT_POINT_WARDS = {
    "E05001507", "E05002065", "E05003533", "E05003556", "E05003667", "E05003669",
    "E05004240", "E05004336", "E05004349", "E05005802", "E05005818", "E05005874",
    "E05007238", "E05007618", "E05007624", "E05008683", "E05010444", "E05010547",
}
WARDS_WITHOUT_LSOA = {
    "E05003230", "E05003257", "E05003259", "E05006760", "E05006764", "E05008917",
    "E05008922", "E05009880", "E05010102", "E05010187", "E05010593", "E05010599",
}


@pytest.fixture(scope="module")
def db(db_path: Path) -> sqlite_utils.Database:
    return sqlite_utils.Database(db_path)


def scalar(db: sqlite_utils.Database, sql: str):
    return db.execute(sql).fetchone()[0]


def test_catalogue_counts_match_the_yaml(db, catalogue_yaml):
    for name in ("sessions", "publications", "organisations", "topics"):
        assert db[name].count == len(catalogue_yaml[name])
    links = sum(len(p["organisations"]) for p in catalogue_yaml["publications"])
    assert db["publication_organisations"].count == links
    listings = sum(len(p.get("sessions", [])) for p in catalogue_yaml["publications"])
    assert db["session_publications"].count == listings


def test_foreign_keys_are_declared_and_hold(db):
    assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    declared = {(fk.table, fk.column, fk.other_table) for t in db.tables for fk in t.foreign_keys}
    assert ("publication_organisations", "organisation_id", "organisations") in declared
    assert ("session_publications", "session_id", "sessions") in declared
    assert ("wards", "lad_code", "local_authorities") in declared
    assert ("local_authorities", "region_code", "regions") in declared
    assert ("left_behind_sets", "publication_id", "publications") in declared


def test_publication_search_uses_porter_stemming(db):
    sql = db["publications_fts"].schema
    assert "porter" in sql
    hits = {r[0] for r in db.execute(
        "select publications.id from publications_fts join publications on publications.rowid = publications_fts.rowid "
        "where publications_fts match 'mapping'"  # 'maps' in a description stems to the same 'map'
    )}
    assert "social-capital-and-the-response-to-covid-19" in hits


def test_ward_counts_and_sets(db):
    assert db["wards"].count == 7433
    assert scalar(db, "select sum(left_behind_2020) from wards") == 225
    assert scalar(db, "select sum(left_behind_2019) from wards") == 206
    changes = dict(db.execute("select left_behind_change, count(*) from wards group by 1").fetchall())
    assert changes == {None: 7433 - 230, "in both sets": 201, "joined in 2020": 24, "left in 2020": 5}


def test_change_column_agrees_with_flags(db):
    rows = db.execute("select left_behind_2019, left_behind_2020, left_behind_change from wards").fetchall()
    expected = {(1, 1): "in both sets", (0, 1): "joined in 2020", (1, 0): "left in 2020", (0, 0): None}
    assert all(change == expected[(a, b)] for a, b, change in rows)


def test_every_ward_has_a_point_in_england(db):
    outside = db.execute(
        "select ward_code from wards where latitude is null or longitude is null "
        "or latitude not between 49.8 and 55.9 or longitude not between -6.5 and 1.8"
    ).fetchall()
    assert outside == []


def test_corrupt_label_points_are_replaced(db):
    replaced = {r[0] for r in db.execute(
        "select ward_code from wards where location_method = 'population-weighted mean of LSOA centroids'")}
    assert replaced == CORRUPT_POINT_WARDS
    assert scalar(db, "select count(*) from wards where latitude = 50.0") == 0
    assert scalar(db, "select count(distinct location_source) from wards") == 2


def test_population_is_null_only_without_lsoas(db):
    nulls = {r[0] for r in db.execute("select ward_code from wards where population is null")}
    assert nulls == WARDS_WITHOUT_LSOA
    total_2020 = scalar(db, "select sum(population) from wards where left_behind_2020 = 1")
    assert 2_300_000 < total_2020 < 2_500_000  # 'about 2.4 million people'


def test_imd_share_is_a_proportion(db):
    assert scalar(db, "select count(*) from wards where population_share_in_imd_decile_1_lsoas not between 0 and 1") == 0
    # Left-behind wards are by definition among the most deprived: most of their people live in decile 1 LSOAs.
    assert scalar(db, "select avg(population_share_in_imd_decile_1_lsoas) from wards where left_behind_2020 = 1") > 0.5
    assert scalar(db, "select avg(population_share_in_imd_decile_1_lsoas) from wards") < 0.2


def test_regions_and_local_authorities(db):
    assert db["regions"].count == 9
    assert db["local_authorities"].count == 324
    assert scalar(db, "select count(*) from wards where region_code is null") == 0


def test_sources_rows_match_the_manifest(db):
    """Every source the main database is made from (all but the postcode directory, which only
    postcodes.db reads); a folder's sha256 is that of its list of files as sha256sum prints it."""
    manifest = yaml.safe_load((ROOT / "data" / "sources.yml").read_text(encoding="utf-8"))
    manifest = [entry for entry in manifest if entry["id"] != "postcodes"]
    rows = {r["id"]: r for r in db["sources"].rows}
    assert set(rows) == {entry["id"] for entry in manifest}
    for entry in manifest:
        files = sorted((item["name"], item["sha256"]) for item in entry.get("files") or [])
        listing = "".join(f"{sha256}  {name}\n" for name, sha256 in files)
        expected = entry.get("sha256") or hashlib.sha256(listing.encode()).hexdigest()
        assert rows[entry["id"]]["sha256"] == expected
        assert rows[entry["id"]]["files"] == (len(files) or 1)
        assert rows[entry["id"]]["rows_read"] == entry["rows"]
        assert rows[entry["id"]]["url"] == (  # a space in a path is %20 (source imd2019_ward)
            f"https://raw.githubusercontent.com/{entry['repository']}/{entry['commit']}/{entry['path'].replace(' ', '%20')}"
        )


def test_left_behind_2020_links_to_its_publication(db):
    row = db.execute(
        "select p.title, s.wards from left_behind_sets s join publications p on p.id = s.publication_id "
        "where s.flag_column = 'left_behind_2020'"
    ).fetchone()
    assert row == ("Left Behind Areas 2020 (Interim Set)", 225)


def test_neighbourhoods_view(db):
    rows = list(db.query("select * from left_behind_neighbourhoods"))
    assert len(rows) == 225
    import json

    popup = json.loads(rows[0]["popup"])
    assert popup["title"] == rows[0]["ward_name"]
    assert popup["link"] == f"/leftbehind/wards/{rows[0]['ward_code']}"


def test_build_info_counts_every_table_and_view_itself_included(db):
    info = {r["item"]: r["value"] for r in db["build_info"].rows}
    assert info["built_at"].endswith("Z")
    counted = {item.removeprefix("rows:"): int(value) for item, value in info.items() if item.startswith("rows:")}
    for name in counted:
        assert counted[name] == db.execute(f"select count(*) from [{name}]").fetchone()[0], name
    assert set(counted) == set(content_tables(db)) | set(db.view_names())
    assert counted["build_info"] == db["build_info"].count > 0


def test_the_database_is_under_15_mb(db_path):
    """Issue 22: leftbehind.db stays a small download (the postcodes are in their own file)."""
    assert db_path.stat().st_size < 15_000_000


def test_same_inputs_give_the_same_database(both_databases, db_path):
    """build_db.py's own build (of both databases, in a process of its own, reading the sources
    afresh: tests/conftest.py) gives a leftbehind.db byte-identical to the session's build."""
    again = both_databases[0]
    digest = lambda p: hashlib.sha256(p.read_bytes()).hexdigest()  # noqa: E731
    assert digest(again) == digest(db_path)
    with sqlite3.connect(again) as conn:
        assert conn.execute("select value from build_info where item = 'built_at'").fetchone()[0] == "2023-11-14T22:13:20Z"
