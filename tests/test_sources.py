"""Getting the source files: from a folder, or downloaded from a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import http.server
import shutil
import threading
import time
from pathlib import Path

import pytest

import build_db
from leftbehind.build import ROOT
from leftbehind.errors import BuildError
from leftbehind.readers import read_source
from leftbehind.sources import load_manifest, locate_source, sha256_of

MANIFEST = load_manifest(ROOT / "data" / "sources.yml")
REGION_LOOKUP = MANIFEST["lad_region_lookup"]  # the smallest source file


@pytest.fixture(scope="module")
def original(sources_dir) -> Path:
    """The real region lookup, from the sources folder or the download cache."""
    from leftbehind.build import DEFAULT_CACHE_DIR

    return locate_source(REGION_LOOKUP, sources_dir, DEFAULT_CACHE_DIR)


@pytest.fixture
def http_folder(tmp_path):
    """A real HTTP server on 127.0.0.1 serving a temporary folder."""
    folder = tmp_path / "served"
    folder.mkdir()
    handler = functools.partial(QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.release = threading.Event()  # lets a stalled answer (/slow/) end when the test does
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield folder, f"http://127.0.0.1:{server.server_address[1]}"
    server.release.set()
    server.shutdown()
    server.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Serves the folder; /halfway/NAME promises the whole file but sends half; /slow/NAME sends
    100 bytes and then nothing until the test is over."""

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass

    def do_GET(self):  # noqa: N802 - the base class's name
        if self.path.startswith(("/halfway/", "/slow/")):
            body = (Path(self.directory) / self.path.split("/")[-1]).read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.path.startswith("/halfway/"):
                self.wfile.write(body[: len(body) // 2])
            else:
                self.wfile.write(body[:100])
                self.wfile.flush()
                self.server.release.wait(timeout=120)  # stalls until the test is over (a deadline, not a wait)
            self.close_connection = True
            return
        super().do_GET()


def test_download_of_a_good_file_is_cached(original, http_folder, tmp_path):
    folder, base = http_folder
    shutil.copy(original, folder / "024.csv")
    cache = tmp_path / "cache"
    path = locate_source(REGION_LOOKUP, None, cache, url=f"{base}/024.csv")
    assert path == cache / REGION_LOOKUP.file
    assert sha256_of(path) == REGION_LOOKUP.sha256
    (folder / "024.csv").unlink()  # a second build must not need the server
    assert locate_source(REGION_LOOKUP, None, cache, url=f"{base}/024.csv") == path
    assert [p.name for p in cache.iterdir()] == [REGION_LOOKUP.file]


def test_download_of_a_corrupted_file_is_refused(original, http_folder, tmp_path):
    folder, base = http_folder
    data = original.read_bytes()
    (folder / "024.csv").write_bytes(data.replace(b"North East", b"North Eest", 1))
    cache = tmp_path / "cache"
    with pytest.raises(BuildError) as caught:
        locate_source(REGION_LOOKUP, None, cache, url=f"{base}/024.csv")
    message = caught.value.report()
    assert REGION_LOOKUP.file in message
    assert f"expected {REGION_LOOKUP.sha256}" in message
    assert hashlib.sha256(data.replace(b"North East", b"North Eest", 1)).hexdigest() in message
    assert not cache.exists() or list(cache.iterdir()) == []


def test_download_404_names_the_file(http_folder, tmp_path):
    _, base = http_folder
    with pytest.raises(BuildError) as caught:
        locate_source(REGION_LOOKUP, None, tmp_path / "cache", url=f"{base}/missing.csv")
    message = caught.value.report()
    assert REGION_LOOKUP.file in message and "HTTP 404" in message


def test_unreachable_server_names_the_file(tmp_path):
    with pytest.raises(BuildError) as caught:
        locate_source(REGION_LOOKUP, None, tmp_path / "cache", url="http://127.0.0.1:9/x.csv", timeout=5)
    assert REGION_LOOKUP.file in caught.value.report()
    assert "cannot download" in caught.value.report()


@pytest.fixture
def broken_sources(sources_dir, tmp_path) -> Path:
    """A sources folder of symlinks to the real files, for one test to break."""
    from leftbehind.build import DEFAULT_CACHE_DIR

    folder = tmp_path / "sources"
    folder.mkdir()
    for source in MANIFEST.values():
        (folder / source.local_name).symlink_to(locate_source(source, sources_dir, DEFAULT_CACHE_DIR))
    return folder


def build_with(sources: Path, database: Path, capsys) -> tuple[int, str]:
    database.write_bytes(b"last good database")
    status = build_db.main([str(database), "--sources-dir", str(sources)])
    assert database.read_bytes() == b"last good database"
    assert not list(database.parent.glob(".leftbehind.db.*"))
    return status, capsys.readouterr().err


def test_missing_source_file(broken_sources, tmp_path, capsys):
    (broken_sources / REGION_LOOKUP.file).unlink()
    status, err = build_with(broken_sources, tmp_path / "leftbehind.db", capsys)
    assert status == 1
    assert f"source 'lad_region_lookup' ({REGION_LOOKUP.file}): not found in the sources directory" in err


def test_wrong_hash_in_sources_folder(broken_sources, tmp_path, capsys):
    target = broken_sources / REGION_LOOKUP.file
    data = target.read_bytes()
    target.unlink()
    target.write_bytes(data[: len(data) // 2])  # truncated
    status, err = build_with(broken_sources, tmp_path / "leftbehind.db", capsys)
    assert status == 1
    assert "sha256 mismatch" in err and REGION_LOOKUP.file in err
    assert hashlib.sha256(data[: len(data) // 2]).hexdigest() in err


def test_missing_column_is_named(broken_sources, tmp_path, capsys):
    """A renamed column in a file the manifest vouches for (as after a careless re-pin)."""
    target = broken_sources / REGION_LOOKUP.file
    renamed = tmp_path / "renamed.csv"
    renamed.write_bytes(target.read_bytes().replace(b"RGN17NM", b"RGN17NAME", 1))
    source = dataclasses.replace(REGION_LOOKUP, sha256=sha256_of(renamed))
    with pytest.raises(BuildError) as caught:
        read_source(source, renamed)
    assert f"source 'lad_region_lookup' ({REGION_LOOKUP.file}): missing column 'RGN17NM'" in caught.value.report()


def test_truncated_rows_are_named(broken_sources, tmp_path):
    target = broken_sources / REGION_LOOKUP.file
    short = tmp_path / "short.csv"
    short.write_bytes(b"\n".join(target.read_bytes().split(b"\n")[:100]) + b"\n")
    source = dataclasses.replace(REGION_LOOKUP, sha256=sha256_of(short))
    with pytest.raises(BuildError) as caught:
        read_source(source, short)
    assert "expected 326 data rows, found 99" in caught.value.report()


def test_unreadable_rda_is_named(broken_sources, tmp_path):
    junk = tmp_path / "junk.rda"
    junk.write_bytes(b"RDX3\n" + b"\x00garbage" * 50)
    with pytest.raises(BuildError) as caught:
        read_source(MANIFEST["population"], junk)
    assert "population17_lsoa11_demographr.rda" in caught.value.report()
    assert "cannot be read as .rda" in caught.value.report()


def test_download_that_stops_halfway_is_refused(original, http_folder, tmp_path):
    folder, base = http_folder
    shutil.copy(original, folder / "024.csv")
    cache = tmp_path / "cache"
    with pytest.raises(BuildError) as caught:
        locate_source(REGION_LOOKUP, None, cache, url=f"{base}/halfway/024.csv")
    message = caught.value.report()
    assert REGION_LOOKUP.file in message
    assert f"of {original.stat().st_size} bytes" in message or "stopped after" in message
    assert not (cache / REGION_LOOKUP.file).exists()
    assert list(cache.iterdir()) == []  # no partial file left behind


def test_download_that_stalls_times_out(original, http_folder, tmp_path):
    folder, base = http_folder
    shutil.copy(original, folder / "024.csv")
    cache = tmp_path / "cache"
    started = time.perf_counter()
    with pytest.raises(BuildError) as caught:
        locate_source(REGION_LOOKUP, None, cache, url=f"{base}/slow/024.csv", timeout=1)
    assert time.perf_counter() - started < 60  # its 1 s timeout, not the server's stall of up to 120 s
    message = caught.value.report()
    assert REGION_LOOKUP.file in message and "timed out" in message
    assert list(cache.iterdir()) == []


POSTCODES = MANIFEST["postcodes"]  # a folder source of 23 files


def test_a_folder_source_reports_every_missing_or_wrong_file(sources_dir, tmp_path):
    """One file missing and one changed: both named, each with the sha256 expected, in one error."""
    from leftbehind.build import DEFAULT_CACHE_DIR

    original = locate_source(POSTCODES, sources_dir, DEFAULT_CACHE_DIR)
    folder = tmp_path / "sources" / POSTCODES.folder
    folder.mkdir(parents=True)
    names = sorted(path.name for path in original.iterdir())
    for name in names[2:]:
        (folder / name).symlink_to(original / name)
    changed = (original / names[1]).read_bytes()[:-1] + b"\0"
    (folder / names[1]).write_bytes(changed)
    with pytest.raises(BuildError) as caught:
        locate_source(POSTCODES, tmp_path / "sources", tmp_path / "cache")
    report = caught.value.report()
    expected = dict(POSTCODES.files)
    assert f"source 'postcodes' ({POSTCODES.folder}): {POSTCODES.folder}/{names[0]}: not found" in report
    assert f"expected sha256 {expected[names[0]]}" in report
    assert f"{POSTCODES.folder}/{names[1]} at " in report and f"expected {expected[names[1]]}" in report
    assert hashlib.sha256(changed).hexdigest() in report
    assert len(caught.value.problems) == 2


def test_a_folder_source_downloads_each_file_into_the_cache(sources_dir, http_folder, tmp_path):
    from leftbehind.build import DEFAULT_CACHE_DIR

    original = locate_source(POSTCODES, sources_dir, DEFAULT_CACHE_DIR)
    served, base = http_folder
    for path in original.iterdir():
        shutil.copy(path, served / path.name)
    cache = tmp_path / "cache"
    path = locate_source(POSTCODES, None, cache, url=base)
    assert path == cache / POSTCODES.folder
    assert sorted(p.name for p in path.iterdir()) == sorted(name for name, _ in POSTCODES.files)
    assert all(sha256_of(path / name) == sha256 for name, sha256 in POSTCODES.files)


def test_the_manifest_refuses_a_folder_without_its_hashes(tmp_path):
    text = (ROOT / "data" / "sources.yml").read_text(encoding="utf-8")
    start = text.index("  files:\n    - {name: postcodes_A")
    end = text.index("- id: ward_outlines_2019")
    (tmp_path / "sources.yml").write_text(text[:start] + text[end:], encoding="utf-8")
    with pytest.raises(BuildError) as caught:
        load_manifest(tmp_path / "sources.yml")
    assert "record 'postcodes': field 'files': missing, but required with folder" in caught.value.report()


def test_a_missing_sources_folder_is_named_as_missing(tmp_path, capsys):
    folder = tmp_path / "no-such-folder"
    status, err = build_with(folder, tmp_path / "leftbehind.db", capsys)
    assert status == 1
    assert err.splitlines()[0] == f"Build failed: the sources folder {folder} does not exist"


def test_every_problem_with_the_sources_is_reported_in_one_run(broken_sources, tmp_path, capsys):
    """A file missing and another changed: both named in the one run, not one run each."""
    missing, changed = sorted(MANIFEST.values(), key=lambda source: source.id)[:2]
    (broken_sources / missing.file).unlink()
    link = broken_sources / changed.file
    real = link.resolve()
    link.unlink()
    link.write_bytes(real.read_bytes() + b"\n")
    status, err = build_with(broken_sources, tmp_path / "leftbehind.db", capsys)
    assert status == 1
    assert err.splitlines()[0] == f"Build failed: 2 of the {len(MANIFEST)} source files in {broken_sources} cannot be used"
    assert f"{missing.label}: not found in the sources directory {broken_sources}" in err
    assert f"{changed.label}: {changed.file} at {link}: sha256 mismatch" in err
