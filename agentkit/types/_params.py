"""Typed shapes of request parameters: plain dicts, checked by the type checker only."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Literal, TypedDict

import httpx
from typing_extensions import NotRequired, Required

__all__ = [
    "Base64ImageSourceParam",
    "CacheControlParam",
    "ContentBlockParam",
    "CountTokensParams",
    "DocumentBlockParam",
    "ImageBlockParam",
    "JSONOutputFormatParam",
    "MessageCreateParams",
    "MessageParam",
    "MessageParseParams",
    "MetadataParam",
    "OutputConfigParam",
    "RequestOptions",
    "Role",
    "TextBlockParam",
    "ThinkingBlockParam",
    "ThinkingConfigParam",
    "TimeoutTypes",
    "ToolChoiceParam",
    "ToolParam",
    "ToolResultBlockParam",
    "ToolUseBlockParam",
    "URLImageSourceParam",
]

Role = Literal["user", "assistant"]
TimeoutTypes = float | httpx.Timeout | None


class CacheControlParam(TypedDict, total=False):
    """`{"type": "ephemeral", "ttl": "5m" | "1h"}`."""

    type: Required[Literal["ephemeral"]]
    ttl: Literal["5m", "1h"]


class TextBlockParam(TypedDict, total=False):
    """`{"type": "text", "text": ...}`."""

    type: Required[Literal["text"]]
    text: Required[str]
    cache_control: CacheControlParam | None
    citations: Sequence[Mapping[str, object]] | None


class Base64ImageSourceParam(TypedDict):
    """An image's bytes, base64-encoded."""

    type: Literal["base64"]
    media_type: Literal["image/jpeg", "image/png", "image/gif", "image/webp"]
    data: str


class URLImageSourceParam(TypedDict):
    """An image the API fetches."""

    type: Literal["url"]
    url: str


class ImageBlockParam(TypedDict, total=False):
    """`{"type": "image", "source": ...}` (base64, a URL, or an uploaded file's id)."""

    type: Required[Literal["image"]]
    source: Required[Base64ImageSourceParam | URLImageSourceParam | Mapping[str, object]]
    cache_control: CacheControlParam | None


class DocumentBlockParam(TypedDict, total=False):
    """`{"type": "document", "source": ...}`: a PDF, plain text or content blocks."""

    type: Required[Literal["document"]]
    source: Required[Mapping[str, object]]
    title: str | None
    context: str | None
    citations: Mapping[str, object] | None
    cache_control: CacheControlParam | None


class ToolUseBlockParam(TypedDict, total=False):
    """A tool call sent back in an assistant message."""

    type: Required[Literal["tool_use"]]
    id: Required[str]
    name: Required[str]
    input: Required[Mapping[str, object]]
    cache_control: CacheControlParam | None


class ToolResultBlockParam(TypedDict, total=False):
    """The result of a tool call, in a user message."""

    type: Required[Literal["tool_result"]]
    tool_use_id: Required[str]
    content: str | Sequence[TextBlockParam | ImageBlockParam | Mapping[str, object]]
    is_error: bool
    cache_control: CacheControlParam | None


class ThinkingBlockParam(TypedDict):
    """A thinking block sent back unchanged (its `signature` included)."""

    type: Literal["thinking"]
    thinking: str
    signature: str


ContentBlockParam = (
    TextBlockParam
    | ImageBlockParam
    | DocumentBlockParam
    | ToolUseBlockParam
    | ToolResultBlockParam
    | ThinkingBlockParam
    | Mapping[str, object]
)
"""A content block as the API takes it: one of the shapes above, or any block as a mapping
(server tool blocks, `redacted_thinking`, block types newer than this version)."""


class JSONOutputFormatParam(TypedDict):
    """`output_config.format` for structured outputs (`messages.parse` builds it)."""

    type: Literal["json_schema"]
    schema: Mapping[str, object]


class OutputConfigParam(TypedDict, total=False):
    """`output_config`: effort level and structured output format."""

    effort: Literal["low", "medium", "high", "max"]
    format: JSONOutputFormatParam


class MessageParam(TypedDict):
    """One message of the conversation sent to the API."""

    role: Role
    content: str | Sequence[ContentBlockParam]


class ToolParam(TypedDict, total=False):
    """A client tool definition; server tools are other dict shapes with a `type`."""

    name: Required[str]
    description: str
    input_schema: Required[Mapping[str, object]]
    cache_control: CacheControlParam
    strict: bool
    type: str


class ToolChoiceParam(TypedDict, total=False):
    """`{"type": "auto" | "any" | "tool" | "none", "name": ..., "disable_parallel_tool_use": b}`.

    The name is required with type "tool".
    """

    type: Required[Literal["auto", "any", "tool", "none"]]
    name: str
    disable_parallel_tool_use: bool


class ThinkingConfigParam(TypedDict, total=False):
    """`{"type": "enabled", "budget_tokens": N}`, `{"type": "adaptive"}`; or disabled."""

    type: Required[Literal["enabled", "disabled", "adaptive"]]
    budget_tokens: int
    display: str


class MetadataParam(TypedDict, total=False):
    """Request metadata."""

    user_id: str | None


class RequestOptions(TypedDict, total=False):
    """Per-request options accepted by every API method.

    Attributes:
        betas: Beta names, joined into the `anthropic-beta` header.
        extra_headers: Headers added to (or, with None, removed from) this request.
        extra_query: Query parameters added to this request.
        extra_body: JSON fields merged into this request's body.
        timeout: Overrides the client's timeout for this request.
        max_retries: Overrides the client's retry count for this request.
    """

    betas: Iterable[str]
    extra_headers: Mapping[str, str | None]
    extra_query: Mapping[str, object]
    extra_body: Mapping[str, object]
    timeout: TimeoutTypes
    max_retries: int


class CountTokensParams(RequestOptions, total=False):
    """Parameters of `messages.count_tokens`."""

    model: Required[str]
    messages: Required[Iterable[MessageParam]]
    system: str | Iterable[ContentBlockParam]
    tools: Iterable[ToolParam | Mapping[str, object]]
    tool_choice: ToolChoiceParam
    thinking: ThinkingConfigParam
    cache_control: CacheControlParam
    output_config: OutputConfigParam | Mapping[str, object]
    context_management: Mapping[str, object]
    mcp_servers: Iterable[Mapping[str, object]]


class MessageParseParams(CountTokensParams, total=False):
    """Parameters of `messages.parse`: those of `create` but `output_format`, which `parse`
    takes as a type or a JSON schema of its own."""

    max_tokens: Required[int]
    metadata: MetadataParam
    service_tier: Literal["auto", "standard_only"]
    stop_sequences: Sequence[str]
    temperature: float
    top_k: int
    top_p: float
    container: str | Mapping[str, object] | None
    inference_geo: str
    speed: Literal["standard", "fast"]
    # Server-held history (beta message-threads-2026-08-12): {"type": "create"}, then
    # {"type": "continue", "previous_message_id": ...} with only the new turn's messages.
    thread: Mapping[str, object]


class MessageCreateParams(MessageParseParams, total=False):
    """Parameters of `messages.create` and `messages.stream` (every documented request field)."""

    output_format: NotRequired[Mapping[str, object]]
