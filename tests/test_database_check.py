"""A broken leftbehind.db is named before anything serves it: one line, its cause, and the fix.

Each broken copy is made here from the session's real build, the way it happens: a build
that wrote nothing, a copy cut short, a file overwritten, a page damaged, a build that
never got to write build_info, a table that lost rows.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from leftbehind import serve
from leftbehind.build import ROOT
from leftbehind.database_check import build_problem, check_complete_build


def empty(path: Path, good: Path) -> str:
    path.write_bytes(b"")
    return "it is empty (0 bytes)"


def truncated(path: Path, good: Path) -> str:
    whole = good.read_bytes()
    path.write_bytes(whole[: len(whole) // 2])
    return f"it is cut short: {len(whole) // 2:,} of the {len(whole):,} bytes its header gives"


def overwritten(path: Path, good: Path) -> str:
    path.write_bytes(b"<html>Not Found</html>" + good.read_bytes()[22:])  # a download gone wrong
    return "it is not a SQLite database (it does not start as one)"


def damaged(path: Path, good: Path) -> str:
    """A page in the middle of the file overwritten with noise: the header is whole."""
    whole = bytearray(good.read_bytes())
    page_size = int.from_bytes(whole[16:18], "big")
    middle = (len(whole) // page_size // 2) * page_size
    whole[middle : middle + page_size] = b"\xff" * page_size
    path.write_bytes(bytes(whole))
    return "it is damaged (SQLite's check: "


def without_build_info(path: Path, good: Path) -> str:
    shutil.copyfile(good, path)
    with sqlite3.connect(path) as connection:
        connection.execute("drop table build_info")
    return "it has no build_info table, so no build finished writing it"


def rows_lost(path: Path, good: Path) -> str:
    shutil.copyfile(good, path)
    with sqlite3.connect(path) as connection:
        connection.execute("delete from topics where rowid = (select max(rowid) from topics)")
        rows = connection.execute("select count(*) from topics").fetchone()[0]
        recorded = connection.execute("select value from build_info where item = 'rows:topics'").fetchone()[0]
    return f"topics holds {rows:,} rows where build_info records {recorded}"


BREAKAGES = [empty, truncated, overwritten, damaged, without_build_info, rows_lost]


@pytest.mark.parametrize("breakage", BREAKAGES, ids=lambda breakage: breakage.__name__)
def test_a_broken_database_is_named_in_one_line_with_the_fix(breakage, db_path, tmp_path, capsys):
    broken = tmp_path / "leftbehind.db"
    cause = breakage(broken, db_path)
    assert serve.main(["--database", str(broken), "--port", "1"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    [line] = err.splitlines()
    assert line.startswith(f"{broken} is not a complete build: {cause}")
    assert line.endswith(f". Build it again: python build_db.py {broken}")


def test_the_real_build_is_complete(db_path):
    assert build_problem(db_path) is None
    check_complete_build(db_path)


def test_a_missing_database_is_named(tmp_path):
    assert build_problem(tmp_path / "leftbehind.db") == "it does not exist"


def test_the_fix_for_the_checkouts_own_database_is_make_build(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "leftbehind.db").write_bytes(b"")
    with pytest.raises(Exception, match=r"Build it again: make build \(or: python build_db\.py\)$"):
        check_complete_build(Path("leftbehind.db"))


@pytest.mark.parametrize("module", ["leftbehind.serve", "leftbehind.server"])
def test_each_way_of_serving_checks_before_it_serves(module, db_path, tmp_path):
    """The processes themselves: one line on stderr, exit status 1, no traceback, nothing served."""
    broken = tmp_path / "leftbehind.db"
    cause = truncated(broken, db_path)
    arguments = ["--database", str(broken)] if module == "leftbehind.serve" else ["--immutable", str(broken)]
    result = subprocess.run(
        [sys.executable, "-m", module, *arguments, "--port", "1"], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert result.returncode == 1
    assert result.stderr.splitlines() == [f"{broken} is not a complete build: {cause}. Build it again: python build_db.py {broken}"]
