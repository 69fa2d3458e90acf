"""The Makefile's own care of .venv: made by a recent Python, made again when it was not, and
removed by ``make clean``. Run on a copy of the Makefile in a folder of its own, with the real
``make`` and the real ``python -m venv``; nothing is installed (that is ``make install``'s pip),
and the venv is made without pip (``VENV_OPTIONS=--without-pip``: bootstrapping pip takes a
minute on a busy machine, and has nothing to do with which Python makes the venv).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from leftbehind.build import ROOT

# Stands in for the Python of a .venv made by Python 3.10 (an install that failed): it says
# which it is, and fails the Makefile's check of the version, as Python 3.10 does.
PYTHON_310 = """#!/bin/sh
if [ "$1" = "--version" ]; then echo "Python 3.10.13"; exit 0; fi
exit 1
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A folder holding the Makefile and the files its install target depends on."""
    for name in ("Makefile", "pyproject.toml", "requirements.lock", "requirements-uv.txt"):
        shutil.copy(ROOT / name, tmp_path / name)
    return tmp_path


def make(project: Path, *arguments: str) -> subprocess.CompletedProcess:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("MAKE")}
    return subprocess.run(
        ["make", "--no-print-directory", *arguments], cwd=project, capture_output=True, text=True, env=environment
    )


def old_venv(project: Path) -> Path:
    python = project / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text(PYTHON_310)
    python.chmod(0o755)
    return python


def test_a_venv_made_by_an_older_python_is_made_again(project):
    old_venv(project)
    result = make(project, "venv", f"PYTHON={sys.executable}", "VENV_OPTIONS=--without-pip")
    assert result.returncode == 0, result.stderr
    assert ".venv was made by Python 3.10.13, not Python 3.11+: making it again with" in result.stdout
    version = subprocess.run(
        [project / ".venv" / "bin" / "python", "-c", "import sys; print(sys.version_info[:2])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()
    assert version == str(sys.version_info[:2])
    # A good one is kept as it is.
    again = make(project, "venv", f"PYTHON={sys.executable}", "VENV_OPTIONS=--without-pip")
    assert again.returncode == 0 and again.stdout == "", again.stdout


@pytest.mark.parametrize("kind", ["older Python", "Python gone"])
def test_install_runs_again_when_the_venv_must_be_made_again(project, kind):
    """Even when .venv's install looks up to date by the file times, as it does after an
    install under the wrong Python was followed by a touch, or when the base Python is gone."""
    if kind == "older Python":
        old_venv(project)
    else:
        python = project / ".venv" / "bin" / "python"
        python.parent.mkdir(parents=True)
        python.symlink_to(project / "removed-python3.11")
    (project / ".venv" / "bin" / "datasette").touch()  # newer than pyproject.toml and the lock
    result = make(project, "-n", "install", f"PYTHON={sys.executable}")
    assert result.returncode == 0, result.stderr
    assert "pip install" in result.stdout


def test_install_does_nothing_when_the_venv_is_good_and_up_to_date(project):
    python = project / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.symlink_to(sys.executable)
    (project / ".venv" / "bin" / "datasette").touch()
    result = make(project, "-n", "install", f"PYTHON={sys.executable}")
    assert result.returncode == 0, result.stderr
    assert "pip install" not in result.stdout


def test_an_older_python_is_refused_before_it_makes_a_venv(project, tmp_path):
    python = tmp_path / "python3.10"
    python.write_text(PYTHON_310)
    python.chmod(0o755)
    result = make(project, "venv", f"PYTHON={python}")
    assert result.returncode != 0
    message = result.stderr.strip().splitlines()[0]
    assert message == (
        f"make: this project needs Python 3.11 or later, and PYTHON={python} is Python 3.10.13:"
        " run make again with PYTHON=python3.11 (or the path of any Python 3.11+)"
    )
    assert not (project / ".venv").exists()


def test_make_clean_removes_the_venv_and_what_was_built_but_not_the_downloads(project):
    made = [".venv/bin/python", "leftbehind.db", "inspect-data.json", ".pytest_cache/x", ".hypothesis/x"]
    for name in made + [".cache/sources/cni2020.csv"]:
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text("x")
    result = make(project, "clean")
    assert result.returncode == 0, result.stderr
    assert [name for name in made if (project / name.split("/")[0]).exists()] == []
    assert (project / ".cache/sources/cni2020.csv").exists()


# The venv's Python for `make serve`: the version check and the database check run for real,
# anything else (the build, the server) is only written down, in order.
RECORDING_PYTHON = """#!/bin/sh
if [ "$1" = "-c" ] || [ "$1 $2" = "-m leftbehind.database_check" ]; then exec {python} "$@"; fi
echo "$@" >> ran.log
"""


@pytest.mark.parametrize("state", ["complete", "truncated", "empty"])
def test_make_serve_builds_again_a_database_that_is_not_a_complete_build(project, db_path, state):
    """Even when leftbehind.db is newer than everything it is made from, as a copy cut short is."""
    for name in ("build_db.py", "leftbehind/build.py", "data/sessions.yml"):
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text("")
    python = project / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text(RECORDING_PYTHON.format(python=sys.executable))
    python.chmod(0o755)
    (project / ".venv" / "bin" / "datasette").touch()
    whole = db_path.read_bytes()
    database = {"complete": whole, "truncated": whole[: len(whole) // 3], "empty": b""}[state]
    (project / "leftbehind.db").write_bytes(database)  # the newest file of all
    result = make(project, "serve", "PORT=8123")
    assert result.returncode == 0, result.stderr
    ran = (project / "ran.log").read_text().splitlines()
    serving = "-m leftbehind.serve serve --port 8123"
    if state == "complete":
        assert ran == [serving] and result.stderr == ""
    else:
        assert ran == ["build_db.py leftbehind.db", serving]
        assert result.stderr.startswith("leftbehind.db is not a complete build: it is ")
