"""What a run hands back: the `RunResult`, and the typed events of a streaming run."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, TypeAlias

from typing_extensions import TypeVar

from ..conversation._cachediff import CacheMiss
from ..conversation._conversation import Conversation
from ..streaming._events import InputJsonEvent, TextEvent, ThinkingEvent
from ..tools._execute import ToolCall, ToolOutcome
from ..types._usage import RunUsage

if TYPE_CHECKING:
    from ..types._message import Message

__all__ = [
    "AgentEvent",
    "CacheMissed",
    "RunFinished",
    "RunResult",
    "RunStatus",
    "ToolCallFinished",
    "ToolCallStarted",
    "TurnFinished",
]

OutputT = TypeVar("OutputT", default=str)

RunStatus = Literal["complete", "awaiting_approval", "stopped"]
"""`complete`: the model finished; `awaiting_approval`: tool calls wait for a human;
`stopped`: a tool asked to stop the run (`StopRun`)."""


@dataclass
class RunResult(Generic[OutputT]):
    """Everything a run did.

    Attributes:
        status: How the run ended (see `RunStatus`).
        message: The last assistant message (None if the run made no model call).
        stop_reason: The last message's stop reason, as the API sent it (also unknown ones).
        new_messages: The messages this run appended, as sent/received JSON.
        usage: Token and cost totals of this run.
        turns: Model calls made.
        conversation: The conversation, with everything appended.
        output: The structured output (with `output_type`), else the final text.
        pending: Tool calls waiting for approval (status `awaiting_approval`).
    """

    status: RunStatus
    message: Message | None
    stop_reason: str | None
    new_messages: list[dict[str, Any]]
    usage: RunUsage
    turns: int
    conversation: Conversation
    output: OutputT | None = None
    pending: list[ToolCall] = field(default_factory=list)

    @property
    def text(self) -> str:
        """The final message's text ("" without one)."""
        return self.message.text if self.message is not None else ""


@dataclass(frozen=True, slots=True)
class ToolCallStarted:
    """The model started a tool call; its input streams in `InputJsonEvent`s of this `index`."""

    type: ClassVar[str] = "tool_call_started"
    id: str
    name: str
    index: int


@dataclass(frozen=True, slots=True)
class ToolCallFinished:
    """A tool call finished (or failed, was denied, or was deferred)."""

    type: ClassVar[str] = "tool_call_finished"
    outcome: ToolOutcome


@dataclass(frozen=True, slots=True)
class TurnFinished:
    """A model call finished; `message.usage` holds its tokens (cache reads/writes included)."""

    type: ClassVar[str] = "turn_finished"
    message: Message
    usage: RunUsage


@dataclass(frozen=True, slots=True)
class RunFinished:
    """The run ended; `result` is what `run()` would have returned."""

    type: ClassVar[str] = "run_finished"
    result: RunResult[Any]


@dataclass(frozen=True, slots=True)
class CacheMissed:
    """A model call read nothing from the prompt cache, and why (`miss.explanation`).

    Emitted after the call's `TurnFinished` when the request asked for caching and the reply's
    `cache_read_input_tokens` is 0, except for a conversation's first write.
    """

    type: ClassVar[str] = "cache_missed"
    miss: CacheMiss
    message: Message


AgentEvent: TypeAlias = (
    TextEvent
    | ThinkingEvent
    | InputJsonEvent
    | ToolCallStarted
    | ToolCallFinished
    | TurnFinished
    | CacheMissed
    | RunFinished
)
"""Every event `Agent.stream()` / `Agent.astream()` yields: the streaming layer's own
`TextEvent`, `ThinkingEvent` and `InputJsonEvent` (the last only for client tool calls; map its
`index` to the call through `ToolCallStarted`), and the runner's events."""
