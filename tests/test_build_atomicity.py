"""Builds that overlap or are killed never leave a broken database behind."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from support.live import children_of, ends
from leftbehind.build import ROOT, remove_abandoned_temporaries

pytestmark = pytest.mark.long  # among the slowest files: scheduled first (tests/conftest.py)


def build_process(database: Path) -> subprocess.Popen:
    """A build of leftbehind.db alone: the postcode database would add a minute to each, and
    a failed build of both is checked in tests/test_postcodes.py."""
    return subprocess.Popen(
        [sys.executable, str(ROOT / "build_db.py"), str(database), "--no-postcodes"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=os.environ.copy(),
    )


def check_database(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        assert conn.execute("pragma integrity_check").fetchone()[0] == "ok"
        assert conn.execute("select count(*) from wards").fetchone()[0] == 7433
        assert conn.execute("select count(*) from left_behind_neighbourhoods").fetchone()[0] == 225


def test_two_builds_at_once_leave_one_whole_database(tmp_path, sources_dir):
    database = tmp_path / "leftbehind.db"
    first, second = build_process(database), build_process(database)
    for process in (first, second):
        _, err = process.communicate(timeout=300)
        assert process.returncode == 0, err.decode()
    check_database(database)
    assert not list(tmp_path.glob(".leftbehind.db.*"))


def test_killed_build_leaves_the_previous_database(tmp_path, db_path):
    database = tmp_path / "leftbehind.db"
    shutil.copyfile(db_path, database)  # the last good database: the session's build
    before = hashlib.sha256(database.read_bytes()).hexdigest()
    process = build_process(database)
    temporary = tmp_path / f".leftbehind.db.{process.pid}.building"
    deadline = time.monotonic() + 120
    while not temporary.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert temporary.exists(), "the build never started writing"
    children = children_of(process.pid)  # the process deriving the outlines, forked before writing
    process.send_signal(signal.SIGKILL)
    # Its output pipes close only when every process holding them has ended, its children too.
    process.communicate(timeout=30)
    assert children, "the build forked no process to derive the outlines"
    assert all(map(ends, children)), f"children {children} of the killed build live on"
    assert hashlib.sha256(database.read_bytes()).hexdigest() == before
    check_database(database)
    # What the next build does first: clear the leftover of a build whose process is gone.
    remove_abandoned_temporaries(database)
    assert not temporary.exists()
    check_database(database)
