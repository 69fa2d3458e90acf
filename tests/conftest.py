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


def once_per_run(tmp_path_factory: pytest.TempPathFactory, name: str, make: Callable[[Path], None]) -> Path:
    """The folder ``name``, filled by ``make(folder)`` once per test run and shared by every
    xdist worker: in the run's own temporary folder (the parent of each worker's), under a
    file lock (``fcntl.flock``, the standard library's lock on the file itself, released by
    the kernel if the maker dies). The first worker to take the lock makes it; the others
    wait for it and find it made. Each worker building its own copy cost a build's CPU per
    worker (about 10 s each with the cores busy), all of them at the start of the run."""
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent  # the run's folder, shared by its workers (pytest-xdist's own advice)
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
def both_databases(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> tuple[Path, Path]:
    """leftbehind.db and postcodes.db from one build, as build_db.py makes them, once per run.

    postcodes.db is about 170 MB and takes most of a minute to build."""
    folder = once_per_run(
        tmp_path_factory, "both-databases",
        lambda made: built_from_the_sources(request, made / "leftbehind.db", made / "postcodes.db"),
    )
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


@pytest.hookimpl(tryfirst=True)  # before `-m "not browser"` deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that drives Chromium (through the ``chromium`` fixture) is marked ``browser``."""
    for item in items:
        if "chromium" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.browser)
