"""Executing tool calls: results, failures, concurrency, hooks, approvals, resources
(agentkit/_execute.py)."""

from __future__ import annotations

import functools
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from functools import partial
from typing import Annotated, Any

import anyio
import anyio.from_thread
import anyio.lowlevel
import anyio.to_thread
import pytest
from pydantic import BaseModel, Field
from recordings import load

from agentkit import Allow, Deny, RunContext, StopRun, ToolError, tool
from agentkit.tools import Defer, ReplaceInput, ToolCall, ToolOutcome, ToolRuntime, result_content

pytestmark = pytest.mark.anyio


def use(name: str, tool_input: Any, id: str | None = None) -> dict[str, Any]:
    return {"type": "tool_use", "id": id or f"toolu_{name}", "name": name, "input": tool_input}


def results(outcomes: list[ToolOutcome]) -> list[dict[str, Any] | None]:
    return [o.result for o in outcomes]


# --- a real recording -------------------------------------------------------------------------


async def test_recorded_parallel_turn_gives_the_recorded_results() -> None:
    facts = {
        "Alice": "alice is bob's wife",
        "Bob": "bob is alice's husband",
        "Charlie": "charlie is alice's son",
        "Daisy": "daisy is bob's daughter and charlie's younger sister",
    }

    @tool
    async def retrieve_entity_info(name: str) -> str:
        """Get the knowledge about the given entity."""
        return facts[name]

    body = load("tools-nonstream-parallel-results").request["body"]  # type: ignore[index]
    assistant, results_message = body["messages"][1], body["messages"][2]
    calls = [b for b in assistant["content"] if b["type"] == "tool_use"]
    outcomes = await ToolRuntime([retrieve_entity_info]).run_calls(calls)
    assert results(outcomes) == results_message["content"]
    assert [o.status for o in outcomes] == ["ok"] * 4


# --- results ----------------------------------------------------------------------------------


class Forecast(BaseModel):
    city: str
    high: float


IMAGE = {
    "type": "image",
    "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="},
}
SEARCH_RESULT = {
    "type": "search_result",
    "source": "https://example.com/ruby-facts",
    "title": "Ruby Facts",
    "content": [{"type": "text", "text": "Ruby was created by Yukihiro Matsumoto."}],
}


@pytest.mark.parametrize(
    ("value", "content"),
    [
        ("plain", "plain"),
        ({"b": 1, "a": [1, 2]}, '{"b":1,"a":[1,2]}'),
        ([1, "x", None], '[1,"x",null]'),
        (Forecast(city="Oslo", high=3.5), '{"city":"Oslo","high":3.5}'),
        (42, "42"),
        (True, "true"),
        (None, None),
        (IMAGE, [IMAGE]),
        (
            [{"type": "text", "text": "a"}, SEARCH_RESULT],
            [{"type": "text", "text": "a"}, SEARCH_RESULT],
        ),
        ([{"type": "unknown"}], '[{"type":"unknown"}]'),
        ("bad \ud800 surrogate", "bad ? surrogate"),
    ],
)
async def test_result_content(value: Any, content: Any) -> None:
    assert result_content(value) == content


async def test_results_become_tool_result_blocks() -> None:
    @tool
    def forecast(city: str) -> Forecast:
        """Forecast."""
        return Forecast(city=city, high=1.0)

    @tool
    def nothing() -> None:
        """Nothing."""

    outcomes = await ToolRuntime([forecast, nothing]).run_calls(
        [use("forecast", {"city": "Oslo"}), use("nothing", {})]
    )
    assert results(outcomes) == [
        {
            "type": "tool_result",
            "tool_use_id": "toolu_forecast",
            "content": '{"city":"Oslo","high":1.0}',
            "is_error": False,
        },
        {"type": "tool_result", "tool_use_id": "toolu_nothing", "is_error": False},
    ]


# --- failures ---------------------------------------------------------------------------------


class Guest(BaseModel):
    name: str


@tool
def book(city: str, nights: Annotated[int, Field(ge=1)], guests: list[Guest]) -> str:
    """Book a hotel."""
    return f"{city} {nights} {guests}"


@tool
def kaboom(message: str = "kaboom") -> str:
    """Fail."""
    raise RuntimeError(message)


@tool
async def refuse(blocks: bool = False) -> str:
    """Refuse deliberately."""
    if blocks:
        raise ToolError([{"type": "text", "text": "no"}, IMAGE])
    raise ToolError("Not allowed for this account.")


@tool(timeout=0.1)
async def slow() -> str:
    """Take long."""
    await anyio.sleep(5)
    return "done"


@tool
def slow_sync() -> str:
    """Take long in a thread."""
    time.sleep(0.5)
    return "done"


def error(tool_use_id: str, content: Any) -> dict[str, Any]:
    return {"type": "tool_result", "tool_use_id": tool_use_id, "content": content, "is_error": True}


async def test_each_failure_kind_has_its_exact_content() -> None:
    runtime = ToolRuntime([book, kaboom, refuse, slow, slow_sync], default_timeout=0.2)
    outcomes = await runtime.run_calls(
        [
            use("book", {"nights": 0, "guests": [{"name": 3}], "pets": 1}),
            use("kaboom", {}),
            use("kaboom", {"message": ""}, id="toolu_empty"),
            use("refuse", {}),
            use("refuse", {"blocks": True}, id="toolu_blocks"),
            use("missing", {"q": 1}),
            use("slow", {}),
            use("slow_sync", {}),
        ]
    )
    assert results(outcomes) == [
        error(
            "toolu_book",
            "Invalid input for tool 'book':\n"
            "- city: Field required\n"
            "- nights: Input should be greater than or equal to 1\n"
            "- guests.0.name: Input should be a valid string\n"
            "- pets: Extra inputs are not permitted\n"
            "Fix the input and call the tool again.",
        ),
        error("toolu_kaboom", "RuntimeError: kaboom"),
        error("toolu_empty", "RuntimeError"),
        error("toolu_refuse", "Not allowed for this account."),
        error("toolu_blocks", [{"type": "text", "text": "no"}, IMAGE]),
        error(
            "toolu_missing",
            "Unknown tool 'missing'. Available tools: book, kaboom, refuse, slow, slow_sync.",
        ),
        error("toolu_slow", "Tool 'slow' timed out after 0.1 seconds."),
        error("toolu_slow_sync", "Tool 'slow_sync' timed out after 0.2 seconds."),
    ]
    assert [o.status for o in outcomes] == ["error"] * 8
    assert all(o.is_error for o in outcomes)
    assert type(outcomes[1].exception) is RuntimeError
    assert isinstance(outcomes[3].exception, ToolError)


async def test_long_errors_are_bounded() -> None:
    @tool
    def total(values: list[int]) -> int:
        """Sum."""
        return sum(values)

    outcomes = await ToolRuntime([total, kaboom]).run_calls(
        [use("total", {"values": ["x"] * 25}), use("kaboom", {"message": "y" * 5000})]
    )
    assert outcomes[0].result == error(
        "toolu_total",
        "Invalid input for tool 'total':\n"
        + "".join(
            f"- values.{i}: Input should be a valid integer, unable to parse string as an integer\n"
            for i in range(20)
        )
        + "- ... and 5 more errors\nFix the input and call the tool again.",
    )
    assert outcomes[1].result == error(
        "toolu_kaboom", "RuntimeError: " + "y" * 4000 + " [truncated]"
    )


async def test_unknown_tool_with_no_tools() -> None:
    (outcome,) = await ToolRuntime([]).run_calls([use("x", {})])
    assert outcome.result == error("toolu_x", "Unknown tool 'x'. No tools are available.")


class Abort(BaseException):
    pass


async def test_base_exceptions_escape() -> None:
    @tool
    async def abort() -> None:
        """Abort."""
        raise Abort

    @tool
    async def fine() -> str:
        """Fine."""
        return "ok"

    with pytest.raises(Abort):
        await ToolRuntime([abort, fine]).run_calls([use("fine", {}), use("abort", {})])


async def test_stop_run_keeps_a_result_and_flags_the_outcome() -> None:
    @tool
    def finish(answer: str) -> str:
        """Give the final answer."""
        raise StopRun(f"Final: {answer}")

    outcome, other = await ToolRuntime([finish, echo]).run_calls(
        [use("finish", {"answer": "42"}), use("echo", {"text": "still runs"})]
    )
    assert (other.status, other.stop) == ("ok", False)
    assert other.result is not None and other.result["content"] == "still runs"
    assert outcome.stop and outcome.status == "ok"
    assert outcome.result == {
        "type": "tool_result",
        "tool_use_id": "toolu_finish",
        "content": "Final: 42",
        "is_error": False,
    }


# --- concurrency ------------------------------------------------------------------------------


async def test_async_tools_overlap_and_keep_the_models_order() -> None:
    finished: list[str] = []

    @tool
    async def wait(label: str, seconds: float) -> str:
        """Wait."""
        await anyio.sleep(seconds)
        return label

    calls = [
        use("wait", {"label": n, "seconds": s}, id=n)
        for n, s in [("a", 0.5), ("b", 0.4), ("c", 0.3)]
    ]
    started = time.perf_counter()
    outcomes = await ToolRuntime([wait]).run_calls(
        calls, on_outcome=lambda o: finished.append(o.call.id)
    )
    elapsed = time.perf_counter() - started
    assert elapsed < 0.9
    assert [o.result["content"] for o in outcomes if o.result] == ["a", "b", "c"]
    assert finished == ["c", "b", "a"]  # reported as each finished
    assert all(0.25 < o.duration < 0.9 for o in outcomes)


async def test_sync_tools_run_in_threads_and_overlap() -> None:
    @tool
    def block(label: str) -> str:
        """Block a thread."""
        time.sleep(0.5)
        return label

    started = time.perf_counter()
    outcomes = await ToolRuntime([block]).run_calls(
        [use("block", {"label": n}, id=n) for n in "xyz"]
    )
    assert time.perf_counter() - started < 0.9
    assert [o.result["content"] for o in outcomes if o.result] == ["x", "y", "z"]


async def test_thread_and_concurrency_limits_serialize() -> None:
    @tool
    def block(label: str) -> str:
        """Block a thread."""
        time.sleep(0.1)
        return label

    for runtime in (ToolRuntime([block], max_threads=1), ToolRuntime([block], max_concurrency=1)):
        started = time.perf_counter()
        await runtime.run_calls([use("block", {"label": n}, id=n) for n in "xyz"])
        assert time.perf_counter() - started >= 0.3


async def test_a_lone_sync_call_runs_in_a_reused_worker_thread_with_the_callers_contextvars() -> (
    None
):
    import contextvars
    import threading

    request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")

    @tool
    def seen() -> str:
        """The caller's request id and this thread, as this call sees them."""
        seen = f"{request_id.get()} in {threading.current_thread().name}"
        request_id.set("changed by the tool")  # in this call's copy of the context only
        return seen

    runtime = ToolRuntime([seen])
    token = request_id.set("req-7")
    try:
        (first,) = await runtime.run_calls([use("seen", {})])
        running = {t.name for t in threading.enumerate()}
        (second,) = await runtime.run_calls([use("seen", {})])
    finally:
        request_id.reset(token)
    assert first.result is not None and second.result is not None
    assert str(first.result["content"]).startswith("req-7 in agentkit-tool-async-")
    content = str(second.result["content"])
    assert content.startswith("req-7 in agentkit-tool-async-")
    assert content.removeprefix("req-7 in ") in running  # a thread idle again, not a new one


async def test_a_lone_sync_call_that_fails_or_times_out_is_an_error_result() -> None:
    import threading

    release = threading.Event()

    @tool(timeout=0.05)
    def stuck() -> str:
        """Wait for a release."""
        release.wait(10)
        return "late"

    runtime = ToolRuntime([stuck, kaboom, echo])
    try:
        (timed_out,) = await runtime.run_calls([use("stuck", {})])
        # The abandoned thread still runs: the next call gets another one.
        (failed,) = await runtime.run_calls([use("kaboom", {"message": "no"})])
        (fine,) = await runtime.run_calls([use("echo", {"text": "hi"})])
    finally:
        release.set()
    assert timed_out.result == error("toolu_stuck", "Tool 'stuck' timed out after 0.05 seconds.")
    assert failed.result == error("toolu_kaboom", "RuntimeError: no")
    assert type(failed.exception) is RuntimeError
    assert fine.result is not None and fine.result["content"] == "hi"


async def test_a_base_exception_in_a_lone_sync_tool_escapes() -> None:
    @tool
    def abort() -> None:
        """Abort."""
        raise Abort

    with pytest.raises(Abort):
        await ToolRuntime([abort]).run_calls([use("abort", {})])


async def test_cancelling_a_lone_sync_call_abandons_its_thread() -> None:
    import threading

    started, release, finished = threading.Event(), threading.Event(), threading.Event()

    @tool
    def stuck() -> str:
        """Wait for a release."""
        started.set()
        release.wait(10)
        finished.set()
        return "late"

    outcomes: list[ToolOutcome] = []
    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:

            async def run() -> None:
                outcomes.extend(await ToolRuntime([stuck]).run_calls([use("stuck", {})]))

            tg.start_soon(run)
            await anyio.to_thread.run_sync(started.wait)
            tg.cancel_scope.cancel()  # the run ends now, not when the thread does
    assert outcomes == [] and not finished.is_set()
    release.set()
    await anyio.to_thread.run_sync(finished.wait)  # it finished, unobserved


async def test_sequential_tools_overlap_with_nothing() -> None:
    active: list[str] = []
    log: list[tuple[str, list[str]]] = []  # (label, others running when it started or ended)

    async def work(label: str) -> str:
        active.append(label)
        log.append((label, [a for a in active if a != label]))
        await anyio.sleep(0.05)
        log.append((label, [a for a in active if a != label]))
        active.remove(label)
        return label

    @tool
    async def par(label: str) -> str:
        """Concurrent."""
        return await work(label)

    @tool(sequential=True)
    async def seq(label: str) -> str:
        """Alone."""
        return await work(label)

    calls = [
        use("par", {"label": "p1"}, "p1"),
        use("par", {"label": "p2"}, "p2"),
        use("seq", {"label": "s1"}, "s1"),
        use("seq", {"label": "s2"}, "s2"),
        use("par", {"label": "p3"}, "p3"),
    ]
    outcomes = await ToolRuntime([par, seq]).run_calls(calls)
    assert [o.call.id for o in outcomes] == ["p1", "p2", "s1", "s2", "p3"]
    assert all(others == [] for label, others in log if label.startswith("s"))
    assert any(others for label, others in log if label in ("p1", "p2"))  # these did overlap
    order = [label for label, _ in log]
    assert order.index("s1") > max(i for i, x in enumerate(order) if x in ("p1", "p2"))
    assert order.index("p3") > max(i for i, x in enumerate(order) if x == "s2")


async def test_blocking_portal_drives_it_from_sync_code() -> None:
    @tool
    async def ping() -> str:
        """Ping."""
        return "pong"

    runtime = ToolRuntime([ping])

    def sync_runner() -> list[ToolOutcome]:
        # Two turns, each through a new portal (a new event loop), with one runtime.
        outcomes = []
        for _ in range(2):
            with anyio.from_thread.start_blocking_portal() as portal:
                calls = [use("ping", {}), use("ping", {}, "toolu_2")]
                outcomes += portal.call(functools.partial(runtime.run_calls, calls))
        return outcomes

    outcomes = await anyio.to_thread.run_sync(sync_runner)
    assert [o.status for o in outcomes] == ["ok"] * 4
    assert outcomes[0].result == {
        "type": "tool_result",
        "tool_use_id": "toolu_ping",
        "content": "pong",
        "is_error": False,
    }


async def test_callable_objects_are_tools() -> None:
    class Greeter:
        async def __call__(self, name: str) -> str:
            """Greet someone."""
            return f"hello {name}"

    class Shouter:
        def __call__(self, name: str) -> str:
            """Shout at someone."""
            return f"HEY {name.upper()}"

    greet = tool(Greeter(), name="greet")
    shout = tool(Shouter(), name="shout")
    assert (greet.is_async, shout.is_async) == (True, False)
    outcomes = await ToolRuntime([greet, shout]).run_calls(
        [use("greet", {"name": "ann"}), use("shout", {"name": "bo"})]
    )
    assert [o.result["content"] for o in outcomes if o.result] == ["hello ann", "HEY BO"]


async def test_sync_runner_holds_resources_through_the_portal() -> None:
    events: list[str] = []

    @asynccontextmanager
    async def session() -> AsyncIterator[str]:
        events.append("open")
        yield "s"
        events.append("close")

    @tool(resources={"s": session})
    async def step(s: str, n: int) -> str:
        """Step."""
        return f"{s}{n}"

    def sync_run() -> list[Any]:
        contents = []
        with anyio.from_thread.start_blocking_portal() as portal:
            with portal.wrap_async_context_manager(ToolRuntime([step])) as runtime:
                for n in range(2):
                    calls = [use("step", {"n": n})]
                    (o,) = portal.call(functools.partial(runtime.run_calls, calls))
                    contents.append(o.result["content"])
                events.append("run done")
        return contents

    assert await anyio.to_thread.run_sync(sync_run) == ["s0", "s1"]
    assert events == ["open", "run done", "close"]


# --- context ----------------------------------------------------------------------------------


async def test_context_is_injected() -> None:
    @tool
    def whoami(ctx: RunContext[dict[str, str]], greeting: str) -> str:
        """Who am I."""
        return (
            f"{greeting} {ctx.deps['user']} ({ctx.tool_use_id}, {ctx.tool_name}, turn {ctx.turn})"
        )

    base = RunContext(deps={"user": "ann"}, turn=3)

    def make_context(call: ToolCall) -> RunContext[Any]:
        return base.for_call(tool_use_id=call.id, tool_name=call.name)

    (outcome,) = await ToolRuntime([whoami]).run_calls(
        [use("whoami", {"greeting": "hi"})], context_factory=make_context
    )
    assert outcome.result is not None
    assert outcome.result["content"] == "hi ann (toolu_whoami, whoami, turn 3)"


async def test_bound_method_tools_run() -> None:
    class Account:
        def __init__(self) -> None:
            self.balance = 0

        @tool
        def deposit(self, amount: int) -> int:
            """Deposit money."""
            self.balance += amount
            return self.balance

    account = Account()
    outcomes = await ToolRuntime([account.deposit]).run_calls(
        [use("deposit", {"amount": 5}, "d1"), use("deposit", {"amount": 7}, "d2")]
    )
    assert account.balance == 12
    # The two calls ran concurrently, so either may have gone first.
    contents = {o.result["content"] for o in outcomes if o.result}
    assert contents in ({"5", "12"}, {"7", "12"})


# --- hooks and approvals ----------------------------------------------------------------------


@tool
def echo(text: str) -> str:
    """Echo."""
    return text


@tool(requires_approval=True)
def delete(path: str) -> str:
    """Delete a file."""
    return f"deleted {path}"


async def test_before_hooks_deny_defer_and_replace() -> None:
    seen: list[str] = []

    def policy(call: ToolCall, ctx: RunContext[Any]) -> Any:
        seen.append(call.id)
        if call.input.get("text") == "secret":
            return Deny("Echoing secrets is not allowed.")
        if call.input.get("text") == "ask":
            return Defer("needs a human")
        if call.input.get("text") == "shout":
            return ReplaceInput({"text": "SHOUT"})
        return None

    async def second(call: ToolCall, ctx: RunContext[Any]) -> None:
        seen.append(f"second:{call.input['text']}")

    runtime = ToolRuntime([echo], before_tool=[policy, second])
    outcomes = await runtime.run_calls(
        [use("echo", {"text": t}, t) for t in ("secret", "ask", "shout", "fine")]
    )
    assert [o.status for o in outcomes] == ["denied", "deferred", "ok", "ok"]
    assert results(outcomes) == [
        error("secret", "Echoing secrets is not allowed."),
        None,
        {"type": "tool_result", "tool_use_id": "shout", "content": "SHOUT", "is_error": False},
        {"type": "tool_result", "tool_use_id": "fine", "content": "fine", "is_error": False},
    ]
    assert outcomes[1].reason == "needs a human"
    assert outcomes[2].call.input == {"text": "SHOUT"}
    assert outcomes[0].is_error and not outcomes[1].is_error
    assert sorted(seen) == sorted(["secret", "ask", "shout", "fine", "second:SHOUT", "second:fine"])


async def test_replaced_input_is_validated() -> None:
    runtime = ToolRuntime([echo], before_tool=[lambda call, ctx: ReplaceInput({"text": 1})])
    (outcome,) = await runtime.run_calls([use("echo", {"text": "x"})])
    assert outcome.result == error(
        "toolu_echo",
        "Invalid input for tool 'echo':\n- text: Input should be a valid string\n"
        "Fix the input and call the tool again.",
    )


async def test_after_hook_replaces_the_outcome() -> None:
    async def redact(call: ToolCall, outcome: ToolOutcome, ctx: RunContext[Any]) -> Any:
        if outcome.result and "password" in str(outcome.result.get("content")):
            result = {**outcome.result, "content": "[redacted]"}
            return ToolOutcome(call, outcome.status, result)
        return None

    outcomes = await ToolRuntime([echo], after_tool=[redact]).run_calls(
        [use("echo", {"text": "password=1"}, "a"), use("echo", {"text": "hi"}, "b")]
    )
    assert [o.result["content"] for o in outcomes if o.result] == ["[redacted]", "hi"]
    assert outcomes[0].duration > 0


async def test_approvals() -> None:
    runtime = ToolRuntime([delete, echo])
    calls = [use("delete", {"path": p}, p) for p in ("a", "b", "c")] + [use("echo", {"text": "x"})]
    outcomes = await runtime.run_calls(calls, approvals={"a": Allow(), "b": Deny("No, keep b.")})
    assert [o.status for o in outcomes] == ["ok", "denied", "deferred", "ok"]
    assert results(outcomes)[:3] == [
        {"type": "tool_result", "tool_use_id": "a", "content": "deleted a", "is_error": False},
        error("b", "No, keep b."),
        None,
    ]
    assert outcomes[2].reason == "requires approval"


async def test_a_hook_can_approve_and_a_hook_deny_beats_approval() -> None:
    def auto_approve_tmp(call: ToolCall, ctx: RunContext[Any]) -> Any:
        path = call.input.get("path", "")
        if path.startswith("/tmp/"):
            return Allow()
        return Deny() if path == "/" else None

    runtime = ToolRuntime([delete], before_tool=[auto_approve_tmp])
    outcomes = await runtime.run_calls(
        [use("delete", {"path": p}, p) for p in ("/tmp/x", "/", "/home")],
        approvals={"/": Allow()},
    )
    assert [o.status for o in outcomes] == ["ok", "denied", "deferred"]
    assert outcomes[1].result == error("/", "The tool call was denied.")


async def test_a_human_decision_settles_a_hook_deferral() -> None:
    def ask_for_big(call: ToolCall, ctx: RunContext[Any]) -> Any:
        return Defer("large echo") if len(call.input["text"]) > 3 else None

    runtime = ToolRuntime([echo], before_tool=[ask_for_big])
    calls = [use("echo", {"text": "long text"}, "a"), use("echo", {"text": "longer text"}, "b")]
    first = await runtime.run_calls(calls)
    assert [(o.status, o.reason) for o in first] == [
        ("deferred", "large echo"),
        ("deferred", "large echo"),
    ]
    resumed = await runtime.run_calls(calls, approvals={"a": Allow(), "b": Deny("Too long.")})
    assert results(resumed) == [
        {"type": "tool_result", "tool_use_id": "a", "content": "long text", "is_error": False},
        error("b", "Too long."),
    ]


async def test_on_outcome_errors_surface_unwrapped() -> None:
    async def journal(outcome: ToolOutcome) -> None:
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        await ToolRuntime([echo]).run_calls(
            [use("echo", {"text": "a"}, "a"), use("echo", {"text": "b"}, "b")],
            on_outcome=journal,
        )


# --- resources --------------------------------------------------------------------------------


async def test_resources_open_once_per_run_and_close_in_reverse() -> None:
    events: list[str] = []

    @contextmanager
    def open_db() -> Iterator[dict[str, int]]:
        events.append("db open")
        yield {"rows": 3}
        events.append("db close")

    @asynccontextmanager
    async def open_browser() -> AsyncIterator[str]:
        events.append("browser open")
        yield "browser"
        events.append("browser close")

    @tool(resources={"db": open_db})
    def count(db: dict[str, int], table: str) -> str:
        """Count rows."""
        return f"{table}: {db['rows']}"

    @tool(resources={"db": open_db, "browser": open_browser})
    async def render(db: dict[str, int], browser: str, url: str) -> str:
        """Render."""
        return f"{browser} {url} {db['rows']}"

    assert count.input_schema["properties"] == {"table": {"type": "string"}}
    runtime = ToolRuntime([count, render])
    async with runtime:
        assert events == ["db open", "browser open"]
        for _ in range(2):
            outcomes = await runtime.run_calls(
                [use("count", {"table": "t"}), use("render", {"url": "u"})]
            )
            assert [o.result["content"] for o in outcomes if o.result] == ["t: 3", "browser u 3"]
        assert events == ["db open", "browser open"]
    assert events == ["db open", "browser open", "browser close", "db close"]


async def test_resources_close_when_the_run_fails() -> None:
    events: list[str] = []

    @asynccontextmanager
    async def conn() -> AsyncIterator[str]:
        events.append("open")
        try:
            yield "c"
        finally:
            events.append("close")

    @tool(resources={"c": conn})
    async def q(c: str) -> str:
        """Query."""
        return c

    with pytest.raises(ValueError, match="run failed"):
        async with ToolRuntime([q]) as runtime:
            await runtime.run_calls([use("q", {})])
            raise ValueError("run failed")
    assert events == ["open", "close"]


async def test_a_resource_failing_to_open_closes_the_opened_ones() -> None:
    events: list[str] = []

    @contextmanager
    def good() -> Iterator[int]:
        events.append("good open")
        yield 1
        events.append("good close")

    @contextmanager
    def bad() -> Iterator[int]:
        raise ConnectionError("no server")
        yield 2

    @tool(resources={"a": good, "b": bad})
    def both(a: int, b: int) -> int:
        """Both."""
        return a + b

    with pytest.raises(ConnectionError):
        async with ToolRuntime([both]):
            pass
    assert events == ["good open", "good close"]


async def test_resource_tools_need_an_entered_runtime() -> None:
    @contextmanager
    def res() -> Iterator[int]:
        yield 1

    @tool(resources={"r": res})
    def use_r(r: int) -> int:
        """Use r."""
        return r

    with pytest.raises(RuntimeError, match="enter the ToolRuntime"):
        await ToolRuntime([use_r]).run_calls([use("use_r", {})])


# --- without an event loop (a sync runner's calls) ---------------------------------------------


def run_sync(runtime: ToolRuntime, calls: list[dict[str, Any]]) -> tuple[list[Any], list[Any]]:
    """`run_calls_sync`'s outcomes in finishing order (yielded), and its returned list."""
    flow = runtime.run_calls_sync(calls)
    yielded: list[ToolOutcome] = []
    while True:
        try:
            yielded.append(next(flow))
        except StopIteration as stop:
            return yielded, stop.value


async def test_run_calls_sync_gives_what_run_calls_gives() -> None:
    def policy(call: ToolCall, ctx: RunContext[Any]) -> Any:
        text = call.input.get("text") if isinstance(call.input, dict) else None
        return {
            "secret": Deny("no"),
            "ask": Defer("human"),
            "shout": ReplaceInput({"text": "S"}),
        }.get(text or "")

    def redact(call: ToolCall, outcome: ToolOutcome, ctx: RunContext[Any]) -> Any:
        if outcome.result and outcome.result.get("content") == "S":
            return ToolOutcome(call, outcome.status, {**outcome.result, "content": "[S]"})
        return None

    calls = [
        use("book", {"nights": 0}),
        use("kaboom", {}),
        use("missing", {}),
        *[use("echo", {"text": t}, t) for t in ("secret", "ask", "shout", "fine")],
        use("echo", {"text": "again"}, "fine"),  # a repeated id: an error, never run
        use("delete", {"path": "/tmp/x"}),  # requires approval: deferred
    ]

    def runtime() -> ToolRuntime:
        return ToolRuntime([book, kaboom, echo, delete], before_tool=[policy], after_tool=[redact])

    expected = await runtime().run_calls(calls)
    yielded, returned = run_sync(runtime(), calls)
    assert [(o.status, o.result, o.reason) for o in returned] == [
        (o.status, o.result, o.reason) for o in expected
    ]
    assert returned[5].result == {
        "type": "tool_result", "tool_use_id": "shout", "content": "[S]", "is_error": False
    }  # fmt: skip
    assert returned[7].result is not None and "repeats the tool_use id" in str(returned[7].result)
    # Every call that ran is yielded as it finishes; the repeated id's error is not.
    assert sorted(o.call.id for o in yielded) == sorted(
        o.call.id for i, o in enumerate(returned) if i != 7
    )


@pytest.mark.parametrize("shell", ["sync", "async"])
def test_a_lone_call_with_no_hooks_skips_the_flow_and_ends_as_the_flow_ends(
    shell: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run's common turn (one call, no hooks) runs straight through, in this thread (sync) or
    this task (async); each way a call can end gives the outcome the stepped flow gives (a hook
    that decides nothing sends a call through the flow)."""

    @tool
    def stop(note: str) -> str:
        """Stop the run."""
        raise StopRun(f"stopped: {note}")

    @tool
    def refuse_it(why: str) -> str:
        """Refuse."""
        raise ToolError(f"no: {why}")

    @tool
    def whoami(ctx: RunContext[Any]) -> str:
        """Name the call."""
        return f"{ctx.tool_name} {ctx.tool_use_id}"

    @tool
    def unsendable() -> object:
        """Return something that is not JSON."""
        return object()

    @tool
    async def later(text: str) -> str:
        """Answer from the event loop."""
        await anyio.lowlevel.checkpoint()
        return text.upper()

    cases = [
        use("book", {"city": "Oslo", "nights": 2, "guests": [{"name": "A", "age": 30}]}),
        use("book", {"nights": 0}),  # invalid input
        use("kaboom", {"message": "boom"}),  # a crash
        use("stop", {"note": "done"}),
        use("refuse_it", {"why": "policy"}),
        use("whoami", {}),  # takes its RunContext
        use("unsendable", {}),
        use("echo", {"text": "x" * 50}),  # cut to max_result_chars
        use("missing", {}),  # no such tool: the flow answers
        use("delete", {"path": "/tmp/x"}),  # requires approval: the flow defers it
    ]
    tools = [book, kaboom, stop, refuse_it, whoami, unsendable, echo, delete]
    left = ["missing", "delete"]  # what the lone path leaves to the flow
    if shell == "async":
        tools.append(later)
        cases.append(use("later", {"text": "hi"}))
    flowed: list[str] = []
    call_flow = ToolRuntime._call_flow

    def counted(self: ToolRuntime, call: ToolCall, *args: Any) -> Any:
        flowed.append(call.name)
        return call_flow(self, call, *args)

    def run(runtime: ToolRuntime, call: dict[str, Any]) -> ToolOutcome:
        if shell == "sync":
            (outcome,), _ = run_sync(runtime, [call])
            return outcome
        (outcome,) = anyio.run(partial(runtime.run_calls, [call]))
        return outcome

    monkeypatch.setattr(ToolRuntime, "_call_flow", counted)
    for call in cases:
        lone = run(ToolRuntime(tools, max_result_chars=20), call)
        stepped = run(
            ToolRuntime(tools, max_result_chars=20, before_tool=[lambda c, ctx: None]), call
        )
        assert (lone.status, lone.result, lone.stop, lone.reason, type(lone.exception)) == (
            stepped.status, stepped.result, stepped.stop, stepped.reason, type(stepped.exception)
        )  # fmt: skip
        assert lone.duration > 0
    # The hooked runtime stepped the flow for every call, the plain one only for those left.
    assert flowed == [n for c in cases for n in [c["name"]] * (2 if c["name"] in left else 1)]
    assert run(ToolRuntime(tools), use("whoami", {}, "t1")).result == {
        "type": "tool_result", "tool_use_id": "t1", "content": "whoami t1", "is_error": False
    }  # fmt: skip


def test_run_calls_sync_runs_one_call_here_and_a_batch_in_the_pool() -> None:
    import threading

    meet = threading.Barrier(2, timeout=10)  # two calls meet only if they overlap

    @tool
    def where(label: str) -> str:
        """Name the thread."""
        if label != "alone":
            meet.wait()
        return threading.current_thread().name

    runtime = ToolRuntime([where])
    (alone,), _ = run_sync(runtime, [use("where", {"label": "alone"})])
    assert alone.result is not None and alone.result["content"] == threading.current_thread().name
    _, pair = run_sync(runtime, [use("where", {"label": n}, n) for n in "ab"])
    names = [o.result["content"] for o in pair if o.result]
    assert [o.status for o in pair] == ["ok", "ok"]
    assert all(name.startswith("agentkit-tool") for name in names)
    assert runtime.executor is not None
    runtime.executor.shutdown()


def test_run_calls_sync_tools_see_the_callers_contextvars() -> None:
    import contextvars
    import threading

    request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")
    meet = threading.Barrier(2, timeout=10)

    @tool
    def seen(label: str) -> str:
        """The caller's request id, as this call sees it."""
        if label != "alone":
            meet.wait()  # the pair runs in the pool's threads
        return f"{request_id.get()} in {threading.current_thread().name}"

    runtime = ToolRuntime([seen])
    token = request_id.set("req-7")
    try:
        (alone,), _ = run_sync(runtime, [use("seen", {"label": "alone"})])
        _, pair = run_sync(runtime, [use("seen", {"label": n}, n) for n in "ab"])
    finally:
        request_id.reset(token)
    assert alone.result is not None
    assert alone.result["content"] == f"req-7 in {threading.current_thread().name}"
    # A worker thread of the pool runs the call in a copy of the caller's context, as
    # `anyio.to_thread` does for `run_calls` (without it the pool's threads see the default).
    for outcome in pair:
        assert outcome.result is not None
        assert str(outcome.result["content"]).startswith("req-7 in agentkit-tool")
    assert runtime.executor is not None
    runtime.executor.shutdown()


def test_run_calls_sync_abandons_a_timed_out_tool() -> None:
    import threading

    release = threading.Event()

    @tool(timeout=0.05)
    def stuck() -> str:
        """Wait for a release."""
        release.wait(10)
        return "late"

    runtime = ToolRuntime([stuck, echo])
    calls = [use("stuck", {}), use("echo", {"text": "hi"})]
    try:
        _, outcomes = run_sync(runtime, calls)
    finally:
        release.set()
    assert results(outcomes) == [
        error("toolu_stuck", "Tool 'stuck' timed out after 0.05 seconds."),
        {"type": "tool_result", "tool_use_id": "toolu_echo", "content": "hi", "is_error": False},
    ]


def test_run_calls_sync_awaits_a_sync_hooks_awaitable() -> None:
    async def later() -> Any:
        return Deny("decided later")

    runtime = ToolRuntime([echo], before_tool=[lambda call, ctx: later()])
    (outcome,), _ = run_sync(runtime, [use("echo", {"text": "x"})])
    assert outcome.result == error("toolu_echo", "decided later")


def test_runs_without_loop_only_for_sync_tools_and_hooks() -> None:
    @asynccontextmanager
    async def session() -> AsyncIterator[str]:
        yield "s"

    @tool(resources={"s": session})
    def held(s: str) -> str:
        """Hold a resource."""
        return s

    async def async_hook(call: ToolCall, ctx: RunContext[Any]) -> None:
        return None

    tools = [echo, slow, held]
    assert ToolRuntime(tools).runs_without_loop([use("echo", {}), use("missing", {})])
    assert not ToolRuntime(tools).runs_without_loop([use("echo", {}), use("slow", {})])
    assert not ToolRuntime(tools).runs_without_loop([use("held", {})])
    with_hook = ToolRuntime(tools, before_tool=[async_hook])
    assert not with_hook.runs_without_loop([use("echo", {})])


def test_run_calls_sync_gives_tools_a_copy_of_the_callers_context() -> None:
    import contextvars

    user: contextvars.ContextVar[str] = contextvars.ContextVar("user", default="nobody")

    @tool
    def whoami(rename: bool) -> str:
        """Say who calls, maybe rename them."""
        name = user.get()
        if rename:
            user.set("mallory")
        return name

    user.set("ann")
    runtime = ToolRuntime([whoami])
    (alone,), _ = run_sync(runtime, [use("whoami", {"rename": True})])
    _, pair = run_sync(runtime, [use("whoami", {"rename": True}, n) for n in "ab"])
    assert [o.result["content"] for o in [alone, *pair] if o.result] == ["ann", "ann", "ann"]
    assert user.get() == "ann"  # what a tool set stayed in its copy
    assert runtime.executor is not None
    runtime.executor.shutdown()
