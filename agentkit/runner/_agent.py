"""`Agent`: a model, its instructions, tools and settings, and the four ways to run it.

The decisions live in `_loop.agent_loop`; `_core.run_flow` performs the effects the loop
yields and `_drivers` does its I/O, sync and async, with the `RunParts` the agent hands it
(its `spec`, hooks, store and tool runtime).
`stream()` / `astream()` hand the drivers' events on; `run()` / `arun()` keep only the result.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from contextlib import aclosing
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING, Any, Generic, Literal

import anyio
import anyio.to_thread
from typing_extensions import Self, TypeVar

from .._exceptions import ConfigurationError
from .._options import check_choice, check_number, check_options, strict
from ..client import AsyncClient, Client
from ..client._messages import CREATE_ARGUMENTS
from ..observability import Telemetry
from ..tools import clean_schema, make_strict
from ..tools._tool import ToolLike, Toolset
from ..types import find_model

# The loop, its drivers, events and hooks, the tool executor and the conversation load when an
# agent is made or run, not with `from agentkit import Agent` (issue 18: import time): the
# methods below import what they use.
if TYPE_CHECKING:
    from concurrent.futures import Executor

    from ..conversation._cache import CachePolicy
    from ..conversation._conversation import Conversation
    from ..stores import AsyncConversationStore, ConversationStore
    from ..tools._execute import Approval, ToolRuntime
    from ..types._usage import ModelPrice
    from ._drivers import Journal, RunParts
    from ._events import AgentEvent, RunResult
    from ._hooks import Hooks, Prompt
    from ._loop import Limits, OutputSpec, RunSpec

__all__ = ["Agent"]

DepsT = TypeVar("DepsT", default=None)
OutputT = TypeVar("OutputT", default=str)


class Agent(Generic[DepsT, OutputT]):
    """A model, its instructions and tools, and the loop that runs them.

    Args:
        model: The model id, e.g. `"claude-sonnet-4-5"`.
        system: The system prompt (text or text blocks).
        tools: `@tool` functions, plain functions, `Tool`s, raw tool dicts (server tools) and
            tool sources (`agentkit.mcp.MCPToolset`: an MCP server's tools, refreshed before
            each model call; `with agent:` / `async with agent:` starts them, `close()` stops
            them).
        client: A `Client` or `AsyncClient` (or a cloud-host client); built from the
            environment when omitted.
        max_tokens: The response budget per model call.
        params: Other request fields (thinking, tool_choice, temperature, output_config,
            context_management, ...), sent with every call: the documented fields of
            `messages.create`, checked by name; `"extra_body"`: a mapping of fields agentkit
            does not know yet, merged into the request as given.
        betas: Beta names for the `anthropic-beta` header.
        cache: Prompt caching: `"auto"` (top-level `cache_control`, the default), `"explicit"`,
            `"off"`, or a `CachePolicy`.
        limits: Turn, token, cost and tool-error budgets per run.
        prices: Price overrides by model prefix (USD per million tokens).
        output_type: Makes the run return a validated instance of this type.
        output_mode: How `output_type` is asked for: `"auto"` (default) sends its schema as
            `output_config.format` (the API's structured outputs) when the model takes them
            and the schema fits, else offers a final-answer tool; `"native"` or `"tool"`
            insist on one.
        store: Persists every step (a sync store for `run`, sync or async for `arun`).
        hooks: Callbacks around model and tool calls.
        tool_timeout: Seconds a tool call may take unless its tool says otherwise.
        max_concurrency: Tool calls of one turn run at most this many at once.
        preflight: Check each request against the API's documented rules before sending.
        on_max_tokens: `"stop"` (default) or `"continue"` to ask the model to go on.
        busy_timeout: Seconds a run waits for a stored conversation that another run holds
            (one run per conversation at a time); 0 (default) raises `ConversationBusyError`
            at once.
        lease_ttl: Seconds a run's lease on its stored conversation lasts unrefreshed (it is
            refreshed every third of this while the run lives): how soon a run that died on
            another host stops holding the conversation.
        max_result_chars: A tool result longer than this (its text, or its JSON) is cut to
            it, with a note telling the model how much was cut; hooks see the whole value.
        telemetry: Where runs report OpenTelemetry spans and metrics, and whether message
            content is recorded (`agentkit.observability.Telemetry`); by default the
            application's global providers, and nothing without them (docs/observability.md).

    Raises:
        TypeError: An unknown keyword or `params` key (naming the closest valid one).
        ConfigurationError: A value out of range (`max_tokens` < 1, `tool_timeout` <= 0, an
            unknown `cache` or `on_max_tokens` ...), saying what is allowed.
    """

    @strict
    def __init__(
        self,
        model: str,
        *,
        system: str | Iterable[Mapping[str, Any]] | None = None,
        tools: Toolset | Iterable[ToolLike] = (),
        client: Client | AsyncClient | None = None,
        max_tokens: int = 4096,
        params: Mapping[str, Any] | None = None,
        betas: Iterable[str] = (),
        cache: CachePolicy | Literal["auto", "explicit", "off"] = "auto",
        limits: Limits | None = None,
        prices: Mapping[str, ModelPrice] | None = None,
        output_type: type[OutputT] | None = None,
        store: ConversationStore | AsyncConversationStore | None = None,
        hooks: Hooks | None = None,
        tool_timeout: float | None = None,
        max_concurrency: int = 16,
        preflight: bool = True,
        on_max_tokens: Literal["stop", "continue"] = "stop",
        busy_timeout: float = 0.0,
        lease_ttl: float = 30.0,
        max_result_chars: int = 100_000,
        output_mode: Literal["auto", "native", "tool"] = "auto",
        telemetry: Telemetry | None = None,
    ) -> None:
        from ..conversation._cache import CachePolicy
        from ._hooks import Hooks
        from ._loop import Limits, RunSpec

        _check_agent(model, max_tokens, cache, tool_timeout, max_concurrency, on_max_tokens, betas)
        check_choice("Agent()", "output_mode", output_mode, ("auto", "native", "tool"))
        self.model = model
        self.toolset = Toolset.of(tools)
        self.client = client
        self.store = store
        self.hooks = hooks or Hooks()
        self.tool_timeout = tool_timeout
        self.max_concurrency = max_concurrency
        self.busy_timeout = _at_least("busy_timeout", busy_timeout, 0)
        self.lease_ttl = _at_least("lease_ttl", lease_ttl, 0)
        if not self.lease_ttl:
            raise ConfigurationError("Agent(): lease_ttl must be a number > 0, not 0")
        self.max_result_chars = int(_at_least("max_result_chars", max_result_chars, 1))
        if telemetry is not None and not isinstance(telemetry, Telemetry):
            raise ConfigurationError(
                f"Agent(): telemetry must be an agentkit.observability.Telemetry, not {telemetry!r}"
            )
        self.telemetry = telemetry
        request: dict[str, Any] = {"model": model, "max_tokens": max_tokens, **_fields(params)}
        self.output = None
        if output_type is not None:
            self.output, output_format = _output(output_type, model, request, output_mode)
            if output_format is not None:
                request["output_config"] = {**request.get("output_config", {}), **output_format}
        if system is not None:
            request["system"] = system if isinstance(system, str) else list(system)
        tool_params = self.toolset.to_params()
        if self.output is not None and not self.output.native:
            tool_params.append(_output_tool(self.output))
        if tool_params:
            request["tools"] = tool_params
        self.betas = tuple(betas)
        self._spec = RunSpec(
            params=request,
            cache=cache if isinstance(cache, CachePolicy) else CachePolicy(mode=cache),
            betas=self.betas,
            preflight=preflight,
            limits=limits or Limits(),
            prices=prices,
            output=self.output,
            on_max_tokens=on_max_tokens,
        )
        # Tool results of unfinished steps, by conversation id, when there is no store (a run
        # that waits for approvals resumes from them).
        self._journal: Journal = {}
        # The worker threads of sync runs' tools that do not run in the caller's thread (see
        # `ToolRuntime.run_calls_sync`): made on first use, reused by every run of the agent.
        self._tool_threads: Executor | None = None

    def __repr__(self) -> str:
        return f"Agent(model={self.model!r}, tools={self.toolset.names!r})"

    # -- tool sources (MCP servers): started on first use or on entering, stopped on close -----

    def __enter__(self) -> Self:
        """Start the tool sources (MCP servers) now, and check their tool names.

        Raises:
            MCPServerError: A server cannot start (from `agentkit.mcp`).
            ToolDefinitionError: Two tools share a name.
        """
        try:
            self._refresh_sources()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    async def __aenter__(self) -> Self:
        # The sources block (a server starting): a worker thread keeps the event loop free.
        return await anyio.to_thread.run_sync(self.__enter__, abandon_on_cancel=True)

    async def __aexit__(self, *exc_info: object) -> None:
        await anyio.to_thread.run_sync(self.close)

    def close(self) -> None:
        """Stop the agent's tool sources (MCP servers); a later run starts them again."""
        for source in self.toolset.sources:
            source.close()

    def _refresh_sources(self) -> None:
        for source in self.toolset.sources:
            source.refresh_tools()
        self.toolset.names  # noqa: B018 - raises on a name clash

    def _current_tools(self, params: dict[str, Any], _conversation: Conversation) -> object:
        """The first `before_model` hook of a sync run when there are tool sources: refresh
        them (starting a server on first use) and send their current tools."""
        return self._with_current_tools(params, refresh=True)

    def _current_tools_async(self, params: dict[str, Any], _conversation: Conversation) -> object:
        """`_current_tools` of an async run: an awaitable, the refresh in a worker thread, so
        no server start blocks the event loop."""
        refresh = partial(self._with_current_tools, params, refresh=True)
        return anyio.to_thread.run_sync(refresh, abandon_on_cancel=True)

    def _with_current_tools(self, params: dict[str, Any], refresh: bool = False) -> dict[str, Any]:
        if refresh:
            self._refresh_sources()
        tools = self.toolset.to_params()
        if self.output is not None:
            tools.append(_output_tool(self.output))
        return {**params, "tools": tools}

    @property
    def request_params(self) -> dict[str, Any]:
        """The request fields every model call carries (besides `messages`)."""
        return dict(self._spec.params)

    @property
    def spec(self) -> RunSpec:
        """The settings every run of this agent decides and sends with (a frozen value)."""
        return self._spec

    def tool_runtime(self) -> ToolRuntime:
        """A fresh runtime for this agent's tools (enter it around the calls of a run)."""
        from ..tools._execute import ToolRuntime

        if self._tool_threads is None:
            from concurrent.futures import ThreadPoolExecutor  # 14 ms to import: on first use

            workers = min(8, self.max_concurrency)
            self._tool_threads = ThreadPoolExecutor(workers, thread_name_prefix="agentkit-tool")
        return ToolRuntime(
            self.toolset,
            default_timeout=self.tool_timeout,
            max_concurrency=self.max_concurrency,
            before_tool=self.hooks.before_tool,
            after_tool=self.hooks.after_tool,
            max_result_chars=self.max_result_chars,
            executor=self._tool_threads,
        )

    def sync_client(self) -> Client | None:
        """The client of a sync run (a `Client` is made when none was given), or None when the
        agent's client is async."""
        client = self._client(Client)
        return client if isinstance(client, Client) else None

    def async_client(self) -> AsyncClient | None:
        """The client of an async run (an `AsyncClient` is made when none was given), or None
        when the agent's client is sync."""
        client = self._client(AsyncClient)
        return client if isinstance(client, AsyncClient) else None

    # -- public entry points --------------------------------------------------------------------

    def run(
        self,
        prompt: Prompt = None,
        *,
        conversation: Conversation | str | None = None,
        deps: DepsT | None = None,
        approvals: Mapping[str, Approval] | None = None,
    ) -> RunResult[OutputT]:
        """Run the tool loop until the model stops (sync).

        Args:
            prompt: The user message: text or content blocks; None to continue the conversation
                (after approvals, or to resume a run that stopped).
            conversation: A `Conversation`, a stored conversation's id, or None for a new one.
            deps: Your dependencies, handed to tools through `RunContext.deps`.
            approvals: Decisions on calls waiting for a human, by tool_use id.

        Returns:
            The run's result.

        Raises:
            LimitExceededError: A budget ran out (`.result` has everything that happened).
            OutputValidationError: The structured output never validated.
            APIError: The API failed after retries.
        """
        from ._drivers import sync_events
        from ._events import RunFinished

        client = self.sync_client()
        if client is None:
            arun = partial(self.arun, conversation=conversation, deps=deps, approvals=approvals)
            return anyio.run(arun, prompt)
        for event in sync_events(client, self._parts(prompt, conversation, deps, approvals)):
            if isinstance(event, RunFinished):
                return event.result
        raise AssertionError("the run ended without a result")

    async def arun(
        self,
        prompt: Prompt = None,
        *,
        conversation: Conversation | str | None = None,
        deps: DepsT | None = None,
        approvals: Mapping[str, Approval] | None = None,
    ) -> RunResult[OutputT]:
        """Run the tool loop until the model stops (async); see `run`."""
        from ._drivers import async_events
        from ._events import RunFinished

        client = self.async_client()
        if client is None:
            run = partial(self.run, conversation=conversation, deps=deps, approvals=approvals)
            return await anyio.to_thread.run_sync(run, prompt)
        parts = self._parts(prompt, conversation, deps, approvals, asynchronous=True)
        events = async_events(client, parts)
        async with aclosing(events):  # closed in this task: it holds task groups
            async for event in events:
                last = event
        # The drivers end every run with `RunFinished` (an error raises instead).
        assert isinstance(last, RunFinished)
        return last.result

    def stream(
        self,
        prompt: Prompt = None,
        *,
        conversation: Conversation | str | None = None,
        deps: DepsT | None = None,
        approvals: Mapping[str, Approval] | None = None,
    ) -> Iterator[AgentEvent]:
        """Run the loop streaming: yields text and thinking deltas, tool calls as they start
        and finish, each finished turn, and last `RunFinished` with the result."""
        from ._drivers import sync_events

        client = self.sync_client()
        if client is None:
            raise ConfigurationError("this agent has an async client: use `astream`")
        parts = self._parts(prompt, conversation, deps, approvals, stream=True)
        yield from sync_events(client, parts)

    async def astream(
        self,
        prompt: Prompt = None,
        *,
        conversation: Conversation | str | None = None,
        deps: DepsT | None = None,
        approvals: Mapping[str, Approval] | None = None,
    ) -> AsyncIterator[AgentEvent]:
        """The async twin of `stream`.

        One difference: the `ToolCallFinished` events of a turn come together once all its
        calls have finished (in the order they finished), because an async generator cannot
        safely keep tasks running while its caller holds an event (PEP 789).
        """
        from ._drivers import async_events

        client = self.async_client()
        if client is None:
            raise ConfigurationError("this agent has a sync client: use `stream`")
        # Close the inner generator here, in the caller's task, when the caller stops early:
        # left to the garbage collector it would exit its task groups in another task.
        parts = self._parts(prompt, conversation, deps, approvals, stream=True, asynchronous=True)
        events = async_events(client, parts)
        async with aclosing(events):
            async for event in events:
                yield event

    # -- shared setup ---------------------------------------------------------------------------

    def _client(self, default: type[Client] | type[AsyncClient]) -> Client | AsyncClient:
        if self.client is None:
            self.client = default()  # from the environment
        return self.client

    def _parts(
        self,
        prompt: Prompt,
        conversation: Conversation | str | None,
        deps: object,
        approvals: Mapping[str, Approval] | None,
        *,
        stream: bool = False,
        asynchronous: bool = False,
    ) -> RunParts:
        from ._drivers import RunParts
        from ._hooks import prompt_blocks

        spec = self._spec if not approvals else replace(self._spec, approvals=dict(approvals))
        hooks = self.hooks
        if self.toolset.sources:  # the sources' tools are read before every model call
            refresh = self._current_tools_async if asynchronous else self._current_tools
            hooks = replace(hooks, before_model=(refresh, *hooks.before_model))
        return RunParts(
            spec,
            hooks,
            self.store,
            self.tool_runtime(),
            self._journal,
            prompt=prompt_blocks(prompt),
            conversation=conversation,
            deps=deps,
            stream=stream,
            busy_timeout=self.busy_timeout,
            lease_ttl=self.lease_ttl,
            telemetry=self.telemetry,
        )


# -- helpers ------------------------------------------------------------------------------------


def _at_least(name: str, value: object, minimum: int) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= minimum:
        raise ConfigurationError(f"Agent(): {name} must be a number >= {minimum}, not {value!r}")
    return value


_AGENT_SETS = {
    "messages": "a run sends the conversation; pass a prompt or a conversation",
    "stream": "the run decides how it calls the model",
    "model": "pass Agent(model=...)",
    "max_tokens": "pass Agent(max_tokens=...)",
    "system": "pass Agent(system=...)",
    "tools": "pass Agent(tools=...)",
    "betas": "pass Agent(betas=...)",
}
_CLIENT_SETS = ("extra_headers", "extra_query", "timeout", "max_retries")
_PARAMS_NOT_TAKEN = {
    **_AGENT_SETS,
    **dict.fromkeys(_CLIENT_SETS, "configure the client (client.with_options(...))"),
}
_PARAMS = (CREATE_ARGUMENTS - _PARAMS_NOT_TAKEN.keys()) | {"extra_body"}


def _fields(params: Mapping[str, Any] | None) -> dict[str, Any]:
    """The request fields of `Agent(params=...)`: documented names only, as `messages.create`
    takes them, and `extra_body`'s fields merged in as given (for a field agentkit does not
    know yet).

    Raises:
        TypeError: an unknown key (naming the closest valid one), or one the agent sets itself.
    """
    fields = dict(params or {})
    where, kind = "Agent(params=...)", "request field"
    check_options(fields, _PARAMS, where=where, kind=kind, not_taken=_PARAMS_NOT_TAKEN)
    extra = fields.pop("extra_body", None)
    if extra is None:
        return fields
    if not isinstance(extra, Mapping):
        raise TypeError(f"{where}: extra_body must be a mapping of request fields, not {extra!r}")
    return {**fields, **extra}


def _output(
    output_type: Any, model: str, request: Mapping[str, Any], mode: str
) -> tuple[OutputSpec, dict[str, Any] | None]:
    """How the run gets its structured output, and the `output_config` fields that asks for it.

    `"auto"` uses the API's structured outputs (`output_config.format`) when the model table
    says the model takes them and the schema fits their JSON Schema subset, else the
    final-answer tool; `"native"` insists on the first, `"tool"` on the second.

    Raises:
        ConfigurationError: `"native"` where it cannot be used, or `params` already setting
            `output_config.format`.
    """
    from ._loop import OutputSpec

    config = request.get("output_config")
    if isinstance(config, Mapping) and "format" in config:
        raise ConfigurationError(
            "Agent(): output_type sets output_config.format itself; drop it from params="
        )
    if mode == "tool":
        return OutputSpec(output_type), None
    info = find_model(model)
    why = None
    if info is None or not info.structured_outputs:
        why = f"the model table does not list {model!r} as taking structured outputs"
    from pydantic import TypeAdapter  # pydantic's model machinery loads on first use

    schema = TypeAdapter(output_type).json_schema()
    problems = make_strict(schema)
    if problems and why is None:
        why = "the schema does not fit structured outputs: " + "; ".join(problems)
    if why is None:
        fmt = {"format": {"type": "json_schema", "schema": schema}}
        return OutputSpec(output_type, native=True), fmt
    if mode == "native":
        raise ConfigurationError(f"Agent(output_mode='native'): {why}")
    return OutputSpec(output_type), None


def _output_tool(output: OutputSpec) -> dict[str, Any]:
    schema = output.adapter.json_schema()
    clean_schema(schema)
    return {
        "name": output.tool_name,
        "description": "Give your final answer by calling this tool with it.",
        "input_schema": schema,
    }


def _check_agent(
    model: object,
    max_tokens: object,
    cache: object,
    tool_timeout: float | None,
    max_concurrency: object,
    on_max_tokens: object,
    betas: object,
) -> None:
    """Refuse `Agent` settings the API or the loop cannot use, saying what is allowed.

    Raises:
        ConfigurationError: the first value out of range.
    """
    from ..conversation._cache import CachePolicy

    if not isinstance(model, str) or not model:
        raise ConfigurationError(f"Agent(): model must be a model id string, not {model!r}")
    for name, value in (("max_tokens", max_tokens), ("max_concurrency", max_concurrency)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ConfigurationError(f"Agent(): {name} must be a whole number >= 1, not {value!r}")
    if not isinstance(cache, CachePolicy):
        check_choice("Agent()", "cache", cache, ("auto", "explicit", "off"))
    check_number("Agent()", "tool_timeout", tool_timeout)
    check_choice("Agent()", "on_max_tokens", on_max_tokens, ("stop", "continue"))
    if isinstance(betas, str):  # a string would be taken letter by letter
        raise TypeError("Agent(): betas must be a list of beta names, not a string")
