"""The build, one way through: read, validate, transform, load, describe.

The database is written to a temporary file beside the target and renamed
into place only when every step has succeeded, so a failed or killed build
leaves the last good database exactly as it was.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import datetime as dt
import gc
import os
import subprocess
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import sqlite_utils

from leftbehind.catalogue import Catalogue, load_catalogue
from leftbehind.corrections import Correction, apply_corrections, check_councils_2022_2024, load_corrections
from leftbehind.errors import BuildError
from leftbehind.forked import ForkedParts, can_fork
from leftbehind.readers import SourceColumns, SourceTable, read_source
from leftbehind.registry import Table, check_declarations, load_table
from leftbehind.sources import Source, load_manifest, locate_sources
from leftbehind.tables import POSTCODE_TABLES, TABLES
from leftbehind.ward_tables import check_set_publications
from leftbehind.deprivation import Deprivation, deprivation
from leftbehind.geography import Today, today_geography
from leftbehind.outlines import check_outline_coverage, outline_rows, ward_outline_sources
from leftbehind.similar import similar_ward_rows
from leftbehind.place_names import neighbourhood_links
from leftbehind.postcodes import (
    POSTCODE_DATABASE_SOURCES,
    Placed,
    PostcodeColumns,
    border_postcode_rows,
    council_rows,
    outward_code_rows,
    place_points,
    postcode_rows,
    postcode_ward_rows,
    postcodes_by_country,
)
from leftbehind.ward_geometry import WardOutlines, check_transformation, ward_outlines, ward_shape_rows
from leftbehind.wards import lsoas_by_ward, population_by_lsoa, ward_rows

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA_DIR = ROOT / "data"
DEFAULT_CACHE_DIR = ROOT / ".cache" / "sources"
DEFAULT_DATABASE = ROOT / "leftbehind.db"
# The postcode database's file name, beside the main database.
POSTCODE_DATABASE = "postcodes.db"
# The sources only the postcode database reads: the main build leaves them unread.
POSTCODE_ONLY_SOURCES = ("postcodes",)
# What only the outline process needs (Inputs.start_outline_process): the outline folders
# (files 15, 16, 19 and 18) and the MSOA names. In the main build it reads them itself, in the
# order it needs them, while this process reads the rest.
OUTLINE_SOURCES = ("lba_outlines_2020", "lba_outlines_2019", "msoa_names", "lsoa_outlines", "ward_outlines_2019")
# What the outline process needs made from the wards' own sources: made before the fork, or
# made after it and sent (Inputs.share_with_outline_process).
SHARED_WITH_OUTLINE_PROCESS = ("ward_basics", "lsoa_wards", "ward_universe", "population")


@dataclass
class Inputs:
    """Everything the build reads, validated and parsed before any writing, and what the
    tables' rows functions (``leftbehind/tables.py``) compute from it."""

    catalogue: Catalogue
    sources: dict[str, Source]
    tables: dict[str, SourceTable]
    # The declared corrections (data/corrections.yml), already applied to ``tables``.
    corrections: list[Correction] = field(default_factory=list)
    built_at: str = ""
    commit: str | None = None
    # Rows in each table and view loaded so far: build_info, declared last, reports them.
    counts: dict[str, int] = field(default_factory=dict)
    # The similar wards being computed in a worker thread while write_database runs.
    similar_wards_future: concurrent.futures.Future | None = field(default=None, repr=False)
    # The rows made from the outline folders (outline_parts), being made in a forked process.
    outline_process: ForkedParts | None = field(default=None, repr=False)
    # The sources that process reads itself, this one never.
    read_in_child: tuple[str, ...] = ()
    # Whether that process waits for SHARED_WITH_OUTLINE_PROCESS, made after the fork.
    outline_process_waits: bool = field(default=False, repr=False)

    @cached_property
    def population(self) -> dict[str, float]:
        return population_by_lsoa(self.tables["population"])

    @cached_property
    def ward_lsoas(self) -> dict[str, list[str]]:
        return lsoas_by_ward(self.tables["lsoa_ward_lookup"])

    @cached_property
    def ward_basics(self) -> list[dict[str, Any]]:
        """The wards as the CNI and the 2017 lookups give them, before today's geography."""
        return ward_rows(self.tables, self.population, self.ward_lsoas)

    @cached_property
    def today(self) -> Today:
        check_councils_2022_2024(*(self.tables[name] for name in ("lsoa11_lsoa21", "lsoa21_ward24", "ltla24_region")))
        return today_geography(
            self.ward_basics,
            self.ward_lsoas,
            self.population,
            self.tables["lsoa11_lsoa21"].rows,
            self.tables["lsoa21_ward24"].rows,
            self.tables["ltla24_region"].rows,
            tuple(self.tables[name].source.label for name in ("lsoa11_lsoa21", "lsoa21_ward24", "ltla24_region")),
        )

    @cached_property
    def deprivation(self) -> Deprivation:
        """Each ward's IMD 2019, the definition reproduced and the indicative 2025 re-run."""
        return deprivation(self.ward_basics, self.ward_lsoas, self.today.shares, self.tables)

    @property
    def similar_wards(self) -> list[dict[str, Any]]:
        """Rows of similar_ward_lists: from the worker thread write_database starts, or computed here."""
        if self.similar_wards_future is not None:
            return self.similar_wards_future.result()
        return similar_ward_rows(self.wards)

    @cached_property
    def wards(self) -> list[dict[str, Any]]:
        return [
            {**ward, **self.today.ward_columns(ward["ward_code"]), **self.deprivation.ward_columns(ward["ward_code"])}
            for ward in self.ward_basics
        ]

    @cached_property
    def ward_universe(self) -> set[str]:
        """Every English ward of December 2017 (the CNI leaves out the City of London and the
        Isles of Scilly, whose postcodes still need their wards)."""
        lookup = {row["WD17CD"] for row in self.tables["ward_lad_lookup"].rows if row["WD17CD"].startswith("E")}
        return lookup | {ward["ward_code"] for ward in self.ward_basics}

    @cached_property
    def lsoa_wards(self) -> dict[str, str]:
        """The best-fit 2017 ward of each LSOA (2011)."""
        return {lsoa: ward for ward, lsoas in self.ward_lsoas.items() for lsoa in lsoas}

    @property
    def ward_shapes(self) -> list[dict[str, Any]]:
        return self.outline_part("ward_shapes")

    @property
    def ward_outlines(self) -> list[dict[str, Any]]:
        return self.outline_part("ward_outlines")

    @property
    def neighbourhoods(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Rows of neighbourhoods and neighbourhood_wards (leftbehind.place_names)."""
        return self.outline_part("neighbourhoods")

    @property
    def outline_makers(self) -> dict[str, Callable[[], Any]]:
        """What is made from the outline folders (and the wards' own sources), by name, in the
        order the tables need it, each reading only the folders it needs."""
        return {
            "ward_outlines": self.derive_ward_outlines,
            "neighbourhoods": self.derive_neighbourhoods,
            "ward_shapes": self.derive_ward_shapes,
        }

    def outline_part(self, name: str) -> Any:
        """One of ``outline_makers``: from the outline process, or made here."""
        derived = self.derived
        if name not in derived:
            process = self.outline_process
            if process is not None:
                self.share_with_outline_process()  # if not yet: it would wait for it
            derived[name] = process.get(name) if process is not None else self.outline_makers[name]()
        return derived[name]

    def outline_parts(self, receive: Callable[[], Any]) -> Iterator[tuple[str, Any]]:
        """In the outline process: read what this process reads (while the parent reads the
        rest), take what the parent made meanwhile, then make each of ``outline_makers`` and
        send it as soon as it is made."""
        for source_id in self.read_in_child:
            self.tables[source_id]  # noqa: B018 - read, checked and corrected here
        if self.outline_process_waits:
            self.__dict__.update(receive())  # the cached properties, as the parent made them
        for name, make in self.outline_makers.items():
            yield name, make()

    def start_outline_process(self) -> None:
        """Make the ``outline_makers``' parts in a forked child while this process goes on.

        The child reads the sources of OUTLINE_SOURCES this process has not read yet
        (``read_in_child``): read_inputs forks before reading any, so that the child reads
        them while this process reads the rest. What it needs from the wards' own sources
        it is sent once made (``share_with_outline_process``). Only the parts come back: the
        outlines (with the LSOAs they are made of, 24 MB pickled) are needed only to place
        the postcodes, which derives them again.
        """
        if all(name in self.derived for name in self.outline_makers) or self.outline_process or not can_fork():
            return
        read = getattr(self.tables, "read", self.tables)
        self.read_in_child = tuple(source_id for source_id in OUTLINE_SOURCES if source_id not in read)
        if not self.read_in_child:  # nothing for the child to read first: made once, before the fork
            for name in SHARED_WITH_OUTLINE_PROCESS:
                getattr(self, name)
        self.outline_process_waits = not all(name in self.__dict__ for name in SHARED_WITH_OUTLINE_PROCESS)
        self.outline_process = ForkedParts(self.outline_parts, "leftbehind-outlines")

    def share_with_outline_process(self) -> None:
        """Make SHARED_WITH_OUTLINE_PROCESS (reading the sources they need) and send them to
        the outline process, if it waits for them."""
        if self.outline_process is not None and self.outline_process_waits:
            self.outline_process.send({name: getattr(self, name) for name in SHARED_WITH_OUTLINE_PROCESS})
            self.outline_process_waits = False

    def stop_outline_process(self) -> None:
        if self.outline_process is not None:
            self.outline_process.cancel()
            self.outline_process = None

    @property
    def derived(self) -> dict[str, Any]:
        """What is made from the sources alone, kept with them (``SourceTables.derived``) for
        another build from the same reading; per Inputs for a plain dict of tables (tests)."""
        if hasattr(self.tables, "derived"):
            return self.tables.derived
        return self.__dict__.setdefault("_derived", {})

    @property
    def outlines(self) -> WardOutlines:
        """Every 2017 ward's outline, exact or approximate (leftbehind.ward_geometry)."""
        if "outlines" not in self.derived:
            self.derived["outlines"] = self.derive_outlines()
        return self.derived["outlines"]

    @cached_property
    def outlines_bng(self) -> WardOutlines:
        """The same in British National Grid metres, to place the postcodes."""
        wards_2019 = self.tables["ward_outlines_2019"]
        check_transformation(wards_2019.rows, wards_2019.source.label)
        return self.outlines.in_bng()

    def derive_outlines(self) -> WardOutlines:
        wards_2019, lba_2020, lba_2019 = (self.tables[key] for key in ("ward_outlines_2019", "lba_outlines_2020", "lba_outlines_2019"))
        flagged = ward_outline_sources(lba_2020.rows, lba_2019.rows, (lba_2020.source.label, lba_2019.source.label))
        check_outline_coverage(flagged, (w["ward_code"] for w in self.ward_basics if w["left_behind_2020"] or w["left_behind_2019"]))
        points = {ward["ward_code"]: (ward["longitude"], ward["latitude"]) for ward in self.ward_basics}
        return ward_outlines(self.ward_universe, wards_2019, self.tables["lsoa_outlines"], self.lsoa_wards, flagged, points)

    def derive_ward_outlines(self) -> list[dict[str, Any]]:
        return outline_rows(self.ward_basics, self.tables["lba_outlines_2020"], self.tables["lba_outlines_2019"])

    def derive_neighbourhoods(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        names = self.tables["msoa_names"]
        return neighbourhood_links(names.rows, self.tables["lsoa_outlines"].rows, self.lsoa_wards, self.population, names.source.label)

    def derive_ward_shapes(self) -> list[dict[str, Any]]:
        return ward_shape_rows(self.outlines, self.ward_basics)

    # --- The postcode database (postcodes.db) ---------------------------------------------

    @cached_property
    def postcode_countries(self) -> dict[str, PostcodeColumns]:
        return postcodes_by_country(self.tables["postcodes"])

    @cached_property
    def placed_postcodes(self) -> Placed:
        england = self.postcode_countries["E"]
        return place_points(england.east, england.north, self.outlines_bng)

    @property
    def postcode_rows(self) -> list[tuple]:
        return postcode_rows(self.postcode_countries["E"], self.outlines_bng, self.placed_postcodes)

    @property
    def postcode_ward_rows(self) -> list[dict[str, Any]]:
        return postcode_ward_rows(self.wards, self.tables["ward_lad_lookup"].rows, self.tables["lad_region_lookup"].rows)

    @property
    def postcode_council_rows(self) -> list[dict[str, Any]]:
        england = self.postcode_countries["E"]
        wards = np.array(self.outlines_bng.codes)[self.placed_postcodes.ward]
        return council_rows(england.council, wards, self.wards, self.tables["ltla24_region"].rows)

    @property
    def postcode_district_rows(self) -> list[dict[str, Any]]:
        return outward_code_rows(self.postcode_countries)

    @property
    def border_postcode_rows(self) -> list[dict[str, Any]]:
        return border_postcode_rows(self.postcode_countries)

    @property
    def postcode_sources(self) -> dict[str, Source]:
        return {key: self.sources[key] for key in POSTCODE_DATABASE_SOURCES}

    @property
    def main_sources(self) -> dict[str, Source]:
        """The sources the main database is made from (all but the postcode directory)."""
        return {key: source for key, source in self.sources.items() if key not in POSTCODE_ONLY_SOURCES}

    @property
    def rows_read(self) -> dict[str, int]:
        """Data rows read from each source read so far. A folder the outline process reads has
        the count its manifest entry declares: read_source refuses a file with any other, and
        the build fails when the outline process does."""
        read = getattr(self.tables, "read", self.tables)  # a plain dict of tables in some tests
        declared = {source_id: self.sources[source_id].rows for source_id in self.read_in_child}
        return declared | {source_id: read[source_id].row_count for source_id in self.sources if source_id in read}

    @property
    def build_info(self) -> list[dict[str, Any]]:
        return build_info_rows(self.commit, self.built_at, self.counts)


class SourceTables(Mapping):
    """The parsed source tables, keyed by source id, each read the first time it is asked for
    (read_inputs asks for those of the main database before anything is written). Every file
    has been located and its sha256 checked before any is read."""

    def __init__(self, sources: dict[str, Source], paths: dict[str, Path]) -> None:
        self.sources, self.paths = sources, paths
        # What is derived from these sources alone, kept for a second build from the same reading
        # (the test session builds several databases from one reading of the sources).
        self.derived: dict[str, Any] = {}
        self.read: dict[str, SourceTable | SourceColumns] = {}

    def __getitem__(self, source_id: str) -> SourceTable | SourceColumns:
        if source_id not in self.read:
            self.read[source_id] = read_source(self.sources[source_id], self.paths[source_id])
        return self.read[source_id]

    def __iter__(self):
        return iter(self.sources)

    def __len__(self) -> int:
        return len(self.sources)


def read_sources(data_dir: Path, sources_dir: Path | None, cache_dir: Path) -> tuple[dict[str, Source], SourceTables]:
    """Locate and verify every source file the manifest lists, to be read when asked for."""
    sources = load_manifest(data_dir / "sources.yml")
    paths = locate_sources(sources, sources_dir, cache_dir)
    return sources, SourceTables(sources, paths)


def read_inputs(data_dir: Path, sources_dir: Path | None, cache_dir: Path, outlines_in_child: bool = False) -> Inputs:
    """Validate the catalogue first (cheap, most likely to be wrong), then read the sources the
    main database needs, with their corrections applied.

    With ``outlines_in_child``, the outline process is forked before any source is read
    (``Inputs.start_outline_process``): it reads the outline folders itself while this process
    reads the rest, on the other core, and is sent the wards this process makes meanwhile."""
    catalogue = load_catalogue(data_dir)
    check_set_publications({p["id"] for p in catalogue["publications"]}, f"{data_dir.name}/publications.yml")
    sources, tables = read_sources(data_dir, sources_dir, cache_dir)
    corrections = load_corrections(data_dir / "corrections.yml", sources)
    inputs = Inputs(catalogue, sources, apply_corrections(tables, corrections), corrections)
    try:
        if outlines_in_child:
            inputs.start_outline_process()
            inputs.share_with_outline_process()
        for source_id in inputs.main_sources:
            if source_id not in inputs.read_in_child:
                inputs.tables[source_id]  # noqa: B018 - read, checked and corrected now, before any writing
    except BaseException:
        inputs.stop_outline_process()
        raise
    return inputs


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


def build_info_rows(commit: str | None, built_at: str, counts: dict[str, int]) -> list[dict[str, Any]]:
    """When and from what the database was built, and the rows of every table and view.

    ``counts`` holds every table but build_info itself, whose count is its own length.
    """
    rows = [
        {"item": "built_at", "value": built_at, "description": "When the database was built (UTC)."},
        {
            "item": "repository_commit",
            "value": commit,
            "description": "The commit of this project's repository the build ran from; null when unknown.",
        },
    ]
    counts = {**counts, "build_info": len(rows) + len(counts) + 1}
    for name in sorted(counts):
        rows.append({"item": f"rows:{name}", "value": str(counts[name]), "description": f"Number of rows in {name}."})
    return rows


def check_database(db: sqlite_utils.Database, tables: tuple[Table, ...]) -> None:
    """The database holds exactly the declared tables and views, and its foreign keys hold."""
    declared = {table.name for table in tables}
    present = set(content_tables(db)) | set(db.view_names())
    problems = [f"table {name}: declared but not created" for name in sorted(declared - present)]
    problems += [f"table {name}: created but not declared in leftbehind/tables.py" for name in sorted(present - declared)]
    problems += [str(problem) for problem in db.execute("PRAGMA foreign_key_check").fetchall()[:20]]
    if problems:
        raise BuildError("the database does not match its declarations", problems)


def write_database(inputs: Inputs, path: Path, tables: tuple[Table, ...] = TABLES, vacuum: bool = True) -> None:
    """Write every declared table, in order, into a new database file at ``path``.

    ``vacuum=False`` leaves out the final VACUUM, for the postcode database: its one large
    table goes in in key order into a new file, so its pages are already full, and rewriting
    150 MB would cost seconds for nothing."""
    problems = check_declarations(tables)
    if problems:
        raise BuildError("leftbehind/tables.py has faults", problems)
    inputs.counts.clear()
    # Forked before the database is opened and before any thread starts (unless read_inputs
    # forked it already): the child is this process as it was, with the sources read, and
    # shares no connection or lock with it.
    if any(table.name == "ward_shapes" for table in tables):
        inputs.start_outline_process()
    try:
        write_tables(inputs, path, tables, vacuum)
    finally:
        inputs.stop_outline_process()


def write_tables(inputs: Inputs, path: Path, tables: tuple[Table, ...], vacuum: bool) -> None:
    db = sqlite_utils.Database(path)
    # The file is a temporary one, renamed into place only when whole, so nothing is gained by
    # syncing every insert to disk: sync once, at the end (durable_file), before the rename.
    db.execute("PRAGMA synchronous = OFF")
    db.execute("PRAGMA journal_mode = MEMORY")
    try:
        # The similar wards are numpy work, which releases the GIL: a worker thread computes them
        # on the second core while the tables declared before them are written.
        with concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="similar-wards") as worker:
            if any(table.name == "similar_ward_lists" for table in tables):
                inputs.similar_wards_future = worker.submit(similar_ward_rows, inputs.wards)
            try:
                with db.conn:
                    for table in tables:
                        rows = table.rows(inputs) if table.rows else []
                        load_table(db, table, rows)
                        inputs.counts[table.name] = (
                            db.execute(f"select count(*) from [{table.name}]").fetchone()[0]
                            if table.is_view else len(rows)
                        )
            finally:
                if inputs.similar_wards_future is not None:
                    inputs.similar_wards_future.cancel()
                inputs.similar_wards_future = None
        check_database(db, tables)
        db.execute("PRAGMA journal_mode = DELETE")
        if vacuum:
            db.vacuum()
    finally:
        db.close()


def build(
    database: Path = DEFAULT_DATABASE,
    data_dir: Path = DEFAULT_DATA_DIR,
    sources_dir: Path | None = None,
    cache_dir: Path = DEFAULT_CACHE_DIR,
    postcodes: Path | None = None,
) -> Path:
    """Build the database at ``database`` (and with ``postcodes``, the postcode database
    there too), replacing the files only when both are whole.

    Each is written to a temporary file beside its target; only when every step of both
    has succeeded are they renamed into place, the postcode database first. A failed build
    leaves both last good files untouched. (A build killed between the two renames leaves
    a new postcode database beside the old main one; each is whole, and build_info says
    when each was built.)
    """
    # The postcode database needs the outlines here too, so then the outline folders are read
    # here, and the outline process, forked by write_database, reads nothing.
    inputs = read_inputs(data_dir, sources_dir, cache_dir, outlines_in_child=postcodes is None)
    try:
        build_from(inputs, database, postcodes)
    finally:
        inputs.stop_outline_process()
    return database.resolve()


def build_from(inputs: Inputs, database: Path, postcodes: Path | None) -> None:
    """build's writing: both databases from the inputs read, each into place only when whole."""
    if postcodes is not None:
        inputs.tables[POSTCODE_ONLY_SOURCES[0]]  # read (and checked) before anything is written
    targets = [database.resolve()] + ([postcodes.resolve()] if postcodes is not None else [])
    temporaries = []
    for target in targets:
        target.parent.mkdir(parents=True, exist_ok=True)
        remove_abandoned_temporaries(target)
        temporaries.append(target.with_name(f".{target.name}.{os.getpid()}.building"))
    try:
        inputs.commit, inputs.built_at = repository_commit(), build_time()
        with inputs_left_out_of_garbage_collection():
            write_database(inputs, temporaries[0])
            if postcodes is not None:
                write_database(inputs, temporaries[1], POSTCODE_TABLES, vacuum=False)
        for temporary in temporaries:
            os.chmod(temporary, 0o644)
            durable_file(temporary)
        for temporary, target in reversed(list(zip(temporaries, targets))):
            temporary.replace(target)  # atomic: readers see the old or the new file, never a mix
    finally:
        for temporary in temporaries:
            temporary.unlink(missing_ok=True)


@contextlib.contextmanager
def inputs_left_out_of_garbage_collection():
    """Keep Python's cycle collector from walking the inputs again and again while deriving.

    After reading, several hundred thousand row dicts stay alive until the build ends, and
    each full collection triggered by the rows being derived walks all of them, to find
    nothing: about 0.17 s of a 2.4 s build. ``gc.freeze()`` sets what exists now aside
    until ``gc.unfreeze()``; what the build then creates is collected as usual.
    """
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def durable_file(path: Path) -> None:
    """Flush the file to disk, so that the rename never publishes a file the disk lacks."""
    with path.open("rb") as handle:
        os.fsync(handle.fileno())


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
