"""Run the tool loops of many conversations through the Message Batches API, one batch per round.

Every conversation is driven by the same `agent_loop` generator as `Agent.run`, so the stop
table, limits, tool-result order and structured output behave identically; only the `CallModel`
effect is performed differently. A round advances every loop until it asks for the model (or
ends), submits one batch holding the next request of every unfinished conversation, waits for it,
sends each reply into its loop and performs the loop's other effects (tools of all conversations
concurrently, commits, journal) until the next `CallModel`.

State lives in the conversation store. The run's *manifest* is a message-less conversation with
id `agentkit-batch-run-<run_id>` whose metadata records the in-flight batch (its id and which
custom id belongs to which conversation at which length), each conversation's final status,
retry counts and the usage so far. It is written before a batch is created and again as soon as
the API has answered, so a restarted process waits for the batch in flight instead of
resubmitting, and a reply already committed is never asked for again (a conversation whose
length moved past a request's is simply skipped when that request's result is read).
"""

from __future__ import annotations

import hashlib
import inspect
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any, Literal

import anyio
import anyio.from_thread
import anyio.to_thread

from ._batch_models import BatchCanceledResult, BatchErroredResult, BatchResult, MessageBatch
from ._context import RunContext
from ._conversation import Conversation
from ._events import RunResult
from ._exceptions import APIError, APIStatusError, ConfigurationError
from ._execute import ToolCall, ToolOutcome, ToolRuntime
from ._loop import (
    CallHook,
    CallModel,
    Commit,
    Emit,
    LoadJournal,
    Loop,
    RunTools,
    agent_loop,
    next_action,
)
from ._messages import body_spec
from ._models import Message
from ._usage import RunUsage

if TYPE_CHECKING:
    from ._agent import Agent
    from .stores import AsyncConversationStore, ConversationInfo, ConversationStore

__all__ = [
    "MANIFEST_PREFIX",
    "BatchJob",
    "BatchOutcome",
    "BatchProgress",
    "BatchRunInfo",
    "BatchRunResult",
    "BatchRunner",
    "batch_runs",
    "custom_id",
]

MANIFEST_PREFIX = "agentkit-batch-run-"
"""The id of a run's manifest conversation is this prefix plus the run id."""

_KEY = "agentkit_batch_run"
_SAFE = re.compile(r"^[a-zA-Z0-9_-]{1,44}$")
_FINISHED = frozenset({"complete", "stopped", "awaiting_approval"})
_FAILED = frozenset({"failed", "canceled"})
# A batch created this long before the manifest says it was submitted may still be ours
# (clock skew between this machine and the API).
_SKEW = 300.0

Status = Literal["running", "complete", "stopped", "awaiting_approval", "failed", "canceled"]
Phase = Literal["submitted", "waiting", "processing", "done"]


@dataclass(frozen=True)
class BatchJob:
    """One conversation of a batch run.

    Attributes:
        prompt: The first user message: text or content blocks.
        conversation_id: The conversation's id; `<run_id>-<index>` when None. A job whose
            conversation is already stored is resumed as stored, never prompted again.
        deps: Handed to its tools through `RunContext.deps`.
        metadata: Metadata of the new conversation.
    """

    prompt: str | Sequence[Mapping[str, Any]]
    conversation_id: str | None = None
    deps: Any = None
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class BatchProgress:
    """Where a batch run stands; handed to `on_progress` after each step of a round.

    Attributes:
        round: Batches submitted so far by this run (resumed runs keep counting).
        phase: `submitted`, `waiting` (a poll of the batch), `processing` (replies applied,
            tools ran) or `done`.
        running: Conversations not finished yet.
        finished: Conversations that ended (complete, stopped, awaiting approval).
        failed: Conversations that failed or whose request was canceled.
        usage: Tokens and cost so far, batch replies at the batch discount (half price).
        batch: The round's batch as last seen, while one is in flight.
    """

    round: int
    phase: Phase
    running: int
    finished: int
    failed: int
    usage: RunUsage
    batch: MessageBatch | None = None

    @property
    def cost_usd(self) -> float:
        """The cost so far in USD."""
        return self.usage.cost_usd


@dataclass(frozen=True)
class BatchOutcome:
    """How one conversation of the run ended.

    Attributes:
        conversation_id: The conversation.
        status: `complete`, `stopped`, `awaiting_approval`, `failed` or `canceled`.
        result: The loop's result, when the conversation ended in this process.
        error: Why it failed or was canceled.
    """

    conversation_id: str
    status: Status
    result: RunResult[Any] | None = None
    error: str | None = None


@dataclass(frozen=True)
class BatchRunResult:
    """What `BatchRunner.run` returns.

    Attributes:
        run_id: The run.
        outcomes: Each job's outcome, by conversation id, in job order.
        usage: Totals over every model reply of the run (batch replies at half price).
        rounds: Rounds of the run, over all processes.
        batch_ids: The batches it submitted, oldest first (a round that is too big for one
            batch is split over several).
    """

    run_id: str
    outcomes: dict[str, BatchOutcome]
    usage: RunUsage
    rounds: int
    batch_ids: list[str]


def custom_id(conversation_id: str, length: int, attempt: int = 0) -> str:
    """The batch `custom_id` of a conversation's request at `length` messages.

    Stable across processes (a request is named by what it asks, not when), unique per attempt,
    and within the API's pattern `^[a-zA-Z0-9_-]{1,64}$`: an id that does not fit is hashed.
    """
    key = conversation_id
    if not _SAFE.match(key):
        key = "h" + hashlib.sha256(key.encode()).hexdigest()[:40]
    return f"{key}-{length}" + (f"-r{attempt}" if attempt else "")


# -- the manifest (pure) --------------------------------------------------------------------------


@dataclass
class _Manifest:
    statuses: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    rounds: int = 0
    batch_ids: list[str] = field(default_factory=list)
    usage: RunUsage = field(default_factory=RunUsage)
    # {"submitted_at": float, "parts": [{"batch_id": str | None,
    #                                    "requests": {custom_id: [conversation id, length]}}]}
    in_flight: dict[str, Any] | None = None
    attempts: dict[str, list[int]] = field(default_factory=dict)  # conv -> [length, failures]

    def dump(self) -> dict[str, Any]:
        u = self.usage
        return {
            "statuses": self.statuses,
            "errors": self.errors,
            "rounds": self.rounds,
            "batch_ids": self.batch_ids,
            "usage": {
                "requests": u.requests,
                "input_tokens": u.input_tokens,
                "output_tokens": u.output_tokens,
                "cache_creation_input_tokens": u.cache_creation_input_tokens,
                "cache_read_input_tokens": u.cache_read_input_tokens,
                "cost_usd": u.cost_usd,
                "unpriced": sorted(u.unpriced),
            },
            "in_flight": self.in_flight,
            "attempts": self.attempts,
        }

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> _Manifest:
        usage = dict(data.get("usage") or {})
        usage["unpriced"] = frozenset(usage.get("unpriced") or ())
        return cls(
            statuses=dict(data.get("statuses") or {}),
            errors=dict(data.get("errors") or {}),
            rounds=int(data.get("rounds") or 0),
            batch_ids=list(data.get("batch_ids") or []),
            usage=RunUsage(**usage),
            in_flight=data.get("in_flight"),
            attempts=dict(data.get("attempts") or {}),
        )


@dataclass(frozen=True)
class BatchRunInfo:
    """A batch run as recorded in a store (what `agentkit batch status` prints).

    Attributes:
        run_id: The run.
        counts: Conversations by status (`running` included).
        rounds: Rounds run (each one batch, or several when a round is too big for one).
        in_flight: The ids of the batches in flight.
        usage: Totals so far (batch replies at half price).
        updated_at: When the manifest was last written (Unix seconds).
        errors: Why each failed or canceled conversation ended, by conversation id.
    """

    run_id: str
    counts: dict[str, int]
    rounds: int
    in_flight: list[str]
    usage: RunUsage
    updated_at: float
    errors: dict[str, str] = field(default_factory=dict)


def batch_runs(infos: Iterable[ConversationInfo]) -> list[BatchRunInfo]:
    """The batch runs among a store's conversations (`store.list()`), most recent first."""
    runs = []
    for info in infos:
        data = info.metadata.get(_KEY)
        if not info.id.startswith(MANIFEST_PREFIX) or not isinstance(data, dict):
            continue
        manifest = _Manifest.parse(data)
        counts: dict[str, int] = {}
        for status in manifest.statuses.values():
            counts[status] = counts.get(status, 0) + 1
        flight = manifest.in_flight or {}
        runs.append(
            BatchRunInfo(
                run_id=info.id.removeprefix(MANIFEST_PREFIX),
                counts=counts,
                rounds=manifest.rounds,
                in_flight=[p["batch_id"] for p in flight.get("parts", []) if p.get("batch_id")],
                usage=manifest.usage,
                updated_at=info.updated_at,
                errors=manifest.errors,
            )
        )
    return sorted(runs, key=lambda r: r.updated_at, reverse=True)


def _ended(conversation: Conversation, on_max_tokens: str) -> bool:
    """Whether a stored conversation's loop has nothing left to do (its last reply stopped it).

    Covers a crash after a conversation ended but before the manifest recorded it.
    """
    if not len(conversation):
        return False
    response = conversation.entries[-1].meta.get("response")
    if not isinstance(response, dict):
        return False
    reason = response.get("stop_reason")
    if on_max_tokens == "continue" and reason == "max_tokens":
        return False
    return next_action(reason) == "stop"


# -- the runner -----------------------------------------------------------------------------------


@dataclass(eq=False)
class _Slot:
    """One conversation's loop and where it stands."""

    conversation: Conversation
    deps: Any
    loop: Loop | None
    request: CallModel | None = None
    attempts: int = 0  # failed batch attempts of the current request
    status: Status = "running"
    result: RunResult[Any] | None = None
    error: str | None = None

    def end(self, status: Status, error: str | None = None) -> None:
        self.status, self.error, self.request = status, error, None
        if self.loop is not None:
            self.loop.close()
            self.loop = None


ProgressCallback = Callable[[BatchProgress], object]


class BatchRunner:
    """Runs an agent's tool loop on many conversations through the Message Batches API.

    Args:
        agent: The agent: its model, tools, limits, hooks and output type apply to every job.
        store: Where conversations and the run's manifest live (sync or async); the agent's
            store when None. Use a durable store (SQLite, PostgreSQL) to resume after a crash.
        client: A `Client` or `AsyncClient`; the agent's client when None.
        run_id: Names the run; running the same jobs under the same id resumes it.
        max_retries: Times an errored or expired request is resubmitted in a later round.
        fallback: After the retries, send the request directly (`messages.create`, full
            price) instead of failing the conversation.
        max_concurrency: Conversations running tools (or direct calls) at once; each turn's
            calls run within the agent's own per-turn limit and the tools' timeouts.
        poll_interval: First wait between polls of a batch, in seconds (grows 1.5x per poll).
        max_interval: Longest wait between polls.
        on_progress: Called (sync or async) with a `BatchProgress` after each step.
        max_batch_requests: A round with more requests is split over several batches (the
            API takes at most 100,000 per batch).
        max_batch_bytes: ... or with more bytes of requests (the API takes at most 256 MB).
    """

    def __init__(
        self,
        agent: Agent[Any, Any],
        *,
        store: ConversationStore | AsyncConversationStore | None = None,
        client: Any = None,
        run_id: str = "default",
        max_retries: int = 2,
        fallback: bool = False,
        max_concurrency: int = 64,
        poll_interval: float = 5.0,
        max_interval: float = 60.0,
        on_progress: ProgressCallback | None = None,
        max_batch_requests: int = 100_000,
        max_batch_bytes: int = 250_000_000,
    ) -> None:
        store = store if store is not None else agent.store
        if store is None:
            raise ConfigurationError("a batch run keeps its state in a store: pass store=...")
        self.agent = agent
        self.store = store
        chosen: Any = client if client is not None else agent._client(sync=True) or agent.client
        self.client: Any = chosen  # a `Client` or an `AsyncClient`; `_async_client` says which
        self.run_id = run_id
        self.max_retries = max_retries
        self.fallback = fallback
        self.max_concurrency = max_concurrency
        self.poll_interval = poll_interval
        self.max_interval = max_interval
        self.on_progress = on_progress
        self.max_batch_requests = max_batch_requests
        self.max_batch_bytes = max_batch_bytes
        self._async_client = inspect.iscoroutinefunction(self.client._send)

    def run(self, jobs: Iterable[BatchJob | str]) -> BatchRunResult:
        """Run (or resume) every job to its end; blocks. See `arun`."""
        return anyio.run(self.arun, jobs)

    async def arun(self, jobs: Iterable[BatchJob | str]) -> BatchRunResult:
        """Run (or resume) every job to its end, one batch per round.

        Args:
            jobs: `BatchJob`s, or prompts (text). Pass the same jobs to resume a run.

        Returns:
            Each conversation's outcome and the run's totals.

        Raises:
            APIError: Submitting or polling a batch failed after the client's retries.
        """
        store: Any = self.store
        if not inspect.iscoroutinefunction(store.commit):
            store = _InlineStore(store)
        core = _Core(self, store)
        return await core.run([j if isinstance(j, BatchJob) else BatchJob(j) for j in jobs])


class _InlineStore:
    """A sync store called on the event loop's thread.

    The runner makes several store calls per conversation and round; a worker-thread hop for
    each (what `to_async` does) costs more than a memory or SQLite call itself. A store on a
    remote database is better passed in its async flavour.
    """

    def __init__(self, store: ConversationStore) -> None:
        self.sync = store

    async def load(self, conversation_id: str) -> Conversation:
        return self.sync.load(conversation_id)

    async def create(self, conversation: Conversation) -> None:
        self.sync.create(conversation)

    async def commit(self, conversation: Conversation) -> int:
        return self.sync.commit(conversation)

    async def journal_tool_result(
        self, conversation_id: str, result: Mapping[str, Any], *, version: int
    ) -> None:
        self.sync.journal_tool_result(conversation_id, result, version=version)

    async def journaled_tool_results(self, conversation_id: str) -> dict[str, dict[str, Any]]:
        return self.sync.journaled_tool_results(conversation_id)

    async def set_metadata(self, conversation_id: str, metadata: Mapping[str, Any]) -> None:
        self.sync.set_metadata(conversation_id, metadata)


class _Core:
    """One `arun`: the slots, the manifest and the effects they need."""

    def __init__(self, runner: BatchRunner, store: AsyncConversationStore | _InlineStore) -> None:
        self.r = runner
        self.agent = runner.agent
        self.store = store
        self.manifest = _Manifest()
        self.manifest_id = MANIFEST_PREFIX + runner.run_id
        self.slots: dict[str, _Slot] = {}
        self.limit = anyio.CapacityLimiter(runner.max_concurrency)

    # -- the rounds -------------------------------------------------------------------------------

    async def run(self, jobs: list[BatchJob]) -> BatchRunResult:
        await self._load_manifest()
        await self._open(jobs)
        runtime = self.agent._runtime()
        async with runtime:
            await self._advance_many([(s, None) for s in self.slots.values()], runtime)
            while any(s.request is not None for s in self.slots.values()):
                await self._round(runtime)
        self.manifest.in_flight = None
        await self._save()
        await self._report("done")
        outcomes = {}
        for cid in (j.conversation_id or f"{self.r.run_id}-{i}" for i, j in enumerate(jobs)):
            slot = self.slots.get(cid)
            status: Any = slot.status if slot else self.manifest.statuses[cid]
            error = slot.error if slot else self.manifest.errors.get(cid)
            outcomes[cid] = BatchOutcome(cid, status, slot.result if slot else None, error)
        m = self.manifest
        return BatchRunResult(self.r.run_id, outcomes, m.usage, m.rounds, list(m.batch_ids))

    async def _round(self, runtime: ToolRuntime) -> None:
        flight = self.manifest.in_flight
        if flight is None:
            flight = await self._submit()
        requests: dict[str, list[Any]] = {}
        results: dict[str, BatchResult] = {}
        for part in flight["parts"]:
            if not any(self._awaits(conv, length) for conv, length in part["requests"].values()):
                continue  # every reply in it was applied before a restart
            batch = await self._ended_batch(flight, part)
            if batch is not None:  # else lost: its conversations go in the next round
                requests.update(part["requests"])
                results.update(await self._download(batch))
        replies: list[tuple[_Slot, Any]] = []
        direct: list[_Slot] = []
        for cid, (conv_id, length) in requests.items():
            slot = self.slots.get(conv_id)
            if slot is None or not self._awaits(conv_id, length):
                continue  # not in this run, or its reply was applied before a restart
            entry = results.get(cid)
            message = entry.message if entry is not None else None
            if message is not None:
                self._count(message, discount=0.5)
                replies.append((slot, message))
                continue
            outcome = entry.result if entry is not None else None
            detail = _describe(entry)
            if isinstance(outcome, BatchCanceledResult):
                slot.end("canceled", "the batch was canceled before this request ran")
            elif (
                isinstance(outcome, BatchErroredResult)
                and outcome.error_type == "invalid_request_error"
            ):
                slot.end("failed", detail)  # the same request would fail again
            else:
                slot.attempts += 1
                if slot.attempts <= self.r.max_retries:
                    continue  # resubmitted next round under a new custom id
                if self.r.fallback:
                    direct.append(slot)
                else:
                    slot.end("failed", f"{detail} ({slot.attempts} attempts)")
        self.manifest.in_flight = None
        replies += await self._direct_calls(direct)
        for slot, _ in replies:
            slot.request, slot.attempts = None, 0
        await self._advance_many(replies, runtime)
        await self._report("processing")

    async def _ended_batch(
        self, flight: Mapping[str, Any], part: dict[str, Any]
    ) -> MessageBatch | None:
        """A recorded batch once it has ended; None when it is gone or was never created."""
        if part["batch_id"] is None:
            return await self._adopt(flight, part)  # the process died while creating it
        try:
            return await self._wait(part["batch_id"])
        except APIStatusError as exc:
            if exc.status_code != 404:
                raise
            return None  # deleted before its results were read

    def _awaits(self, conversation_id: str, length: int) -> bool:
        """Whether the conversation waits for the reply to its request at `length` messages."""
        slot = self.slots.get(conversation_id)
        return slot is not None and slot.request is not None and len(slot.conversation) == length

    async def _submit(self) -> dict[str, Any]:
        """Record the round's requests, then create its batches (one unless it is too big)."""
        bodies: dict[str, bytes] = {}
        parts: list[dict[str, list[Any]]] = [{}]
        size = 0
        for slot in self.slots.values():
            if slot.request is None:
                continue
            length = len(slot.conversation)
            cid = custom_id(slot.conversation.id, length, slot.attempts)
            bodies[cid] = slot.request.body
            cost = len(slot.request.body) + len(cid) + 32  # the JSON around each request
            if parts[-1] and (
                len(parts[-1]) >= self.r.max_batch_requests or size + cost > self.r.max_batch_bytes
            ):
                parts.append({})
                size = 0
            parts[-1][cid] = [slot.conversation.id, length]
            size += cost
        flight: dict[str, Any] = {"submitted_at": time.time()}
        flight["parts"] = [{"batch_id": None, "requests": requests} for requests in parts]
        self.manifest.in_flight = flight
        self.manifest.rounds += 1
        await self._save()  # before creating: a crash during `create` can find the batch
        options = {"betas": list(self.agent.betas)} if self.agent.betas else {}
        for part in flight["parts"]:
            params = [{"custom_id": cid, "params": bodies[cid]} for cid in part["requests"]]
            create = self.r.client.messages.batches.create
            batch = await self._call(create, requests=params, **options)
            part["batch_id"] = batch.id
            self.manifest.batch_ids.append(batch.id)
            await self._save()
            await self._report("submitted", batch)
        return flight

    async def _adopt(self, flight: Mapping[str, Any], part: dict[str, Any]) -> MessageBatch | None:
        """The batch a crashed process created but did not record, found by its custom ids."""
        wanted = set(part["requests"])
        since = float(flight["submitted_at"]) - _SKEW
        for candidate in await self._recent_batches(since):
            if candidate.request_counts.total != len(wanted):
                continue
            ended = await self._wait(candidate.id)
            if set(await self._download(ended)) == wanted:
                part["batch_id"] = candidate.id
                self.manifest.batch_ids.append(candidate.id)
                await self._save()
                return ended
        return None

    # -- one conversation's effects ---------------------------------------------------------------

    async def _advance_many(self, items: Sequence[tuple[_Slot, Any]], runtime: ToolRuntime) -> None:
        async with anyio.create_task_group() as tg:
            for slot, value in items:
                if slot.loop is not None:
                    tg.start_soon(self._advance, slot, value, runtime)

    async def _advance(self, slot: _Slot, value: Any, runtime: ToolRuntime) -> None:
        """Perform the loop's effects until it asks for the model, or ends."""
        from ._agent import _call_hooks_async

        loop, conversation = slot.loop, slot.conversation
        assert loop is not None
        try:
            effect = loop.send(value)
            while not isinstance(effect, CallModel):
                value = None
                if isinstance(effect, RunTools):
                    async with self.limit:
                        value = await self._run_tools(slot, effect, runtime)
                elif isinstance(effect, Commit):
                    await self.store.commit(effect.conversation)
                elif isinstance(effect, LoadJournal):
                    value = await self.store.journaled_tool_results(conversation.id)
                elif isinstance(effect, CallHook):
                    value = await _call_hooks_async(self.agent.hooks, effect)
                else:
                    assert isinstance(effect, Emit)  # events have no reader in a batch run
                effect = loop.send(value)
            slot.request = effect
        except StopIteration as stop:
            slot.result = stop.value
            slot.end(stop.value.status)
        except Exception as exc:  # one conversation's failure must not stop the others
            from ._agent import _resolve_async

            slot.end("failed", f"{type(exc).__name__}: {exc}")
            for hook in self.agent.hooks.on_error:
                await _resolve_async(hook(exc, conversation))

    async def _run_tools(
        self, slot: _Slot, effect: RunTools, runtime: ToolRuntime
    ) -> list[ToolOutcome]:
        conversation = slot.conversation
        base = RunContext(
            deps=slot.deps,
            conversation_id=conversation.id,
            run_id=self.r.run_id,
            turn=effect.turn,
            usage=effect.usage,
        )

        def context(call: ToolCall) -> RunContext[Any]:
            ctx = base.for_call(tool_use_id=call.id, tool_name=call.name)
            # Stable across a crash and resume, so a tool can make its side effect idempotent.
            return replace(ctx, idempotency_key=f"{conversation.id}/{call.id}")

        async def journal(outcome: ToolOutcome) -> None:
            if outcome.result is not None:
                await self.store.journal_tool_result(
                    conversation.id, outcome.result, version=conversation.version
                )

        return await runtime.run_calls(
            effect.calls, context_factory=context, approvals=effect.approvals, on_outcome=journal
        )

    async def _direct_calls(self, slots: list[_Slot]) -> list[tuple[_Slot, Any]]:
        replies: list[tuple[_Slot, Any]] = []

        async def call(slot: _Slot) -> None:
            assert slot.request is not None
            headers = {"anthropic-beta": ",".join(self.agent.betas)} if self.agent.betas else None
            spec = body_spec(self.r.client, slot.request.body, stream=False, headers=headers)
            try:
                async with self.limit:
                    message = await self._call(self.r.client._call, spec)
            except APIError as exc:
                slot.end("failed", f"direct call failed: {exc}")
                return
            self._count(message, discount=1.0)
            replies.append((slot, message))

        async with anyio.create_task_group() as tg:
            for slot in slots:
                tg.start_soon(call, slot)
        return replies

    # -- opening and recording --------------------------------------------------------------------

    async def _load_manifest(self) -> None:
        from .stores import ConversationNotFoundError

        try:
            stored = await self.store.load(self.manifest_id)
        except ConversationNotFoundError:
            await self.store.create(Conversation(id=self.manifest_id, metadata={_KEY: {}}))
            return
        self.manifest = _Manifest.parse(stored.metadata.get(_KEY) or {})

    async def _open(self, jobs: list[BatchJob]) -> None:
        from ._agent import _prompt_blocks

        async def open_one(index: int, job: BatchJob) -> None:
            from .stores import ConversationNotFoundError

            cid = job.conversation_id or f"{self.r.run_id}-{index}"
            if self.manifest.statuses.get(cid, "running") != "running":
                return  # ended in an earlier process
            try:
                conversation = await self.store.load(cid)
            except ConversationNotFoundError:
                # Created with its prompt in one write, so a resume never prompts twice.
                prompt = {"role": "user", "content": _prompt_blocks(job.prompt)}
                conversation = Conversation([prompt], id=cid, metadata=job.metadata)
                await self.store.create(conversation)
            slot = _Slot(conversation, job.deps, None)
            if _ended(conversation, self.agent._spec.on_max_tokens):
                slot.status = "complete"
            else:
                slot.loop = agent_loop(self.agent._spec, conversation, None)
                length, failures = self.manifest.attempts.get(cid, [-1, 0])
                slot.attempts = failures if length == len(conversation) else 0
            self.slots[cid] = slot

        ids = [job.conversation_id or f"{self.r.run_id}-{i}" for i, job in enumerate(jobs)]
        if len(set(ids)) != len(ids):
            raise ConfigurationError("two jobs of a batch run name the same conversation")
        async with anyio.create_task_group() as tg:
            for index, job in enumerate(jobs):
                tg.start_soon(self._limited, open_one, index, job)
        self.slots = {k: self.slots[k] for k in sorted(self.slots)}  # a stable request order

    async def _limited(self, func: Callable[..., Awaitable[None]], *args: Any) -> None:
        async with self.limit:
            await func(*args)

    async def _save(self) -> None:
        m = self.manifest
        for cid, slot in self.slots.items():
            m.statuses[cid] = slot.status
            if slot.error is not None:
                m.errors[cid] = slot.error
        m.attempts = {
            cid: [len(s.conversation), s.attempts] for cid, s in self.slots.items() if s.attempts
        }
        await self.store.set_metadata(self.manifest_id, {_KEY: m.dump()})

    def _count(self, message: Message, *, discount: float) -> None:
        response = message.to_dict()
        model = str(response.get("model") or self.agent.model)
        prices = dict(self.agent._spec.prices) if self.agent._spec.prices is not None else None
        m = self.manifest
        m.usage = m.usage.add(response.get("usage") or {}, model, prices=prices, discount=discount)

    async def _report(self, phase: Phase, batch: MessageBatch | None = None) -> None:
        callback = self.r.on_progress
        if callback is None:
            return
        statuses = dict(self.manifest.statuses)
        statuses.update({cid: s.status for cid, s in self.slots.items()})
        values = list(statuses.values())
        progress = BatchProgress(
            round=self.manifest.rounds,
            phase=phase,
            running=values.count("running"),
            finished=sum(1 for v in values if v in _FINISHED),
            failed=sum(1 for v in values if v in _FAILED),
            usage=self.manifest.usage,
            batch=batch,
        )
        result = callback(progress)
        if inspect.isawaitable(result):
            await result

    # -- the client, sync or async ----------------------------------------------------------------

    async def _call(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if self.r._async_client:
            return await func(*args, **kwargs)
        return await anyio.to_thread.run_sync(partial(func, *args, **kwargs))

    async def _wait(self, batch_id: str) -> MessageBatch:
        async def polled(batch: MessageBatch) -> None:
            await self._report("waiting", batch)

        options: dict[str, Any] = {
            "poll_interval": self.r.poll_interval,
            "max_interval": max(self.r.max_interval, self.r.poll_interval),
        }
        if self.r._async_client:
            options["on_progress"] = polled
        else:  # the sync client polls in a worker thread; sleep and report on the event loop
            options["on_progress"] = lambda b: anyio.from_thread.run(polled, b)
            options["sleep"] = lambda s: anyio.from_thread.run(anyio.sleep, s)
        batch: MessageBatch = await self._call(
            self.r.client.messages.batches.wait, batch_id, **options
        )
        return batch

    async def _download(self, batch: MessageBatch) -> dict[str, BatchResult]:
        batches = self.r.client.messages.batches
        if self.r._async_client:
            return {e.custom_id: e async for e in await batches.results(batch)}
        entries = await anyio.to_thread.run_sync(lambda: list(batches.results(batch)))
        return {e.custom_id: e for e in entries}

    async def _recent_batches(self, since: float) -> list[MessageBatch]:
        """Batches created after `since` (Unix seconds), newest first."""

        def recent(batch: MessageBatch) -> bool:
            created = batch.created_at
            return created is None or datetime.fromisoformat(created).timestamp() >= since

        found: list[MessageBatch] = []
        batches = self.r.client.messages.batches
        if self.r._async_client:
            async for batch in batches.list():
                if not recent(batch):
                    break
                found.append(batch)
            return found

        def listing() -> None:
            for batch in batches.list():
                if not recent(batch):
                    break
                found.append(batch)

        await anyio.to_thread.run_sync(listing)
        return found


def _describe(entry: BatchResult | None) -> str:
    if entry is None:
        return "the batch returned no result for the request"
    result = entry.result
    if isinstance(result, BatchErroredResult):
        return f"errored: {result.error_type}: {result.error_message}"
    return f"{result.type}"
