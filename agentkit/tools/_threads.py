"""The worker threads that run the sync tools of async runs, reused from call to call.

`anyio.to_thread.run_sync` checkpoints twice (once itself, once taking its capacity limiter's
token), enters a cancel scope and wakes its worker through a `queue.Queue`: about three times
the work of the hop itself, once per sync tool call. On asyncio, `in_worker` hands the call to
an idle thread with one `SimpleQueue.put` and has the thread wake the event loop once with the
result. Under another event loop (trio) it uses `anyio.to_thread.run_sync`.
"""

from __future__ import annotations

import itertools
import os
import queue
import sys
import threading
from collections.abc import Callable
from contextvars import copy_context
from typing import TYPE_CHECKING, Any, TypeVar

import anyio.to_thread

if TYPE_CHECKING:
    import asyncio

__all__ = ["in_worker"]

T = TypeVar("T")

IDLE_SECONDS = 10.0
"""A worker with no call for this long ends (anyio's worker threads wait as long)."""

# What a worker is handed: the function, the context to run it in, the future its answer
# settles and that future's event loop.
_Job = tuple[Callable[[], Any], Any, "asyncio.Future[Any]", "asyncio.AbstractEventLoop"]


async def in_worker(function: Callable[[], T]) -> T:
    """`function()` in a worker thread, in a copy of this task's context (its contextvars).

    Cancelling the wait abandons the call: a thread cannot be stopped, so it finishes
    unobserved (as with `anyio.to_thread.run_sync(..., abandon_on_cancel=True)`); a call
    cancelled before its thread took it up does not run.
    """
    aio = sys.modules.get("asyncio")  # not imported: no asyncio loop runs
    try:
        loop = aio.get_running_loop() if aio is not None else None
    except RuntimeError:  # another event loop (trio)
        loop = None
    if loop is None:
        return await anyio.to_thread.run_sync(function, abandon_on_cancel=True)
    answer: asyncio.Future[tuple[T, BaseException | None]] = loop.create_future()
    _pool().submit((function, copy_context(), answer, loop))
    value, error = await answer
    if error is not None:
        raise error
    return value


def _settle(answer: asyncio.Future[Any], value: object, error: BaseException | None) -> None:
    if not answer.done():  # else the wait was cancelled: the answer is dropped
        answer.set_result((value, error))


class _Workers:
    """Idle threads, each waiting on a queue of its own; a call goes to the last one idle."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle: list[_Worker] = []
        self._names = itertools.count(1)

    def submit(self, job: _Job) -> None:
        with self._lock:
            worker = self._idle.pop() if self._idle else None
        if worker is None:
            worker = _Worker(self, f"agentkit-tool-async-{next(self._names)}")
            worker.start()
        worker.jobs.put(job)

    def idle(self, worker: _Worker) -> None:
        with self._lock:
            self._idle.append(worker)

    def retire(self, worker: _Worker) -> bool:
        """Take an idle worker out of service; False if a call was handed to it meanwhile."""
        with self._lock:
            if worker in self._idle:
                self._idle.remove(worker)
                return True
            return False


class _Worker(threading.Thread):
    def __init__(self, pool: _Workers, name: str) -> None:
        # A daemon: an idle worker must not hold the interpreter's exit up for `IDLE_SECONDS`.
        super().__init__(name=name, daemon=True)
        self.pool = pool
        self.jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()

    def run(self) -> None:
        while True:
            try:
                function, context, answer, loop = self.jobs.get(timeout=IDLE_SECONDS)
            except queue.Empty:
                if self.pool.retire(self):
                    return
                continue
            value: object = None
            error: BaseException | None = None
            started = not answer.cancelled()  # cancelled while it waited here: not run at all
            if started:
                try:
                    value = context.run(function)
                except BaseException as exc:  # handed to the awaiting task, which raises it
                    error = exc
            # Idle again before the answer wakes the caller, so the caller's next call finds
            # this thread rather than starting another.
            self.pool.idle(self)
            if started:
                try:
                    loop.call_soon_threadsafe(_settle, answer, value, error)
                except RuntimeError:  # the event loop closed while the call ran: nobody waits
                    pass
            del function, context, answer, loop, value, error


_workers: _Workers | None = None
_forks_watched = False


def _pool() -> _Workers:
    global _workers, _forks_watched
    if _workers is None:
        _workers = _Workers()
        if not _forks_watched:
            # A forked child has none of the parent's threads: it starts its own.
            os.register_at_fork(after_in_child=_forget)
            _forks_watched = True
    return _workers


def _forget() -> None:
    global _workers
    _workers = None
