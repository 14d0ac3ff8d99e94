"""A run killed with SIGKILL mid-way through parallel tools resumes from the store: finished
tools are not run again, the history stays consistent. Real processes, a real SQLite file and
the fake Claude over loopback HTTP."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import agentkit
from agentkit.stores import SQLiteStore
from agentkit.testing import FakeClaude, FakeServer, Reply

AGENT_SCRIPT = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    import agentkit
    from agentkit.stores import SQLiteStore

    effects = Path(os.environ["EFFECTS"])

    def record(line: str) -> None:
        with effects.open("a") as f:
            f.write(line + "\\n")
            f.flush()
            os.fsync(f.fileno())

    @agentkit.tool
    def fast_a() -> str:
        \"\"\"Quick tool A.\"\"\"
        record("fast_a")
        return "a done"

    @agentkit.tool
    def fast_b() -> str:
        \"\"\"Quick tool B.\"\"\"
        record("fast_b")
        return "b done"

    @agentkit.tool
    def slow() -> str:
        \"\"\"Slow tool: hangs in the first process, quick after a restart.\"\"\"
        record("slow started")
        if os.environ.get("HANG") == "1":
            time.sleep(3600)
        record("slow")
        return "slow done"

    def make_agent() -> agentkit.Agent:
        client = agentkit.Client(api_key="test", base_url=os.environ["BASE_URL"], max_retries=0)
        store = SQLiteStore(os.environ["DB"])
        return agentkit.Agent(
            "claude-haiku-4-5", tools=[fast_a, fast_b, slow], client=client, store=store
        )

    if __name__ == "__main__":
        result = make_agent().run(sys.argv[1] if len(sys.argv) > 1 else None,
                                  conversation=os.environ["CONV"])
        print(result.status, result.text)
    """
)


def _wait_for(predicate, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.02)


def test_sigkill_mid_tools_then_resume(tmp_path: Path) -> None:
    fake = FakeClaude(
        [Reply.tool_uses(("fast_a", {}), ("fast_b", {}), ("slow", {})), Reply.text("all done")]
    )
    db = tmp_path / "conv.db"
    effects = tmp_path / "effects.txt"
    effects.touch()
    script = tmp_path / "agent_script.py"
    script.write_text(AGENT_SCRIPT)
    store = SQLiteStore(str(db))
    conversation = agentkit.Conversation(id="crash-test")
    store.create(conversation)
    with FakeServer(fake) as server:
        env = {
            **os.environ,
            "EFFECTS": str(effects),
            "DB": str(db),
            "CONV": "crash-test",
            "BASE_URL": server.url,
            "HANG": "1",
            "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
        }
        proc = subprocess.Popen([sys.executable, str(script), "run the tools"], env=env)
        try:
            # Both quick tools finished and were journaled; the slow one is running.
            _wait_for(lambda: len(store.journaled_tool_results("crash-test")) == 2)
            _wait_for(lambda: "slow started" in effects.read_text())
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        assert proc.returncode == -signal.SIGKILL

        reopened = SQLiteStore(str(db))
        before = reopened.load("crash-test")
        assert [e.role for e in before] == ["user", "assistant"]  # the tool step never committed
        assert set(reopened.journaled_tool_results("crash-test")) == {
            b["id"] for b in before[1].blocks
        } - {before[1].blocks[2]["id"]}

        env["HANG"] = "0"
        done = subprocess.run(
            [sys.executable, str(script)], env=env, capture_output=True, text=True, check=True
        )
        assert done.stdout.strip() == "complete all done"

    lines = effects.read_text().splitlines()
    assert lines.count("fast_a") == 1 and lines.count("fast_b") == 1  # not run again
    assert lines.count("slow") == 1 and lines.count("slow started") == 2
    final = SQLiteStore(str(db)).load("crash-test")
    assert [e.role for e in final] == ["user", "assistant", "user", "assistant"]
    results = final[2].blocks
    calls = final[1].blocks
    assert [r["tool_use_id"] for r in results] == [c["id"] for c in calls]  # model order
    assert [r["content"] for r in results] == ["a done", "b done", "slow done"]
    # The resumed request carried the assistant turn exactly as first received.
    assert fake.message_bodies[1]["messages"][1] == final[1].message
    assert len(fake.message_bodies) == 2


def test_two_agents_one_conversation_conflict(tmp_path: Path) -> None:
    fake = FakeClaude([Reply.text("one"), Reply.text("two")])
    store = SQLiteStore(str(tmp_path / "c.db"))
    client = agentkit.Client(api_key="test", http_client=fake.http_client())
    agent = agentkit.Agent("claude-haiku-4-5", client=client, store=store)
    first = agent.run("hello", conversation=agentkit.Conversation(id="shared"))
    stale = store.load("shared")
    agent.run("again", conversation=first.conversation)
    with pytest.raises(agentkit.StoreConflictError):
        agent.run("from a stale copy", conversation=stale)
    assert [e.role for e in store.load("shared")] == ["user", "assistant"] * 2
