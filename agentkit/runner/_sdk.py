"""The official SDK's tool helpers as thin aliases: `@beta_tool` is `@tool`, and
`client.beta.messages.tool_runner(...)` is the `Agent` loop, yielding each message.

The client (floor 3) cannot import the runner, so importing this module (`agentkit.runner`
does) registers the factory `client.beta.messages.tool_runner` looks up. `Agent` stays the
documented way: it adds stores, hooks, limits, approvals and typed output.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Generator, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from .._exceptions import LimitExceededError
from .._options import check_options, option_names
from ..client import AsyncClient, AsyncToolRunner, Client, ToolRunner, register_tool_runner
from ..conversation import Conversation
from ..tools import tool
from ..types import MessageCreateParams
from ._agent import Agent
from ._events import TurnFinished
from ._loop import Limits

if TYPE_CHECKING:
    from ..types._message import Message

__all__ = ["BetaAsyncToolRunner", "BetaToolRunner", "beta_async_tool", "beta_tool"]

beta_tool = tool
"""The SDK's `@beta_tool`: agentkit's `@tool` (bare or with options)."""

beta_async_tool = tool
"""The SDK's `@beta_async_tool`: `@tool` takes `async def` functions as they are."""

# The runner's own keywords; everything else is a request field sent with every call.
_RUNNER_KEYS = ("model", "messages", "tools", "max_tokens", "system", "betas", "max_iterations")
_ARGUMENTS = option_names(MessageCreateParams) | {"max_iterations"}
_NOT_TAKEN = {
    "stream": "iterate the runner for each message, or use Agent.stream() for deltas",
    "compaction_control": "pass context_management={'edits': [{'type': 'compact_20260112'}]}",
}


def _agent(
    client: Client | AsyncClient, params: Mapping[str, object]
) -> tuple[Agent, Conversation]:
    """The agent and conversation for a `tool_runner(...)` call (the SDK's keywords).

    Raises:
        TypeError: without `model`, `max_tokens` or `messages`, or with request options the
            loop cannot take per call (`extra_headers` ...: give them to the client).
    """
    check_options(params, _ARGUMENTS, where="tool_runner()", kind="argument", not_taken=_NOT_TAKEN)
    missing = [k for k in ("model", "max_tokens", "messages") if k not in params]
    if missing:
        raise TypeError(f"tool_runner() missing required keyword(s): {', '.join(missing)}")
    options = [k for k in ("extra_headers", "extra_query", "timeout", "max_retries") if k in params]
    if options:
        raise TypeError(
            f"tool_runner() cannot take {', '.join(options)} per call: set them on the client "
            "(client.with_options(...)) and call tool_runner on that"
        )
    fields: dict[str, Any] = {k: v for k, v in params.items() if k not in _RUNNER_KEYS}
    fields.update(fields.pop("extra_body", None) or {})
    max_tokens, max_iterations = params["max_tokens"], params.get("max_iterations")
    if type(max_tokens) is not int or (
        max_iterations is not None and type(max_iterations) is not int
    ):
        raise TypeError("tool_runner(): max_tokens and max_iterations must be whole numbers")
    # `Any`: the SDK's keywords arrive untyped; Agent and Toolset check system, tools and betas.
    loose: Mapping[str, Any] = params
    agent: Agent = Agent(
        str(params["model"]),
        system=loose.get("system"),
        tools=loose.get("tools", ()),
        client=client,
        max_tokens=max_tokens,
        params=fields,
        betas=loose.get("betas", ()),
        # The SDK's loop sends the request as written (no cache hint) and has no limits
        # besides max_iterations.
        cache="off",
        limits=Limits(max_turns=max_iterations, max_consecutive_tool_errors=None),
    )
    messages = params["messages"]
    if not isinstance(messages, Iterable):
        raise TypeError(f"tool_runner(messages=...) must be a list of messages: {messages!r}")
    return agent, Conversation(messages)


class _Runner:
    """What both runners keep: the agent, the conversation, the loop and its last message."""

    def __init__(self, client: Client | AsyncClient, params: Mapping[str, object]) -> None:
        self._agent, self._conversation = _agent(client, params)
        self._last: Message | None = None

    def _seen(self, event: object) -> Message | None:
        """The message of a finished turn (kept as the last one), None for other events."""
        if isinstance(event, TurnFinished):
            self._last = event.message
            return event.message
        return None

    def _final(self) -> Message:
        if self._last is None:
            raise RuntimeError("the tool runner made no API call")
        return self._last


class BetaToolRunner(_Runner):
    """The SDK's `BetaToolRunner` on agentkit's loop: iterate for each message (one per API
    call, tools run between them); `until_done()` returns the last.

    The loop stops where the `Agent`'s does (its stop-reason table: `pause_turn` continues,
    a cut-off tool call is not run), or after `max_iterations` calls (no error).
    """

    def __init__(self, client: Client, params: Mapping[str, object]) -> None:
        super().__init__(client, params)
        self._messages = self._run()

    def _run(self) -> Iterator[Message]:
        with _max_iterations():
            for event in self._agent.stream(None, conversation=self._conversation):
                if (message := self._seen(event)) is not None:
                    yield message

    def __iter__(self) -> Iterator[Message]:
        return self._messages

    def until_done(self) -> Message:
        """Run the rest of the loop; the last message.

        Raises:
            RuntimeError: the loop made no API call.
        """
        for _ in self._messages:
            pass
        return self._final()


class BetaAsyncToolRunner(_Runner):
    """The async `BetaToolRunner`: `async for message in runner`, `await until_done()`."""

    def __init__(self, client: AsyncClient, params: Mapping[str, object]) -> None:
        super().__init__(client, params)
        self._events = self._agent.astream(None, conversation=self._conversation)

    async def __aiter__(self) -> AsyncIterator[Message]:
        with _max_iterations():
            async for event in self._events:
                if (message := self._seen(event)) is not None:
                    yield message

    def __await__(self) -> Generator[object, None, BetaAsyncToolRunner]:
        """`runner = await client.beta.messages.tool_runner(...)` works too (as in the SDK's
        newer documentation); awaiting starts nothing."""
        return self._itself().__await__()

    async def _itself(self) -> BetaAsyncToolRunner:
        return self

    async def until_done(self) -> Message:
        """`await` it: the last message (see `BetaToolRunner.until_done`)."""
        async for _ in self:
            pass
        return self._final()


@contextmanager
def _max_iterations() -> Iterator[None]:
    """`max_iterations` ends the SDK's loop quietly; the Agent's turn limit raises."""
    try:
        yield
    except LimitExceededError as exc:
        if exc.limit != "max_turns":
            raise


def _make_runner(client: object, params: Mapping[str, object]) -> ToolRunner | AsyncToolRunner:
    if isinstance(client, AsyncClient):
        return BetaAsyncToolRunner(client, params)
    if isinstance(client, Client):
        return BetaToolRunner(client, params)
    raise TypeError(f"tool_runner() needs a Client or an AsyncClient, not {client!r}")


register_tool_runner(_make_runner)
