"""What a `POST /api/chat` asks for, read from the body `useChat` sends: pure, no I/O.

`useChat` posts `{"id", "messages", "trigger", "messageId", ...}` with every message of the
chat; a client configured to send only the new one posts `{"id", "message"}`. Only the last
message counts: the server keeps the history and does not trust the client's copy of it. A
user message is a new prompt; an assistant message whose tool parts are in state
`approval-responded` carries a person's decisions on the calls waiting for approval.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from pydantic_core import from_json

from ..tools import Allow, Approval, Deny

__all__ = ["BadRequest", "ChatRequest", "check_chat_id", "parse_chat_request"]

_CHAT_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")


class BadRequest(ValueError):
    """A request the app refuses, with the status to answer and a message for the client."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class ChatRequest:
    """A chat turn to run.

    Attributes:
        chat_id: The conversation.
        prompt: The new user message's text (None when the request carries approvals).
        approvals: Decisions by tool_use id (empty with a prompt).
    """

    chat_id: str
    prompt: str | None
    approvals: dict[str, Approval] = field(default_factory=dict)


def check_chat_id(chat_id: object) -> str:
    """A chat id as the app takes it: 1-128 letters, digits, `-` or `_`.

    Raises:
        BadRequest: Anything else.
    """
    if not isinstance(chat_id, str) or not _CHAT_ID.fullmatch(chat_id):
        raise BadRequest("the chat id must be 1-128 letters, digits, '-' or '_'")
    return chat_id


def parse_chat_request(body: bytes, *, max_prompt_chars: int) -> ChatRequest:
    """Read a `POST /api/chat` body.

    Raises:
        BadRequest: Not JSON, no chat id, no message, a message with no text or with parts
            the app cannot take, a prompt over `max_prompt_chars` (413), an assistant message
            with no decision, or a trigger other than `submit-message`.
    """
    try:
        parsed = from_json(body)
    except ValueError as exc:
        raise BadRequest(f"the body is not valid JSON: {exc}") from exc
    data: object = parsed
    if not isinstance(data, dict):
        raise BadRequest("the body must be a JSON object")
    chat_id = check_chat_id(data.get("id"))
    trigger = data.get("trigger", "submit-message")
    if trigger != "submit-message":
        raise BadRequest(f"trigger {trigger!r} is not supported: only 'submit-message' is")
    message = _last_message(data)
    role = message.get("role")
    parts = message.get("parts")
    if not isinstance(parts, list) or not all(isinstance(p, Mapping) for p in parts):
        raise BadRequest("the message must have a list of parts")
    if role == "user":
        return ChatRequest(chat_id, _prompt(parts, max_prompt_chars))
    if role == "assistant":
        return ChatRequest(chat_id, None, _approvals(parts))
    raise BadRequest(f"the last message's role must be 'user' or 'assistant', not {role!r}")


def _last_message(data: Mapping[str, object]) -> Mapping[str, object]:
    message = data.get("message")
    if message is None:
        messages = data.get("messages")
        if not isinstance(messages, list) or not messages:
            raise BadRequest("the body needs 'message' or a non-empty 'messages' list")
        message = messages[-1]
    if not isinstance(message, Mapping):
        raise BadRequest("a message must be a JSON object")
    return message


def _prompt(parts: list[Mapping[str, object]], max_chars: int) -> str:
    texts: list[str] = []
    for part in parts:
        kind = part.get("type")
        if kind == "text" and isinstance(part.get("text"), str):
            texts.append(str(part["text"]))
        elif kind != "step-start":
            raise BadRequest(f"a user message may hold only text parts, not {kind!r}")
    prompt = "".join(texts)
    if not prompt.strip():
        raise BadRequest("the message has no text")
    if len(prompt) > max_chars:
        raise BadRequest(f"the message is longer than {max_chars} characters", status=413)
    return prompt


def _approvals(parts: list[Mapping[str, object]]) -> dict[str, Approval]:
    decisions: dict[str, Approval] = {}
    for part in parts:
        kind = part.get("type")
        if not isinstance(kind, str) or part.get("state") != "approval-responded":
            continue
        if not (kind.startswith("tool-") or kind == "dynamic-tool"):
            continue
        approval = part.get("approval")
        call_id = part.get("toolCallId")
        if not isinstance(approval, Mapping) or not isinstance(call_id, str):
            raise BadRequest("an approval-responded tool part needs a toolCallId and approval")
        approved = approval.get("approved")
        if not isinstance(approved, bool):
            raise BadRequest(f"the approval of {call_id} needs 'approved': true or false")
        reason = approval.get("reason")
        if approved:
            decisions[call_id] = Allow()
        elif isinstance(reason, str) and reason:
            decisions[call_id] = Deny(f"The user denied this tool call: {reason}")
        else:
            decisions[call_id] = Deny("The user denied this tool call.")
    if not decisions:
        raise BadRequest(
            "an assistant message must carry approval decisions (no tool part is "
            "in state 'approval-responded')"
        )
    return decisions
