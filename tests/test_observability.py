"""OpenTelemetry GenAI spans and metrics of runs, checked with the SDK's in-memory exporter and
metric reader: the span tree, names, attributes, events and histograms; content only on opt-in;
nothing recorded (or imported) without a provider."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from typing import Any

import anyio
import pytest
from opentelemetry import trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import agentkit
from agentkit import Agent, ConfigurationError, tool
from agentkit.client import RetryPolicy
from agentkit.observability import CAPTURE_CONTENT_ENV, Telemetry
from agentkit.testing import FakeClaude, Fault, Reply

MODEL = "claude-sonnet-4-5"
KEY = "sk-ant-test-secret-key-0123456789"

SEEN: dict[str, Any] = {}


@tool
def add(a: int, b: int) -> int:
    """Adds two numbers (a sync tool: it runs in a worker thread)."""
    SEEN["add"] = trace.get_current_span().get_span_context()
    return a + b


@tool
async def lookup(key: str) -> str:
    """Looks a key up (an async tool)."""
    SEEN["lookup"] = trace.get_current_span().get_span_context()
    return f"value of {key}"


@tool
def broken(x: int) -> int:
    """Always fails."""
    raise ValueError("no luck")


class Otel:
    """An SDK tracer and meter provider with in-memory exporters."""

    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])

    def telemetry(self, **kwargs: Any) -> Telemetry:
        return Telemetry(
            tracer_provider=self.tracer_provider, meter_provider=self.meter_provider, **kwargs
        )

    def spans(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    def named(self, prefix: str) -> list[ReadableSpan]:
        return [s for s in self.spans() if s.name.startswith(prefix)]

    def histograms(self) -> dict[str, list[Any]]:
        data = self.reader.get_metrics_data()
        found: dict[str, list[Any]] = {}
        if data is None:
            return found
        for resource in data.resource_metrics:
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    found.setdefault(metric.name, []).extend(metric.data.data_points)
        return found


@pytest.fixture
def otel() -> Iterator[Otel]:
    SEEN.clear()
    yield Otel()


def _script() -> list[Any]:
    return [
        Reply.tool_uses(("add", {"a": 2, "b": 3}), ("lookup", {"key": "k"})),
        Fault.overloaded(),  # the second call is retried once
        Reply.tool_use("broken", {"x": 1}),
        Reply.text("done"),
    ]


def _agent(fake: FakeClaude, otel: Otel, *, sync: bool = True, **kwargs: Any) -> Agent[Any, Any]:
    retry = RetryPolicy(initial_delay=0, max_delay=0)
    client: Any
    if sync:
        client = agentkit.Client(api_key=KEY, http_client=fake.http_client(), retry=retry)
    else:
        client = agentkit.AsyncClient(
            api_key=KEY, http_client=fake.async_http_client(), retry=retry
        )
    kwargs.setdefault("telemetry", otel.telemetry(agent_name="helper"))
    return Agent(MODEL, client=client, tools=[add, lookup, broken], **kwargs)


def _check_tree(otel: Otel, *, streamed: bool = False) -> None:
    spans = otel.spans()
    (root,) = otel.named("invoke_agent")
    chats = otel.named("chat ")
    tools = otel.named("execute_tool ")
    assert root.name == "invoke_agent helper"
    assert [c.name for c in chats] == [f"chat {MODEL}"] * 3
    assert sorted(t.name for t in tools) == [
        "execute_tool add",
        "execute_tool broken",
        "execute_tool lookup",
    ]
    assert len(spans) == 7
    # One trace; every model and tool call is a child of the run.
    assert {s.context.trace_id for s in spans} == {root.context.trace_id}
    assert root.parent is None
    for child in chats + tools:
        assert child.parent is not None and child.parent.span_id == root.context.span_id
    assert root.attributes is not None
    assert root.attributes["gen_ai.operation.name"] == "invoke_agent"
    assert root.attributes["gen_ai.agent.name"] == "helper"
    assert root.attributes["gen_ai.provider.name"] == "anthropic"
    assert root.attributes["agentkit.run.requests"] == 3
    assert root.attributes["agentkit.run.status"] == "complete"
    assert isinstance(root.attributes["agentkit.run.cost_usd"], float)
    assert root.attributes["agentkit.run.cost_usd"] > 0
    assert root.attributes["gen_ai.usage.output_tokens"] > 0  # type: ignore[operator]
    first = chats[0].attributes
    assert first is not None
    assert chats[0].kind == trace.SpanKind.CLIENT
    assert first["gen_ai.operation.name"] == "chat"
    assert first["gen_ai.provider.name"] == "anthropic"
    assert first["gen_ai.request.model"] == MODEL
    assert str(first["gen_ai.response.model"]).startswith(MODEL)
    assert str(first["gen_ai.response.id"]).startswith("msg_")
    assert str(first["anthropic.request.id"]).startswith("req_")
    assert first["gen_ai.response.finish_reasons"] == ("tool_use",)
    assert first["gen_ai.request.max_tokens"] == 4096
    assert first["server.address"] == "api.anthropic.com"
    for key in (
        "gen_ai.usage.input_tokens",
        "gen_ai.usage.output_tokens",
        "gen_ai.usage.cache_read.input_tokens",
        "gen_ai.usage.cache_creation.input_tokens",
    ):
        assert isinstance(first[key], int)
    assert first["gen_ai.usage.input_tokens"] >= first["gen_ai.usage.cache_creation.input_tokens"]  # type: ignore[operator]
    # The retried 529 is an event on the second call's span.
    (retry,) = [e for c in chats for e in c.events if e.name == "agentkit.retry"]
    assert retry in chats[1].events
    assert retry.attributes is not None
    assert retry.attributes["http.response.status_code"] == 529
    assert retry.attributes["error.type"] == "OverloadedError"
    assert chats[2].attributes is not None
    assert chats[2].attributes["gen_ai.response.finish_reasons"] == ("end_turn",)
    by_name = {t.name: t for t in tools}
    add_span = by_name["execute_tool add"]
    assert add_span.attributes is not None
    assert add_span.attributes["gen_ai.tool.name"] == "add"
    assert str(add_span.attributes["gen_ai.tool.call.id"]).startswith("toolu_")
    assert add_span.attributes["gen_ai.operation.name"] == "execute_tool"
    assert "error.type" not in add_span.attributes
    failed = by_name["execute_tool broken"]
    assert failed.attributes is not None
    assert failed.attributes["error.type"] == "ValueError"
    assert failed.status.status_code == trace.StatusCode.ERROR
    # The tool's span is current while it runs, in a worker thread or in the event loop.
    assert SEEN["add"].span_id == add_span.context.span_id
    assert SEEN["lookup"].span_id == by_name["execute_tool lookup"].context.span_id
    # Nothing of the content by default.
    for span in spans:
        assert span.attributes is not None
        assert not any(
            "messages" in k or "arguments" in k or "result" in k for k in span.attributes
        )
    # The metrics: input and output tokens of each call, and each call's duration.
    histograms = otel.histograms()
    tokens = histograms["gen_ai.client.token.usage"]
    kinds = sorted(str(p.attributes["gen_ai.token.type"]) for p in tokens)
    assert kinds == ["input", "output"]
    assert sum(p.count for p in tokens) == 6
    durations = histograms["gen_ai.client.operation.duration"]
    assert sum(p.count for p in durations) == 3
    assert all(p.attributes["gen_ai.request.model"] == MODEL for p in durations)


def test_sync_tool_loop_span_tree_attributes_and_metrics(otel: Otel) -> None:
    result = _agent(FakeClaude(_script()), otel).run("add and look up")
    assert result.text == "done"
    _check_tree(otel)


def test_streamed_turns_make_the_same_tree(otel: Otel) -> None:
    events = list(_agent(FakeClaude(_script()), otel).stream("add and look up"))
    assert events[-1].type == "run_finished"
    _check_tree(otel, streamed=True)


def test_async_runner_makes_the_same_tree(otel: Otel) -> None:
    async def main() -> None:
        result = await _agent(FakeClaude(_script()), otel, sync=False).arun("add and look up")
        assert result.text == "done"

    anyio.run(main)
    _check_tree(otel)


def test_async_streamed_run_makes_the_same_tree(otel: Otel) -> None:
    async def main() -> None:
        agent = _agent(FakeClaude(_script()), otel, sync=False)
        events = [e async for e in agent.astream("add and look up")]
        assert events[-1].type == "run_finished"

    anyio.run(main)
    _check_tree(otel, streamed=True)


def test_a_sync_run_without_an_event_loop_makes_tool_spans(otel: Otel) -> None:
    """Sync tools and hooks only: the sync run calls them without an event loop (one call in
    this thread, a batch in the agent's pool); each call's span is current for its own hook
    and tool, and the caller's context is its own again afterwards."""
    import threading

    found: dict[str, tuple[int, str]] = {}
    hooked: dict[str, int] = {}
    meet = threading.Barrier(2, timeout=10)  # the batch's two calls meet only if they overlap

    @tool
    def note(ctx: agentkit.RunContext[Any], text: str) -> str:
        """Notes a text (a sync tool)."""
        if text != "alone":
            meet.wait()
        span_id = trace.get_current_span().get_span_context().span_id
        found[ctx.tool_use_id] = (span_id, threading.current_thread().name)
        return text

    def before(call: Any, ctx: Any) -> None:
        hooked[call.id] = trace.get_current_span().get_span_context().span_id

    fake = FakeClaude(
        [
            Reply.tool_uses(("note", {"text": "a"}), ("note", {"text": "b"})),
            Reply.tool_use("note", {"text": "alone"}),
            Reply.text("done"),
        ]
    )
    retry = RetryPolicy(initial_delay=0, max_delay=0)
    agent = Agent(
        MODEL,
        client=agentkit.Client(api_key=KEY, http_client=fake.http_client(), retry=retry),
        tools=[note],
        hooks=agentkit.Hooks(before_tool=[before]),
        telemetry=otel.telemetry(agent_name="helper"),
    )
    assert agent.run("note a, b, then alone").text == "done"
    (root,) = otel.named("invoke_agent")
    tools = otel.named("execute_tool note")
    assert len(tools) == 3
    here = threading.current_thread().name
    threads = []
    for span in tools:
        assert span.parent is not None and span.parent.span_id == root.context.span_id
        assert span.attributes is not None
        call_id = str(span.attributes["gen_ai.tool.call.id"])
        span_id, thread = found[call_id]
        assert span_id == span.context.span_id == hooked[call_id]
        threads.append(thread)
    # Not the portal's event loop: the batch ran in the agent's pool, the single call here.
    assert sorted(t == here for t in threads) == [False, False, True]
    assert all(t.startswith("agentkit-tool") for t in threads if t != here)
    assert trace.get_current_span() is trace.INVALID_SPAN


def test_the_run_joins_the_callers_trace(otel: Otel) -> None:
    tracer = otel.tracer_provider.get_tracer("app")
    with tracer.start_as_current_span("request handler") as outer:
        _agent(FakeClaude(["hi"]), otel).run("hello")
    (root,) = otel.named("invoke_agent")
    assert root.parent is not None and root.parent.span_id == outer.get_span_context().span_id
    # The caller's context is its own again afterwards.
    assert trace.get_current_span() is trace.INVALID_SPAN


def test_a_failed_model_call_marks_its_span_and_the_run(otel: Otel) -> None:
    fake = FakeClaude([Fault.status_error(400, "invalid_request_error", "bad request")])
    with pytest.raises(agentkit.BadRequestError):
        _agent(fake, otel).run("hello")
    (chat,) = otel.named("chat ")
    (root,) = otel.named("invoke_agent")
    for span in (chat, root):
        assert span.attributes is not None
        assert span.attributes["error.type"] == "BadRequestError"
        assert span.status.status_code == trace.StatusCode.ERROR
    assert chat.attributes is not None and str(chat.attributes["anthropic.request.id"]).startswith(
        "req_"
    )
    (duration,) = otel.histograms()["gen_ai.client.operation.duration"]
    assert duration.attributes["error.type"] == "BadRequestError"
    assert "gen_ai.client.token.usage" not in otel.histograms()


def _content_attributes(otel: Otel) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for span in otel.spans():
        assert span.attributes is not None
        for key, value in span.attributes.items():
            if key.startswith(
                (
                    "gen_ai.input",
                    "gen_ai.output",
                    "gen_ai.system",
                    "gen_ai.tool.call.a",
                    "gen_ai.tool.call.r",
                )
            ):
                found.setdefault(key, []).append(value)
    return found


def test_content_is_recorded_only_on_opt_in(otel: Otel, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CAPTURE_CONTENT_ENV, raising=False)
    script = [Reply.tool_use("add", {"a": 2, "b": 3}), Reply.text("five")]
    _agent(FakeClaude(list(script)), otel, system="Be brief.").run("add 2 and 3")
    assert _content_attributes(otel) == {}

    opted = Otel()
    telemetry = opted.telemetry(capture_content=True)
    _agent(FakeClaude(list(script)), opted, system="Be brief.", telemetry=telemetry).run(
        "add 2 and 3"
    )
    found = _content_attributes(opted)
    first_input = json.loads(found["gen_ai.input.messages"][0])
    assert first_input == [{"role": "user", "parts": [{"type": "text", "content": "add 2 and 3"}]}]
    second_input = json.loads(found["gen_ai.input.messages"][1])
    assert second_input[1]["parts"][0]["type"] == "tool_call"
    assert second_input[2]["parts"][0]["type"] == "tool_call_response"
    assert json.loads(found["gen_ai.system_instructions"][0]) == [
        {"type": "text", "content": "Be brief."}
    ]
    last_output = json.loads(found["gen_ai.output.messages"][-1])
    assert last_output == [
        {
            "role": "assistant",
            "parts": [{"type": "text", "content": "five"}],
            "finish_reason": "end_turn",
        }
    ]
    assert json.loads(found["gen_ai.tool.call.arguments"][0]) == {"a": 2, "b": 3}
    assert found["gen_ai.tool.call.result"] == ["5"]
    # Never a credential, whatever is captured.
    dumped = json.dumps([dict(s.attributes or {}) for s in opted.spans()], default=str)
    assert KEY not in dumped and "x-api-key" not in dumped

    # The environment variable opts in too; the argument wins over it.
    monkeypatch.setenv(CAPTURE_CONTENT_ENV, "true")
    env = Otel()
    _agent(FakeClaude(["hi"]), env).run("hello")
    assert "gen_ai.input.messages" in _content_attributes(env)
    off = Otel()
    _agent(FakeClaude(["hi"]), off, telemetry=off.telemetry(capture_content=False)).run("hello")
    assert _content_attributes(off) == {}


def test_nothing_is_recorded_without_a_provider_or_when_disabled(otel: Otel) -> None:
    # OpenTelemetry is imported in this process, but no global provider is set.
    assert isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)
    assert (
        Telemetry().start_run(model=MODEL, provider="anthropic", server=None, conversation_id=None)
        is None
    )
    _agent(FakeClaude(["hi"]), otel, telemetry=Telemetry()).run("hello")
    _agent(FakeClaude(["hi"]), otel, telemetry=otel.telemetry(enabled=False)).run("hello")
    assert otel.spans() == []
    assert otel.histograms() == {}


def _python(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize("installed", [True, False])
def test_nothing_is_imported_when_nobody_uses_opentelemetry(installed: bool) -> None:
    # Not installed: every `import opentelemetry...` fails in that interpreter.
    block = "" if installed else "sys.modules['opentelemetry'] = None"
    code = """
        import sys
        BLOCK
        import agentkit
        from agentkit.testing import FakeClaude, Reply
        fake = FakeClaude([Reply.tool_use("echo", {"x": "a"}), "done"])

        @agentkit.tool
        def echo(x: str) -> str:
            "Echo."
            return x

        client = agentkit.Client(api_key="k", http_client=fake.http_client())
        print(agentkit.Agent("claude-sonnet-4-5", client=client, tools=[echo]).run("go").text)
        print(sorted(m for m in sys.modules if m.startswith("opentelemetry.")))
        """
    out = _python(code.replace("BLOCK", block))
    assert out.splitlines() == ["done", "[]"]


def test_a_global_provider_is_used_with_no_code_change() -> None:
    out = _python(
        """
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
        exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        trace.set_tracer_provider(provider)

        import agentkit
        from agentkit.testing import FakeClaude
        client = agentkit.Client(api_key="k", http_client=FakeClaude(["hi"]).http_client())
        agentkit.Agent("claude-sonnet-4-5", client=client).run("hello")
        print(sorted(s.name for s in exporter.get_finished_spans()))
        """
    )
    assert out.strip() == "['chat claude-sonnet-4-5', 'invoke_agent']"


def test_bad_telemetry_options_are_refused() -> None:
    with pytest.raises(TypeError, match="capture_content"):
        Telemetry(capture_contents=True)  # type: ignore[call-arg]
    with pytest.raises(ConfigurationError, match="capture_content must be True or False"):
        Telemetry(capture_content="yes")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="tracer_provider must be an OpenTelemetry"):
        Telemetry(tracer_provider=object())
    with pytest.raises(ConfigurationError, match="agent_name must be a string"):
        Telemetry(agent_name=3)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match=r"telemetry must be an agentkit\.observability"):
        Agent(MODEL, client=agentkit.Client(api_key="k"), telemetry=object())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="telemetry"):
        Agent(MODEL, client=agentkit.Client(api_key="k"), telemetri=Telemetry())  # type: ignore[call-arg]


def _rounds(body: dict[str, Any]) -> Any:
    """Two parallel tool calls in the first turn, then an answer."""
    if len(body["messages"]) == 1:
        return Reply.tool_uses(("add", {"a": 1, "b": 2}), ("lookup", {"key": "k"}))
    return Reply.text("done")


def test_batch_runner_reports_each_conversation_as_one_trace(otel: Otel) -> None:
    from agentkit.batches import BatchRunner
    from agentkit.stores import MemoryStore

    fake = FakeClaude(_rounds, seed=3)
    agent = _agent(fake, otel)
    result = BatchRunner(agent, store=MemoryStore(), poll_interval=0.001, run_id="obs").run(
        ["one", "two"]
    )
    assert {o.status for o in result.outcomes.values()} == {"complete"}
    roots = otel.named("invoke_agent")
    assert len(roots) == 2
    for root in roots:
        assert root.attributes is not None
        members = [s for s in otel.spans() if s.context.trace_id == root.context.trace_id]
        names = sorted(s.name for s in members)
        assert names == sorted(
            [root.name, f"chat {MODEL}", f"chat {MODEL}", "execute_tool add", "execute_tool lookup"]
        )
        for span in members:
            if span is not root:
                assert span.parent is not None and span.parent.span_id == root.context.span_id
        assert root.attributes["gen_ai.conversation.id"] in ("obs-0", "obs-1")
    assert sum(p.count for p in otel.histograms()["gen_ai.client.operation.duration"]) == 4


def test_a_runs_chat_attributes_follow_each_calls_settings(otel: Otel) -> None:
    """A run keeps its calls' span and metric attributes; a call whose settings differ (a new
    value, a bool for an int, a stop list changed in place) gets its own."""
    run = otel.telemetry().start_run(
        model="m1", provider="anthropic", server="https://api.example", conversation_id="c1"
    )
    assert run is not None
    stops = ["a"]
    settings: list[dict[str, object]] = [
        {"model": "m1", "max_tokens": 1, "stop_sequences": stops},
        {"model": "m1", "max_tokens": 1, "stop_sequences": stops},
        {"model": "m1", "max_tokens": True, "stop_sequences": stops},
        {"model": "m2", "max_tokens": 2.0, "temperature": 0.5, "stop_sequences": stops},
    ]
    for i, params in enumerate(settings):
        if i == 3:
            stops.append("b")
        run.chat(params, list, attach=False).close(error=ValueError("x"))
    run.end()
    chats = otel.named("chat ")
    assert [s.name for s in chats] == ["chat m1", "chat m1", "chat m1", "chat m2"]
    got = [{k: v for k, v in (s.attributes or {}).items() if k.startswith("gen_ai.request.")}
           for s in chats]  # fmt: skip
    assert (
        got[0]
        == got[1]
        == {
            "gen_ai.request.model": "m1",
            "gen_ai.request.max_tokens": 1,
            "gen_ai.request.stop_sequences": ("a",),
        }
    )
    assert got[2] == {"gen_ai.request.model": "m1", "gen_ai.request.stop_sequences": ("a",)}
    assert got[3] == {
        "gen_ai.request.model": "m2",
        "gen_ai.request.max_tokens": 2.0,
        "gen_ai.request.temperature": 0.5,
        "gen_ai.request.stop_sequences": ("a", "b"),
    }
    durations = otel.histograms()["gen_ai.client.operation.duration"]
    by_model = {str(p.attributes["gen_ai.request.model"]): p.count for p in durations}
    assert by_model == {"m1": 3, "m2": 1}
    assert all(p.attributes["error.type"] == "ValueError" for p in durations)
