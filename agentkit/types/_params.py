"""Typed shapes of request parameters: plain dicts, checked by the type checker only."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Literal, TypedDict

import httpx
from typing_extensions import NotRequired, Required

__all__ = [
    "CacheControlParam",
    "ContentBlockParam",
    "CountTokensParams",
    "MessageCreateParams",
    "MessageParam",
    "MetadataParam",
    "RequestOptions",
    "Role",
    "ThinkingConfigParam",
    "TimeoutTypes",
    "ToolChoiceParam",
    "ToolParam",
]

Role = Literal["user", "assistant"]
TimeoutTypes = float | httpx.Timeout | None

ContentBlockParam = dict[str, object]
"""A content block as the API takes it (`{"type": "text", "text": ...}`, `tool_result` ...)."""


class CacheControlParam(TypedDict, total=False):
    """`{"type": "ephemeral", "ttl": "5m" | "1h"}`."""

    type: Required[Literal["ephemeral"]]
    ttl: Literal["5m", "1h"]


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
    output_config: Mapping[str, object]
    context_management: Mapping[str, object]
    mcp_servers: Iterable[Mapping[str, object]]


class MessageCreateParams(CountTokensParams, total=False):
    """Parameters of `messages.create` and `messages.stream` (every documented request field)."""

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
    output_format: NotRequired[Mapping[str, object]]
