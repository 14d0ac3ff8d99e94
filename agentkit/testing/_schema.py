"""The shape of the API's requests as pydantic models, and the API's wording of their errors.

The Messages API validates request bodies with pydantic and reports the first error as
`<loc>: <msg>`, where the location names the union member a value was read as
(`messages.0.content.0.text.text: Field required`, `tools.0.custom.name: String should match
pattern ...`). Modelling the request the same way (`extra="forbid"`, tagged unions, the documented
types and ranges) makes the fake's messages the API's, word for word, for every shape rule.

Only the shapes live here: rules that need the model table or look inside values (max_tokens per
model, effort levels, image bytes, unique tool names) are in `_rules`; the conversation rules
(pairing, thinking placement, breakpoints) come from `agentkit.conversation`'s preflight.
Fields the documentation lists without a documented shape (`container`, `context_management`,
`mcp_servers`, `thread`, ...) are accepted as any JSON value, so the fake never rejects a request
the API accepts.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    JsonValue,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    Tag,
    TypeAdapter,
    ValidationError,
)

__all__ = [
    "BATCH_CREATE",
    "COUNT_TOKENS",
    "MESSAGES",
    "SERVER_TOOL_TYPES",
    "first_error",
]

# The server and built-in tool types the SDKs know (reference/anthropic-sdk.md §2.7).
SERVER_TOOL_TYPES = frozenset(
    {
        "bash_20241022", "bash_20250124",
        "code_execution_20250522", "code_execution_20250825", "code_execution_20260120",
        "code_execution_20260521",
        "computer_20241022", "computer_20250124", "computer_20251124",
        "text_editor_20241022", "text_editor_20250124", "text_editor_20250429",
        "text_editor_20250728",
        "memory_20250818",
        "web_search_20250305", "web_search_20260209", "web_search_20260318",
        "web_fetch_20250910", "web_fetch_20260209", "web_fetch_20260309", "web_fetch_20260318",
        "tool_search_tool_regex_20251119", "tool_search_tool_bm25_20251119",
        "advisor_20260301", "mcp_toolset",
        "browser_toolset_20260801", "computer_toolset_20260801",
    }
)  # fmt: skip
# A dated version of a known tool family the table above has not caught up with yet.
_NEWER_TOOL = re.compile(
    r"^(bash|code_execution|computer|text_editor|memory|web_search|web_fetch|tool_search_tool_"
    r"(regex|bm25)|advisor|browser_toolset|computer_toolset)_\d{8}$"
)


_M = TypeVar("_M", bound=BaseModel)


class _Shape(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


def _as_blocks(value: object) -> object:
    # `content: "Hi"` is shorthand for one text block; read it so, so that errors inside a
    # block list are reported at the block (the API does the same).
    if isinstance(value, str):
        return [{"type": "text", "text": value}] if value else []
    return value


PositiveInt = Annotated[StrictInt, Field(ge=1)]
Unit = Annotated[StrictFloat, Field(ge=0.0, le=1.0)]


class CacheControl(_Shape):
    type: Literal["ephemeral"]
    ttl: Literal["5m", "1h"] | None = None


# ----- content blocks ---------------------------------------------------------------------------


class TextBlock(_Shape):
    type: Literal["text"]
    text: StrictStr
    citations: list[dict[str, JsonValue]] | None = None
    cache_control: CacheControl | None = None


class Base64ImageSource(_Shape):
    type: Literal["base64"]
    media_type: Literal["image/jpeg", "image/png", "image/gif", "image/webp"]
    data: StrictStr


class URLSource(_Shape):
    type: Literal["url"]
    url: StrictStr


class FileSource(_Shape):
    type: Literal["file"]
    file_id: StrictStr


ImageSource = Annotated[Base64ImageSource | URLSource | FileSource, Field(discriminator="type")]


class ImageBlock(_Shape):
    type: Literal["image"]
    source: ImageSource
    cache_control: CacheControl | None = None


class Base64PDFSource(_Shape):
    type: Literal["base64"]
    media_type: Literal["application/pdf"]
    data: StrictStr


class PlainTextSource(_Shape):
    type: Literal["text"]
    media_type: Literal["text/plain"]
    data: StrictStr


class ContentSource(_Shape):
    type: Literal["content"]
    content: Annotated[
        list[Annotated[TextBlock | ImageBlock, Field(discriminator="type")]],
        BeforeValidator(_as_blocks),
    ]


DocumentSource = Annotated[
    Base64PDFSource | PlainTextSource | ContentSource | URLSource | FileSource,
    Field(discriminator="type"),
]


class CitationsConfig(_Shape):
    enabled: StrictBool | None = None


class DocumentBlock(_Shape):
    type: Literal["document"]
    source: DocumentSource
    title: StrictStr | None = None
    context: StrictStr | None = None
    citations: CitationsConfig | None = None
    cache_control: CacheControl | None = None


class SearchResultBlock(_Shape):
    type: Literal["search_result"]
    source: StrictStr
    title: StrictStr
    content: list[TextBlock]
    citations: CitationsConfig | None = None
    cache_control: CacheControl | None = None


class ToolReferenceBlock(_Shape):
    type: Literal["tool_reference"]
    tool_name: StrictStr
    cache_control: CacheControl | None = None


ToolResultContent = Annotated[
    TextBlock | ImageBlock | SearchResultBlock | DocumentBlock | ToolReferenceBlock,
    Field(discriminator="type"),
]


class ToolResultBlock(_Shape):
    type: Literal["tool_result"]
    tool_use_id: StrictStr
    content: Annotated[list[ToolResultContent], BeforeValidator(_as_blocks)] | None = None
    is_error: StrictBool | None = None
    cache_control: CacheControl | None = None


class ToolUseBlock(_Shape):
    type: Literal["tool_use"]
    id: StrictStr
    name: StrictStr
    input: dict[str, JsonValue]
    caller: dict[str, JsonValue] | None = None
    toolset_name: StrictStr | None = None
    cache_control: CacheControl | None = None


class ThinkingBlock(_Shape):
    type: Literal["thinking"]
    thinking: StrictStr
    signature: StrictStr


class RedactedThinkingBlock(_Shape):
    type: Literal["redacted_thinking"]
    data: StrictStr


class ResponseBlock(_Open):
    """A block the API itself produced (server tool calls and results, compaction ...).

    It goes back verbatim; its inner shape is the API's business, so only the tag is checked.
    """

    type: StrictStr


RESPONSE_BLOCK_TYPES = frozenset(
    {
        "server_tool_use", "web_search_tool_result", "web_fetch_tool_result",
        "code_execution_tool_result", "bash_code_execution_tool_result",
        "text_editor_code_execution_tool_result", "tool_search_tool_result", "container_upload",
        "advisor_tool_result", "mcp_tool_use", "mcp_tool_result", "compaction", "fallback",
        "mcp_tool_listing", "tool_addition", "tool_removal", "mid_conv_system",
    }
)  # fmt: skip
_OWN_BLOCK_TYPES = (
    "text", "image", "document", "search_result", "tool_use", "tool_result", "thinking",
    "redacted_thinking", "tool_reference",
)  # fmt: skip
_TAG_ERROR = "agentkit_tag"


def _block_tag(value: object) -> str | None:
    if isinstance(value, dict):
        kind = value.get("type")
        if kind in RESPONSE_BLOCK_TYPES:
            return "response"
        if isinstance(kind, str):
            return kind
    return None


ContentBlock = Annotated[
    Annotated[TextBlock, Tag("text")]
    | Annotated[ImageBlock, Tag("image")]
    | Annotated[DocumentBlock, Tag("document")]
    | Annotated[SearchResultBlock, Tag("search_result")]
    | Annotated[ToolUseBlock, Tag("tool_use")]
    | Annotated[ToolResultBlock, Tag("tool_result")]
    | Annotated[ThinkingBlock, Tag("thinking")]
    | Annotated[RedactedThinkingBlock, Tag("redacted_thinking")]
    | Annotated[ToolReferenceBlock, Tag("tool_reference")]
    | Annotated[ResponseBlock, Tag("response")],
    Discriminator(_block_tag, custom_error_type=_TAG_ERROR, custom_error_message="block"),
]
_BLOCK_TAGS = (*_OWN_BLOCK_TYPES, *sorted(RESPONSE_BLOCK_TYPES))


class MessageParam(_Shape):
    role: Literal["user", "assistant"]
    content: Annotated[list[ContentBlock], BeforeValidator(_as_blocks)]


# ----- tools ------------------------------------------------------------------------------------

ToolName = Annotated[StrictStr, Field(pattern=r"^[a-zA-Z0-9_-]{1,128}$")]


class InputSchema(_Open):
    type: Literal["object"]


class CustomTool(_Shape):
    name: ToolName
    input_schema: InputSchema
    type: Literal["custom"] | None = None
    description: StrictStr | None = None
    cache_control: CacheControl | None = None
    defer_loading: StrictBool | None = None
    allowed_callers: list[StrictStr] | None = None
    eager_input_streaming: StrictBool | None = None
    input_examples: list[dict[str, JsonValue]] | None = None
    strict: StrictBool | None = None


class ServerTool(_Open):
    """A server or built-in tool: its parameters differ per type and version; the name is fixed."""

    type: StrictStr
    name: StrictStr | None = None


def _tool_tag(value: object) -> str | None:
    if not isinstance(value, dict):
        return None
    kind = value.get("type")
    if kind is None or kind == "custom":
        return "custom"
    if isinstance(kind, str) and (kind in SERVER_TOOL_TYPES or _NEWER_TOOL.match(kind)):
        return "server"
    return kind if isinstance(kind, str) else None


Tool = Annotated[
    Annotated[CustomTool, Tag("custom")] | Annotated[ServerTool, Tag("server")],
    Discriminator(_tool_tag, custom_error_type=_TAG_ERROR, custom_error_message="tool"),
]
_TOOL_TAGS = ("custom", *sorted(SERVER_TOOL_TYPES))


class _ChoiceBase(_Shape):
    disable_parallel_tool_use: StrictBool | None = None


class AutoChoice(_ChoiceBase):
    type: Literal["auto"]


class AnyChoice(_ChoiceBase):
    type: Literal["any"]


class ToolChoiceTool(_ChoiceBase):
    type: Literal["tool"]
    name: StrictStr


class NoneChoice(_Shape):
    type: Literal["none"]


ToolChoice = Annotated[
    AutoChoice | AnyChoice | ToolChoiceTool | NoneChoice, Field(discriminator="type")
]


# ----- request parameters -----------------------------------------------------------------------


class EnabledThinking(_Shape):
    type: Literal["enabled"]
    budget_tokens: Annotated[StrictInt, Field(ge=1024)]
    display: StrictStr | None = None


class AdaptiveThinking(_Shape):
    type: Literal["adaptive"]
    display: StrictStr | None = None


class DisabledThinking(_Shape):
    type: Literal["disabled"]


Thinking = Annotated[
    EnabledThinking | AdaptiveThinking | DisabledThinking, Field(discriminator="type")
]


class OutputFormat(_Shape):
    type: Literal["json_schema"] = "json_schema"
    schema_: Annotated[dict[str, JsonValue], Field(alias="schema")]


class OutputConfig(_Shape):
    effort: StrictStr | None = None
    format: OutputFormat | None = None


class Metadata(_Shape):
    user_id: StrictStr | None = None


SystemPrompt = Annotated[list[TextBlock], BeforeValidator(_as_blocks)]


class _Common(_Shape):
    """The fields `messages.create` and `count_tokens` share."""

    model: StrictStr
    messages: list[MessageParam]
    system: SystemPrompt | None = None
    tools: list[Tool] | None = None
    tool_choice: ToolChoice | None = None
    thinking: Thinking | None = None
    output_config: OutputConfig | None = None
    output_format: OutputFormat | None = None
    cache_control: CacheControl | None = None
    context_management: JsonValue = None
    mcp_servers: list[dict[str, JsonValue]] | None = None
    container: JsonValue = None
    speed: Literal["standard", "fast"] | None = None
    # Beta fields of the 2.x SDKs; their shapes are not documented in the reference.
    compaction: JsonValue = None
    thread: JsonValue = None
    diagnostics: JsonValue = None


class MessageCreate(_Common):
    """The body of `POST /v1/messages`."""

    max_tokens: PositiveInt
    stream: StrictBool | None = None
    stop_sequences: list[StrictStr] | None = None
    temperature: Unit | None = None
    top_p: Unit | None = None
    top_k: Annotated[StrictInt, Field(ge=0)] | None = None
    metadata: Metadata | None = None
    service_tier: Literal["auto", "standard_only"] | None = None
    inference_geo: StrictStr | None = None
    fallbacks: JsonValue = None
    fallback_credit_token: StrictStr | None = None
    billing_policy: JsonValue = None
    workspace_id: StrictStr | None = None


class CountTokens(_Common):
    """The body of `POST /v1/messages/count_tokens`.

    `max_tokens` is not one of its documented fields, but clients send the body they would send
    to `messages.create`; the fake takes it rather than fail a test on an unknown API answer.
    """

    max_tokens: PositiveInt | None = None


class BatchItem(_Shape):
    custom_id: Annotated[StrictStr, Field(pattern=r"^[a-zA-Z0-9_-]{1,64}$")]
    # The API checks each request's params when it processes the batch (a bad one ends
    # `errored`), not when the batch is created.
    params: dict[str, JsonValue]


class BatchCreate(_Shape):
    """The body of `POST /v1/messages/batches`."""

    requests: Annotated[list[BatchItem], Field(min_length=1, max_length=100_000)]


MESSAGES: TypeAdapter[MessageCreate] = TypeAdapter(MessageCreate)
COUNT_TOKENS: TypeAdapter[CountTokens] = TypeAdapter(CountTokens)
BATCH_CREATE: TypeAdapter[BatchCreate] = TypeAdapter(BatchCreate)


def _tag_message(kind: str, value: object) -> str:
    if not isinstance(value, dict):
        return "Input should be a valid dictionary or object to extract fields from"
    tag = value.get("type")
    if tag is None and kind == "block":
        return "Unable to extract tag using discriminator 'type'"
    tags = ", ".join(f"'{t}'" for t in (_BLOCK_TAGS if kind == "block" else _TOOL_TAGS))
    return f"Input tag '{tag}' found using 'type' does not match any of the expected tags: {tags}"


def first_error(adapter: TypeAdapter[_M], body: object) -> str | None:
    """The API's message for the first shape error in `body`, or None when it has none."""
    try:
        adapter.validate_python(body)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in error["loc"])
        message = error["msg"]
        if error["type"] == _TAG_ERROR:
            message = _tag_message(message, error["input"])
        return f"{where}: {message}" if where else message
    return None
