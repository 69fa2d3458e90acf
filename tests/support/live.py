"""Running real servers on 127.0.0.1 for the browser tests and the benchmarks.

Every server is a child process started on a free port, waited for until it
answers, and terminated when the ``with`` block ends, even on error. The
publishing profile is always started through ``leftbehind.serve``'s own
commands, so what is tested and measured is what is published.
"""

from __future__ import annotations

import atexit
import functools
import os
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from leftbehind.serve import METADATA, STATIC, STATIC_MOUNT, TEMPLATES, inspect_command, serve_command

HOST = "127.0.0.1"
# What tells that the profile's server is up: a cheap page of its own (the versions page is hidden).
PROBE_PATH = "/-/databases.json"
START_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 10.0


class ServerError(RuntimeError):
    """A server did not start, or stopped on its own."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


# ``datasette inspect``'s file of each database this process has served, by (path, size, mtime):
# a build's databases are never written once made, and inspecting one counts every table's rows,
# about 1.3 s of CPU, once per server started (some 15 a test run) when it was not kept.
_INSPECTED: dict[tuple[str, int, int], Path] = {}


@functools.cache
def _inspect_folder() -> Path:
    """Where ``inspected`` keeps its files: made when first needed, removed when the process ends."""
    folder = Path(tempfile.mkdtemp(prefix="leftbehind-inspect-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def inspected(database: Path) -> Path:
    """The file ``inspect_command`` writes for ``database``, made once per process."""
    path = database.resolve()
    status = path.stat()
    key = (str(path), status.st_size, status.st_mtime_ns)
    if key not in _INSPECTED:
        inspect_file = _inspect_folder() / f"{len(_INSPECTED)}-{database.stem}-inspect.json"
        subprocess.run(inspect_command(database, inspect_file), check=True, capture_output=True)
        _INSPECTED[key] = inspect_file
    return _INSPECTED[key]


def wait_until_answers(url: str, process: subprocess.Popen, log: Path, timeout: float = START_TIMEOUT_SECONDS) -> None:
    """Poll ``url`` until it answers 200; fail at once if the process exits."""
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise ServerError(f"server exited with {process.returncode} before answering:\n{_tail(log)}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if time.monotonic() > deadline:
            raise ServerError(f"{url} did not answer within {timeout:.0f}s:\n{_tail(log)}")
        time.sleep(0.05)  # polling interval of a wait-for-condition, not a fixed wait


def _tail(log: Path, lines: int = 30) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def stop(process: subprocess.Popen) -> None:
    """Terminate ``process`` and wait for it; kill it if it does not stop."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def running(
    command: Sequence[str], probe_url: str, log: Path, cwd: Path | None = None, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen]:
    """Run ``command`` until the block ends, once ``probe_url`` answers.

    Output goes to ``log`` (a pipe nobody reads would fill and stall the server).
    """
    with open(log, "wb") as output:
        process = subprocess.Popen(
            list(command), stdout=output, stderr=subprocess.STDOUT, cwd=cwd, env={**os.environ, **(env or {})}
        )
        try:
            wait_until_answers(probe_url, process, log)
            yield process
        finally:
            stop(process)


@contextmanager
def profile_server(
    database: Path, workdir: Path | None = None, response_cache: bool = True, origin: str | None = None,
    env: dict[str, str] | None = None,
) -> Iterator[str]:
    """Serve ``database`` with the publishing profile; yield its base URL.

    Runs ``inspect_command`` (once per database, ``inspected``) and then ``serve_command``,
    exactly as ``make serve``.
    ``response_cache=False`` turns off the profile's in-memory page cache, to measure
    what Datasette itself costs per request. ``origin`` (``https://example.org``)
    is the site's configured public origin: the server still listens on 127.0.0.1,
    which it accepts as another name (``LEFTBEHIND_ALLOWED_HOSTS``, as a published
    copy accepts its platform's address), but builds every link from the origin.
    ``env`` adds to the server's environment (``LEFTBEHIND_WORKERS``, say).
    """
    with _workdir(workdir) as folder:
        inspect_file = inspected(database)
        port = free_port()
        base = f"http://{HOST}:{port}"
        command = serve_command(database, inspect_file, HOST, port)
        server_env = dict(env or {})
        if not response_cache:
            server_env["LEFTBEHIND_RESPONSE_CACHE"] = "off"
        if origin is not None:
            server_env.update(LEFTBEHIND_ORIGIN=origin, LEFTBEHIND_ALLOWED_HOSTS=f"{HOST}:{port}")
        with running(command, base + PROBE_PATH, folder / f"profile-{port}.log", env=server_env):
            yield base


def default_datasette_command(database: Path, port: int) -> list[str]:
    """Datasette with its default settings: same database, metadata, templates and
    plugins as the profile, but no settings, no --immutable, no inspect file."""
    datasette = inspect_command(database)[0]  # the venv's datasette, as the profile uses
    return [
        datasette,
        "serve",
        str(database),
        "--metadata",
        str(METADATA),
        "--template-dir",
        str(TEMPLATES),
        "--static",
        f"{STATIC_MOUNT}:{STATIC}",
        "--host",
        HOST,
        "--port",
        str(port),
    ]


@contextmanager
def default_server(database: Path, workdir: Path | None = None) -> Iterator[str]:
    """Serve ``database`` with Datasette's defaults; yield its base URL."""
    with _workdir(workdir) as folder:
        port = free_port()
        base = f"http://{HOST}:{port}"
        command = default_datasette_command(database, port)
        with running(command, f"{base}/-/versions.json", folder / f"default-{port}.log"):
            yield base


@contextmanager
def static_server(directory: Path, probe_file: str, workdir: Path | None = None) -> Iterator[str]:
    """Serve ``directory`` with ``python -m http.server``; yield its base URL."""
    with _workdir(workdir) as folder:
        port = free_port()
        base = f"http://{HOST}:{port}"
        command = [sys.executable, "-m", "http.server", str(port), "--bind", HOST, "--directory", str(directory)]
        with running(command, f"{base}/{probe_file}", folder / f"static-{port}.log"):
            yield base


@contextmanager
def _workdir(workdir: Path | None) -> Iterator[Path]:
    if workdir is not None:
        workdir.mkdir(parents=True, exist_ok=True)
        yield workdir
        return
    with tempfile.TemporaryDirectory(prefix="leftbehind-live-") as name:
        yield Path(name)


def children_of(parent: int) -> set[int]:
    """The live (not zombie) child processes of ``parent``, read from /proc."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone while we looked
        if int(fields[1]) == parent and fields[0] != "Z":
            found.add(int(stat.parent.name))
    return found


def ends(pid: int, within: float = 30) -> bool:
    """Wait for process ``pid`` (not necessarily our child) to end: a pidfd becomes readable
    the moment it does. Whether it did within the bound."""
    try:
        pidfd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        return bool(select.select([pidfd], [], [], within)[0])
    finally:
        os.close(pidfd)
