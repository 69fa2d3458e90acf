"""A worker whose event loop stops is killed and replaced, and the site answers meanwhile.

Through the real server, as ``make serve`` runs it (gunicorn, two uvicorn workers): one
worker is stopped with SIGSTOP, as still as an event loop held by a runaway request, so it
sends gunicorn no heartbeat. The other keeps answering every request, and gunicorn kills
the stopped one once its heartbeat is ``LEFTBEHIND_WORKER_TIMEOUT`` seconds late (made
short here) and starts another in its place.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

from support.live import HOST, PROBE_PATH, children_of, ends, free_port, inspected, running

from leftbehind.serve import serve_command

WORKER_TIMEOUT_SECONDS = 2
EVENT_DEADLINE_SECONDS = 120  # how long the events below may take on a busy machine, at most


def has_beaten(worker: int) -> bool:
    """Whether ``worker`` has sent gunicorn its first heartbeat since booting: its heartbeat
    file (unlinked, open as ``wgunicorn-*``) holds a time on the monotonic clock, not ahead."""
    for fd in Path(f"/proc/{worker}/fd").iterdir():
        try:
            if "wgunicorn-" in os.readlink(fd):
                return os.stat(fd).st_mtime <= time.monotonic()
        except OSError:
            continue
    return False


def until(condition, what: str):
    """Poll ``condition`` until it returns something true: the event, not a fixed wait."""
    deadline = time.monotonic() + EVENT_DEADLINE_SECONDS
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"not within {EVENT_DEADLINE_SECONDS} s: {what}")


def workers_running(master: subprocess.Popen, count: int) -> set[int]:
    """The master's worker processes, once there are ``count`` of them."""
    return until(lambda: (lambda w: w if len(w) == count else None)(children_of(master.pid)), f"{count} workers running")


def status_of(url: str) -> int:
    with urllib.request.urlopen(url, timeout=EVENT_DEADLINE_SECONDS) as response:
        response.read()
        return response.status


def test_a_stalled_worker_is_replaced_while_the_other_answers(db_path, tmp_path):
    inspect_file = inspected(db_path)
    port = free_port()
    base = f"http://{HOST}:{port}"
    env = {"LEFTBEHIND_WORKERS": "2", "LEFTBEHIND_WORKER_TIMEOUT": str(WORKER_TIMEOUT_SECONDS)}
    command = serve_command(db_path, inspect_file, HOST, port)
    with running(command, base + PROBE_PATH, tmp_path / "server.log", env=env) as master:
        first = workers_running(master, 2)
        stalled = min(first)
        until(lambda: has_beaten(stalled), "the worker's first heartbeat, once booted")
        os.kill(stalled, signal.SIGSTOP)
        try:
            statuses = []

            def replaced() -> set[int] | None:
                # Visitors keep coming while the stopped worker waits to be killed.
                statuses.append(status_of(base + "/leftbehind/wards/E05001595"))
                now = children_of(master.pid)
                return now if stalled not in now and len(now) == 2 else None

            now = until(replaced, "the stopped worker killed and another started")
        finally:
            if stalled in children_of(master.pid):
                os.kill(stalled, signal.SIGCONT)
        assert statuses and set(statuses) == {200}
        assert len(now - first) == 1  # one new worker; the one that kept answering is the same
        assert status_of(base + PROBE_PATH) == 200
    log = (tmp_path / "server.log").read_text(errors="replace")
    assert f"WORKER TIMEOUT (pid:{stalled})" in log


def test_the_workers_end_when_the_master_is_killed(db_path, tmp_path):
    """A master killed outright takes its workers with it: none is left holding the port."""
    inspect_file = inspected(db_path)
    port = free_port()
    base = f"http://{HOST}:{port}"
    command = serve_command(db_path, inspect_file, HOST, port)
    with running(command, base + PROBE_PATH, tmp_path / "server.log", env={"LEFTBEHIND_WORKERS": "2"}) as master:
        workers = workers_running(master, 2)
        master.kill()
        master.wait()
        survivors = [worker for worker in workers if not ends(worker, EVENT_DEADLINE_SECONDS)]
        for worker in survivors:  # not left running after a failure
            os.kill(worker, signal.SIGKILL)
        assert not survivors, f"workers {survivors} outlived their master"
