"""Reading many submitted files: each in a bounded worker process, each failure one file's problem.

Every command that reads submissions (validate, merge, export, import) reads them through
:func:`read_files`, so every reader - workbooks, text, Word, web pages, JSON - runs under the time
and memory bounds of :mod:`gxsheet.core.bounded`, and a file that breaks one, or crashes a reader,
becomes that file's one-line LoadError while the rest of the batch goes on.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from gxsheet.core.bounded import Pool, error_for
from gxsheet.core.errors import LoadError
from gxsheet.core.limits import Limits
from gxsheet.core.record import Record

__all__ = ["MAX_CHUNK", "SERIAL_BELOW", "chunk_size", "default_jobs", "iter_files", "read_files", "warm"]

#: below this many files one worker reads them all: a second costs more to start than it saves
#: (benchmarks/merge.py: at 30 files two processes are no faster)
SERIAL_BELOW = 48
#: files a worker reads per message at most (see :func:`chunk_size`)
MAX_CHUNK = 32

#: what a worker does with one file: a reader (path, limits) → Record, or a task that reads the file
#: and does more there (:func:`gxsheet.check.prose.read_and_check_prose`)
Reader = Callable[[str, Limits | None], Any]
Progress = Callable[[str, int, int], None]


def default_jobs() -> int:
    """Worker processes: the CPUs this process may use that are idle now.

    A pool on cores that are already busy only adds pickling and contention (slower than one
    worker), so cores are counted from the 1-minute load average, less this process itself.
    ``--jobs`` overrides.
    """
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:
        cpus = os.cpu_count() or 1
    try:
        busy = max(0.0, os.getloadavg()[0] - 1.0)
    except (AttributeError, OSError):  # Windows has no load average
        busy = 0.0
    return max(1, min(cpus, int(cpus - busy + 0.5)))


def warm() -> None:
    """Import the workbook reader and build the layouts before forking, so every worker inherits
    them instead of importing and building them again for each command (~1 s)."""
    from gxsheet.core.layout import workbook_layout
    from gxsheet.core.spec import editions, load_spec
    from gxsheet.read import registry, workbook  # noqa: F401 - imported for their side effect

    for e in editions():
        workbook_layout(load_spec(e))


def _read_any(path: str, limits: Limits | None = None) -> Record:
    from gxsheet.read.registry import read_any

    return read_any(path, limits=limits)


def _guarded(reader: Reader, path: str, limits: Limits | None) -> Record | LoadError:
    """Worker task: the record, or the reader's own LoadError as a value (it crosses the pipe)."""
    try:
        return reader(path, limits)
    except LoadError as e:
        return e


def chunk_size(n: int, jobs: int) -> int:
    """Files a message to a worker: enough to amortise sending and waking it, few enough that every
    worker gets several (a slow file holds up only its own chunk's neighbours)."""
    return max(1, min(MAX_CHUNK, n // (jobs * 4)))


def iter_files(paths: Sequence[str | Path], *, reader: Reader = _read_any, jobs: int | None = None,
               limits: Limits | None = None,
               while_waiting: Callable[[], object] | None = None) -> Iterator[tuple[int, Record | LoadError]]:
    """``(i, what paths[i] holds)`` as files are read, in bounded worker processes.

    ``jobs`` workers (default: the CPUs, but one below ``SERIAL_BELOW`` files), :func:`chunk_size`
    files a message. A reader that raises anything but LoadError, or breaks a bound, gives that
    file a LoadError ('internal', 'too-slow', 'too-much-memory'); the traceback of a crash is kept
    on it (``trace``) for --debug. ``while_waiting`` runs in this process while the workers read.
    Results come as workers finish (not in order), at most a few chunks a worker ahead of the caller.
    """
    names = [str(p) for p in paths]
    n = len(names)
    jobs = default_jobs() if jobs is None else max(1, jobs)
    if n < SERIAL_BELOW:
        jobs = 1
    else:  # the workers inherit what is loaded here; for a few files one worker loads what they need
        warm()
    with Pool(_guarded, jobs, limits) as pool:
        for i, o in pool.imap([(reader, p, limits) for p in names], chunk=chunk_size(n, jobs),
                              while_waiting=while_waiting):
            if o.ok:
                yield i, o.value
            else:
                e = error_for(names[i], o, limits)
                e.trace = o.trace
                yield i, e


def read_files(paths: Sequence[str | Path], *, reader: Reader = _read_any, jobs: int | None = None,
               limits: Limits | None = None, progress: Progress | None = None,
               while_waiting: Callable[[], object] | None = None) -> list[Record | LoadError]:
    """Every path read (same order) by :func:`iter_files`; ``progress("read", done, total)`` as they come."""
    n = len(paths)
    out: list[Record | LoadError | None] = [None] * n
    if progress:
        progress("read", 0, n)
    for finished, (i, got) in enumerate(iter_files(paths, reader=reader, jobs=jobs, limits=limits,
                                                   while_waiting=while_waiting), 1):
        out[i] = got
        if progress:
            progress("read", finished, n)
    return out  # type: ignore[return-value]
