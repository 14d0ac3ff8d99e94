"""`AsyncInFlight` and `InFlight`: the bound on a client's requests out at once
(`max_in_flight`), async and sync."""

from __future__ import annotations

import queue
from collections import deque

import anyio

__all__ = ["AsyncInFlight", "InFlight"]


class AsyncInFlight:
    """At most `total` holders at once, served in the order they came.

    Taking a free slot does not wait, not even one turn of the event loop (an
    `anyio.CapacityLimiter` checkpoints twice on every acquire); a request waits only when all
    `total` are out. A slot given back goes straight to the first in line.

    Args:
        total: How many may hold a slot at once (>= 1).
    """

    __slots__ = ("_free", "_waiting")

    def __init__(self, total: int) -> None:
        self._free = total
        self._waiting: deque[anyio.Event] = deque()

    async def __aenter__(self) -> None:
        if self._free:
            self._free -= 1
            return
        turn = anyio.Event()
        self._waiting.append(turn)
        try:
            await turn.wait()
        except BaseException:  # cancelled while waiting
            if turn.is_set():
                self._release()  # handed a slot meanwhile: the next in line gets it
            else:
                self._waiting.remove(turn)
            raise

    async def __aexit__(self, *exc_info: object) -> None:
        self._release()

    def _release(self) -> None:
        if self._waiting:
            self._waiting.popleft().set()
        else:
            self._free += 1


class InFlight:
    """At most `total` threads hold a slot at once (a sync client's bound).

    The slots are tokens in a `queue.SimpleQueue`: taking and giving one back is one call into
    C each, where a `threading.Semaphore` runs its condition's Python code (about ten calls a
    request). A thread waits only when all `total` are out.

    Args:
        total: How many may hold a slot at once (>= 1).
    """

    __slots__ = ("_tokens",)

    def __init__(self, total: int) -> None:
        self._tokens: queue.SimpleQueue[None] = queue.SimpleQueue()
        for _ in range(total):
            self._tokens.put(None)

    def __enter__(self) -> None:
        self._tokens.get()

    def __exit__(self, *exc_info: object) -> None:
        self._tokens.put(None)
