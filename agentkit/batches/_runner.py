"""Run the tool loops of many conversations through the Message Batches API, one batch per round.

Every conversation is driven by the same core as `Agent.run` (`run_flow` over `agent_loop`), so
the stop table, limits, hooks, tool-result order and structured output behave identically; this
module is one more thin shell of that core, and only the model call is performed differently. A
round advances every conversation until it asks for the model (or ends), submits one batch
holding the next request of every unfinished conversation, waits for it, sends each reply into
its conversation and performs the core's other requests (tools of all conversations
concurrently, store calls, hooks) until the next model call.

State lives in the conversation store: the conversations and the run's manifest
(`_batch_state`), written before a batch is created and again as soon as the API has answered,
so a restarted process resumes where the last one stopped.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import partial
from itertools import takewhile
from typing import TYPE_CHECKING, Any, overload

import anyio
import anyio.from_thread
import anyio.to_thread
from typing_extensions import assert_never

from .._exceptions import APIError, APIStatusError, ConfigurationError
from ..client import AsyncClient, Client
from ..client._messages import message_spec
from ..conversation._conversation import Conversation
from ..runner._core import ModelCall, Run, RunParts, ToolCalls, beta_headers, run_flow
from ..runner._hooks import Pending, async_value, prompt_blocks
from ..runner._loop import Emit, journal_entries
from ..runner._telemetry import observe
from ..stores import AsyncConversationStore, ConversationNotFoundError
from ..tools._context import RunContext
from ..tools._execute import ToolCall, ToolOutcome, ToolRuntime
from ..types._batch import (
    BatchCanceledResult,
    BatchErroredResult,
    BatchRequest,
    BatchResult,
    MessageBatch,
)
from ..types._message import Message
from ..types._params import RequestOptions
from ._state import (
    MANIFEST_PREFIX,
    BatchOutcome,
    BatchProgress,
    BatchRunResult,
    Flight,
    FlightPart,
    Phase,
    _ended,
    _Manifest,
    _Slot,
    custom_id,
)

if TYPE_CHECKING:
    from ..runner._agent import Agent
    from ..stores import ConversationStore

__all__ = ["BatchJob", "BatchRunner"]

# A batch created this long before the manifest says it was submitted may still be ours
# (clock skew between this machine and the API).
_SKEW = 300.0


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

    prompt: str | Sequence[Mapping[str, object]]
    conversation_id: str | None = None
    deps: object = None
    metadata: Mapping[str, object] = field(default_factory=dict)


# -- the runner -----------------------------------------------------------------------------------


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
        client: Client | AsyncClient | None = None,
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
        chosen = client if client is not None else agent.sync_client() or agent.async_client()
        assert chosen is not None  # the agent makes a `Client` when it has no client
        self.client: Client | AsyncClient = chosen
        self.run_id = run_id
        self.max_retries = max_retries
        self.fallback = fallback
        self.max_concurrency = max_concurrency
        self.poll_interval = poll_interval
        self.max_interval = max_interval
        self.on_progress = on_progress
        self.max_batch_requests = max_batch_requests
        self.max_batch_bytes = max_batch_bytes

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
        core = _Core(self)
        return await core.run([j if isinstance(j, BatchJob) else BatchJob(j) for j in jobs])


class _Core:
    """One `arun`: the slots, the manifest and the effects they need."""

    def __init__(self, runner: BatchRunner) -> None:
        self.r = runner
        self.agent = runner.agent
        # A sync store is called on the event loop's thread: the runner makes several store
        # calls per conversation and round, and a worker-thread hop for each (what `to_async`
        # does) costs more than a memory or SQLite call itself. A store on a remote database is
        # better passed in its async flavour.
        self.store = runner.store
        self.manifest = _Manifest()
        self.manifest_id = MANIFEST_PREFIX + runner.run_id
        self.slots: dict[str, _Slot] = {}
        self.limit = anyio.CapacityLimiter(runner.max_concurrency)
        self._fresh: Flight | None = None  # the round this process recorded, not resumed

    # -- the rounds -------------------------------------------------------------------------------

    async def run(self, jobs: list[BatchJob]) -> BatchRunResult:
        self.manifest = await _Manifest.load(self.store, self.manifest_id)
        ids = [job.conversation_id or f"{self.r.run_id}-{i}" for i, job in enumerate(jobs)]
        runtime = self.agent.tool_runtime()
        try:
            await self._open(ids, jobs, runtime)
            async with runtime:
                await self._with_leases_kept(partial(self._rounds, runtime))
        finally:
            with anyio.CancelScope(shield=True):
                for held in self.slots.values():
                    await self._release(held)
        self.manifest.in_flight = None
        await self._save()
        await self._report("done")
        outcomes = {}
        for cid in ids:
            slot = self.slots.get(cid)
            if slot is not None:
                outcomes[cid] = BatchOutcome(cid, slot.status, slot.result, slot.error)
            else:  # ended in an earlier process
                status, error = self.manifest.statuses[cid], self.manifest.errors.get(cid)
                outcomes[cid] = BatchOutcome(cid, status, None, error)
        m = self.manifest
        return BatchRunResult(self.r.run_id, outcomes, m.usage, m.rounds, list(m.batch_ids))

    async def _rounds(self, runtime: ToolRuntime) -> None:
        await self._advance_many([(s, None) for s in self.slots.values()], runtime)
        while any(s.request is not None for s in self.slots.values()):
            await self._round(runtime)

    # -- leases: each conversation is held as `Agent.run` holds it, for the whole batch run ----

    async def _with_leases_kept(self, body: Callable[[], Awaitable[None]]) -> None:
        """Await `body` while a task refreshes the conversations' leases every third of their
        time (a round may wait hours for its batch); a lease another run took meanwhile makes
        that conversation's next commit fail with `ConversationBusyError`."""
        failed: list[BaseException] = []

        async def run_body() -> None:
            try:
                await body()
            except BaseException as exc:  # re-raised as itself, not in an exception group
                failed.append(exc)
            finally:
                keeping.cancel_scope.cancel()

        async with anyio.create_task_group() as keeping:
            keeping.start_soon(self._keep_leases)
            keeping.start_soon(run_body)
        if failed:
            raise failed[0]

    async def _keep_leases(self) -> None:
        ttl = self.agent.lease_ttl
        while True:
            await anyio.sleep(ttl / 3)
            for slot in self.slots.values():
                lease = slot.parts.lease if slot.parts is not None else None
                if lease is not None and lease.lost_to is None and lease.due():
                    take = self.store.take_lease(lease.conversation_id, lease.owner, ttl=ttl)
                    try:
                        lease.refreshed_with(await async_value(take))
                    except Exception:  # as in `Agent.run`: the next refresh tries again, and
                        continue  # the lease lapses only after its whole ttl

    async def _release(self, slot: _Slot) -> None:
        parts, lease = slot.parts, slot.parts.lease if slot.parts is not None else None
        if parts is not None and lease is not None:
            parts.lease = None
            await async_value(self.store.release_lease(lease.conversation_id, lease.owner))

    async def _round(self, runtime: ToolRuntime) -> None:
        flight = self.manifest.in_flight
        if flight is None:
            flight = await self._start_round()
        # Batches the manifest has no id for: a crashed process's `create` may or may not have
        # reached the API. Adopt the one it made, else create it now, in the same round.
        adopted = await self._submit(flight)
        requests: dict[str, tuple[str, int]] = {}
        results: dict[str, BatchResult] = {}
        for part in flight["parts"]:
            if not any(self._awaits(conv, length) for conv, length in part["requests"].values()):
                continue  # every reply in it was applied before a restart
            batch_id = part["batch_id"]
            if batch_id in adopted:  # downloaded while adopting it: not fetched a second time
                requests.update(part["requests"])
                results.update(adopted[batch_id])
                continue
            batch = await self._ended_batch(part)
            if batch is not None:  # else deleted: its conversations go in the next round
                requests.update(part["requests"])
                results.update(await self._download(batch))
        replies: list[tuple[_Slot, Message]] = []
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
        replies += await self._direct_calls(direct)
        for slot, _ in replies:
            slot.request, slot.attempts = None, 0
        # Every reply is committed, and the round recorded as applied, before any tool runs:
        # a crash while tools run never needs the round's results again.
        await self._advance_many(replies, runtime, tools=False)
        self.manifest.in_flight = None
        await self._save()
        held = [(s, None) for s in self.slots.values() if s.held is not None]
        await self._advance_many(held, runtime)
        await self._report("processing")

    async def _ended_batch(self, part: FlightPart) -> MessageBatch | None:
        """A recorded batch once it has ended; None when it is gone (or was never created)."""
        if part["batch_id"] is None:
            return None  # its requests were no longer awaited when the round was resumed
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

    async def _start_round(self) -> Flight:
        """Record the round's requests as in flight, its batches not created yet."""
        requests: dict[str, tuple[str, int, int]] = {}
        for slot in self.slots.values():
            if slot.request is not None:
                length = len(slot.conversation)
                cid = custom_id(slot.conversation.id, length, slot.attempts)
                requests[cid] = (slot.conversation.id, length, len(slot.request))
        flight = self.manifest.start_round(
            requests,
            max_requests=self.r.max_batch_requests,
            max_bytes=self.r.max_batch_bytes,
            now=time.time(),
        )
        await self._save()  # before creating: a crash during `create` can find the batch
        self._fresh = flight
        return flight

    async def _submit(self, flight: Flight) -> dict[str, dict[str, BatchResult]]:
        """Create the round's batches that have no id yet, recording each id as it comes.

        In a resumed round, each such batch is first looked for among the API's recent
        batches (the crashed process may have created it); one that is found is adopted.

        Returns:
            The results of the adopted batches (reading them is how a batch is recognized),
            by batch id.
        """
        fresh, self._fresh = self._fresh is flight, None
        adopted: dict[str, dict[str, BatchResult]] = {}
        for part in flight["parts"]:
            if part["batch_id"] is not None:
                continue
            # The requests of a resumed round are built again from the stored conversations:
            # the same bodies, under the custom ids recorded before the crash.
            params = [
                BatchRequest(custom_id=cid, params=slot.request)
                for cid, (conv, length) in part["requests"].items()
                if self._awaits(conv, length) and (slot := self.slots[conv]).request is not None
            ]
            if not params:
                continue
            if not fresh:
                found = await self._adopt(flight, part)
                if found is not None:
                    batch, adopted[batch.id] = found
                    await self._report("submitted", batch)
                    continue
            batch = await self._create(params)
            part["batch_id"] = batch.id
            self.manifest.batch_ids.append(batch.id)
            await self._save()
            await self._report("submitted", batch)
        return adopted

    async def _adopt(
        self, flight: Flight, part: FlightPart
    ) -> tuple[MessageBatch, dict[str, BatchResult]] | None:
        """The batch a crashed process created but did not record, found by its custom ids.

        Candidates are the batches created since the round was recorded that this run has not
        recorded, holding as many requests; a candidate's results are read only as far as
        their first custom id unless it is one of the part's.
        """
        wanted = set(part["requests"])
        known = set(self.manifest.batch_ids)
        since = flight["submitted_at"] - _SKEW
        for candidate in await self._recent_batches(since):
            if candidate.id in known or candidate.request_counts.total != len(wanted):
                continue
            ended = await self._wait(candidate.id, report=False)
            results = await self._download(ended, wanted)
            if results is not None and set(results) == wanted:
                part["batch_id"] = candidate.id
                self.manifest.batch_ids.append(candidate.id)
                await self._save()
                return ended, results
        return None

    # -- one conversation's effects ---------------------------------------------------------------

    async def _advance_many(
        self,
        items: Sequence[tuple[_Slot, Message | None]],
        runtime: ToolRuntime,
        *,
        tools: bool = True,
    ) -> None:
        async with anyio.create_task_group() as tg:
            for slot, reply in items:
                if slot.run is not None:
                    tg.start_soon(partial(self._advance, slot, reply, runtime, tools=tools))

    async def _advance(
        self, slot: _Slot, reply: Message | None, runtime: ToolRuntime, *, tools: bool = True
    ) -> None:
        """Perform what the core asks for until it asks for the model, or the run ends.

        `reply` answers the model call the conversation waited for (None to start, or to go on
        from a held op). Without `tools`, a tool-calls op is held on the slot, not performed.
        """
        run = slot.run
        assert run is not None
        try:
            op, slot.held = (slot.held, None) if slot.held is not None else (run.step(reply), None)
            while op is not None:
                try:
                    value: object = None
                    match op:
                        case ModelCall():
                            # Wait for the round's batch; `_round` answers with the reply.
                            slot.request = op.body(stream=False)
                            return
                        case Pending():
                            value = await async_value(op.value)
                        case ToolCalls():
                            if not tools:
                                slot.held = op
                                return
                            async with self.limit:
                                value = await self._run_tools(slot, op, runtime)
                        case Emit():
                            pass  # events have no reader in a batch run
                        case _:
                            assert_never(op)
                except Exception as exc:  # into the core: its `on_error` hooks see it
                    op = run.step(error=exc)
                else:
                    op = run.step(value)
        except Exception as exc:  # one conversation's failure must not stop the others
            slot.end("failed", f"{type(exc).__name__}: {exc}")
            await self._release(slot)
            return
        assert run.result is not None
        slot.result = run.result
        slot.end(run.result.status)
        await self._release(slot)

    async def _run_tools(
        self, slot: _Slot, op: ToolCalls, runtime: ToolRuntime
    ) -> list[ToolOutcome]:
        conversation = slot.conversation
        base = RunContext(
            deps=slot.deps,
            conversation_id=conversation.id,
            run_id=self.r.run_id,
            turn=op.effect.turn,
            usage=op.effect.usage,
        )

        def context(call: ToolCall) -> RunContext[object]:
            ctx = base.for_call(tool_use_id=call.id, tool_name=call.name)
            # Stable across a crash and resume, so a tool can make its side effect idempotent.
            return replace(ctx, idempotency_key=f"{conversation.id}/{call.id}")

        async def journal(outcome: ToolOutcome) -> None:
            for block in journal_entries(outcome):
                write = self.store.journal_tool_result(
                    conversation.id, block, version=conversation.version
                )
                await async_value(write)

        effect = op.effect
        return await runtime.run_calls(
            effect.calls,
            context_factory=context,
            approvals=effect.approvals,
            on_outcome=journal,
            scope=slot.scope,
        )

    async def _direct_calls(self, slots: list[_Slot]) -> list[tuple[_Slot, Message]]:
        replies: list[tuple[_Slot, Message]] = []

        async def call(slot: _Slot) -> None:
            assert slot.request is not None
            try:
                async with self.limit:
                    message = await self._message(slot.request)
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

    async def _open(self, ids: list[str], jobs: list[BatchJob], runtime: ToolRuntime) -> None:
        """Load or create each job's conversation (`ids[i]` is `jobs[i]`'s) and start its run."""

        async def open_one(cid: str, job: BatchJob) -> None:
            if self.manifest.statuses.get(cid, "running") != "running":
                return  # ended in an earlier process
            try:
                conversation = await async_value(self.store.load(cid))
            except ConversationNotFoundError:
                # Created with its prompt in one write, so a resume never prompts twice.
                prompt = {"role": "user", "content": prompt_blocks(job.prompt)}
                conversation = Conversation([prompt], id=cid, metadata=job.metadata)
                await async_value(self.store.create(conversation))
            slot = _Slot(conversation, job.deps)
            spec = self.agent.spec
            if _ended(conversation, spec.on_max_tokens):
                slot.status = "complete"
            else:
                parts = RunParts(
                    spec,
                    self.agent.hooks,
                    self.store,
                    runtime,
                    {},
                    None,
                    conversation,
                    job.deps,
                    busy_timeout=self.agent.busy_timeout,
                    lease_ttl=self.agent.lease_ttl,
                    sleep=anyio.sleep,
                )
                parts.telemetry = self.agent.telemetry
                # Runs interleave on one task here, so no model call's span is made current.
                flow = observe(parts, run_flow(parts, self.store), self.r.client, current=False)
                slot.run, slot.parts, slot.scope = Run(flow), parts, parts.tool_scope
                length, failures = self.manifest.attempts.get(cid, [-1, 0])
                slot.attempts = failures if length == len(conversation) else 0
            self.slots[cid] = slot

        if len(set(ids)) != len(ids):
            raise ConfigurationError("two jobs of a batch run name the same conversation")
        async with anyio.create_task_group() as tg:
            for cid, job in zip(ids, jobs, strict=True):
                tg.start_soon(self._limited, open_one, cid, job)
        self.slots = {k: self.slots[k] for k in sorted(self.slots)}  # a stable request order

    async def _limited(
        self, func: Callable[[str, BatchJob], Awaitable[None]], cid: str, job: BatchJob
    ) -> None:
        async with self.limit:
            await func(cid, job)

    async def _save(self) -> None:
        self.manifest.record(self.slots)
        await self.manifest.save(self.store, self.manifest_id)

    def _count(self, message: Message, *, discount: float) -> None:
        response = message.to_dict()
        model = str(response.get("model") or self.agent.model)
        prices = self.agent.spec.price_table
        m = self.manifest
        usage = response.get("usage")
        usage = usage if isinstance(usage, dict) else {}
        m.usage = m.usage.add(usage, model, prices=prices, discount=discount)

    async def _report(self, phase: Phase, batch: MessageBatch | None = None) -> None:
        callback = self.r.on_progress
        if callback is None:
            return
        live = {cid: s.status for cid, s in self.slots.items()}
        result = callback(self.manifest.progress(phase, live, batch))
        if inspect.isawaitable(result):
            await result

    # -- the client, sync or async ---------------------------------------------------------------
    # A sync client's calls run in worker threads; the rounds stay on the event loop.

    async def _create(self, requests: list[BatchRequest]) -> MessageBatch:
        options: RequestOptions = {"betas": list(self.agent.betas)} if self.agent.betas else {}
        client = self.r.client
        if isinstance(client, AsyncClient):
            return await client.messages.batches.create(requests=requests, **options)
        create = partial(client.messages.batches.create, requests=requests, **options)
        return await anyio.to_thread.run_sync(create)

    async def _message(self, body: bytes) -> Message:
        """A request sent directly (`messages.create` at full price), not through a batch."""
        client = self.r.client
        headers = beta_headers(self.agent.betas)
        spec = message_spec(body, headers=headers)
        if isinstance(client, AsyncClient):
            return await client.call(spec)
        return await anyio.to_thread.run_sync(client.call, spec)

    async def _wait(self, batch_id: str, *, report: bool = True) -> MessageBatch:
        async def polled(batch: MessageBatch) -> None:
            if report:
                await self._report("waiting", batch)

        poll, longest = self.r.poll_interval, max(self.r.max_interval, self.r.poll_interval)
        client = self.r.client
        if isinstance(client, AsyncClient):
            return await client.messages.batches.wait(
                batch_id, poll_interval=poll, max_interval=longest, on_progress=polled
            )
        wait = partial(
            client.messages.batches.wait,
            batch_id,
            poll_interval=poll,
            max_interval=longest,
            # The sync client polls in a worker thread; sleep and report on the event loop.
            on_progress=lambda b: anyio.from_thread.run(polled, b),
            sleep=lambda s: anyio.from_thread.run(anyio.sleep, s),
        )
        return await anyio.to_thread.run_sync(wait)

    @overload
    async def _download(self, batch: MessageBatch) -> dict[str, BatchResult]: ...

    @overload
    async def _download(
        self, batch: MessageBatch, wanted: set[str]
    ) -> dict[str, BatchResult] | None: ...

    async def _download(
        self, batch: MessageBatch, wanted: set[str] | None = None
    ) -> dict[str, BatchResult] | None:
        """The batch's results by custom id; with `wanted`, None (and the download stopped)
        as soon as one is not among them."""
        found: dict[str, BatchResult] = {}

        def take(entry: BatchResult) -> bool:
            if wanted is not None and entry.custom_id not in wanted:
                return False
            found[entry.custom_id] = entry
            return True

        client = self.r.client
        if isinstance(client, AsyncClient):
            async with await client.messages.batches.results(batch) as results:
                async for entry in results:
                    if not take(entry):
                        return None
            return found
        batches = client.messages.batches

        def download() -> bool:
            with batches.results(batch) as results:
                return all(take(entry) for entry in results)

        return found if await anyio.to_thread.run_sync(download) else None

    async def _recent_batches(self, since: float) -> list[MessageBatch]:
        """Batches created after `since` (Unix seconds), newest first."""

        def recent(batch: MessageBatch) -> bool:
            created = batch.created_at
            return created is None or datetime.fromisoformat(created).timestamp() >= since

        client = self.r.client
        if isinstance(client, Client):  # stops paging at the first older batch, as below
            batches = client.messages.batches
            return await anyio.to_thread.run_sync(lambda: list(takewhile(recent, batches.list())))
        found: list[MessageBatch] = []
        async for batch in client.messages.batches.list():
            if not recent(batch):
                break
            found.append(batch)
        return found


def _describe(entry: BatchResult | None) -> str:
    if entry is None:
        return "the batch returned no result for the request"
    result = entry.result
    if isinstance(result, BatchErroredResult):
        return f"errored: {result.error_type}: {result.error_message}"
    return f"{result.type}"
