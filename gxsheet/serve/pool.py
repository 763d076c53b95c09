"""A bounded pool of worker processes with a timeout per job, fair between units.

Why processes, and why pebble: a reader bounded in memory can still be slow on a crafted file, and a
thread cannot be stopped. ``pebble.ProcessPool`` kills the worker whose job runs past its timeout
and starts a fresh one, so a hostile upload costs one worker for at most ``timeout`` seconds.
Workers come from a ``forkserver`` (a clean single-threaded parent with gxsheet already imported):
forking the server itself, which runs an event loop and threads, is not safe.

Fairness: each unit has at most one job running or queued in the pool at a time (its further uploads
wait their turn in the server), so a town sending many slow files delays only itself; and the number
of jobs waiting is capped, beyond which the server answers "busy" instead of queueing forever.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from collections.abc import Callable, Hashable
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, TypeVar

from pebble import ProcessExpired, ProcessPool

from gxsheet.serve import work

__all__ = ["Busy", "JobFailed", "JobTimeout", "Workers", "default_jobs"]

T = TypeVar("T")


class Busy(Exception):
    """Too many jobs are waiting already: come back in a moment."""


class JobTimeout(Exception):
    """The job ran past its timeout; its worker was stopped."""


class JobFailed(Exception):
    """The worker died (out of memory, a crash in a library) or the job raised."""


def default_jobs() -> int:
    """Worker processes: the CPUs this process may use, at least two (one slow file never stops all)."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:
        n = os.cpu_count() or 1
    return max(2, n)


class Workers:
    """``jobs`` worker processes; ``run`` awaits one job, one at a time per ``key``."""

    def __init__(self, jobs: int | None = None, *, max_waiting: int | None = None) -> None:
        self.jobs = jobs or default_jobs()
        self.max_waiting = max_waiting if max_waiting is not None else 50 * self.jobs  # a waiting job is a stored file and a coroutine
        self._pool: ProcessPool | None = None
        self._locks: dict[Hashable, asyncio.Lock] = {}
        self._waiting = 0

    def start(self) -> None:
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["gxsheet.serve.work"])
        self._pool = ProcessPool(max_workers=self.jobs, initializer=work.warm, context=ctx)

    def stop(self) -> None:
        if self._pool is not None:
            self._pool.stop()
            self._pool.join(timeout=10)
            self._pool = None

    @property
    def waiting(self) -> int:
        return self._waiting

    def check_capacity(self) -> None:
        """Raise Busy when no more work should be accepted now (asked before an upload is received)."""
        if self._waiting >= self.max_waiting:
            raise Busy()

    async def run(self, fn: Callable[..., T], *args: Any, timeout: float, key: Hashable | None = None,
                  **kwargs: Any) -> T:
        """Run ``fn(*args, **kwargs)`` in a worker; JobTimeout past ``timeout`` seconds, JobFailed if it died or raised."""
        if self._pool is None:
            raise RuntimeError("Workers.start() was not called")
        self._waiting += 1  # admission (check_capacity) is the caller's: a stored upload is always checked
        try:
            lock = self._locks.setdefault(key, asyncio.Lock()) if key is not None else None
            if lock is not None:
                async with lock:
                    return await self._submit(fn, args, kwargs, timeout)
            return await self._submit(fn, args, kwargs, timeout)
        finally:
            self._waiting -= 1

    async def _submit(self, fn: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any], timeout: float) -> T:
        assert self._pool is not None
        future = self._pool.schedule(fn, args=args, kwargs=kwargs, timeout=timeout)
        try:
            return await asyncio.wrap_future(future)
        except FutureTimeout:
            raise JobTimeout() from None
        except ProcessExpired as e:
            raise JobFailed(f"worker exited ({e.exitcode})") from None
        except Exception as e:  # noqa: BLE001 - any failure inside the job is the job's failure
            raise JobFailed(f"{type(e).__name__}: {e}") from None
