"""Test doubles that speak the real Claude wire format: a fake Messages API for your tests.

`FakeClaude` answers `/v1/messages` (JSON and SSE), `count_tokens`, the Models, Message Batches
and Files APIs from a script of `Reply` / `Fault` items, or in test-model mode without one. It
validates every request like the real API. Plug it in without a socket (`fake.http_client()`,
`fake.transport()`, respx) or over real loopback HTTP (`fake.serve()`, `FakeServer`,
`python -m agentkit.testing.server`). See docs/testing.md.
"""

from ._builders import (
    Block,
    Fault,
    Reply,
    ScriptItem,
    compaction,
    redacted_thinking,
    server_tool_result,
    server_tool_use,
    text,
    thinking,
    tool_use,
    web_search_result,
)
from ._claude import FakeClaude
from ._fake import MODELS
from ._http import FakeRequest, FakeResponse
from ._ratelimit import FakeRateLimits
from ._render import render_json, sse_events
from ._script import ScriptError, script_from_json
from ._server import FakeServer
from ._testmodel import arguments_for, auto_reply
from ._transport import FakeTransport

__all__ = [
    "Block",
    "FakeClaude",
    "FakeRateLimits",
    "FakeRequest",
    "FakeResponse",
    "FakeServer",
    "FakeTransport",
    "Fault",
    "MODELS",
    "Reply",
    "ScriptError",
    "ScriptItem",
    "arguments_for",
    "auto_reply",
    "compaction",
    "redacted_thinking",
    "render_json",
    "script_from_json",
    "server_tool_result",
    "server_tool_use",
    "sse_events",
    "text",
    "thinking",
    "tool_use",
    "web_search_result",
]
