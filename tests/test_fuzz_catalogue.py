"""Property-based: any mutation of the catalogue ends in a valid build or a clear validation error.

Never a traceback, never a changed database on failure. The sources are parsed
once (fixture ``source_data``); everything after them runs for real.
"""

from __future__ import annotations

import copy
import hashlib
import os
import re
import shutil
import sqlite3
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import build_db
import leftbehind.build
from leftbehind.build import ROOT
from leftbehind.catalogue import CATALOGUE_FILES

DATA = ROOT / "data"
FILES = CATALOGUE_FILES
ORIGINAL = {name: yaml.safe_load((DATA / f"{name}.yml").read_text(encoding="utf-8")) for name in FILES}
MESSAGE_LINE = re.compile(r"^  - data/(" + "|".join(CATALOGUE_FILES) + r")\.yml: \S")
EXAMPLES = int(os.environ.get("LEFTBEHIND_FUZZ_EXAMPLES", "60"))

odd_text = st.one_of(
    st.text(min_size=0, max_size=40),
    st.sampled_from(
        [
            "<script>alert('x')</script>",
            "<img src=x onerror=alert(1)>",
            "Ünïcödé – ‘quotes’ … 🏘️",
            "\u202eright-to-left\u202c",
            "zero\u200bwidth",
            "x" * 5000,
            "",
            "   ",
            "line one\nline two",
            "null",
            "2020-02-30",
            "ftp://example.org/",
        ]
    ),
)
wrong_values = st.one_of(
    odd_text,
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=True),
    st.booleans(),
    st.none(),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


@st.composite
def structural_mutation(draw) -> tuple[str, list]:
    """Parse a catalogue file and change its records: drop, add, retype, duplicate, dangle."""
    name = draw(st.sampled_from(FILES))
    records = copy.deepcopy(ORIGINAL[name])
    index = draw(st.integers(min_value=0, max_value=len(records) - 1))
    record = records[index]
    kind = draw(st.sampled_from(["drop", "add", "retype", "duplicate", "dangle", "nested"]))
    event(f"structural: {kind}")
    if kind == "drop":
        record.pop(draw(st.sampled_from(sorted(record))))
    elif kind == "add":
        record[draw(st.text(min_size=1, max_size=12))] = draw(wrong_values)
    elif kind == "retype":
        record[draw(st.sampled_from(sorted(record)))] = draw(wrong_values)
    elif kind == "duplicate":
        records.append(copy.deepcopy(record))
    elif kind == "dangle" and name == "publications":
        field = draw(st.sampled_from(["organisations", "topics", "sessions"]))
        if field == "topics":
            record["topics"] = [draw(st.from_regex(r"[a-z]{3,10}", fullmatch=True))]
        elif field == "organisations":
            record["organisations"] = [{"id": draw(st.from_regex(r"[a-z]{3,10}", fullmatch=True)), "role": "publisher"}]
        else:
            record["sessions"] = [{"session": "evidence-session-99", "section": "further reading"}]
    elif kind == "nested" and name == "publications":
        record["organisations"] = draw(st.one_of(wrong_values, st.lists(wrong_values, max_size=2)))
    return name, records


@st.composite
def textual_mutation(draw) -> tuple[str, bytes]:
    """Change a catalogue file's bytes: broken YAML, empty, non-UTF-8, odd characters."""
    name = draw(st.sampled_from(FILES))
    raw = (DATA / f"{name}.yml").read_bytes()
    kind = draw(st.sampled_from(["insert", "truncate", "empty", "bytes", "replace_value"]))
    event(f"textual: {kind}")
    position = draw(st.integers(min_value=0, max_value=len(raw)))
    if kind == "insert":
        snippet = draw(st.sampled_from([b": [", b"\t", b"- - -", b"{", b"'", b'"', b"&a *b", b"\n  bad: indent", b"!!python/object:os.system ls"]))
        return name, raw[:position] + snippet + raw[position:]
    if kind == "truncate":
        return name, raw[:position]
    if kind == "empty":
        return name, draw(st.sampled_from([b"", b"\n", b"---\n", b"[]\n", b"{}\n", b"just a string\n"]))
    if kind == "bytes":
        return name, raw[:position] + draw(st.binary(min_size=1, max_size=4)) + raw[position:]
    text = draw(odd_text)
    return name, re.sub(rb"(description: >-\n\s+)", lambda m: m.group(1) + text.encode("utf-8") + b" ", raw, count=1)


def run_mutated_build(tmp_root: Path, name: str, content: bytes, capsys) -> tuple[int, str, Path]:
    workdir = Path(os.path.join(tmp_root, hashlib.sha256(content).hexdigest()[:16]))
    shutil.rmtree(workdir, ignore_errors=True)
    data = workdir / "data"
    shutil.copytree(DATA, data)
    (data / f"{name}.yml").write_bytes(content)
    database = workdir / "leftbehind.db"
    database.write_bytes(b"the last good database")
    capsys.readouterr()
    status = build_db.main([str(database), "--data-dir", str(data)])
    return status, capsys.readouterr().err, database


def assert_valid_build_or_clear_error(status: int, err: str, database: Path, name: str) -> None:
    event("outcome: valid build" if status == 0 else "outcome: validation error")
    if status == 0:
        with sqlite3.connect(database) as conn:
            assert conn.execute("pragma integrity_check").fetchone()[0] == "ok"
            assert conn.execute("pragma foreign_key_check").fetchall() == []
            assert conn.execute("select count(*) from wards").fetchone()[0] == 7433
        return
    assert status == 1
    assert "Traceback" not in err
    lines = err.splitlines()
    assert lines[0].startswith("Build failed: ")
    problems = [line for line in lines if line.startswith("  - ")]
    assert problems, err
    assert all(MESSAGE_LINE.match(line) for line in problems), err
    assert database.read_bytes() == b"the last good database"
    assert not list(database.parent.glob(".leftbehind.db.*"))


@pytest.fixture
def cached_sources(monkeypatch, source_data):
    monkeypatch.setattr(leftbehind.build, "read_sources", lambda *args: source_data)


fuzz_settings = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)


@fuzz_settings
@given(mutation=structural_mutation())
def test_structural_mutations(mutation, cached_sources, tmp_path, capsys):
    name, records = mutation
    content = yaml.safe_dump(records, allow_unicode=True, sort_keys=False).encode("utf-8")
    status, err, database = run_mutated_build(tmp_path, name, content, capsys)
    assert_valid_build_or_clear_error(status, err, database, name)


@fuzz_settings
@given(mutation=textual_mutation())
def test_textual_mutations(mutation, cached_sources, tmp_path, capsys):
    name, content = mutation
    status, err, database = run_mutated_build(tmp_path, name, content, capsys)
    assert_valid_build_or_clear_error(status, err, database, name)
