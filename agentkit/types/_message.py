"""Pydantic models of the API's response shapes that keep every field and every block.

Every model allows extra fields, and `to_dict()` dumps only the fields that were present in the
input, so a parsed response dumps back to the JSON that came over the wire, as data: unknown block
types, unknown fields and explicit `null`s included. To tell a field sent as `null` from one that
was absent, look at `model.model_fields_set` (or use `is_set(model, "field")`).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag
from pydantic_core import to_json

from ._private import PrivateValue

__all__ = [
    "APIModel",
    "CompactionBlock",
    "ContentBlock",
    "Message",
    "MessageTokensCount",
    "ModelInfo",
    "RedactedThinkingBlock",
    "ServerToolUseBlock",
    "StopReason",
    "TextBlock",
    "ThinkingBlock",
    "ToolUseBlock",
    "UnknownBlock",
    "Usage",
    "is_set",
]

StopReason = Literal[
    "end_turn",
    "max_tokens",
    "stop_sequence",
    "tool_use",
    "pause_turn",
    "refusal",
    "model_context_window_exceeded",
    "compaction",
]
"""The stop reasons the API documents. `Message.stop_reason` is a plain `str` so that a reason
added later still parses (the runner stops on it and shows it)."""


class APIModel(BaseModel):
    """Base of every response model: extra fields kept, dumps only what was received."""

    # defer_build: the validators are built on first use, not at import (import stays cheap).
    # ignored_types: a `PrivateValue` stays a descriptor (not a pydantic private attribute).
    model_config = ConfigDict(
        extra="allow",
        populate_by_name=True,
        protected_namespaces=(),
        defer_build=True,
        ignored_types=(PrivateValue,),
    )

    def to_dict(self) -> dict[str, object]:
        """The JSON object this model was parsed from (fields absent there stay absent).

        A model built in code (`TextBlock(text="hi")`) also carries its `type`, which every
        wire object has even though it was not passed to the constructor.
        """
        data = self.model_dump(mode="json", exclude_unset=True, by_alias=True)
        if "type" not in data and "type" in type(self).model_fields:
            data = {"type": getattr(self, "type"), **data}  # noqa: B009 - not every model has it
        return data

    def to_json(self, *, indent: int | None = None) -> str:
        """`to_dict()` as JSON text."""
        return to_json(self.to_dict(), indent=indent).decode()


def is_set(model: BaseModel, field: str) -> bool:
    """True when `field` was present in the parsed JSON (even as `null`)."""
    return field in model.model_fields_set or field in (model.model_extra or {})


class TextBlock(APIModel):
    """A text block, with citations when the request enabled them."""

    type: Literal["text"] = "text"
    text: str
    citations: list[dict[str, object]] | None = None


class ThinkingBlock(APIModel):
    """Extended thinking; `signature` must be sent back unchanged."""

    type: Literal["thinking"] = "thinking"
    thinking: str
    signature: str


class RedactedThinkingBlock(APIModel):
    """Thinking the API encrypted; `data` must be sent back unchanged."""

    type: Literal["redacted_thinking"] = "redacted_thinking"
    data: str


class ToolUseBlock(APIModel):
    """A call of a client tool."""

    type: Literal["tool_use"] = "tool_use"
    id: str
    name: str
    input: dict[str, object]


class ServerToolUseBlock(APIModel):
    """A call of a server tool (web search, code execution ...); the API runs it."""

    type: Literal["server_tool_use"] = "server_tool_use"
    id: str
    name: str
    input: dict[str, object]


class CompactionBlock(APIModel):
    """A compaction summary: the API ignores every block before it in later requests."""

    type: Literal["compaction"] = "compaction"
    content: str | None = None


class UnknownBlock(APIModel):
    """Any other block (server tool results, MCP blocks, types added later), kept as received."""

    type: str


_BLOCK_TAGS = frozenset(
    {"text", "thinking", "redacted_thinking", "tool_use", "server_tool_use", "compaction"}
)


def _block_tag(value: object) -> str:
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    return kind if kind in _BLOCK_TAGS else "unknown"


ContentBlock = Annotated[
    Annotated[TextBlock, Tag("text")]
    | Annotated[ThinkingBlock, Tag("thinking")]
    | Annotated[RedactedThinkingBlock, Tag("redacted_thinking")]
    | Annotated[ToolUseBlock, Tag("tool_use")]
    | Annotated[ServerToolUseBlock, Tag("server_tool_use")]
    | Annotated[CompactionBlock, Tag("compaction")]
    | Annotated[UnknownBlock, Tag("unknown")],
    Discriminator(_block_tag),
]
"""A response content block: one of the typed blocks, or `UnknownBlock` for any other type."""


class Usage(APIModel):
    """Token counts. In a stream, `message_delta` carries cumulative totals."""

    input_tokens: int | None = 0
    output_tokens: int = 0
    cache_creation_input_tokens: int | None = None
    cache_read_input_tokens: int | None = None
    service_tier: str | None = None


class Message(APIModel):
    """An assistant message as the API returned it.

    `request_id` holds the `request-id` response header (not part of the body).
    """

    id: str
    type: Literal["message"] = "message"
    role: Literal["assistant"] = "assistant"
    model: str
    content: list[ContentBlock]
    stop_reason: str | None = None
    stop_sequence: str | None = None
    usage: Usage = Field(default_factory=Usage)

    _request_id = PrivateValue[str]()
    _received = PrivateValue[dict[str, object]]()

    @property
    def request_id(self) -> str | None:
        """The `request-id` header of the response this message came in."""
        return self._request_id

    def as_received(self) -> dict[str, object] | None:
        """The decoded JSON body this message was parsed from by a client, else None.

        The same data as `to_dict()` without dumping the model again, but as it arrived: a
        change made to the model later is not in it. The runner appends it to the conversation.
        """
        return self._received

    @property
    def text(self) -> str:
        """The text blocks joined, in order."""
        return "".join(b.text for b in self.content if isinstance(b, TextBlock))

    @property
    def tool_uses(self) -> list[ToolUseBlock]:
        """The client tool calls in this message, in the model's order."""
        return [b for b in self.content if isinstance(b, ToolUseBlock)]


class MessageTokensCount(APIModel):
    """The answer of `count_tokens`."""

    input_tokens: int

    # The `request-id` header of the response (the official SDK's public `_request_id`).
    _request_id = PrivateValue[str]()


class ModelInfo(APIModel):
    """One model in `models.list()` / `models.retrieve()`."""

    id: str
    type: str = "model"
    display_name: str | None = None
    created_at: str | None = None

    # The `request-id` header of the response (the official SDK's public `_request_id`).
    _request_id = PrivateValue[str]()
