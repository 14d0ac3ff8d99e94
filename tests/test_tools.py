"""The `@tool` decorator, the `Tool` value object and `Toolset` (agentkit/_tools.py)."""

from __future__ import annotations

import dataclasses
import re
import sys
import types
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import pytest
from typing_extensions import assert_type

from agentkit import RunContext, Tool, ToolDefinitionError, Toolset, tool


@tool
def add(a: int, b: int = 1) -> int:
    """Add two numbers.

    Args:
        a: The first number.
        b: The second number.
    """
    return a + b


@tool(name="fetch_page", timeout=5, sequential=True, requires_approval=True, strict=True)
async def fetch(url: str, ctx: RunContext[None]) -> str:
    """Fetch a web page.

    Args:
        url: The address.
    """
    return url


ADD_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "a": {"description": "The first number.", "type": "integer"},
        "b": {"default": 1, "description": "The second number.", "type": "integer"},
    },
    "required": ["a"],
}


def test_bare_decorator() -> None:
    assert isinstance(add, Tool)
    assert add(2, b=3) == 5
    assert (add.name, add.description) == ("add", "Add two numbers.")
    assert add.input_schema == ADD_SCHEMA
    assert add.to_param() == {
        "name": "add",
        "description": "Add two numbers.",
        "input_schema": ADD_SCHEMA,
    }
    assert not add.is_async
    assert add.lint() == []


@pytest.mark.anyio
async def test_decorator_with_options() -> None:
    assert fetch.name == "fetch_page"
    assert (fetch.timeout, fetch.sequential, fetch.requires_approval) == (5, True, True)
    assert fetch.is_async
    assert await fetch("u", RunContext(deps=None)) == "u"
    assert fetch.to_param() == {
        "name": "fetch_page",
        "description": "Fetch a web page.",
        "input_schema": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"url": {"description": "The address.", "type": "string"}},
            "required": ["url"],
        },
        "strict": True,
    }


def test_cache_control_and_extra_keys() -> None:
    def ping() -> str:
        return "pong"

    t = tool(
        ping,
        description="Check liveness.",
        cache_control={"type": "ephemeral"},
        extra={"defer_loading": True, "input_examples": [{}]},
    )
    assert t.to_param() == {
        "name": "ping",
        "description": "Check liveness.",
        "input_schema": {
            "type": "object",
            "additionalProperties": False,
            "properties": {},
            "required": [],
        },
        "cache_control": {"type": "ephemeral"},
        "defer_loading": True,
        "input_examples": [{}],
    }


def test_to_param_returns_a_copy() -> None:
    param: dict[str, Any] = add.to_param()
    param["input_schema"]["properties"]["a"]["type"] = "string"
    assert add.input_schema == ADD_SCHEMA


def test_tool_without_decorator_and_replace() -> None:
    def mul(a: int, b: int) -> int:
        """Multiply."""
        return a * b

    t = tool(mul, name="times")
    assert t(3, 4) == 12
    assert t.name == "times"
    slower = dataclasses.replace(t, timeout=30.0)
    assert (slower.timeout, slower.name, slower(2, 2)) == (30.0, "times", 4)
    assert tool(t).name == "mul"  # re-wrapping starts from the function


def test_empty_description_is_not_sent_and_linted() -> None:
    def nop(x: int) -> None:
        pass

    t = tool(nop)
    assert "description" not in t.to_param()
    assert [i.code for i in t.lint()] == ["no-description", "undocumented-parameter"]
    described = dataclasses.replace(t, description="Does nothing.")
    assert [i.code for i in described.lint()] == ["undocumented-parameter"]


def test_bad_options_are_reported_with_schema_problems() -> None:
    def f(*args: int) -> None:
        pass

    with pytest.raises(ToolDefinitionError) as info:
        tool(f, timeout=0)
    assert info.value.problems == [
        "*args is not supported: the model passes named arguments",
        "timeout must be positive, got 0",
    ]


class Counter:
    def __init__(self, start: int) -> None:
        self.value = start

    @tool
    def bump(self, by: int = 1) -> int:
        """Increase the counter.

        Args:
            by: The increment.
        """
        self.value += by
        return self.value

    @tool
    @staticmethod
    def double(x: int) -> int:
        """Double a number.

        Args:
            x: The number.
        """
        return 2 * x


def test_methods_are_bound_on_access() -> None:
    c = Counter(10)
    bound = c.bump
    assert isinstance(bound, Tool)
    assert bound(5) == 15
    assert c.bump() == 16
    assert bound.input_schema == {
        "type": "object",
        "additionalProperties": False,
        "properties": {"by": {"default": 1, "description": "The increment.", "type": "integer"}},
        "required": [],
    }
    # On the class the tool stays unbound and takes `self` explicitly.
    assert Counter.bump(c, 1) == 17
    # Type checkers assume a tool read from an instance is a bound method (the common case);
    # at runtime only a tool with an unannotated `self` is bound.
    assert Counter(0).double(4) == 8 == Counter.double(4)  # type: ignore[call-arg]


def test_signatures_survive_for_type_checkers() -> None:
    # Checked by mypy (`mypy tests/test_tools.py`); at runtime assert_type only returns its value.
    assert assert_type(add(1, 2), int) == 3
    assert assert_type(Counter(1).bump(2), int) == 3
    assert assert_type(Counter.bump(Counter(1), 2), int) == 3
    coro = assert_type(fetch("u", RunContext(deps=None)), Coroutine[Any, Any, str])
    coro.close()


def test_plain_tool_as_class_attribute_is_not_bound() -> None:
    class Holder:
        adder = add

    assert Holder().adder(1, 2) == 3  # type: ignore[call-arg]


def test_toolset() -> None:
    def echo(text: str) -> str:
        """Echo."""
        return text

    web_search = {"type": "web_search_20250305", "name": "web_search", "max_uses": 3}
    mcp = {"type": "mcp_toolset", "mcp_server_name": "docs"}
    ts = Toolset([add, web_search, echo, mcp])
    assert ts.names == ["add", "echo"]
    assert ts.get("echo") is not None and ts.get("echo")("x") == "x"  # type: ignore[misc]
    assert ts["add"] is add
    assert "web_search" not in ts and "add" in ts
    assert len(ts) == 2
    assert ts.raw == [web_search, mcp]
    params = ts.to_params()
    assert [p.get("name") for p in params] == ["add", "web_search", "echo", None]
    assert params[1] == web_search and params[1] is not web_search
    assert Toolset.of(ts) is ts
    assert {name: [i.code for i in issues] for name, issues in ts.lint().items()} == {
        "echo": ["undocumented-parameter"]
    }


def test_toolset_rejects_duplicates_and_junk() -> None:
    with pytest.raises(ToolDefinitionError) as info:
        Toolset([add, {"type": "custom", "name": "add", "input_schema": {}}])
    assert info.value.problems == ["tool name 'add' is used more than once"]
    junk: Any = 3
    with pytest.raises(ToolDefinitionError):
        Toolset([junk])


DOCS = Path(__file__).resolve().parents[1] / "docs" / "tools.md"


def doc_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOCS.read_text(encoding="utf-8"), flags=re.DOTALL)


def test_docs_have_examples() -> None:
    assert len(doc_blocks()) >= 10


@pytest.mark.parametrize("index", range(len(doc_blocks())))
def test_docs_examples_run(index: int) -> None:
    # Each block runs as a module of its own (dataclasses look their module up).
    module = types.ModuleType(f"docs_tools_{index}")
    code = compile(doc_blocks()[index], f"docs/tools.md block {index}", "exec", dont_inherit=True)
    sys.modules[module.__name__] = module
    try:
        exec(code, module.__dict__)
    finally:
        del sys.modules[module.__name__]
