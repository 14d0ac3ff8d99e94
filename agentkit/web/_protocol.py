"""A run's events as the Vercel AI SDK's UI message stream (protocol v1): pure, no I/O.

`UIStream` turns the `AgentEvent`s of `Agent.astream` into the stream's chunks (the JSON
objects `useChat` reads: `start`, `start-step`, `text-*`, `reasoning-*`, `tool-input-*`,
`tool-approval-request`, `tool-output-*`, `finish-step`, `finish`, `error`, `abort`); `frame`
writes one chunk as an SSE `data:` frame, and `DONE` is the frame that ends every stream.

The agent's events carry no block-stop events, so a text or reasoning part ends when the next
block of the reply starts or the reply ends (`TurnFinished`); a tool call's input is complete
at `TurnFinished`, taken from the reply itself, so `tool-input-available` carries exactly the
input the tool runs with.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from pydantic_core import to_json

from ..runner import (
    AgentEvent,
    RunFinished,
    RunResult,
    ToolCallFinished,
    ToolCallStarted,
    TurnFinished,
)
from ..streaming import InputJsonEvent, TextEvent, ThinkingEvent
from ..tools import ToolOutcome

__all__ = [
    "DONE",
    "HEADERS",
    "Chunk",
    "UIStream",
    "finish_reason",
    "frame",
    "tool_output",
]

Chunk = dict[str, object]
"""One chunk of the stream: a JSON object with a `type`."""

HEADERS = {
    "content-type": "text/event-stream",
    "cache-control": "no-cache",
    "connection": "keep-alive",
    "x-vercel-ai-ui-message-stream": "v1",
    # Proxies (nginx) would otherwise buffer the stream and deliver it in one piece.
    "x-accel-buffering": "no",
}
"""The response headers of a UI message stream."""

DONE = b"data: [DONE]\n\n"

FinishReason = Literal["stop", "length", "content-filter", "tool-calls", "error", "other"]

_FINISH: dict[str, FinishReason] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "refusal": "content-filter",
    "tool_use": "tool-calls",
}


def frame(chunk: Mapping[str, object]) -> bytes:
    """One chunk as an SSE frame (`data: {json}` and a blank line)."""
    return b"data: " + to_json(chunk) + b"\n\n"


def finish_reason(result: RunResult[object]) -> FinishReason:
    """The `finish` chunk's reason for how a run ended.

    A run waiting for approvals ends on tool calls; a run a tool stopped is `other`; otherwise
    the last reply's stop reason decides (an unknown one is `other`).
    """
    if result.status == "awaiting_approval":
        return "tool-calls"
    if result.status == "stopped" or result.stop_reason is None:
        return "other"
    return _FINISH.get(result.stop_reason, "other")


def tool_output(result: Mapping[str, object]) -> object:
    """What the page shows of a `tool_result` block's content: its text when it is only text
    (a string, or text blocks), else the content blocks as they are."""
    content = result.get("content", "")
    if isinstance(content, list):
        texts = [b.get("text") for b in content if isinstance(b, dict) and b.get("type") == "text"]
        if len(texts) == len(content) and all(isinstance(t, str) for t in texts):
            return "".join(str(t) for t in texts)
    return content


def outcome_chunks(outcome: ToolOutcome) -> list[Chunk]:
    """The chunks of a finished (or deferred) tool call."""
    call_id = outcome.call.id
    match outcome.status:
        case "ok":
            result = outcome.result or {}
            return [
                {
                    "type": "tool-output-available",
                    "toolCallId": call_id,
                    "output": tool_output(result),
                }
            ]
        case "error":
            text = tool_output(outcome.result or {})
            error = text if isinstance(text, str) else to_json(text).decode()
            return [{"type": "tool-output-error", "toolCallId": call_id, "errorText": error}]
        case "denied":
            return [{"type": "tool-output-denied", "toolCallId": call_id}]
        case "deferred":
            chunk: Chunk = {
                "type": "tool-approval-request",
                "approvalId": call_id,
                "toolCallId": call_id,
            }
            if outcome.reason:
                chunk["reason"] = outcome.reason
            return [chunk]


@dataclass
class UIStream:
    """The chunks of one run, event by event.

    Args:
        message_id: The assistant message's id (the `start` chunk's `messageId`); a run that
            continues a message (after approvals) passes that message's id.

    `start()` opens the stream, `feed(event)` gives each event's chunks, and the run ends with
    the chunks of `RunFinished`, or `error(text)` / `abort(reason)`.
    """

    message_id: str
    _turn: int = 0
    _step_open: bool = False
    _replied: bool = False  # the open step's reply is over: only tool outcomes may join it
    _open_part: tuple[str, str] | None = None  # ("text" | "reasoning", id)
    _block: int | None = None
    _tools: dict[int, tuple[str, str]] = field(default_factory=dict)  # index -> (id, name)

    def start(self) -> list[Chunk]:
        """The first chunk."""
        return [{"type": "start", "messageId": self.message_id}]

    def feed(self, event: AgentEvent) -> list[Chunk]:
        """The chunks of one event (often none or one)."""
        out: list[Chunk] = []
        match event:
            case TextEvent():
                if event.text:
                    out += self._part("text", event.index)
                    out.append({"type": "text-delta", "id": self._part_id(), "delta": event.text})
            case ThinkingEvent():
                # Empty deltas carry no thinking (the signature arrives that way).
                if event.thinking:
                    out += self._part("reasoning", event.index)
                    part_id = self._part_id()
                    out.append({"type": "reasoning-delta", "id": part_id, "delta": event.thinking})
            case ToolCallStarted():
                out += self._enter(event.index)
                self._tools[event.index] = (event.id, event.name)
                out.append(
                    {"type": "tool-input-start", "toolCallId": event.id, "toolName": event.name}
                )
            case InputJsonEvent():
                tool = self._tools.get(event.index)
                if tool is not None and event.partial_json:
                    out += self._enter(event.index)
                    delta: Chunk = {
                        "type": "tool-input-delta",
                        "toolCallId": tool[0],
                        "inputTextDelta": event.partial_json,
                    }
                    out.append(delta)
            case TurnFinished():
                out += self._turn_finished(event)
            case ToolCallFinished():
                if not self._step_open:  # a run resumed after approvals starts with its tools
                    out += self._step()
                    self._replied = True
                out += outcome_chunks(event.outcome)
            case RunFinished():
                out += self._close_step()
                out.append({"type": "finish", "finishReason": finish_reason(event.result)})
        return out

    def error(self, text: str) -> list[Chunk]:
        """The chunks that end a failed run: the open parts closed, then `error`."""
        return [*self._close_step(), {"type": "error", "errorText": text}]

    def abort(self, reason: str) -> list[Chunk]:
        """The chunks that end a stopped run: the open parts closed, then `abort`."""
        return [*self._close_step(), {"type": "abort", "reason": reason}]

    # -- the parts of a step ------------------------------------------------------------------

    def _part_id(self) -> str:
        assert self._open_part is not None
        return self._open_part[1]

    def _step(self) -> list[Chunk]:
        """Open a step for a reply's content, closing the step of the reply before it."""
        out: list[Chunk] = []
        if self._step_open and not self._replied:
            return out
        if self._step_open:
            out += self._close_step()
        self._step_open, self._replied = True, False
        self._turn += 1
        out.append({"type": "start-step"})
        return out

    def _close_part(self) -> list[Chunk]:
        if self._open_part is None:
            return []
        kind, part_id = self._open_part
        self._open_part = None
        return [{"type": f"{kind}-end", "id": part_id}]

    def _enter(self, index: int) -> list[Chunk]:
        """Open the step if needed, and close the open part when a new block starts."""
        out = self._step()
        if self._block != index:
            out += self._close_part()
            self._block = index
        return out

    def _part(self, kind: str, index: int) -> list[Chunk]:
        out = self._enter(index)
        if self._open_part is None:
            part_id = f"{kind}-{self._turn}-{index}"
            self._open_part = (kind, part_id)
            out.append({"type": f"{kind}-start", "id": part_id})
        return out

    def _turn_finished(self, event: TurnFinished) -> list[Chunk]:
        out = [*self._step(), *self._close_part()]
        self._replied = True
        started = dict(self._tools.values())
        cut = event.message.stop_reason == "max_tokens"
        for block in event.message.tool_uses:
            name = started.pop(block.id, None)
            if name is None:
                continue  # not a client tool call this stream started
            call: Chunk = {"toolCallId": block.id, "toolName": name, "input": block.input}
            if cut:
                # A call cut off by max_tokens never runs (its input may be incomplete).
                error = "the reply hit max_tokens before this call's input was complete"
                out.append({"type": "tool-input-error", **call, "errorText": error})
            else:
                out.append({"type": "tool-input-available", **call})
        self._tools.clear()
        self._block = None
        if not event.message.tool_uses or cut:
            out += self._close_step()
        return out

    def _close_step(self) -> list[Chunk]:
        out = self._close_part()
        if self._step_open:
            self._step_open = self._replied = False
            out.append({"type": "finish-step"})
        self._block = None
        return out
