"""The `Tool` value object, the `@tool` decorator, `Toolset`, and what tool outcomes become."""

from __future__ import annotations

import copy
import dataclasses
import functools
import inspect
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from dataclasses import dataclass, field
from typing import (
    Concatenate,
    Generic,
    Protocol,
    TypeAlias,
    TypedDict,
    TypeVar,
    overload,
    runtime_checkable,
)

import pydantic_core
from typing_extensions import ParamSpec, Self, Unpack

from .._exceptions import ToolDefinitionError
from .._options import check_options, option_names
from ._results import CONTENT_BLOCK_TYPES, block_problem, json_text, valid_text
from ._schema import FunctionSchema, LintIssue, function_schema

__all__ = [
    "ResourceFactory",
    "StopRun",
    "Tool",
    "ToolLike",
    "ToolOptions",
    "ToolSource",
    "Toolset",
    "exception_content",
    "result_content",
    "tool",
    "tool_result",
    "unknown_tool_content",
    "validation_error_content",
]

P = ParamSpec("P")
P2 = ParamSpec("P2")
# Covariant: a `Tool[..., int]` is a `Tool[..., object]` (the function is only ever called).
R = TypeVar("R", covariant=True)
R2 = TypeVar("R2", covariant=True)
S = TypeVar("S")  # the instance a method tool is bound to

# Bounds on error text sent to the model: enough to correct a call, never a flood of context.
_MAX_ERROR_CHARS = 4000
_MAX_FIELD_ERRORS = 20

ResourceFactory: TypeAlias = Callable[
    [], "AbstractContextManager[object] | AbstractAsyncContextManager[object]"
]
"""A zero-argument callable returning a (sync or async) context manager, e.g. a function
decorated with `@contextlib.contextmanager`. The runtime enters it once per run and passes the
entered value to the tool parameter it is declared for."""


class StopRun(Exception):
    """Raise inside a tool to end the run after this turn's tool calls.

    The call still gets a normal `tool_result` (with `content`), the other calls of the turn
    finish, and the outcome is flagged `stop=True`; the runner commits the results and stops.
    Stopping this way keeps the history valid: every `tool_use` has its `tool_result`.

    Args:
        content: The tool result to record (a string or content blocks).
    """

    def __init__(self, content: str | Sequence[Mapping[str, object]] = "") -> None:
        super().__init__(content if isinstance(content, str) else "stop run")
        self.content = content


@dataclass(frozen=True, eq=False)
class Tool(Generic[P, R]):
    """A function the model can call, with its schema and execution settings.

    Call it like the original function. Change a setting with `dataclasses.replace`.

    Attributes:
        function: The Python function (sync or async).
        name: The tool name the model uses.
        description: What the tool does, for the model.
        input_schema: The JSON schema of the tool input.
        schema: The full derived schema: parameters, validator and lint findings.
        strict: Send `strict: true` (grammar-constrained tool input).
        timeout: Seconds before a call becomes a timeout error result; `None` uses the runtime's
            default.
        sequential: Never run this tool concurrently with other calls of the same turn.
        requires_approval: Defer each call to a human unless an approval is supplied.
        cache_control: A `cache_control` hint sent on this tool's definition.
        resources: Parameter name -> factory of a context manager, entered once per run.
        extra: Further keys of the tool definition sent as they are (`defer_loading`,
            `input_examples`, `allowed_callers`, `eager_input_streaming`, ...).
    """

    function: Callable[P, R]
    name: str
    description: str
    input_schema: dict[str, object] = field(repr=False)
    schema: FunctionSchema = field(repr=False)
    strict: bool = False
    timeout: float | None = None
    sequential: bool = False
    requires_approval: bool = False
    cache_control: Mapping[str, object] | None = None
    resources: Mapping[str, ResourceFactory] = field(default_factory=dict, repr=False)
    extra: Mapping[str, object] = field(default_factory=dict, repr=False)
    is_method: bool = field(default=False, repr=False)
    is_async: bool = field(init=False, repr=False)

    def __post_init__(self) -> None:
        func: object = self.function
        while isinstance(func, functools.partial):
            func = func.func
        # A callable object counts as async when its __call__ is a coroutine function.
        is_async = inspect.iscoroutinefunction(func) or (
            not inspect.isroutine(func) and inspect.iscoroutinefunction(type(func).__call__)
        )
        object.__setattr__(self, "is_async", is_async)

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        return self.function(*args, **kwargs)

    @overload
    def __get__(self, instance: None, owner: type[object] | None = None) -> Self: ...
    @overload
    def __get__(
        self: Tool[Concatenate[S, P2], R2], instance: object, owner: type[object] | None = None
    ) -> Tool[P2, R2]: ...
    def __get__(self, instance: object, owner: type[object] | None = None) -> Tool[..., object]:
        # A tool defined in a class body is bound to the instance, like a method.
        if instance is None or not self.is_method:
            return self
        unbound: Tool[..., object] = self
        return dataclasses.replace(
            unbound, function=functools.partial(unbound.function, instance), is_method=False
        )

    def to_param(self) -> dict[str, object]:
        """The tool definition for the request's `tools` list.

        Returns:
            A new dict: `name`, `description` (when not empty), `input_schema`, and `strict`,
            `cache_control` and the `extra` keys when set.
        """
        param: dict[str, object] = {"name": self.name}
        if self.description:
            param["description"] = self.description
        param["input_schema"] = copy.deepcopy(self.input_schema)
        if self.strict:
            param["strict"] = True
        if self.cache_control is not None:
            param["cache_control"] = dict(self.cache_control)
        param.update(self.extra)
        return param

    def lint(self) -> list[LintIssue]:
        """Find what the model may not be told: undocumented parameters, lost descriptions,
        docstring section headers leaked into text.

        Returns:
            The findings; empty when the schema is fully described.
        """
        # The description may have been replaced since the schema was built; judge the current one.
        issues = [i for i in self.schema.lint_issues if i.code != "no-description"]
        if not self.description:
            issues.insert(0, LintIssue("no-description", "the tool has no description"))
        return issues


class ToolOptions(TypedDict, total=False):
    """The keywords `@tool(...)` takes; each is described on `tool`."""

    name: str | None
    description: str | None
    strict: bool
    timeout: float | None
    sequential: bool
    requires_approval: bool
    cache_control: Mapping[str, object] | None
    resources: Mapping[str, ResourceFactory] | None
    extra: Mapping[str, object] | None


_TOOL_OPTIONS = option_names(ToolOptions)


@overload
def tool(func: Callable[P, R], /, **options: Unpack[ToolOptions]) -> Tool[P, R]: ...
@overload
def tool(**options: Unpack[ToolOptions]) -> Callable[[Callable[P, R]], Tool[P, R]]: ...
def tool(
    func: Callable[..., object] | None = None, /, **options: Unpack[ToolOptions]
) -> Tool[..., object] | Callable[[Callable[..., object]], Tool[..., object]]:
    """Make a tool of a typed function: `@tool`, `@tool(...)`, or `tool(func, ...)`.

    The schema is built now, so a definition problem fails at import time.

    Args:
        func: The function (sync or async; a method's `self` is left out and bound on access).
        **options: `ToolOptions`:
            name: The tool name; defaults to the function name.
            description: The description; defaults to the docstring's summary and body.
            strict: Make the schema valid for strict tool use and send `strict: true`.
            timeout: Seconds a call may take; `None` uses the runtime's default.
            sequential: Run calls of this tool alone, never beside other calls.
            requires_approval: Defer calls to a human unless approved.
            cache_control: A `cache_control` hint for this tool definition.
            resources: Parameter name -> resource factory (a context manager entered once per
                run); those parameters are left out of the schema.
            extra: Further tool definition keys, sent as they are.

    Returns:
        A `Tool`, or a decorator making one.

    Raises:
        ToolDefinitionError: The function cannot be a tool; lists every problem.
        TypeError: An unknown keyword (naming the closest valid one).
    """
    check_options(options, _TOOL_OPTIONS, where="tool()")

    def make(f: Callable[..., object]) -> Tool[..., object]:
        return _make_tool(f, options)

    return make if func is None else make(func)


def _make_tool(func: Callable[..., object], options: ToolOptions) -> Tool[..., object]:
    if isinstance(func, Tool):
        func = func.function
    if isinstance(func, staticmethod):
        func = func.__func__
    is_method = _is_method(func)
    strict = options.get("strict", False)
    timeout = options.get("timeout")
    resources = dict(options.get("resources") or {})
    problems: list[str] = []
    if timeout is not None and timeout <= 0:
        problems.append(f"timeout must be positive, got {timeout}")
    try:
        schema = function_schema(
            func,
            name=options.get("name"),
            description=options.get("description"),
            strict=strict,
            skip_receiver=is_method,
            injected=resources.keys(),
        )
    except ToolDefinitionError as exc:
        raise ToolDefinitionError(exc.name, [*exc.problems, *problems]) from None
    if problems:
        raise ToolDefinitionError(schema.name, problems)
    return Tool(
        function=func,
        name=schema.name,
        description=schema.description,
        input_schema=schema.input_schema,
        schema=schema,
        strict=strict,
        timeout=timeout,
        sequential=options.get("sequential", False),
        requires_approval=options.get("requires_approval", False),
        cache_control=options.get("cache_control"),
        resources=resources,
        extra=dict(options.get("extra") or {}),
        is_method=is_method,
    )


def _is_method(func: Callable[..., object]) -> bool:
    """A function defined in a class body whose first parameter is an unannotated `self`."""
    try:
        first = next(iter(inspect.signature(func).parameters.values()), None)
    except (TypeError, ValueError):
        return False
    return (
        first is not None
        and first.name == "self"
        and first.annotation is inspect.Parameter.empty
        and inspect.isfunction(func)
    )


@runtime_checkable
class ToolSource(Protocol):
    """Tools that live elsewhere and may change between turns, such as an MCP server's
    (`agentkit.mcp.MCPToolset`).

    A run refreshes each source before it first runs tools and before every model call, so
    the model sees the current list and a call finds its tool. `current_tools` does no I/O;
    `refresh_tools` and `close` block, and an async run calls them in a worker thread.
    """

    def current_tools(self) -> Sequence[Tool[..., object]]:
        """The tools as of the last refresh (empty before the first)."""
        ...

    def refresh_tools(self) -> None:
        """Start the source if needed and re-read its tools if they changed."""
        ...

    def close(self) -> None:
        """Stop the source; a later refresh starts it again."""
        ...


ToolLike: TypeAlias = (
    "Tool[..., object] | Callable[..., object] | Mapping[str, object] | ToolSource"
)
"""What a tools list accepts: a `Tool`, a plain function (made a tool with defaults), a raw
tool definition dict (server tools such as web search), sent as it is, or a `ToolSource` (an
MCP server's tools)."""


class Toolset:
    """The tools of a run, in the order they are sent: runnable tools and raw definitions,
    then the tools of each `ToolSource` as of its last refresh.

    Args:
        tools: Tools, plain functions, raw tool definition dicts and tool sources.

    Raises:
        ToolDefinitionError: Two tools share a name, or a function cannot be a tool.
    """

    def __init__(self, tools: Iterable[ToolLike] = ()) -> None:
        entries: list[Tool[..., object] | dict[str, object]] = []
        sources: list[ToolSource] = []
        for item in tools:
            if isinstance(item, Tool):
                entries.append(item)
            elif isinstance(item, ToolSource):
                sources.append(item)
            elif isinstance(item, Mapping):
                entries.append(dict(item))
            elif callable(item):
                entries.append(tool(item))
            else:
                raise ToolDefinitionError(repr(item), ["not a tool, function or tool dict"])
        names = [e.name if isinstance(e, Tool) else e.get("name") for e in entries]
        duplicates = sorted({n for n in names if n is not None and names.count(n) > 1}, key=str)
        if duplicates:
            raise ToolDefinitionError(
                "toolset", [f"tool name {n!r} is used more than once" for n in duplicates]
            )
        self._entries = tuple(entries)
        self._by_name = {e.name: e for e in entries if isinstance(e, Tool)}
        self.sources = tuple(sources)

    def _all(self) -> dict[str, Tool[..., object]]:
        if not self.sources:
            return self._by_name
        found = dict(self._by_name)
        for source in self.sources:
            for t in source.current_tools():
                if t.name in found:
                    raise ToolDefinitionError(
                        "toolset", [f"tool name {t.name!r} is used more than once"]
                    )
                found[t.name] = t
        return found

    @classmethod
    def of(cls, tools: Toolset | Iterable[ToolLike]) -> Toolset:
        """Return `tools` if it is already a Toolset, else build one.

        Args:
            tools: A toolset or the items of one.

        Returns:
            A toolset.
        """
        return tools if isinstance(tools, Toolset) else cls(tools)

    def get(self, name: str) -> Tool[..., object] | None:
        """The runnable tool called `name`, or None."""
        found = self._by_name.get(name)
        if found is None and self.sources:
            for source in self.sources:
                found = next((t for t in source.current_tools() if t.name == name), None)
                if found is not None:
                    break
        return found

    def __getitem__(self, name: str) -> Tool[..., object]:
        found = self.get(name)
        if found is None:
            raise KeyError(name)
        return found

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def __iter__(self) -> Iterator[Tool[..., object]]:
        return iter(self._all().values())

    def __len__(self) -> int:
        return len(self._all())

    @property
    def names(self) -> list[str]:
        """The names of the runnable tools, in order.

        Raises:
            ToolDefinitionError: A source's tool has the name of another tool.
        """
        return list(self._all())

    @property
    def raw(self) -> list[dict[str, object]]:
        """The raw tool definitions (run by the API or an MCP server, never here)."""
        return [e for e in self._entries if not isinstance(e, Tool)]

    def lint(self) -> dict[str, list[LintIssue]]:
        """Lint every runnable tool.

        Returns:
            The findings by tool name, for the tools that have any.
        """
        found = {t.name: t.lint() for t in self}
        return {name: issues for name, issues in found.items() if issues}

    def to_params(self) -> list[dict[str, object]]:
        """The request's `tools` list, in the order given.

        Returns:
            New dicts; changing them does not change the toolset.

        Raises:
            ToolDefinitionError: A source's tool has the name of another tool.
        """
        params = [e.to_param() if isinstance(e, Tool) else copy.deepcopy(e) for e in self._entries]
        if self.sources:
            static = set(self._by_name)
            params.extend(t.to_param() for t in self._all().values() if t.name not in static)
        return params


# --- what a tool's outcome becomes: tool_result blocks and their content -----------------


def tool_result(
    tool_use_id: str,
    content: str | Sequence[Mapping[str, object]] | None,
    *,
    is_error: bool = False,
) -> dict[str, object]:
    """Build a `tool_result` block.

    Args:
        tool_use_id: The call's id.
        content: Text or content blocks; None leaves `content` out (the API allows that).
        is_error: Tell the model the call failed.

    Returns:
        The block dict.
    """
    block: dict[str, object] = {"type": "tool_result", "tool_use_id": tool_use_id}
    if content is not None:
        block["content"] = content
    block["is_error"] = is_error
    return block


def result_content(value: object) -> str | list[dict[str, object]] | None:
    """Convert a tool's return value into `tool_result` content.

    Args:
        value: A string (sent as is), a content block dict (`text`, `image`, `document`,
            `search_result`) or a list of them (sent as blocks when every one has the shape
            the API takes, see `_results.block_problem`; else as JSON text, so a dict that only
            looks like a block, such as a Notion rich-text object, cannot break the
            conversation), None (no content), or anything else pydantic can serialize: dicts,
            lists, models, dataclasses ... (sent as JSON text).

    Returns:
        The content.
    """
    if isinstance(value, str):
        return valid_text(value)
    if value is None:
        return None
    blocks = [value] if _is_content_block(value) else value if isinstance(value, list) else []
    if blocks and all(_is_content_block(v) and block_problem(v) is None for v in blocks):
        return [dict(v) for v in blocks if isinstance(v, Mapping)]
    return json_text(value)


def _is_content_block(value: object) -> bool:
    return isinstance(value, Mapping) and value.get("type") in CONTENT_BLOCK_TYPES


def exception_content(exc: BaseException) -> str:
    """The text an unexpected exception becomes: its type and message, no traceback.

    Args:
        exc: The exception.

    Returns:
        `"<ExcType>: <message>"`, or just the type when the message is empty; a message longer
        than 4000 characters is cut (an exception can carry a whole HTTP body).
    """
    message = str(exc)
    if len(message) > _MAX_ERROR_CHARS:
        message = message[:_MAX_ERROR_CHARS] + " [truncated]"
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def validation_error_content(tool_name: str, error: pydantic_core.ValidationError) -> str:
    """The text invalid input becomes: one line per field error, so the model can fix its call.

    The input values are not echoed: the model has them, and they may be large. At most 20
    errors are listed (a long list of bad items repeats one mistake).

    Args:
        tool_name: The tool.
        error: Pydantic's error.

    Returns:
        The message.
    """
    errors = error.errors(include_url=False, include_input=False, include_context=False)
    lines = [f"Invalid input for tool {tool_name!r}:"]
    for err in errors[:_MAX_FIELD_ERRORS]:
        loc = ".".join(str(part) for part in err["loc"]) or "(input)"
        lines.append(f"- {loc}: {err['msg']}")
    if len(errors) > _MAX_FIELD_ERRORS:
        lines.append(f"- ... and {len(errors) - _MAX_FIELD_ERRORS} more errors")
    lines.append("Fix the input and call the tool again.")
    return "\n".join(lines)


def unknown_tool_content(name: str, available: Sequence[str]) -> str:
    """The text a call of an unknown tool becomes.

    Args:
        name: The name the model used.
        available: The names of the tools that can run.

    Returns:
        The message, naming the available tools.
    """
    if not available:
        return f"Unknown tool {name!r}. No tools are available."
    return f"Unknown tool {name!r}. Available tools: {', '.join(available)}."
