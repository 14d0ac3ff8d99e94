"""The runs this process is streaming: each in its own task, its frames kept for its readers.

A run does not belong to the HTTP request that started it: it runs in a task of its own and
writes its frames to a `LiveRun`, and the response only reads them. A client that goes away
(a closed tab, a dropped connection) therefore loses nothing: the run goes on, commits each
step to the store, and a reload reads the history or follows the rest of the stream from the
start (`GET /api/chat/{id}/stream`). Only `stop()` cancels a run. One run per conversation is
the store's lease (across processes); `Runs` also refuses a second local run at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass

from .._exceptions import APIError, ConversationBusyError, RunError
from ..conversation import Conversation
from ..runner import Agent
from ..tools import Approval
from ._protocol import DONE, Chunk, UIStream, frame

__all__ = ["Busy", "LiveRun", "Runs", "Turn"]

logger = logging.getLogger("agentkit.web")


class Busy(Exception):
    """Another run holds the conversation (here or in another process)."""


@dataclass(frozen=True)
class Turn:
    """A turn to run.

    Attributes:
        chat_id: The conversation.
        owner: Who asked (only they may follow or stop it).
        conversation: A new `Conversation`, or a stored one's id.
        prompt: The new user message's text (None: the run continues after approvals).
        approvals: Decisions on the calls waiting for them, by tool_use id.
        message_id: The assistant message the stream writes to.
        base: How many messages the conversation held when the run started.
    """

    chat_id: str
    owner: str
    conversation: Conversation | str
    prompt: str | None
    approvals: Mapping[str, Approval]
    message_id: str
    base: int


class LiveRun:
    """One run's frames, as they are written and for every reader.

    Attributes:
        chat_id: The conversation.
        owner: Who started it (only they may follow or stop it).
        base: How many messages the conversation held when the run started.
        prompt: The run's prompt (None: it continues after approvals).
        frames: Every frame so far.
        done: The last frame (`[DONE]`) is written.
    """

    def __init__(self, turn: Turn) -> None:
        self.turn = turn
        self.chat_id, self.owner = turn.chat_id, turn.owner
        self.base, self.prompt = turn.base, turn.prompt
        self.frames: list[bytes] = []
        self.done = False
        self.task: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()
        self.started: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def write(self, chunks: list[Chunk]) -> None:
        """Add frames and wake the readers."""
        if chunks:
            self.frames += [frame(c) for c in chunks]
            self._wake()

    def end(self) -> None:
        """Write `[DONE]`."""
        self.frames.append(DONE)
        self.done = True
        self._wake()

    def _wake(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def follow(self) -> AsyncIterator[bytes]:
        """Every frame from the first, then each new one, until `[DONE]`."""
        sent = 0
        while True:
            changed = self._changed
            while sent < len(self.frames):
                yield self.frames[sent]
                sent += 1
            if self.done:
                return
            await changed.wait()


def describe_error(exc: BaseException) -> str:
    """What a client is told about a failed run: the kind of failure, never a trace, a key or
    a stored detail (the full error goes to the `agentkit.web` logger)."""
    if isinstance(exc, ConversationBusyError):
        return "another run took this conversation; reload to see it"
    if isinstance(exc, APIError):
        status = getattr(exc, "status_code", None)
        return f"the model API failed{f' (status {status})' if status else ''}; try again"
    if isinstance(exc, RunError):
        return f"the run stopped: {type(exc).__name__}"
    return "the server failed to finish this reply; try again"


class Runs:
    """The runs of this process, by conversation id."""

    def __init__(self) -> None:
        self._live: dict[str, LiveRun] = {}

    def get(self, chat_id: str) -> LiveRun | None:
        """The run streaming this conversation here, if any."""
        return self._live.get(chat_id)

    async def start(self, agent: Agent[object, object], turn: Turn) -> LiveRun:
        """Start a run in its own task; returns once it holds the conversation.

        Raises:
            Busy: A run of this conversation is live here, or another process holds its lease.
        """
        if turn.chat_id in self._live:
            raise Busy(turn.chat_id)
        live = LiveRun(turn)
        self._live[turn.chat_id] = live
        live.task = asyncio.create_task(self._run(live, agent))
        try:
            await asyncio.shield(live.started)
        except Busy:
            self._live.pop(turn.chat_id, None)
            raise
        return live

    def stop(self, chat_id: str) -> bool:
        """Cancel the run of this conversation here; False when there is none."""
        live = self._live.get(chat_id)
        if live is None or live.task is None or live.done:
            return False
        live.task.cancel()
        return True

    async def _run(self, live: LiveRun, agent: Agent[object, object]) -> None:
        turn = live.turn
        ui = UIStream(turn.message_id)
        approvals = turn.approvals or None
        events = agent.astream(turn.prompt, conversation=turn.conversation, approvals=approvals)
        try:
            try:
                async for event in events:
                    if not live.started.done():
                        live.write(ui.start())
                        live.started.set_result(None)
                    live.write(ui.feed(event))
            finally:
                # Closed here, in this task: the run's generator holds task groups.
                await events.aclose()  # type: ignore[attr-defined]
        except asyncio.CancelledError:
            if not live.started.done():
                live.started.set_result(None)
                live.write(ui.start())
            live.write(ui.abort("stopped by the user"))
        except BaseException as exc:
            if not live.started.done():
                if isinstance(exc, ConversationBusyError):
                    live.started.set_exception(Busy(live.chat_id))
                    return
                live.started.set_result(None)
                live.write(ui.start())
            if not isinstance(exc, Exception):
                raise
            logger.exception("chat %s: the run failed", live.chat_id)
            live.write(ui.error(describe_error(exc)))
        finally:
            if live.started.done():
                live.started.exception()  # retrieved: a Busy nobody awaited is no warning
            self._live.pop(live.chat_id, None)
            if not live.done:
                live.end()
