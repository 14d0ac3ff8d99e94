"""Package attributes loaded on first access (a module `__getattr__`, PEP 562).

`agentkit.types` and `agentkit.client` name their pydantic models this way, so that importing
them (and `from agentkit import Agent, Client, tool`) builds none (issue 18: import time).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping

__all__ = ["lazy_getattr"]


def lazy_getattr(package: str, table: Mapping[str, str]) -> Callable[[str], object]:
    """A module `__getattr__` for `package`: a name in `table` is imported from the submodule
    `table[name]` on first access and kept in the package; any other name is an AttributeError.
    """
    namespace = sys.modules[package].__dict__

    def module_getattr(name: str) -> object:
        module = table.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        namespace[name] = value
        return value

    return module_getattr
