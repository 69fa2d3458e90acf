"""The build, one way through: read, validate, transform, load, describe.

The database is written to a temporary file beside the target and renamed
into place only when every step has succeeded, so a failed or killed build
leaves the last good database exactly as it was.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlite_utils

from leftbehind.catalogue import Catalogue, load_catalogue
from leftbehind.catalogue_tables import load_catalogue_tables
from leftbehind.errors import BuildError
from leftbehind.sources import Source, load_manifest, locate_sources
from leftbehind.ward_tables import check_set_publications, load_sources_table, load_ward_tables
from leftbehind.wards import SourceTable, read_csv_source, read_population, ward_rows

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA_DIR = ROOT / "data"
DEFAULT_CACHE_DIR = ROOT / ".cache" / "sources"
DEFAULT_DATABASE = ROOT / "leftbehind.db"


@dataclass
class SourceData:
    """The parsed source files and the manifest that vouches for them."""

    sources: dict[str, Source]
    tables: dict[str, SourceTable]
    population: dict[str, float]


@dataclass
class Inputs:
    """Everything the build reads, validated and parsed, before any writing."""

    catalogue: Catalogue
    sources: SourceData


def read_sources(data_dir: Path, sources_dir: Path | None, cache_dir: Path) -> SourceData:
    """Locate, verify and parse every source file the manifest lists."""
    sources = load_manifest(data_dir / "sources.yml")
    paths = locate_sources(sources, sources_dir, cache_dir)
    tables = {
        source_id: read_csv_source(source, paths[source_id])
        for source_id, source in sources.items()
        if source_id != "population"
    }
    population = read_population(sources["population"], paths["population"])
    return SourceData(sources, tables, population)


def read_inputs(data_dir: Path, sources_dir: Path | None, cache_dir: Path) -> Inputs:
    """Validate the catalogue first (cheap, most likely to be wrong), then the sources."""
    catalogue = load_catalogue(data_dir)
    check_set_publications({p["id"] for p in catalogue.publications}, f"{data_dir.name}/publications.yml")
    return Inputs(catalogue, read_sources(data_dir, sources_dir, cache_dir))


def repository_commit() -> str | None:
    """The git commit of this repository, or None outside a git checkout."""
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if result.returncode != 0:
        return None
    return result.stdout.strip() or None


def build_time() -> str:
    """UTC build time; SOURCE_DATE_EPOCH pins it for reproducible builds."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    moment = (
        dt.datetime.fromtimestamp(int(epoch), dt.timezone.utc)
        if epoch
        else dt.datetime.now(dt.timezone.utc)
    )
    return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def content_tables(db: sqlite_utils.Database) -> list[str]:
    """Table names without the full-text search index and its shadow tables."""
    fts = set(db.table_names(fts4=True)) | set(db.table_names(fts5=True))
    return sorted(
        name
        for name in db.table_names()
        if not any(name == index or name.startswith(index + "_") for index in fts)
    )


def build_info_rows(db: sqlite_utils.Database, commit: str | None, built_at: str) -> list[dict[str, Any]]:
    rows = [
        {"item": "built_at", "value": built_at, "description": "When the database was built (UTC)."},
        {
            "item": "repository_commit",
            "value": commit,
            "description": "The commit of this project's repository the build ran from; null when unknown.",
        },
    ]
    for name in content_tables(db) + db.view_names():
        count = db.execute(f"select count(*) from [{name}]").fetchone()[0]
        rows.append(
            {
                "item": f"rows:{name}",
                "value": str(count),
                "description": f"Number of rows in {name}.",
            }
        )
    return rows


def write_database(inputs: Inputs, path: Path, commit: str | None, built_at: str) -> None:
    """Write every table into a new database file at ``path``."""
    data = inputs.sources
    wards = ward_rows(data.tables, data.population)
    rows_read = {source_id: len(table.rows) for source_id, table in data.tables.items()}
    rows_read["population"] = len(data.population)
    db = sqlite_utils.Database(path)
    try:
        with db.conn:
            load_catalogue_tables(db, inputs.catalogue)
            load_sources_table(db, data.sources, rows_read)
            load_ward_tables(db, wards)
            db["build_info"].create({"item": str, "value": str, "description": str}, pk="item")
            db["build_info"].insert_all(build_info_rows(db, commit, built_at))
        problems = list(db.execute("PRAGMA foreign_key_check").fetchall())
        if problems:
            raise BuildError("the database breaks its foreign keys", [str(p) for p in problems[:20]])
        db.execute("PRAGMA journal_mode = DELETE")
        db.vacuum()
    finally:
        db.close()


def build(
    database: Path = DEFAULT_DATABASE,
    data_dir: Path = DEFAULT_DATA_DIR,
    sources_dir: Path | None = None,
    cache_dir: Path = DEFAULT_CACHE_DIR,
) -> Path:
    """Build the database at ``database``, replacing it only on success."""
    inputs = read_inputs(data_dir, sources_dir, cache_dir)
    database = database.resolve()
    database.parent.mkdir(parents=True, exist_ok=True)
    remove_abandoned_temporaries(database)
    temporary = database.with_name(f".{database.name}.{os.getpid()}.building")
    try:
        write_database(inputs, temporary, repository_commit(), build_time())
        os.chmod(temporary, 0o644)
        temporary.replace(database)  # atomic: readers see the old or the new file, never a mix
    finally:
        temporary.unlink(missing_ok=True)
    return database


def remove_abandoned_temporaries(database: Path) -> None:
    """Delete temporary files left by builds that were killed (their process is gone)."""
    for leftover in database.parent.glob(f".{database.name}.*.building"):
        pid = leftover.name.removeprefix(f".{database.name}.").removesuffix(".building")
        if pid.isdigit() and not process_is_alive(int(pid)):
            leftover.unlink(missing_ok=True)


def process_is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
