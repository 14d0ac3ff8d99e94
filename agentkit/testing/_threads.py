"""Message threads: the conversation state the API holds for `thread: {"type": "create"}`.

With the `message-threads-2026-08-12` beta a client sends the whole conversation once, with
`thread: {"type": "create"}`, and then only each turn's new messages with
`thread: {"type": "continue", "previous_message_id": <the last reply's id>}`; the server keeps
the history, `system` and `tools` (the official SDK's default tool runner works this way). The
fake keeps the same state: a continue is expanded into the full request before it is checked and
answered, so the script and the validation see what the model would see. The rules and error
codes are the SDK's (`anthropic` 2.x, `lib/threads`): each reply can be continued once
(`thread_already_continued`), an unknown id is a 404 (`thread_not_found`), and a continue that
repeats `system` or `tools` with other values is refused (`thread_fingerprint_mismatch`).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["ThreadRefusal", "ThreadStore"]

_CREATE_ONLY = ("system", "tools")


@dataclass(frozen=True)
class ThreadRefusal:
    """Why a `thread` request is refused: status, error type, message and `error_code`."""

    status: int
    error_type: str
    message: str
    error_code: str | None = None


@dataclass
class _Thread:
    fields: dict[str, Any]  # the create-only fields the thread was created with
    messages: list[Any]  # the history up to and including the reply
    continued: bool = False


class ThreadStore:
    """The threads of one fake, by the id of the reply each one ends with."""

    def __init__(self) -> None:
        self._threads: dict[str, _Thread] = {}
        self._lock = threading.Lock()

    def expand(self, body: Mapping[str, Any]) -> dict[str, Any] | ThreadRefusal:
        """The full request a `thread` request stands for (unchanged without `thread`)."""
        thread = body.get("thread")
        if thread is None:
            return dict(body)
        kind = thread.get("type") if isinstance(thread, dict) else None
        if kind == "create":
            return dict(body)
        previous = thread.get("previous_message_id") if isinstance(thread, dict) else None
        if kind != "continue" or not isinstance(previous, str):
            message = (
                "thread: Input should be {'type': 'create'} or {'type': 'continue', "
                "'previous_message_id': <a message id>}"
            )
            return ThreadRefusal(400, "invalid_request_error", message)
        with self._lock:
            state = self._threads.get(previous)
            if state is None:
                message = (
                    f"thread.previous_message_id: no Thread holds {previous}; replay the full "
                    'conversation with thread: {"type": "create"} to start a new Thread'
                )
                return ThreadRefusal(404, "not_found_error", message, "thread_not_found")
            if state.continued:
                message = (
                    f"thread.previous_message_id: {previous} has already been continued; each "
                    "response can be continued only once. Continue from the Thread's most "
                    "recent response id."
                )
                return ThreadRefusal(
                    400, "invalid_request_error", message, "thread_already_continued"
                )
        changed = [f for f in _CREATE_ONLY if f in body and body[f] != state.fields.get(f)]
        if changed:
            names = ", ".join(f"`{f}`" for f in changed)
            message = (
                f"thread: {names} differs from the value stored with the Thread; send the stored "
                'value (or leave it out), or replay the full conversation with thread: {"type": '
                '"create"} to change it'
            )
            return ThreadRefusal(
                400, "invalid_request_error", message, "thread_fingerprint_mismatch"
            )
        new = body.get("messages")
        return {
            **state.fields,
            **body,
            "messages": [*state.messages, *(new if isinstance(new, list) else [])],
        }

    def record(
        self, body: Mapping[str, Any], full: Mapping[str, Any], reply: Mapping[str, Any]
    ) -> None:
        """Keep the thread after answering `body` (expanded to `full`) with the message `reply`."""
        thread = body.get("thread")
        if not isinstance(thread, dict):
            return
        with self._lock:
            if thread.get("type") == "continue":
                previous = self._threads.get(str(thread.get("previous_message_id")))
                if previous is not None:
                    previous.continued = True
            fields = {f: full[f] for f in _CREATE_ONLY if f in full}
            turn = {"role": "assistant", "content": reply.get("content")}
            self._threads[str(reply["id"])] = _Thread(fields, [*full.get("messages", []), turn])
