"""The code in docs/ runs: every ```python block of a page, in order, in one namespace.

Blocks fenced as `text`, `bash` or anything but `python` are not run. Pages run offline: most
blocks use the fake Claude explicitly; for the ones written as a user with a key would write
them (`agentkit.Client()`), the environment points at a fake Claude served over loopback HTTP.
"""

from __future__ import annotations

import gc
import importlib
import re
import sys
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentkit import Agent, Client
from agentkit.testing import FakeClaude, FakeServer

DOCS = Path(__file__).resolve().parent.parent / "docs"
FENCE = re.compile(r"^```(\S*)[^\n]*\n(.*?)^```", re.DOTALL | re.MULTILINE)


def python_blocks(page: Path) -> list[tuple[int, str]]:
    """(line number, code) of each ```python block."""
    text = page.read_text(encoding="utf-8")
    return [
        (text.count("\n", 0, match.start()) + 2, match.group(2))
        for match in FENCE.finditer(text)
        if match.group(1) == "python"
    ]


# Pages by other authors whose blocks are not self-contained yet; they are left out (not skipped)
# until they run here. Each entry says why.
NOT_SELF_CONTAINED = {
    "cloud.md": "the Bedrock blocks need AWS credentials",
}

PAGES = sorted(
    p for p in DOCS.glob("*.md") if python_blocks(p) and p.name not in NOT_SELF_CONTAINED
)


@pytest.fixture(scope="module")
def fake_api() -> Iterator[str]:
    with FakeServer(FakeClaude()) as server:
        yield server.url


def test_my_pages_have_runnable_code() -> None:
    names = {p.name for p in PAGES}
    assert {"quickstart.md", "runner.md", "errors.md"} <= names
    assert set(NOT_SELF_CONTAINED) <= {p.name for p in DOCS.glob("*.md")}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_page_runs(
    page: Path, fake_api: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-docs-test")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake_api)
    monkeypatch.delenv("ANTHROPIC_AUTH_TOKEN", raising=False)
    monkeypatch.chdir(tmp_path)  # pages that write files (databases ...) write them here
    # The page runs as a module of its own: dataclasses and pydantic look their module up.
    module = types.ModuleType(f"docs_{page.stem.replace('-', '_')}")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    for line, code in python_blocks(page):
        # Pad with newlines so a traceback points at the line in the .md file.
        source = "\n" * (line - 1) + code
        exec(compile(source, str(page), "exec", dont_inherit=True), module.__dict__)
    # The program ends here: close the clients it left open, as interpreter exit would, so a
    # socket is not reported unclosed in some later test.
    for value in list(module.__dict__.values()):
        client = value.client if isinstance(value, Agent) else value
        if isinstance(client, Client):
            client.close()
    gc.collect()


# -- every agentkit name the docs mention exists ---------------------------------------------

ROOT = DOCS.parent
# `agentkit.X.Y` in code or prose; not inside a file name ("agentkit.db") or a path.
NAME = re.compile(r"(?<![\w./\"'-])agentkit(?:\.\w+)+")
IMPORT = re.compile(
    r"^[ \t]*from (agentkit(?:\.\w+)*) import (?:\(([\w,\s]+)\)|([\w, \t]+)$)", re.MULTILINE
)
# Temporal activity names (`agentkit.model_call.v1`) are strings, not Python names.
NOT_A_NAME = re.compile(r"\.v\d+$")


def mentioned_names(text: str) -> set[str]:
    """Every dotted `agentkit...` name a page mentions or imports."""
    names = {n for n in NAME.findall(text) if not NOT_A_NAME.search(n)}
    for match in IMPORT.finditer(text):
        imported = (match.group(2) or match.group(3)).replace("\n", ",").split(",")
        names |= {f"{match.group(1)}.{n.split(' as ')[0].strip()}" for n in imported if n.strip()}
    return names


def resolve(dotted: str) -> object:
    """Import the longest module prefix of `dotted`, then look up the rest as attributes."""
    parts = dotted.split(".")
    for split in range(len(parts), 0, -1):
        try:
            obj: object = importlib.import_module(".".join(parts[:split]))
        except ModuleNotFoundError:
            continue
        for attr in parts[split:]:
            obj = getattr(obj, attr)
        return obj
    raise ModuleNotFoundError(dotted)


WRITINGS = [ROOT / "README.md", *sorted(DOCS.glob("*.md")), *sorted(ROOT.glob("examples/*.py"))]


@pytest.mark.parametrize("path", WRITINGS, ids=lambda p: p.name)
def test_every_agentkit_name_mentioned_exists(path: Path) -> None:
    names = mentioned_names(path.read_text(encoding="utf-8"))
    missing = []
    for name in sorted(names):
        try:
            resolve(name)
        except (ImportError, AttributeError) as exc:
            missing.append(f"{name}: {exc}")
    assert not missing, f"{path.name} mentions names that do not exist: {missing}"


def test_the_name_finder_sees_what_a_page_can_say() -> None:
    text = (
        "Use `agentkit.Agent` and `agentkit.testing.FakeClaude`.\n"
        "```python\nfrom agentkit import (\n    Client,\n    tool,\n)\n"
        "from agentkit.stores import SQLiteStore as Store\n"
        "x, db = 'agentkit.tool_call.v1', 'agentkit.db'\n```\n"
    )
    assert mentioned_names(text) == {
        "agentkit.Agent",
        "agentkit.testing.FakeClaude",
        "agentkit.Client",
        "agentkit.tool",
        "agentkit.stores",
        "agentkit.stores.SQLiteStore",
    }
    with pytest.raises(AttributeError):
        resolve("agentkit.NoSuchThing")


def test_docs_and_examples_import_only_the_public_api() -> None:
    """A user copies these: `from agentkit.tools._tool import tool` would teach a private path."""
    private = re.compile(r"^[ \t]*(?:from|import) (agentkit(?:\.\w+)*\._\w+)", re.MULTILINE)
    offenders = {
        (path.name, module)
        for path in WRITINGS
        for module in private.findall(path.read_text(encoding="utf-8"))
    }
    assert not offenders, sorted(offenders)
