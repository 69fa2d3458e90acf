"""The pinned public source files: the manifest, and getting verified copies.

A file comes from a directory the user gives (``--sources-dir`` or
``LEFTBEHIND_SOURCES_DIR``) or is downloaded once into a git-ignored cache.
Either way its sha256 must equal the manifest's before anything reads it.
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
from leftbehind.validation import Field, RecordSpec, check_file, fill_optional, read_yaml_list, required_when

RAW_BASE_URL = "https://raw.githubusercontent.com"
SOURCES_DIR_ENV = "LEFTBEHIND_SOURCES_DIR"
DOWNLOAD_TIMEOUT_SECONDS = 60
OFFLINE_HINT = (
    f"to build without downloading, put the files in a folder and pass --sources-dir FOLDER "
    f"or set {SOURCES_DIR_ENV}=FOLDER"
)
FORMATS = ("csv", "rda", "rda-sf")
ENCODINGS = ("utf-8", "utf-8-sig")


def object_for_r_files(values: Mapping[str, Any]) -> list[str]:
    """An R data file may hold several objects: its entry names the data frame to read."""
    if values.get("format", "").startswith("rda") and not values.get("object"):
        return ["field 'object': missing, but required for an R data file (format rda or rda-sf)"]
    if values.get("format") == "csv" and values.get("object") is not None:
        return ["field 'object': only allowed for an R data file (format rda or rda-sf)"]
    return []


# What one entry of data/sources.yml holds; checked like the catalogue's records.
MANIFEST_SPEC = RecordSpec(
    noun="source",
    fields={
        "id": Field("identifier"),
        "title": Field("title"),
        "file": Field("title", pattern=r"[A-Za-z0-9_.-]+"),
        "repository": Field("title", pattern=r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+"),
        "commit": Field("title", pattern=r"[0-9a-f]{40}"),
        "path": Field("title"),
        "url": Field("url"),
        "sha256": Field("title", pattern=r"[0-9a-f]{64}"),
        "rows": Field("int", minimum=1, maximum=10_000_000),
        "format": Field("choice", choices=FORMATS),
        "encoding": Field("choice", choices=ENCODINGS, required=False, nullable=True),
        "object": Field("title", required=False, nullable=True, pattern=r"[A-Za-z0-9_.]+"),
        "columns": Field("list", items=Field("title")),
        "licence": Field("text"),
        "licence_url": Field("url", nullable=True),
        "attribution": Field("text"),
    },
    rules=(required_when("encoding", "format", "csv"), object_for_r_files),
)


@dataclass(frozen=True)
class Source:
    """One entry of ``data/sources.yml``: where a file comes from, how to read it, its licence."""

    id: str
    title: str
    file: str
    repository: str
    commit: str
    path: str
    url: str
    sha256: str
    rows: int
    format: str
    encoding: str | None
    object: str | None
    columns: tuple[str, ...]
    licence: str
    licence_url: str | None
    attribution: str

    @property
    def label(self) -> str:
        return f"source '{self.id}' ({self.file})"


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
        source = Source(**{**values, "columns": tuple(values["columns"])})
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


def check_sha256(source: Source, path: Path) -> None:
    actual = sha256_of(path)
    if actual != source.sha256:
        raise BuildError(
            f"{source.label} does not match the manifest",
            [
                f"{source.label} at {path}: sha256 mismatch: expected {source.sha256}, "
                f"found {actual}"
            ],
        )


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


def download(source: Source, url: str, destination: Path, timeout: float) -> None:
    """Download ``url`` to ``destination`` atomically, verifying the sha256 first."""
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
                    [f"{source.label}: {url} answered HTTP {error.code} {error.reason}; {OFFLINE_HINT}"],
                ) from error
            except (urllib.error.URLError, TimeoutError, OSError) as error:
                reason = getattr(error, "reason", error)
                raise BuildError(
                    f"download of {source.label} failed",
                    [f"{source.label}: cannot download {url}: {reason}; {OFFLINE_HINT}"],
                ) from error
            with response:
                length = response.headers.get("Content-Length")
                expected = int(length) if length and length.isdigit() else None
                received = 0
                with _progress(expected, source.file) as bar:
                    try:
                        while block := response.read(1 << 16):
                            out.write(block)
                            received += len(block)
                            bar.update(len(block))
                    except (TimeoutError, OSError) as error:
                        raise BuildError(
                            f"download of {source.label} failed",
                            [f"{source.label}: download from {url} stopped after {received} bytes: {error}; "
                             f"{OFFLINE_HINT}"],
                        ) from error
            if expected is not None and received != expected:
                raise BuildError(
                    f"download of {source.label} failed",
                    [f"{source.label}: download from {url} stopped after {received} of {expected} bytes; "
                     f"{OFFLINE_HINT}"],
                )
        check_sha256(source, partial)
        partial.replace(destination)
    finally:
        partial.unlink(missing_ok=True)


def locate_source(
    source: Source,
    sources_dir: Path | None,
    cache_dir: Path,
    timeout: float = DOWNLOAD_TIMEOUT_SECONDS,
    url: str | None = None,
) -> Path:
    """Return the path of a verified copy of one source file.

    With ``sources_dir`` the file must be there; otherwise the cache is used,
    downloading into it when the file is missing or no longer matches.
    """
    if sources_dir is not None:
        path = sources_dir / source.file
        if not path.is_file():
            raise BuildError(
                f"{source.label} is missing",
                [f"{source.label}: not found in the sources directory {sources_dir}"],
            )
        check_sha256(source, path)
        return path
    path = cache_dir / source.file
    if path.is_file() and sha256_of(path) == source.sha256:
        return path
    download(source, url or source.url, path, timeout)
    return path


def locate_sources(
    sources: dict[str, Source], sources_dir: Path | None, cache_dir: Path
) -> dict[str, Path]:
    """Verified local paths for every source, keyed by source id."""
    return {
        source_id: locate_source(source, sources_dir, cache_dir)
        for source_id, source in sorted(sources.items())
    }


def sources_dir_from_environment() -> Path | None:
    value = os.environ.get(SOURCES_DIR_ENV)
    return Path(value).resolve() if value else None
