"""Run the publishing profile in several processes, with the limits ``datasette serve`` cannot set.

``datasette serve`` starts one uvicorn process with its defaults: one event loop for
every visitor (a request that holds it holds the site), no deadline for a client to
finish sending a request's headers, ``X-Forwarded-*`` headers trusted from 127.0.0.1.
This module takes the very same ``datasette serve`` arguments (parsed by Datasette's
own command, so the instance is configured exactly as the published one) and serves
them with gunicorn, the established process manager:

- ``WORKERS`` worker processes (``LEFTBEHIND_WORKERS``), each a uvicorn server with its
  own event loop, SQL threads and page cache (``uvicorn-worker``'s worker class; the
  ``uvicorn.workers`` module it replaces is deprecated), all accepting on one socket;
- a worker whose event loop has not ticked for ``WORKER_TIMEOUT_SECONDS``
  (``LEFTBEHIND_WORKER_TIMEOUT``) is killed and replaced: uvicorn sends gunicorn's
  heartbeat from its event loop, so a blocked loop misses it;
- each worker is replaced after ``MAX_REQUESTS`` requests (``LEFTBEHIND_MAX_REQUESTS``)
  plus up to a tenth more (random, so the workers are not replaced together); a worker
  being replaced answers, with ``Connection: close``, a request that arrives on a
  connection it holds, rather than closing a kept-alive connection under a request on
  its way (see ``HeaderDeadlineProtocol.shutdown``);
- a deadline of ``HEADER_TIMEOUT_SECONDS`` to receive each request's line and
  headers, after which the connection is answered 408 and closed, and a deadline of
  ``WRITE_TIMEOUT_SECONDS`` (``LEFTBEHIND_WRITE_TIMEOUT``) for a client to take any of
  a response it is sent;
- forwarded headers trusted only from the addresses in
  ``LEFTBEHIND_FORWARDED_ALLOW_IPS`` (none by default).

Each worker builds its own Datasette instance (nothing is built in the master
process, which stays free of threads and SQLite connections, so forking is safe); a
worker that cannot start (a database that fails its check) stops the server.

``python -m leftbehind.server DATASETTE-SERVE-ARGUMENTS`` is what
``leftbehind.serve.serve_command`` returns; ``make serve`` and the container run it.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
from pathlib import Path
from typing import Any

import h11
from gunicorn.app.base import BaseApplication
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn_worker import UvicornWorker

from leftbehind.database_check import IncompleteBuild, check_complete_build
from leftbehind.forked import die_with_parent
from leftbehind.serve import port_in_use

# One per core of the 2-core machines this runs on, the fewest that isolate; see
# docs/load-test.md, "Issue 21", for what was measured and why this is not 3 or 4.
WORKERS = 2
WORKER_TIMEOUT_SECONDS = 15
# A booting worker (Datasette's start-up reads, on a busy machine) may take this long on top.
BOOT_ALLOWANCE_SECONDS = 60
GRACEFUL_TIMEOUT_SECONDS = 10
MAX_REQUESTS = 25_000
HEADER_TIMEOUT_SECONDS = 10.0
# A client that takes none of a response it is sent for this long is disconnected,
# and what was waiting for it freed (the transport holds at most uvicorn's high-water
# mark, 64 KiB, plus one piece of a body: leftbehind/site/guard.py sends bodies in
# pieces of BODY_PIECE_BYTES).
WRITE_TIMEOUT_SECONDS = 15.0
# The kernel's send buffer of each connection, fixed rather than grown by Linux up to
# tcp_wmem's 4 MiB: what one reader that never reads can hold in the kernel (Linux
# doubles the figure for its own bookkeeping). At 100 ms from the server that is
# still 5 MB/s per connection; behind a platform's proxy the distance is far less.
SEND_BUFFER_BYTES = 256 * 1024
KEEP_ALIVE_SECONDS = 5
# A request line and headers that arrive in pieces may not grow past this
# before they are complete (h11 answers 400); the ASGI layer in
# leftbehind/site/guard.py enforces the smaller limits on complete requests.
MAX_INCOMPLETE_REQUEST_BYTES = 64 * 1024
TIMEOUT_MESSAGE = b"The request's line and headers took too long to arrive.\n"
CONNECTION_CLOSE = (b"connection", b"close")
REQUEST_TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\n"
    b"content-type: text/plain; charset=utf-8\r\n"
    b"cache-control: no-store\r\n"
    b"connection: close\r\n"
    b"content-length: " + str(len(TIMEOUT_MESSAGE)).encode() + b"\r\n\r\n" + TIMEOUT_MESSAGE
)


class HeaderDeadlineProtocol(H11Protocol):
    """uvicorn's HTTP/1.1 protocol with a deadline for each request's headers, and one for writes.

    The deadline starts when the connection opens and again when a response
    has been sent (the connection then waits for its next request). It is
    lifted when a complete request has been handed to the application. A
    connection still waiting when it passes is closed: answered 408 if part of
    a request had arrived, silently if nothing had (a browser's idle spare
    connection, which it would otherwise read the 408 from).

    The write deadline starts when the transport's buffer passes its high-water
    mark (uvicorn then stops handing it more of the response) and is lifted
    when the client has taken enough for the buffer to drain; a client that
    takes nothing for ``write_timeout`` seconds is disconnected.

    A worker being replaced (after its ``MAX_REQUESTS``, or a stop) answers each
    connection's next request and then closes it (see ``shutdown``).
    """

    header_timeout = HEADER_TIMEOUT_SECONDS
    write_timeout = float(os.environ.get("LEFTBEHIND_WRITE_TIMEOUT") or WRITE_TIMEOUT_SECONDS)
    _write_deadline: asyncio.TimerHandle | None = None
    _retiring = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER_BYTES)
        self._arm_header_deadline()

    def data_received(self, data: bytes) -> None:
        self._received_while_waiting = True
        super().data_received(data)
        if self.cycle is not self._waiting_since_cycle:
            self._cancel_header_deadline()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._arm_header_deadline()

    def handle_events(self) -> None:
        super().handle_events()
        if self._retiring:
            self._last_answer()

    def shutdown(self) -> None:
        """Begin closing this connection, because the worker is being replaced.

        uvicorn closes a connection that is between requests at once. A client that
        has just sent its next request on it (a kept-alive connection, or a new one
        the worker had accepted) then gets no answer: the request is lost with the
        connection, and one client's volume, which brought the replacement about,
        costs another visitor a request. So the connection is closed only after the
        answer to a request that arrives within the keep-alive time; that answer says
        ``Connection: close``. A request under way is answered the same way.
        """
        self._retiring = True
        if self.cycle is None or self.cycle.response_complete:
            self.loop.call_later(self.timeout_keep_alive, self._close_if_between_requests)
        else:
            self._last_answer()

    def _last_answer(self) -> None:
        """Make the request under way the connection's last: its answer says so."""
        cycle = self.cycle
        if cycle is None or cycle.response_complete:
            return
        cycle.keep_alive = False
        if not cycle.response_started and CONNECTION_CLOSE not in cycle.default_headers:
            cycle.default_headers = [*cycle.default_headers, CONNECTION_CLOSE]

    def _close_if_between_requests(self) -> None:
        """uvicorn's own shutdown, the keep-alive time later: it closes a connection between
        requests, and one whose request came meanwhile is closed after its answer anyway."""
        if not self.transport.is_closing():
            super().shutdown()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_deadline()
        self._cancel_write_deadline()
        super().connection_lost(exc)

    def pause_writing(self) -> None:
        super().pause_writing()
        if self._write_deadline is None:
            self._write_deadline = self.loop.call_later(self.write_timeout, self._write_deadline_passed)

    def resume_writing(self) -> None:
        super().resume_writing()
        self._cancel_write_deadline()

    def _cancel_write_deadline(self) -> None:
        if self._write_deadline is not None:
            self._write_deadline.cancel()
            self._write_deadline = None

    def _write_deadline_passed(self) -> None:
        self._write_deadline = None
        self.logger.warning("Closed the connection from %s: it took none of its answer for %.0f s",
                            self.client[0] if self.client else "?", self.write_timeout)
        self.transport.abort()  # drops what is buffered; the response's sends then return at once

    def _arm_header_deadline(self) -> None:
        self._cancel_header_deadline()
        self._waiting_since_cycle = self.cycle
        self._received_while_waiting = False
        self._header_deadline = self.loop.call_later(self.header_timeout, self._header_deadline_passed)

    def _cancel_header_deadline(self) -> None:
        deadline = getattr(self, "_header_deadline", None)
        if deadline is not None:
            deadline.cancel()
            self._header_deadline = None

    def _header_deadline_passed(self) -> None:
        self._header_deadline = None
        if self.transport.is_closing() or self.cycle is not self._waiting_since_cycle:
            return
        if self._received_while_waiting and self.conn.our_state in (h11.IDLE, h11.DONE):
            self.transport.write(REQUEST_TIMEOUT_RESPONSE)
        self.transport.close()


def datasette_from_serve_args(args: list[str]) -> tuple[Any, dict[str, Any]]:
    """The Datasette instance ``datasette serve ARGS`` would serve, and the parsed options.

    Datasette's own ``serve`` command parses the arguments and builds the
    instance (its ``return_instance`` switch stops it before it starts uvicorn),
    after the site's plugins (``leftbehind.site``) are registered.
    """
    from datasette.cli import serve

    from leftbehind.site import register

    register()
    context = serve.make_context("datasette serve", list(args))
    datasette = context.invoke(serve.callback, **context.params, return_instance=True)
    return datasette, context.params


def serve_options(args: list[str]) -> dict[str, Any]:
    """``datasette serve ARGS``'s options, parsed by Datasette's own command, without building anything."""
    from datasette.cli import serve

    return serve.make_context("datasette serve", list(args)).params


def ready_app(args: list[str]):
    """The ASGI app of one worker: the instance built, started and its databases checked."""
    from datasette.cli import check_databases, run_sync

    datasette, _ = datasette_from_serve_args(args)
    run_sync(datasette.invoke_startup)
    run_sync(lambda: check_databases(datasette))
    return datasette.app()


def forwarded_allow_ips() -> str | None:
    """The proxy addresses whose X-Forwarded-For/Proto are trusted, or None for none."""
    value = os.environ.get("LEFTBEHIND_FORWARDED_ALLOW_IPS", "").strip()
    return value or None


def positive_int(name: str, default: int) -> int:
    """A whole number above 0 from the environment variable ``name``, else ``default``."""
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    if not value.isdigit() or int(value) < 1:
        raise SystemExit(f"{name} must be a whole number above 0, not {value!r}")
    return int(value)


class SiteWorker(UvicornWorker):
    """A gunicorn worker running uvicorn with the site's protocol and limits."""

    def init_process(self) -> None:
        """Die with the master, and start the heartbeat's clock, with ``BOOT_ALLOWANCE_SECONDS``
        for booting.

        A master killed outright (SIGKILL, the OOM killer, a supervisor's stop that ran out of
        patience) never stops its workers, and uvicorn's worker does not watch its parent as
        gunicorn's own do: they lived on, holding the listening socket and their memory.

        gunicorn (27.0.1) compares the heartbeat file's time with its monotonic clock, but
        the file starts with the wall-clock time of its creation, which looks decades
        ahead: until its first heartbeat a worker is never late, and one that hangs while
        booting would never be replaced.
        """
        die_with_parent(self.ppid)
        start = time.monotonic() + BOOT_ALLOWANCE_SECONDS
        os.utime(self.tmp.fileno(), (start, start))
        super().init_process()

    def _install_sigquit_handler(self) -> None:
        """On SIGQUIT, stop the way SIGTERM stops a worker: finish what is under way, then end.

        gunicorn sends its workers SIGQUIT when the master is told to stop quickly (SIGINT,
        which Fly.io sends to stop a machine, or SIGQUIT). uvicorn-worker (0.4) answers it by
        only marking the worker as no longer alive, which uvicorn never reads
        (Kludex/uvicorn-worker#2): the workers carried on until gunicorn killed them,
        requests and all, at the end of its graceful timeout. uvicorn stops on SIGTERM, so
        SIGQUIT is passed on as that.
        """
        asyncio.get_running_loop().add_signal_handler(signal.SIGQUIT, signal.raise_signal, signal.SIGTERM)

    @property
    def CONFIG_KWARGS(self) -> dict[str, Any]:  # noqa: N802 (UvicornWorker's name)
        trusted = forwarded_allow_ips()
        return {
            "loop": "asyncio",
            "http": HeaderDeadlineProtocol,
            "lifespan": "on",
            "h11_max_incomplete_event_size": MAX_INCOMPLETE_REQUEST_BYTES,
            "proxy_headers": trusted is not None,
            "forwarded_allow_ips": trusted,
        }


def graceful_stop_seconds() -> int:
    """How long a stopping worker has before gunicorn kills it: ``GRACEFUL_TIMEOUT_SECONDS`` for
    the requests under way, and the keep-alive time for one more request on each open connection."""
    return GRACEFUL_TIMEOUT_SECONDS + KEEP_ALIVE_SECONDS


def bind_address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class SiteServer(BaseApplication):
    """gunicorn, configured here rather than from a file or its command line."""

    def __init__(self, args: list[str]) -> None:
        self.args = list(args)
        self.options = serve_options(self.args)
        super().__init__()

    def load_config(self) -> None:
        max_requests = positive_int("LEFTBEHIND_MAX_REQUESTS", MAX_REQUESTS)
        settings = {
            "bind": [bind_address(self.options["host"], self.options["port"])],
            "workers": positive_int("LEFTBEHIND_WORKERS", WORKERS),
            "worker_class": "leftbehind.server.SiteWorker",
            "timeout": positive_int("LEFTBEHIND_WORKER_TIMEOUT", WORKER_TIMEOUT_SECONDS),
            "graceful_timeout": graceful_stop_seconds(),
            "keepalive": KEEP_ALIVE_SECONDS,
            "max_requests": max_requests,
            "max_requests_jitter": max_requests // 10,
            "accesslog": "-",
            "errorlog": "-",
            "loglevel": "info",
            "proc_name": "leftbehind",
            "control_socket_disable": True,  # one fixed path per user: two servers would share it
        }
        for name, value in settings.items():
            self.cfg.set(name, value)

    def load(self):
        return ready_app(self.args)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    options = serve_options(args)
    try:
        for database in (*options["files"], *options["immutable"]):
            check_complete_build(Path(database))
    except IncompleteBuild as error:
        print(error, file=sys.stderr)
        return 1
    if (taken := port_in_use(options["host"], options["port"])) is not None:
        print(taken, file=sys.stderr)
        return 1
    SiteServer(args).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
