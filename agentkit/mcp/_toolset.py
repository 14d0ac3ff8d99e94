"""`MCPToolset`: an MCP server's tools as a tool source for `Agent(tools=[...])`."""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, TypedDict

import anyio
from typing_extensions import Self, Unpack

from .._exceptions import ConfigurationError, ToolError
from .._options import check_options, option_names
from ..tools import LintIssue, RunContext, Tool
from ._connection import Connection, MCPServerError, ServerSpec, ToolCallFailed
from ._results import to_tool_result
from ._schema import NAME_RE, input_schema

__all__ = ["IDEMPOTENCY_KEY_META", "MCPToolset", "MCPToolsetOptions"]

IDEMPOTENCY_KEY_META = "io.agentkit/idempotency-key"
"""The `_meta` key of a `tools/call` request that carries the call's idempotency key."""


class MCPToolsetOptions(TypedDict, total=False):
    """The keywords `MCPToolset.stdio` and `MCPToolset.http` pass on; see `MCPToolset`."""

    prefix: str | None
    include: Collection[str] | None
    exclude: Collection[str]
    timeout: float | None
    requires_approval: bool | Collection[str]
    sequential: bool
    logger: logging.Logger | None
    probe_timeout: float


_OPTIONS = option_names(MCPToolsetOptions)


@dataclass(frozen=True)
class _Call:
    """The function of one MCP tool: sends the validated input to the server."""

    connection: Connection
    server_name: str  # the tool's name on the server (without the prefix)

    async def __call__(self, arguments: dict[str, object], ctx: RunContext[object]) -> object:
        meta: dict[str, object] | None = None
        if ctx.idempotency_key is not None:
            meta = {IDEMPOTENCY_KEY_META: ctx.idempotency_key}
        connection = self.connection
        try:
            result = await connection.run_async(
                lambda: connection.call(self.server_name, arguments, meta)
            )
        except (ToolCallFailed, MCPServerError) as exc:
            raise ToolError(str(exc)) from exc
        except anyio.get_cancelled_exc_class():
            # A timeout: marked now, so the refresh before the next model call checks the
            # server (and restarts a hung one) outside any call's time limit.
            connection.abandoned()
            raise
        content, is_error = to_tool_result(result)
        if is_error:
            raise ToolError(content or "The tool reported an error without saying more.")
        return content or None


class MCPToolset:
    """The tools of one MCP server, run by agentkit's executor: pass it in `Agent(tools=[...])`.

    Make one with `MCPToolset.stdio(command, args)` or `MCPToolset.http(url)`. The server
    starts on first use (or when the agent is entered: `with agent:` / `async with agent:`),
    serves every run of the agent, and stops on `agent.close()` (or `toolset.close()`). Its
    tools keep the server's own JSON schemas; calls go through the executor like any tool's
    (concurrency, timeouts, `before_tool` hooks, approvals, journaling). A tool list change the
    server announces is picked up before the next model call.

    Args:
        spec: Where the server is (made by `stdio` / `http`).
        prefix: Put `"<prefix>_"` before each tool name (to avoid clashes).
        include: Offer only these tools (server names); None for all.
        exclude: Never offer these tools (server names).
        timeout: Seconds a call may take; None uses the agent's `tool_timeout`.
        requires_approval: True for every tool, or the server names of the tools whose calls
            wait for a human's approval.
        sequential: Never run this server's calls beside other calls of a turn.
        logger: Gets the server's stderr lines and log messages (default
            `logging.getLogger("agentkit.mcp.<name>")`); never the terminal unless you log there.
        probe_timeout: Seconds the server may take to answer the check made after a call was
            abandoned (its timeout); past it, the server is restarted.

    Raises:
        ConfigurationError: A setting is of the wrong kind (a bare string for a list of names,
            a prefix the API's tool-name rule refuses, a timeout <= 0).
    """

    def __init__(
        self,
        spec: ServerSpec,
        *,
        prefix: str | None = None,
        include: Collection[str] | None = None,
        exclude: Collection[str] = (),
        timeout: float | None = None,
        requires_approval: bool | Collection[str] = False,
        sequential: bool = False,
        logger: logging.Logger | None = None,
        probe_timeout: float = 5.0,
    ) -> None:
        where = f"MCPToolset({spec.name!r})"
        self.include = None if include is None else _names(where, "include", include)
        self.exclude = _names(where, "exclude", exclude)
        if isinstance(requires_approval, bool):
            self.requires_approval: bool | frozenset[str] = requires_approval
        else:
            self.requires_approval = _names(where, "requires_approval", requires_approval)
        if prefix is not None and not NAME_RE.match(f"{prefix}_x"):
            raise ConfigurationError(f"{where}: prefix {prefix!r} must match {NAME_RE.pattern}")
        for label, value in (("timeout", timeout), ("probe_timeout", probe_timeout)):
            if value is not None and (isinstance(value, bool) or not value > 0):
                raise ConfigurationError(f"{where}: {label} must be a number > 0, not {value!r}")
        self.spec = spec
        self.prefix = prefix
        self.timeout = timeout
        self.sequential = sequential
        self.logger = logger or logging.getLogger(f"agentkit.mcp.{spec.name}")
        self._connection = Connection(spec, self.logger, probe_timeout)
        self._tools: list[Tool[..., object]] = []
        self._built = 0  # the connection's list count the tools were built from (0: none yet)

    @classmethod
    def stdio(
        cls,
        command: str,
        args: Sequence[str] = (),
        *,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
        name: str | None = None,
        **options: Unpack[MCPToolsetOptions],
    ) -> MCPToolset:
        """A server run as a subprocess that speaks MCP on its stdin and stdout.

        Args:
            command: The program, e.g. `"npx"` or `sys.executable`.
            args: Its arguments.
            env: Extra environment variables (over a safe default set: PATH, HOME ...).
            cwd: The working directory.
            name: A name for logs and errors; defaults to the command's last word.
            **options: The keywords of `MCPToolset` (prefix, include, timeout ...).

        Returns:
            The toolset (the server starts on first use).

        Raises:
            TypeError: An unknown keyword (naming the closest valid one).
            ConfigurationError: A setting of the wrong kind.
        """
        check_options(options, _OPTIONS, where="MCPToolset.stdio()")
        if isinstance(args, str):
            raise ConfigurationError("MCPToolset.stdio(): args is a list of strings, not a string")
        label = name or (args[-1] if args else command).rsplit("/", 1)[-1]
        spec = ServerSpec(label, command=command, args=tuple(args), env=env, cwd=cwd)
        return cls(spec, **options)

    @classmethod
    def http(
        cls,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        name: str | None = None,
        transport: Literal["streamable-http", "sse"] = "streamable-http",
        **options: Unpack[MCPToolsetOptions],
    ) -> MCPToolset:
        """A server reached over HTTP: streamable HTTP, or SSE for a server that only has that.

        Args:
            url: The endpoint, e.g. `"http://127.0.0.1:8000/mcp"`.
            headers: Sent with every request (an `Authorization` header ...); never logged.
            transport: `"streamable-http"` (default) or `"sse"`.
            name: A name for logs and errors; defaults to the URL's host.
            **options: The keywords of `MCPToolset`.

        Returns:
            The toolset (connected on first use).

        Raises:
            ConfigurationError: A setting of the wrong kind, or an unknown transport.
            TypeError: An unknown keyword (naming the closest valid one).
        """
        check_options(options, _OPTIONS, where="MCPToolset.http()")
        if transport not in ("streamable-http", "sse"):
            raise ConfigurationError(
                f"MCPToolset.http(): transport is 'streamable-http' or 'sse', not {transport!r}"
            )
        label = name or url.split("//", 1)[-1].split("/", 1)[0]
        spec = ServerSpec(label, url=url, headers=dict(headers or {}), transport=transport)
        return cls(spec, **options)

    @property
    def name(self) -> str:
        """The server's name in logs and errors."""
        return self.spec.name

    def __repr__(self) -> str:
        return f"MCPToolset({self.spec!r}, tools={[t.name for t in self._tools]!r})"

    # -- the ToolSource protocol ----------------------------------------------------------------

    def current_tools(self) -> Sequence[Tool[..., object]]:
        """The tools as of the last refresh (empty before the server started)."""
        if self._built != self._connection.listed:
            self._tools = self._build(self._connection.tools)
            self._built = self._connection.listed
        return self._tools

    def refresh_tools(self) -> None:
        """Start the server if needed and re-read its tools if they changed (blocking).

        Raises:
            MCPServerError: The server cannot be started or listed, or a filter names a tool
                it does not have.
        """
        self._connection.run_now(self._connection.refresh)
        self.current_tools()

    def close(self) -> None:
        """Stop the server (blocking). A later use starts it again."""
        self._connection.shutdown()

    def __enter__(self) -> Self:
        self.refresh_tools()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- reading the server ----------------------------------------------------------------------

    def list_tools(self) -> list[Tool[..., object]]:
        """Start the server if needed and return its tools, as the agent offers them."""
        self.refresh_tools()
        return list(self.current_tools())

    def lint(self) -> dict[str, list[LintIssue]]:
        """Lint the server's tool definitions, as `Toolset.lint` does for `@tool` functions.

        Returns:
            The findings by tool name, for the tools that have any.
        """
        found = {t.name: t.lint() for t in self.list_tools()}
        return {name: issues for name, issues in found.items() if issues}

    @property
    def starts(self) -> int:
        """How many times the server was started (more than once after a crash)."""
        return self._connection.starts

    def _build(self, listed: Sequence[Mapping[str, object]]) -> list[Tool[..., object]]:
        names = [str(t.get("name")) for t in listed]
        for label, wanted in (
            ("include", self.include or frozenset()),
            ("exclude", self.exclude),
            ("requires_approval", self._approval_names()),
        ):
            missing = sorted(set(wanted) - set(names))
            if missing:
                raise MCPServerError(
                    self.name,
                    f"{label} names tools it does not have: {', '.join(missing)} "
                    f"(it has: {', '.join(names) or 'none'})",
                )
        tools: list[Tool[..., object]] = []
        for raw, server_name in zip(listed, names, strict=True):
            if (self.include is not None and server_name not in self.include) or (
                server_name in self.exclude
            ):
                continue
            tools.append(self._tool(raw, server_name))
        return tools

    def _approval_names(self) -> frozenset[str]:
        return frozenset() if isinstance(self.requires_approval, bool) else self.requires_approval

    def _tool(self, raw: Mapping[str, object], server_name: str) -> Tool[..., object]:
        name = f"{self.prefix}_{server_name}" if self.prefix else server_name
        if not NAME_RE.match(name):
            raise MCPServerError(
                self.name,
                f"tool name {name!r} does not fit the API's rule {NAME_RE.pattern}; "
                "leave it out with exclude= (or use a shorter prefix)",
            )
        raw_schema = raw.get("inputSchema")
        schema: dict[str, object] = (
            {str(k): v for k, v in raw_schema.items()}
            if isinstance(raw_schema, Mapping)
            else {"type": "object"}
        )
        description = raw.get("description")
        description = description if isinstance(description, str) else ""
        approval = self.requires_approval
        return Tool(
            function=_Call(self._connection, server_name),
            name=name,
            description=description,
            input_schema=schema,
            schema=input_schema(name, description, schema),
            timeout=self.timeout,
            sequential=self.sequential,
            requires_approval=approval if isinstance(approval, bool) else server_name in approval,
        )


def _names(where: str, label: str, value: object) -> frozenset[str]:
    if isinstance(value, str) or not isinstance(value, Collection):
        raise ConfigurationError(f"{where}: {label} is a list of tool names, not {value!r}")
    names = frozenset(value)
    if not all(isinstance(n, str) for n in names):
        raise ConfigurationError(f"{where}: {label} holds tool names (strings): {value!r}")
    return names
