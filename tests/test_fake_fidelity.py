"""The fake rejects what the real API rejects, with the API's words, and accepts what it accepts.

The invalid requests below come with the API's own message wherever it is known: recorded in
`tests/fixtures/anthropic-recordings` (marked "recorded"), quoted in public bug reports of real
API errors ("reported"), or produced by the API's pydantic validation whose wording the recorded
and reported errors follow ("pydantic"). Rules whose API wording is unknown say so ("ours") and
are checked by status and type, with our message.
"""

from __future__ import annotations

import base64
import copy
import json
import statistics
import struct
import zlib
from typing import Any

import pytest
from recordings import Recording, cases, load

from agentkit import Client, ConfigurationError
from agentkit.testing import MODELS, FakeClaude, FakeRequest, FakeResponse
from agentkit.types import MODEL_TABLE, RunUsage, find_model

MODEL = "claude-sonnet-4-5"
SNAPSHOT = "claude-sonnet-4-5-20250929"
TOOL = {"name": "get_weather", "input_schema": {"type": "object", "properties": {}}}
CLOSED = {
    "type": "object",
    "properties": {"ok": {"type": "boolean"}},
    "required": ["ok"],
    "additionalProperties": False,
}


def post(fake: FakeClaude, body: Any, path: str = "/v1/messages", **headers: str) -> FakeResponse:
    content = json.dumps(body).encode()
    return fake.handle(FakeRequest.build("POST", path, headers=headers, content=content))


def error_of(response: FakeResponse) -> tuple[int, str, str]:
    body = json.loads(response.body)
    assert body["type"] == "error", body
    return response.status, body["error"]["type"], body["error"]["message"]


def base(**extra: Any) -> dict[str, Any]:
    return {
        "model": MODEL,
        "max_tokens": 1024,
        "messages": [{"role": "user", "content": "Hi"}],
        **extra,
    }


def user(*blocks: Any) -> list[dict[str, Any]]:
    return [{"role": "user", "content": list(blocks)}]


def text(value: str = "Hi", **extra: Any) -> dict[str, Any]:
    return {"type": "text", "text": value, **extra}


def png(width: int, height: int) -> bytes:
    """A real PNG (grey, 8-bit), built with zlib so no imaging library is needed."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def jpeg_head(width: int, height: int) -> bytes:
    """The start of a baseline JPEG: SOI, a JFIF APP0 segment and the SOF0 frame header."""
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 17, 8, height, width, 3) + b"\x01\x22\x00" * 3
    return b"\xff\xd8" + app0 + sof + b"\xff\xd9"


def pdf(pages: int) -> bytes:
    """A minimal PDF with `pages` letter-size pages of one line of text each."""
    kids = " ".join(f"{3 + n} 0 R" for n in range(pages))
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>",
        *("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>" for _ in range(pages)),
    ]
    body = "%PDF-1.4\n" + "".join(f"{n + 1} 0 obj\n{o}\nendobj\n" for n, o in enumerate(objects))
    return (body + "trailer\n<< /Root 1 0 R >>\n%%EOF\n").encode()


def image(raw: bytes, media_type: str) -> dict[str, Any]:
    data = base64.b64encode(raw).decode()
    return {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}}


PNG_BYTES = png(64, 64)


def tool_turn(*result_blocks: Any) -> list[dict[str, Any]]:
    call = {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}}
    return [
        {"role": "user", "content": "Weather?"},
        {"role": "assistant", "content": [call]},
        {"role": "user", "content": list(result_blocks)},
    ]


RESULT = {"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny"}
ADDITIONAL = "For 'object' type, 'additionalProperties' must be explicitly set to false"
BLOCK_TAGS = (
    "'text', 'image', 'document', 'search_result', 'tool_use', 'tool_result', 'thinking', "
    "'redacted_thinking', 'tool_reference', 'advisor_tool_result', "
    "'bash_code_execution_tool_result', 'code_execution_tool_result', 'compaction', "
    "'container_upload', 'fallback', 'mcp_tool_listing', 'mcp_tool_result', 'mcp_tool_use', "
    "'mid_conv_system', 'server_tool_use', 'text_editor_code_execution_tool_result', "
    "'tool_addition', 'tool_removal', 'tool_search_tool_result', 'web_fetch_tool_result', "
    "'web_search_tool_result'"
)
PATTERN = "String should match pattern '^[a-zA-Z0-9_-]{1,128}$'"
SAMPLING = "`temperature` and `top_p` cannot both be specified for this model. Please use only one."

# (name, body, status, error type, message, source): "ours" messages are matched by prefix only
# when the API's wording is unknown; every other message must match exactly.
INVALID: list[tuple[str, dict[str, Any], int, str, str, str]] = [
    ("unknown top-level field", base(foo=1), 400, "invalid_request_error",
     "foo: Extra inputs are not permitted", "pydantic"),
    ("misspelled field", base(max_token=5), 400, "invalid_request_error",
     "max_token: Extra inputs are not permitted", "pydantic"),
    ("tool name with a dot", base(tools=[{**TOOL, "name": "weather.get"}]), 400,
     "invalid_request_error", f"tools.0.custom.name: {PATTERN}", "reported"),
    ("tool name with a space", base(tools=[{**TOOL, "name": "get weather"}]), 400,
     "invalid_request_error", f"tools.0.custom.name: {PATTERN}", "reported"),
    ("tool name of 129 characters", base(tools=[{**TOOL, "name": "a" * 129}]), 400,
     "invalid_request_error", f"tools.0.custom.name: {PATTERN}", "reported"),
    ("empty tool name", base(tools=[{**TOOL, "name": ""}]), 400, "invalid_request_error",
     f"tools.0.custom.name: {PATTERN}", "reported"),
    ("duplicate tool names", base(tools=[TOOL, TOOL]), 400, "invalid_request_error",
     "tools: Tool names must be unique.", "reported"),
    ("tool without input_schema", base(tools=[{"name": "x"}]), 400, "invalid_request_error",
     "tools.0.custom.input_schema: Field required", "pydantic"),
    ("tool with an unknown field", base(tools=[{**TOOL, "parameters": {}}]), 400,
     "invalid_request_error", "tools.0.custom.parameters: Extra inputs are not permitted",
     "pydantic"),
    ("tool input_schema not an object schema",
     base(tools=[{**TOOL, "input_schema": {"type": "string"}}]), 400, "invalid_request_error",
     "tools.0.custom.input_schema.type: Input should be 'object'", "pydantic"),
    ("tool without a name", base(tools=[{"input_schema": {"type": "object"}}]), 400,
     "invalid_request_error", "tools.0.custom.name: Field required", "pydantic"),
    ("unknown tool type", base(tools=[{"type": "teleport_20990101", "name": "t"}]), 400,
     "invalid_request_error", "tools.0: Input tag 'teleport_20990101' found using 'type' does "
     "not match any of the expected tags: 'custom', ", "pydantic"),
    ("strict tool schema not closed",
     base(tools=[{**TOOL, "strict": True, "input_schema": {"type": "object"}}]), 400,
     "invalid_request_error", f"tools.0.custom.input_schema: {ADDITIONAL}", "ours"),
    ("tool_choice names no offered tool",
     base(tools=[TOOL], tool_choice={"type": "tool", "name": "nope"}), 400,
     "invalid_request_error", "tool_choice.tool.name: Tool 'nope' not found", "ours"),
    ("tool_choice of an unknown type", base(tool_choice={"type": "sometimes"}), 400,
     "invalid_request_error", "tool_choice: Input tag 'sometimes' found using 'type' does not "
     "match any of the expected tags: 'auto', 'any', 'tool', 'none'", "pydantic"),
    ("tool_choice tool without name", base(tools=[TOOL], tool_choice={"type": "tool"}), 400,
     "invalid_request_error", "tool_choice.tool.name: Field required", "pydantic"),
    ("tool_choice with an unknown field",
     base(tool_choice={"type": "auto", "parallel": False}), 400, "invalid_request_error",
     "tool_choice.auto.parallel: Extra inputs are not permitted", "pydantic"),
    ("image/bmp", base(messages=user(image(PNG_BYTES, "image/bmp"))), 400,
     "invalid_request_error", "messages.0.content.0.image.source.base64.media_type: Input "
     "should be 'image/jpeg', 'image/png', 'image/gif' or 'image/webp'", "pydantic"),
    ("PNG bytes declared as JPEG", base(messages=user(image(PNG_BYTES, "image/jpeg"))), 400,
     "invalid_request_error", "messages.0.content.0.image.source.base64: The image was "
     "specified using the image/jpeg media type, but the image appears to be a image/png image",
     "reported"),
    ("JPEG bytes declared as PNG in a tool result",
     base(messages=tool_turn({**RESULT, "content": [image(jpeg_head(8, 8), "image/png")]}),
          tools=[TOOL]), 400, "invalid_request_error",
     "messages.2.content.0.tool_result.content.0.image.source.base64: The image was specified "
     "using the image/png media type, but the image appears to be a image/jpeg image",
     "reported"),
    ("image data that is no image", base(messages=user(image(b"hello", "image/png"))), 400,
     "invalid_request_error", "messages.0.content.0.image.source.base64: The image data", "ours"),
    ("image source as a string",
     base(messages=user({"type": "image", "source": "nope"})), 400, "invalid_request_error",
     "messages.0.content.0.image.source: Input should be a valid dictionary or object to "
     "extract fields from", "pydantic"),
    ("url image source without url",
     base(messages=user({"type": "image", "source": {"type": "url"}})), 400,
     "invalid_request_error", "messages.0.content.0.image.source.url.url: Field required",
     "pydantic"),
    ("document with an HTML media type",
     base(messages=user({"type": "document", "source": {
         "type": "base64", "media_type": "text/html", "data": "PGgxPg=="}})), 400,
     "invalid_request_error", "messages.0.content.0.document.source.base64.media_type: Input "
     "should be 'application/pdf'", "pydantic"),
    ("max_tokens above the model's limit", base(max_tokens=100_000), 400,
     "invalid_request_error", "max_tokens: 100000 > 64000, which is the maximum allowed number "
     f"of output tokens for {SNAPSHOT}", "reported"),
    ("max_tokens 0", base(max_tokens=0), 400, "invalid_request_error",
     "max_tokens: Input should be greater than or equal to 1", "pydantic"),
    ("max_tokens -5", base(max_tokens=-5), 400, "invalid_request_error",
     "max_tokens: Input should be greater than or equal to 1", "pydantic"),
    ("max_tokens 1.5", base(max_tokens=1.5), 400, "invalid_request_error",
     "max_tokens: Input should be a valid integer", "pydantic"),
    ('max_tokens "10"', base(max_tokens="10"), 400, "invalid_request_error",
     "max_tokens: Input should be a valid integer", "pydantic"),
    ("max_tokens missing", {"model": MODEL, "messages": [{"role": "user", "content": "Hi"}]},
     400, "invalid_request_error", "max_tokens: Field required", "pydantic"),
    ("temperature with top_p on Sonnet 4.5", base(temperature=0.5, top_p=0.9), 400,
     "invalid_request_error", SAMPLING, "reported"),
    ("temperature above 1", base(temperature=1.5), 400, "invalid_request_error",
     "temperature: Input should be less than or equal to 1", "pydantic"),
    ("temperature as a string", base(temperature="0.5"), 400, "invalid_request_error",
     "temperature: Input should be a valid number", "pydantic"),
    ("top_p below 0", base(top_p=-0.1), 400, "invalid_request_error",
     "top_p: Input should be greater than or equal to 0", "pydantic"),
    ("top_k below 0", base(top_k=-1), 400, "invalid_request_error",
     "top_k: Input should be greater than or equal to 0", "pydantic"),
    ("effort level the model lacks", {**base(model="claude-opus-4-6"),
     "output_config": {"effort": "xhigh"}}, 400, "invalid_request_error",
     "This model does not support effort level 'xhigh'. Supported levels: high, low, max, "
     "medium.", "recorded"),
    ("effort max on Opus 4.5", {**base(model="claude-opus-4-5"),
     "output_config": {"effort": "max"}}, 400, "invalid_request_error",
     "This model does not support effort level 'max'. Supported levels: high, low, medium.",
     "recorded"),
    ("effort on a model without effort", base(output_config={"effort": "low"}), 400,
     "invalid_request_error", "output_config.effort: This model does not support", "ours"),
    ("output schema without additionalProperties",
     base(output_config={"format": {"type": "json_schema", "schema": {"type": "object"}}}),
     400, "invalid_request_error", f"output_config.format.schema: {ADDITIONAL}", "recorded"),
    ("nested output schema without additionalProperties",
     base(output_config={"format": {"type": "json_schema", "schema": {
         **CLOSED, "$defs": {"Point": {"type": "object", "properties": {}}}}}}),
     400, "invalid_request_error", f"output_config.format.schema: {ADDITIONAL}", "recorded"),
    ("structured outputs on Sonnet 4", {**base(model="claude-sonnet-4-20250514"),
     "output_config": {"format": {"type": "json_schema", "schema": CLOSED}}}, 400,
     "invalid_request_error", "output_config.format: claude-sonnet-4-20250514 does not", "ours"),
    ("output format of an unknown type",
     base(output_config={"format": {"type": "regex", "schema": CLOSED}}), 400,
     "invalid_request_error", "output_config.format.type: Input should be 'json_schema'",
     "pydantic"),
    ("unknown block type", base(messages=user({"type": "video", "url": "x"})), 400,
     "invalid_request_error", "messages.0.content.0: Input tag 'video' found using 'type' does "
     f"not match any of the expected tags: {BLOCK_TAGS}", "pydantic"),
    ("block without type", base(messages=user({"text": "Hi"})), 400, "invalid_request_error",
     "messages.0.content.0: Unable to extract tag using discriminator 'type'", "pydantic"),
    ("text block without text", base(messages=user({"type": "text"})), 400,
     "invalid_request_error", "messages.0.content.0.text.text: Field required", "pydantic"),
    ("text block with a number", base(messages=user({"type": "text", "text": 5})), 400,
     "invalid_request_error", "messages.0.content.0.text.text: Input should be a valid string",
     "pydantic"),
    ("text block with an unknown field", base(messages=user(text(bold=True))), 400,
     "invalid_request_error", "messages.0.content.0.text.bold: Extra inputs are not permitted",
     "pydantic"),
    ("unknown model", base(model="claude-sonet-4-5"), 404, "not_found_error",
     "model: claude-sonet-4-5", "recorded"),
    ("model that is no Claude id", base(model="bad model", max_tokens=0), 404,
     "not_found_error", "model: bad model", "recorded"),
    ("model missing", {"max_tokens": 5, "messages": [{"role": "user", "content": "Hi"}]}, 400,
     "invalid_request_error", "model: Field required", "pydantic"),
    ("messages missing", {"model": MODEL, "max_tokens": 5}, 400, "invalid_request_error",
     "messages: Field required", "pydantic"),
    ("no messages", base(messages=[]), 400, "invalid_request_error",
     "messages: at least one message is required", "preflight"),
    ("system role in messages", base(messages=[{"role": "system", "content": "Hi"}]), 400,
     "invalid_request_error", "messages.0.role: Input should be 'user' or 'assistant'",
     "pydantic"),
    ("message with an unknown field",
     base(messages=[{"role": "user", "content": "Hi", "name": "bob"}]), 400,
     "invalid_request_error", "messages.0.name: Extra inputs are not permitted", "pydantic"),
    ("first message from the assistant",
     base(messages=[{"role": "assistant", "content": "Hi"}, {"role": "user", "content": "Yo"}]),
     400, "invalid_request_error", 'messages: first message must use the "user" role',
     "preflight"),
    ("empty text block", base(messages=user(text(""))), 400, "invalid_request_error",
     "messages: text content blocks must be non-empty", "preflight"),
    ("stream as a string", base(stream="yes"), 400, "invalid_request_error",
     "stream: Input should be a valid boolean", "pydantic"),
    ("stop_sequences as a string", base(stop_sequences="STOP"), 400, "invalid_request_error",
     "stop_sequences: Input should be a valid list", "pydantic"),
    ("metadata with an unknown field", base(metadata={"session": "x"}), 400,
     "invalid_request_error", "metadata.session: Extra inputs are not permitted", "pydantic"),
    ("unknown service tier", base(service_tier="priority"), 400, "invalid_request_error",
     "service_tier: Input should be 'auto' or 'standard_only'", "pydantic"),
    ("unknown speed", base(speed="ludicrous"), 400, "invalid_request_error",
     "speed: Input should be 'standard' or 'fast'", "pydantic"),
    ("system as a number", base(system=5), 400, "invalid_request_error",
     "system: Input should be a valid list", "pydantic"),
    ("thinking budget below 1024",
     base(thinking={"type": "enabled", "budget_tokens": 100}), 400, "invalid_request_error",
     "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024",
     "reported"),
    ("thinking budget not below max_tokens",
     base(thinking={"type": "enabled", "budget_tokens": 2048}), 400, "invalid_request_error",
     "`max_tokens` must be greater than `thinking.budget_tokens`.", "preflight"),
    ("thinking of an unknown type", base(thinking={"type": "on"}), 400,
     "invalid_request_error", "thinking: Input tag 'on' found using 'type' does not match any "
     "of the expected tags: 'enabled', 'adaptive', 'disabled'", "pydantic"),
    ("budget thinking on an adaptive-only model", {**base(model="claude-opus-4-8"),
     "thinking": {"type": "enabled", "budget_tokens": 1024}}, 400, "invalid_request_error",
     "thinking.type: 'enabled' thinking is not supported", "ours"),
    ("adaptive thinking on Haiku 4.5", base(model="claude-haiku-4-5",
     thinking={"type": "adaptive"}), 400, "invalid_request_error",
     "thinking.type: 'adaptive' thinking is not supported", "ours"),
    ("thinking with a forced tool", base(tools=[TOOL], tool_choice={"type": "any"},
     thinking={"type": "enabled", "budget_tokens": 1024}, max_tokens=2048), 400,
     "invalid_request_error", "Thinking may not be enabled when tool_choice forces tool use.",
     "preflight"),
    ("thinking with temperature 0.5", base(temperature=0.5, max_tokens=2048,
     thinking={"type": "enabled", "budget_tokens": 1024}), 400, "invalid_request_error",
     "`temperature` may only be set to 1 when thinking is enabled.", "preflight"),
    ("cache ttl of 10 minutes",
     base(messages=user(text(cache_control={"type": "ephemeral", "ttl": "10m"}))), 400,
     "invalid_request_error",
     "messages.0.content.0.text.cache_control.ttl: Input should be '5m' or '1h'", "pydantic"),
    ("cache_control of an unknown type",
     base(messages=user(text(cache_control={"type": "forever"}))), 400,
     "invalid_request_error",
     "messages.0.content.0.text.cache_control.type: Input should be 'ephemeral'", "pydantic"),
    ("five cache breakpoints",
     base(messages=user(*(text(f"p{n}", cache_control={"type": "ephemeral"})
                          for n in range(5)))), 400, "invalid_request_error",
     "A maximum of 4 blocks with cache_control may be provided. Found 5.", "preflight"),
    ("tool_result without its tool_use",
     base(messages=[{"role": "user", "content": [RESULT]}]), 400, "invalid_request_error",
     "messages.0.content.0: unexpected `tool_use_id` found in `tool_result` blocks: toolu_1. "
     "Each `tool_result` block must have a corresponding `tool_use` block in the previous "
     "message.", "recorded"),
    ("tool_use without its tool_result", base(messages=tool_turn(text("never mind"))), 400,
     "invalid_request_error", "messages.1: `tool_use` ids were found without `tool_result` "
     "blocks immediately after: toolu_1.", "preflight"),
    ("tool_result with an unknown field",
     base(messages=tool_turn({**RESULT, "status": "ok"})), 400, "invalid_request_error",
     "messages.2.content.0.tool_result.status: Extra inputs are not permitted", "pydantic"),
    ("tool_use input as a string", base(messages=[
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": [
            {"type": "tool_use", "id": "toolu_1", "name": "x", "input": "{}"}]}]), 400,
     "invalid_request_error", "messages.1.content.0.tool_use.input: Input should be a valid "
     "dictionary", "pydantic"),
    ("thinking block without signature", base(messages=[
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": [{"type": "thinking", "thinking": "hm"}]}]), 400,
     "invalid_request_error", "messages.1.content.0.thinking.signature: Field required",
     "pydantic"),
    ("mcp_servers not a list", base(mcp_servers={"url": "x"}), 400, "invalid_request_error",
     "mcp_servers: Input should be a valid list", "pydantic"),
    ("prompt too long", base(model="claude-haiku-4-5",
     messages=user(text("word " * 900_000))), 400, "invalid_request_error",
     "prompt is too long: ", "recorded"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "body", "status", "kind", "message", "source"), INVALID, ids=[r[0] for r in INVALID]
)
def test_invalid_request_gets_the_api_error(
    name: str, body: dict[str, Any], status: int, kind: str, message: str, source: str
) -> None:
    fake = FakeClaude()
    got_status, got_kind, got_message = error_of(post(fake, body))
    assert (got_status, got_kind) == (status, kind)
    exact = source != "ours" and not message.endswith(
        (" ", "'custom', ", "must be greater than `thinking.budget_tokens`.")
    )
    if exact and name not in PREFIX_ONLY:
        assert got_message == message
    else:
        assert got_message.startswith(message)
    assert fake.remaining == 0 and not fake.errors


# Messages the API follows with more text (a documentation link, the rest of a tag list, the
# count of tokens): compared by their known beginning.
PREFIX_ONLY = frozenset(
    {
        "unknown tool type",
        "thinking budget not below max_tokens",
        "thinking with temperature 0.5",
        "tool_use without its tool_result",
        "prompt too long",
        "image data that is no image",
        "tool_use input as a string",
    }
)


def test_the_table_is_large_and_mostly_worded_like_the_api() -> None:
    assert len(INVALID) >= 60
    known = [row for row in INVALID if row[5] != "ours"]
    assert len(known) >= 55


VALID: list[tuple[str, dict[str, Any]]] = [
    ("max_tokens at the model's limit", base(max_tokens=64_000, stream=True)),
    ("tool name of 128 characters", base(tools=[{**TOOL, "name": "a" * 128}])),
    ("tool names that differ", base(tools=[TOOL, {**TOOL, "name": "other"}])),
    ("tool_choice naming an offered tool",
     base(tools=[TOOL], tool_choice={"type": "tool", "name": "get_weather"})),
    ("a server tool", base(tools=[{"type": "web_search_20250305", "name": "web_search"}])),
    ("a newer version of a known server tool",
     base(tools=[{"type": "web_search_20270101", "name": "web_search"}])),
    ("PNG declared as PNG", base(messages=user(image(PNG_BYTES, "image/png"), text()))),
    ("JPEG declared as JPEG", base(messages=user(image(jpeg_head(8, 8), "image/jpeg")))),
    ("an image by URL",
     base(messages=user({"type": "image", "source": {"type": "url", "url": "https://x/y.png"}}))),
    ("temperature alone", base(temperature=0.0)),
    ("temperature with top_p on Sonnet 4", base(model="claude-sonnet-4-0", temperature=0.5,
                                              top_p=0.9)),
    ("effort max on Opus 4.6", base(model="claude-opus-4-6", output_config={"effort": "max"})),
    ("adaptive thinking on Opus 4.8", base(model="claude-opus-4-8", thinking={"type": "adaptive"})),
    ("closed output schema",
     base(output_config={"format": {"type": "json_schema", "schema": CLOSED}})),
    ("strict tool with a closed schema", base(tools=[{**TOOL, "strict": True,
                                                     "input_schema": CLOSED}])),
    ("fields agentkit does not model", base(
        container="container_1", context_management={"edits": []}, service_tier="auto",
        mcp_servers=[], inference_geo="us", metadata={"user_id": "u1"}, top_k=5,
        stop_sequences=["END"], cache_control={"type": "ephemeral"})),
    ("a thread", base(thread={"type": "create"})),
    ("cloud-style model id", base(model="claude-sonnet-4-5@20250929")),
    ("1h cache ttl", base(messages=user(text(cache_control={"type": "ephemeral", "ttl": "1h"})))),
    ("tool result with an image",
     base(messages=tool_turn({**RESULT, "content": [image(PNG_BYTES, "image/png")]}),
          tools=[TOOL])),
    ("server tool blocks sent back", base(messages=[
        {"role": "user", "content": "Search"},
        {"role": "assistant", "content": [
            {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search",
             "input": {"query": "x"}},
            {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": []},
            text("Found nothing."),
        ]},
        {"role": "user", "content": "Thanks"},
    ])),
]  # fmt: skip


@pytest.mark.parametrize(("name", "body"), VALID, ids=[v[0] for v in VALID])
def test_valid_request_is_accepted(name: str, body: dict[str, Any]) -> None:
    response = post(FakeClaude(check_thinking=False), body)
    assert response.status == 200, response.body


# ----- the recorded 4xx requests --------------------------------------------------------------

REJECTED = [r for r in cases() if r.status is not None and 400 <= r.status < 500 and r.request]
# A 429 answers the recording account's usage, not the request: a fake answers it only when
# told to (`Fault.rate_limited()`); the prompt-too-long request's text was replaced by its
# recorder, so only its type can be checked; a batch's results depend on that batch's state.
ACCOUNT_STATE = {"error-429-rate-limit", "error-429-rate-limit-retry", "error-429-stream-request"}


@pytest.mark.parametrize("rec", REJECTED, ids=lambda r: r.name)
def test_recorded_rejection_is_reproduced(rec: Recording) -> None:
    assert rec.request is not None
    error = rec.body["error"]
    if rec.name in ACCOUNT_STATE:
        assert error["type"] == "rate_limit_error"
        assert post(FakeClaude(), rec.request["body"]).status == 200
        return
    # The 401 recordings sent a key the API refused; a batch stays in progress for an hour.
    fake = FakeClaude(api_key="the-right-key", batch_delay=3600)
    if rec.request["method"] == "GET":
        batch = json.loads(
            post(
                fake,
                {"requests": [{"custom_id": "a", "params": base()}]},
                "/v1/messages/batches",
                **{"x-api-key": "the-right-key"},
            ).body
        )
        fake.batches.get(batch["id"])  # in progress: its results are not ready
        path = f"/v1/messages/batches/{batch['id']}/results"
        response = fake.handle(
            FakeRequest.build("GET", path, headers={"x-api-key": "the-right-key"})
        )
        expected = error["message"].replace(rec.request["path"].split("/")[4], batch["id"])
        assert error_of(response) == (rec.status, error["type"], expected)
        return
    headers = {} if rec.status == 401 else {"x-api-key": "the-right-key"}
    # The recorder replaced the long texts of the prompt-too-long request with a placeholder.
    body = json.loads(json.dumps(rec.request["body"]).replace("<MASSIVE_TEXT>", "word " * 100_000))
    response = post(fake, body, rec.request["path"], **headers)
    status, kind, message = error_of(response)
    assert (status, kind) == (rec.status, error["type"])
    if "<MASSIVE_TEXT>" in json.dumps(rec.request["body"]):
        assert message.startswith("prompt is too long: ")  # the real text's count is unknown
        assert message.endswith(" tokens > 200000 maximum")
    else:
        assert message == error["message"]


# ----- the model table ------------------------------------------------------------------------


def test_every_model_in_the_table_is_listed_and_retrievable() -> None:
    with FakeClaude().http_client() as http:
        listed = http.get("/v1/models", params={"limit": 100}).json()["data"]
        assert [m["id"] for m in listed] == [m.id for m in MODEL_TABLE] == [m["id"] for m in MODELS]
        for spec in MODEL_TABLE:
            for name in spec.ids:
                got = http.get(f"/v1/models/{name}").json()
                assert got["id"] == spec.id
                assert got["max_tokens"] == spec.max_output
                assert set(got["capabilities"]) >= {
                    "effort",
                    "structured_outputs",
                    "thinking",
                    "context_management",
                }
        assert http.get("/v1/models/claude-sonnet-4-20250514").status_code == 200


def test_catalog_matches_the_recorded_models_list() -> None:
    recorded = {m["id"]: m for m in load("models-list").body["data"]}
    for model_id, entry in recorded.items():
        spec = find_model(model_id)
        assert spec is not None, model_id
        with FakeClaude().http_client() as http:
            assert http.get(f"/v1/models/{model_id}").json() == entry


def test_replies_carry_the_snapshot_id() -> None:
    fake = FakeClaude(["Hello"])
    reply = json.loads(post(fake, base(model="claude-haiku-4-5")).body)
    assert reply["model"] == "claude-haiku-4-5-20251001"


def test_long_context_needs_its_beta_on_sonnet_4_5() -> None:
    body = base(messages=user(text("word " * 600_000)))
    assert error_of(post(FakeClaude(), body))[2].endswith("> 200000 maximum")
    beta = {"anthropic-beta": "context-1m-2025-08-07"}
    assert post(FakeClaude(), body, **beta).status == 200


def test_prices_come_from_the_table() -> None:
    usage = RunUsage().add({"input_tokens": 1_000_000, "output_tokens": 0}, "claude-haiku-4-5")
    haiku = find_model("claude-haiku-4-5")
    assert haiku is not None and haiku.price is not None
    assert usage.cost_usd == pytest.approx(haiku.price.input)
    assert RunUsage().add({"input_tokens": 1}, "claude-unknown").unpriced == {"claude-unknown"}


def test_the_client_guard_uses_the_model_table() -> None:
    fake = FakeClaude(["fine"])
    with Client(api_key="k", http_client=fake.http_client()) as client:
        messages = [{"role": "user", "content": "Hi"}]
        # Opus 4.1 writes slowly: the model table caps its non-streaming max_tokens at 8,192.
        with pytest.raises(ConfigurationError):
            client.messages.create(model="claude-opus-4-1", max_tokens=10_000, messages=messages)
        # The general rule lets 10,000 through on other models.
        client.messages.create(model="claude-haiku-4-5", max_tokens=10_000, messages=messages)


def test_preflight_knows_each_models_output_limit() -> None:
    from agentkit.conversation import preflight_problems

    problems = preflight_problems(base(model="claude-opus-4-1", max_tokens=64_000))
    assert problems == [
        "max_tokens: 64000 > 32000, which is the maximum allowed number of output tokens for "
        "claude-opus-4-1-20250805"
    ]
    assert preflight_problems(base(model="claude-nobody-knows", max_tokens=10**6)) == []


# ----- token counting -------------------------------------------------------------------------


def count(body: dict[str, Any]) -> int:
    del body["max_tokens"]
    response = post(FakeClaude(), body, "/v1/messages/count_tokens")
    assert response.status == 200, response.body
    tokens: int = json.loads(response.body)["input_tokens"]
    return tokens


def test_a_640_png_costs_the_documented_tokens() -> None:
    plain = count(base(messages=user(text("What is this?"))))
    with_image = count(
        base(messages=user(image(png(640, 640), "image/png"), text("What is this?")))
    )
    documented = 640 * 640 / 750
    assert with_image - plain == pytest.approx(documented, rel=0.2)


def test_a_large_image_is_counted_after_the_documented_resize() -> None:
    plain = count(base(messages=user(text("What is this?"))))
    big = count(
        base(messages=user(image(jpeg_head(4000, 3000), "image/jpeg"), text("What is this?")))
    )
    # Resized to about 1.15 megapixels (long edge <= 1568): about 1,600 tokens, not 16,000.
    assert big - plain == pytest.approx(1_150_000 / 750, rel=0.2)


def test_a_three_page_pdf_costs_about_the_documented_tokens_per_page() -> None:
    plain = count(base(messages=user(text("Summarize"))))
    data = base64.b64encode(pdf(3)).decode()
    document = {
        "type": "document",
        "source": {"type": "base64", "media_type": "application/pdf", "data": data},
    }
    with_pdf = count(base(messages=user(document, text("Summarize"))))
    # Per page: the page as an image at the documented size cap (~1,533 tokens) plus its text,
    # the low end of the documented 1,500-3,000 tokens a page.
    assert with_pdf - plain == pytest.approx(3 * 1_600, rel=0.2)


def test_tools_and_system_are_counted() -> None:
    plain = count(base())
    assert count(base(system="You are terse. " * 50)) > plain + 100
    assert count(base(tools=[TOOL])) > plain + 300  # the tool-use system prompt


def _plain(rec: Recording) -> bool:
    # Server tools, MCP servers and context editing add tokens the request does not hold (tool
    # prompts, fetched pages, cleared history), and citations add chunked source text.
    body = rec.request["body"] if rec.request else {}
    tools = body.get("tools") or []
    server = any(t.get("type") not in (None, "custom") for t in tools)
    return not (
        server
        or "server" in rec.name
        or body.get("mcp_servers")
        or body.get("context_management")
        or "citations" in json.dumps(body)
        or "<MASSIVE_TEXT>" in json.dumps(body)
    )


def _recorded_input(rec: Recording) -> int | None:
    body = rec.body
    if isinstance(body, dict) and "input_tokens" in body and "usage" not in body:
        return int(body["input_tokens"])
    usage = body.get("usage") if isinstance(body, dict) else None
    if not isinstance(usage, dict):
        return None
    keys = ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
    return sum(int(usage.get(k) or 0) for k in keys)


COUNTED = [
    r for r in cases()
    if r.status == 200 and not r.streaming and r.request and isinstance(r.request.get("body"), dict)
    and "messages" in r.request["body"] and _plain(r) and _recorded_input(r)
]  # fmt: skip


def test_counts_are_close_to_the_recorded_real_counts() -> None:
    errors = []
    for rec in COUNTED:
        assert rec.request is not None
        body = copy.deepcopy(rec.request["body"])
        for key in (
            "max_tokens",
            "stream",
            "temperature",
            "stop_sequences",
            "service_tier",
            "top_p",
            "top_k",
            "metadata",
        ):
            body.pop(key, None)
        response = post(FakeClaude(check_thinking=False), body, "/v1/messages/count_tokens")
        assert response.status == 200, (rec.name, response.body)
        real = _recorded_input(rec)
        assert real
        errors.append(abs(json.loads(response.body)["input_tokens"] / real - 1))
    # docs/testing.md states these bounds; they are measured over the recordings listed above.
    assert len(errors) >= 25
    assert statistics.median(errors) < 0.2
    assert max(errors) < 0.65


OTHER_ACCEPTED = [
    r
    for r in cases()
    if r.status == 200
    and r.request
    and r.request["method"] == "POST"
    and r.request["path"] in ("/v1/messages/count_tokens", "/v1/messages/batches")
]


@pytest.mark.parametrize("rec", OTHER_ACCEPTED, ids=lambda r: r.name)
def test_recorded_count_tokens_and_batch_requests_are_accepted(rec: Recording) -> None:
    assert rec.request is not None
    response = post(FakeClaude(check_thinking=False), rec.request["body"], rec.request["path"])
    assert response.status == 200, response.body
    assert set(json.loads(response.body)) >= set(rec.body)  # the recorded reply's fields


def test_recorded_batch_params_are_checked_when_the_batch_runs() -> None:
    rec = load("batch-create")
    assert rec.request is not None
    fake = FakeClaude(check_thinking=False)
    batch = json.loads(post(fake, rec.request["body"], "/v1/messages/batches").body)
    with fake.http_client() as http:
        results = http.get(f"/v1/messages/batches/{batch['id']}/results").text.splitlines()
    assert {json.loads(line)["result"]["type"] for line in results} == {"succeeded"}
