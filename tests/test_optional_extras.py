"""Without an optional extra installed, its module says which extra to install.

The dev install has every extra, so each case runs in a subprocess whose import system refuses
the extra's distribution (a `sys.meta_path` finder raising ModuleNotFoundError, as Python does
for a package that is not installed).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

_BLOCKER = textwrap.dedent(
    """
    import sys


    class Absent:
        # Finds nothing, and refuses the blocked top-level packages like a missing install.
        def find_spec(self, name, path=None, target=None):
            if name.partition(".")[0] in BLOCKED:
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None


    sys.meta_path.insert(0, Absent())
    """
)


def _run_without(blocked: set[str], code: str) -> subprocess.CompletedProcess[str]:
    program = f"BLOCKED = {sorted(blocked)!r}\n{_BLOCKER}\n{textwrap.dedent(code)}"
    return subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=120
    )


def _last_line(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode != 0, done.stdout
    return done.stderr.strip().splitlines()[-1]


def test_the_blocker_works() -> None:
    done = _run_without({"temporalio"}, "import temporalio")
    assert _last_line(done) == "ModuleNotFoundError: No module named 'temporalio'"


def test_agentkit_imports_without_any_extra() -> None:
    code = """
        import agentkit, agentkit.bedrock, agentkit.vertex, agentkit.stores, agentkit.testing
        print(agentkit.__version__)
    """
    blocked = {"temporalio", "psycopg", "botocore", "google", "httpx_aiohttp", "aiohttp", "mcp"}
    done = _run_without(blocked, code)
    assert done.returncode == 0, done.stderr


def test_temporal_without_its_extra() -> None:
    done = _run_without({"temporalio"}, "import agentkit.temporal")
    assert _last_line(done) == (
        "ImportError: agentkit.temporal needs temporalio: pip install 'agentkit[temporal]'"
    )
    # The cause is kept, for anyone debugging a broken install.
    assert "No module named 'temporalio'" in done.stderr


def test_mcp_without_its_extra() -> None:
    done = _run_without({"mcp"}, "import agentkit.mcp")
    assert _last_line(done) == "ImportError: agentkit.mcp needs mcp: pip install 'agentkit[mcp]'"


def test_temporal_import_error_names_the_missing_module() -> None:
    code = """
        try:
            import agentkit.temporal
        except ImportError as exc:
            print(type(exc).__name__, exc.name)
    """
    done = _run_without({"temporalio"}, code)
    assert done.stdout.split() == ["ImportError", "temporalio"], done.stderr


@pytest.mark.parametrize(
    ("blocked", "code", "extra"),
    [
        (
            "psycopg",
            """
            from agentkit.stores import PostgresStore
            PostgresStore("postgresql://nobody@127.0.0.1:1/none")
            """,
            "postgres",
        ),
        (
            "botocore",
            """
            from agentkit.bedrock import BedrockClient
            client = BedrockClient(
                aws_region="us-east-1", aws_access_key="AKIDEXAMPLE", aws_secret_key="secret",
                base_url="http://127.0.0.1:9", max_retries=0,
            )
            client.messages.create(
                model="claude-haiku-4-5", max_tokens=10,
                messages=[{"role": "user", "content": "hi"}],
            )
            """,
            "bedrock",
        ),
        (
            "google",
            """
            from agentkit.vertex import GoogleToken
            GoogleToken().token()
            """,
            "vertex",
        ),
        (
            "httpx_aiohttp",
            """
            import agentkit
            agentkit.DefaultAioHttpClient()
            """,
            "aiohttp",
        ),
    ],
    ids=["postgres", "bedrock", "vertex", "aiohttp"],
)
def test_other_extras_say_which_to_install(blocked: str, code: str, extra: str) -> None:
    done = _run_without({blocked}, code)
    last = _last_line(done)
    assert last.startswith("agentkit._exceptions.ConfigurationError: "), done.stderr
    assert f"pip install 'agentkit[{extra}]'" in last


def test_web_without_its_extra() -> None:
    done = _run_without({"starlette"}, "import agentkit.web")
    assert _last_line(done) == (
        "ImportError: agentkit.web needs starlette: pip install 'agentkit[web]'"
    )
    serve = _run_without(
        {"starlette", "uvicorn"},
        """
        import sys
        from agentkit.cli import main
        sys.exit(main(["serve", "nothing:agent"]))
        """,
    )
    assert serve.returncode == 1
    assert serve.stderr.strip() == (
        "agentkit: error: agentkit.web needs starlette: pip install 'agentkit[web]'"
    )


CORE_ONLY = {
    "mcp", "starlette", "uvicorn", "playwright", "temporalio", "psycopg", "botocore", "google",
    "opentelemetry", "httpx_aiohttp", "jsonschema",
}  # fmt: skip


def test_the_demo_runs_on_the_core_install() -> None:
    """`scripts/demo` installs only the core: the demo (and the CLI's help) must not need an
    extra. (A `--mcp` option that defaults to no server once imported agentkit.mcp anyway.)"""
    code = """
        import os, sys
        os.environ.pop("ANTHROPIC_API_KEY", None)
        from agentkit.cli import main
        sys.exit(main(["demo"]))
    """
    done = _run_without(CORE_ONLY, code)
    assert done.returncode == 0, done.stderr
    assert "OFFLINE" in done.stdout and "5 tool calls, 1 failed; 2 turns" in done.stdout
