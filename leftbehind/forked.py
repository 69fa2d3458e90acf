"""Work done in a forked child process, beside the work of this one.

The build has two cores to use and two independent lines of work once the wards' own
sources are read: the other sources, the wards (today's geography, deprivation) and their
tables on one hand; the outline folders and every ward's outline on the other. Threads do
not help there (both are mostly Python, holding the GIL), and a spawned process would have
to be sent the parsed sources. A forked child already has them, copy-on-write, reads what
only it needs, and sends back only what it makes, pickled, each part as soon as it is made.
"""

from __future__ import annotations

import ctypes
import gc
import multiprocessing
import os
import queue
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Iterable
from typing import Any, Generic, TypeVar

Result = TypeVar("Result")
# What a forked child runs: given ``receive`` (what the parent sends, in order), the parts it makes.
Parts = Callable[[Callable[[], Any]], Iterable[tuple[str, Any]]]


def can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


def die_with_parent(parent: int) -> None:
    """Have the kernel kill this process when its parent dies (Linux), and leave now if it
    already has: a build killed with SIGKILL must not leave a child holding its pipes."""
    if sys.platform.startswith("linux"):
        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:
        os._exit(1)


def _run_and_send(parts: Parts, connection, inbound, parent: int) -> None:
    """In the child: send ("ok", name, value) for each part as soon as it is made, or
    ("error", None, exception) when making one fails; never raise.

    Threads send the parts and receive what the parent sends: a message larger than the
    pipe's buffer would otherwise hold its sender until the other side asks for it."""
    die_with_parent(parent)
    # The objects this process was forked with are the parent's: collecting them here would
    # find nothing and copy every page they lie on. Only what the child makes is collected.
    gc.freeze()
    inbox: queue.SimpleQueue = queue.SimpleQueue()
    threading.Thread(target=_receive_each, args=(inbound, inbox), name="receiver", daemon=True).start()
    outbox: queue.SimpleQueue = queue.SimpleQueue()
    sender = threading.Thread(target=_send_each, args=(outbox, connection), name="sender", daemon=True)
    sender.start()

    def receive() -> Any:
        value = inbox.get()
        if value is _END:
            raise EOFError("the parent process sent nothing more")
        return value

    try:
        for name, value in parts(receive):
            outbox.put(("ok", name, value))
    except BaseException as error:  # noqa: BLE001 - every failure goes back to the parent
        outbox.put(("error", None, error))
    finally:
        outbox.put(None)
        sender.join()
        connection.close()


# What the receiving thread puts in the inbox when the parent's end is closed.
_END = object()


def _receive_each(connection, inbox: queue.SimpleQueue) -> None:
    try:
        while True:
            inbox.put(connection.recv())
    except (EOFError, OSError):
        inbox.put(_END)


def _send_each(outbox: queue.SimpleQueue, connection) -> None:
    """Send each outcome put in ``outbox`` until None; stop after one that would not pickle."""
    while (outcome := outbox.get()) is not None:
        if not _sent(connection, outcome):
            return


def _sent(connection, outcome: tuple[str, str | None, Any]) -> bool:
    """Send one outcome, or, when it will not pickle, a RuntimeError saying why. Whether it went."""
    try:
        connection.send(outcome)
    except Exception:  # it would not pickle: nothing of it was sent
        connection.send(("error", None, RuntimeError(traceback.format_exc())))
        return False
    return True


class ForkedParts:
    """``parts(receive)``, an iterator of (name, value) pairs, started now in a forked child;
    each part is sent back as soon as the child has made it, so the parent can use the first
    while the child makes the next. ``get(name)`` waits for that part and returns it, or
    raises the exception the child raised before making it. ``send(value)`` gives the child a
    value made after the fork: its ``receive()`` returns them in order. ``cancel()`` stops a
    child whose parts are no longer wanted."""

    def __init__(self, parts: Parts, name: str) -> None:
        context = multiprocessing.get_context("fork")
        self._receiver, sender = context.Pipe(duplex=False)
        inbound, self._to_child = context.Pipe(duplex=False)
        self._process = context.Process(
            target=_run_and_send, args=(parts, sender, inbound, os.getpid()), name=name, daemon=True
        )
        self._process.start()
        # The child's ends: only the child holds them now, so its exit ends the pipe.
        sender.close()
        inbound.close()
        self.name = name
        self._received: dict[str, Any] = {}

    def send(self, value: Any) -> None:
        """Send ``value`` to the child. A child that has already ended is not an error here:
        ``get`` reports why it ended."""
        try:
            self._to_child.send(value)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def get(self, name: str) -> Any:
        while name not in self._received:
            if self._receiver.closed:
                raise RuntimeError(f"the process {self.name} sent no part {name!r}")
            try:
                status, part, value = self._receiver.recv()
            except EOFError:
                self._receiver.close()
                self._process.join()
                raise RuntimeError(f"the process {self.name} ended without a result (exit code {self._process.exitcode})") from None
            if status == "error":
                self._receiver.close()
                self._process.join()
                raise value
            self._received[part] = value
        return self._received.pop(name)

    def cancel(self) -> None:
        """Stop the child if it is still running, and reap it."""
        if self._process.is_alive():
            self._process.kill()
        self._process.join()
        for end in (self._receiver, self._to_child):
            if not end.closed:
                end.close()


class ForkedCall(ForkedParts, Generic[Result]):
    """``function()`` started now in a forked child; ``result()`` waits for it and returns it,
    or raises the exception it raised. ``cancel()`` stops a child whose result is not wanted."""

    def __init__(self, function: Callable[[], Result], name: str) -> None:
        super().__init__(lambda receive: [("result", function())], name)

    def result(self) -> Result:
        value = self.get("result")
        self.cancel()  # it has sent all it will: reap it
        return value
