"""The content half of a run: a conversation turned into the loop's small values and back.

The loop (`_loop.py`) decides on stop reasons, call ids and totals; the messages themselves stay
with the driver. `Transcript` is that content for the in-process drivers (sync, async, batch):
it builds request bodies, appends responses and user messages, and keeps the turn's tool
results. The pure functions under it are shared with the Temporal activities, which apply them
to the conversation they load from the store.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pydantic_core import ValidationError

from ..conversation._conversation import (
    Conversation,
    Entry,
    pending_tool_uses,
    tool_results_message,
)
from ..tools._execute import ToolCall, ToolOutcome
from ..tools._tool import tool_result, validation_error_content
from ..types._usage import RunUsage
from ._events import RunResult
from ._loop import (
    CUT_OFF_RESULT,
    Answer,
    CallModel,
    LoopEnd,
    Opening,
    OutputCheck,
    OutputSpec,
    Reply,
    RunSpec,
    ToolReport,
)

if TYPE_CHECKING:
    from ..types._message import Message

__all__ = [
    "Transcript",
    "check_output",
    "last_container",
    "opening_of",
    "reply_of",
    "stored_message",
    "user_content",
]

Block = dict[str, Any]


class Transcript:
    """One in-process run's conversation and the tool results of its current turn.

    Args:
        spec: The run's settings (request fields, cache policy, preflight).
        conversation: Appended to in place.
    """

    def __init__(self, spec: RunSpec, conversation: Conversation) -> None:
        self.spec = spec
        self.conversation = conversation
        self.start = len(conversation)
        self.results: dict[str, Block] = {}
        self.last: Message | None = None
        # The last response appended and its calls (the calls the next user message answers).
        self._replied: tuple[Entry, list[ToolCall]] | None = None

    def opening(self) -> Opening:
        """Answer `Open` (with the last response, which a finished run returns again)."""
        opening = opening_of(self.conversation, self.spec)
        if opening.reply is not None and not opening.pending:
            answered = opening.answered_output is not None
            self.last = stored_message(self.conversation.entries[-2 if answered else -1])
        return opening

    def journaled(self, journal: Mapping[str, Block]) -> frozenset[str]:
        """Keep the journaled results for the next commit; answer `LoadJournal` with their ids."""
        self.results.update(journal)
        return frozenset(journal)

    def params(self, effect: CallModel) -> dict[str, Any]:
        """The request fields of this call, before the `before_model` hooks."""
        params = dict(self.spec.params)
        if effect.container is not None and "container" not in params:
            params["container"] = effect.container
        return params

    def body(self, params: Mapping[str, Any], *, stream: bool) -> bytes:
        """The request body, with `"stream": true` first when streaming."""
        spec = self.spec
        if stream:
            params = {"stream": True, **params}
        return self.conversation.request_body(
            params, cache=spec.cache, check=spec.preflight, betas=spec.betas
        )

    def append_reply(self, message: Message) -> Reply:
        """Append the response (the driver commits next); answer `CallModel`."""
        # As received when the client parsed it: no second dump of the model (a stream's
        # message is dumped).
        received = message.as_received()
        conversation = self.conversation
        self.last = message
        if received is None or received.get("type") != "message":
            entry = conversation.append(received or message)
            self._replied = None
            return reply_of(entry, self.spec, message)
        spec = self.spec
        usage = received.get("usage")
        named = received.get("model")
        model = str(named or spec.params.get("model") or "")
        priced = _NO_USAGE.add(
            usage if isinstance(usage, dict) else {}, model, prices=spec.price_table
        )
        # Priced at the default prices for the model the response names: the conversation's
        # totals add the same value (not a second pricing of the same usage).
        shared = priced if spec.prices is None and named else None
        entry = conversation.append(received, usage=shared)
        reply = _reply(entry, received, priced, message)  # its fields: the response's
        self._replied = entry, reply.calls
        return reply

    def record(self, outcomes: list[ToolOutcome]) -> list[ToolReport]:
        """Keep the outcomes' results for the next commit; answer `RunTools`."""
        for outcome in outcomes:
            if outcome.result is not None:
                self.results[outcome.call.id] = outcome.result
        return [ToolReport(o.call.id, o.status, o.stop) for o in outcomes]

    def check_output(self, call: ToolCall, output: OutputSpec) -> OutputCheck:
        """Validate the final answer, keeping its `tool_result`; answer `CheckOutput`."""
        check, self.results[call.id] = check_output(output, call)
        return check

    def append_user(self, answer: Answer, blocks: list[Block]) -> None:
        """Append a `CommitUser`'s message (the driver commits next).

        A run that fails before committing it takes it back (`run_flow`), so running the same
        `Conversation` object again appends its prompt once.
        """
        conversation = self.conversation
        replied = self._replied
        pending = None
        if replied is not None and len(conversation) and conversation[-1] is replied[0]:
            # The reply is still last: its calls are the pending ones, found when it came.
            pending = [call.block for call in replied[1]]
        content = user_content(conversation, answer, self.results, blocks, pending)
        self.results.clear()
        self._replied = None
        conversation.append({"role": "user", "content": content})

    def result(self, end: LoopEnd) -> RunResult[Any]:
        """The run's result: the loop's end plus the content."""
        return RunResult(
            status=end.status,
            message=self.last,
            stop_reason=end.stop_reason,
            new_messages=[e.message for e in self.conversation.entries[self.start :]],
            usage=end.totals.usage,
            turns=end.totals.turns,
            conversation=self.conversation,
            output=end.output,
            pending=end.pending,
        )


# -- pure functions (shared with the Temporal activities) ---------------------------------------


def _response(entry: Entry) -> Mapping[str, Any]:
    response = entry.meta.get("response")
    return response if isinstance(response, dict) else {}


def _container(response: Mapping[str, Any]) -> str | None:
    container = response.get("container")
    if isinstance(container, dict) and isinstance(container.get("id"), str):
        return str(container["id"])
    return None


def last_container(conversation: Conversation) -> str | None:
    """The container of the latest response, if it named one."""
    for entry in reversed(conversation.entries):
        if "response" in entry.meta:
            return _container(_response(entry))
    return None


def opening_of(conversation: Conversation, spec: RunSpec | None = None) -> Opening:
    """Where a stored conversation stands: last stop reason, pending calls, container (and,
    given the run's `spec`, the last response as the loop sees it)."""
    if not len(conversation):
        return Opening(empty=True)
    last = conversation.entries[-1]
    stop_reason = _response(last).get("stop_reason")
    responded = last.role == "assistant" and "response" in last.meta
    answered = _answered_output(conversation, spec)
    if answered is not None:
        last, responded = conversation.entries[-2], True
    return Opening(
        stop_reason=stop_reason if isinstance(stop_reason, str) else None,
        pending=[ToolCall.from_block(b) for b in pending_tool_uses(conversation)],
        container=last_container(conversation),
        reply=reply_of(last, spec) if responded and spec is not None else None,
        answered_output=answered,
    )


def _answered_output(conversation: Conversation, spec: RunSpec | None) -> ToolCall | None:
    """The output tool's call, when the last message accepted it (the run ended with it)."""
    output = spec.output if spec is not None else None
    if output is None or output.native:
        return None
    if len(conversation) < 2 or conversation.entries[-1].role != "user":
        return None
    asked = conversation.entries[-2]
    if asked.role != "assistant" or "response" not in asked.meta:
        return None
    calls = [b for b in asked.blocks if b.get("type") == "tool_use"]
    call = next((b for b in calls if b.get("name") == output.tool_name), None)
    accepted = any(
        b.get("type") == "tool_result"
        and call is not None
        and b.get("tool_use_id") == call.get("id")
        and not b.get("is_error")
        for b in conversation.entries[-1].blocks
    )
    return ToolCall.from_block(call) if call is not None and accepted else None


def stored_message(entry: Entry) -> Message | None:
    """A committed response as the `Message` it was (None if its fields do not make one)."""
    data = {**_response(entry), "role": "assistant", "content": entry.blocks}
    try:
        from ..types._message import Message

        return Message.model_validate(data)
    except ValidationError:
        return None


_NO_USAGE = RunUsage()  # immutable: every reply's totals start from it


def reply_of(entry: Entry, spec: RunSpec, message: Message | None = None) -> Reply:
    """The loop's view of a committed response (priced with the spec's prices); `message`,
    the response as the driver holds it, goes with it."""
    response = _response(entry)
    usage = response.get("usage")
    model = str(response.get("model") or spec.params.get("model") or "")
    priced = _NO_USAGE.add(usage if isinstance(usage, dict) else {}, model, prices=spec.price_table)
    return _reply(entry, response, priced, message)


def _reply(
    entry: Entry, response: Mapping[str, Any], usage: RunUsage, message: Message | None
) -> Reply:
    """`reply_of` with the response's usage priced: the text and calls in one pass."""
    content = entry.message.get("content")
    blocks = content if isinstance(content, list) else entry.blocks
    texts: list[str] = []
    calls: list[ToolCall] = []
    for block in blocks:
        if isinstance(block, dict):
            kind = block.get("type")
            if kind == "text":
                texts.append(str(block.get("text", "")))
            elif kind == "tool_use":
                calls.append(ToolCall.from_block(block))
    stop_reason = response.get("stop_reason")
    return Reply(  # by position (a turn's reply): stop_reason, calls, usage, container, text
        stop_reason if isinstance(stop_reason, str) else None,
        calls,
        usage,
        _container(response),
        "".join(texts),
        message,
    )


def user_content(
    conversation: Conversation,
    answer: Answer,
    results: Mapping[str, Block],
    blocks: list[Block],
    pending: Sequence[Mapping[str, Any]] | None = None,
) -> list[Block]:
    """The content of a `CommitUser`'s message: answers to the pending calls (`pending`, the
    conversation's `pending_tool_uses` when not given), then `blocks`."""
    if pending is None:
        pending = pending_tool_uses(conversation)
    content: list[Block] = []
    if answer == "results":
        content.extend(tool_results_message(pending, results)["content"])
    elif answer == "cut_off":
        content.extend(tool_result(b["id"], CUT_OFF_RESULT, is_error=True) for b in pending)
    content.extend(blocks)
    return content


def check_output(output: OutputSpec, call: ToolCall) -> tuple[OutputCheck, Block]:
    """Validate an output-tool call: the check and the `tool_result` block to send back."""
    try:
        value = output.adapter.validate_python(call.input)
    except ValidationError as exc:
        content = validation_error_content(output.tool_name, exc)
        return OutputCheck(error=str(exc)), tool_result(call.id, content, is_error=True)
    return OutputCheck(value), tool_result(call.id, "Final answer received.")
