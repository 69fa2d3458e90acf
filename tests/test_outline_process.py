"""The build's outline process reads the outline folders itself (leftbehind/build.py,
``OUTLINE_SOURCES``), beside the parent's reading: what goes wrong there still fails the
build with the file, record and field named, the last good database untouched, and the
declared corrections to those files are applied there.

Each test runs a real build from the source files (not the session's reading), so that the
outline process is the one to read them. Expected values are read from the GeoJSON files
with json, sharing no code with the build.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from pathlib import Path

import pytest
import yaml

from leftbehind.build import DEFAULT_CACHE_DIR, OUTLINE_SOURCES, build
from leftbehind.errors import BuildError
from leftbehind.sources import load_manifest

pytestmark = pytest.mark.long  # among the slowest files: scheduled first (tests/conftest.py)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def last_good_database(tmp_path: Path, db_path: Path) -> tuple[Path, str]:
    target = tmp_path / "out" / "leftbehind.db"
    target.parent.mkdir()
    shutil.copyfile(db_path, target)
    return target, digest(target)


def assert_untouched(target: Path, before: str) -> None:
    assert digest(target) == before
    assert not list(target.parent.glob(f".{target.name}.*")), "a temporary file was left behind"


def add_correction(data_copy: Path, correction: dict) -> None:
    path = data_copy / "corrections.yml"
    corrections = yaml.safe_load(path.read_text(encoding="utf-8"))
    path.write_text(yaml.safe_dump([*corrections, correction], sort_keys=False), encoding="utf-8")


def test_the_outline_folders_are_the_ones_the_outline_process_reads(data_copy):
    """The folders of files 15-16 and 18-19, and the MSOA names only neighbourhoods use."""
    manifest = load_manifest(data_copy / "sources.yml")
    assert {manifest[key].file or manifest[key].folder for key in OUTLINE_SOURCES} == {
        "boundaries_lba_2020_set_brc.rda", "boundaries_lba_2019_set_brc.rda", "wards_2019_boundaries_drkane",
        "lsoa11_boundaries_drkane", "msoa11_names_hcl_drkane.csv",
    }


def test_a_bad_file_only_the_outline_process_reads_is_named_and_leaves_the_last_good_database(
    tmp_path, data_copy, sources_dir, db_path
):
    origin = sources_dir or DEFAULT_CACHE_DIR
    folder = load_manifest(data_copy / "sources.yml")["ward_outlines_2019"].folder
    sources = tmp_path / "sources"
    sources.mkdir()
    for entry in origin.iterdir():
        if entry.name != folder:
            (sources / entry.name).symlink_to(entry)
    (sources / folder).mkdir()
    files = sorted((origin / folder).iterdir())
    for path in files[1:]:
        (sources / folder / path.name).symlink_to(path)
    # The first file's third feature becomes a point: a copy whose sha256 the manifest copy then gives.
    collection = json.loads(files[0].read_bytes())
    collection["features"][2]["geometry"] = {"type": "Point", "coordinates": [-1.2, 54.6]}
    broken = sources / folder / files[0].name
    broken.write_text(json.dumps(collection), encoding="utf-8")
    manifest = data_copy / "sources.yml"
    manifest.write_text(manifest.read_text(encoding="utf-8").replace(digest(files[0]), digest(broken)), encoding="utf-8")
    target, before = last_good_database(tmp_path, db_path)

    with pytest.raises(BuildError) as raised:
        build(target, data_copy, sources)
    [problem] = raised.value.problems
    assert "ward_outlines_2019" in problem and files[0].name in problem
    assert "feature 3" in problem and "geometry 'Point'" in problem
    assert_untouched(target, before)


def test_a_correction_to_a_file_the_outline_process_reads_is_applied_there(tmp_path, data_copy, sources_dir):
    """One LSOA of the MSOA 'Hartlepool 001' renamed into 'Hartlepool 002': the neighbourhoods,
    made from the LSOAs' names in the outline process, count it in the other."""
    folder = (sources_dir or DEFAULT_CACHE_DIR) / load_manifest(data_copy / "sources.yml")["lsoa_outlines"].folder
    names = {}
    for path in sorted(folder.glob("*.geojson")):
        for feature in json.loads(path.read_bytes())["features"]:
            properties = feature["properties"]
            names[properties["LSOA11CD"]] = (properties["LSOA11NM"], properties["LSOA11NMW"])
    in_msoa = lambda msoa: sorted(code for code, (name, _) in names.items() if name[:-1] == msoa)  # noqa: E731
    first, second = in_msoa("Hartlepool 001"), in_msoa("Hartlepool 002")
    assert len(first) > 1 and second
    moved = first[0]
    add_correction(data_copy, {
        "id": "test-lsoa-renamed",
        "source": "lsoa_outlines",
        "key": {"column": "LSOA11CD", "value": moved},
        "changes": [
            {"column": "LSOA11NM", "found": names[moved][0], "corrected": "Hartlepool 002Z", "basis": "inferred"},
            {"column": "LSOA11NMW", "found": names[moved][1], "corrected": "Hartlepool 002Z", "basis": "inferred"},
        ],
        "reason": "A test of a correction applied in the outline process.",
        "evidence": ["None: the test makes it up."],
    })

    database = build(tmp_path / "leftbehind.db", data_copy, sources_dir)
    with sqlite3.connect(database) as conn:
        counts = dict(conn.execute(
            "select ons_name, lsoa_count from neighbourhoods where ons_name in ('Hartlepool 001', 'Hartlepool 002')"
        ))
        listed = conn.execute("select source_id, key_value, column_name from source_corrections "
                              "where correction_id = 'test-lsoa-renamed' order by column_name").fetchall()
        rows_read = conn.execute("select rows_read from sources where id = 'lsoa_outlines'").fetchone()[0]
    assert counts == {"Hartlepool 001": len(first) - 1, "Hartlepool 002": len(second) + 1}
    assert listed == [("lsoa_outlines", moved, "LSOA11NM"), ("lsoa_outlines", moved, "LSOA11NMW")]
    assert rows_read == len(names)


def test_a_correction_that_no_longer_fits_a_file_the_outline_process_reads_fails_the_build(
    tmp_path, data_copy, sources_dir, db_path
):
    with sqlite3.connect(db_path) as conn:
        code = conn.execute(
            "select ward_code from ward_outlines where source_id = 'lba_outlines_2020' order by ward_code limit 1"
        ).fetchone()[0]
    add_correction(data_copy, {
        "id": "test-outline-name",
        "source": "lba_outlines_2020",
        "key": {"column": "lba_code", "value": code},
        "changes": [{"column": "lba_name", "found": "No ward has this name", "corrected": "Any", "basis": "inferred"}],
        "reason": "A test of a correction refused in the outline process.",
        "evidence": ["None: the test makes it up."],
    })
    target, before = last_good_database(tmp_path, db_path)

    with pytest.raises(BuildError) as raised:
        build(target, data_copy, sources_dir)
    [problem] = raised.value.problems
    assert problem.startswith("data/corrections.yml: record 'test-outline-name': source 'lba_outlines_2020'")
    assert f"(lba_code {code}), column 'lba_name'" in problem
    assert "not the 'No ward has this name' the correction expects" in problem
    assert_untouched(target, before)
