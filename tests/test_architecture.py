"""The house rules, checked: imports run downward through the layers, no import circles, no
private name reached across packages, and a curated top level whose lazy table agrees with its
type-checking imports. `docs/architecture.md` draws the same map."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
import textwrap
from collections import defaultdict
from pathlib import Path

import pytest

import agentkit

PACKAGE = Path(agentkit.__file__).parent

# The floor of each part of the package; a module may import its own part or a lower floor.
LAYERS = {
    "_version": 0,
    "_exceptions": 0,
    "_options": 1,
    "types": 1,
    "streaming": 2,
    "tools": 2,
    "conversation": 2,
    "observability": 2,
    "client": 3,
    "stores": 3,
    "testing": 3,
    "runner": 4,
    "hosts": 4,
    "batches": 5,
    "temporal": 5,
    "web": 5,
    "mcp": 5,
    "cli": 6,
    "bedrock": 7,
    "vertex": 7,
    "foundry": 7,
    "__init__": 7,
    "__main__": 7,
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _part(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _type_only_lines(tree: ast.Module) -> set[int]:
    """Lines inside `if TYPE_CHECKING:` blocks: annotations only, never run."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            for stmt in node.body:
                lines.update(range(stmt.lineno, (stmt.end_lineno or stmt.lineno) + 1))
    return lines


def _imports(*, type_only: bool = False) -> list[tuple[str, str, list[str], int]]:
    """(importer, imported module, imported names, line) for every agentkit-internal import.

    Imports under `if TYPE_CHECKING:` are left out unless `type_only`: they run nowhere, so they
    make no circle and no runtime dependency (the error tree names `Message` that way).
    """
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        importer = _module_name(path)
        is_package = path.name == "__init__.py"
        tree = ast.parse(path.read_text())
        skip = set() if type_only else _type_only_lines(tree)
        for node in ast.walk(tree):
            if getattr(node, "lineno", None) in skip:
                continue
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = importer.split(".") if is_package else importer.split(".")[:-1]
                    base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
                    target = ".".join(base + ([node.module] if node.module else []))
                elif node.module and node.module.split(".")[0] == "agentkit":
                    target = node.module
                else:
                    continue
                names = [a.name for a in node.names]
                if not node.module:  # `from . import x` imports the submodule x
                    for name in names:
                        found.append((importer, f"{target}.{name}", [], node.lineno))
                    continue
                found.append((importer, target, names, node.lineno))
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.split(".")[0] == "agentkit":
                        found.append((importer, alias.name, [], node.lineno))
    return found


def test_every_part_has_a_floor() -> None:
    parts = {_part(_module_name(p)) for p in PACKAGE.rglob("*.py")}
    assert parts <= set(LAYERS), (
        f"add these to LAYERS and docs/architecture.md: {parts - set(LAYERS)}"
    )


def test_imports_only_run_downward() -> None:
    upward = []
    for importer, target, _names, line in _imports():
        mine, theirs = _part(importer), _part(target)
        if target == "agentkit" and importer != "agentkit":
            upward.append(f"{importer}:{line} imports the top-level package")
            continue
        if mine != theirs and LAYERS[theirs] >= LAYERS[mine]:
            upward.append(
                f"{importer}:{line} ({mine}, floor {LAYERS[mine]}) imports {target} "
                f"({theirs}, floor {LAYERS[theirs]})"
            )
    assert upward == []


def test_no_private_names_across_parts() -> None:
    reached = [
        f"{importer}:{line} takes {name} from {target}"
        for importer, target, names, line in _imports(type_only=True)
        if _part(importer) != _part(target)
        for name in names
        if name.startswith("_") and not name.startswith("__")
    ]
    assert reached == []


def _find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_no_import_circles_between_modules() -> None:
    """Imports inside functions count too: a deferred import still ties two modules in a knot."""
    modules = {_module_name(p) for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = defaultdict(set)
    for importer, target, names, _line in _imports():
        if target in modules and target != importer:
            graph[importer].add(target)
        for name in names:  # `from .pkg import module`
            if f"{target}.{name}" in modules:
                graph[importer].add(f"{target}.{name}")
    assert _find_cycle(graph) is None


# ----- the public surface ---------------------------------------------------------------------

SUBPACKAGES = [
    "agentkit.types",
    "agentkit.streaming",
    "agentkit.tools",
    "agentkit.conversation",
    "agentkit.client",
    "agentkit.stores",
    "agentkit.testing",
    "agentkit.runner",
    "agentkit.batches",
    "agentkit.mcp",
    "agentkit.bedrock",
    "agentkit.vertex",
    "agentkit.foundry",
]


def test_top_level_is_curated() -> None:
    assert len(agentkit.__all__) <= 50
    assert agentkit.__all__ == ["__version__", *sorted(set(agentkit.__all__) - {"__version__"})]
    for essential in ("Client", "AsyncClient", "Agent", "tool", "Conversation", "APIStatusError"):
        assert essential in agentkit.__all__


def test_the_lazy_table_agrees_with_the_type_checking_imports() -> None:
    tree = ast.parse((PACKAGE / "__init__.py").read_text())
    checked: dict[str, str] = {}
    lazy: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            for stmt in node.body:
                assert isinstance(stmt, ast.ImportFrom) and stmt.module
                for alias in stmt.names:
                    assert alias.asname == alias.name, "re-export as the same name"
                    checked[alias.name] = stmt.module
        if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", None) == "_EXPORTS":
            lazy = ast.literal_eval(node.value)  # type: ignore[arg-type]
    assert checked == lazy
    assert set(agentkit.__all__) == {*lazy, "__version__"}
    for name, module in lazy.items():
        assert getattr(agentkit, name) is getattr(
            importlib.import_module(f"agentkit.{module}"), name
        )


@pytest.mark.parametrize("package", SUBPACKAGES)
def test_each_subpackage_exports_a_sorted_all_that_resolves(package: str) -> None:
    module = importlib.import_module(package)
    names = module.__all__
    assert names == sorted(names), f"{package}.__all__ is not sorted"
    for name in names:
        assert hasattr(module, name), f"{package}.{name} is in __all__ but missing"


def test_every_public_name_has_exactly_one_home() -> None:
    """A name is public at the top level or in one subpackage, never in two unrelated places."""
    homes: dict[str, list[str]] = defaultdict(list)
    for package in ["agentkit", *SUBPACKAGES]:
        module = importlib.import_module(package)
        for name in module.__all__:
            homes[name].append(package)
    # The top-level names are re-exports of their subpackage's; that is the one allowed overlap.
    clashes = {
        name: places
        for name, places in homes.items()
        if len([p for p in places if p != "agentkit"]) > 1
        or (len(places) > 1 and "agentkit" not in places and len(places) != 1)
    }
    assert clashes == {}


def test_import_agentkit_is_lazy() -> None:
    code = (
        "import sys, agentkit; "
        "print(sorted(m for m in sys.modules if m.startswith(('agentkit.', 'httpx', 'pydantic'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['agentkit._version']"


# Loaded on first use, not by `from agentkit import Agent, Client, tool` (issue 18: import time):
# the agent loop, its drivers and events, the tool executor and the conversation (an agent is
# made or run), pydantic itself (the essentials need only pydantic-core: `from_json`, `to_json`,
# `ValidationError`), the response models, docstring-parser (read when a tool is defined), and
# anyio's synchronization primitives and blocking portal (first client, first sync tool run),
# and the standard library's uuid (a new conversation or run), platform (the user agent) and
# difflib (an unknown keyword), and httpcore with agentkit's lean pool (a client's first pool,
# as httpx itself loads httpcore with its first transport). httpx's command-line client, which
# imports uuid and platform too, is hidden, as in an install without it.
DEFERRED_BY_THE_ESSENTIALS = (
    "httpcore",
    "agentkit.client._pool",
    "agentkit.runner._loop",
    "agentkit.runner._core",
    "agentkit.runner._drivers",
    "agentkit.runner._events",
    "agentkit.tools._execute",
    "agentkit.conversation",
    "pydantic",
    "pydantic.main",
    "pydantic.type_adapter",
    "docstring_parser",
    "agentkit.types._message",
    "agentkit.types._batch",
    "agentkit.client._file_models",
    "agentkit.client._parse",
    "anyio.from_thread",
    "anyio._core._synchronization",
    "uuid",
    "platform",
    "difflib",
)
HIDE_HTTPX_CLI = "import sys; sys.modules.update(click=None, pygments=None, rich=None); "


def test_the_agent_essentials_do_not_build_response_models() -> None:
    """`from agentkit import Agent, Client, tool` leaves pydantic, its model machinery and the
    response models for the first response (issue 18: import time)."""
    code = (
        f"{HIDE_HTTPX_CLI}from agentkit import Agent, Client, tool; "
        f"print(sorted(m for m in {DEFERRED_BY_THE_ESSENTIALS!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_deferred_modules_load_when_used() -> None:
    """What the essentials defer loads where it is needed: anyio's limiter with an async
    client (with platform, for its user agent), pydantic's models and docstring-parser with the
    first tool, uuid with the first conversation, difflib with an unknown keyword, the loop, the
    executor and the conversation with the first agent, the drivers with its first run."""
    code = HIDE_HTTPX_CLI + textwrap.dedent(
        '''
        import sys
        from agentkit import Agent, AsyncClient, Client, Conversation, tool
        from agentkit.testing import FakeClaude

        AsyncClient(api_key="k", max_in_flight=2)
        Conversation()
        try:
            AsyncClient(api_key="k", max_inflight=2)
        except TypeError:
            pass

        @tool
        def echo(text: str) -> str:
            """Echo.

            Args:
                text: The text.
            """
            return text

        fake = FakeClaude(["done"])
        client = Client(api_key="k", http_client=fake.http_client())
        assert Agent("claude-sonnet-4-5", tools=[echo], client=client).run("hi").output == "done"
        print(sorted(m for m in ("pydantic", "pydantic.main", "docstring_parser", "httpcore",
                                 "agentkit.client._pool",
                                 "anyio._core._synchronization", "uuid", "platform", "difflib",
                                 "agentkit.runner._loop", "agentkit.runner._core",
                                 "agentkit.runner._drivers", "agentkit.runner._events",
                                 "agentkit.tools._execute", "agentkit.conversation")
                     if m not in sys.modules))
        '''
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_lazy_model_names_resolve_to_their_modules() -> None:
    from agentkit.client import FileMetadata, ParsedMessage
    from agentkit.types import Message, MessageBatch

    assert Message.__module__ == "agentkit.types._message"
    assert MessageBatch.__module__ == "agentkit.types._batch"
    assert FileMetadata.__module__ == "agentkit.client._file_models"
    assert issubclass(ParsedMessage, Message)
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        agentkit.types.Nope  # noqa: B018
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        agentkit.client.Nope  # noqa: B018
