"""Run the publishing profile under uvicorn with the limits ``datasette serve`` cannot set.

``datasette serve`` starts uvicorn with its defaults, which have no deadline for a
client to finish sending a request's headers (a client that connects and then
sends a byte every few seconds holds its connection for ever) and which trust
``X-Forwarded-*`` headers from 127.0.0.1. This module takes the very same
``datasette serve`` arguments (parsed by Datasette's own command, so the instance
is configured exactly as the published one), and runs it under uvicorn with:

- a deadline of ``HEADER_TIMEOUT_SECONDS`` to receive each request's line and
  headers, after which the connection is answered 408 and closed;
- forwarded headers trusted only from the addresses in
  ``LEFTBEHIND_FORWARDED_ALLOW_IPS`` (none by default).

``python -m leftbehind.server DATASETTE-SERVE-ARGUMENTS`` is what
``leftbehind.serve.serve_command`` returns; ``make serve`` runs it.
"""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

HEADER_TIMEOUT_SECONDS = 10.0
KEEP_ALIVE_SECONDS = 5
# A request line and headers that arrive in pieces may not grow past this
# before they are complete (h11 answers 400); the ASGI layer in
# leftbehind/site/guard.py enforces the smaller limits on complete requests.
MAX_INCOMPLETE_REQUEST_BYTES = 64 * 1024
TIMEOUT_MESSAGE = b"The request's line and headers took too long to arrive.\n"
REQUEST_TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\n"
    b"content-type: text/plain; charset=utf-8\r\n"
    b"cache-control: no-store\r\n"
    b"connection: close\r\n"
    b"content-length: " + str(len(TIMEOUT_MESSAGE)).encode() + b"\r\n\r\n" + TIMEOUT_MESSAGE
)


class HeaderDeadlineProtocol(H11Protocol):
    """uvicorn's HTTP/1.1 protocol with a deadline for each request's headers.

    The deadline starts when the connection opens and again when a response
    has been sent (the connection then waits for its next request). It is
    lifted when a complete request has been handed to the application. A
    connection still waiting when it passes is closed: answered 408 if part of
    a request had arrived, silently if nothing had (a browser's idle spare
    connection, which it would otherwise read the 408 from).
    """

    header_timeout = HEADER_TIMEOUT_SECONDS

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_deadline()

    def data_received(self, data: bytes) -> None:
        self._received_while_waiting = True
        super().data_received(data)
        if self.cycle is not self._waiting_since_cycle:
            self._cancel_header_deadline()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._arm_header_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_deadline()
        super().connection_lost(exc)

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


def forwarded_allow_ips() -> str | None:
    """The proxy addresses whose X-Forwarded-For/Proto are trusted, or None for none."""
    value = os.environ.get("LEFTBEHIND_FORWARDED_ALLOW_IPS", "").strip()
    return value or None


def main(argv: list[str] | None = None) -> int:
    from datasette.cli import check_databases, run_sync

    args = sys.argv[1:] if argv is None else argv
    datasette, options = datasette_from_serve_args(args)
    run_sync(datasette.invoke_startup)
    run_sync(lambda: check_databases(datasette))
    trusted = forwarded_allow_ips()
    uvicorn.run(
        datasette.app(),
        host=options["host"],
        port=options["port"],
        log_level="info",
        lifespan="on",
        workers=1,
        http=HeaderDeadlineProtocol,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        h11_max_incomplete_event_size=MAX_INCOMPLETE_REQUEST_BYTES,
        proxy_headers=trusted is not None,
        forwarded_allow_ips=trusted,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
