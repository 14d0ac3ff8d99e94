"""Checks of what a caller passes to a public constructor or call: no keyword and no value is
silently ignored.

`check_options` is the one keyword check (against a TypedDict's keys or a signature's names), and
`strict` applies it to a callable with a fixed signature, so Python's bare "unexpected keyword
argument" gains the closest valid name. The value checks raise `ConfigurationError` saying what
is allowed.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import TypeVar

from typing_extensions import ParamSpec

from ._exceptions import ConfigurationError

__all__ = [
    "check_choice",
    "check_number",
    "check_options",
    "option_names",
    "strict",
    "strict_init",
    "unknown_option",
]

P = ParamSpec("P")
R = TypeVar("R")
C = TypeVar("C", bound=type)


def option_names(spec: object) -> frozenset[str]:
    """The keyword names `spec` takes: a TypedDict's keys, or a callable's named parameters.

    A callable's `*args` / `**kwargs` and positional-only parameters are not names one can pass
    by keyword, so they are left out.
    """
    required = getattr(spec, "__required_keys__", None)
    optional = getattr(spec, "__optional_keys__", None)
    if isinstance(required, frozenset) and isinstance(optional, frozenset):
        return frozenset(str(k) for k in required | optional)
    if not callable(spec):
        raise TypeError(f"not a TypedDict or a callable: {spec!r}")
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    parameters = inspect.signature(spec).parameters.values()
    return frozenset(p.name for p in parameters if p.kind in kinds and p.name != "self")


def unknown_option(name: str, valid: Iterable[str], *, where: str, kind: str = "option") -> str:
    """The message for an unknown keyword: the closest valid name, else every valid name.

    Args:
        name: The keyword given.
        valid: The names `where` takes.
        where: What was called, e.g. `"Client()"`.
        kind: What a name is called there (`"option"`, `"argument"`).
    """
    import difflib  # only an unknown keyword needs it: not loaded at import (issue 18)

    names = sorted(valid)
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    if close:
        hint = f"did you mean {close[0]!r}?"
    else:
        hint = f"valid {kind}s: {', '.join(names)}" if names else f"it takes no {kind}s"
    return f"{where} got an unknown {kind} {name!r}; {hint}"


def check_options(
    given: Iterable[str],
    valid: Collection[str],
    *,
    where: str,
    kind: str = "option",
    not_taken: Mapping[str, str] | None = None,
) -> None:
    """Refuse any name in `given` (keywords, or a mapping's keys) that `valid` does not hold.

    Args:
        given: The keywords passed.
        valid: The names accepted (see `option_names`).
        where: What was called, e.g. `"Client()"`, for the message.
        kind: What a name is called there (`"option"`, `"argument"`).
        not_taken: Names a user may expect (the official SDK's) that are deliberately not
            taken, each with what to do instead; the message says that rather than guess.

    Raises:
        TypeError: naming the first unknown keyword and the closest valid one.
    """
    for name in given:
        if name not in valid:
            if not_taken and name in not_taken:
                raise TypeError(f"{where} does not take {name!r}: {not_taken[name]}")
            raise TypeError(unknown_option(name, valid, where=where, kind=kind))


def strict(func: Callable[P, R]) -> Callable[P, R]:
    """`func`, refusing an unknown keyword with the closest valid name (see `check_options`).

    For callables with a fixed signature (`@dataclass` constructors, `with_options`, `tool`);
    the names are read from the signature on the first call, so importing costs nothing.
    """
    names: list[frozenset[str]] = []
    method = "." in func.__qualname__ and "<locals>" not in func.__qualname__

    @functools.wraps(func)
    def checked(*args: P.args, **kwargs: P.kwargs) -> R:
        if kwargs:
            if not names:
                names.append(option_names(func))
            if kwargs.keys() - names[0]:
                # A method is named after the instance's class (`Client.with_options()`).
                owner = f"{type(args[0]).__name__}." if method and args else ""
                where = f"{owner}{func.__name__}()".replace(".__init__", "")
                check_options(kwargs, names[0], where=where)
        return func(*args, **kwargs)

    return checked


def strict_init(cls: C) -> C:
    """A class whose `__init__` is `strict` (put it above `@dataclass`)."""
    init: Callable[..., None] = cls.__dict__["__init__"]
    # setattr: mypy does not let a method be assigned; the signature is unchanged.
    setattr(cls, "__init__", strict(init))  # noqa: B010
    return cls


def check_number(
    where: str,
    name: str,
    value: float | None,
    *,
    minimum: float = 0,
    inclusive: bool = False,
    optional: bool = True,
) -> None:
    """Refuse a number outside its range (`bool` is not a number here).

    Args:
        where: What was called, for the message.
        name: The option's name.
        value: The value given.
        minimum: The lower bound.
        inclusive: The bound itself is allowed (`>=`), else only above it (`>`).
        optional: None is allowed (it means "no limit" or "the default").

    Raises:
        ConfigurationError: saying what is allowed.
    """
    if value is None and optional:
        return
    allowed = f"{'>=' if inclusive else '>'} {minimum:g}" + (" or None" if optional else "")
    ok = (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and (value >= minimum if inclusive else value > minimum)
    )
    if not ok:
        raise ConfigurationError(f"{where}: {name} must be a number {allowed}, not {value!r}")


def check_choice(where: str, name: str, value: object, choices: Collection[object]) -> None:
    """Refuse a value outside a fixed set (a `Literal` option).

    Raises:
        ConfigurationError: listing the allowed values.
    """
    if value not in tuple(choices):  # a tuple: `in` by equality, unhashable values too
        allowed = ", ".join(repr(c) for c in choices)
        raise ConfigurationError(f"{where}: {name} must be one of {allowed}, not {value!r}")
