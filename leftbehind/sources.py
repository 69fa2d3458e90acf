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
from dataclasses import dataclass
from pathlib import Path

import yaml

from leftbehind.errors import BuildError

RAW_BASE_URL = "https://raw.githubusercontent.com"
SOURCES_DIR_ENV = "LEFTBEHIND_SOURCES_DIR"
DOWNLOAD_TIMEOUT_SECONDS = 60
MANIFEST_FIELDS = (
    "id",
    "title",
    "file",
    "repository",
    "commit",
    "path",
    "url",
    "sha256",
    "rows",
    "licence",
    "licence_url",
    "attribution",
)


@dataclass(frozen=True)
class Source:
    """One entry of ``data/sources.yml``."""

    id: str
    title: str
    file: str
    repository: str
    commit: str
    path: str
    url: str
    sha256: str
    rows: int
    licence: str
    licence_url: str
    attribution: str

    @property
    def label(self) -> str:
        return f"source '{self.id}' ({self.file})"


def raw_url(repository: str, commit: str, path: str) -> str:
    return f"{RAW_BASE_URL}/{repository}/{commit}/{path}"


def load_manifest(path: Path) -> dict[str, Source]:
    """Read the sources manifest, checking that every entry is complete."""
    label = f"{path.parent.name}/{path.name}"
    try:
        entries = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise BuildError(f"{label} cannot be read", [f"{label}: {error}"]) from error
    if not isinstance(entries, list):
        raise BuildError(f"{label} is not a list of sources", [f"{label}: expected a list"])
    problems = []
    sources: dict[str, Source] = {}
    for index, entry in enumerate(entries):
        where = f"{label}: record '{entry.get('id', index + 1) if isinstance(entry, dict) else index + 1}'"
        if not isinstance(entry, dict):
            problems.append(f"{where}: expected a mapping")
            continue
        missing = [name for name in MANIFEST_FIELDS if entry.get(name) in (None, "")]
        unknown = sorted(set(entry) - set(MANIFEST_FIELDS))
        problems += [f"{where}: field '{name}': missing" for name in missing]
        problems += [f"{where}: field '{name}': unknown field" for name in unknown]
        if missing or unknown:
            continue
        source = Source(**{name: entry[name] for name in MANIFEST_FIELDS})
        if source.url != raw_url(source.repository, source.commit, source.path):
            problems.append(f"{where}: field 'url': does not match repository, commit and path")
        if source.id in sources:
            problems.append(f"{where}: field 'id': duplicate id {source.id!r}")
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
                    [f"{source.label}: {url} answered HTTP {error.code} {error.reason}"],
                ) from error
            except (urllib.error.URLError, TimeoutError, OSError) as error:
                reason = getattr(error, "reason", error)
                raise BuildError(
                    f"download of {source.label} failed",
                    [f"{source.label}: cannot download {url}: {reason}"],
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
                            [f"{source.label}: download from {url} stopped after {received} bytes: {error}"],
                        ) from error
            if expected is not None and received != expected:
                raise BuildError(
                    f"download of {source.label} failed",
                    [f"{source.label}: download from {url} stopped after {received} of {expected} bytes"],
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
