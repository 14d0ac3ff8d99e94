"""The durable state of a batch run: its manifest conversation and the records read from it.

The run's *manifest* is a message-less conversation with id `agentkit-batch-run-<run_id>` whose
metadata records the in-flight batch (its id and which custom id belongs to which conversation at
which length), each conversation's final status, retry counts and the usage so far. The runner
writes it before a batch is created and again as soon as the API has answered, so a restarted
process waits for the batch in flight instead of resubmitting, and a reply already committed is
never asked for again (a conversation whose length moved past a request's is simply skipped when
that request's result is read).
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any, Literal

from pydantic import TypeAdapter
from typing_extensions import TypedDict

from ..conversation._conversation import Conversation
from ..runner._core import Run, RunParts, ToolCalls
from ..runner._events import RunResult
from ..runner._hooks import async_value
from ..runner._loop import next_action
from ..stores import ConversationNotFoundError
from ..tools._execute import ToolScope
from ..types._batch import MessageBatch
from ..types._usage import RunUsage

if TYPE_CHECKING:
    from ..stores import AsyncConversationStore, ConversationInfo, ConversationStore

__all__ = [
    "MANIFEST_PREFIX",
    "BatchOutcome",
    "BatchProgress",
    "BatchRunInfo",
    "BatchRunResult",
    "Flight",
    "FlightPart",
    "Status",
    "batch_runs",
    "custom_id",
]

MANIFEST_PREFIX = "agentkit-batch-run-"
"""The id of a run's manifest conversation is this prefix plus the run id."""

_KEY = "agentkit_batch_run"
_SAFE = re.compile(r"^[a-zA-Z0-9_-]{1,44}$")
_FINISHED = frozenset({"complete", "stopped", "awaiting_approval"})

Status = Literal["running", "complete", "stopped", "awaiting_approval", "failed", "canceled"]
Phase = Literal["submitted", "waiting", "processing", "done"]


@dataclass(frozen=True)
class BatchProgress:
    """Where a batch run stands; handed to `on_progress` after each step of a round.

    Attributes:
        round: Batches submitted so far by this run (resumed runs keep counting).
        phase: `submitted`, `waiting` (a poll of the batch), `processing` (replies applied,
            tools ran) or `done`.
        running: Conversations not finished yet.
        finished: Conversations that ended (complete, stopped, awaiting approval).
        failed: Conversations that failed.
        usage: Tokens and cost so far, batch replies at the batch discount (half price).
        batch: The round's batch as last seen, while one is in flight.
        canceled: Conversations whose request was canceled (the batch was canceled).
    """

    round: int
    phase: Phase
    running: int
    finished: int
    failed: int
    usage: RunUsage
    batch: MessageBatch | None = None
    canceled: int = 0

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
        error: Why it failed or was canceled, as text (None otherwise): the exception's type
            and message, or what the batch reported for the request.
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
        rounds: Rounds of the run, over all processes: every batch submission counts, a round
            that only resubmits errored or expired requests (a retry round) included; a run
            resumed after a crash counts the same rounds as one that never stopped.
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


@dataclass(eq=False)
class _Slot:
    """One conversation's run and where it stands.

    `request` is the body of the model call the run waits for, while it waits for one; `held`
    is the tool calls the run asked for, while they wait for the round's other replies to be
    committed.
    """

    conversation: Conversation
    deps: object
    run: Run | None = None
    request: bytes | None = None
    held: ToolCalls | None = None
    attempts: int = 0  # failed batch attempts of the current request
    status: Status = "running"
    result: RunResult[Any] | None = None
    error: str | None = None
    parts: RunParts | None = None  # the run's parts: its lease, while it holds one
    scope: ToolScope | None = None  # the run's tool-call tracing (`runner._telemetry`)

    def end(self, status: Status, error: str | None = None) -> None:
        self.status, self.error, self.request, self.held = status, error, None, None
        if self.run is not None:
            self.run.close()
            self.run = None


# -- the manifest ---------------------------------------------------------------------------------


class FlightPart(TypedDict):
    """One batch of the round in flight.

    Attributes:
        batch_id: The batch, once created.
        requests: By custom id: the conversation and its length when the request was made.
    """

    batch_id: str | None
    requests: dict[str, tuple[str, int]]


class Flight(TypedDict):
    """The round in flight: when it was submitted (Unix seconds) and its batches."""

    submitted_at: float
    parts: list[FlightPart]


class _ManifestJSON(TypedDict, total=False):
    """The manifest's metadata as stored (JSON; `usage` is `RunUsage`'s fields)."""

    statuses: dict[str, Status]
    errors: dict[str, str]
    rounds: int
    batch_ids: list[str]
    usage: RunUsage
    in_flight: Flight | None
    attempts: dict[str, list[int]]


@cache
def _manifest_json() -> TypeAdapter[_ManifestJSON]:
    return TypeAdapter(_ManifestJSON)


@dataclass
class _Manifest:
    """What the manifest conversation's metadata holds (`dump` and `parse` are its JSON form)."""

    statuses: dict[str, Status] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    rounds: int = 0
    batch_ids: list[str] = field(default_factory=list)
    usage: RunUsage = field(default_factory=RunUsage)
    in_flight: Flight | None = None
    attempts: dict[str, list[int]] = field(default_factory=dict)  # conv -> [length, failures]

    def dump(self) -> dict[str, object]:
        usage = {**asdict(self.usage), "unpriced": sorted(self.usage.unpriced)}
        return {
            "statuses": self.statuses,
            "errors": self.errors,
            "rounds": self.rounds,
            "batch_ids": self.batch_ids,
            "usage": usage,
            "in_flight": self.in_flight,
            "attempts": self.attempts,
        }

    @classmethod
    def parse(cls, data: Mapping[str, object]) -> _Manifest:
        parsed = _manifest_json().validate_python(data)
        return cls(
            statuses=parsed.get("statuses", {}),
            errors=parsed.get("errors", {}),
            rounds=parsed.get("rounds", 0),
            batch_ids=parsed.get("batch_ids", []),
            usage=parsed.get("usage", RunUsage()),
            in_flight=parsed.get("in_flight"),
            attempts=parsed.get("attempts", {}),
        )

    def start_round(
        self,
        requests: Mapping[str, tuple[str, int, int]],
        *,
        max_requests: int,
        max_bytes: int,
        now: float,
    ) -> Flight:
        """Record a round's requests as in flight and count the round.

        Args:
            requests: By custom id: the conversation id, its length and the request's size in bytes.
            max_requests: The most requests in one batch.
            max_bytes: The most bytes of requests in one batch.
            now: When the round is submitted (Unix seconds).

        Returns:
            The in-flight record: its parts are the round's batches, none created yet.
        """
        parts: list[dict[str, tuple[str, int]]] = [{}]
        size = 0
        for cid, (conversation_id, length, body_size) in requests.items():
            cost = body_size + len(cid) + 32  # the JSON around each request
            if parts[-1] and (len(parts[-1]) >= max_requests or size + cost > max_bytes):
                parts.append({})
                size = 0
            parts[-1][cid] = (conversation_id, length)
            size += cost
        flight = Flight(
            submitted_at=now, parts=[FlightPart(batch_id=None, requests=part) for part in parts]
        )
        self.in_flight = flight
        self.rounds += 1
        return flight

    def record(self, slots: Mapping[str, _Slot]) -> None:
        """Take each live conversation's status, error and retry count from its slot."""
        for cid, slot in slots.items():
            self.statuses[cid] = slot.status
            if slot.error is not None:
                self.errors[cid] = slot.error
        self.attempts = {
            cid: [len(s.conversation), s.attempts] for cid, s in slots.items() if s.attempts
        }

    @classmethod
    async def load(
        cls, store: ConversationStore | AsyncConversationStore, manifest_id: str
    ) -> _Manifest:
        """The run's manifest as stored; an empty one is created on the run's first start."""
        try:
            stored = await async_value(store.load(manifest_id))
        except ConversationNotFoundError:
            await async_value(store.create(Conversation(id=manifest_id, metadata={_KEY: {}})))
            return cls()
        data = stored.metadata.get(_KEY)
        return cls.parse(data if isinstance(data, Mapping) else {})

    async def save(
        self, store: ConversationStore | AsyncConversationStore, manifest_id: str
    ) -> None:
        await async_value(store.set_metadata(manifest_id, {_KEY: self.dump()}))

    def progress(
        self, phase: Phase, live: Mapping[str, Status], batch: MessageBatch | None
    ) -> BatchProgress:
        """Where the run stands: the recorded statuses, updated with the live ones."""
        values = list({**self.statuses, **live}.values())
        return BatchProgress(
            round=self.rounds,
            phase=phase,
            running=values.count("running"),
            finished=sum(1 for v in values if v in _FINISHED),
            failed=values.count("failed"),
            usage=self.usage,
            batch=batch,
            canceled=values.count("canceled"),
        )


@dataclass(frozen=True)
class BatchRunInfo:
    """A batch run as recorded in a store (what `agentkit batch status` prints).

    Attributes:
        run_id: The run.
        counts: Conversations by status (`running` included).
        rounds: Rounds run, retry rounds included (each one batch, or several when a round is
            too big for one).
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
        parts = manifest.in_flight["parts"] if manifest.in_flight else []
        runs.append(
            BatchRunInfo(
                run_id=info.id.removeprefix(MANIFEST_PREFIX),
                counts=dict(Counter(manifest.statuses.values())),
                rounds=manifest.rounds,
                in_flight=[p["batch_id"] for p in parts if p["batch_id"]],
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
