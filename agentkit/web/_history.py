"""A stored conversation as the AI SDK's `UIMessage`s (what a page shows after a reload): pure.

The API's history alternates user and assistant messages, and a tool loop adds an assistant
message per model call with the tool results in user messages between them. A page shows one
assistant message per turn, so consecutive assistant replies (and the tool results between
them) become one `UIMessage` with a `step-start` part per reply; each tool call is one part
(`tool-NAME`) whose state says where it got to. A `UIMessage`'s id is `m` and the position of
its first stored message, so a live stream and a reload name the same message alike.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ._protocol import tool_output

__all__ = ["message_id", "pending_calls", "reply_id", "title_of", "ui_messages"]

Part = dict[str, object]
UIMessage = dict[str, object]

_TITLE_CHARS = 80


def message_id(position: int) -> str:
    """The id of the `UIMessage` whose first stored message is at `position`."""
    return f"m{position}"


def _blocks(message: Mapping[str, object]) -> list[Mapping[str, object]]:
    content = message.get("content", "")
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if not isinstance(content, list):
        return []
    return [b for b in content if isinstance(b, Mapping)]


def _user_parts(blocks: Sequence[Mapping[str, object]], tools: dict[str, Part]) -> list[Part]:
    """A user message's text parts; its tool results go into the calls' parts."""
    parts: list[Part] = []
    for block in blocks:
        match block.get("type"):
            case "text":
                parts.append({"type": "text", "text": str(block.get("text", ""))})
            case "tool_result":
                _attach(tools, block)
            case other:
                # Images, documents ...: the page cannot show them; say that one was sent.
                parts.append({"type": "text", "text": f"[{other}]"})
    return parts


def _attach(tools: dict[str, Part], result: Mapping[str, object]) -> None:
    """Put a tool result into the part of the call it answers."""
    called = tools.get(str(result.get("tool_use_id", "")))
    if called is not None:
        _result_into(called, result)


def _result_into(part: Part, result: Mapping[str, object]) -> None:
    output = tool_output(result)
    if result.get("is_error"):
        part["state"] = "output-error"
        part["errorText"] = output if isinstance(output, str) else str(output)
    else:
        part["state"] = "output-available"
        part["output"] = output


def _assistant_parts(blocks: Sequence[Mapping[str, object]], tools: dict[str, Part]) -> list[Part]:
    parts: list[Part] = [{"type": "step-start"}]
    for block in blocks:
        kind = block.get("type")
        if kind == "text":
            parts.append({"type": "text", "text": str(block.get("text", "")), "state": "done"})
        elif kind == "thinking":
            text = str(block.get("thinking", ""))
            parts.append({"type": "reasoning", "text": text, "state": "done"})
        elif kind == "redacted_thinking":
            parts.append({"type": "reasoning", "text": "[redacted thinking]", "state": "done"})
        elif kind in ("tool_use", "server_tool_use", "mcp_tool_use"):
            call_id = str(block.get("id", ""))
            part: Part = {
                "type": f"tool-{block.get('name', 'unknown')}",
                "toolCallId": call_id,
                "state": "input-available",
                "input": block.get("input", {}),
            }
            if kind != "tool_use":
                part["providerExecuted"] = True  # the API ran it
            tools[call_id] = part
            parts.append(part)
        elif isinstance(kind, str) and kind.endswith("_tool_result"):
            _attach(tools, block)
        # Other blocks (compaction summaries, unknown types) are for the model, not the page.
    return parts


def ui_messages(
    messages: Sequence[Mapping[str, object]],
    journal: Mapping[str, Mapping[str, object]],
    *,
    running: bool = False,
) -> list[UIMessage]:
    """The `UIMessage`s of a stored history.

    Args:
        messages: The stored messages (`{"role", "content"}`), in order.
        journal: Tool results journaled for the last reply's calls (its step not committed:
            the run waits for approvals, or was stopped), by tool_use id.
        running: A run (in another process) holds the conversation: calls without a result
            are running, not waiting.

    Returns:
        The messages; a last-reply tool call with no result is in state `approval-requested`
        (its `approval.id` is the call's id): it waits for a person's decision (or, with
        `running`, stays `input-available`).
    """
    out: list[UIMessage] = []
    tools: dict[str, Part] = {}
    current: UIMessage | None = None
    for position, message in enumerate(messages):
        blocks = _blocks(message)
        if message.get("role") == "assistant":
            if current is None:
                current = {"id": message_id(position), "role": "assistant", "parts": []}
                out.append(current)
            parts = current["parts"]
            assert isinstance(parts, list)
            parts += _assistant_parts(blocks, tools)
            continue
        user = _user_parts(blocks, tools)
        if user:
            out.append({"id": message_id(position), "role": "user", "parts": user})
            current = None
    for call_id, part in tools.items():
        if part["state"] != "input-available" or part.get("providerExecuted"):
            continue
        result = journal.get(call_id)
        if result is not None:
            _result_into(part, result)
        elif not running:
            part["state"] = "approval-requested"
            part["approval"] = {"id": call_id}
    return out


def pending_calls(
    messages: Sequence[Mapping[str, object]], journal: Mapping[str, Mapping[str, object]]
) -> set[str]:
    """The ids of the last reply's client tool calls that have no result yet (stored or
    journaled): the calls a person may approve or deny."""
    if not messages or messages[-1].get("role") != "assistant":
        return set()
    ids = {
        str(b.get("id"))
        for b in _blocks(messages[-1])
        if b.get("type") == "tool_use" and isinstance(b.get("id"), str)
    }
    return ids - set(journal)


def title_of(text: str) -> str:
    """A conversation's title: the start of its first prompt, on one line."""
    line = " ".join(text.split())
    return line if len(line) <= _TITLE_CHARS else line[: _TITLE_CHARS - 1] + "…"


def reply_id(messages: Sequence[Mapping[str, object]]) -> str | None:
    """The id of the `UIMessage` the last stored reply belongs to (None when the history does
    not end with a reply): a run resumed after approvals continues that message."""
    start = None
    for position in range(len(messages) - 1, -1, -1):
        message = messages[position]
        if message.get("role") == "assistant":
            start = position
        elif any(b.get("type") != "tool_result" for b in _blocks(message)):
            break
    return message_id(start) if start is not None else None
