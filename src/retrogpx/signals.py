"""SIGTERM as a clean exit: a process stopped by ``kill``, a job scheduler or a service
manager cleans up and says so, instead of vanishing mid-write.

Python's default SIGTERM action ends the process at once, so a write caught between
creating its temporary file and renaming it over the target (see
:func:`retrogpx.report.write_atomic`) leaves ``.NAME.<random>.tmp`` behind.
:func:`exit_on_sigterm` turns SIGTERM into :class:`Terminated`, a ``SystemExit``: every
``finally`` and ``except BaseException`` cleanup runs (the temporary file is removed,
worker pools are shut down), readers' ``except Exception`` cannot swallow it, and the
process exits with :data:`EXIT_TERMINATED` (128 + 15, as a shell reports a process
killed by SIGTERM). Outputs not yet written keep their previous content: unlike Ctrl-C
in ``retrogpx batch``, which writes what finished, a terminated batch writes nothing.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType

#: Exit code of a process ended by SIGTERM.
EXIT_TERMINATED = 128 + signal.SIGTERM.value
MESSAGE = "retrogpx: terminated (SIGTERM); outputs not yet written keep their previous content\n"


class Terminated(SystemExit):
    """SIGTERM arrived: unwind, clean up, exit with :data:`EXIT_TERMINATED`."""


def exit_on_sigterm() -> None:
    """Make SIGTERM raise :class:`Terminated` in this process's main thread.

    Does nothing outside the main thread (only it may set signal handlers). A worker
    process forked later inherits the handler but not the job: there the handler
    restores the default action and sends the signal again, so the worker ends at once.
    A second SIGTERM during the cleanup ends the process at once too.
    """
    if threading.current_thread() is not threading.main_thread():
        return
    owner = os.getpid()

    def terminate(signum: int, frame: FrameType | None) -> None:
        signal.signal(signum, signal.SIG_DFL)
        if os.getpid() != owner:
            os.kill(os.getpid(), signum)
            return
        # os.write, not print: the main thread may be inside a write to stderr.
        os.write(2, MESSAGE.encode())
        raise Terminated(EXIT_TERMINATED)

    signal.signal(signal.SIGTERM, terminate)


class TimeLimitExceeded(BaseException):
    """A :func:`time_limit` ran out. A BaseException, so that a reader's ``except
    Exception`` (trying another path on any error) cannot swallow it."""


@dataclass
class Deadline:
    """What a :func:`time_limit` block can ask afterwards: whether its limit ran out.

    Python may hand on :class:`TimeLimitExceeded` wrapped in another exception (one
    raised while a class is being made, e.g. a dataclass of a module imported lazily
    inside the block, comes out as ``RuntimeError``): ``expired`` still says so."""

    expired: bool = False


@contextmanager
def time_limit(seconds: float | None) -> Iterator[Deadline]:
    """Raise :class:`TimeLimitExceeded` in this thread when the block takes longer than
    ``seconds`` of wall-clock time; None: no limit. Gives the block's :class:`Deadline`.

    In the main thread, by SIGALRM (``setitimer``): it stops Python code and blocking
    system calls (a read waiting on a pipe) at once. In any other thread (a Dask
    worker's), where no signal arrives, a timer thread sets the exception for this
    thread with ``PyThreadState_SetAsyncExc`` (CPython's way to raise in another
    thread): it stops Python code at once and a system call when it returns. Either
    way one long C call (one numpy or GEOS operation) is stopped when it returns.
    """
    deadline = Deadline()
    if not seconds:
        yield deadline
    elif threading.current_thread() is threading.main_thread():
        with _alarm(seconds, deadline):
            yield deadline
    else:
        with _thread_timer(seconds, deadline):
            yield deadline


@contextmanager
def _alarm(seconds: float, deadline: Deadline) -> Iterator[None]:
    def expire(signum: int, frame: FrameType | None) -> None:
        deadline.expired = True
        raise TimeLimitExceeded(seconds)

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextmanager
def _thread_timer(seconds: float, deadline: Deadline) -> Iterator[None]:
    import ctypes

    thread_id = ctypes.c_ulong(threading.get_ident())
    set_async_exc = ctypes.pythonapi.PyThreadState_SetAsyncExc
    guard = threading.Lock()
    inside = [True]

    def expire() -> None:
        with guard:  # never after the block has ended (see below)
            if inside[0]:
                deadline.expired = True
                set_async_exc(thread_id, ctypes.py_object(TimeLimitExceeded))

    timer = threading.Timer(seconds, expire)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        with guard:
            inside[0] = False
            # An exception set but not yet raised would surface in whatever this
            # thread runs next: take it back.
            set_async_exc(thread_id, None)
