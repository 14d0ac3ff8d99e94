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


# -- idempotent resume -----------------------------------------------------------------------------


def _agent(fake: FakeClaude, store: object, **options: object) -> agentkit.Agent:
    client = agentkit.Client(api_key="test", http_client=fake.http_client(), max_retries=0)
    return agentkit.Agent("claude-haiku-4-5", client=client, store=store, **options)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "reply",
    [
        Reply.text("the end"),
        Reply.text("the end", stop_reason="stop_sequence", stop_sequence="###"),
        Reply.text("the end", stop_reason="refusal"),
        Reply.text("the end", stop_reason="max_tokens"),
    ],
    ids=["end_turn", "stop_sequence", "refusal", "max_tokens"],
)
def test_resuming_an_ended_conversation_returns_the_stored_result(reply: Reply) -> None:
    from agentkit.stores import MemoryStore

    fake = FakeClaude([reply])
    store = MemoryStore()
    agent = _agent(fake, store)
    first = agent.run("hello", conversation=agentkit.Conversation(id="done"))
    again = agent.run(conversation="done")  # e.g. after a crash right after the last commit
    assert len(fake.message_bodies) == 1  # no second paid call
    assert len(store.load("done")) == 2  # no second answer stored
    assert (again.text, again.stop_reason, again.status) == (
        first.text,
        first.stop_reason,
        "complete",
    )
    assert again.message is not None and again.message.id == first.message.id  # type: ignore[union-attr]
    assert again.new_messages == [] and again.turns == 0


def test_an_empty_conversation_without_a_prompt_names_the_fix() -> None:
    from agentkit.stores import MemoryStore

    store = MemoryStore()
    store.create(agentkit.Conversation(id="empty"))  # what a crash before the first reply leaves
    fake = FakeClaude([Reply.text("hi")])
    with pytest.raises(agentkit.ConfigurationError, match="run it with a prompt"):
        _agent(fake, store).run(conversation="empty")
    assert fake.message_bodies == []
    assert _agent(fake, store).run("hello", conversation="empty").text == "hi"


def test_rerunning_after_an_overloaded_error_stores_the_prompt_once() -> None:
    from agentkit.stores import MemoryStore
    from agentkit.testing import Fault

    overloaded = Fault.status_error(529, "overloaded_error", "Overloaded", should_retry=False)
    fake = FakeClaude([Reply.text("first"), overloaded, Reply.text("second")])
    store = MemoryStore()
    agent = _agent(fake, store)
    agent.run("one", conversation=agentkit.Conversation(id="c"))
    with pytest.raises(agentkit.OverloadedError):
        agent.run("two", conversation="c")
    assert [e.role for e in store.load("c")] == ["user", "assistant"]  # "two" is not stranded
    agent.run("two", conversation="c")  # the caller simply runs it again
    history = store.load("c")
    assert [e.role for e in history] == ["user", "assistant"] * 2
    assert history[2].blocks == [{"type": "text", "text": "two"}]  # stored once


def test_a_dict_as_conversation_is_a_type_error() -> None:
    fake = FakeClaude([Reply.text("hi")])
    with pytest.raises(TypeError, match=r"Conversation, a stored conversation's id .* not dict"):
        _agent(fake, None).run("hi", conversation={"id": "c"})  # type: ignore[arg-type]
    assert fake.message_bodies == []


def test_every_tool_call_has_a_stable_idempotency_key() -> None:
    from agentkit.stores import MemoryStore

    keys: list[str | None] = []

    @agentkit.tool
    def charge(ctx: agentkit.RunContext) -> str:
        """Charge the card once."""
        keys.append(ctx.idempotency_key)
        return "charged"

    fake = FakeClaude([Reply.tool_use("charge", {}), Reply.text("done")])
    store = MemoryStore()
    client = agentkit.Client(api_key="test", http_client=fake.http_client(), max_retries=0)
    agent = agentkit.Agent("claude-haiku-4-5", tools=[charge], client=client, store=store)
    agent.run("pay", conversation=agentkit.Conversation(id="pay-1"))
    call_id = store.load("pay-1")[1].blocks[0]["id"]
    assert keys == [f"pay-1/{call_id}"]


# -- the kill soak ---------------------------------------------------------------------------------

SOAK_SCRIPT = textwrap.dedent(
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
    def step(n: int, ctx: agentkit.RunContext) -> str:
        \"\"\"One step of the job.\"\"\"
        record(f"start {ctx.idempotency_key}")
        time.sleep(0.03)
        record(f"done {ctx.idempotency_key}")
        return f"step {n} done"

    class Recording(SQLiteStore):
        def journal_tool_result(self, conversation_id, result, *, version):
            super().journal_tool_result(conversation_id, result, version=version)
            record(f"journaled {conversation_id}/{result['tool_use_id']}")

    def make_agent() -> agentkit.Agent:
        client = agentkit.Client(api_key="test", base_url=os.environ["BASE_URL"], max_retries=0)
        return agentkit.Agent(
            "claude-haiku-4-5", tools=[step], client=client, store=Recording(os.environ["DB"])
        )

    if __name__ == "__main__":
        agent = make_agent()
        record("ready")
        agent.run("do the three steps", conversation=os.environ["CONV"])
        record("finished")
    """
)


def _three_turns(body: dict[str, object]) -> Reply:
    """Step 1, 2, 3, then the answer: decided by how many results the history holds."""
    time.sleep(0.02)
    messages = body["messages"]
    assert isinstance(messages, list)
    done = sum(
        1
        for m in messages
        if isinstance(m["content"], list) and m["content"][0].get("type") == "tool_result"
    )
    if done < 3:
        return Reply.tool_use("step", {"n": done + 1})
    return Reply.text("all three steps done")


def kill_soak(kills: int, tmp_path: Path, seed: int = 16) -> dict[str, int]:
    """SIGKILL a 3-turn tool run at random moments, resume each; returns the figures."""
    import importlib.util
    import random

    rng = random.Random(seed)
    script = tmp_path / "soak.py"
    script.write_text(SOAK_SCRIPT)
    fake = FakeClaude(_three_turns)
    figures = {"kills": 0, "lost": 0, "duplicate_answers": 0, "reruns_in_window": 0}
    figures["reruns_outside_window"] = 0
    with FakeServer(fake) as server:
        for k in range(kills):
            db, effects, conv = tmp_path / f"soak{k}.db", tmp_path / f"effects{k}.txt", f"job-{k}"
            effects.touch()
            with SQLiteStore(str(db)) as store:
                store.create(agentkit.Conversation(id=conv))
            env = {
                **os.environ,
                "EFFECTS": str(effects),
                "DB": str(db),
                "CONV": conv,
                "BASE_URL": server.url,
                "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
            }
            proc = subprocess.Popen([sys.executable, str(script)], env=env)
            _wait_for(lambda e=effects: "ready" in e.read_text())  # type: ignore[misc]
            time.sleep(rng.uniform(0, 0.4))  # the whole run takes about 0.3 s
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            figures["kills"] += "finished" not in effects.read_text()
            before = effects.read_text().splitlines()
            # Resume as the docs say: the prompt again if nothing was stored, else no prompt.
            os.environ.update({"EFFECTS": str(effects), "DB": str(db), "BASE_URL": server.url})
            spec = importlib.util.spec_from_file_location(f"soak_{k}", script)
            assert spec is not None and spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            agent = module.make_agent()
            prompt = None if len(agent.store.load(conv)) else "do the three steps"
            try:
                result = agent.run(prompt, conversation=conv)
                history = agent.store.load(conv)
            finally:
                agent.store.close()
                agent.client.close()
            assert result.text == "all three steps done"
            roles = [e.role for e in history]
            figures["lost"] += roles != ["user", "assistant"] * 4
            answers = [e for e in history if e.role == "assistant" and not e.blocks[0].get("id")]
            figures["duplicate_answers"] += len(answers) - 1
            lines = effects.read_text().splitlines()
            for key in {line.split()[1] for line in lines if line.startswith("done ")}:
                runs = lines.count(f"done {key}")
                in_window = f"done {key}" in before and f"journaled {key}" not in before
                figures["reruns_in_window" if in_window else "reruns_outside_window"] += runs - 1
    return figures


def test_kill_soak_sigkill_a_three_turn_tool_run_and_resume(tmp_path: Path) -> None:
    figures = kill_soak(10, tmp_path)
    assert figures["kills"] >= 5  # most kills landed mid-run (the rest after it finished)
    assert figures["lost"] == 0
    assert figures["duplicate_answers"] == 0
    assert figures["reruns_outside_window"] == 0


@pytest.mark.parametrize("stored", [True, False], ids=["store", "no-store"])
def test_rerunning_a_failed_prompt_on_the_same_conversation_object_sends_it_once(
    stored: bool,
) -> None:
    from agentkit.stores import MemoryStore
    from agentkit.testing import Fault

    overloaded = Fault.status_error(529, "overloaded_error", "Overloaded", should_retry=False)
    fake = FakeClaude([overloaded, Reply.text("answered")])
    agent = _agent(fake, MemoryStore() if stored else None)
    conversation = agentkit.Conversation()
    with pytest.raises(agentkit.OverloadedError):
        agent.run("question", conversation=conversation)
    agent.run("question", conversation=conversation)  # the same object, the same prompt
    assert [e.role for e in conversation] == ["user", "assistant"]
    assert fake.message_bodies[1]["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "question"}]}
    ]


@pytest.mark.parametrize("stored", [True, False], ids=["store", "no-store"])
def test_a_different_prompt_after_a_failure_on_the_same_object_is_one_user_message(
    stored: bool,
) -> None:
    from agentkit.stores import MemoryStore
    from agentkit.testing import Fault

    overloaded = Fault.status_error(529, "overloaded_error", "Overloaded", should_retry=False)
    store = MemoryStore() if stored else None
    fake = FakeClaude(["first answer", overloaded, Reply.text("second answer")])
    agent = _agent(fake, store)
    conversation = agent.run("first question").conversation
    with pytest.raises(agentkit.OverloadedError):
        agent.run("a question that failed", conversation=conversation)
    assert [e.role for e in conversation] == ["user", "assistant"]  # the failed prompt is gone
    agent.run("another question", conversation=conversation)
    roles = [m["role"] for m in fake.message_bodies[2]["messages"]]
    assert roles == ["user", "assistant", "user"]
    assert fake.message_bodies[2]["messages"][-1]["content"][0]["text"] == "another question"
    assert [e.role for e in conversation] == ["user", "assistant", "user", "assistant"]
    if store is not None:
        assert [e.role for e in store.load(conversation.id)] == [e.role for e in conversation]


def test_a_failed_run_keeps_hand_built_history_and_an_early_closed_stream_its_prompt() -> None:
    from agentkit.testing import Fault

    overloaded = Fault.status_error(529, "overloaded_error", "Overloaded", should_retry=False)
    fake = FakeClaude([overloaded, Reply.text("streamed answer"), Reply.text("done")])
    agent = _agent(fake, None)
    history = agentkit.Conversation(
        [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}]
    )
    with pytest.raises(agentkit.OverloadedError):
        agent.run("fails", conversation=history)
    assert [e.message["content"] for e in history] == ["Hi", "Hello!"]  # not committed, kept
    stream = agent.stream("left early", conversation=history)
    next(iter(stream))
    stream.close()
    assert len(history) == 2
    agent.run("again", conversation=history)
    assert [m["role"] for m in fake.message_bodies[-1]["messages"]] == ["user", "assistant", "user"]


def test_a_tool_that_stopped_the_run_stops_the_run_resumed_after_a_crash() -> None:
    from agentkit.stores import MemoryStore

    class FailingCommit(MemoryStore):
        """Fails the commit of the tool results while `broken`, as a crash right before it."""

        broken = True

        def commit(self, conversation: agentkit.Conversation) -> int:
            if self.broken and conversation.entries[-1].role == "user" and len(conversation) > 2:
                raise OSError("the disk is full")
            return super().commit(conversation)

    runs: list[str] = []

    @agentkit.tool
    def halt(reason: str) -> str:
        """Stop everything.

        Args:
            reason: Why.
        """
        runs.append(reason)
        raise agentkit.StopRun(f"halted: {reason}")

    fake = FakeClaude([Reply.tool_use("halt", {"reason": "enough"}), Reply.text("not asked")])
    client = agentkit.Client(api_key="test", http_client=fake.http_client(), max_retries=0)
    store = FailingCommit()
    agent = agentkit.Agent("claude-haiku-4-5", client=client, tools=[halt], store=store)
    with pytest.raises(OSError):
        agent.run("Halt.", conversation=agentkit.Conversation(id="halting"))
    store.broken = False
    result = agent.run(conversation="halting")  # the documented resume
    # The tool's result was journaled with a stop marker: the resumed run did not run the tool
    # again, committed its result, and stopped as the first run would have.
    assert result.status == "stopped" and runs == ["enough"]
    assert len(fake.message_bodies) == 1  # the model was not asked again
    stored = store.load("halting")
    assert [e.role for e in stored] == ["user", "assistant", "user"]
    assert stored.entries[-1].blocks == [
        {
            "type": "tool_result",
            "tool_use_id": stored.entries[1].blocks[0]["id"],
            "content": "halted: enough",
            "is_error": False,
        }
    ]


def test_discard_uncommitted_never_drops_a_committed_message() -> None:
    conversation = agentkit.Conversation([{"role": "user", "content": "Hi"}])
    conversation.version = 1
    with pytest.raises(ValueError, match="1 committed"):
        conversation.discard_uncommitted(0)
    conversation.append({"role": "assistant", "content": "Hello"})
    conversation.discard_uncommitted(1)
    assert len(conversation) == 1 and conversation.usage.requests == 0


def test_resuming_an_ended_structured_output_run_returns_the_stored_output() -> None:
    from pydantic import BaseModel

    from agentkit.stores import MemoryStore

    class City(BaseModel):
        name: str

    fake = FakeClaude([Reply.tool_use("final_result", {"name": "Oslo"})])
    store = MemoryStore()
    client = agentkit.Client(api_key="test", http_client=fake.http_client(), max_retries=0)
    agent = agentkit.Agent(
        "claude-haiku-4-5", client=client, store=store, output_type=City, output_mode="tool"
    )
    first = agent.run("Which city?", conversation=agentkit.Conversation(id="out"))
    again = agent.run(conversation="out")
    assert again.output == first.output == City(name="Oslo")
    assert len(fake.message_bodies) == 1 and len(store.load("out")) == 3
    assert again.message is not None and again.message.id == first.message.id  # type: ignore[union-attr]
