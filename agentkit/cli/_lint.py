"""`agentkit tools lint module[:obj]`: load a tool set by name and print its schema lint."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import TextIO

from .._exceptions import ConfigurationError
from ..tools._tool import Tool, Toolset, ToolSource
from ._output import Style

__all__ = ["lint_target", "load_target", "toolset_of"]


def load_target(target: str) -> object:
    """The object named by `module:attr` (`attr` may be dotted; the module may be a `.py` path).

    Without `:attr`, the tools the module defines: every `Tool`, `Toolset` and `Agent` at its top
    level, as one `Toolset` (each tool once). The current directory is importable, as with
    `python -m`.

    Raises:
        ConfigurationError: The target is malformed or cannot be found.
    """
    module_name, sep, attr = target.partition(":")
    if not module_name or (sep and not attr):
        raise ConfigurationError(f"expected module or module:object, got {target!r}")
    module = _import(module_name)
    if not sep:
        return _module_tools(module_name, module)
    obj: object = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            found = ", ".join(_tool_like_names(module)) or "none"
            raise ConfigurationError(
                f"{module_name!r} has no attribute {attr!r} (tools, toolsets and agents there: "
                f"{found})"
            ) from None
    return obj


def _import(module_name: str) -> ModuleType:
    if module_name.endswith(".py") or "/" in module_name:
        path = Path(module_name)
        if not path.is_file():
            raise ConfigurationError(f"no file {module_name}")
        spec = importlib.util.spec_from_file_location(path.stem, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[path.stem] = module
        spec.loader.exec_module(module)
        return module
    if "" not in sys.path and str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise ConfigurationError(f"cannot import {module_name!r}: {exc}") from exc


def _tool_like_names(module: ModuleType) -> list[str]:
    from ..runner._agent import Agent

    return [
        name
        for name, value in vars(module).items()
        if not name.startswith("_") and isinstance(value, (Tool, Toolset, Agent))
    ]


def _module_tools(module_name: str, module: ModuleType) -> Toolset:
    """Every tool a module holds at top level, directly or in a toolset or agent, once each."""
    by_name: dict[str, Tool[..., object]] = {}
    for name in _tool_like_names(module):
        for item in toolset_of(getattr(module, name)):
            by_name.setdefault(item.name, item)
    if not by_name:
        raise ConfigurationError(
            f"{module_name!r} defines no tools at top level; name one with module:object"
        )
    return Toolset(list(by_name.values()))


def toolset_of(obj: object) -> Toolset:
    """A toolset from a tool, a function, a list of them, a `Toolset` or an `Agent`.

    Raises:
        ConfigurationError: `obj` is none of those.
    """
    from ..runner._agent import Agent

    if isinstance(obj, Agent):
        return obj.toolset
    if isinstance(obj, Toolset):
        return obj
    if isinstance(obj, Tool) or callable(obj):
        return Toolset([obj])
    if isinstance(obj, (list, tuple)):
        return Toolset(obj)
    raise ConfigurationError(
        f"{type(obj).__name__} is not a tool, a list of tools, a Toolset or an Agent"
    )


def lint_target(
    target: str | None, out: TextIO, style: Style, *, servers: Sequence[ToolSource] = ()
) -> int:
    """Print every tool's lint findings: the target's, and those of each tool source (MCP
    servers: started, listed and stopped here).

    Returns:
        0 when no tool has findings, 1 otherwise (like other linters).
    """
    toolset = toolset_of(load_target(target)) if target else Toolset()
    try:
        for source in [*toolset.sources, *servers]:
            source.refresh_tools()
        tools = [*toolset, *(t for server in servers for t in server.current_tools())]
        return _print_lint(tools, toolset.raw, out, style)
    finally:
        for source in [*toolset.sources, *servers]:
            source.close()


def _print_lint(
    tools: Sequence[Tool[..., object]], raw: Sequence[dict[str, object]], out: TextIO, style: Style
) -> int:
    total = 0
    for item in tools:
        issues = item.lint()
        total += len(issues)
        if not issues:
            out.write(f"{style.ok} {item.name}\n")
            continue
        out.write(
            f"{style.fail} {item.name}: {len(issues)} issue{'s' if len(issues) > 1 else ''}\n"
        )
        for issue in issues:
            where = f" ({issue.parameter})" if issue.parameter else ""
            out.write(f"    {style.paint(issue.code, 'yellow')}{where}: {issue.message}\n")
    for definition in raw:
        name = definition.get("name", definition.get("type"))
        out.write(f"- {name}: a raw tool definition, not linted\n")
    summary = f"{len(tools)} tool{'s' if len(tools) != 1 else ''}, {total} issue"
    out.write(summary + ("" if total == 1 else "s") + "\n")
    return 1 if total else 0
