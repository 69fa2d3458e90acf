"""The declared corrections to the source files, and the check that finds what needs one.

Expected answers are computed here from the source files with pandas (pyreadr for the R
files), sharing no code with leftbehind/corrections.py or leftbehind/geography.py.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from pathlib import Path

import pandas as pd
import pyreadr
import pytest
import yaml

import leftbehind.build
from leftbehind.build import DEFAULT_CACHE_DIR, ROOT, build
from leftbehind.errors import BuildError
from leftbehind.readers import SourceTable
from leftbehind.sources import load_manifest, locate_source

MANIFEST = load_manifest(ROOT / "data" / "sources.yml")
DANVERS_AND_WARDOUN = "E05006035"


@pytest.fixture(scope="module")
def frames(sources_dir) -> dict[str, pd.DataFrame]:
    def r(source_id: str) -> pd.DataFrame:
        path = locate_source(MANIFEST[source_id], sources_dir, DEFAULT_CACHE_DIR)
        return pyreadr.read_r(str(path))[MANIFEST[source_id].object]

    best_fit = locate_source(MANIFEST["lsoa_ward_lookup"], sources_dir, DEFAULT_CACHE_DIR)
    return {
        "to21": r("lsoa11_lsoa21"),
        "to24": r("lsoa21_ward24"),
        "councils24": r("ltla24_region"),
        "population": r("population"),
        "best_fit": pd.read_csv(best_fit, usecols=["LSOA11CD", "WD17CD"]),
    }


def contradictions(frames) -> pd.DataFrame:
    """LSOA 2021s whose 2024 council differs from a 2022 council that is still a council in 2024."""
    councils_2022 = frames["to21"][["lsoa21_code", "ltla22_code", "ltla22_name"]].drop_duplicates()
    joined = councils_2022.merge(frames["to24"], on="lsoa21_code")
    still = set(frames["to24"]["ltla24_code"]) | set(frames["councils24"]["ltla24_code"])
    return joined[joined["ltla22_code"].isin(still) & (joined["ltla22_code"] != joined["ltla24_code"])]


def test_the_only_contradiction_in_the_files_is_the_one_corrected(frames):
    found = contradictions(frames)
    corrections = yaml.safe_load((ROOT / "data" / "corrections.yml").read_text(encoding="utf-8"))
    declared = {c["key"]["value"] for c in corrections if c["source"] == "lsoa21_ward24"}
    assert set(found["lsoa21_code"]) == declared == {"E01027305"}
    [row] = found.to_dict("records")
    assert (row["ltla22_name"], row["ltla24_name"]) == ("West Northamptonshire", "Cherwell")


def test_danvers_and_wardoun_lies_in_west_northamptonshire_today(frames, db_path):
    """Its council is the one holding most of its people, each LSOA 2021 in its 2022 council
    where that still exists (the 2024 lookup's otherwise)."""
    lsoas = frames["best_fit"].loc[frames["best_fit"]["WD17CD"] == DANVERS_AND_WARDOUN, "LSOA11CD"]
    parts = frames["to21"][frames["to21"]["lsoa11_code"].isin(lsoas)].merge(
        frames["population"][["lsoa11_code", "total_population"]], on="lsoa11_code")
    parts["people"] = parts["total_population"] / parts.groupby("lsoa11_code")["lsoa21_code"].transform("count")
    parts = parts.merge(frames["to24"][["lsoa21_code", "ltla24_code"]], on="lsoa21_code")
    still = set(frames["councils24"]["ltla24_code"])
    parts["council"] = parts["ltla22_code"].where(parts["ltla22_code"].isin(still), parts["ltla24_code"])
    by_council = parts.groupby("council")["people"].sum().sort_values(ascending=False)
    names = dict(zip(frames["councils24"]["ltla24_code"], frames["councils24"]["ltla24_name"]))
    expected = names[by_council.index[0]]
    assert expected == "West Northamptonshire" and len(by_council) == 1
    with sqlite3.connect(db_path) as conn:
        council, share, in_cherwell = conn.execute(
            "select lad24_name, lad24_population_share, (select count(*) from ward_links_2024 "
            "where ward_code = ? and lad24_code = 'E07000177') from wards where ward_code = ?",
            (DANVERS_AND_WARDOUN, DANVERS_AND_WARDOUN),
        ).fetchone()
        # Cherwell (unchanged since 2017) counts its own 2017 wards again, no more.
        cherwell = conn.execute(
            "select wards_2017_count, (select count(*) from wards where lad_name = 'Cherwell') "
            "from local_authorities_2024 where lad24_name = 'Cherwell'").fetchone()
    assert (council, share, in_cherwell) == (expected, 1.0, 0)
    assert cherwell[0] == cherwell[1]


def test_the_corrections_are_listed_in_the_database(db_path):
    corrections = yaml.safe_load((ROOT / "data" / "corrections.yml").read_text(encoding="utf-8"))
    expected = {(c["id"], change["column"], str(change["found"]), str(change["corrected"]), change["basis"])
                for c in corrections for change in c["changes"]}
    with sqlite3.connect(db_path) as conn:
        rows = set(conn.execute("select correction_id, column_name, found, corrected, basis from source_corrections"))
    assert rows == expected


class OneTableChanged(Mapping):
    """The session's source tables with one replaced; the others are read only when asked for,
    as the build reads them (the postcode directory is never read by these builds)."""

    def __init__(self, tables: Mapping, source_id: str, table: SourceTable) -> None:
        self.tables, self.source_id, self.table = tables, source_id, table

    def __getitem__(self, source_id: str):
        return self.table if source_id == self.source_id else self.tables[source_id]

    def __iter__(self):
        return iter(self.tables)

    def __len__(self) -> int:
        return len(self.tables)


def with_rows(source_data, source_id: str, change) -> tuple:
    """The session's source tables with ``change(rows)`` applied to a copy of one table's rows."""
    sources, tables = source_data
    rows = [dict(row) for row in tables[source_id].rows]
    change(rows)
    return sources, OneTableChanged(tables, source_id, SourceTable(tables[source_id].source, rows))


def build_with(tmp_path: Path, monkeypatch, data) -> Path:
    target = tmp_path / "leftbehind.db"
    monkeypatch.setattr(leftbehind.build, "read_sources", lambda *args: data)
    build(target, ROOT / "data")
    return target


def test_a_new_contradiction_fails_the_build_naming_file_lsoa_and_councils(source_data, tmp_path, monkeypatch):
    def move_to_cherwell(rows):
        [row] = [row for row in rows if row["lsoa21_code"] == "E01027304"]  # Danvers and Wardoun's other LSOA
        row.update(ward24_code="E05010929", ward24_name="Cropredy, Sibfords and Wroxton", ltla24_code="E07000177")

    with pytest.raises(BuildError) as error:
        build_with(tmp_path, monkeypatch, with_rows(source_data, "lsoa21_ward24", move_to_cherwell))
    [problem] = error.value.problems
    assert "lookup_lsoa21_ward24_ltla24_geographr.rda" in problem
    assert "LSOA E01027304" in problem
    assert "E07000177 (Cherwell) in 2024" in problem
    assert "E06000062 (West Northamptonshire) in 2022" in problem
    assert "data/corrections.yml" in problem
    assert not (tmp_path / "leftbehind.db").exists()


def test_a_correction_the_file_no_longer_needs_is_refused(source_data, tmp_path, monkeypatch):
    def fixed_upstream(rows):
        [row] = [row for row in rows if row["lsoa21_code"] == "E01027305"]
        row.update(ltla24_code="E06000062")

    with pytest.raises(BuildError) as error:
        build_with(tmp_path, monkeypatch, with_rows(source_data, "lsoa21_ward24", fixed_upstream))
    [problem] = error.value.problems
    assert problem.startswith("data/corrections.yml: record 'lsoa-e01027305-council-2024': source 'lsoa21_ward24'")
    assert "column 'ltla24_code': found 'E06000062', not the 'E07000177' the correction expects" in problem


@pytest.mark.parametrize(("edit", "message"), [
    (lambda c: c.update(source="lsoa_ward_lookups"),
     "record 'lsoa-e01027305-council-2024': field 'source': unknown source 'lsoa_ward_lookups'"),
    (lambda c: c["changes"][0].update(column="ltla24_name"),
     "record 'lsoa-e01027305-council-2024': column 'ltla24_name' is not one the build reads from source 'lsoa21_ward24'"),
    (lambda c: c["changes"][0].update(basis="guessed"),
     "record 'lsoa-e01027305-council-2024': field 'changes[0].basis': 'guessed' is not one of: stated, inferred"),
    (lambda c: c.pop("evidence"), "record 'lsoa-e01027305-council-2024': field 'evidence': missing"),
])
def test_a_bad_correction_is_named_by_file_record_and_field(data_copy, source_data, monkeypatch, tmp_path, edit, message):
    path = data_copy / "corrections.yml"
    corrections = yaml.safe_load(path.read_text(encoding="utf-8"))
    edit(corrections[0])
    path.write_text(yaml.safe_dump(corrections, sort_keys=False), encoding="utf-8")
    monkeypatch.setattr(leftbehind.build, "read_sources", lambda *args: source_data)
    with pytest.raises(BuildError) as error:
        build(tmp_path / "leftbehind.db", data_copy)
    assert any(problem == f"data/corrections.yml: {message}" or problem.startswith(f"data/corrections.yml: {message}")
               for problem in error.value.problems), error.value.problems
