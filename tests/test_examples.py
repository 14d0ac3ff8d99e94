"""Every example runs offline (on the fake Claude) as a user would run it, and says what it should.

The examples start together in one fixture (each is a separate Python process) so the module
costs about one interpreter start-up, not seven.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
OFFLINE = "(no ANTHROPIC_API_KEY: using the fake Claude in test-model mode)\n"

# name -> (arguments, stdin)
RUNS: dict[str, tuple[list[str], str]] = {
    "hello_tool": ([str(EXAMPLES / "hello_tool.py")], ""),
    "weather_agent": ([str(EXAMPLES / "weather_agent.py")], ""),
    "structured_output": ([str(EXAMPLES / "structured_output.py")], ""),
    "streaming_ui": ([str(EXAMPLES / "streaming_ui.py")], ""),
    "approve": ([str(EXAMPLES / "human_approval.py")], "y\n"),
    "deny": ([str(EXAMPLES / "human_approval.py")], "n\n"),
    "test_with_fake_claude": (
        [
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            str(EXAMPLES / "test_with_fake_claude.py"),
        ],
        "",
    ),
}


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_")}
    env["NO_COLOR"] = "1"
    db = tmp_path_factory.mktemp("chat") / "chat.db"
    persistent = ([str(EXAMPLES / "persistent_chat.py"), str(db)], "")
    # The persistent chat runs twice on one database: the second run resumes the first.
    waves = [{**RUNS, "persistent_first": persistent}, {"persistent_second": persistent}]
    results: dict[str, str] = {}
    for wave in waves:
        procs = {
            name: subprocess.Popen(
                [sys.executable, *args],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                env=env,
                cwd=tmp_path_factory.getbasetemp(),
            )
            for name, (args, _) in wave.items()
        }
        try:
            for name, proc in procs.items():
                out, _ = proc.communicate(wave[name][1], timeout=120)
                results[name] = f"exit {proc.returncode}\n{out}"
        finally:
            for proc in procs.values():
                if proc.poll() is None:
                    proc.kill()
                    proc.communicate()
    return results


def test_every_example_is_covered() -> None:
    scripts = {p.stem for p in EXAMPLES.glob("*.py")}
    covered = {Path(args[-1]).stem for args, _ in RUNS.values()} | {"persistent_chat"}
    assert scripts == covered


def test_hello_tool(outputs: dict[str, str]) -> None:
    assert outputs["hello_tool"] == (
        "exit 0\n"
        + OFFLINE
        + "I called 1 tool(s). Results:\n- greet returned: Hello, a.\n"
        + "2 model calls, $0.0046\n"
    )


def test_weather_agent_runs_tools_in_parallel_and_survives_a_failure(
    outputs: dict[str, str],
) -> None:
    out = outputs["weather_agent"]
    assert out.startswith("exit 0\n" + OFFLINE)
    assert "[ok] get_weather: Paris: sunny, 21°C\n" in out
    assert "[FAILED] get_air_quality: ConnectionError: the air quality service is down\n" in out
    assert "[ok] get_local_time: Paris: 14:05\n" in out
    assert "- get_air_quality failed: ConnectionError: the air quality service is down" in out
    assert "\ndone in " in out


def test_structured_output(outputs: dict[str, str]) -> None:
    assert outputs["structured_output"] == (
        "exit 0\n" + OFFLINE + "destination: a\ndays: 3\nactivities: a walk\nbudget: 0 EUR\n"
    )


def test_streaming_ui(outputs: dict[str, str]) -> None:
    out = outputs["streaming_ui"]
    assert out.startswith("exit 0\n" + OFFLINE)
    for line in (
        "[tool] search_docs started",
        "[tool] search_docs input so far: {'query': 'a'}",
        "[tool] word_count input so far: {'text': 'a'}",
        "[turn] stop_reason=tool_use output_tokens=",
        '- search_docs returned: ["doc about a #1","doc about a #2"]',
        "[turn] stop_reason=end_turn output_tokens=",
        "[run] 2 turns, $",
    ):
        assert line in out


def test_human_approval_allow(outputs: dict[str, str]) -> None:
    out = outputs["approve"]
    assert out.startswith("exit 0\n" + OFFLINE + "Allow delete_file({'path': 'old-draft.txt'})? ")
    assert "- delete_file returned: deleted old-draft.txt" in out
    assert out.endswith("files left: ['report.txt']\n")


def test_human_approval_deny(outputs: dict[str, str]) -> None:
    out = outputs["deny"]
    assert "- delete_file failed: the user said no" in out
    assert out.endswith("files left: ['old-draft.txt', 'report.txt']\n")


def test_persistent_chat_resumes_from_sqlite(outputs: dict[str, str]) -> None:
    first, second = outputs["persistent_first"], outputs["persistent_second"]
    assert first.startswith("exit 0\n" + OFFLINE + "started ")
    conversation_id = first.split("started ", 1)[1].split()[0]
    assert "thinking: The test model thinks about it.\n" in first
    assert "answer: Test model reply to: Suggest a name for a teal boat.\n" in first
    assert "stored messages: 4 in " in first
    assert second.startswith("exit 0\n" + OFFLINE + f"resumed {conversation_id}\n")
    assert "answer: Test model reply to: What was my favourite colour?\n" in second
    assert "stored messages: 6 in " in second


def test_the_pytest_example_passes(outputs: dict[str, str]) -> None:
    out = outputs["test_with_fake_claude"]
    assert out.startswith("exit 0\n")
    assert "4 passed" in out


def test_importing_an_example_runs_nothing() -> None:
    """`agentkit tools lint examples/x.py` imports the file: its work waits for `__main__`."""
    code = (
        "import importlib.util, pathlib, sys\n"
        "for path in sorted(pathlib.Path(sys.argv[1]).glob('*.py')):\n"
        "    spec = importlib.util.spec_from_file_location(path.stem, path)\n"
        "    spec.loader.exec_module(importlib.util.module_from_spec(spec))\n"
        "print('imported')\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_")}
    out = subprocess.run(
        [sys.executable, "-c", code, str(EXAMPLES)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        stdin=subprocess.DEVNULL,
    )
    assert (out.returncode, out.stdout, out.stderr) == (0, "imported\n", "")
