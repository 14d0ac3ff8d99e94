"""The core every in-process driver of the agent loop shares, written once.

`_loop.agent_loop` decides. `run_flow` opens the conversation, performs the loop's effects that
need no I/O (the transcript's content, output checks, the memory journal) and asks its shell, by
yielding an `Op`, only for I/O: a store or hook call's value (`Pending`), the model call
(`ModelCall`), the tool calls (`ToolCalls`) and handing an event on (`Emit`), the way httpx's
`Auth.auth_flow` serves its sync and async clients. The shells are in `_drivers` (sync and
async) and `agentkit.batches`; the Temporal workflow drives `agent_loop` itself, with
activities as its effects.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Generator, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias

from typing_extensions import assert_never

from .._exceptions import (
    APIError,
    ConfigurationError,
    ConversationBusyError,
    RunError,
    StoreConflictError,
)
from ..client._messages import stream_spec
from ..conversation._conversation import Conversation, new_id
from ..streaming._events import ContentBlockStartEvent, InputJsonEvent, TextEvent, ThinkingEvent
from ..tools._context import RunContext
from ..tools._execute import ToolCall, ToolOutcome, ToolRuntime, ToolScope
from ._events import AgentEvent, RunResult, ToolCallStarted
from ._hooks import (
    Hooks,
    Pending,
    after_model,
    before_model,
    on_error,
)
from ._loop import (
    CallModel,
    CheckOutput,
    CommitUser,
    Effect,
    Emit,
    LoadJournal,
    LoopEnd,
    Open,
    RunSpec,
    RunTools,
    agent_loop,
    journal_entries,
)
from ._transcript import Transcript

if TYPE_CHECKING:
    from ..client import AsyncClient, Client
    from ..client._base import RequestSpec
    from ..observability import Telemetry
    from ..stores import AsyncConversationStore, ConversationStore
    from ..streaming import AsyncStream, Stream
    from ..types._message import Message

__all__ = [
    "Block",
    "Flow",
    "FlowStore",
    "LEASE_TTL",
    "Journal",
    "Lease",
    "ModelCall",
    "Op",
    "Run",
    "RunParts",
    "ToolCalls",
    "agent_event",
    "beta_headers",
    "decoder_kwargs",
    "model_spec",
    "run_flow",
]

# A non-streaming call with more max_tokens than this may outlast the ten-minute idle limit of
# a silent HTTP request (see `_base.check_long_request`), so the runner streams it instead.
_STREAM_ABOVE_MAX_TOKENS = 21_333

# How long a run's lease on its conversation lasts unrefreshed by default (`Agent(lease_ttl=)`):
# the shells refresh it every third of this, so only a run that stopped running (killed on
# another host, a frozen machine) lets it lapse. A killed process on the same host frees it at
# once (`owner_gone`).
LEASE_TTL = 30.0

Block = dict[str, Any]
Journal = dict[str, dict[str, Block]]
"""Tool results of unfinished steps by conversation id, kept in memory when there is no store."""


@dataclass
class Lease:
    """The lease a run holds on its conversation (see `ConversationStore.take_lease`).

    Attributes:
        conversation_id: The conversation.
        owner: This run's owner name.
        ttl: Seconds the lease lasts unrefreshed.
        refreshed: When it was last taken (`time.monotonic()`).
        lost_to: Set when a refresh found another owner holding it: the run must not commit.
    """

    conversation_id: str
    owner: str
    ttl: float
    refreshed: float = field(default_factory=time.monotonic)
    lost_to: str | None = None

    def due(self) -> bool:
        """Whether a third of the lease's time has passed since it was last refreshed."""
        return time.monotonic() - self.refreshed >= self.ttl / 3

    def refreshed_with(self, holder: str | None) -> None:
        """Record a refresh's answer (`take_lease`'s: None, or the owner that holds it now)."""
        if holder is None:
            self.refreshed = time.monotonic()
        else:
            self.lost_to = holder


@dataclass
class RunParts:
    """What a driver needs for one run; `Agent` builds it.

    Attributes:
        spec: The run's settings (approvals included).
        hooks: The agent's hooks.
        store: Where steps are committed (None: the conversation only counts its versions).
        runtime: Runs the tool calls (entered by the driver when a turn first needs it).
        journal: Tool results of unfinished steps by conversation id, when there is no store.
        prompt: The new user message's blocks, or None to continue the conversation.
        conversation: A `Conversation`, a stored conversation's id, or None for a new one.
        deps: Handed to tools through `RunContext.deps`.
        stream: Whether the caller reads the run's events, model deltas too (`stream()`);
            else it keeps only the result (`run()`), and no event but `RunFinished` is made.
        run_id: Names the run in `RunContext`.
        metadata: Handed to tools through `RunContext.metadata`.
        busy_timeout: Seconds to wait for a conversation another run holds (0: fail at once
            with `ConversationBusyError`); None takes no lease (the batch runner owns its
            conversations through its manifest).
        lease_ttl: Seconds the lease lasts unrefreshed.
        sleep: How the shell waits between attempts to take a busy lease.
        lease: The lease the run holds, once it holds one (the shell refreshes and releases it).
        telemetry: Where the run reports (None: the global providers; see `_telemetry`).
        tool_scope: The tool calls' tracing span, set by `_telemetry.observe`.
    """

    spec: RunSpec
    hooks: Hooks
    store: ConversationStore | AsyncConversationStore | None
    runtime: ToolRuntime
    journal: Journal
    prompt: list[Block] | None = None
    conversation: Conversation | str | None = None
    deps: object = None
    stream: bool = False
    run_id: str = field(default_factory=new_id)
    metadata: dict[str, object] = field(default_factory=dict)
    busy_timeout: float | None = None
    lease_ttl: float = LEASE_TTL
    sleep: Callable[[float], object] = time.sleep
    lease: Lease | None = None
    telemetry: Telemetry | None = None
    tool_scope: ToolScope | None = None

    def streams_model(self) -> bool:
        """Whether model calls stream (asked for, or too long for a silent request)."""
        max_tokens = self.spec.params.get("max_tokens", 0)
        long = isinstance(max_tokens, int) and max_tokens > _STREAM_ABOVE_MAX_TOKENS
        return self.stream or long

    def context_factory(self, op: ToolCalls) -> Callable[[ToolCall], RunContext[object]]:
        """The `RunContext` of each call of a `ToolCalls`."""
        conversation_id, turn, usage = op.conversation.id, op.effect.turn, op.effect.usage

        def context(call: ToolCall) -> RunContext[object]:
            # The same call keeps its id across a crash and resume (it is stored with the
            # assistant message), so this key is stable: a tool can make its effect happen once.
            return RunContext(
                deps=self.deps,
                conversation_id=conversation_id,
                run_id=self.run_id,
                tool_use_id=call.id,
                tool_name=call.name,
                turn=turn,
                usage=usage,
                idempotency_key=f"{conversation_id}/{call.id}",
                metadata=self.metadata,
            )

        return context

    def remember(self, conversation_id: str, result: Block) -> None:
        """Keep a tool result of an unfinished step in the memory journal (no store)."""
        self.journal.setdefault(conversation_id, {})[str(result["tool_use_id"])] = result

    async def run_calls(
        self,
        op: ToolCalls,
        journal: Callable[[Block], Awaitable[object]] | None,
        finished: Callable[[ToolOutcome], object],
    ) -> list[ToolOutcome]:
        """Run a `ToolCalls`'s calls; as each one ends, journal its result and hand it on.

        Args:
            op: The calls.
            journal: Writes a result to the store (None: kept in `journal` in memory).
            finished: Takes each outcome as its call ends.
        """
        conversation = op.conversation

        async def on_outcome(outcome: ToolOutcome) -> None:
            for block in journal_entries(outcome):
                if journal is None:
                    self.remember(conversation.id, block)
                else:
                    await journal(block)
            finished(outcome)

        return await self.runtime.run_calls(
            op.effect.calls,
            context_factory=self.context_factory(op),
            approvals=op.effect.approvals,
            on_outcome=on_outcome,
            scope=self.tool_scope,
        )


# -- the core -------------------------------------------------------------------------------------


class FlowStore(Protocol):
    """The store calls of the core: a sync store's values, or an async store's awaitables."""

    def load(self, conversation_id: str, /) -> Conversation | Awaitable[Conversation]: ...

    def create(self, conversation: Conversation, /) -> Awaitable[None] | None: ...

    def commit(self, conversation: Conversation, /) -> int | Awaitable[int]: ...

    def journaled_tool_results(
        self, conversation_id: str, /
    ) -> dict[str, dict[str, object]] | Awaitable[dict[str, dict[str, object]]]: ...

    def take_lease(
        self, conversation_id: str, owner: str, /, *, ttl: float
    ) -> str | Awaitable[str | None] | None: ...


@dataclass(frozen=True, slots=True)
class ModelCall(Effect["Message"]):
    """Call the model with these request fields (the hooks have run) and answer with its message.

    The shell streams it or not (`body(stream=...)` is the request body either way).
    """

    params: dict[str, Any]
    transcript: Transcript

    def body(self, *, stream: bool) -> bytes:
        """The request body."""
        return self.transcript.body(self.params, stream=stream)


@dataclass(frozen=True, slots=True)
class ToolCalls(Effect[list[ToolOutcome]]):
    """Run a `RunTools`'s calls (journaling each result) and answer with their outcomes."""

    effect: RunTools
    conversation: Conversation


Op: TypeAlias = Pending[object] | ModelCall | ToolCalls | Emit
"""What the core asks its shell for; a shell `match`es on it and ends with `assert_never`."""

Flow: TypeAlias = Generator[Op, object, RunResult[Any]]


def run_flow(parts: RunParts, store: FlowStore | None) -> Flow:
    """One run, short of its I/O: opens the conversation, drives the loop, returns the result.

    Args:
        parts: The run: its settings, hooks, prompt, conversation and memory journal.
        store: The store as the shell calls it (a sync store in a sync run, else async).

    Returns:
        The run's result (the generator's return value).
    """
    yield from _take_lease(parts, store)
    conv = yield from _open(store, parts.conversation, fresh=parts.lease is not None)
    transcript = Transcript(parts.spec, conv)
    hooks = parts.hooks
    loop = agent_loop(parts.spec, parts.prompt, events=parts.stream)
    try:
        effect = next(loop)
        while True:
            value: object = None
            match effect:
                case Open():
                    value = transcript.opening()
                case LoadJournal():
                    if store is None:
                        journal = dict(parts.journal.get(conv.id, {}))
                    else:
                        journal = yield from Pending(store.journaled_tool_results(conv.id))
                    value = transcript.journaled(journal)
                case CallModel():
                    # The steps that may wait are skipped, not stepped through, when they have
                    # nothing to do: every turn goes through here.
                    params = transcript.params(effect)
                    if hooks.before_model:
                        params = yield from before_model(hooks, params, conv)
                    if parts.lease is not None:
                        yield from _keep_lease(parts, store)
                    message = yield from ModelCall(params, transcript)
                    _refuse_repeated_ids(message)
                    value = transcript.append_reply(message)
                    yield from _commit(parts, store, conv)
                    if hooks.after_model:
                        yield from after_model(hooks, message, conv)
                case RunTools():
                    value = transcript.record((yield from ToolCalls(effect, conv)))
                case CheckOutput():
                    value = transcript.check_output(effect.call, effect.output)
                case CommitUser():
                    transcript.append_user(effect.answer, effect.blocks)
                    if not effect.with_reply:
                        yield from _commit(parts, store, conv)
                case Emit():
                    yield effect
                case _:
                    assert_never(effect)
            effect = loop.send(value)
    except StopIteration as stop:
        end: LoopEnd = stop.value
        return transcript.result(end)
    except GeneratorExit:
        _drop_uncommitted(transcript)
        raise  # the caller stopped iterating: not an error of the run
    except BaseException as exc:
        _drop_uncommitted(transcript)
        if isinstance(exc, RunError) and isinstance(exc.result, LoopEnd):
            # A limit or output error out of the loop carries the run's result, not the loop's.
            exc.result = transcript.result(exc.result)
        yield from on_error(hooks, exc, conv)
        raise
    finally:
        loop.close()


def _drop_uncommitted(transcript: Transcript) -> None:
    """Take back what a failed run appended but never committed (its prompt, with the answers
    to calls left pending), so the same `Conversation` object run again — with this prompt or
    another — starts where the store does: never two user messages in a row."""
    conv = transcript.conversation
    conv.discard_uncommitted(max(conv.version, min(transcript.start, len(conv))))


def _refuse_repeated_ids(message: Message) -> None:
    """Refuse a reply that repeats a tool_use id before it is committed or any tool runs.

    The API refuses every later request whose history holds such a message, so storing it
    would break the conversation for good; unstored, a second run simply asks again.

    Raises:
        APIError: The reply repeats an id.
    """
    if len(message.content) < 2:
        return  # nearly every reply: nothing to repeat
    uses = message.tool_uses
    if len(uses) < 2:
        return
    ids = [b.id for b in uses]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise APIError(
            f"the model's reply repeats tool_use id(s) {', '.join(repeated)}: a history holding "
            "it would be refused by the API, so it was not stored and no tool ran; run again",
            body=message.to_dict(),
        )


def _take_lease(parts: RunParts, store: FlowStore | None) -> Generator[Op, object, None]:
    """Take the conversation's lease before anything is committed or paid for.

    Raises:
        TypeError: `conversation=` is neither a `Conversation`, an id nor None.
        ConversationBusyError: Another run holds it past `busy_timeout`.
    """
    conversation = parts.conversation
    if conversation is not None and not isinstance(conversation, (str, Conversation)):
        raise TypeError(
            "conversation= takes a Conversation, a stored conversation's id (str) or None, "
            f"not {type(conversation).__name__}"
        )
    if store is None or conversation is None or parts.busy_timeout is None:
        return  # a new conversation: no other run knows its id
    cid = conversation if isinstance(conversation, str) else conversation.id
    from ..stores import lease_owner  # loaded already: the run has a store

    owner = lease_owner(parts.run_id)
    start = time.monotonic()
    while True:
        holder = yield from Pending(store.take_lease(cid, owner, ttl=parts.lease_ttl))
        if holder is None:
            parts.lease = Lease(cid, owner, parts.lease_ttl)
            return
        waited = time.monotonic() - start
        if waited >= parts.busy_timeout:
            raise ConversationBusyError(cid, holder, round(waited, 3))
        yield from Pending(parts.sleep(min(0.02, parts.busy_timeout - waited)))


def _keep_lease(parts: RunParts, store: FlowStore | None) -> Generator[Op, object, None]:
    """Refresh the lease when due; refuse to go on when another run took it meanwhile."""
    lease = parts.lease
    if lease is None or store is None:
        return
    if lease.lost_to is None and lease.due():
        refresh = store.take_lease(lease.conversation_id, lease.owner, ttl=lease.ttl)
        lease.refreshed_with((yield from Pending(refresh)))
    if lease.lost_to is not None:
        # The lease lapsed (the store was unreachable for its whole time) and another run took
        # the conversation: committing now could interleave its turns with ours.
        raise ConversationBusyError(lease.conversation_id, lease.lost_to)


def _open(
    store: FlowStore | None, conversation: Conversation | str | None, *, fresh: bool
) -> Generator[Op, object, Conversation]:
    """The run's conversation: loaded, created, or the one given.

    With `fresh` (the run holds the lease) a given `Conversation` must be as new as the stored
    one; the batch runner, which loads its conversations itself, skips that second read.
    """
    if isinstance(conversation, str):
        if store is None:
            raise ConfigurationError("a conversation id needs a store: pass store=...")
        return (yield from Pending(store.load(conversation)))
    conv = conversation if conversation is not None else Conversation()
    if store is None or (not fresh and conv.version):
        return conv
    from ..stores import ConversationNotFoundError  # loaded already: the run has a store

    try:
        stored = yield from Pending(store.load(conv.id))
    except ConversationNotFoundError:
        yield from Pending(store.create(conv))
        return conv
    if len(stored) != conv.version:
        # A stale copy: its run would pay for a reply it could never commit. Refuse it first.
        raise StoreConflictError(conv.id, conv.version, len(stored))
    return conv


def _commit(parts: RunParts, store: FlowStore | None, conversation: Conversation) -> Iterable[Op]:
    """Commit the step: what to step through (nothing without a store: the run keeps the
    conversation, and a generator's frame would be made and stepped every turn for nothing)."""
    if store is not None:
        return _stored(parts, store, conversation)
    conversation.version = len(conversation)
    parts.journal.pop(conversation.id, None)
    return ()


def _stored(
    parts: RunParts, store: FlowStore, conversation: Conversation
) -> Generator[Op, object, None]:
    yield from _keep_lease(parts, store)
    yield from Pending(store.commit(conversation))
    # The step is committed: its journaled results are part of the history now.
    parts.journal.pop(conversation.id, None)


class Run:
    """A `Flow` as its shell steps it: answer each op with its value, or with the error it raised.

    Errors go into the flow, so the core's `on_error` hooks see them (and may ask for I/O first).
    """

    __slots__ = ("_flow", "result")

    def __init__(self, flow: Flow) -> None:
        self._flow = flow
        self.result: RunResult[Any] | None = None

    def step(self, value: object = None, error: BaseException | None = None) -> Op | None:
        """Answer the last op; the next one, or None when the run is over (`result`)."""
        try:
            return self._flow.send(value) if error is None else self._flow.throw(error)
        except StopIteration as stop:
            self.result = stop.value
            return None

    def close(self) -> None:
        """Abandon the run (the loop ends without a result)."""
        self._flow.close()


# -- the model call -------------------------------------------------------------------------------


def model_spec(
    client: Client | AsyncClient, body: bytes, stream: bool, betas: Sequence[str]
) -> RequestSpec[Message | Stream | AsyncStream]:
    """The request of a model call with a ready body."""
    return stream_spec(client, body, headers=beta_headers(betas))


def beta_headers(betas: Sequence[str]) -> dict[str, str | None] | None:
    """The `anthropic-beta` header of a run's model calls (None without betas)."""
    return {"anthropic-beta": ",".join(betas)} if betas else None


def agent_event(raw: object, tool_ids: dict[int, str]) -> AgentEvent | None:
    """The event a run hands on for a stream helper event (None for the ones UIs don't need).

    Text and thinking deltas pass as they are; input deltas only for client tool calls, whose
    `ToolCallStarted` (made from the block's start) tells which call an index is.
    """
    if isinstance(raw, (TextEvent, ThinkingEvent)):
        return raw
    if isinstance(raw, InputJsonEvent):
        return raw if raw.index in tool_ids else None
    if isinstance(raw, ContentBlockStartEvent) and raw.content_block.get("type") == "tool_use":
        call_id, name = raw.content_block["id"], raw.content_block["name"]
        if isinstance(call_id, str) and isinstance(name, str):
            tool_ids[raw.index] = call_id
            return ToolCallStarted(call_id, name, raw.index)
    return None


def decoder_kwargs(client: Client | AsyncClient) -> dict[str, Any]:
    """The stream manager's decoder (a cloud host frames its streams its own way)."""
    return {"decoder_factory": client.event_decoder()}


# -- the sync shell -------------------------------------------------------------------------------
