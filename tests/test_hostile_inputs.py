"""Catalogue and manifest input that once ended in a traceback or was silently accepted.

Each case goes through the real build (``build_db.main``): a clear message naming the
file, the record and the field where there is one, exit status 1, and the last good
database left byte for byte as it was.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import build_db


@pytest.fixture
def old_database(tmp_path: Path) -> Path:
    path = tmp_path / "leftbehind.db"
    path.write_bytes(b"the last good database")
    return path


def build_fails(data_dir: Path, database: Path, capsys) -> str:
    """Run the build, check it failed cleanly, and return what it printed."""
    capsys.readouterr()
    status = build_db.main([str(database), "--data-dir", str(data_dir)])
    err = capsys.readouterr().err
    assert status == 1, err
    assert "Traceback" not in err
    assert err.startswith("Build failed: ")
    assert database.read_bytes() == b"the last good database"
    assert not list(database.parent.glob(".leftbehind.db.*"))
    err.encode("utf-8")  # every message can be printed: no lone surrogate gets through
    return err


def replace_in(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_deeply_nested_yaml(data_copy, old_database, capsys):
    (data_copy / "topics.yml").write_text("- id: " + "[" * 20000 + "]" * 20000 + "\n", encoding="utf-8")
    err = build_fails(data_copy, old_database, capsys)
    assert "data/topics.yml: YAML syntax error at line 1" in err


def test_id_with_a_trailing_newline_beside_the_same_id(data_copy, old_database, capsys):
    replace_in(data_copy / "topics.yml", "- id: covid-19\n", '- id: "covid-19\\n"\n  label: x\n  meaning: y\n- id: covid-19\n')
    err = build_fails(data_copy, old_database, capsys)
    assert "data/topics.yml: record 'covid-19\\n': field 'id': 'covid-19\\n' is not a slug" in err


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('"Onward \\0 nul"', "holds a control character '\\x00' at position 7"),
        ('"Onward \\e[31m red"', "holds a control character '\\x1b' at position 7"),
        ('"Onward \\u202E reversed"', "holds a bidirectional control character '\\u202e' at position 7"),
        ('"Onward \\uD800 half"', "YAML syntax error"),
    ],
    ids=["nul", "terminal-escape", "bidi-override", "lone-surrogate"],
)
def test_invisible_characters_in_text(data_copy, old_database, capsys, text, expected):
    replace_in(data_copy / "organisations.yml", "  name: Onward\n", f"  name: {text}\n")
    err = build_fails(data_copy, old_database, capsys)
    assert "data/organisations.yml: " in err
    assert expected in err
    if "syntax" not in expected:
        assert "record 'onward': field 'name': " in err


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        ("99999999999999999999999", "record 'evidence-session-1': field 'number': 99999999999999999999999 is outside 1..999"),
        ("9" * 5000, "data/sessions.yml: holds a value that cannot be read"),
    ],
    ids=["beyond-sqlite", "thousands-of-digits"],
)
def test_oversized_integer(data_copy, old_database, capsys, number, expected):
    replace_in(data_copy / "sessions.yml", "  number: 1\n", f"  number: {number}\n")
    err = build_fails(data_copy, old_database, capsys)
    assert expected in err


def test_catalogue_file_that_never_ends(data_copy, old_database, capsys):
    (data_copy / "topics.yml").unlink()
    os.symlink("/dev/zero", data_copy / "topics.yml")
    err = build_fails(data_copy, old_database, capsys)
    assert "data/topics.yml: cannot be read (not a regular file)" in err


def test_catalogue_file_too_large(data_copy, old_database, capsys):
    (data_copy / "topics.yml").write_bytes(b"# padding\n" * 200_000)
    err = build_fails(data_copy, old_database, capsys)
    assert "data/topics.yml: is larger than 1,000,000 bytes" in err


def test_aliases_are_refused(data_copy, old_database, capsys):
    replace_in(data_copy / "publications.yml", "topics: [covid-19, community-action, social-capital]",
               "topics: &t [covid-19, community-action, social-capital]\n  see_also: *t")
    err = build_fails(data_copy, old_database, capsys)
    assert "data/publications.yml: uses anchors and aliases" in err


def test_a_session_listed_twice_on_one_publication(data_copy, old_database, capsys):
    replace_in(data_copy / "publications.yml", "  sessions:\n    - {session: evidence-session-1, section: further reading}\n",
               "  sessions:\n    - {session: evidence-session-1, section: further reading}\n"
               "    - {session: evidence-session-1, section: further reading, heading: Again}\n")
    err = build_fails(data_copy, old_database, capsys)
    assert "field 'sessions[1]': the same session and section is listed twice" in err


def test_the_same_url_twice(data_copy, old_database, capsys):
    replace_in(data_copy / "publications.yml", "    - https://www.ukonward.com/socialstimulus/\n",
               "    - https://www.ukonward.com/socialstimulus/\n    - https://www.ukonward.com/socialstimulus/\n")
    err = build_fails(data_copy, old_database, capsys)
    assert "record 'building-a-social-stimulus': field 'see_also[1]': the same this item is listed twice" not in err
    assert "record 'building-a-social-stimulus': field 'see_also[1]': the same item is listed twice" in err


# --- data/sources.yml ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "  licence_url: https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/\n",
            "  licence_url: javascript:alert(document.domain)\n",
            "data/sources.yml: record 'ward_points': field 'licence_url': 'javascript:alert(document.domain)' is not a valid http(s) URL",
        ),
        ("  rows: 7433\n", "  rows: '7433'\n", "data/sources.yml: record 'cni2020': field 'rows': expected a whole number, found str"),
        ("  rows: 7433\n", "  rows: 7433\n  rows: 7433\n", "data/sources.yml: YAML syntax error at line {line+1}, column 3: duplicate key 'rows'"),
        ("  format: csv\n", "", "data/sources.yml: record 'cni2020': field 'format': missing"),
        ("  format: csv\n", "  format: xlsx\n", "data/sources.yml: record 'cni2020': field 'format': 'xlsx' is not one of: csv, rda"),
        ("  encoding: utf-8\n", "", "data/sources.yml: record 'cni2020': field 'encoding': missing, but required when format is 'csv'"),
        ("  columns:\n    - ward17_code\n", "  columns:\n    - ward17_code\n    - 7\n",
         "data/sources.yml: record 'cni2020': field 'columns[1]': expected text, found int"),
        ("  attribution: >-\n    Community", "  attribution: >-\n    \x1b[2J Community",
         "data/sources.yml: YAML syntax error at line {line+1}: character '\\x1b' is not allowed"),
        ("  title: Community Needs Index 2019 by ward, with the 2020", '  title: "\\e[2J Community Needs Index 2019 by ward, with the 2020"\n  #',
         "data/sources.yml: record 'cni2020': field 'title': holds a control character '\\x1b' at position 0"),
    ],
    ids=["javascript-licence-url", "rows-as-text", "duplicate-key", "no-format", "unknown-format", "no-encoding",
         "column-not-text", "raw-terminal-escape", "escaped-terminal-escape"],
)
def test_bad_source_declaration(data_copy, old_database, capsys, old, new, expected):
    line = (data_copy / "sources.yml").read_text(encoding="utf-8").split(old)[0].count("\n") + 1  # where `old` starts
    replace_in(data_copy / "sources.yml", old, new)
    err = build_fails(data_copy, old_database, capsys)
    assert expected.replace("{line+1}", str(line + 1)) in err


def test_rda_source_needs_its_object(data_copy, old_database, capsys):
    replace_in(data_copy / "sources.yml", "  object: population17_lsoa11\n", "")
    err = build_fails(data_copy, old_database, capsys)
    assert "data/sources.yml: record 'population': field 'object': missing, but required for an R data file" in err


def test_two_sessions_that_would_share_a_label(data_copy, old_database, capsys):
    """Found by the fuzzer: a label must name one session, or the unique index fails at load."""
    replace_in(data_copy / "sessions.yml", "  title: null\n  date: null\n  date_basis: null\n  date_note: Held during",
               "  title: AGM of the APPG\n  date: null\n  date_basis: null\n  date_note: Held during")
    replace_in(data_copy / "sessions.yml", "- id: roundtable-1\n  number: 1\n", "- id: roundtable-1\n  number: null\n")
    err = build_fails(data_copy, old_database, capsys)
    assert ("data/sessions.yml: record 'roundtable-1': its label 'AGM of the APPG' is the same as "
            "record 'annual-general-meeting''s") in err
