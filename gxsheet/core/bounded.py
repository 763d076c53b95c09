"""Work on submitted files in worker processes that are bounded in time and memory, and die with us.

Every reader has bounds of its own (sizes, elements, cells, formula steps), but a reader is a lot of
code - ours, expat, lxml, python-docx, BeautifulSoup, openpyxl for ``--annotate`` - and a hostile
file only needs one path nobody bounded. So the commands do that work here, in worker processes,
where the bounds are enforced by the operating system rather than hoped for:

* **time**: each file may use ``Limits.max_seconds`` of CPU time. A CPU timer (``ITIMER_PROF``)
  interrupts the reader with an exception at the limit; should it be stuck inside C code, the
  kernel's ``RLIMIT_CPU``, set a few seconds later, ends the worker; and should it block without
  using CPU at all, the parent stops waiting after a generous wall-clock backstop.
* **memory**: the worker's address space may grow by ``Limits.max_memory_bytes`` over what it had
  when it started (``RLIMIT_AS``): past it allocations fail with MemoryError, which the worker
  reports; a worker killed by the system for memory is reported the same way.

A file over a bound is answered like any unreadable file ("unreadable", with the bound it broke),
its worker is replaced and the rest of the batch goes on.

Workers never outlive the command: on Linux the kernel kills them when the parent dies however it
dies (``PR_SET_PDEATHSIG``); SIGTERM, SIGHUP and Ctrl-C in the parent unwind it through
:class:`Pool`'s exit, which kills and reaps them; a worker whose parent vanished sees its pipe close
and exits; and workers hold no terminal or pipe of the caller (stdin/stdout/stderr are /dev/null),
so a script reading our stderr is never kept waiting by an orphan.

Where processes cannot be forked (Windows), the work runs in this process with only the readers' own
bounds; :data:`ISOLATED` says which.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any

from gxsheet.core.errors import LoadError, load_error
from gxsheet.core.limits import DEFAULT_LIMITS, MB, Limits

__all__ = ["ISOLATED", "Outcome", "Pool", "call_bounded", "error_for", "run_bounded"]

#: whether work runs in bounded worker processes on this platform (fork + POSIX resource limits)
ISOLATED = sys.platform != "win32" and "fork" in multiprocessing.get_all_start_methods() and hasattr(signal, "SIGPROF")

#: the kernel's CPU limit comes this long after the timer, for a reader stuck in C code
_HARD_GRACE_SECONDS = 5
#: wall-clock backstop per file: CPU time × this + the constant (a busy machine is slow, not stuck)
_WALL_FACTOR, _WALL_EXTRA = 10, 60.0
_PR_SET_PDEATHSIG = 1
#: tasks in a worker's pipe at once: the next file is there when it finishes one
_DEPTH = 2


@dataclass(frozen=True)
class Outcome:
    """How one task ended: ``ok`` (``value`` is its result), ``time`` / ``memory`` (a bound was hit),
    ``crash`` (an exception: ``detail`` its type and message, ``trace`` the traceback) or ``died``
    (the worker vanished: ``detail`` says how)."""

    status: str
    value: Any = None
    detail: str = ""
    trace: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok"


class _OverTime(BaseException):
    """Raised in a worker by its CPU timer; a BaseException so no reader's ``except Exception`` eats it."""


def _on_timer(_signum: int, _frame: Any) -> None:
    raise _OverTime


def _die_with_parent() -> None:
    """Ask Linux to SIGKILL this process when its parent dies (a no-op elsewhere)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def _address_space() -> int:
    """This process's current virtual memory size in bytes (0 when unknown)."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _set_limit(which: int, soft: int) -> None:
    import resource

    try:
        _, hard = resource.getrlimit(which)
        if hard != resource.RLIM_INFINITY:
            soft = min(soft, hard)
        resource.setrlimit(which, (soft, hard))
    except (ValueError, OSError):
        pass


def _cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system


def _quiet_stdio() -> None:
    """Point the worker's stdin/stdout/stderr at /dev/null: it must hold no pipe of the caller."""
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        with contextlib.suppress(OSError):
            os.dup2(null, fd)
    os.close(null)


def _worker(conn: Connection, fn: Callable[..., Any], seconds: float, memory: int, parent: int) -> None:
    """A worker's life: bounded, one task at a time, until its pipe closes."""
    _die_with_parent()
    if os.getppid() != parent:  # the parent died before the request above took effect
        os._exit(0)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle: it kills us
    for name in ("SIGTERM", "SIGHUP"):
        signal.signal(getattr(signal, name), signal.SIG_DFL)
    signal.signal(signal.SIGPROF, _on_timer)
    _quiet_stdio()
    import resource

    _set_limit(resource.RLIMIT_CORE, 0)  # a worker ended by RLIMIT_CPU leaves no core file behind
    base = _address_space()
    if base and memory:
        _set_limit(resource.RLIMIT_AS, base + memory)
    while True:
        try:
            uid, chunk = conn.recv()
        except (EOFError, OSError):
            os._exit(0)
        outcomes = [_timed(fn, args, seconds) for args in chunk]  # each task under its own bound
        try:
            conn.send((uid, outcomes))
        except MemoryError:
            conn.send((uid, [Outcome("memory")] * len(outcomes)))
        except Exception:  # noqa: BLE001 - a result that cannot be pickled: that task's crash, not the chunk's
            conn.send((uid, [_picklable(o) for o in outcomes]))
        del outcomes


def _picklable(o: Outcome) -> Outcome:
    import pickle

    try:
        pickle.dumps(o)
        return o
    except Exception as e:  # noqa: BLE001
        return Outcome("crash", detail=f"{type(e).__name__}: {e}")


def _timed(fn: Callable[..., Any], args: tuple[Any, ...], seconds: float) -> Outcome:
    """``fn(*args)`` under a CPU timer of ``seconds`` (and the kernel's CPU limit a little later),
    every way it can end as an Outcome. Needs the SIGPROF handler (:func:`_on_timer`) in place."""
    import resource

    if seconds:
        _set_limit(resource.RLIMIT_CPU, int(_cpu_seconds() + seconds + _HARD_GRACE_SECONDS) + 1)
        signal.setitimer(signal.ITIMER_PROF, seconds)
    try:
        return Outcome("ok", fn(*args))
    except _OverTime:
        return Outcome("time")
    except MemoryError:
        return Outcome("memory")
    except BaseException as e:  # noqa: BLE001 - reported to the caller, which decides
        return Outcome("crash", detail=f"{type(e).__name__}: {e}", trace=traceback.format_exc())
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)


def call_bounded(fn: Callable[..., Any], *args: Any, limits: Limits | None = None) -> Outcome:
    """``fn(*args)`` in *this* process under the same time and memory bounds as a :class:`Pool` task.

    For work that already runs in a worker process of another pool (``gxsheet serve`` runs each
    upload in a pebble worker, whose timeout is wall-clock only): the CPU timer, the kernel's CPU
    limit and an address-space limit of ``Limits.max_memory_bytes`` over the current size hold for
    the call and are lifted after it, so the worker goes on to the next job. Outside the main thread,
    or where there are no such limits, it is :func:`_in_process` (the readers' own bounds only).
    """
    if not ISOLATED or threading.current_thread() is not threading.main_thread():
        return _in_process(fn, args)
    import resource

    limits = limits or DEFAULT_LIMITS
    saved = {which: resource.getrlimit(which) for which in (resource.RLIMIT_AS, resource.RLIMIT_CPU)}
    handler = signal.signal(signal.SIGPROF, _on_timer)
    base = _address_space()
    if base and limits.max_memory_bytes:
        _set_limit(resource.RLIMIT_AS, base + int(limits.max_memory_bytes))
    try:
        return _timed(fn, args, float(limits.max_seconds))
    finally:
        for which, old in saved.items():
            with contextlib.suppress(ValueError, OSError):
                resource.setrlimit(which, old)
        signal.signal(signal.SIGPROF, handler)


class _Terminated(SystemExit):
    """SIGTERM/SIGHUP in the parent while workers run: unwinds through Pool.__exit__."""


def _on_termination(signum: int, _frame: Any) -> None:
    raise _Terminated(128 + signum)


@dataclass
class _Slot:
    process: Any
    conn: Connection
    #: chunks handed to this worker, oldest (the one it is on) first: (id, task indices, when it started)
    chunks: deque[tuple[int, list[int], float]] = field(default_factory=deque)


class Pool:
    """``jobs`` bounded worker processes running ``fn`` on one argument tuple at a time.

    Use as a context manager: leaving it (normally, by an exception, Ctrl-C, SIGTERM or SIGHUP)
    kills and reaps every worker. ``fn`` and everything it needs are inherited by fork; only the
    arguments and results cross the pipe (pickled).

    Tasks travel in chunks (``chunk`` tasks a message: sending, pickling and waking a worker once
    per chunk instead of once per file), but every task of a chunk runs under its own time bound,
    and a chunk whose worker dies or stalls is retried task by task, so the one file that killed
    it gets the outcome and the others are read. Each worker holds at most :data:`_DEPTH` chunks,
    so results never pile up faster than :meth:`imap`'s caller takes them.
    """

    def __init__(self, fn: Callable[..., Any], jobs: int = 1, limits: Limits | None = None) -> None:
        limits = limits or DEFAULT_LIMITS
        self.fn = fn
        self.jobs = max(1, jobs)
        self.seconds = float(limits.max_seconds)
        self.memory = int(limits.max_memory_bytes)
        self._slots: list[_Slot] = []
        self._saved: dict[int, Any] = {}
        self._ctx = multiprocessing.get_context("fork") if ISOLATED else None
        self._uid = 0

    # -- lifetime
    def __enter__(self) -> Pool:
        if threading.current_thread() is threading.main_thread():
            for name in ("SIGTERM", "SIGHUP"):
                signum = getattr(signal, name, None)
                if signum is not None and signal.getsignal(signum) in (signal.SIG_DFL, None):
                    self._saved[signum] = signal.signal(signum, _on_termination)
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
        for signum, handler in self._saved.items():
            signal.signal(signum, handler)
        self._saved.clear()

    def close(self) -> None:
        """Kill and reap every worker (idempotent)."""
        slots, self._slots = self._slots, []
        for s in slots:
            _kill(s)

    def _spawn(self) -> _Slot:
        assert self._ctx is not None
        parent_end, child_end = self._ctx.Pipe()
        p = self._ctx.Process(target=_worker, args=(child_end, self.fn, self.seconds, self.memory, os.getpid()),
                              daemon=True)
        p.start()
        child_end.close()
        slot = _Slot(p, parent_end)
        self._slots.append(slot)
        return slot

    # -- work
    def map(self, tasks: Sequence[tuple[Any, ...]], *, chunk: int = 1, done: Callable[[int, Outcome], None] | None = None,
            while_waiting: Callable[[], object] | None = None) -> list[Outcome]:
        """Run ``fn(*task)`` for every task; outcomes in task order (see :meth:`imap`).

        ``done(i, outcome)`` is called as each task finishes (progress).
        """
        out: list[Outcome | None] = [None] * len(tasks)
        for i, outcome in self.imap(tasks, chunk=chunk, while_waiting=while_waiting):
            out[i] = outcome
            if done:
                done(i, outcome)
        return out  # type: ignore[return-value]

    def imap(self, tasks: Sequence[tuple[Any, ...]], *, chunk: int = 1,
             while_waiting: Callable[[], object] | None = None) -> Iterator[tuple[int, Outcome]]:
        """``(i, outcome of fn(*tasks[i]))`` for every task, as they finish, ``chunk`` tasks a message.

        ``while_waiting`` runs once in this process after the first chunks were handed out (work
        that overlaps the reading).
        """
        n = len(tasks)
        if self._ctx is None:  # no fork here: in this process, with the readers' own bounds
            if while_waiting is not None:
                while_waiting()
            for i, args in enumerate(tasks):
                yield i, _in_process(self.fn, args)
            return
        chunk = max(1, chunk)
        todo: deque[list[int]] = deque(list(range(i, min(i + chunk, n))) for i in range(0, n, chunk))
        while len(self._slots) < min(self.jobs, len(todo)):
            self._spawn()
        for s in self._slots:
            self._fill(s, todo, tasks)
        if while_waiting is not None:
            while_waiting()
        while any(s.chunks for s in self._slots):
            busy = [s for s in self._slots if s.chunks]
            ready = set(wait([s.conn for s in busy] + [s.process.sentinel for s in busy], timeout=1.0))
            now = time.monotonic()
            for s in busy:
                finished: list[tuple[int, Outcome]] = []
                broken = False
                if s.conn in ready:
                    try:
                        while s.chunks and s.conn.poll():
                            uid, outcomes = s.conn.recv()
                            head, indices, _ = s.chunks.popleft()
                            assert uid == head and len(outcomes) == len(indices)
                            finished += zip(indices, outcomes, strict=True)
                            if s.chunks:  # the worker went straight on with the next one
                                s.chunks[0] = (*s.chunks[0][:2], now)
                    except (EOFError, OSError):
                        broken = True
                if s.chunks and (broken or s.process.sentinel in ready):
                    finished += self._lost(s, todo, self._death(s))
                elif s.chunks and self.seconds and now - s.chunks[0][2] > self._wall(len(s.chunks[0][1])):
                    finished += self._lost(s, todo, Outcome("time"))
                    self._replace(s)
                yield from finished
            for s in list(self._slots):
                self._fill(s, todo, tasks)

    def _wall(self, tasks: int) -> float:
        """The wall-clock backstop of a chunk: a busy machine is slow, not stuck."""
        return self.seconds * _WALL_FACTOR * tasks + _WALL_EXTRA

    def _lost(self, s: _Slot, todo: deque[list[int]], outcome: Outcome) -> list[tuple[int, Outcome]]:
        """The worker of ``s`` died or stalled on its first chunk: a single task gets ``outcome``; a
        chunk of several is retried one task a chunk (which of them did it is not known); the
        chunks queued behind it go back to the front of ``todo`` as they were."""
        _, indices, _ = s.chunks.popleft()
        queued = [c for _, c, _ in s.chunks]
        s.chunks.clear()
        todo.extendleft(reversed(queued))
        if len(indices) == 1:
            return [(indices[0], outcome)]
        todo.extendleft([i] for i in reversed(indices))
        return []

    def _fill(self, s: _Slot, todo: deque[list[int]], tasks: Sequence[tuple[Any, ...]]) -> None:
        """Keep ``_DEPTH`` chunks in the worker's pipe, so it never waits for us between chunks."""
        while todo and len(s.chunks) < _DEPTH:
            if not s.process.is_alive() and not s.chunks:
                self._replace(s)
                s = self._slots[-1]
            indices = todo.popleft()
            self._uid += 1
            s.chunks.append((self._uid, indices, time.monotonic()))
            s.conn.send((self._uid, [tasks[i] for i in indices]))

    def _death(self, s: _Slot) -> Outcome:
        """The worker of ``s`` died mid-task: why, as an Outcome; a fresh worker takes its place."""
        s.process.join(timeout=5)
        code = s.process.exitcode
        self._replace(s)
        if code is not None and code < 0:
            sig = -code
            if sig == getattr(signal, "SIGXCPU", -1):
                return Outcome("time")
            if sig == signal.SIGKILL:  # the kernel's out-of-memory killer, most likely
                return Outcome("memory", detail="killed")
            return Outcome("died", detail=signal.Signals(sig).name if sig in signal.Signals.__members__.values()
                           else f"signal {sig}")
        return Outcome("died", detail=f"exit code {code}")

    def _replace(self, s: _Slot) -> None:
        _kill(s)
        self._slots.remove(s)
        self._spawn()


def _kill(s: _Slot) -> None:
    with contextlib.suppress(Exception):
        s.conn.close()
    p = s.process
    if p.is_alive():
        with contextlib.suppress(ProcessLookupError, OSError):
            os.kill(p.pid, signal.SIGKILL)
    p.join(timeout=10)


def _in_process(fn: Callable[..., Any], args: tuple[Any, ...]) -> Outcome:
    try:
        return Outcome("ok", fn(*args))
    except MemoryError:
        return Outcome("memory")
    except Exception as e:  # noqa: BLE001 - same contract as a worker
        return Outcome("crash", detail=f"{type(e).__name__}: {e}", trace=traceback.format_exc())


def run_bounded(fn: Callable[..., Any], *args: Any, limits: Limits | None = None) -> Outcome:
    """``fn(*args)`` once, in a bounded worker process (see the module docstring)."""
    with Pool(fn, 1, limits) as pool:
        return pool.map([args])[0]


def error_for(path: str, outcome: Outcome, limits: Limits | None = None) -> LoadError:
    """The one-line LoadError for a file whose work did not end well (``outcome`` is not ok)."""
    limits = limits or DEFAULT_LIMITS
    if outcome.status == "time":
        return load_error(path, "too-slow", f"{limits.max_seconds:g} s CPU", seconds=f"{limits.max_seconds:g}")
    if outcome.status == "memory":
        return load_error(path, "too-much-memory", f"{limits.max_memory_bytes // MB} MB",
                          mb=limits.max_memory_bytes // MB)
    return load_error(path, "internal", outcome.detail)
