"""The small values that cross Temporal's history: references, decisions and totals, never content.

Every activity input and result here is a few hundred bytes. Content blocks (prompts aside,
which the caller sends once) stay in the conversation store; the workflow carries the
conversation id, its version and the step counter. These shapes are durable contracts: once a
worker has run them, fields may only be added, with defaults.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

from ..runner._loop import Limits, OutputSpec, RunSpec, Totals
from ..tools._execute import Allow, Deny
from ..types._usage import RunUsage

__all__ = [
    "ActivityOptions",
    "Approval",
    "Block",
    "CommitInput",
    "Content",
    "ModelInput",
    "ModelResult",
    "OpenInput",
    "OpenResult",
    "Progress",
    "ProgressEvent",
    "RunInput",
    "RunOutput",
    "RunPlan",
    "RunState",
    "ToolInput",
    "ToolResult",
    "ToolUse",
    "Usage",
    "decode_blocks",
    "encode_blocks",
]

RunStatus = Literal["complete", "stopped", "ended"]

Block: TypeAlias = dict[str, Any]
"""A content block or a tool input: JSON whose shape the API defines, not this package.

Temporal's default converter decodes a payload by its type hints, and passes the values of an
`Any` hint through as they are (it rejects `object`): content must come back byte for byte.
"""

Content: TypeAlias = str
"""A user message's content blocks as JSON text, as the caller wrote them.

Temporal's default JSON converter sorts the keys of every object it encodes, so blocks sent as
dicts would reach the store and the API as `{"text": ..., "type": "text"}`: text keeps the
caller's key order, byte for byte what an in-process run sends.
"""


def encode_blocks(blocks: Sequence[Mapping[str, object]]) -> Content:
    """Content blocks as `Content` (JSON text, keys in their order)."""
    return json.dumps([dict(b) for b in blocks], ensure_ascii=False, separators=(",", ":"))


def decode_blocks(text: Content) -> list[Block]:
    """`Content` back to content blocks, keys in their order.

    Raises:
        ValueError: The text is not a JSON list of objects.
    """
    blocks = json.loads(text)
    if not isinstance(blocks, list) or not all(isinstance(b, dict) for b in blocks):
        raise ValueError("a message's content must be a JSON list of content blocks")
    return blocks


Detail: TypeAlias = dict[str, str | int | None]
"""The small facts of a progress event (stop reason, tool name and id, status, version)."""


@dataclass(frozen=True)
class ActivityOptions:
    """How Temporal schedules and retries one kind of activity (model calls, or a tool's calls).

    Attributes:
        start_to_close: Seconds one attempt may take.
        heartbeat: Seconds without a heartbeat after which an attempt counts as lost (a dead
            worker is noticed this fast); None to not require heartbeats. Every activity
            heartbeats in the background, every third of this, for its whole life (a slow model,
            tool, hook or `on_event` included), so it only fires for a worker that died or hung
            its event loop; a tool never heartbeats itself.
        max_attempts: Attempts in all; None retries until `start_to_close` budgets run out.
        idempotent: False for a tool whose side effect must not happen twice: it gets a single
            attempt, and a lost attempt becomes an error result the model sees.
        initial_interval: Seconds before the first retry (the server's `retry-after` wins).
        max_interval: Longest wait between retries, in seconds.
    """

    start_to_close: float = 600.0
    heartbeat: float | None = None
    max_attempts: int | None = None
    idempotent: bool = True
    initial_interval: float = 1.0
    max_interval: float = 60.0

    @property
    def attempts(self) -> int:
        """The retry policy's `maximum_attempts` (0 is unlimited)."""
        if not self.idempotent:
            return 1
        return self.max_attempts or 0


@dataclass(frozen=True)
class Usage:
    """`RunUsage` in a shape every payload converter round-trips (a list, not a frozenset)."""

    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0
    cost_usd: float = 0.0
    unpriced: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, usage: RunUsage) -> Usage:
        """Convert from `RunUsage`."""
        return cls(
            usage.requests,
            usage.input_tokens,
            usage.output_tokens,
            usage.cache_creation_input_tokens,
            usage.cache_read_input_tokens,
            usage.cost_usd,
            sorted(usage.unpriced),
        )

    def run_usage(self) -> RunUsage:
        """Convert to `RunUsage`."""
        return RunUsage(
            self.requests,
            self.input_tokens,
            self.output_tokens,
            self.cache_creation_input_tokens,
            self.cache_read_input_tokens,
            self.cost_usd,
            frozenset(self.unpriced),
        )


@dataclass(frozen=True)
class ToolUse:
    """A `tool_use` block by reference: its id and name, and its input only when small."""

    id: str
    name: str
    input: Block | None = None
    inline: bool = False


@dataclass(frozen=True)
class Approval:
    """A human's decision on a deferred tool call."""

    tool_use_id: str
    allow: bool = True
    message: str | None = None

    def decision(self) -> Allow | Deny:
        """The decision as the loop and the tool runtime take it."""
        if self.allow:
            return Allow()
        return Deny(self.message) if self.message is not None else Deny()


@dataclass(frozen=True)
class RunPlan:
    """The agent's settings the workflow decides with, read once by the open activity.

    Recording them in history (rather than reading the agent in workflow code) keeps replays
    deterministic when a worker is redeployed with other settings.
    """

    limits: Limits
    on_max_tokens: Literal["stop", "continue"]
    model: ActivityOptions
    default_tool: ActivityOptions
    tools: dict[str, ActivityOptions]
    sequential: list[str]
    output_tool: str | None = None
    output_retries: int = 0
    output_native: bool = False

    def tool(self, name: str) -> ActivityOptions:
        """The options for one tool's calls."""
        return self.tools.get(name, self.default_tool)

    def spec(self, approvals: Mapping[str, Allow | Deny]) -> RunSpec:
        """The `RunSpec` the workflow's `agent_loop` decides with.

        It holds what the loop reads (limits, structured output, approvals, `on_max_tokens`);
        the request fields stay with the activities, which read them from the agent. The output
        type is validated in the tool activity too, so the loop's `OutputSpec` carries only the
        tool's name and retries (`object` stands in for the type). With native structured
        outputs (`output_native`) the loop reads the final reply's text as JSON; the API holds
        it to the schema, and the type's own checks run where `RunOutput.output` is validated.
        """
        output = None
        if self.output_tool is not None:
            output = OutputSpec(
                object, self.output_tool, self.output_retries, native=self.output_native
            )
        return RunSpec(
            params={},
            limits=self.limits,
            output=output,
            approvals=approvals,
            on_max_tokens=self.on_max_tokens,
        )


@dataclass(frozen=True)
class OpenInput:
    """Open (or create) the run's conversation."""

    agent: str
    conversation_id: str


@dataclass(frozen=True)
class OpenResult:
    """Where the conversation stands when the run starts (the loop's `Opening`, by reference).

    Attributes:
        plan: The agent's settings.
        version: Messages committed.
        stop_reason: The last message's stop reason.
        pending: The calls of the last message, when it is an assistant message.
        container: The latest response's code-execution container.
        journaled: Ids of pending calls whose results are journaled already.
    """

    plan: RunPlan
    version: int
    stop_reason: str | None
    pending: list[ToolUse]
    container: str | None = None
    journaled: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ModelResult:
    """What the loop needs of a response (its `Reply`, by reference): not the blocks.

    Attributes:
        version: Messages committed, the response included.
        stop_reason: As the API sent it.
        tool_uses: The response's `tool_use` calls.
        usage: This call's tokens and cost.
        text: The response's text when its stop reason ends the run (other turns' text stays
            in the store, out of the history).
        container: The response's code-execution container, if any.
    """

    version: int
    stop_reason: str | None
    tool_uses: list[ToolUse]
    usage: Usage
    text: str | None = None
    container: str | None = None


@dataclass(frozen=True)
class ToolInput:
    """Run one tool call of the assistant message committed at `version`."""

    agent: str
    conversation_id: str
    version: int
    call: ToolUse
    turn: int
    usage: Usage
    approval: Approval | None = None
    step: int = 0


@dataclass(frozen=True)
class ToolResult:
    """A tool call's outcome; the `tool_result` block itself is journaled in the store.

    For the output tool (structured output), `is_output` is set and `output` holds the
    validated answer as JSON, or None when the answer did not validate (`status="error"`, with
    the validation errors as `reason`).
    """

    tool_use_id: str
    status: Literal["ok", "error", "denied", "deferred"]
    stop: bool = False
    reason: str | None = None
    # The answer as JSON, of the agent's output type's shape (a payload hint must be `Any`).
    output: Any = None
    is_output: bool = False

    @property
    def is_error(self) -> bool:
        """Whether the model is told the call failed or was refused."""
        return self.status in ("error", "denied")


@dataclass(frozen=True)
class CommitInput:
    """Commit one user message as step `step`: answers to the pending calls, then `blocks`.

    Attributes:
        answer: `"results"` (the journaled results, with `errors` for calls whose activity
            failed), `"cut_off"` (error results for calls max_tokens cut off) or `"none"`.
    """

    agent: str
    conversation_id: str
    version: int
    step: int
    answer: Literal["results", "cut_off", "none"] = "none"
    errors: dict[str, str] = field(default_factory=dict)
    blocks: list[Block] = field(default_factory=list)
    # `blocks` as JSON text (keys in the caller's order); the workflow sends this one.
    blocks_json: Content | None = None

    def content(self) -> list[Block]:
        """The new blocks, keys in their order."""
        return decode_blocks(self.blocks_json) if self.blocks_json is not None else self.blocks


@dataclass(frozen=True)
class ModelInput:
    """Call the model on the stored conversation at `version`, committing as step `step`.

    `before`, when set, is a user message to commit first (the previous turn's tool results):
    folding it into the model call saves an activity round trip per tool step. `container` is
    the loop's: the request names it unless the agent's params name one.
    """

    agent: str
    conversation_id: str
    version: int
    step: int
    before: CommitInput | None = None
    container: str | None = None


@dataclass(frozen=True)
class RunState:
    """Everything a run carries over a continue-as-new (well under 1 KB plus queued prompts).

    The loop's `Totals` (turns, usage, streak, output retries), and where the conversation
    stands (the loop's `Opening`): `in_turn` restarts the loop at once, else the session waits
    for its next message.
    """

    plan: RunPlan
    conversation_id: str
    version: int
    step: int
    turns: int
    usage: Usage
    streak: int
    last_stop_reason: str | None = None
    output_retries: int = 0
    queued: list[list[Block]] = field(default_factory=list)
    ended: bool = False
    in_turn: bool = False
    container: str | None = None
    pending: list[ToolUse] = field(default_factory=list)
    # The queued messages as JSON text (keys in the caller's order); the workflow writes these.
    queued_json: list[Content] = field(default_factory=list)

    @property
    def totals(self) -> Totals:
        """The loop's totals at the continue-as-new."""
        return Totals(self.turns, self.usage.run_usage(), self.streak, self.output_retries)


@dataclass(frozen=True)
class RunInput:
    """The workflow's input.

    Attributes:
        agent: The registered agent's name.
        prompt: Content blocks of the first user message; None to continue the conversation.
            `start_run` sends `prompt_json` instead, which keeps the blocks' key order.
        conversation_id: The conversation to append to (default: the workflow id).
        session: Keep the workflow open after the model stops and wait for more messages
            (`send`) until `end` is signalled.
        continue_as_new_after: Also continue-as-new after this many model calls in one
            workflow run (Temporal's own suggestion is always honoured).
        state: Set by continue-as-new; never by callers.
        prompt_json: The first user message's blocks as JSON text (`encode_blocks`); it
            takes precedence over `prompt`.
    """

    agent: str
    prompt: list[Block] | None = None
    conversation_id: str | None = None
    session: bool = False
    continue_as_new_after: int | None = None
    state: RunState | None = None
    prompt_json: Content | None = None

    def first_message(self) -> list[Block] | None:
        """The first user message's blocks, keys in their order; None to continue."""
        return decode_blocks(self.prompt_json) if self.prompt_json is not None else self.prompt


@dataclass(frozen=True)
class RunOutput:
    """A durable run's result: where the conversation ended, and the totals.

    Attributes:
        status: `"complete"` (the model stopped), `"stopped"` (a tool stopped the run) or
            `"ended"` (a session was ended).
        conversation_id: The conversation in the store.
        version: Messages committed.
        stop_reason: The last response's stop reason.
        turns: Model calls made by the run (over every continue-as-new).
        usage: Token and cost totals.
        text: The text of the last response when the model stopped.
        limit: The limit that failed the run, when it failed on one.
        output: The validated structured output as JSON (agents with `output_type`); validate
            it into your type with `pydantic.TypeAdapter(T).validate_python(output)`.
    """

    status: RunStatus
    conversation_id: str
    version: int
    stop_reason: str | None
    turns: int
    usage: Usage
    text: str | None = None
    limit: str | None = None
    # JSON of the agent's output type's shape (a payload hint must be `Any`).
    output: Any = None


@dataclass(frozen=True)
class ProgressEvent:
    """One thing that happened in a run, numbered from 1 in order.

    Attributes:
        seq: The event's number.
        kind: `"turn"` (a response committed), `"tool"` (a call finished), `"approval"` (a call
            waits for a human), `"message"` (a user message committed), `"finished"` (the run
            returned) or `"failed"` (the run failed; `detail["error"]` says why).
        step: The run's step when it happened.
        detail: Small facts: stop reason, tool name and id, status, version.
    """

    seq: int
    kind: str
    step: int
    detail: Detail


@dataclass(frozen=True)
class Progress:
    """A run's state, as the `progress` query returns it.

    Attributes:
        status: `"starting"`, `"calling_model"`, `"running_tools"`, `"awaiting_approval"`
            (calls in `awaiting` wait for `approve`), `"awaiting_message"` (a session waits for
            `send` or `end`), `"done"` or `"failed"`.
        conversation_id: The conversation in the store.
        version: Messages committed.
        step: The run's step counter.
        turns: Model calls made.
        usage: Token and cost totals.
        awaiting: The calls waiting for a human.
        events: The last 200 events.
    """

    status: str
    conversation_id: str
    version: int
    step: int
    turns: int
    usage: Usage
    awaiting: list[ToolUse]
    events: list[ProgressEvent]
