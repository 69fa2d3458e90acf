"""Shared fixtures: one real build of the database per test session.

The build needs the pinned source files. They come from LEFTBEHIND_SOURCES_DIR
(CI sets it to ../shared/data) or are downloaded into the cache; when neither
works the build raises and every test that needs the database errors loudly.
Tests that only read the database share the one build; the build time is pinned
(SOURCE_DATE_EPOCH) so that one more build can be compared with it byte for byte.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
import yaml
from datasette.app import Datasette
from playwright.async_api import Browser, async_playwright
from support.browser import VIEWPORT, Visit, launch_chromium, visit
from support.live import profile_server

import leftbehind.build
from leftbehind.build import DEFAULT_CACHE_DIR, ROOT, build
from leftbehind.catalogue import CATALOGUE_FILES
from leftbehind.serve import SETTINGS, STATIC, STATIC_MOUNT, TEMPLATES
from leftbehind.site import register
from leftbehind.sources import sources_dir_from_environment

DATA_DIR = ROOT / "data"


@pytest.fixture(scope="session")
def sources_dir() -> Path | None:
    return sources_dir_from_environment()


BUILD_EPOCH = "1700000000"


def run_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The run's own temporary folder, shared by its xdist workers (the parent of each worker's,
    pytest-xdist's own advice), or the session's when there are no workers."""
    shared = tmp_path_factory.getbasetemp()
    return shared.parent if os.environ.get("PYTEST_XDIST_WORKER") else shared


def once_per_run(tmp_path_factory: pytest.TempPathFactory, name: str, make: Callable[[Path], None]) -> Path:
    """The folder ``name``, filled by ``make(folder)`` once per test run and shared by every
    xdist worker: in the run's own temporary folder, under a file lock (``fcntl.flock``, the
    standard library's lock on the file itself, released by the kernel if the maker dies).
    The first worker to take the lock makes it; the others wait for it and find it made. Each
    worker building its own copy cost a build's CPU per worker (about 10 s each with the cores
    busy), all of them at the start of the run."""
    shared = run_folder(tmp_path_factory)
    folder = shared / name
    folder.mkdir(exist_ok=True)
    done = folder / "made"
    with (shared / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not done.exists():
                make(folder)
                done.write_text(f"{name} is whole\n", encoding="utf-8")
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return folder


# The build of both databases (postcodes.db is most of a minute of it) runs in the background
# from the moment a run's collection shows a test that needs it, so the tests before it keep
# both cores busy instead of one worker waiting for it. It is build_db.py itself, at the pinned
# build time; it holds BOTH_LOCK from before it starts until it ends (the kernel releases a
# flock when the last process holding the file ends), so waiting for it waits for that event.
BOTH = "both-databases"
BOTH_NEEDED_BY = "both_databases"
STARTED_HERE: list[subprocess.Popen] = []  # reaped when this process's session ends


def start_both_databases(shared: Path) -> Path:
    """The folder of the run's build of both databases, started once per run in the background."""
    folder = shared / BOTH
    with (shared / f"{BOTH}.start").open("w") as guard:
        fcntl.flock(guard, fcntl.LOCK_EX)
        if folder.exists():
            return folder  # started by another worker, or earlier by this one
        folder.mkdir()
        with (shared / f"{BOTH}.lock").open("w") as lock, (folder / "build.log").open("w") as log:
            fcntl.flock(lock, fcntl.LOCK_EX)  # nobody else can hold it yet: the folder was new
            build_then_status = (
                '"$0" "$1" "$2" --postcodes "$3"; echo $? > "$4"'
            )
            STARTED_HERE.append(subprocess.Popen(
                ["sh", "-c", build_then_status, sys.executable, str(ROOT / "build_db.py"),
                 str(folder / "leftbehind.db"), str(folder / "postcodes.db"), str(folder / "status")],
                cwd=ROOT, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                env={**os.environ, "SOURCE_DATE_EPOCH": BUILD_EPOCH}, pass_fds=(lock.fileno(),),
            ))
    return folder


def wait_for_both_databases(shared: Path) -> Path:
    """The folder of the run's build of both databases, once that build has ended well."""
    folder = start_both_databases(shared)
    with (shared / f"{BOTH}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # held by the build until it ends
        fcntl.flock(lock, fcntl.LOCK_UN)
    status = folder / "status"
    if not status.exists() or status.read_text().strip() != "0":
        log = (folder / "build.log").read_text(encoding="utf-8", errors="replace")
        pytest.fail(f"the run's build of both databases failed ({status.read_text().strip() if status.exists() else 'killed'}):\n"
                    f"{log[-4000:]}", pytrace=False)
    return folder


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start the build of both databases as soon as the run is known to need it."""
    if session.config.option.collectonly:
        return
    if any(BOTH_NEEDED_BY in getattr(item, "fixturenames", ()) for item in session.items):
        start_both_databases(run_folder(session.config._tmp_path_factory))  # the tmp_path_factory fixture's own


def pytest_sessionfinish() -> None:
    """The build this process started has ended before it does (a test on another worker may
    still be waiting for it; an interrupted run interrupts it too, in the same process group)."""
    for process in STARTED_HERE:
        process.wait()


def built_from_the_sources(request: pytest.FixtureRequest, database: Path, postcodes: Path | None = None) -> None:
    """Build as build_db.py does, from the session's one reading of the sources, at the
    pinned build time."""
    source_data = request.getfixturevalue("source_data")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SOURCE_DATE_EPOCH", BUILD_EPOCH)
        patch.setattr(leftbehind.build, "read_sources", lambda *args: source_data)
        build(database, DATA_DIR, postcodes=postcodes)


@pytest.fixture(scope="session")
def db_path(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Path:
    """A database built from the repository's catalogue and the real sources, once per run.
    Its folder holds nothing else (no postcodes.db beside it: the server would serve one)."""
    folder = once_per_run(tmp_path_factory, "build", lambda made: built_from_the_sources(request, made / "leftbehind.db"))
    return folder / "leftbehind.db"


@pytest.fixture(scope="session")
def both_databases(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """leftbehind.db and postcodes.db from one run of build_db.py, once per run, started in
    the background when the run was collected (``start_both_databases``).

    postcodes.db is about 170 MB and takes most of a minute to build."""
    folder = wait_for_both_databases(run_folder(tmp_path_factory))
    return folder / "leftbehind.db", folder / "postcodes.db"


@pytest.fixture(scope="session")
def metadata() -> dict:
    return yaml.safe_load((ROOT / "metadata.yml").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def catalogue_yaml() -> dict[str, list[dict]]:
    return {
        name: yaml.safe_load((DATA_DIR / f"{name}.yml").read_text(encoding="utf-8"))
        for name in CATALOGUE_FILES
    }


def profile_datasette(database: Path, metadata: dict, postcodes: Path | None = None) -> Datasette:
    """Datasette configured as the publishing profile serves ``database`` (and ``postcodes``,
    postcodes.db, as its second database, when given)."""
    register()
    return Datasette(
        [],
        immutables=[str(database)] + ([str(postcodes)] if postcodes else []),
        metadata=metadata,
        settings={name: _setting_value(value) for name, value in SETTINGS.items()},
        template_dir=str(TEMPLATES),
        static_mounts=[(STATIC_MOUNT, str(STATIC))],
        cors=True,
    )


@pytest.fixture(scope="session")
def postcode_datasette(both_databases: tuple[Path, Path], metadata: dict) -> Datasette:
    """The publishing profile serving both databases of one build, as ``make serve`` does."""
    return profile_datasette(both_databases[0], metadata, postcodes=both_databases[1])


@pytest.fixture(scope="session")
def live_postcode_site(both_databases: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of the real server serving both databases (postcodes.db beside leftbehind.db)."""
    with profile_server(both_databases[0], tmp_path_factory.mktemp("live-postcodes")) as base:
        yield base


@pytest.fixture(scope="session")
def datasette(db_path: Path, metadata: dict) -> Datasette:
    return profile_datasette(db_path, metadata)


def _setting_value(value: str):
    if value in ("on", "off"):
        return value == "on"
    return int(value) if value.isdigit() else value


@pytest.fixture(scope="session")
def data(db_path: Path) -> Iterator[sqlite3.Connection]:
    """The session's build, read-only, rows read by column name, for the values a test expects."""
    connection = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    connection.row_factory = sqlite3.Row
    yield connection
    connection.close()


@pytest.fixture(scope="session")
def sql(data: sqlite3.Connection) -> sqlite3.Connection:
    """The same read-only connection, under the name some test files use."""
    return data


@pytest_asyncio.fixture
async def desktop(chromium: Browser, live_site: str) -> AsyncIterator[Visit]:
    """A fresh page at 1280 px on the session's live server, watched for problems on our side."""
    context, opened = await visit(chromium, live_site, VIEWPORT)
    try:
        yield opened
    finally:
        await context.close()


@pytest.fixture
def data_copy(tmp_path: Path) -> Path:
    """A writable copy of the catalogue folder to break in a test."""
    copy = tmp_path / "data"
    shutil.copytree(DATA_DIR, copy)
    return copy


@pytest.fixture(scope="session")
def source_data(sources_dir: Path | None):
    """The manifest and the parsed source tables, read once per test session: all those of
    the main database at once (a build reads the outline folders in its outline process, whose
    reading would be lost with it; the tests use them too), the postcode directory when asked for."""
    sources, tables = leftbehind.build.read_sources(DATA_DIR, sources_dir, DEFAULT_CACHE_DIR)
    for source_id in sources:
        if source_id not in leftbehind.build.POSTCODE_ONLY_SOURCES:
            tables[source_id]  # noqa: B018 - read now
    return sources, tables


@pytest.fixture(scope="session")
def live_site(db_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of the real server, started as ``make serve`` starts it, on a free local port."""
    with profile_server(db_path, tmp_path_factory.mktemp("live-site")) as base:
        yield base


@pytest_asyncio.fixture(scope="session")
async def chromium() -> AsyncIterator[Browser]:
    """Debian's headless Chromium, launched once per test session (per xdist worker)."""
    async with async_playwright() as playwright:
        browser = await launch_chromium(playwright)
        yield browser
        await browser.close()


def run_order(item: pytest.Item) -> int:
    """Where a test comes in the run: the slowest files (marked ``long``) first, then the tests
    of the build of both databases (begun in the background at collection), then the rest,
    many small files that fill the workers' last minutes evenly."""
    if item.get_closest_marker("long"):
        return 0
    return 1 if BOTH_NEEDED_BY in getattr(item, "fixturenames", ()) else 2


@pytest.hookimpl(tryfirst=True)  # before `-m "not browser"` deselects by marker, and before xdist reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that drives Chromium (through the ``chromium`` fixture) is marked ``browser``.

    With ``make test`` (pytest-xdist, ``--dist loadgroup --no-loadscope-reorder``) a worker takes
    one group of tests at a time, in the order of the collection: a test's group is its file
    (its file's fixtures are set up once, on one worker) unless it names its own
    (``xdist_group``, the accessibility sweep's parts), and the order is ``run_order``'s. A
    long file that started last would end the run alone: xdist's own order, by the number of
    tests in a file, started the accessibility file (5 tests, 4 minutes) near the end."""
    for item in items:
        if "chromium" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.browser)
        if not item.get_closest_marker("xdist_group"):
            item.add_marker(pytest.mark.xdist_group(item.path.name))
    items.sort(key=run_order)
