"""The `agentkit` command: the demo tools, demo and chat against the fake Claude (in process,
over loopback HTTP, and in a real terminal through pexpect), conversations, lint, errors."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import agentkit
from agentkit import ToolError
from agentkit.cli import main
from agentkit.cli._backend import Backend
from agentkit.cli._chat import ChatSession, chat_loop
from agentkit.cli._conversations import default_db_path, open_store
from agentkit.cli._demo import build_agent
from agentkit.cli._output import EventPrinter, Style
from agentkit.cli._tools import demo_tools, evaluate
from agentkit.testing import FakeClaude, FakeServer, Fault, Reply, text, tool_use

AGENTKIT = str(Path(sys.executable).with_name("agentkit"))


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL", "FORCE_COLOR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))


def tools_by_name(root: Path) -> dict[str, Any]:
    return {t.name: t for t in demo_tools(root)}


# -- the demo tools ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        ("1 + 2 * 3", 7),
        ("(1234 * 5678) / 3", 1234 * 5678 / 3),
        ("2 ** 10 - -1", 1025),
        ("17 // 5 + 17 % 5", 5),
        ("sqrt(16) + max(1, 2, 3)", 7.0),
        ("round(pi, 2)", 3.14),
    ],
)
def test_calculator_evaluates_arithmetic(expression: str, value: float) -> None:
    assert evaluate(expression) == value


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("__import__('os')", "'__import__' is not allowed"),
        ("open('x').read()", "'Attribute' is not allowed"),
        ("().__class__", "'Attribute' is not allowed"),
        ("x + 1", "'x' is not allowed"),
        ("'a' * 3", "'Constant' is not allowed"),
        ("9 ** 9 ** 9", "too large"),
        ("1 / 0", "division by zero"),
        ("sqrt(-1)", "cannot compute"),
        ("1 +", "not a valid expression"),
    ],
)
def test_calculator_refuses_anything_else(expression: str, message: str) -> None:
    with pytest.raises(ToolError) as info:
        evaluate(expression)
    assert message in str(info.value)


def test_read_file_is_confined_to_its_directory(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (root / "a.txt").write_text("hello")
    (tmp_path / "secret.txt").write_text("secret")
    (root / "link.txt").symlink_to(tmp_path / "secret.txt")
    read = tools_by_name(root)["read_file"]
    assert read("a.txt") == "hello"
    for path in ("../secret.txt", str(tmp_path / "secret.txt"), "link.txt", "sub/../../secret.txt"):
        with pytest.raises(ToolError, match="outside the directory"):
            read(path)
    with pytest.raises(ToolError, match=r"no file 'b.txt'; the files are: a.txt"):
        read("b.txt")


def test_the_fact_service_fails_once_then_answers(tmp_path: Path) -> None:
    lookup = tools_by_name(tmp_path)["lookup_fact"]
    with pytest.raises(ConnectionError, match="simulated outage"):
        lookup("octopus")
    assert "three hearts" in lookup("Octopuses")
    with pytest.raises(ToolError, match="known topics"):
        lookup("unicorns")


def test_clock_knows_time_zones(tmp_path: Path) -> None:
    clock = tools_by_name(tmp_path)["current_time"]
    assert "(Asia/Tokyo, " in clock("Asia/Tokyo")
    with pytest.raises(ToolError, match="unknown time zone"):
        clock("Mars/Olympus")


def test_the_demo_tools_lint_clean() -> None:
    assert {t.name: t.lint() for t in demo_tools()} == {t.name: [] for t in demo_tools()}


# -- demo ---------------------------------------------------------------------------------


def test_demo_offline_says_so_first_and_runs_every_tool(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].startswith("agentkit demo: OFFLINE - no ANTHROPIC_API_KEY is set")
    assert "fake Claude in test-model mode" in lines[0]
    assert "\x1b[" not in out  # not a terminal: no colour
    for name in ("calculate", "current_time", "list_files", "read_file", "lookup_fact"):
        assert f"-> {name} ..." in out
    assert '  ok list_files({}) = ["notes.txt","recipe.md"]' in out
    # The fake takes each tool's schema example as its argument; the fact service's first call
    # fails on purpose, which shows a tool error reaching the model as a result.
    assert (
        '  ok calculate({"expression": "(1234 * 5678) / 3"}) = (1234 * 5678) / 3 = 2335550.66667'
        in out
    )
    assert (
        '  error lookup_fact({"topic": "octopus"}): ConnectionError: fact service timed out' in out
    )
    assert "claude: I called 5 tool(s). Results:" in out
    assert "5 tool calls, 1 failed; 2 turns in" in out
    assert "usage: 2 requests, " in out and "$" in out


@pytest.fixture
def scripted_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeClaude]:
    """A fake on loopback HTTP, reached the way the real API is: key + ANTHROPIC_BASE_URL."""
    fake = FakeClaude(
        [
            Reply(
                text("Let me check."),
                tool_use("calculate", {"expression": "(1234 * 5678) / 3"}),
                tool_use("read_file", {"path": "../../../etc/passwd"}),
                tool_use("read_file", {"path": "notes.txt"}),
            ),
            Reply(text("It is 2335550.67 and the budget is 400 EUR each.")),
        ],
        api_key="sk-test",
    )
    with FakeServer(fake) as server:
        monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test")
        monkeypatch.setenv("ANTHROPIC_BASE_URL", server.url)
        yield fake


def test_demo_with_a_key_talks_to_the_api_and_runs_tools_in_parallel(
    scripted_server: FakeClaude, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--model", "claude-haiku-4-5", "what now?"]) == 0
    out = capsys.readouterr().out
    url = os.environ["ANTHROPIC_BASE_URL"]
    assert out.splitlines()[0] == f"agentkit demo: talking to Claude (claude-haiku-4-5) at {url}."
    assert "claude: Let me check.\n-> calculate ...\n-> read_file ...\n-> read_file ...\n" in out
    assert "claude: It is 2335550.67 and the budget is 400 EUR each.\n" in out
    first, second = scripted_server.message_bodies
    assert first["model"] == "claude-haiku-4-5" and first["stream"] is True
    assert first["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "what now?"}]}
    ]
    results = second["messages"][-1]["content"]
    assert [r["is_error"] for r in results] == [False, True, False]
    assert results[0]["content"] == "(1234 * 5678) / 3 = 2335550.66667"
    assert "refused: '../../../etc/passwd' is outside the directory" in results[1]["content"]
    assert "budget for the offsite is 4,800 EUR" in results[2]["content"]


def test_demo_with_a_wrong_key_is_one_line_and_exit_1(
    scripted_server: FakeClaude, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-wrong")
    assert main(["demo"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("agentkit: error: ") and err.count("\n") == 1
    assert "invalid x-api-key" in err and "sk-wrong" not in err
    assert main(["--debug", "demo"]) == 1
    assert "Traceback (most recent call last)" in capsys.readouterr().err


# -- output -------------------------------------------------------------------------------


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_colour_only_on_a_terminal_and_never_with_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert Style.for_stream(_Tty()) == Style(enabled=True, unicode=True)
    assert Style.for_stream(io.StringIO()) == Style(enabled=False, unicode=False)
    monkeypatch.setenv("NO_COLOR", "1")
    assert Style.for_stream(_Tty()) == Style(enabled=False, unicode=True)
    assert Style(enabled=False).paint("x", "red") == "x"
    assert Style(enabled=True).paint("x", "red", "bold") == "\x1b[31;1mx\x1b[0m"


def test_thinking_is_dimmed(tmp_path: Path) -> None:
    fake = FakeClaude(secret=b"k")
    backend = Backend(agentkit.Client(api_key="t", http_client=fake.http_client()), True, "")
    agent = build_agent(backend, "claude-haiku-4-5", root=tmp_path, thinking_budget=1024)
    out = io.StringIO()
    printer = EventPrinter(out, Style(enabled=True, unicode=True))
    for event in agent.stream("hi"):
        printer.handle(event)
    assert fake.message_bodies[0]["thinking"] == {"type": "enabled", "budget_tokens": 1024}
    assert "\x1b[2;1mthinking: \x1b[0m\x1b[2mThe test model thinks about " in out.getvalue()


# -- chat ---------------------------------------------------------------------------------


def make_session(fake: FakeClaude, store: Any, out: io.StringIO, conv: Any = None) -> ChatSession:
    backend = Backend(agentkit.Client(api_key="t", http_client=fake.http_client()), True, "")
    agent = build_agent(backend, "claude-haiku-4-5")
    return ChatSession(agent, store, out, Style(), conv)


def test_ctrl_c_drops_the_turn_and_keeps_the_conversation(tmp_path: Path) -> None:
    interrupt = {"on": False}

    def respond(body: dict[str, Any]) -> Reply:
        last = body["messages"][-1]["content"]
        if interrupt["on"] and last[0]["type"] == "tool_result":
            raise KeyboardInterrupt  # Ctrl-C while the model answers the tool results
        if last[0]["type"] == "tool_result":
            return Reply(text("done"))
        return Reply(tool_use("calculate", {"expression": "6 * 7"}))

    fake = FakeClaude(respond)
    out = io.StringIO()
    with open_store(tmp_path / "c.db") as store:
        session = make_session(fake, store, out)
        assert session.turn("first") is not None
        conv_id = session.conversation.id
        assert store.load(conv_id).version == 4
        interrupt["on"] = True
        assert session.turn("second") is None
        assert "(cancelled: this turn was dropped; the conversation is kept)" in out.getvalue()
        assert len(store.load(conv_id)) == 4  # the partial turn (tool call and results) is gone
        assert len(session.conversation) == 4
        interrupt["on"] = False
        assert session.turn("third") is not None
        stored = store.load(conv_id)
        texts = [b.get("text") for e in stored for b in e.blocks if b["type"] == "text"]
        assert texts == ["first", "done", "third", "done"]
        assert fake.message_bodies[-2]["messages"][:4] == stored.messages[:4]


def test_an_api_error_ends_the_turn_not_the_chat(tmp_path: Path) -> None:
    fake = FakeClaude(
        [Fault.status_error(400, "invalid_request_error", "something is off"), Reply(text("Hi!"))]
    )
    out = io.StringIO()
    with open_store(tmp_path / "c.db") as store:
        session = make_session(fake, store, out)
        assert session.turn("first") is None
        assert "error: 400 invalid_request_error: something is off" in out.getvalue()
        assert "(this turn was not saved)" in out.getvalue()
        assert store.list() == []
        assert session.turn("second") is not None
        assert [m["role"] for m in store.load(session.conversation.id).messages] == [
            "user",
            "assistant",
        ]
    assert fake.message_bodies[1]["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "second"}]}
    ]


def test_chat_loop_commands(tmp_path: Path) -> None:
    fake = FakeClaude()
    out = io.StringIO()
    lines = iter(["/help", "hello", "/bogus", "/new", "", "again", "/quit", "never read"])
    with open_store(tmp_path / "c.db") as store:
        session = make_session(fake, store, out)
        first_id = session.conversation.id
        assert chat_loop(session, lambda _: next(lines), db_label="c.db", echo=True) == 0
        infos = {i.id: i for i in store.list()}
    text_out = out.getvalue()
    assert "/new    start a new conversation" in text_out
    assert "unknown command /bogus; try /help" in text_out
    assert f"new conversation {session.conversation.id}" in text_out
    assert f"resume with: agentkit chat --resume {session.conversation.id}" in text_out
    assert set(infos) == {first_id, session.conversation.id}
    assert infos[first_id].metadata == {"title": "hello"}
    assert next(lines) == "never read"


def test_chat_ends_at_end_of_input(tmp_path: Path) -> None:
    def read(_: str) -> str:
        raise EOFError

    with open_store(tmp_path / "c.db") as store:
        session = make_session(FakeClaude(), store, io.StringIO())
        assert chat_loop(session, read, db_label="c.db") == 0
        assert store.list() == []  # nothing said, nothing saved


def test_ctrl_c_at_the_prompt_does_not_quit(tmp_path: Path) -> None:
    answers: list[str | BaseException] = [KeyboardInterrupt(), "/quit"]

    def read(_: str) -> str:
        answer = answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    out = io.StringIO()
    with open_store(tmp_path / "c.db") as store:
        assert chat_loop(make_session(FakeClaude(), store, out), read, db_label="c.db") == 0
    assert out.getvalue() == "\n(type /quit or press Ctrl-D to leave)\n"
    assert answers == []


def test_default_database_location(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert default_db_path() == tmp_path / "agentkit" / "conversations.db"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_db_path() == tmp_path / ".local/share/agentkit/conversations.db"


def _spawn(args: list[str], env: dict[str, str], *, sigint_ignored: bool = False) -> Any:
    """`agentkit ARGS` in a real pseudo-terminal (pexpect is a dev dependency).

    The child inherits this process's SIGINT disposition, which is "ignored" when pytest was
    started in the background by a non-interactive shell (`pytest &`); `sigint_ignored` forces
    that, as some launchers do.
    """
    pexpect = pytest.importorskip("pexpect", reason="the terminal tests need pexpect")

    def preexec() -> None:
        import signal

        if sigint_ignored:
            signal.signal(signal.SIGINT, signal.SIG_IGN)

    return pexpect.spawn(AGENTKIT, args, env=env, encoding="utf-8", timeout=30, preexec_fn=preexec)


def _terminal_env(tmp_path: Path, url: str) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "TERM": "dumb",
        "ANTHROPIC_API_KEY": "sk-test",
        "ANTHROPIC_BASE_URL": url,
    }


def _wait_exit(child: Any) -> int:
    child.expect_exact(child.delimiter)  # pexpect.EOF, without importing pexpect here
    child.close()
    return int(child.exitstatus)


def test_chat_in_a_terminal_resumes_with_context(tmp_path: Path) -> None:
    """Two turns with tool calls, /quit, --resume, a third turn: the request carries it all."""
    fake = FakeClaude()
    db = tmp_path / "chat.db"
    with FakeServer(fake) as server:
        env = _terminal_env(tmp_path, server.url)
        child = _spawn(["chat", "--db", str(db), "--model", "claude-haiku-4-5"], env)
        child.expect(r"conversation ([0-9a-f]{32}) \(new\)")
        conv_id = child.match.group(1)
        for prompt in ("What is six times seven?", "And what time is it?"):
            child.expect_exact("you> ")
            child.sendline(prompt)
            child.expect_exact("✓ current_time")
            child.expect_exact("claude: I called 5 tool(s). Results:")
            child.expect(r"\[usage: 2 requests, ")
        child.expect_exact("you> ")
        child.sendline("/quit")
        child.expect_exact(f"resume with: agentkit chat --resume {conv_id}")
        assert _wait_exit(child) == 0
        assert len(fake.message_bodies) == 4

        child = _spawn(["chat", "--db", str(db), "--resume", conv_id], env)
        child.expect_exact(f"resumed conversation {conv_id} (8 messages)")
        child.expect_exact("you> ")
        child.sendline("What did I ask first?")
        child.expect_exact("claude: I called 5 tool(s)")
        child.expect_exact("you> ")
        child.sendeof()
        assert _wait_exit(child) == 0
    third = fake.message_bodies[4]["messages"]
    assert len(third) == 9
    asked = [m["content"][0]["text"] for m in third if m["content"][0]["type"] == "text"]
    assert asked[0] == "What is six times seven?"
    assert asked[-1] == "What did I ask first?"
    assert "And what time is it?" in asked
    assert third[:8] == fake.message_bodies[3]["messages"] + [third[7]]


@pytest.mark.parametrize("sigint_ignored", [False, True], ids=["inherited", "launcher-ignores-it"])
def test_ctrl_c_in_a_terminal_cancels_the_turn_only(tmp_path: Path, sigint_ignored: bool) -> None:
    slow = Reply(text("A very long answer. " * 200))  # ~150 chunks: half a minute at 0.2 s
    fake = FakeClaude(
        [
            Reply(tool_use("calculate", {"expression": "6 * 7"})),
            Reply(text("It is 42.")),
            Fault.slow(slow, chunk_delay=0.2),  # turn 2 streams slowly: Ctrl-C lands mid-answer
            Reply(text("Still here.")),
        ]
    )
    db = tmp_path / "chat.db"
    with FakeServer(fake) as server:
        env = _terminal_env(tmp_path, server.url)
        child = _spawn(["chat", "--db", str(db)], env, sigint_ignored=sigint_ignored)
        child.expect(r"conversation ([0-9a-f]{32}) \(new\)")
        conv_id = child.match.group(1)
        child.expect_exact("you> ")
        child.sendline("What is six times seven?")
        child.expect_exact("claude: It is 42.")
        child.expect_exact("you> ")
        child.sendline("Tell me a long story.")
        child.expect_exact("claude: A very")
        child.sendintr()
        child.expect_exact("(cancelled: this turn was dropped; the conversation is kept)")
        child.expect_exact("you> ")
        child.sendline("Are you there?")
        child.expect_exact("claude: Still here.")
        child.expect_exact("you> ")
        child.sendline("/quit")
        assert _wait_exit(child) == 0
    last = fake.message_bodies[-1]["messages"]
    asked = [m["content"][0].get("text") for m in last if m["role"] == "user"]
    assert asked == ["What is six times seven?", None, "Are you there?"]  # None: tool results
    with open_store(db) as store:
        stored = store.load(conv_id)
    assert stored.messages == [*last, stored.messages[-1]]
    assert stored.messages[-1]["content"] == [{"type": "text", "text": "Still here."}]


# -- conversations ------------------------------------------------------------------------


@pytest.fixture
def saved(tmp_path: Path) -> tuple[Path, str]:
    db = tmp_path / "c.db"
    with open_store(db) as store:
        session = make_session(FakeClaude(), store, io.StringIO())
        session.turn("Plan my week")
        return db, session.conversation.id


def test_conversations_list_show_export_delete(
    saved: tuple[Path, str], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db, conv_id = saved
    assert main(["conversations", "list", "--db", str(db)]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert rows[0].split() == ["ID", "UPDATED", "MSGS", "TITLE"]
    assert rows[1].startswith(conv_id) and rows[1].endswith("4  Plan my week")

    assert main(["conversations", "show", conv_id, "--db", str(db)]) == 0
    shown = capsys.readouterr().out
    assert f"conversation {conv_id} (4 messages" in shown
    assert "user: Plan my week" in shown
    assert '[tool call] calculate({"expression": "(1234 * 5678) / 3"})' in shown
    assert "[tool result] (1234 * 5678) / 3 = 2335550.66667" in shown
    assert "usage: 2 requests" in shown

    target = tmp_path / "out.json"
    assert main(["conversations", "export", conv_id, "--db", str(db), "-o", str(target)]) == 0
    document = json.loads(target.read_bytes())
    assert document["id"] == conv_id and len(document["messages"]) == 4
    with open_store(db) as store:
        assert target.read_bytes() == store.export_json(conv_id) + b"\n"

    assert main(["conversations", "delete", conv_id, "--db", str(db)]) == 0
    assert capsys.readouterr().out.endswith(f"deleted conversation {conv_id}\n")
    assert main(["conversations", "delete", conv_id, "--db", str(db)]) == 1
    assert capsys.readouterr().err == (
        f"agentkit: error: no conversation {conv_id!r} in the store; "
        f"`agentkit conversations list --db {db}` shows the ids\n"
    )
    assert main(["conversations", "list", "--db", str(db)]) == 0
    assert capsys.readouterr().out == "no conversations\n"


def test_conversations_export_to_stdout_as_jsonl(
    saved: tuple[Path, str], capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    db, conv_id = saved
    assert main(["conversations", "export", conv_id, "--db", str(db), "--jsonl"]) == 0
    lines = capsysbinary.readouterr().out.splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["id"] == conv_id


def test_conversations_without_a_database_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["conversations", "list", "--db", str(tmp_path / "none.db")]) == 1
    err = capsys.readouterr().err
    db = tmp_path / "none.db"
    assert err == f"agentkit: error: no conversations database at {db} (use --db to choose one)\n"
    assert not (tmp_path / "none.db").exists()


def test_conversations_list_before_the_first_chat_is_not_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert main(["conversations", "list"]) == 0
    db = tmp_path / "agentkit" / "conversations.db"
    assert capsys.readouterr().out == f"no conversations yet: `agentkit chat` saves them in {db}\n"
    assert not db.exists()


def test_tools_lint_on_an_example_imports_it_without_running_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    example = Path(__file__).resolve().parent.parent / "examples" / "weather_agent.py"
    assert main(["tools", "lint", f"{example}:TOOLS"]) == 0
    assert capsys.readouterr().out == (
        "ok get_weather\nok get_air_quality\nok get_local_time\n3 tools, 0 issues\n"
    )


# -- tools lint ---------------------------------------------------------------------------


LINTED = '''
import agentkit

@agentkit.tool
def good(city: str) -> str:
    """Weather for a city.

    Args:
        city: The city.
    """
    return city

@agentkit.tool
def bad(city: str, days: int) -> str:
    return city

tools = [good, bad]
agent = agentkit.Agent("claude-haiku-4-5", tools=[good])
'''


def test_tools_lint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "linted_mod.py").write_text(LINTED)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
    assert main(["tools", "lint", "linted_mod:tools"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("ok good\nfailed bad: ")
    assert "no-description" in out and "(city)" in out and "(days)" in out
    assert out.endswith("2 tools, 3 issues\n")
    assert main(["tools", "lint", "linted_mod:agent"]) == 0
    assert capsys.readouterr().out == "ok good\n1 tool, 0 issues\n"
    assert main(["tools", "lint", str(tmp_path / "linted_mod.py") + ":good"]) == 0
    capsys.readouterr()
    # A module alone: every tool it holds (directly, in a list or an agent), once each.
    assert main(["tools", "lint", "linted_mod"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("ok good\nfailed bad: ") and out.endswith("2 tools, 3 issues\n")
    (tmp_path / "no_tools_mod.py").write_text("X = 1\n")
    for target, message in [
        ("linted_mod:", "expected module or module:object, got 'linted_mod:'"),
        ("no_tools_mod", "'no_tools_mod' defines no tools at top level"),
        ("nowhere_mod:x", "cannot import 'nowhere_mod'"),
        (
            "linted_mod:missing",
            "'linted_mod' has no attribute 'missing' (tools, toolsets and agents there: "
            "good, bad, agent)",
        ),
        ("linted_mod:agentkit.__version__", "str is not a tool, a list of tools"),
    ]:
        assert main(["tools", "lint", target]) == 1
        err = capsys.readouterr().err
        assert err.startswith("agentkit: error: ") and message in err and err.count("\n") == 1


# -- the command itself -------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["demo"],
        ["chat"],
        ["conversations"],
        ["conversations", "list"],
        ["conversations", "show"],
        ["conversations", "export"],
        ["conversations", "delete"],
        ["tools"],
        ["tools", "lint"],
        ["fake-server"],
    ],
)
def test_help_for_every_command(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*args, "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: agentkit {' '.join(args)}".rstrip())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["demo", "--dir", "/no/such/dir"], "--dir /no/such/dir is not a directory"),
    ],
)
def test_errors_are_one_line_with_exit_1(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(args) == 1
    captured = capsys.readouterr()
    assert captured.err.startswith("agentkit: error: ")
    assert message in captured.err and captured.err.count("\n") == 1
    assert captured.err.count("agentkit:") == 1  # the program's name once, not twice
    assert "Traceback" not in captured.err


@pytest.mark.parametrize(
    ("args", "usage", "message"),
    [
        (["frobnicate"], "agentkit", "error: argument COMMAND: invalid choice: 'frobnicate'"),
        (["demo", "--nope"], "agentkit", "error: unrecognized arguments: --nope"),
        (["--debug", "demo", "--nope"], "agentkit", "error: unrecognized arguments: --nope"),
        (["demo", "--model"], "agentkit demo", "argument --model: expected one argument"),
        (["chat", "--thinking-budget", "x"], "agentkit chat", "invalid int value: 'x'"),
        (["conversations"], "agentkit conversations", "agentkit conversations: choose an action"),
        (["conversations", "show"], "agentkit conversations show", "required: id"),
        (["tools"], "agentkit tools", "agentkit tools: choose an action: lint"),
        (["tools", "lint"], "agentkit tools lint", "required: target"),
        (["batch"], "agentkit batch", "agentkit batch: choose an action: run or status"),
    ],
)
def test_usage_errors_print_the_usage_and_exit_2(
    args: list[str], usage: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """As argparse does: the usage on stderr, then one error line; exit status 2."""
    assert main(args) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(f"usage: {usage} [-h]")
    last = captured.err.splitlines()[-1]
    assert last.startswith("agentkit: error: ") and message in last
    assert last.endswith(f"(see {usage} --help)")
    assert "Traceback" not in captured.err


def test_a_usage_error_exits_2_from_the_command_line() -> None:
    done = subprocess.run([AGENTKIT, "frobnicate"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith("usage: agentkit ")
    assert "invalid choice: 'frobnicate'" in done.stderr


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"agentkit {agentkit.__version__}\n"


def test_python_dash_m_runs_the_command() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_")}
    command = [sys.executable, "-m", "agentkit", "demo"]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("agentkit demo: OFFLINE")
    assert "I called 5 tool(s)" in done.stdout


def test_fake_server_serves_until_terminated() -> None:
    proc = subprocess.Popen(
        [AGENTKIT, "fake-server", "--port", "0", "--api-key", "k"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        client = agentkit.Client(api_key="k", base_url=url)
        with client:
            message = client.messages.create(
                model="claude-haiku-4-5",
                max_tokens=50,
                messages=[{"role": "user", "content": "ping"}],
            )
        assert message.text == "Test model reply to: ping"
        assert httpx.get(url + "/v1/models").status_code == 401  # the key is required
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert "fake Claude (test-model mode) listening" in err


def test_importing_the_cli_stays_light() -> None:
    code = textwrap.dedent(
        """
        import sys
        import agentkit.cli
        heavy = {"agentkit.runner", "agentkit.testing", "agentkit.stores", "sqlite3", "httpx"}
        print(sorted(heavy & set(sys.modules)))
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_the_cli_page_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    listed = capsys.readouterr().out.split("positional arguments:")[1].split("options:")[0]
    # Command lines are indented 4; a wrapped help text is indented further.
    commands = re.findall(r"^    (\S+)", listed, re.MULTILINE)
    assert commands == [
        "demo",
        "chat",
        "conversations",
        "tools",
        "fake-server",
        "batch",
        "mcp",
        "serve",
    ]
    page = (Path(__file__).resolve().parent.parent / "docs" / "cli.md").read_text()
    table = page.split("| command |")[1].split("\n\n")[0]
    for command in commands:
        assert f"| `agentkit {command}" in table, command


def test_batch_status_before_the_first_run_is_not_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert main(["batch", "status"]) == 0
    db = tmp_path / "agentkit" / "conversations.db"
    assert (
        capsys.readouterr().out == f"no batch runs yet: `agentkit batch run` keeps them in {db}\n"
    )
    assert not db.exists()
    # A database named explicitly must exist: a typo there is an error.
    assert main(["batch", "status", "--db", str(tmp_path / "typo.db")]) == 1
    assert "no conversations database at" in capsys.readouterr().err
