"""The pinned public source files: the manifest, and getting verified copies.

A file comes from a directory the user gives (``--sources-dir`` or
``LEFTBEHIND_SOURCES_DIR``) or is downloaded once into a git-ignored cache.
Either way its sha256 must equal the manifest's before anything reads it.

A source is one file (``file`` and its ``sha256``) or a folder of many files read as
one table (``folder`` and ``files``, each file's name and sha256): the 314 outline
files of one product are one source, not 314. A folder's files are downloaded one
by one from ``url``/NAME into the cache's folder of the same name, or found in the
folder of that name in the sources directory; every missing or mismatching file is
reported, each with the source, the file and the sha256 expected.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from leftbehind.errors import BuildError
from leftbehind.validation import (
    Field,
    RecordSpec,
    check_file,
    exactly_one_of,
    fill_optional,
    read_yaml_list,
    record,
    required_when,
)

RAW_BASE_URL = "https://raw.githubusercontent.com"
SOURCES_DIR_ENV = "LEFTBEHIND_SOURCES_DIR"
DOWNLOAD_TIMEOUT_SECONDS = 60
OFFLINE_HINT = (
    f"to build without downloading, put the files in a folder and pass --sources-dir FOLDER "
    f"or set {SOURCES_DIR_ENV}=FOLDER"
)
FORMATS = ("csv", "rda", "rda-sf", "geojson", "msgpack-br")
# The formats that come as a folder of files, and those that come as one file.
FOLDER_FORMATS = ("geojson", "msgpack-br")
ENCODINGS = ("utf-8", "utf-8-sig")


def object_for_r_files(values: Mapping[str, Any]) -> list[str]:
    """An R data file may hold several objects: its entry names the data frame to read."""
    if values.get("format", "").startswith("rda") and not values.get("object"):
        return ["field 'object': missing, but required for an R data file (format rda or rda-sf)"]
    if values.get("format") == "csv" and values.get("object") is not None:
        return ["field 'object': only allowed for an R data file (format rda or rda-sf)"]
    return []


def folder_for_folder_formats(values: Mapping[str, Any]) -> list[str]:
    """A folder of files is read as one table by a reader made for folders, and only then."""
    if values.get("folder") is not None and values.get("format") not in FOLDER_FORMATS:
        return [f"field 'format': a folder source must be one of {', '.join(FOLDER_FORMATS)}"]
    if values.get("file") is not None and values.get("format") in FOLDER_FORMATS:
        return [f"field 'format': {values['format']} is read from a folder: give folder and files, not file"]
    return []


def hashes_where_files_are(values: Mapping[str, Any]) -> list[str]:
    """One file has one sha256; a folder lists the sha256 of each of its files."""
    problems = []
    if values.get("file") is not None and values.get("sha256") is None:
        problems.append("field 'sha256': missing, but required with file")
    if values.get("file") is not None and values.get("files") is not None:
        problems.append("field 'files': only allowed with folder")
    if values.get("folder") is not None and not values.get("files"):
        problems.append("field 'files': missing, but required with folder (each file's name and sha256)")
    if values.get("folder") is not None and values.get("sha256") is not None:
        problems.append("field 'sha256': only allowed with file (a folder gives each file's in files)")
    return problems


# What one entry of data/sources.yml holds; checked like the catalogue's records.
MANIFEST_SPEC = RecordSpec(
    noun="source",
    fields={
        "id": Field("identifier"),
        "title": Field("title"),
        "file": Field("title", required=False, nullable=True, pattern=r"[A-Za-z0-9_.-]+"),
        "folder": Field("title", required=False, nullable=True, pattern=r"[A-Za-z0-9_.-]+"),
        "repository": Field("title", pattern=r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+"),
        "commit": Field("title", pattern=r"[0-9a-f]{40}"),
        "path": Field("title"),
        "url": Field("url"),
        "sha256": Field("title", required=False, nullable=True, pattern=r"[0-9a-f]{64}"),
        "files": Field(
            "list", required=False, nullable=True, unique_by=("name",),
            items=record(
                name=Field("title", pattern=r"[A-Za-z0-9_-][A-Za-z0-9_.-]*"),
                sha256=Field("title", pattern=r"[0-9a-f]{64}"),
            ),
        ),
        "rows": Field("int", minimum=1, maximum=10_000_000),
        "format": Field("choice", choices=FORMATS),
        "encoding": Field("choice", choices=ENCODINGS, required=False, nullable=True),
        "object": Field("title", required=False, nullable=True, pattern=r"[A-Za-z0-9_.]+"),
        "columns": Field("list", items=Field("title")),
        "licence": Field("text"),
        "licence_url": Field("url", nullable=True),
        "attribution": Field("text"),
    },
    rules=(
        required_when("encoding", "format", "csv"),
        object_for_r_files,
        exactly_one_of("file", "folder", "a source is one file or one folder of files"),
        hashes_where_files_are,
        folder_for_folder_formats,
    ),
)


@dataclass(frozen=True)
class SourceFile:
    """One file to get and verify: its name in the sources folder (``folder/name`` for a
    folder's file), where to download it, and the sha256 it must have."""

    name: str
    url: str
    sha256: str


@dataclass(frozen=True)
class Source:
    """One entry of ``data/sources.yml``: where a file comes from, how to read it, its licence."""

    id: str
    title: str
    file: str | None
    repository: str
    commit: str
    path: str
    url: str
    sha256: str | None
    rows: int
    format: str
    encoding: str | None
    object: str | None
    columns: tuple[str, ...]
    licence: str
    licence_url: str | None
    attribution: str
    # A folder source: the folder's name, and its files' (name, sha256) pairs sorted by name.
    folder: str | None = None
    files: tuple[tuple[str, str], ...] = ()

    @property
    def local_name(self) -> str:
        """The file's name, or the folder's, in the sources directory and the cache."""
        return self.file if self.file is not None else self.folder

    @property
    def label(self) -> str:
        return f"source '{self.id}' ({self.local_name})"

    @property
    def pieces(self) -> tuple[SourceFile, ...]:
        """Every file to get and verify: the one file, or each file of the folder."""
        if self.folder is None:
            return (SourceFile(self.file, self.url, self.sha256),)
        return tuple(SourceFile(f"{self.folder}/{name}", f"{self.url}/{name}", sha256) for name, sha256 in self.files)

    @property
    def digest(self) -> str:
        """The file's sha256; for a folder, the sha256 of its list of files as ``sha256sum``
        prints it (one 'sha256  name' line each, sorted by name), which pins the whole folder."""
        if self.folder is None:
            return self.sha256
        listing = "".join(f"{sha256}  {name}\n" for name, sha256 in self.files)
        return hashlib.sha256(listing.encode()).hexdigest()


def raw_url(repository: str, commit: str, path: str) -> str:
    """The file's raw URL; a path with spaces (``data/English IMD - Ward 2017.csv``) is percent-encoded."""
    return f"{RAW_BASE_URL}/{repository}/{commit}/{quote(path, safe='/')}"


def load_manifest(path: Path) -> dict[str, Source]:
    """Read the sources manifest, checking every entry like a catalogue record."""
    label = f"{path.parent.name}/{path.name}"
    entries, problems = read_yaml_list(path, label)
    if not problems:
        problems = check_file(label, entries, MANIFEST_SPEC)
    if problems:
        raise BuildError(f"{label} has problems", problems)
    sources: dict[str, Source] = {}
    for entry in entries:
        values = fill_optional(entry, MANIFEST_SPEC.fields)
        files = tuple(sorted((item["name"], item["sha256"]) for item in values["files"]))
        source = Source(**{**values, "columns": tuple(values["columns"]), "files": files})
        if source.url != raw_url(source.repository, source.commit, source.path):
            problems.append(
                f"{label}: record {source.id!r}: field 'url': does not match repository, commit and path"
            )
        sources[source.id] = source
    if problems:
        raise BuildError(f"{label} has problems", problems)
    return sources


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def mismatch(source: Source, piece: SourceFile, path: Path) -> str | None:
    """What is wrong with the copy of one file at ``path``: None when its sha256 is right."""
    actual = sha256_of(path)
    if actual == piece.sha256:
        return None
    return f"{source.label}: {piece.name} at {path}: sha256 mismatch: expected {piece.sha256}, found {actual}"


def check_sha256(source: Source, path: Path, piece: SourceFile | None = None) -> None:
    piece = piece or source.pieces[0]
    problem = mismatch(source, piece, path)
    if problem:
        raise BuildError(f"{source.label} does not match the manifest", [problem])


def _progress(total: int | None, description: str):
    """A tqdm progress bar on stderr, quiet when stderr is not a terminal."""
    from tqdm import tqdm

    return tqdm(
        total=total,
        unit="B",
        unit_scale=True,
        desc=description,
        disable=None,
        file=sys.stderr,
        leave=False,
    )


def download(source: Source, url: str, destination: Path, timeout: float, piece: SourceFile | None = None) -> None:
    """Download ``url`` to ``destination`` atomically, verifying the sha256 first."""
    piece = piece or source.pieces[0]
    what = source.label if source.folder is None else f"{source.label}: {piece.name}"
    destination.parent.mkdir(parents=True, exist_ok=True)
    handle, partial_name = tempfile.mkstemp(
        dir=destination.parent, prefix=f".{destination.name}.", suffix=".part"
    )
    partial = Path(partial_name)
    try:
        with os.fdopen(handle, "wb") as out:
            try:
                response = urllib.request.urlopen(url, timeout=timeout)  # noqa: S310 - https URL from the manifest
            except urllib.error.HTTPError as error:
                error.close()
                raise BuildError(
                    f"download of {source.label} failed",
                    [f"{what}: {url} answered HTTP {error.code} {error.reason}; {OFFLINE_HINT}"],
                ) from error
            except (urllib.error.URLError, TimeoutError, OSError) as error:
                reason = getattr(error, "reason", error)
                raise BuildError(
                    f"download of {source.label} failed",
                    [f"{what}: cannot download {url}: {reason}; {OFFLINE_HINT}"],
                ) from error
            with response:
                length = response.headers.get("Content-Length")
                expected = int(length) if length and length.isdigit() else None
                received = 0
                with _progress(expected, piece.name) as bar:
                    try:
                        while block := response.read(1 << 16):
                            out.write(block)
                            received += len(block)
                            bar.update(len(block))
                    except (TimeoutError, OSError) as error:
                        raise BuildError(
                            f"download of {source.label} failed",
                            [f"{what}: download from {url} stopped after {received} bytes: {error}; "
                             f"{OFFLINE_HINT}"],
                        ) from error
            if expected is not None and received != expected:
                raise BuildError(
                    f"download of {source.label} failed",
                    [f"{what}: download from {url} stopped after {received} of {expected} bytes; "
                     f"{OFFLINE_HINT}"],
                )
        check_sha256(source, partial, piece)
        partial.replace(destination)
    finally:
        partial.unlink(missing_ok=True)


def located_piece(
    source: Source, piece: SourceFile, sources_dir: Path | None, cache_dir: Path, timeout: float, url: str
) -> list[str]:
    """Get and verify one file of a source; the problems found (none when it is in place)."""
    if sources_dir is not None:
        path = sources_dir / piece.name
        if not path.is_file():
            where = f"{piece.name}: " if source.folder is not None else ""
            return [f"{source.label}: {where}not found in the sources directory {sources_dir} "
                    f"(expected sha256 {piece.sha256})"]
        problem = mismatch(source, piece, path)
        return [problem] if problem else []
    path = cache_dir / piece.name
    if path.is_file() and sha256_of(path) == piece.sha256:
        return []
    try:
        download(source, url, path, timeout, piece)
    except BuildError as error:
        return error.problems
    return []


def locate_source(
    source: Source,
    sources_dir: Path | None,
    cache_dir: Path,
    timeout: float = DOWNLOAD_TIMEOUT_SECONDS,
    url: str | None = None,
) -> Path:
    """Return the path of a verified copy of one source file, or of a source's folder.

    With ``sources_dir`` the file (every file of the folder) must be there; otherwise the
    cache is used, downloading into it what is missing or no longer matches. ``url``
    replaces the manifest's (a folder's files are then fetched from ``url``/NAME). Every
    file of a folder is checked before the error, which lists each that is wrong.
    """
    base = url or source.url
    problems = []
    for piece in source.pieces:
        piece_url = base if source.folder is None else f"{base}/{piece.name.rsplit('/', 1)[-1]}"
        problems += located_piece(source, piece, sources_dir, cache_dir, timeout, piece_url)
    if problems:
        missing = all("not found in the sources directory" in problem for problem in problems)
        summary = f"{source.label} is missing" if missing else f"{source.label} does not match the manifest"
        if any("download" in problem or "answered HTTP" in problem for problem in problems):
            summary = f"download of {source.label} failed"
        raise BuildError(summary, problems)
    return (sources_dir if sources_dir is not None else cache_dir) / source.local_name


def locate_sources(
    sources: dict[str, Source], sources_dir: Path | None, cache_dir: Path
) -> dict[str, Path]:
    """Verified local paths for every source, keyed by source id.

    From a folder, every file is checked and every problem reported at once (a missing
    folder is named as such). Downloads stop at the first that fails: the next would
    most likely fail the same way (no network, a proxy), each after its timeout.
    """
    if sources_dir is None:
        return {source_id: locate_source(source, None, cache_dir) for source_id, source in sorted(sources.items())}
    if not sources_dir.is_dir():
        raise BuildError(
            f"the sources folder {sources_dir} does not exist" if not sources_dir.exists()
            else f"the sources folder {sources_dir} is not a folder",
            [f"{sources_dir}: given by --sources-dir or {SOURCES_DIR_ENV}; it should hold the "
             f"{len(sources)} files data/sources.yml lists (or give neither, to download them)"],
        )
    paths, problems = {}, []
    for source_id, source in sorted(sources.items()):
        try:
            paths[source_id] = locate_source(source, sources_dir, cache_dir)
        except BuildError as error:
            problems += error.problems
    if problems:
        raise BuildError(f"{len(problems)} of the {len(sources)} source files in {sources_dir} cannot be used", problems)
    return paths


def sources_dir_from_environment() -> Path | None:
    value = os.environ.get(SOURCES_DIR_ENV)
    return Path(value).resolve() if value else None
