"""What `client.beta` shares between sync and async: the tool runner's registry and shapes.

`client.beta.messages.tool_runner(...)` runs the official SDK's tool-runner loop with agentkit's
`Agent`, which lives on a floor above the client (`agentkit.runner`). The client cannot import
it, so the runner registers its factory here when `agentkit.runner` is imported (importing
`beta_tool` from it does that), and `tool_runner` looks it up.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from .._exceptions import ConfigurationError

if TYPE_CHECKING:
    from ..types._message import Message

__all__ = [
    "AsyncToolRunner",
    "ToolRunner",
    "ToolRunnerFactory",
    "find_tool_runner",
    "register_tool_runner",
]


@runtime_checkable
class ToolRunner(Protocol):
    """What `client.beta.messages.tool_runner(...)` returns: iterate it for each message of
    the loop (one per API call); `until_done()` runs the loop to its end."""

    def __iter__(self) -> Iterator[Message]: ...

    def until_done(self) -> Message:
        """Run the rest of the loop; the last message."""
        ...


@runtime_checkable
class AsyncToolRunner(Protocol):
    """The async `ToolRunner`: `async for message in runner`, `await runner.until_done()`."""

    def __aiter__(self) -> AsyncIterator[Message]: ...

    async def until_done(self) -> Message:
        """Run the rest of the loop; the last message."""
        ...


ToolRunnerFactory = Callable[[object, Mapping[str, object]], ToolRunner | AsyncToolRunner]
"""Makes the runner for a client (sync or async) and the call's keyword arguments."""

_factories: list[ToolRunnerFactory] = []


def register_tool_runner(factory: ToolRunnerFactory) -> None:
    """Set what `tool_runner(...)` calls (`agentkit.runner` does, when it is imported)."""
    _factories[:] = [factory]


def find_tool_runner() -> ToolRunnerFactory:
    """The registered factory.

    Raises:
        ConfigurationError: when `agentkit.runner` was never imported.
    """
    if not _factories:
        raise ConfigurationError(
            "client.beta.messages.tool_runner() runs on agentkit's Agent: import it first "
            "(`from agentkit.runner import beta_tool`, or `import agentkit.runner`)"
        )
    return _factories[0]
