"""The history as it is sent: the `Conversation`, its cache policy and the preflight checks that
catch a request the API would reject.
"""

from __future__ import annotations

from ._cache import (
    MAX_BREAKPOINTS,
    CacheMode,
    CachePolicy,
)
from ._cachediff import (
    CacheMiss,
    PrefixHead,
    PromptPrefix,
    explain_miss,
    prefix_from,
    prefix_head,
    prefix_of,
)
from ._conversation import (
    Conversation,
    Entry,
    MessageLike,
    extend_json_object,
    json_array,
    missing_tool_uses,
    pending_tool_uses,
    tool_results_message,
)
from ._preflight import (
    PreflightMemo,
    check_request,
    preflight_problems,
)

__all__ = [
    "CacheMiss",
    "CacheMode",
    "CachePolicy",
    "Conversation",
    "Entry",
    "MAX_BREAKPOINTS",
    "MessageLike",
    "PrefixHead",
    "PreflightMemo",
    "PromptPrefix",
    "check_request",
    "explain_miss",
    "extend_json_object",
    "json_array",
    "missing_tool_uses",
    "pending_tool_uses",
    "prefix_from",
    "prefix_head",
    "prefix_of",
    "preflight_problems",
    "tool_results_message",
]
