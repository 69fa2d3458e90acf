"""One function computed in a forked child process, beside the work of this one.

The build has two cores to use and two independent lines of work once its sources are read:
the wards (today's geography, deprivation) and their tables on one hand, every ward's
outline on the other. Threads do not help there (both are mostly Python, holding the GIL),
and a spawned process would have to be sent the parsed sources. A forked child already
has them, copy-on-write, and sends back only its result, pickled.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
import traceback
from collections.abc import Callable
from typing import Any, Generic, TypeVar

Result = TypeVar("Result")


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


def _run_and_send(function: Callable[[], Any], connection, parent: int) -> None:
    """In the child: send ("ok", result) or ("error", exception), never raise."""
    die_with_parent(parent)
    try:
        outcome = ("ok", function())
    except BaseException as error:  # noqa: BLE001 - every failure goes back to the parent
        outcome = ("error", error)
    try:
        connection.send(outcome)
    except Exception:  # the result or the exception would not pickle
        connection.send(("error", RuntimeError(traceback.format_exc())))
    finally:
        connection.close()


class ForkedCall(Generic[Result]):
    """``function()`` started now in a forked child; ``result()`` waits for it and returns it,
    or raises the exception it raised. ``cancel()`` stops a child whose result is not wanted."""

    def __init__(self, function: Callable[[], Result], name: str) -> None:
        context = multiprocessing.get_context("fork")
        self._receiver, sender = context.Pipe(duplex=False)
        self._process = context.Process(target=_run_and_send, args=(function, sender, os.getpid()), name=name, daemon=True)
        self._process.start()
        sender.close()  # the child's end: only the child holds it now, so its exit ends the pipe
        self.name = name

    def result(self) -> Result:
        try:
            status, value = self._receiver.recv()
        except EOFError:
            self._process.join()
            raise RuntimeError(f"the process {self.name} ended without a result (exit code {self._process.exitcode})") from None
        finally:
            self._receiver.close()
        self._process.join()
        if status == "error":
            raise value
        return value

    def cancel(self) -> None:
        """Stop the child if it is still running, and reap it."""
        if self._process.is_alive():
            self._process.kill()
        self._process.join()
        if not self._receiver.closed:
            self._receiver.close()
