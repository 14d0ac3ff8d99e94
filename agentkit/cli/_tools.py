"""The tools of `agentkit demo` and `agentkit chat`: a calculator, a clock, a file reader confined
to one directory, and a fact service that fails on its first call (to show error handling)."""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field

from .._exceptions import ToolError
from ..tools._tool import Tool, tool
from ._defaults import DEMO_FILES

__all__ = ["DEMO_FILES", "demo_tools", "evaluate"]


# Results go through `_checked`: `(-8) ** 0.5` is complex, `round` of a float is an int.
_BINARY: dict[type[ast.operator], Callable[[float, float], object]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY: dict[type[ast.unaryop], Callable[[float], float]] = {
    ast.UAdd: operator.pos,
    ast.USub: operator.neg,
}
_FUNCTIONS: dict[str, Callable[..., object]] = {
    "abs": abs,
    "round": round,
    "min": min,
    "max": max,
    "sqrt": math.sqrt,
    "log": math.log,
    "log10": math.log10,
    "exp": math.exp,
    "sin": math.sin,
    "cos": math.cos,
    "tan": math.tan,
    "floor": math.floor,
    "ceil": math.ceil,
}
_CONSTANTS = {"pi": math.pi, "e": math.e, "tau": math.tau}
# Bounds that keep one expression cheap: `9**9**9` would otherwise run for minutes.
_MAX_EXPONENT = 10_000
_MAX_MAGNITUDE = 10**300
_MAX_LENGTH = 500


def evaluate(expression: str) -> int | float:
    """Evaluate arithmetic safely: numbers, + - * / // % **, parentheses, a few math functions
    and constants. The expression is parsed with `ast` and walked; nothing is `eval`ed.

    Args:
        expression: E.g. `"(1234 * 5678) / 3"` or `"sqrt(2) * pi"`.

    Returns:
        The value.

    Raises:
        ToolError: The expression is not arithmetic this evaluator knows, or cannot be computed.
    """
    if len(expression) > _MAX_LENGTH:
        raise ToolError(f"the expression is longer than {_MAX_LENGTH} characters")
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError as exc:
        raise ToolError(f"not a valid expression: {exc.msg}") from None
    try:
        value: int | float = _eval(tree.body)
    except ZeroDivisionError:
        raise ToolError("division by zero") from None
    except (ValueError, OverflowError, TypeError) as exc:
        raise ToolError(f"cannot compute {expression!r}: {exc}") from None
    return value


def _eval(node: ast.expr) -> int | float:
    value = node.value if isinstance(node, ast.Constant) else None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    if isinstance(node, ast.Name) and node.id in _CONSTANTS:
        return _CONSTANTS[node.id]
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _eval(node.left), _eval(node.right)
        if isinstance(node.op, ast.Pow) and abs(right) > _MAX_EXPONENT:
            raise ValueError(f"exponent {right} is too large")
        return _checked(_BINARY[type(node.op)](left, right))
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_eval(node.operand))
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in _FUNCTIONS
        and not node.keywords
    ):
        return _checked(_FUNCTIONS[node.func.id](*(_eval(a) for a in node.args)))
    if isinstance(node, ast.Call):
        node = node.func  # name the function that is not allowed, not "Call"
    name = node.id if isinstance(node, ast.Name) else type(node).__name__
    known = ", ".join([*_FUNCTIONS, *_CONSTANTS])
    raise ToolError(
        f"{name!r} is not allowed; use numbers, + - * / // % ** and parentheses, and {known}"
    )


def _checked(value: object) -> int | float:
    if isinstance(value, int) and abs(value) > _MAX_MAGNITUDE:
        raise ValueError("the result is too large")
    if isinstance(value, complex):
        raise ValueError("the result is not a real number")
    if not isinstance(value, (int, float)):
        raise TypeError(f"the result {value!r} is not a number")
    return value


def demo_tools(root: Path = DEMO_FILES) -> list[Tool[..., object]]:
    """The demo's tools; the file tools see only `root`.

    Args:
        root: The one directory the file tools may read.

    Returns:
        `calculate`, `current_time`, `list_files`, `read_file` and `lookup_fact`.
    """
    base = root.resolve()
    fact_calls = 0

    @tool
    def calculate(expression: Annotated[str, Field(examples=["(1234 * 5678) / 3"])]) -> str:
        """Evaluate an arithmetic expression exactly; use it for any arithmetic.

        Args:
            expression: Numbers, + - * / // % ** and parentheses, plus sqrt, log, exp, sin,
                cos, tan, abs, round, min, max, floor, ceil, pi and e. E.g. "(3 + 4) * 2".
        """
        value = evaluate(expression)
        return (
            f"{expression} = {value:.12g}"
            if isinstance(value, float)
            else f"{expression} = {value}"
        )

    @tool
    def current_time(timezone: Annotated[str, Field(examples=["Asia/Tokyo"])] = "UTC") -> str:
        """The current date and time in a time zone.

        Args:
            timezone: An IANA time zone name, e.g. "Europe/Paris" or "Asia/Tokyo".
        """
        try:
            zone = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ToolError(f"unknown time zone {timezone!r}; use an IANA name") from None
        return datetime.now(zone).strftime(f"%Y-%m-%d %H:%M:%S ({timezone}, %A)")

    @tool
    def list_files() -> list[str]:
        """List the files the read_file tool can read."""
        return sorted(str(p.relative_to(base)) for p in base.rglob("*") if p.is_file())[:200]

    @tool
    def read_file(path: Annotated[str, Field(examples=["notes.txt"])]) -> str:
        """Read a text file from the demo directory.

        Args:
            path: The file's path relative to the demo directory, e.g. "notes.txt".
        """
        target = (base / path).resolve()
        # Resolve first, then compare: this refuses `..`, absolute paths and symlinks that
        # point outside the directory alike.
        if not target.is_relative_to(base):
            raise ToolError(f"refused: {path!r} is outside the directory this tool may read")
        if not target.is_file():
            files = ", ".join(list_files.function()) or "none"
            raise ToolError(f"no file {path!r}; the files are: {files}")
        data = target.read_bytes()[:100_000]
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise ToolError(f"{path!r} is not a UTF-8 text file") from None

    @tool
    def lookup_fact(topic: Annotated[str, Field(examples=["octopus"])]) -> str:
        """Look up a fact in the fact service. The service is flaky: if a call fails, try again.

        Args:
            topic: What to look up, e.g. "octopus" or "python".
        """
        nonlocal fact_calls
        fact_calls += 1
        if fact_calls == 1:
            # A deliberate, ordinary exception (not a ToolError): the runner still turns it into
            # an error result the model reads, and the model can retry.
            raise ConnectionError("fact service timed out (simulated outage); try again")
        key = topic.strip().lower()
        fact = next((_FACTS[k] for k in _keys(key) if k in _FACTS), None)
        if fact is None:
            raise ToolError(f"no fact about {topic!r}; known topics: {', '.join(sorted(_FACTS))}")
        return fact

    return [calculate, current_time, list_files, read_file, lookup_fact]


def _keys(topic: str) -> tuple[str, ...]:
    """The topic and its singular guesses ("octopuses" -> "octopus")."""
    return (topic, topic.removesuffix("es"), topic.removesuffix("s"))


_FACTS = {
    "octopus": "An octopus has three hearts and blue, copper-based blood.",
    "python": "Python was named after Monty Python, not the snake.",
    "honey": "Honey found in ancient Egyptian tombs was still edible.",
    "claude": "Claude is a family of AI models made by Anthropic.",
}
