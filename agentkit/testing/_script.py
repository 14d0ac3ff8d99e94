"""A script of replies and faults written as JSON, for clients that are not Python.

The shapes mirror `Reply` and `Fault`, so a script reads the same in both places:

- `"Hello"`: a text reply.
- `{"content": [...blocks in the API's JSON...], "stop_reason": ..., "stop_sequence": ...,
  "stop_details": ..., "model": ..., "usage": {...}, "extra": {...}}`: a `Reply` (every key but
  `content` optional; blocks without ids or signatures get them from the fake).
- `{"fault": "<name>", ...arguments}`: the `Fault` class method of that name with those keyword
  arguments, e.g. `{"fault": "rate_limit", "retry_after": 1}` or
  `{"fault": "status_error", "status": 409, "error_type": "conflict_error", "message": "busy"}`;
  a `reply` argument takes a reply object as above.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import cast

from ._builders import Fault, Reply

__all__ = ["FAULTS", "ScriptError", "script_from_json"]

FAULTS = (
    "status_error", "rate_limit", "overloaded", "server_error", "stream_error", "disconnect",
    "slow", "batch_outcome",
)  # fmt: skip
_REPLY_KEYS = frozenset(
    {"content", "stop_reason", "stop_sequence", "stop_details", "model", "usage", "extra"}
)


class ScriptError(ValueError):
    """A JSON script item that is not a reply or a fault; the message names the item."""


def _reply(value: object, where: str) -> Reply:
    if isinstance(value, str):
        return Reply.text(value)
    if not isinstance(value, Mapping):
        raise ScriptError(f"{where}: a reply is a string or an object, not {value!r}")
    unknown = set(value) - _REPLY_KEYS
    if unknown:
        raise ScriptError(
            f"{where}: unknown reply keys {sorted(unknown)}; use {sorted(_REPLY_KEYS)}"
        )
    content = value.get("content", [])
    if not isinstance(content, list) or not all(isinstance(b, (Mapping, str)) for b in content):
        raise ScriptError(f"{where}.content: a list of blocks (objects in the API's shape)")
    options = {k: v for k, v in value.items() if k != "content"}
    try:
        return Reply(*cast(list[Mapping[str, object] | str], content), **options)
    except (TypeError, ValueError) as exc:
        raise ScriptError(f"{where}: {exc}") from exc


def _fault(value: Mapping[str, object], where: str) -> Fault:
    name = value["fault"]
    if name not in FAULTS:
        raise ScriptError(f"{where}.fault: {name!r} is not one of {', '.join(FAULTS)}")
    arguments = {k: v for k, v in value.items() if k != "fault"}
    if "reply" in arguments and arguments["reply"] is not None:
        arguments["reply"] = _reply(arguments["reply"], f"{where}.reply")
    factory = getattr(Fault, str(name))
    try:
        inspect.signature(factory).bind(**arguments)
    except TypeError as exc:
        raise ScriptError(f"{where}: Fault.{name}(): {exc}") from exc
    fault: Fault = factory(**arguments)
    return fault


def script_from_json(data: object) -> list[Reply | Fault]:
    """The script items a JSON script (a parsed list) describes.

    Raises:
        ScriptError: An item is neither a reply nor a fault, naming it (`script[2].fault: ...`).
    """
    if not isinstance(data, list):
        raise ScriptError("a script is a JSON list of replies and faults")
    items: list[Reply | Fault] = []
    for n, value in enumerate(data):
        where = f"script[{n}]"
        if isinstance(value, Mapping) and "fault" in value:
            items.append(_fault(value, where))
        else:
            items.append(_reply(value, where))
    return items
