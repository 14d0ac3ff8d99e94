"""The callbacks around a run (`Hooks`), the prompt a run starts with, and how drivers call hooks.

Below both `Agent` and the drivers: each takes hooks and prompts from here, and the batch runner
and the Temporal activities call the model hooks through the same two functions.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .._exceptions import ConfigurationError
from ..conversation._conversation import Conversation
from ..tools._execute import AfterToolHook, BeforeToolHook
from ..types._message import Message

__all__ = [
    "AfterModelHook",
    "BeforeModelHook",
    "ErrorHook",
    "Hooks",
    "Prompt",
    "after_model_async",
    "after_model_sync",
    "before_model_async",
    "before_model_sync",
    "on_error_async",
    "on_error_sync",
    "prompt_blocks",
]

Prompt = str | Iterable[Mapping[str, Any]] | None
"""A user message: text, content blocks, or None to continue the conversation."""

BeforeModelHook = Callable[[dict[str, Any], Conversation], object]
"""`(params, conversation) -> params | None` (or an awaitable of it): changed request fields."""
AfterModelHook = Callable[[Message, Conversation], object]
ErrorHook = Callable[[BaseException, Conversation], object]


@dataclass(frozen=True)
class Hooks:
    """Callbacks around model and tool calls; each may be sync or async.

    Attributes:
        before_model: `(params, conversation) -> params | None`; return changed request fields.
        after_model: `(message, conversation) -> None`, after each response is committed.
        before_tool: `(call, ctx) -> Allow | Deny | Defer | ReplaceInput | None`.
        after_tool: `(call, outcome, ctx) -> ToolOutcome | None`; may replace the outcome.
        on_error: `(error, conversation) -> None`, when a run fails (the error still raises).
    """

    before_model: tuple[BeforeModelHook, ...] = ()
    after_model: tuple[AfterModelHook, ...] = ()
    before_tool: tuple[BeforeToolHook, ...] = ()
    after_tool: tuple[AfterToolHook, ...] = ()
    on_error: tuple[ErrorHook, ...] = ()


def prompt_blocks(prompt: Prompt) -> list[dict[str, Any]] | None:
    """The content blocks of a prompt (None stays None: continue the conversation)."""
    if prompt is None:
        return None
    if isinstance(prompt, str):
        return [{"type": "text", "text": prompt}]
    return [dict(block) for block in prompt]


def _changed(params: dict[str, Any], returned: object) -> dict[str, Any]:
    return dict(returned) if isinstance(returned, Mapping) and returned else params


def _sync(value: object) -> object:
    if inspect.isawaitable(value):
        raise ConfigurationError("an async hook cannot run in a sync run; use arun()")
    return value


async def _async(value: object) -> object:
    return await value if isinstance(value, Awaitable) else value


def before_model_sync(
    hooks: Hooks, params: dict[str, Any], conversation: Conversation
) -> dict[str, Any]:
    """Pass the request fields through every `before_model` hook (a sync run)."""
    for hook in hooks.before_model:
        params = _changed(params, _sync(hook(params, conversation)))
    return params


async def before_model_async(
    hooks: Hooks, params: dict[str, Any], conversation: Conversation
) -> dict[str, Any]:
    """Pass the request fields through every `before_model` hook (an async run)."""
    for hook in hooks.before_model:
        params = _changed(params, await _async(hook(params, conversation)))
    return params


def after_model_sync(hooks: Hooks, message: Message, conversation: Conversation) -> None:
    """Call every `after_model` hook (a sync run)."""
    for hook in hooks.after_model:
        _sync(hook(message, conversation))


async def after_model_async(hooks: Hooks, message: Message, conversation: Conversation) -> None:
    """Call every `after_model` hook (an async run)."""
    for hook in hooks.after_model:
        await _async(hook(message, conversation))


def on_error_sync(hooks: Hooks, error: BaseException, conversation: Conversation) -> None:
    """Call every `on_error` hook (a sync run)."""
    for hook in hooks.on_error:
        _sync(hook(error, conversation))


async def on_error_async(hooks: Hooks, error: BaseException, conversation: Conversation) -> None:
    """Call every `on_error` hook (an async run)."""
    for hook in hooks.on_error:
        await _async(hook(error, conversation))
