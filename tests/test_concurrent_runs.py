"""Two processes running one conversation at once: one run at a time, decided before any paid
call. Real processes, a real SQLite file or PostgreSQL server, the fake Claude over loopback
HTTP (one fake for both processes, so its request count is the number of paid calls)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Mapping
from functools import partial
from pathlib import Path
from typing import Any

import anyio
import pytest
from _pg import postgres_dsn

import agentkit
from agentkit.stores import MemoryStore, PostgresStore, SQLiteStore, to_async
from agentkit.testing import FakeClaude, FakeServer, Reply

__all__ = ["postgres_dsn"]  # the fixture, imported for pytest

ROOT = Path(__file__).resolve().parents[1]
RUNS = 60

RUNNER = textwrap.dedent(
    """
    import os, sys
    import agentkit
    from agentkit.stores import PostgresStore, SQLiteStore

    target, tag, wait = os.environ["TARGET"], sys.argv[1], float(os.environ["WAIT"])
    if target.startswith("postgresql://") or "dbname=" in target:
        store = PostgresStore(target)
    else:
        store = SQLiteStore(target, durable=False)
    client = agentkit.Client(api_key="test", base_url=os.environ["BASE_URL"], max_retries=0)
    agent = agentkit.Agent("claude-haiku-4-5", client=client, store=store, busy_timeout=wait)
    done = busy = 0
    for i in range(int(os.environ["RUNS"])):
        try:
            agent.run(f"{tag}-{i}", conversation=os.environ["CONV"])
            done += 1
        except agentkit.ConversationBusyError:
            busy += 1
    print(done, busy)
    """
)


def answer(body: Mapping[str, Any]) -> Reply:
    """Answer a prompt by naming it, so a stored reply shows which prompt it answered."""
    last = body["messages"][-1]
    content = last["content"]
    prompt = content if isinstance(content, str) else content[-1]["text"]
    return Reply.text(f"answer to {prompt}")


def check_history(history: agentkit.Conversation, fake: FakeClaude) -> int:
    """0 stranded prompts, 0 merged turns, 0 paid replies discarded; returns the turns."""
    roles = [e.role for e in history]
    assert roles == ["user", "assistant"] * (len(roles) // 2)  # nothing stranded or merged
    for prompt, reply in zip(history.entries[::2], history.entries[1::2], strict=True):
        (block,) = prompt.blocks  # one prompt per user message: no merged turns
        assert reply.blocks[0]["text"] == f"answer to {block['text']}"
    # Every paid call's reply is in the history: none was thrown away.
    assert len(fake.message_bodies) == len(roles) // 2
    for body in fake.message_bodies:
        assert body["messages"][-1]["role"] == "user" and body["messages"][-2:-1] != [
            body["messages"][-1]
        ]
    return len(roles) // 2


def two_processes(
    target: str, conv: str, wait: float, tmp_path: Path
) -> tuple[FakeClaude, int, int]:
    store = PostgresStore(target) if target.startswith("postgres") else SQLiteStore(target)
    with store:
        store.create(agentkit.Conversation(id=conv))
    fake = FakeClaude(answer)
    script = tmp_path / "runner.py"
    script.write_text(RUNNER)
    with FakeServer(fake) as server:
        env = {
            **os.environ,
            "TARGET": target,
            "CONV": conv,
            "WAIT": str(wait),
            "RUNS": str(RUNS),
            "BASE_URL": server.url,
            "PYTHONPATH": str(ROOT),
        }
        procs = [
            subprocess.Popen(
                [sys.executable, str(script), tag], env=env, stdout=subprocess.PIPE, text=True
            )
            for tag in ("A", "B")
        ]
        outputs = [p.communicate(timeout=300)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    counts = [tuple(map(int, out.split())) for out in outputs]
    return fake, sum(c[0] for c in counts), sum(c[1] for c in counts)


@pytest.mark.parametrize("wait", [0.0, 30.0], ids=["fail-fast", "wait"])
def test_two_processes_sqlite(tmp_path: Path, wait: float) -> None:
    db = str(tmp_path / "runs.db")
    fake, done, busy = two_processes(db, "shared", wait, tmp_path)
    assert done + busy == 2 * RUNS
    if wait:
        assert busy == 0  # each run waited its turn
    turns = check_history(SQLiteStore(db).load("shared"), fake)
    assert turns == done


@pytest.mark.postgres
@pytest.mark.parametrize("wait", [0.0, 30.0], ids=["fail-fast", "wait"])
def test_two_processes_postgres(postgres_dsn: str, tmp_path: Path, wait: float) -> None:
    conv = f"runs-{uuid.uuid4().hex}"
    fake, done, busy = two_processes(postgres_dsn, conv, wait, tmp_path)
    assert done + busy == 2 * RUNS
    if wait:
        assert busy == 0
    with PostgresStore(postgres_dsn) as store:
        turns = check_history(store.load(conv), fake)
    assert turns == done


# -- in one process -------------------------------------------------------------------------------


def test_a_second_run_fails_fast_before_any_call() -> None:
    store = MemoryStore()
    fake = FakeClaude([Reply.text("one")])
    client = agentkit.Client(api_key="test", http_client=fake.http_client(), max_retries=0)
    agent = agentkit.Agent("claude-haiku-4-5", client=client, store=store)
    store.create(agentkit.Conversation(id="c"))
    assert store.take_lease("c", "someone-else", ttl=60) is None
    with pytest.raises(agentkit.ConversationBusyError) as caught:
        agent.run("hello", conversation="c")
    assert caught.value.conversation_id == "c" and caught.value.owner == "someone-else"
    assert isinstance(caught.value, agentkit.StoreError)
    assert fake.message_bodies == [] and len(store.load("c")) == 0  # nothing paid, nothing stored
    store.release_lease("c", "someone-else")
    assert agent.run("hello", conversation="c").text == "one"
    assert store.take_lease("c", "next", ttl=60) is None  # released at the end of the run


def test_a_run_waits_for_the_lease_up_to_busy_timeout() -> None:
    store = MemoryStore()
    fake = FakeClaude([Reply.text("one")])
    client = agentkit.Client(api_key="test", http_client=fake.http_client(), max_retries=0)
    agent = agentkit.Agent("claude-haiku-4-5", client=client, store=store, busy_timeout=0.2)
    store.create(agentkit.Conversation(id="c"))
    store.take_lease("c", "holder", ttl=60)
    with pytest.raises(agentkit.ConversationBusyError) as caught:
        agent.run("hello", conversation="c")
    assert caught.value.waited >= 0.2
    store.take_lease("c", "holder", ttl=0.1)  # the holder stops refreshing: it lapses
    assert agent.run("hello", conversation="c").text == "one"


def test_two_tasks_on_one_conversation_take_turns() -> None:
    """The chat page whose user pressed Enter twice: two async runs at once, one waits."""
    fake = FakeClaude(answer)
    store = MemoryStore()
    store.create(agentkit.Conversation(id="page"))

    async def main() -> None:
        client = agentkit.AsyncClient(api_key="test", http_client=fake.async_http_client())
        agent = agentkit.Agent(
            "claude-haiku-4-5", client=client, store=to_async(store), busy_timeout=10
        )
        async with anyio.create_task_group() as tg:
            for n in range(4):
                tg.start_soon(partial(agent.arun, conversation="page"), f"press-{n}")

    anyio.run(main)
    assert check_history(store.load("page"), fake) == 4


@pytest.mark.parametrize("mode", ["run", "arun", "stream"])
def test_a_run_keeps_its_lease_through_long_model_and_tool_calls(mode: str) -> None:
    """The lease lasts 0.15 s unrefreshed; the model call and the tool each take 0.5 s."""
    store = MemoryStore()
    store.create(agentkit.Conversation(id="long"))
    intruders: list[str | None] = []

    def try_to_take() -> None:
        time.sleep(0.5)
        intruders.append(store.take_lease("long", "intruder", ttl=60))

    @agentkit.tool
    def slow() -> str:
        """Take a while."""
        try_to_take()
        return "done"

    def reply(body: Mapping[str, Any]) -> Reply:
        if len(body["messages"]) == 1:
            if mode != "arun":  # the in-process async fake answers inside the event loop
                try_to_take()
            return Reply.tool_use("slow", {})
        return Reply.text("finished")

    fake = FakeClaude(reply)
    options: dict[str, Any] = {"tools": [slow], "store": store, "lease_ttl": 0.15}
    if mode == "arun":
        client: Any = agentkit.AsyncClient(api_key="test", http_client=fake.async_http_client())
        agent = agentkit.Agent("claude-haiku-4-5", client=client, **options)
        result = anyio.run(partial(agent.arun, "go", conversation="long"))
    else:
        client = agentkit.Client(api_key="test", http_client=fake.http_client())
        agent = agentkit.Agent("claude-haiku-4-5", client=client, **options)
        if mode == "run":
            result = agent.run("go", conversation="long")
        else:
            *_, finished = agent.stream("go", conversation="long")
            result = finished.result  # type: ignore[attr-defined]
    assert result.text == "finished"
    # The intruder found the lease held every time: refreshed while the run waited.
    assert intruders == [intruders[0]] * (1 if mode == "arun" else 2)
    assert intruders[0] is not None and intruders[0] != "intruder"
    assert store.take_lease("long", "after", ttl=60) is None  # released at the end


@pytest.mark.parametrize(
    ("option", "value"), [("busy_timeout", -1), ("busy_timeout", "5"), ("lease_ttl", 0)]
)
def test_agent_refuses_bad_lease_settings(option: str, value: object) -> None:
    with pytest.raises(agentkit.ConfigurationError, match=option):
        agentkit.Agent("claude-haiku-4-5", **{option: value})  # type: ignore[arg-type]
