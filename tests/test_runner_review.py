"""Review regressions for the runner: resumes, abandoned streams and error hooks."""

import gc
from collections.abc import Iterator
from contextlib import aclosing, contextmanager
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import pytest
from pydantic import BaseModel

import agentkit
from agentkit import (
    Agent,
    Allow,
    ConfigurationError,
    Conversation,
    Hooks,
    OutputValidationError,
    tool,
)
from agentkit.runner import RunFinished, ToolCallFinished
from agentkit.stores import SQLiteStore
from agentkit.testing import FakeClaude, Fault, Reply, thinking

MODEL = "claude-haiku-4-5"
CALLS: list[str] = []


@tool(requires_approval=True)
def publish(title: str) -> str:
    """Publishes a post (needs approval)."""
    CALLS.append(f"publish({title})")
    return f"published {title}"


class Answer(BaseModel):
    summary: str


def _agent(fake: FakeClaude, **kwargs: Any) -> Agent[Any, Any]:
    client = agentkit.Client(api_key="test", http_client=fake.http_client())
    return Agent(MODEL, client=client, **kwargs)


def test_resumed_turn_with_valid_output_ends_the_run() -> None:
    """The model publishes (needs approval) and answers in the same turn; once approved, the
    resumed run has its output and must not call the model again."""
    CALLS.clear()
    fake = FakeClaude(
        [
            Reply.tool_uses(("publish", {"title": "hi"}), ("final_result", {"summary": "done"})),
            Reply.text("never sent"),
        ]
    )
    agent = _agent(fake, tools=[publish], output_type=Answer, output_mode="tool")
    paused = agent.run("publish and summarize")
    assert paused.status == "awaiting_approval"
    result = agent.run(conversation=paused.conversation, approvals={paused.pending[0].id: Allow()})
    assert CALLS == ["publish(hi)"]
    assert result.status == "complete" and result.output == Answer(summary="done")
    assert fake.remaining == 1


def test_closing_a_finished_stream_is_not_an_error() -> None:
    """Breaking out of `stream()` (here on `RunFinished`) closes the generator: that is not an
    error, so `on_error` hooks must not see a `GeneratorExit`."""
    errors: list[BaseException] = []
    fake = FakeClaude([Reply.text("hello")])
    agent = _agent(fake, hooks=Hooks(on_error=(lambda e, c: errors.append(e),)))
    events = agent.stream("hi")
    for event in events:
        if isinstance(event, RunFinished):
            break
    events.close()  # type: ignore[attr-defined]
    assert errors == []


SLEEPY_STARTED: list[anyio.Event] = []


@tool
def quick(n: int) -> int:
    """Returns n at once."""
    CALLS.append(f"quick({n})")
    return n


@tool
async def sleepy(n: int) -> int:
    """Waits forever (until cancelled)."""
    CALLS.append(f"sleepy({n})")
    SLEEPY_STARTED[0].set()
    await anyio.sleep_forever()
    return n


@tool(name="sleepy")
def _fast_sleepy(n: int) -> int:
    """The same tool, now quick."""
    CALLS.append(f"fast_sleepy({n})")
    return n


def _async_agent(fake: FakeClaude, **kwargs: Any) -> Agent[Any, Any]:
    client = agentkit.AsyncClient(api_key="test", http_client=fake.async_http_client())
    return Agent(MODEL, client=client, **kwargs)


@pytest.mark.anyio
async def test_astream_abandoned_with_break_leaves_the_caller_alone() -> None:
    """Breaking out of `astream()` without closing it must not leave a cancel scope behind
    that later cancels the caller's task (the garbage collector closes the generator)."""
    fake = FakeClaude(
        [Reply.tool_uses(("quick", {"n": 1}), ("quick", {"n": 2})), Reply.text("done")]
    )
    agent = _async_agent(fake, tools=[quick])
    async for event in agent.astream("go"):
        if isinstance(event, ToolCallFinished):
            break
    gc.collect()
    for _ in range(5):  # let the event loop finalize the generator; it must not cancel us
        await anyio.lowlevel.checkpoint()


@pytest.mark.anyio
async def test_astream_cancelled_mid_tools_resumes_only_the_unfinished_call() -> None:
    """Cancelling a streaming run while a tool runs cancels the tool and closes the runtime;
    a later run on the same conversation runs only the unfinished call."""
    CALLS.clear()
    SLEEPY_STARTED[:] = [anyio.Event()]
    fake = FakeClaude(
        [Reply.tool_uses(("quick", {"n": 1}), ("sleepy", {"n": 2})), Reply.text("done")]
    )
    agent = _async_agent(fake, tools=[quick, sleepy])
    conv = Conversation()
    seen: list[Any] = []

    async def consume() -> None:
        async with aclosing(agent.astream("go", conversation=conv)) as events:
            async for event in events:
                seen.append(event)

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(consume)
            await SLEEPY_STARTED[0].wait()
            tg.cancel_scope.cancel()
    assert not any(isinstance(e, RunFinished) for e in seen)
    assert conv.entries[-1].message["role"] == "assistant"  # the tool step was not committed

    resumed = _async_agent(fake, tools=[quick, _fast_sleepy])
    with anyio.fail_after(5):
        result = await resumed.arun(conversation=conv)
    assert result.text == "done"
    assert sorted(CALLS) == ["fast_sleepy(2)", "quick(1)", "sleepy(2)"]


ORDER: list[str] = []


@contextmanager
def _session() -> Iterator[str]:
    try:
        yield "session"
    finally:
        ORDER.append("resource closed")


@tool(resources={"s": _session})
def fast(s: str) -> str:
    """Finishes at once."""
    return s


@tool(resources={"s": _session})
async def hang(s: str) -> str:
    """Waits until cancelled, still using the resource."""
    try:
        await anyio.sleep_forever()
    finally:
        ORDER.append("tool ended")
    return s


def test_stream_closed_mid_tools_ends_tools_before_closing_their_resources() -> None:
    """Closing `stream()` while a tool still runs cancels that tool first, then closes the
    resources it was using (not the other way round)."""
    ORDER.clear()
    fake = FakeClaude([Reply.tool_uses(("fast", {}), ("hang", {})), Reply.text("done")])
    agent = _agent(fake, tools=[fast, hang])
    events = agent.stream("go")
    for event in events:
        if isinstance(event, ToolCallFinished):
            break
    events.close()  # type: ignore[attr-defined]
    assert ORDER == ["tool ended", "resource closed"]


def test_approvals_resume_in_another_process_from_the_store(tmp_path: Path) -> None:
    """A run paused for approval is resumed by a fresh agent (as in another process) from the
    stored conversation id: the tool that already ran is not run again."""
    CALLS.clear()
    fake = FakeClaude(
        [Reply.tool_uses(("publish", {"title": "a"}), ("quick", {"n": 7})), Reply.text("ok")]
    )
    db = str(tmp_path / "runs.db")
    first = _agent(fake, tools=[publish, quick], store=SQLiteStore(db))
    paused = first.run("go")
    assert paused.status == "awaiting_approval" and CALLS == ["quick(7)"]

    second = _agent(fake, tools=[publish, quick], store=SQLiteStore(db))
    approvals = {paused.pending[0].id: Allow()}
    result = second.run(conversation=paused.conversation.id, approvals=approvals)
    assert result.text == "ok" and CALLS == ["quick(7)", "publish(a)"]
    assert [r["content"] for r in fake.message_bodies[-1]["messages"][-1]["content"]] == [
        "published a",
        "7",
    ]
    stored = SQLiteStore(db).load(paused.conversation.id)
    assert [e.role for e in stored] == ["user", "assistant", "user", "assistant"]


def test_run_after_an_api_failure_mid_loop_continues_the_conversation(tmp_path: Path) -> None:
    """The API fails (not retried) after a tool step: everything that happened is stored, and
    the next run on the conversation (thinking on, new prompt) is accepted."""
    fake = FakeClaude(
        [
            Reply(
                thinking("let me add"),
                Reply.tool_use("quick", {"n": 3}).blocks[0],
                stop_reason="tool_use",
            ),
            Fault.status_error(400, "invalid_request_error", "boom"),
            Reply(thinking("fine"), Reply.text("3").blocks[0]),
        ]
    )
    store = SQLiteStore(str(tmp_path / "c.db"))
    params = {"thinking": {"type": "enabled", "budget_tokens": 1024}}
    agent = _agent(fake, tools=[quick], store=store, params=params)
    conv = Conversation()
    with pytest.raises(agentkit.BadRequestError):
        agent.run("add", conversation=conv)
    assert [e.role for e in store.load(conv.id)] == ["user", "assistant", "user"]
    result = agent.run("and now?", conversation=conv.id)
    assert result.text == "3"
    assert [m["role"] for m in fake.message_bodies[-1]["messages"]] == [
        "user",
        "assistant",
        "user",
        "user",
    ]


def test_new_message_while_calls_await_approval_is_refused_not_dropped() -> None:
    """A new prompt on a conversation whose calls still await approval cannot be sent; the run
    says so instead of silently dropping the message."""
    fake = FakeClaude([Reply.tool_uses(("publish", {"title": "a"})), Reply.text("fine")])
    agent = _agent(fake, tools=[publish])
    paused = agent.run("go")
    with pytest.raises(ConfigurationError, match="await approval"):
        agent.run("what's 2+2?", conversation=paused.conversation)
    assert len(paused.conversation) == 2 and fake.remaining == 1
    done = agent.run(
        "thanks", conversation=paused.conversation, approvals={paused.pending[0].id: Allow()}
    )
    assert done.text == "fine"
    sent = fake.message_bodies[-1]["messages"][-1]["content"]
    assert [b["type"] for b in sent] == ["tool_result", "text"]


def test_output_failure_commits_the_turns_tool_results_first() -> None:
    """When the last allowed answer is invalid, the tools the model called beside it have run:
    their results are committed and in the error's partial result, so the history ends
    answered (a later run starts cleanly)."""
    CALLS.clear()
    bad = ("final_result", {"wrong": 1})
    fake = FakeClaude(
        [
            Reply.tool_uses(bad),
            Reply.tool_uses(bad),
            Reply.tool_uses(("quick", {"n": 5}), bad),
            Reply.text("hello"),
        ]
    )
    agent = _agent(fake, tools=[quick], output_type=Answer, output_mode="tool")
    conv = Conversation()
    with pytest.raises(OutputValidationError) as caught:
        agent.run("go", conversation=conv)
    assert CALLS == ["quick(5)"]
    last = conv.entries[-1].message
    assert last["role"] == "user"
    assert [b["tool_use_id"] for b in last["content"]] == [
        b["id"] for b in conv.entries[-2].message["content"]
    ]
    assert caught.value.result is not None
    assert caught.value.result.new_messages[-1] == last


def test_paused_turn_stored_and_resumed_after_a_failure(tmp_path: Path) -> None:
    """A `pause_turn` reply is committed; when the next call fails, a later run with no prompt
    sends the paused turn back unchanged and the model finishes it."""
    paused = Reply.pause_turn(Reply.text("searching...").blocks[0])
    fake = FakeClaude(
        [paused, Fault.status_error(400, "invalid_request_error", "boom"), Reply.text("found")]
    )
    store = SQLiteStore(str(tmp_path / "p.db"))
    agent = _agent(fake, store=store)
    conv = Conversation()
    with pytest.raises(agentkit.BadRequestError):
        agent.run("search", conversation=conv)
    assert [e.role for e in store.load(conv.id)] == ["user", "assistant"]
    result = agent.run(conversation=conv.id)
    assert result.text == "found"
    sent = fake.message_bodies[-1]["messages"]
    assert sent[-1] == store.load(conv.id)[1].message
    assert [e.role for e in store.load(conv.id)] == ["user", "assistant", "assistant"]


def test_an_empty_reply_does_not_break_the_conversation() -> None:
    """The API can answer with no content at all. The reply is kept as received, but a later
    request must not carry it mid-history: the API rejects empty non-final messages."""
    fake = FakeClaude([Reply(stop_reason="end_turn"), Reply.text("hi")])
    agent = _agent(fake)
    first = agent.run("go")
    assert first.conversation[-1].message == {"role": "assistant", "content": []}
    second = agent.run("again", conversation=first.conversation)
    assert second.text == "hi"
    assert fake.message_bodies[-1]["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "go"}]},
        {"role": "user", "content": [{"type": "text", "text": "again"}]},
    ]
    assert len(second.conversation) == 4  # the history itself keeps everything


@pytest.mark.anyio
async def test_closing_a_finished_astream_is_not_an_error() -> None:
    errors: list[BaseException] = []
    fake = FakeClaude([Reply.text("hello")])
    agent = _async_agent(fake, hooks=Hooks(on_error=(lambda e, c: errors.append(e),)))
    async with aclosing(agent.astream("hi")) as events:
        async for event in events:
            if isinstance(event, RunFinished):
                break
    assert errors == []
