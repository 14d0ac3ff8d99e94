"""The callbacks around a run (`Hooks`), the prompt a run starts with, and how drivers call hooks.

Below both `Agent` and the drivers. A hook may be sync or async, so calling one gives a value or
an awaitable of it: the hook calls here are generators that yield each return value as a
`Pending` effect, and the driver answers with the value (a sync run rejects an awaitable, an
async one awaits it). The in-process core (`_core.run_flow`) yields them on to its driver;
`before_model_async` and `after_model_async` drive them for the Temporal activities.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from typing_extensions import TypeVar

from .._exceptions import ConfigurationError
from ..conversation._conversation import Conversation
from ..tools._execute import AfterToolHook, BeforeToolHook
from ._loop import Effect

if TYPE_CHECKING:
    from ..types._message import Message

__all__ = [
    "AfterModelHook",
    "BeforeModelHook",
    "ErrorHook",
    "HookCalls",
    "Hooks",
    "Pending",
    "Prompt",
    "after_model",
    "after_model_async",
    "async_value",
    "before_model",
    "before_model_async",
    "on_error",
    "prompt_blocks",
    "sync_value",
]

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)

Prompt = str | Iterable[Mapping[str, Any]] | None
"""A user message: text, content blocks, or None to continue the conversation."""

BeforeModelHook = Callable[[dict[str, Any], Conversation], object]
"""`(params, conversation) -> params | None` (or an awaitable of it): changed request fields."""
AfterModelHook = Callable[["Message", Conversation], object]
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


@dataclass(frozen=True, slots=True)
class Pending(Effect[T_co]):
    """What a hook (or a store method) returned: its value, or in an async run an awaitable of it.

    The driver answers with the value: `sync_value` in a sync run, `async_value` in an async one.
    """

    value: T_co | Awaitable[T_co]


HookCalls = Generator[Pending[object], object, T]
"""Hook calls in progress: yields each hook's `Pending` return value, returns what they decided."""


def sync_value(value: T | Awaitable[T]) -> T:
    """A `Pending` value in a sync run, where an awaitable can only come from an async hook."""
    if isinstance(value, Awaitable):
        raise ConfigurationError("an async hook cannot run in a sync run; use arun()")
    return value


async def async_value(value: T | Awaitable[T]) -> T:
    """A `Pending` value in an async run: awaited when it is an awaitable."""
    return await value if isinstance(value, Awaitable) else value


def before_model(
    hooks: Hooks, params: dict[str, Any], conversation: Conversation
) -> HookCalls[dict[str, Any]]:
    """Pass the request fields through every `before_model` hook; returns the fields to send."""
    for hook in hooks.before_model:
        params = _changed(params, (yield from Pending(hook(params, conversation))))
    return params


def after_model(hooks: Hooks, message: Message, conversation: Conversation) -> HookCalls[None]:
    """Call every `after_model` hook."""
    for hook in hooks.after_model:
        yield from Pending(hook(message, conversation))


def on_error(hooks: Hooks, error: BaseException, conversation: Conversation) -> HookCalls[None]:
    """Call every `on_error` hook."""
    for hook in hooks.on_error:
        yield from Pending(hook(error, conversation))


async def _drive(calls: HookCalls[T]) -> T:
    answer: object = None
    while True:
        try:
            pending = calls.send(answer)
        except StopIteration as stop:
            result: T = stop.value
            return result
        answer = await async_value(pending.value)


async def before_model_async(
    hooks: Hooks, params: dict[str, Any], conversation: Conversation
) -> dict[str, Any]:
    """`before_model` in an async run."""
    return await _drive(before_model(hooks, params, conversation))


async def after_model_async(hooks: Hooks, message: Message, conversation: Conversation) -> None:
    """`after_model` in an async run."""
    await _drive(after_model(hooks, message, conversation))
