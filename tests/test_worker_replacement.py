"""A worker replaced after its quota of requests answers the requests already on their way.

gunicorn replaces each worker after ``MAX_REQUESTS`` requests (``LEFTBEHIND_MAX_REQUESTS``,
made small here). uvicorn used to close every connection that was between requests at that
moment, so a visitor whose next request was on its way over a kept-alive connection got no
answer at all: one client's volume, which brought the replacement about, cost another
visitor a request (``make load`` saw it under the ten-facet attack). Through the real
server, as ``make serve`` runs it, with one worker so that the replacement is the one the
test drives.
"""

from __future__ import annotations

import http.client
import signal
import urllib.request

from support.live import HOST, PROBE_PATH, children_of, ends, free_port, inspected, running
from test_stalled_worker import EVENT_DEADLINE_SECONDS, until, workers_running

from leftbehind.serve import serve_command

MAX_REQUESTS = 9  # a tenth of it, the jitter, is 0: the worker goes within a tick (0.1 s) of this many
LIMIT_REACHED = f"Maximum request limit of {MAX_REQUESTS} exceeded"
VISITORS_PAGE = "/leftbehind/wards/E05001595"


def answer(connection: http.client.HTTPConnection, path: str) -> tuple[int, str | None]:
    """The status and ``Connection`` header of the answer to GET ``path`` on ``connection``."""
    connection.request("GET", path)
    response = connection.getresponse()
    response.read()
    return response.status, response.getheader("connection")


def test_a_worker_being_replaced_answers_a_request_on_a_kept_alive_connection(db_path, tmp_path):
    inspect_file = inspected(db_path)
    port = free_port()
    log = tmp_path / "server.log"
    env = {"LEFTBEHIND_WORKERS": "1", "LEFTBEHIND_MAX_REQUESTS": str(MAX_REQUESTS)}
    with running(serve_command(db_path, inspect_file, HOST, port), f"http://{HOST}:{port}{PROBE_PATH}", log, env=env) as master:
        (worker,) = workers_running(master, 1)
        visitor = http.client.HTTPConnection(HOST, port, timeout=EVENT_DEADLINE_SECONDS)
        volume = http.client.HTTPConnection(HOST, port, timeout=EVENT_DEADLINE_SECONDS)
        try:
            # The visitor asks once and keeps the connection, as a browser does between pages.
            assert answer(visitor, VISITORS_PAGE) == (200, None)
            # Another client asks until the worker has begun to go: its answer says the
            # connection closes, or the worker has logged that it reached its quota.
            def worker_going() -> bool:
                status, connection_header = answer(volume, PROBE_PATH)
                assert status == 200
                return connection_header == "close" or LIMIT_REACHED in log.read_text(errors="replace")

            until(worker_going, f"the worker going after {MAX_REQUESTS} requests")
            # The visitor's next request, sent while the worker is being replaced, is answered,
            # and the answer says that this connection ends with it.
            assert answer(visitor, VISITORS_PAGE) == (200, "close")
        finally:
            visitor.close()
            volume.close()
        # Then the worker ends (nothing else holds it), and its replacement answers.
        assert ends(worker, EVENT_DEADLINE_SECONDS), "the replaced worker did not end"
        with urllib.request.urlopen(f"http://{HOST}:{port}{VISITORS_PAGE}", timeout=EVENT_DEADLINE_SECONDS) as response:
            assert response.status == 200
        assert worker not in children_of(master.pid)
    assert LIMIT_REACHED in log.read_text(errors="replace")


def test_the_workers_stop_promptly_when_the_master_is_told_to_stop_quickly(db_path, tmp_path):
    """SIGINT to the master (Fly.io's stop signal; ``kill -INT``) stops the workers cleanly:
    gunicorn passes it on to them as SIGQUIT, which uvicorn-worker used to leave unanswered,
    so gunicorn killed them (SIGKILL) at the end of its graceful timeout."""
    inspect_file = inspected(db_path)
    port = free_port()
    log = tmp_path / "server.log"
    with running(serve_command(db_path, inspect_file, HOST, port), f"http://{HOST}:{port}{PROBE_PATH}", log,
                 env={"LEFTBEHIND_WORKERS": "2"}) as master:
        workers = workers_running(master, 2)
        until(lambda: log.read_text(errors="replace").count("Application startup complete") == 2, "both workers serving")
        master.send_signal(signal.SIGINT)
        assert master.wait(timeout=EVENT_DEADLINE_SECONDS) == 0
    assert all(ends(worker, EVENT_DEADLINE_SECONDS) for worker in workers)
    text = log.read_text(errors="replace")
    assert "SIGKILL" not in text
    assert text.count("Finished server process") == 2  # each worker's server ended its own way
