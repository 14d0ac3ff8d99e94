"""What a run reports as it goes: its OpenTelemetry spans and its cache-miss explanations.

`observe` wraps a run's core (`_core.run_flow`) in a generator that watches the ops going to
the shell and the answers coming back, so every shell (sync, async, the batch runner) reports
the same way without code of its own: a `ModelCall` opens a `chat` span (current while the
shell performs it, unless the shell interleaves runs) and is checked for a cache miss once
answered; `RunParts.run_calls` asks `tool_scope` for each tool call's `execute_tool` span.
"""

from __future__ import annotations

import operator
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from pydantic_core import from_json

from ..conversation import (
    CachePolicy,
    Conversation,
    Entry,
    PrefixHead,
    PromptPrefix,
    explain_miss,
    prefix_from,
    prefix_head,
)
from ..observability._telemetry import DEFAULT_TELEMETRY
from ..tools._execute import ToolCall, ToolOutcome, ToolScope
from ._core import Flow, ModelCall, RunParts
from ._events import CacheMissed
from ._loop import Emit

if TYPE_CHECKING:
    from ..observability._spans import ChatTrace, RunTrace
    from ..types._message import Message

__all__ = [
    "check_cache",
    "fingerprint",
    "observe",
    "provider_name",
    "tool_scope",
    "traced_call",
]


# The last request of each recent conversation, so a run can explain a miss against the run
# before it (a chat app runs once per user message). Bounded: an old conversation's entry goes.
_PREFIXES: OrderedDict[str, PromptPrefix] = OrderedDict()
_MAX_PREFIXES = 4096


def provider_name(client: object) -> str:
    """`gen_ai.provider.name` of a client: the cloud host's name, else `anthropic`."""
    name = type(client).__name__.lower()
    for host, provider in (("bedrock", "aws.bedrock"), ("vertex", "gcp.vertex_ai")):
        if host in name:
            return provider
    return "azure.ai.foundry" if "foundry" in name else "anthropic"


def observe(parts: RunParts, flow: Flow, client: object, *, current: bool = True) -> Flow:
    """`flow`, reporting its spans (when a provider is configured) and its cache misses.

    Args:
        parts: The run's parts (`telemetry` read, `tool_scope` set).
        flow: The run's core.
        client: The client the shell sends with (its host names the provider).
        current: Make each model call's span the current one while the shell performs it;
            False for a shell that interleaves runs (the batch runner).
    """
    telemetry = parts.telemetry or DEFAULT_TELEMETRY
    conversation = parts.conversation
    if isinstance(conversation, Conversation):
        conversation_id: str | None = conversation.id
    else:
        conversation_id = conversation
    model = parts.spec.params.get("model")
    run = telemetry.start_run(
        model=str(model),
        provider=provider_name(client),
        server=getattr(client, "base_url", None),
        conversation_id=conversation_id,
    )
    parts.tool_scope = tool_scope(run)
    return _observed(parts, flow, run, current)


def _observed(parts: RunParts, flow: Flow, run: RunTrace | None, current: bool) -> Flow:
    from ..types._message import Message  # on first use: the agent's import builds no model

    tally = _Tally()
    try:
        value: object = None
        error: BaseException | None = None
        while True:
            try:
                op = flow.send(value) if error is None else flow.throw(error)
            except StopIteration as stop:
                if run is not None:
                    result = stop.value
                    run.finish(result.usage, result.status, result.conversation.id)
                return stop.value  # type: ignore[no-any-return]  # the flow's RunResult
            value, error = None, None
            if not isinstance(op, ModelCall):
                try:
                    value = yield op
                except GeneratorExit:
                    raise
                except BaseException as exc:
                    error = exc
                continue
            sent = fingerprint(op.params, parts.spec.cache, op.transcript.conversation, tally)
            chat = None if run is None else run.chat(op.params, _messages(op), attach=current)
            try:
                value = yield op
            except BaseException as exc:
                if chat is not None:
                    chat.close(error=exc)
                if isinstance(exc, GeneratorExit):
                    raise
                error = exc
                continue
            if isinstance(value, Message):
                miss = check_cache(op.transcript.conversation.id, sent, value, chat)
                if chat is not None:
                    chat.close(value)
                if miss is not None:
                    yield Emit(miss)
    except GeneratorExit:
        flow.close()
        if run is not None:
            run.fail(GeneratorExit())
        raise
    except BaseException as exc:
        if run is not None:
            run.fail(exc)
        raise


async def traced_call(
    run: RunTrace | None,
    params: Mapping[str, object],
    conversation: Conversation,
    policy: CachePolicy,
    call: Callable[[], Awaitable[Message]],
) -> tuple[Message, CacheMissed | None]:
    """`await call()` inside a `chat` span of `run`, and its cache miss explained, for shells
    that call the model themselves (Temporal's model-call activity): the message, and the
    `CacheMissed` to report (None when it read from the cache or there is nothing to say)."""
    sent = fingerprint(params, policy, conversation)
    if run is None:
        message = await call()
        return message, check_cache(conversation.id, sent, message, None)
    chat = run.chat(params, lambda: conversation.messages, attach=True)
    try:
        message = await call()
    except BaseException as exc:
        chat.close(error=exc)
        raise
    miss = check_cache(conversation.id, sent, message, chat)
    chat.close(message)
    return message, miss


def _messages(op: ModelCall) -> Callable[[], list[Mapping[str, object]]]:
    """The request's messages, decoded only when content is captured."""

    def messages() -> list[Mapping[str, object]]:
        body = from_json(op.body(stream=False))
        found = body.get("messages") if isinstance(body, dict) else None
        return [m for m in found if isinstance(m, dict)] if isinstance(found, list) else []

    return messages


class _Tally:
    """A run's request views so far, tallied once per entry: each turn adds only what it added.

    A run's conversation only grows between its model calls, so the view of the next call
    starts with the entries of the last one (the same objects); anything else (a compaction
    moved the view's start, a failed step was taken back) starts the tally over. The prefix's
    head (tools, system) is kept too, while the run sends the same objects.
    """

    __slots__ = ("blocks", "breakpoints", "entries", "hashes", "head", "head_of")

    def __init__(self) -> None:
        self.entries: list[Entry] = []
        self.hashes: list[int] = []  # each entry's `hash(entry.raw)`
        self.blocks = self.breakpoints = 0
        self.head: PrefixHead | None = None
        # What `head` was computed from: the tools, system and cache_control objects, and the
        # policy (held, so their ids stay theirs while compared).
        self.head_of: tuple[object, ...] = ()

    def head_for(self, params: Mapping[str, object], policy: CachePolicy) -> PrefixHead:
        """`prefix_head` of `params` under `policy`, computed again only when one of the
        objects it reads is another object than last time (the hooks may replace them)."""
        key = (params.get("tools"), params.get("system"), params.get("cache_control"), policy)
        if self.head is None or not all(map(operator.is_, key, self.head_of)):
            if policy.mode == "auto" and "cache_control" not in params:
                params = {**params, "cache_control": policy.control()}
            self.head, self.head_of = prefix_head(params), key
        return self.head

    def add(self, view: Sequence[Entry]) -> None:
        """Bring the tally to `view`."""
        seen = self.entries
        if len(seen) > len(view) or not all(map(operator.is_, seen, view)):
            seen, self.hashes, self.blocks, self.breakpoints = [], [], 0, 0
            self.entries = seen
        for entry in view[len(seen) :]:
            content = entry.message.get("content")
            self.blocks += len(content) if isinstance(content, list) else 1
            self.breakpoints += entry.breakpoints
            seen.append(entry)
            self.hashes.append(hash(entry.raw))


def fingerprint(
    params: Mapping[str, object],
    policy: CachePolicy,
    conversation: Conversation,
    tally: _Tally | None = None,
) -> PromptPrefix:
    """The prefix of a request with `params` (the hooks have run) over `conversation`, kept as
    hashes (never the history itself, which a long-lived process would otherwise hold for every
    recent conversation). A run's `tally` counts and hashes each entry once (without one, the
    whole view is counted), and keeps the tools-and-system part while those stay the same
    objects, so a turn costs one pass at C speed over the entries."""
    tally = tally if tally is not None else _Tally()
    tally.add(conversation.request_view())
    return prefix_from(
        tally.head_for(params, policy),
        tuple(tally.hashes),
        tally.blocks,
        tally.breakpoints + (policy.mode == "explicit"),
        time.time(),
    )


def check_cache(
    conversation_id: str, sent: PromptPrefix, message: Message, chat: ChatTrace | None
) -> CacheMissed | None:
    """Compare this request (`sent`, its `fingerprint`) with the conversation's previous one in
    this process, and remember this one; a miss is also an event on `chat`'s span."""
    previous = _PREFIXES.pop(conversation_id, None)
    _PREFIXES[conversation_id] = sent
    if len(_PREFIXES) > _MAX_PREFIXES:
        _PREFIXES.popitem(last=False)
    usage = message.usage
    miss = explain_miss(
        previous,
        sent,
        cache_read=usage.cache_read_input_tokens,
        cache_write=usage.cache_creation_input_tokens,
    )
    if miss is None:
        return None
    if chat is not None:
        attributes: dict[str, str | int] = {
            "agentkit.cache.miss.reason": miss.reason,
            "agentkit.cache.miss.explanation": miss.explanation,
        }
        if miss.index is not None:
            attributes["agentkit.cache.miss.index"] = miss.index
        chat.event("agentkit.cache.miss", attributes)
    return CacheMissed(miss, message)


def tool_scope(run: RunTrace | None) -> ToolScope | None:
    """The `execute_tool` span maker for a run's tool calls (None when nothing is traced)."""
    if run is None or run.instruments.tracer is None:
        return None
    return lambda call: _ToolSpan(run, call)


class _ToolSpan:
    """One tool call's span as a context manager (a class: a call costs no generator)."""

    def __init__(self, run: RunTrace, call: ToolCall) -> None:
        self.span = run.tool(call.id, call.name, call.input)

    def __enter__(self) -> Callable[[ToolOutcome], None]:
        self.span.start()
        return self.record

    def record(self, outcome: ToolOutcome) -> None:
        error_type = None
        if outcome.exception is not None:
            error_type = type(outcome.exception).__qualname__
        elif outcome.is_error:
            error_type = "denied" if outcome.status == "denied" else "tool_error"
        content = outcome.result.get("content") if outcome.result is not None else None
        self.span.record(error_type=error_type, result=content)

    def __exit__(self, kind: object, error: BaseException | None, traceback: object) -> None:
        # a cancellation, or the caller's own error, is recorded and goes on
        self.span.end(error)
