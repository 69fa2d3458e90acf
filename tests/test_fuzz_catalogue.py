"""Property-based: any change to the catalogue is either valid or a clear validation error.

The fuzzer drives validation in memory (``validate_catalogue``): never a traceback,
every message names a catalogue file, and a catalogue that passes validation loads
into SQLite through the table declarations with its foreign keys holding. Only
mutations that change something are tried, spread over every catalogue file. A few
full builds at the end check the same through ``build_db`` and the database file.
"""

from __future__ import annotations

import copy
import os
import re
import sqlite3
from types import SimpleNamespace

import pytest
import sqlite_utils
import yaml
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

import build_db
import leftbehind.build
from leftbehind.build import ROOT
from leftbehind.catalogue import CATALOGUE_FILES, SPECS, validate_catalogue
from leftbehind.errors import BuildError
from leftbehind.registry import load_table
from leftbehind.tables import CATALOGUE_TABLES
from leftbehind.validation import StrictLoader, parse_yaml_list
from leftbehind.ward_tables import check_set_publications

pytestmark = pytest.mark.long  # among the slowest files: scheduled first (tests/conftest.py)

DATA = ROOT / "data"
LABELS = {name: f"data/{name}.yml" for name in CATALOGUE_FILES}
RAW = {name: (DATA / f"{name}.yml").read_bytes() for name in CATALOGUE_FILES}
ORIGINAL = {name: yaml.load(RAW[name], Loader=StrictLoader) for name in CATALOGUE_FILES}  # noqa: S506
MESSAGE_LINE = re.compile(r"^data/(" + "|".join(CATALOGUE_FILES) + r")\.yml: \S")
EXAMPLES = int(os.environ.get("LEFTBEHIND_FUZZ_EXAMPLES", "150"))

# The fields of each file that hold references to other files' ids, and those that
# hold lists of nested records, read from the declarations so a new one is fuzzed too.
REFERENCE_FIELDS = {
    name: [key for key, field in spec.fields.items()
           if field.references or (field.items and (field.items.references or field.items.fields))]
    for name, spec in SPECS.items()
}

odd_text = st.one_of(
    st.text(min_size=0, max_size=40),
    st.sampled_from(
        [
            "<script>alert('x')</script>",
            "<img src=x onerror=alert(1)>",
            "Ünïcödé – ‘quotes’ … 🏘️",
            "\u202eright-to-left\u202c",
            "zero\u200bwidth",
            "nul\x00byte",
            "escape \x1b[31mred",
            "lone \ud800 surrogate",
            "x" * 5000,
            "",
            "   ",
            "line one\nline two",
            "null",
            "2020-02-30",
            "ftp://example.org/",
            "javascript:alert(1)",
            "trailing-newline\n",
        ]
    ),
)
wrong_values = st.one_of(
    odd_text,
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True),
    st.booleans(),
    st.none(),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


def dumped(records) -> bytes:
    """The records as YAML bytes; a lone surrogate is written as the bytes it would be (not UTF-8)."""
    try:  # libyaml's emitter is fast but cannot write a lone surrogate
        text = yaml.dump(records, Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper), allow_unicode=True, sort_keys=False)
    except UnicodeEncodeError:
        text = yaml.safe_dump(records, allow_unicode=True, sort_keys=False)
    return text.encode("utf-8", "surrogatepass")


@st.composite
def structural_mutation(draw) -> tuple[str, bytes]:
    """Parse a catalogue file and change its records: drop, add, retype, duplicate, dangle, nest."""
    name = draw(st.sampled_from(CATALOGUE_FILES))
    records = copy.deepcopy(ORIGINAL[name])
    index = draw(st.integers(min_value=0, max_value=len(records) - 1))
    record = records[index]
    kinds = ["drop", "add", "retype", "duplicate", "duplicate-id"]
    if REFERENCE_FIELDS[name]:
        kinds += ["dangle", "nested"]
    kind = draw(st.sampled_from(kinds))
    event(f"structural: {kind} in {name}")
    if kind == "drop":
        record.pop(draw(st.sampled_from(sorted(record))))
    elif kind == "add":
        record[draw(st.text(min_size=1, max_size=12))] = draw(wrong_values)
    elif kind == "retype":
        record[draw(st.sampled_from(sorted(record)))] = draw(wrong_values)
    elif kind == "duplicate":
        records.append(copy.deepcopy(record))
    elif kind == "duplicate-id":
        other = copy.deepcopy(records[draw(st.integers(min_value=0, max_value=len(records) - 1))])
        other["id"] = record["id"] + draw(st.sampled_from(["\n", " ", "-x", ""]))
        records.append(other)
    else:
        key = draw(st.sampled_from(REFERENCE_FIELDS[name]))
        if kind == "dangle":
            record[key] = dangling(SPECS[name].fields[key], record.get(key), draw)
        else:
            record[key] = draw(st.one_of(wrong_values, st.lists(wrong_values, min_size=1, max_size=2)))
    assume(records != ORIGINAL[name])
    return name, dumped(records)


def dangling(field, value, draw):
    """``value`` with one reference pointing at an id that exists nowhere."""
    unknown = draw(st.from_regex(r"zz-[a-z]{3,8}", fullmatch=True))
    if field.references:
        return unknown
    if field.items.references:
        return [*(value or []), unknown]
    item = copy.deepcopy((value or [None])[0]) or {}
    target = next(key for key, spec in field.items.fields.items() if spec.references)
    item[target] = unknown
    return [*(value or []), item]


@st.composite
def textual_mutation(draw) -> tuple[str, bytes]:
    """Change a catalogue file's bytes: broken YAML, empty, non-UTF-8, odd characters, nesting."""
    name = draw(st.sampled_from(CATALOGUE_FILES))
    raw = RAW[name]
    kind = draw(st.sampled_from(["insert", "truncate", "empty", "bytes", "replace_value", "deep"]))
    event(f"textual: {kind}")
    position = draw(st.integers(min_value=0, max_value=len(raw)))
    if kind == "insert":
        snippet = draw(st.sampled_from([
            b": [", b"\t", b"- - -", b"{", b"'", b'"', b"&a *b", b"\n  bad: indent",
            b"!!python/object:os.system ls", b"\n- &x [a]\n- *x\n", b"\n  number: " + b"9" * 5000 + b"\n",
        ]))
        content = raw[:position] + snippet + raw[position:]
    elif kind == "truncate":
        content = raw[:position]
    elif kind == "empty":
        content = draw(st.sampled_from([b"", b"\n", b"---\n", b"[]\n", b"{}\n", b"just a string\n"]))
    elif kind == "bytes":
        content = raw[:position] + draw(st.binary(min_size=1, max_size=4)) + raw[position:]
    elif kind == "deep":
        depth = draw(st.integers(min_value=10, max_value=5000))
        content = b"- " + b"[" * depth + b"x" + b"]" * depth + b"\n"
    else:
        text = draw(odd_text).encode("utf-8", "surrogatepass")
        field = draw(st.sampled_from([rb"description: >-\n\s+", rb"title: ", rb"name: ", rb"summary: >-\n\s+"]))
        content = re.sub(rb"(" + field + rb")", lambda m: m.group(1) + text + b" ", raw, count=1)
    assume(content != raw)
    return name, content


def load_into_sqlite(catalogue) -> sqlite3.Connection:
    """Load the catalogue tables into an in-memory database through their declarations."""
    db = sqlite_utils.Database(memory=True)
    inputs = SimpleNamespace(catalogue=catalogue)
    for table in CATALOGUE_TABLES:
        load_table(db, table, table.rows(inputs))
    return db.conn


def assert_valid_or_clear_error(name: str, content: bytes) -> None:
    """Validate the catalogue with one file's bytes replaced (the others are parsed once)."""
    records, problems = parse_yaml_list(content, LABELS[name])
    try:
        catalogue = validate_catalogue({**ORIGINAL, name: records}, LABELS, problems)
        check_set_publications({p["id"] for p in catalogue["publications"]}, LABELS["publications"])
    except BuildError as error:
        event("outcome: validation error")
        assert error.problems, error.report()
        for line in error.problems:
            assert MESSAGE_LINE.match(line), line
            line.encode("utf-8")  # printable: no lone surrogate reaches the terminal
        return
    event("outcome: valid")
    conn = load_into_sqlite(catalogue)
    assert conn.execute("pragma foreign_key_check").fetchall() == []
    assert conn.execute("select count(*) from publications").fetchone()[0] == len(catalogue["publications"])


fuzz_settings = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    database=None,
)


@fuzz_settings
@given(mutation=structural_mutation())
def test_structural_mutations(mutation):
    assert_valid_or_clear_error(*mutation)


@fuzz_settings
@given(mutation=textual_mutation())
def test_textual_mutations(mutation):
    assert_valid_or_clear_error(*mutation)


# --- A few whole builds: the same outcome through build_db and the database file -----


@pytest.fixture
def cached_sources(monkeypatch, source_data):
    monkeypatch.setattr(leftbehind.build, "read_sources", lambda *args: source_data)


def build_with(tmp_path, name: str, content: bytes, capsys) -> tuple[int, str, bytes]:
    data = tmp_path / "data"
    data.mkdir()
    for other in CATALOGUE_FILES + ("sources", "corrections"):
        (data / f"{other}.yml").write_bytes((DATA / f"{other}.yml").read_bytes())
    (data / f"{name}.yml").write_bytes(content)
    database = tmp_path / "leftbehind.db"
    database.write_bytes(b"the last good database")
    capsys.readouterr()
    status = build_db.main([str(database), "--data-dir", str(data), "--no-postcodes"])
    return status, capsys.readouterr().err, database.read_bytes()


def reworded(records):
    records[0]["description"] = "A description rewritten in other words, <b>with markup</b> shown as text."
    return records


@pytest.mark.parametrize(
    ("name", "change", "expected_problem"),
    [
        ("publications", reworded, None),
        (
            "publications",
            lambda records: [r for r in records if r["id"] != "left-behind-areas-2020-interim-set"],
            "record 'left-behind-areas-2020-interim-set': missing",
        ),
        ("people", lambda records: records + [copy.deepcopy(records[0])], "duplicate id"),
    ],
    ids=["valid-change", "drop-the-2020-set", "duplicate-person"],
)
def test_whole_build_gives_a_database_or_leaves_the_old_one(
    tmp_path, capsys, cached_sources, name, change, expected_problem
):
    content = dumped(change(copy.deepcopy(ORIGINAL[name])))
    status, err, database = build_with(tmp_path, name, content, capsys)
    assert "Traceback" not in err
    if expected_problem is None:
        assert status == 0, err
        with sqlite3.connect(tmp_path / "leftbehind.db") as conn:
            assert conn.execute("pragma integrity_check").fetchone()[0] == "ok"
            assert conn.execute("pragma foreign_key_check").fetchall() == []
    else:
        assert status == 1
        assert expected_problem in err
        assert database == b"the last good database"
        assert not list(tmp_path.glob(".leftbehind.db.*"))
