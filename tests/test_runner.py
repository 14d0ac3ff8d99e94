"""The runner against the fake Claude: exact request bodies, the stop table, limits, hooks,
approvals, structured output, and the same result through every driver."""

import json
import time
from typing import Any

import anyio
import pytest
from pydantic import BaseModel

import agentkit
from agentkit import (
    Agent,
    Allow,
    Conversation,
    Deny,
    Hooks,
    LimitExceededError,
    Limits,
    OutputValidationError,
    RunContext,
    StopRun,
    tool,
)
from agentkit.runner import (
    STOP_ACTIONS,
    RunFinished,
    ToolCallFinished,
    ToolCallStarted,
    TurnFinished,
    next_action,
)
from agentkit.runner._loop import CUT_OFF_RESULT
from agentkit.streaming import TextEvent
from agentkit.testing import FakeClaude, Reply, thinking

MODEL = "claude-haiku-4-5"
CALLS: list[str] = []


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    CALLS.append(f"add({a},{b})")
    return a + b


@tool
def fail(reason: str) -> str:
    """Always fails."""
    raise RuntimeError(reason)


@tool
def slow_sync(n: int) -> int:
    """Sleeps half a second."""
    time.sleep(0.5)
    return n


@tool
async def slow_async(n: int) -> int:
    """Sleeps half a second (async)."""
    await anyio.sleep(0.5)
    return n


@tool(requires_approval=True)
def delete_file(path: str) -> str:
    """Deletes a file (needs approval)."""
    CALLS.append(f"delete({path})")
    return f"deleted {path}"


@tool
def stopper() -> str:
    """Stops the run."""
    raise StopRun("stopping now")


def make_agent(fake: FakeClaude, *, sync: bool = True, **kwargs: Any) -> Agent[Any, Any]:
    client: Any
    if sync:
        client = agentkit.Client(api_key="test", http_client=fake.http_client())
    else:
        client = agentkit.AsyncClient(api_key="test", http_client=fake.async_http_client())
    kwargs.setdefault("tools", [add, fail, slow_sync, slow_async, delete_file, stopper])
    return Agent(MODEL, client=client, **kwargs)


@pytest.fixture(autouse=True)
def _reset_calls() -> None:
    CALLS.clear()


def test_stop_table_is_complete_and_unknown_stops() -> None:
    assert set(STOP_ACTIONS) == {
        "tool_use", "pause_turn", "compaction", "end_turn", "stop_sequence", "refusal",
        "model_context_window_exceeded", "max_tokens",
    }  # fmt: skip
    assert next_action("tool_use") == "run_tools"
    assert next_action("pause_turn") == "continue"
    assert next_action("max_tokens") == "stop"
    assert next_action("brand_new_reason") == "stop"
    assert next_action(None) == "stop"


def test_tool_loop_exact_request_bodies() -> None:
    fake = FakeClaude(
        [
            Reply(
                thinking("let me add"),
                Reply.tool_uses(("add", {"a": 1, "b": 2}), ("fail", {"reason": "boom"})).blocks[0],
                Reply.tool_uses(("add", {"a": 1, "b": 2}), ("fail", {"reason": "boom"})).blocks[1],
                stop_reason="tool_use",
            ),
            Reply.text("1+2=3, and the other tool failed"),
        ]
    )
    agent = make_agent(fake, system="Be brief.")
    result = agent.run("add 1 and 2, then fail")
    assert result.status == "complete"
    assert result.text == "1+2=3, and the other tool failed"
    assert result.turns == 2
    first, second = fake.message_bodies
    assert first["system"] == "Be brief."
    assert first["cache_control"] == {"type": "ephemeral"}  # automatic caching by default
    assert first["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "add 1 and 2, then fail"}]}
    ]
    assistant = result.new_messages[1]
    # The assistant turn goes back exactly as received: thinking with its signature first.
    assert second["messages"][1] == assistant
    assert assistant["content"][0]["type"] == "thinking" and assistant["content"][0]["signature"]
    ids = [b["id"] for b in assistant["content"] if b["type"] == "tool_use"]
    assert second["messages"][2] == {
        "role": "user",
        "content": [
            {"type": "tool_result", "tool_use_id": ids[0], "content": "3", "is_error": False},
            {
                "type": "tool_result",
                "tool_use_id": ids[1],
                "content": "RuntimeError: boom",
                "is_error": True,
            },
        ],
    }
    assert CALLS == ["add(1,2)"]


def test_thinking_bytes_echoed_exactly() -> None:
    fake = FakeClaude(
        [
            Reply(
                thinking("Ünïcödé thought 🙂"),
                Reply.tool_use("add", {"a": 2, "b": 2}).blocks[0],
                stop_reason="tool_use",
            ),
            Reply.text("4"),
        ]
    )
    agent = make_agent(fake, params={"thinking": {"type": "enabled", "budget_tokens": 1024}})
    result = agent.run("2+2?")
    assert result.text == "4"
    raw_second = fake.requests[-1].raw_body if hasattr(fake.requests[-1], "raw_body") else None
    sent = fake.message_bodies[1]["messages"][1]["content"][0]
    assert sent == result.conversation[1].message["content"][0]
    if raw_second is not None:
        assert result.conversation[1].raw in raw_second


def test_pause_turn_is_sent_back_unchanged() -> None:
    paused = Reply.pause_turn(Reply.text("searching...").blocks[0])
    fake = FakeClaude([paused, Reply.text("done")])
    agent = make_agent(fake)
    result = agent.run("research")
    assert result.text == "done" and result.turns == 2
    second = fake.message_bodies[1]["messages"]
    assert len(second) == 2 and second[1] == result.new_messages[1]  # no user message added


def test_max_tokens_cut_tool_never_runs() -> None:
    fake = FakeClaude([Reply.max_tokens("about to add", tool=("add", '{"a": 1, "b'))])
    agent = make_agent(fake)
    result = agent.run("add")
    assert result.stop_reason == "max_tokens" and result.status == "complete"
    assert CALLS == []
    # The next run answers the cut call with an error result instead of running it.
    fake.add(Reply.text("ok"))
    agent.run("try again", conversation=result.conversation)
    blocks = fake.message_bodies[-1]["messages"][-1]["content"]
    assert blocks[0]["type"] == "tool_result" and blocks[0]["is_error"] is True
    assert blocks[0]["content"] == CUT_OFF_RESULT
    assert blocks[1] == {"type": "text", "text": "try again"}
    assert CALLS == []


def test_max_tokens_continue_option() -> None:
    fake = FakeClaude([Reply.max_tokens("part one"), Reply.text(" part two")])
    agent = make_agent(fake, on_max_tokens="continue")
    result = agent.run("write")
    assert result.turns == 2 and result.text == " part two"


def test_refusal_stops_and_unknown_reason_visible() -> None:
    fake = FakeClaude([Reply.refusal()])
    result = make_agent(fake).run("bad")
    assert result.stop_reason == "refusal" and result.turns == 1
    fake2 = FakeClaude([Reply(Reply.text("x").blocks[0], stop_reason="brand_new_reason")])
    result2 = make_agent(fake2).run("hi")
    assert result2.stop_reason == "brand_new_reason" and result2.turns == 1


def test_container_reused() -> None:
    container = {"id": "container_abc", "expires_at": "2030-01-01T00:00:00Z"}
    fake = FakeClaude(
        [
            Reply(
                Reply.tool_use("add", {"a": 1, "b": 1}).blocks[0], extra={"container": container}
            ),
            Reply.text("2"),
        ]
    )
    make_agent(fake).run("go")
    assert "container" not in fake.message_bodies[0]
    assert fake.message_bodies[1]["container"] == "container_abc"


def test_tools_of_a_turn_run_concurrently_sync_and_async() -> None:
    calls = [("slow_sync", {"n": i}) for i in range(3)] + [
        ("slow_async", {"n": i}) for i in range(3)
    ]
    fake = FakeClaude([Reply.tool_uses(*calls), Reply.text("done")])
    start = time.perf_counter()
    result = make_agent(fake).run("go")
    elapsed = time.perf_counter() - start
    assert elapsed < 0.95, elapsed  # six 0.5 s tools overlapped
    contents = [b["content"] for b in result.new_messages[2]["content"]]
    assert contents == ["0", "1", "2", "0", "1", "2"]

    async def main() -> float:
        fake2 = FakeClaude([Reply.tool_uses(*calls), Reply.text("done")])
        agent = make_agent(fake2, sync=False)
        t0 = time.perf_counter()
        await agent.arun("go")
        return time.perf_counter() - t0

    assert anyio.run(main) < 0.95


def _script() -> list[Any]:
    return [
        Reply.tool_uses(("add", {"a": 1, "b": 2}), ("add", {"a": 5, "b": 5})),
        Reply.text("3 and 10"),
    ]


def _summary(result: agentkit.RunResult) -> tuple[Any, ...]:  # type: ignore[type-arg]
    def strip(messages: list[dict[str, Any]]) -> list[Any]:
        return json.loads(json.dumps(messages).replace("toolu_", "id_"))

    return (
        result.status,
        result.text,
        result.turns,
        result.stop_reason,
        result.usage.output_tokens,
        [m["role"] for m in result.new_messages],
        [
            [b.get("type") for b in m["content"]]
            if isinstance(m["content"], list)
            else m["content"]
            for m in strip(result.new_messages)
        ],
    )


def test_same_result_through_every_driver() -> None:
    sync_result = make_agent(FakeClaude(_script(), seed=1)).run("go")
    events = list(make_agent(FakeClaude(_script(), seed=1)).stream("go"))
    stream_result = events[-1].result  # type: ignore[union-attr]
    assert isinstance(events[-1], RunFinished)

    async def both() -> tuple[Any, list[Any]]:
        r = await make_agent(FakeClaude(_script(), seed=1), sync=False).arun("go")
        evs = [e async for e in make_agent(FakeClaude(_script(), seed=1), sync=False).astream("go")]
        return r, evs

    async_result, async_events = anyio.run(both)
    assert (
        _summary(sync_result)
        == _summary(stream_result)
        == _summary(async_result)
        == _summary(async_events[-1].result)
    )
    assert sync_result.new_messages == stream_result.new_messages
    kinds = [type(e) for e in events]
    assert kinds.count(ToolCallStarted) == 2 and kinds.count(ToolCallFinished) == 2
    assert kinds.count(TurnFinished) == 2 and TextEvent in kinds
    assert [type(e) for e in async_events] == kinds


def test_run_makes_no_event_it_would_drop() -> None:
    """`run()` and `arun()` keep only the result: their drivers yield `RunFinished` alone (the
    step events of `stream()` are not made), with the same result as `stream()`."""
    from agentkit.runner._drivers import async_events, sync_events

    agent = make_agent(FakeClaude(_script(), seed=1))
    client = agent.sync_client()
    assert client is not None
    events = list(sync_events(client, agent._parts("go", None, None, None)))
    assert [type(e) for e in events] == [RunFinished]
    streamed = list(make_agent(FakeClaude(_script(), seed=1)).stream("go"))
    assert _summary(events[-1].result) == _summary(streamed[-1].result)  # type: ignore[union-attr]

    async def async_run() -> list[Any]:
        agent = make_agent(FakeClaude(_script(), seed=1), sync=False)
        client = agent.async_client()
        assert client is not None
        parts = agent._parts("go", None, None, None, asynchronous=True)
        return [e async for e in async_events(client, parts)]

    assert [type(e) for e in anyio.run(async_run)] == [RunFinished]


def test_max_turns_limit_carries_partial_result() -> None:
    fake = FakeClaude([Reply.tool_use("add", {"a": 1, "b": 1})] * 5)
    agent = make_agent(fake, limits=Limits(max_turns=2))
    with pytest.raises(LimitExceededError) as info:
        agent.run("loop")
    assert info.value.limit == "max_turns"
    partial = info.value.result
    assert partial.turns == 2 and len(partial.new_messages) == 5


def test_token_and_cost_budgets() -> None:
    fake = FakeClaude([Reply.text("x" * 400)])
    with pytest.raises(LimitExceededError) as info:
        make_agent(fake, limits=Limits(max_output_tokens=10)).run("hi")
    assert info.value.limit == "max_output_tokens"
    assert info.value.result.message is not None  # the answer is kept
    fake2 = FakeClaude([Reply.text("hello")])
    with pytest.raises(LimitExceededError) as info2:
        make_agent(fake2, limits=Limits(max_cost_usd=1e-9)).run("hi")
    assert info2.value.limit == "max_cost_usd"


def test_consecutive_tool_errors_limit() -> None:
    fake = FakeClaude([Reply.tool_use("fail", {"reason": "x"})] * 4)
    with pytest.raises(LimitExceededError) as info:
        make_agent(fake, limits=Limits(max_consecutive_tool_errors=2)).run("go")
    assert info.value.limit == "max_consecutive_tool_errors"


def test_hooks_change_params_deny_and_see_errors() -> None:
    seen: list[str] = []

    def before_model(params: dict[str, Any], conversation: Conversation) -> dict[str, Any]:
        return {**params, "temperature": 0.0}

    def after_model(message: agentkit.Message, conversation: Conversation) -> None:
        seen.append(message.stop_reason or "")

    def before_tool(call: Any, ctx: RunContext[Any]) -> Any:
        return Deny("not today") if call.name == "add" else None

    fake = FakeClaude([Reply.tool_use("add", {"a": 1, "b": 1}), Reply.text("fine")])
    hooks = Hooks(
        before_model=(before_model,), after_model=(after_model,), before_tool=(before_tool,)
    )
    result = make_agent(fake, hooks=hooks).run("go")
    assert all(b["temperature"] == 0.0 for b in fake.message_bodies)
    assert seen == ["tool_use", "end_turn"]
    denied = result.new_messages[2]["content"][0]
    assert denied["is_error"] is True and denied["content"] == "not today"
    assert CALLS == []

    errors: list[BaseException] = []
    fake2 = FakeClaude([agentkit.testing.Fault.server_error(400)])
    with pytest.raises(agentkit.BadRequestError):
        make_agent(fake2, hooks=Hooks(on_error=(lambda e, c: errors.append(e),))).run("x")
    assert len(errors) == 1


def test_approval_pause_approve_one_deny_one_resume() -> None:
    fake = FakeClaude(
        [
            Reply.tool_uses(
                ("delete_file", {"path": "a.txt"}),
                ("delete_file", {"path": "b.txt"}),
                ("add", {"a": 2, "b": 3}),
            ),
            Reply.text("deleted a, kept b"),
        ]
    )
    agent = make_agent(fake)
    paused = agent.run("clean up")
    assert paused.status == "awaiting_approval"
    assert [c.input["path"] for c in paused.pending] == ["a.txt", "b.txt"]
    assert CALLS == ["add(2,3)"]  # the tool that needs no approval already ran
    approvals = {paused.pending[0].id: Allow(), paused.pending[1].id: Deny("user said no")}
    result = agent.run(conversation=paused.conversation, approvals=approvals)
    assert result.status == "complete" and result.text == "deleted a, kept b"
    assert CALLS == ["add(2,3)", "delete(a.txt)"]  # add did not run again
    results = fake.message_bodies[-1]["messages"][-1]["content"]
    assert [r["content"] for r in results] == ["deleted a.txt", "user said no", "5"]
    assert [r["is_error"] for r in results] == [False, True, False]


def test_stop_run_from_a_tool() -> None:
    fake = FakeClaude([Reply.tool_use("stopper", {}), Reply.text("never")])
    result = make_agent(fake).run("go")
    assert result.status == "stopped" and fake.remaining == 1


class Weather(BaseModel):
    city: str
    celsius: float


def test_structured_output_with_retry() -> None:
    fake = FakeClaude(
        [
            Reply.tool_use("final_result", {"city": "Paris"}),  # missing field
            Reply.text("It is sunny."),  # no tool call at all
            Reply.tool_use("final_result", {"city": "Paris", "celsius": 21.5}),
        ]
    )
    agent = make_agent(
        fake, tools=[], output_type=Weather, output_mode="tool", limits=Limits(max_turns=5)
    )
    result = agent.run("weather in Paris?")
    assert result.output == Weather(city="Paris", celsius=21.5)
    tool_def = fake.message_bodies[0]["tools"][0]
    assert tool_def["name"] == "final_result"
    assert tool_def["input_schema"]["required"] == ["city", "celsius"]
    first_result = fake.message_bodies[1]["messages"][-1]["content"][0]
    assert first_result["is_error"] is True and "celsius" in first_result["content"]


def test_structured_output_gives_up() -> None:
    fake = FakeClaude([Reply.text("no")] * 3)
    agent = make_agent(fake, tools=[], output_type=Weather, output_mode="tool")
    with pytest.raises(OutputValidationError):
        agent.run("weather?")


def test_structured_output_uses_output_config_where_the_model_takes_it() -> None:
    fake = FakeClaude(
        [
            Reply.text('{"city": "Paris"}'),  # valid JSON, missing a field: sent back
            Reply.text('{"city": "Paris", "celsius": 21.5}'),
        ]
    )
    agent = make_agent(fake, tools=[], output_type=Weather)  # claude-sonnet-4-5: auto -> native
    result = agent.run("weather in Paris?")
    assert result.output == Weather(city="Paris", celsius=21.5)
    first = fake.message_bodies[0]
    fmt = first["output_config"]["format"]
    assert fmt["type"] == "json_schema" and fmt["schema"]["required"] == ["city", "celsius"]
    assert fmt["schema"]["additionalProperties"] is False
    assert "tools" not in first  # no final_result tool
    fix = fake.message_bodies[1]["messages"][-1]["content"][0]["text"]
    assert "celsius" in fix and "did not match the required format" in fix
    assert fake.message_bodies[1]["output_config"] == first["output_config"]


def test_native_structured_output_with_tools_async_and_resume() -> None:
    from agentkit.stores import MemoryStore

    @agentkit.tool
    def thermometer(city: str) -> str:
        """Read the temperature.

        Args:
            city: The city.
        """
        return f"{city}: 21.5"

    fake = FakeClaude()  # test-model mode: calls the tool, then answers with schema-shaped JSON
    store = MemoryStore()
    agent = make_agent(
        fake, sync=False, tools=[thermometer], output_type=Weather, params={"temperature": 0.0}
    )
    agent.store = store
    result = anyio.run(agent.arun, "weather?")
    assert isinstance(result.output, Weather) and result.stop_reason == "end_turn"
    assert len(fake.message_bodies) == 2 and fake.message_bodies[0]["temperature"] == 0.0
    assert [t["name"] for t in fake.message_bodies[0]["tools"]] == ["thermometer"]
    again = anyio.run(lambda: agent.arun(conversation=result.conversation.id))
    assert again.output == result.output and len(fake.message_bodies) == 2  # no new call


@pytest.mark.parametrize(
    ("model", "output_type", "mode"),
    [
        ("claude-sonnet-4-0", Weather, "auto"),  # the model table: no structured outputs
        ("claude-sonnet-4-5", dict[str, int], "auto"),  # an open-ended object cannot fit
        ("claude-sonnet-4-5", Weather, "tool"),  # asked for
    ],
)
def test_structured_output_falls_back_to_the_output_tool(
    model: str, output_type: Any, mode: str
) -> None:
    answer = {"city": "Oslo", "celsius": 3.0} if output_type is Weather else {"a": 1, "b": 2}
    fake = FakeClaude([Reply.tool_use("final_result", answer)])
    client = agentkit.Client(api_key="test", http_client=fake.http_client())
    agent = Agent(model, client=client, output_type=output_type, output_mode=mode)
    output = agent.run("weather?").output
    assert output == (Weather(city="Oslo", celsius=3.0) if output_type is Weather else answer)
    body = fake.message_bodies[0]
    assert "output_config" not in body and body["tools"][-1]["name"] == "final_result"


def test_output_mode_values_are_checked() -> None:
    client = agentkit.Client(api_key="test", http_client=FakeClaude().http_client())
    with pytest.raises(agentkit.ConfigurationError, match="does not list 'claude-sonnet-4-0'"):
        Agent("claude-sonnet-4-0", client=client, output_type=Weather, output_mode="native")
    with pytest.raises(agentkit.ConfigurationError, match=r"does not fit structured outputs"):
        Agent("claude-sonnet-4-5", client=client, output_type=dict[str, int], output_mode="native")
    with pytest.raises(agentkit.ConfigurationError, match="output_mode"):
        Agent("claude-sonnet-4-5", client=client, output_type=Weather, output_mode="json")  # type: ignore[arg-type]
    with pytest.raises(agentkit.ConfigurationError, match=r"output_config\.format itself"):
        Agent(
            "claude-sonnet-4-5",
            client=client,
            output_type=Weather,
            params={"output_config": {"format": {"type": "json_schema", "schema": {}}}},
        )
    effort = Agent(
        "claude-opus-4-5",
        client=client,
        output_type=Weather,
        params={"output_config": {"effort": "low"}},
    )
    config = effort.spec.params["output_config"]
    assert config["effort"] == "low" and config["format"]["type"] == "json_schema"


def test_run_context_reaches_tools() -> None:
    seen: list[Any] = []

    @tool
    def whoami(ctx: RunContext[dict[str, str]]) -> str:
        """Who is asking."""
        seen.append((ctx.deps["user"], ctx.tool_use_id, ctx.turn, ctx.conversation_id))
        return ctx.deps["user"]

    fake = FakeClaude([Reply.tool_use("whoami", {}), Reply.text("you are ada")])
    result = make_agent(fake, tools=[whoami]).run("who am I?", deps={"user": "ada"})
    assert seen[0][0] == "ada" and seen[0][1].startswith("toolu_") and seen[0][2] == 1
    assert seen[0][3] == result.conversation.id


def test_multi_turn_chat_on_one_conversation() -> None:
    fake = FakeClaude([Reply.text("hi"), Reply.text("you said hello")])
    agent = make_agent(fake)
    first = agent.run("hello")
    agent.run("what did I say?", conversation=first.conversation)
    assert len(fake.message_bodies[1]["messages"]) == 3
    assert len(first.conversation) == 4


def test_test_model_mode_exercises_every_tool() -> None:
    fake = FakeClaude()
    result = make_agent(fake, tools=[add]).run("anything")
    assert result.status == "complete" and CALLS and result.turns == 2


def test_recorded_pause_turn_is_continued_unchanged() -> None:
    """The recorded pause_turn exchange (pydantic-ai cassette): the paused turn goes back as-is."""
    import httpx
    import respx
    from recordings import load

    first, second = load("pause-turn-nonstream"), load("pause-turn-continuation")
    recorded = first.request["body"]  # type: ignore[index]
    params = {k: recorded[k] for k in ("thinking", "tool_choice")}
    with respx.mock:
        route = respx.post("https://api.anthropic.com/v1/messages").mock(
            side_effect=[
                httpx.Response(200, json=first.body),
                httpx.Response(200, json=second.body),
            ]
        )
        agent = Agent(
            recorded["model"],
            tools=recorded["tools"],
            client=agentkit.Client(api_key="test"),
            max_tokens=recorded["max_tokens"],
            params=params,
        )
        result = agent.run(recorded["messages"][0]["content"])
    assert result.turns == 2 and result.stop_reason == "end_turn"
    sent = json.loads(route.calls[1].request.content)["messages"]
    expected = second.request["body"]["messages"]  # type: ignore[index]
    assert sent == expected  # user prompt, then the paused assistant turn unchanged
    assert sent[1]["content"] == first.body["content"]


def test_hand_built_history_with_tool_calls_runs_them() -> None:
    """An assistant message written by hand (no response metadata) asks for its tools."""
    history = agentkit.Conversation(
        [
            {"role": "user", "content": "add 2 and 3"},
            {
                "role": "assistant",
                "content": [
                    {
                        "type": "tool_use",
                        "id": "toolu_hand",
                        "name": "add",
                        "input": {"a": 2, "b": 3},
                    }
                ],
            },
        ]
    )
    fake = FakeClaude([Reply.text("5")])
    result = make_agent(fake).run(conversation=history)
    assert CALLS == ["add(2,3)"] and result.text == "5"
    sent = fake.message_bodies[0]["messages"][-1]["content"]
    assert sent == [
        {"type": "tool_result", "tool_use_id": "toolu_hand", "content": "5", "is_error": False}
    ]


def test_where_a_sync_runs_tools_run() -> None:
    """A sync run calls a lone sync tool in its own thread, overlaps a turn's several sync
    calls in the agent's worker threads, and runs async tools on an event loop."""
    import threading

    meet = threading.Barrier(2, timeout=10)  # the pair's calls meet only if they overlap
    threads: list[str] = []

    @tool
    def where(pair: bool) -> str:
        """Name the thread."""
        if pair:
            meet.wait()
        threads.append(threading.current_thread().name)
        return "ok"

    @tool
    async def where_async() -> str:
        """Run on an event loop."""
        threads.append(threading.current_thread().name)
        return "ok"

    fake = FakeClaude(
        [
            Reply.tool_use("where", {"pair": False}),
            Reply.tool_uses(("where", {"pair": True}), ("where", {"pair": True})),
            Reply.tool_use("where_async", {}),
            Reply.text("done"),
        ]
    )
    result = make_agent(fake, tools=[where, where_async]).run("where?")
    assert result.text == "done"
    here = threading.current_thread().name
    assert threads[0] == here
    assert all(name.startswith("agentkit-tool") for name in threads[1:3])
    assert threads[3] != here and not threads[3].startswith("agentkit-tool")
    results = [b for m in fake.message_bodies[-1]["messages"] for b in m["content"]
               if isinstance(b, dict) and b.get("type") == "tool_result"]  # fmt: skip
    assert [r["content"] for r in results] == ["ok"] * 4
