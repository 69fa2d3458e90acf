"""Bad catalogue input: a clear message naming file, record and field; exit 1; old database untouched."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

import build_db


@pytest.fixture
def old_database(tmp_path: Path) -> Path:
    path = tmp_path / "leftbehind.db"
    path.write_bytes(b"the last good database" * 100)
    return path


def run_build(data_dir: Path, database: Path, capsys: pytest.CaptureFixture) -> tuple[int, str]:
    before = hashlib.sha256(database.read_bytes()).hexdigest()
    status = build_db.main([str(database), "--data-dir", str(data_dir)])
    after = hashlib.sha256(database.read_bytes()).hexdigest()
    assert after == before, "a failed build changed the existing database"
    assert not list(database.parent.glob(".leftbehind.db.*")), "a failed build left a temporary file"
    return status, capsys.readouterr().err


def replace_in(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, count), encoding="utf-8")


def test_yaml_syntax_error(data_copy, old_database, capsys):
    replace_in(data_copy / "topics.yml", "- id: covid-19", "- id: [covid-19")
    status, err = run_build(data_copy, old_database, capsys)
    assert status == 1
    assert "data/topics.yml: YAML syntax error at line" in err
    assert "left unchanged" in err


def test_unknown_key(data_copy, old_database, capsys):
    replace_in(data_copy / "publications.yml", "- id: communities-at-risk\n", "- id: communities-at-risk\n  colour: blue\n")
    status, err = run_build(data_copy, old_database, capsys)
    assert status == 1
    assert "data/publications.yml: record 'communities-at-risk': field 'colour': unknown field" in err


def test_missing_required_field(data_copy, old_database, capsys):
    replace_in(data_copy / "organisations.yml", "  name: Onward\n", "")
    status, err = run_build(data_copy, old_database, capsys)
    assert status == 1
    assert "data/organisations.yml: record 'onward': field 'name': missing" in err


def test_wrong_type(data_copy, old_database, capsys):
    replace_in(data_copy / "sessions.yml", "  number: 1\n", "  number: one\n")
    status, err = run_build(data_copy, old_database, capsys)
    assert status == 1
    assert "data/sessions.yml: record 'evidence-session-1': field 'number': expected a whole number, found str" in err


def test_duplicate_id(data_copy, old_database, capsys):
    replace_in(data_copy / "topics.yml", "- id: social-capital", "- id: covid-19")
    status, err = run_build(data_copy, old_database, capsys)
    assert status == 1
    assert "data/topics.yml: record 'covid-19': field 'id': duplicate id 'covid-19'" in err


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "{id: power-to-change, role: publisher}",
            "{id: power-to-nobody, role: publisher}",
            "record 'local-heroes': field 'organisations[0].id': unknown organisation 'power-to-nobody'",
        ),
        (
            "topics: [covid-19, community-action, social-capital]",
            "topics: [covid-19, community-action, knitting]",
            "record 'local-heroes': field 'topics[2]': unknown topic 'knitting'",
        ),
        (
            "social-capital]\n  sessions:\n    - {session: evidence-session-1,",
            "social-capital]\n  sessions:\n    - {session: evidence-session-99,",
            "record 'local-heroes': field 'sessions[0].session': unknown session 'evidence-session-99'",
        ),
    ],
    ids=["organisation", "topic", "session"],
)
def test_unknown_reference(data_copy, old_database, capsys, old, new, expected):
    replace_in(data_copy / "publications.yml", old, new)
    status, err = run_build(data_copy, old_database, capsys)
    assert status == 1
    assert "data/publications.yml: " in err
    assert expected in err


def test_nested_field_is_named_plainly(data_copy, old_database, capsys):
    replace_in(data_copy / "publications.yml", "{id: onward, role: publisher}", "{id: onward, role: boss}")
    status, err = run_build(data_copy, old_database, capsys)
    assert status == 1
    assert (
        "data/publications.yml: record 'building-a-social-stimulus': field 'organisations[0].role': "
        "'boss' is not one of"
    ) in err

@pytest.mark.parametrize("bad_date", ["2020-02-30", "2020-13", "20-05-01", "1066"])
def test_impossible_date(data_copy, old_database, capsys, bad_date):
    replace_in(data_copy / "publications.yml", "published: 2020-05-08", f"published: '{bad_date}'")
    status, err = run_build(data_copy, old_database, capsys)
    assert status == 1
    assert "record 'building-a-social-stimulus': field 'published':" in err
    assert bad_date in err


@pytest.mark.parametrize(
    "bad_url", ["www.ukonward.com/socialstimulus/", "ftp://example.org/x", "https://exa mple.org/", "https://[www.ukonward.com/"]
)
def test_malformed_url(data_copy, old_database, capsys, bad_url):
    replace_in(data_copy / "organisations.yml", "website: https://www.ukonward.com/", f"website: '{bad_url}'")
    status, err = run_build(data_copy, old_database, capsys)
    assert status == 1
    assert "data/organisations.yml: record 'onward': field 'website':" in err
    assert "is not a valid http(s) URL" in err


def test_every_problem_is_reported_at_once(data_copy, old_database, capsys):
    replace_in(data_copy / "organisations.yml", "  name: Onward\n", "")
    replace_in(data_copy / "sessions.yml", "  number: 1\n", "  number: one\n")
    replace_in(data_copy / "publications.yml", "published: 2020-05-08", "published: '2020-02-30'")
    status, err = run_build(data_copy, old_database, capsys)
    assert status == 1
    assert "record 'onward': field 'name': missing" in err
    assert "record 'evidence-session-1': field 'number'" in err
    assert "record 'building-a-social-stimulus': field 'published'" in err


def test_empty_file(data_copy, old_database, capsys):
    (data_copy / "topics.yml").write_text("", encoding="utf-8")
    status, err = run_build(data_copy, old_database, capsys)
    assert status == 1
    assert "data/topics.yml: is empty; expected a list of records" in err


def test_non_utf8_file(data_copy, old_database, capsys):
    path = data_copy / "organisations.yml"
    path.write_bytes(path.read_bytes().replace(b"Onward", b"Onw\xe9rd"))
    status, err = run_build(data_copy, old_database, capsys)
    assert status == 1
    assert "data/organisations.yml: is not valid UTF-8" in err


def test_date_needs_a_basis(data_copy, old_database, capsys):
    replace_in(data_copy / "publications.yml", "published: 2020-05-08\n  published_basis: stated", "published: 2020-05-08\n  published_basis: null")
    status, err = run_build(data_copy, old_database, capsys)
    assert status == 1
    assert "record 'building-a-social-stimulus': field 'published_basis'" in err


def test_publication_behind_a_left_behind_set_must_exist(data_copy, old_database, capsys):
    import yaml

    path = data_copy / "publications.yml"
    records = [r for r in yaml.safe_load(path.read_text(encoding="utf-8")) if r["id"] != "left-behind-areas-2020-interim-set"]
    path.write_text(yaml.safe_dump(records, allow_unicode=True, sort_keys=False), encoding="utf-8")
    status, err = run_build(data_copy, old_database, capsys)
    assert status == 1
    assert "data/publications.yml: record 'left-behind-areas-2020-interim-set': missing" in err
    assert "left_behind_2020" in err


def test_complex_yaml_key(data_copy, old_database, capsys):
    replace_in(data_copy / "topics.yml", "  label: COVID-19\n", "  label: COVID-19\n  ? [a, b]\n  : value\n")
    status, err = run_build(data_copy, old_database, capsys)
    assert status == 1
    assert "data/topics.yml: YAML syntax error at line" in err
    assert "a key must be plain text" in err


# --- people.yml and appg_roles.yml ---------------------------------------------------


@pytest.mark.parametrize(
    ("file", "old", "new", "expected"),
    [
        (
            "people.yml",
            "    - session: evidence-session-6\n      role: speaker\n      position: Professor of Public Health",
            "    - session: evidence-session-66\n      role: speaker\n      position: Professor of Public Health",
            "data/people.yml: record 'clare-bambra': field 'sessions[0].session': unknown session 'evidence-session-66'",
        ),
        (
            "people.yml",
            "organisation: newcastle-university",
            "organisation: newcastle-poly",
            "data/people.yml: record 'clare-bambra': field 'sessions[0].organisation': unknown organisation 'newcastle-poly'",
        ),
        (
            "appg_roles.yml",
            "person: diana-johnson",
            "person: diana-jonson",
            "data/appg_roles.yml: record 'diana-johnson-co-chair': field 'person': unknown person 'diana-jonson'",
        ),
        (
            "appg_roles.yml",
            "organisation: local-trust",
            "organisation: local-rust",
            "data/appg_roles.yml: record 'local-trust-secretariat': field 'organisation': unknown organisation 'local-rust'",
        ),
    ],
    ids=["person-session", "person-organisation", "role-person", "role-organisation"],
)
def test_unknown_reference_in_people_and_roles(data_copy, old_database, capsys, file, old, new, expected):
    replace_in(data_copy / file, old, new)
    status, err = run_build(data_copy, old_database, capsys)
    assert status == 1
    assert expected in err


def test_a_role_needs_exactly_one_holder(data_copy, old_database, capsys):
    replace_in(data_copy / "appg_roles.yml", "  person: paul-howell\n  position: Conservative MP for Sedgefield\n  start: 2020",
               "  person: paul-howell\n  organisation: ocsi\n  position: Conservative MP for Sedgefield\n  start: 2020")
    replace_in(data_copy / "appg_roles.yml", "  organisation: ocsi\n  start: null", "  start: null")
    status, err = run_build(data_copy, old_database, capsys)
    assert status == 1
    assert "data/appg_roles.yml: record 'paul-howell-chair': fields 'person' and 'organisation': give exactly one" in err
    assert "data/appg_roles.yml: record 'ocsi-research-partner': fields 'person' and 'organisation': give exactly one" in err


def test_bad_fields_in_people_and_roles_are_all_reported(data_copy, old_database, capsys):
    replace_in(data_copy / "people.yml", "      role: speaker\n      position: Professor of Public Health",
               "      role: keynote\n      position: Professor of Public Health")
    replace_in(data_copy / "people.yml", "- id: will-tanner\n  name: Will Tanner\n", "- id: will-tanner\n  name: Will Tanner\n  twitter: '@x'\n")
    replace_in(data_copy / "people.yml", "- id: toby-lloyd\n  name: Toby Lloyd\n", "- id: toby-lloyd\n")
    replace_in(data_copy / "publications.yml", "section: context, heading: Employment}", "section: context, heading: [Employment]}")
    status, err = run_build(data_copy, old_database, capsys)
    assert status == 1
    assert "data/people.yml: record 'clare-bambra': field 'sessions[0].role': 'keynote' is not one of" in err
    assert "data/people.yml: record 'will-tanner': field 'twitter': unknown field" in err
    assert "data/people.yml: record 'toby-lloyd': field 'name': missing" in err
    assert "data/publications.yml: record 'this-isnt-working': field 'sessions[0].heading': expected text, found list" in err


def test_a_role_date_needs_a_basis(data_copy, old_database, capsys):
    replace_in(data_copy / "appg_roles.yml", "  start: 2020-07-14\n  start_basis: inferred", "  start: 2020-07-14\n  start_basis: null")
    status, err = run_build(data_copy, old_database, capsys)
    assert status == 1
    assert "data/appg_roles.yml: record 'paul-howell-chair': field 'start_basis': say whether the start is 'stated' or 'inferred'" in err


def test_missing_people_file(data_copy, old_database, capsys):
    (data_copy / "people.yml").unlink()
    status, err = run_build(data_copy, old_database, capsys)
    assert status == 1
    assert "data/people.yml: cannot be read" in err
