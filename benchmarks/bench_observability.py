"""What observability costs per turn: agentkit's OpenTelemetry spans and metrics, off and on.

The same 20-round tool loop as `bench_runner.py` (20 turns, 19 tool calls of `add`), `Agent.run`
with one `Client` per process, against the loopback fake Claude in its own process
(`_fake_server_proc.py`, so its CPU is never the client's). Each row runs in a fresh process
(OpenTelemetry is imported in some and not in others) and measures `time.process_time()` (all
threads) around the conversations only, after one warm-up conversation; each conversation's
final text, turns and tool calls are checked.

Rows:
- `off: OpenTelemetry not imported` - the default for an application that does not use it;
- `off: imported, no provider` - `opentelemetry.trace` imported, no provider configured;
- `on: no-op exporter` - an SDK `TracerProvider` with a `SimpleSpanProcessor` into an exporter
  that drops the spans, and an SDK `MeterProvider` whose reader exports nowhere (every span and
  histogram point is made and processed; nothing is written);
- `on: in-memory exporter` - the SDK's `InMemorySpanExporter` and `InMemoryMetricReader`;
- `on: in-memory, content captured` - the same with `Telemetry(capture_content=True)`;
- `on: no-op exporter, batch processor` - the no-op exporter row with the `BatchSpanProcessor`
  a production application uses instead of the `SimpleSpanProcessor` (its worker thread's CPU
  counts: the spans still queued are flushed inside the timed section);
- `on: API only, nothing recorded` - providers that implement the OpenTelemetry API and record
  nothing (spans that say they record and keep nothing, no-op histograms): agentkit's own share
  of the cost, its calls into the API included, without the SDK's.
Every row passes its providers through `Agent(telemetry=Telemetry(...))` except the first two,
which use the defaults. With `--baseline DIR` (a copy of the package from before observability,
e.g. `git archive <commit> | tar -x -C DIR`), a first row `baseline: DIR, OpenTelemetry not
imported` runs the same loop on that copy's `agentkit` (PYTHONPATH=DIR), for "within noise of
before".

Repetitions are paired: in each repetition every row runs once, in an order rotated by one per
repetition, and each row's ratio is taken against `off: OpenTelemetry not imported` of the same
repetition; the table shows the median and range over repetitions.

With `--sdk-floor`, a second table times the SDK's own calls in isolation in a fresh process
(the providers of `on: no-op exporter`; a root span as parent; 20,000 calls, median of 7): a bare
span, a span with a `chat` span's attributes, the reply's `set_attributes`, a histogram point with
and without the conventions' attributes, and one turn's worth of agentkit's calls (a `chat` span
made current and closed with its reply, three histogram points, an `execute_tool` span made
current), each as a share of the `off` row's turn: what no change in agentkit can remove. A
tight loop runs the SDK's code warm; between HTTP calls in the agent loop it runs colder and
costs more, so these shares are a lower bound.

Run: `python benchmarks/bench_observability.py [--reps 5] [--conversations 15] [--baseline DIR]
[--sdk-floor]`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ANSWER = "The sum is done."  # what _fake_server_proc.py answers once every round is done
ROUNDS = 20
MODEL = "claude-sonnet-4-5"
ROWS = [
    "off: OpenTelemetry not imported",
    "off: imported, no provider",
    "on: no-op exporter",
    "on: in-memory exporter",
    "on: in-memory, content captured",
    "on: no-op exporter, batch processor",
    "on: API only, nothing recorded",
]
FLOOR_ROWS = [
    "start_span + end, no attributes",
    "the same with a chat span's 6 attributes",
    "set_attributes of a reply's 8",
    "Histogram.record, no attributes",
    "Histogram.record, 7 attributes",
    "a turn's calls: 2 spans, 14+5 attr., 3 points",
]
ADDS = 0
BASELINE = "baseline, OpenTelemetry not imported"


def add(a: int, b: int) -> int:
    """Adds two numbers."""
    global ADDS
    ADDS += 1
    return a + b


def _telemetry(row: str) -> Any:
    if row in (ROWS[0], BASELINE):
        return None
    from opentelemetry import trace  # noqa: F401 - imported, as an instrumented app would

    if row == ROWS[1]:
        return None
    from agentkit.observability import Telemetry

    if row == ROWS[6]:
        tracer_provider, meter_provider = _api_providers()
        return Telemetry(tracer_provider=tracer_provider, meter_provider=meter_provider)
    return Telemetry(
        tracer_provider=_sdk_tracer_provider(batch=row == ROWS[5], memory=row in ROWS[3:5]),
        meter_provider=_sdk_meter_provider(memory=row in ROWS[3:5]),
        capture_content=row == ROWS[4],
    )


def _sdk_tracer_provider(*, batch: bool, memory: bool) -> Any:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        SimpleSpanProcessor,
        SpanExporter,
        SpanExportResult,
    )
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    class DropSpans(SpanExporter):
        def export(self, spans: Any) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    exporter = InMemorySpanExporter() if memory else DropSpans()
    provider = TracerProvider()
    provider.add_span_processor(
        BatchSpanProcessor(exporter) if batch else SimpleSpanProcessor(exporter)
    )
    return provider


def _sdk_meter_provider(*, memory: bool) -> Any:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import (
        InMemoryMetricReader,
        MetricExporter,
        MetricExportResult,
        PeriodicExportingMetricReader,
    )

    class DropMetrics(MetricExporter):
        def export(self, metrics_data: Any, timeout_millis: float = 0, **kwargs: Any) -> Any:
            return MetricExportResult.SUCCESS

        def force_flush(self, timeout_millis: float = 0) -> bool:
            return True

        def shutdown(self, timeout_millis: float = 0, **kwargs: Any) -> None:
            return None

    if memory:
        reader: Any = InMemoryMetricReader()
    else:
        reader = PeriodicExportingMetricReader(DropMetrics(), export_interval_millis=3_600_000)
    return MeterProvider(metric_readers=[reader])


def _api_providers() -> tuple[Any, Any]:
    """Providers of the OpenTelemetry API that record nothing (made on first use: the API is
    imported only by the rows that use it)."""
    from opentelemetry import metrics, trace

    context = trace.SpanContext(1, 2, False, trace.TraceFlags(trace.TraceFlags.SAMPLED))

    class Span(trace.NonRecordingSpan):
        def is_recording(self) -> bool:
            return True  # so agentkit builds every attribute, as for the SDK's spans

    class Tracer(trace.NoOpTracer):
        def start_span(self, *args: Any, **kwargs: Any) -> trace.Span:
            return Span(context)

    class TracerProvider(trace.TracerProvider):
        def get_tracer(self, *args: Any, **kwargs: Any) -> trace.Tracer:
            return Tracer()

    class MeterProvider(metrics.MeterProvider):
        def get_meter(self, *args: Any, **kwargs: Any) -> metrics.Meter:
            return metrics.NoOpMeter("bench")

    return TracerProvider(), MeterProvider()


# The attributes agentkit gives the SDK in this loop (gen_ai semantic conventions).
_BASE = {
    "gen_ai.provider.name": "anthropic",
    "gen_ai.request.model": MODEL,
    "server.address": "127.0.0.1",
    "server.port": 8000,
}
_REQUEST = {**_BASE, "gen_ai.operation.name": "chat", "gen_ai.request.max_tokens": 1024}
_REPLY = {
    "gen_ai.response.model": MODEL,
    "gen_ai.response.id": "msg_01",
    "gen_ai.response.finish_reasons": ["tool_use"],
    "gen_ai.usage.input_tokens": 400,
    "gen_ai.usage.output_tokens": 40,
    "gen_ai.usage.cache_read.input_tokens": 0,
    "gen_ai.usage.cache_creation.input_tokens": 0,
    "anthropic.request.id": "req_01",
}
_METRIC = {**_BASE, "gen_ai.operation.name": "chat", "gen_ai.response.model": MODEL}
_TOOL = {
    "gen_ai.operation.name": "execute_tool",
    "gen_ai.provider.name": "anthropic",
    "gen_ai.tool.type": "function",
    "gen_ai.tool.name": "add",
    "gen_ai.tool.call.id": "toolu_01",
}


def sdk_floor(calls: int = 20_000, reps: int = 7) -> dict[str, float]:
    """Microseconds of CPU per call of the SDK's own operations (see the module's docstring)."""
    from opentelemetry import context as otel_context
    from opentelemetry import trace
    from opentelemetry.trace import SpanKind

    tracer = _sdk_tracer_provider(batch=False, memory=False).get_tracer("bench")
    meter = _sdk_meter_provider(memory=False).get_meter("bench")
    tokens = meter.create_histogram("gen_ai.client.token.usage", unit="{token}")
    duration = meter.create_histogram("gen_ai.client.operation.duration", unit="s")
    parent = trace.set_span_in_context(tracer.start_span("invoke_agent", attributes=_BASE))
    metric_in = {**_METRIC, "gen_ai.token.type": "input"}
    metric_out = {**_METRIC, "gen_ai.token.type": "output"}

    def bare_span() -> None:
        tracer.start_span("chat", parent).end()

    def chat_span() -> None:
        tracer.start_span("chat", parent, SpanKind.CLIENT, _REQUEST).end()

    def reply_attributes() -> None:  # minus chat_span: the reply's set_attributes
        span = tracer.start_span("chat", parent, SpanKind.CLIENT, _REQUEST)
        span.set_attributes(_REPLY)
        span.end()

    def bare_point() -> None:
        tokens.record(400)

    def point() -> None:
        tokens.record(400, metric_in)

    def turn() -> None:
        chat = tracer.start_span(f"chat {MODEL}", parent, SpanKind.CLIENT, _REQUEST)
        otel_context.detach(otel_context.attach(trace.set_span_in_context(chat, parent)))
        chat.set_attributes(_REPLY)
        tokens.record(400, metric_in)
        tokens.record(40, metric_out)
        duration.record(0.001, _METRIC)
        chat.end()
        tool = tracer.start_span("execute_tool add", parent, SpanKind.INTERNAL, _TOOL)
        otel_context.detach(otel_context.attach(trace.set_span_in_context(tool, parent)))
        tool.end()

    def each(operation: Any) -> float:
        for _ in range(calls // 10):
            operation()
        times = []
        for _ in range(reps):
            started = time.process_time()
            for _ in range(calls):
                operation()
            times.append((time.process_time() - started) / calls * 1e6)
        return statistics.median(times)

    operations = {
        FLOOR_ROWS[0]: bare_span,
        FLOOR_ROWS[1]: chat_span,
        FLOOR_ROWS[2]: reply_attributes,
        FLOOR_ROWS[3]: bare_point,
        FLOOR_ROWS[4]: point,
        FLOOR_ROWS[5]: turn,
    }
    found = {name: each(operation) for name, operation in operations.items()}
    found[FLOOR_ROWS[2]] -= found[FLOOR_ROWS[1]]  # the set_attributes call alone
    return found


def measure(row: str, url: str, conversations: int) -> dict[str, Any]:
    """One row in this process: CPU per turn over `conversations` checked conversations."""
    telemetry = _telemetry(row)
    from agentkit import Agent, Client, Limits, tool

    client = Client(api_key="bench", base_url=url)
    options: dict[str, Any] = {} if telemetry is None else {"telemetry": telemetry}
    agent = Agent(
        MODEL,
        tools=[tool(add)],
        client=client,
        max_tokens=1024,
        system=f"Add numbers. rounds={ROUNDS}",
        limits=Limits(max_turns=None),
        **options,
    )

    def one() -> None:
        before = ADDS
        result = agent.run("go")
        assert result.text == ANSWER, result.text
        assert result.turns == ROUNDS and ADDS - before == ROUNDS - 1

    one()  # warm-up
    flush = getattr(getattr(telemetry, "tracer_provider", None), "force_flush", None)
    if flush is not None:
        flush()
    started = time.process_time()
    for _ in range(conversations):
        one()
    if flush is not None:
        flush()  # a batch processor's queued spans are part of the cost
    cpu = time.process_time() - started
    imported = any(m.startswith("opentelemetry") for m in sys.modules)
    assert imported == (row not in (ROWS[0], BASELINE)), f"opentelemetry imported: {imported}"
    return {"ms_per_turn": cpu * 1000 / (conversations * ROUNDS)}


def _server() -> tuple[subprocess.Popen[str], str]:
    env = {**os.environ, "PYTHONPATH": str(HERE.parent)}
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "_fake_server_proc.py")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    if not url:
        raise SystemExit("the fake server did not start")
    return proc, url


def _run_row(row: str, url: str, conversations: int, baseline: str | None) -> float:
    args = [sys.executable, __file__, "--measure", row, "--url", url,
            "--conversations", str(conversations)]  # fmt: skip
    source = baseline if row == BASELINE and baseline else str(HERE.parent)
    env = {**os.environ, "PYTHONPATH": source, "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run(args, capture_output=True, text=True, env=env, timeout=900)
    if done.returncode != 0:
        raise SystemExit(f"{row}: FAILED\n{done.stderr[-2000:]}")
    return float(json.loads(done.stdout.strip().splitlines()[-1])["ms_per_turn"])


def _fmt(values: list[float], digits: int) -> str:
    med = statistics.median(values)
    return f"{med:.{digits}f} ({min(values):.{digits}f}-{max(values):.{digits}f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--conversations", type=int, default=15)
    parser.add_argument("--baseline", help="a copy of the package from before, for a first row")
    parser.add_argument(
        "--sdk-floor", action="store_true", help="also time the SDK's own calls in isolation"
    )
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure == "sdk-floor":
        print(json.dumps(sdk_floor()))
        return
    if args.measure:
        print(json.dumps(measure(args.measure, args.url, args.conversations)))
        return
    started = time.monotonic()
    load = os.getloadavg()[0]
    proc, url = _server()
    rows = ([BASELINE] if args.baseline else []) + ROWS
    cpu: dict[str, list[float]] = {row: [] for row in rows}
    ratio: dict[str, list[float]] = {row: [] for row in rows}
    try:
        for rep in range(args.reps):
            order = rows[rep % len(rows) :] + rows[: rep % len(rows)]
            figures = {row: _run_row(row, url, args.conversations, args.baseline) for row in order}
            for row in rows:
                cpu[row].append(figures[row])
                ratio[row].append(figures[row] / figures[ROWS[0]])
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(timeout=30)
    print(
        f"bench_observability.py, {time.strftime('%Y-%m-%d')}, CPython "
        f"{platform.python_version()}, {os.cpu_count()} CPUs, took "
        f"{time.monotonic() - started:.0f} s"
    )
    print(f"command: python benchmarks/bench_observability.py {' '.join(sys.argv[1:])}")
    print(f"load average (1 min): {load:.2f} at start, {os.getloadavg()[0]:.2f} at end")
    print(
        f"{ROUNDS}-round tool loop, Agent.run, {args.conversations} conversations per row per "
        f"repetition, {args.reps} repetitions; median (min-max)"
    )
    print(f"{'row':<40}{'CPU ms/turn':>26}{'x off (same rep)':>26}")
    print("-" * 92)
    if args.baseline:
        print(f"baseline: agentkit from {args.baseline}")
    for row in rows:
        print(f"{row:<40}{_fmt(cpu[row], 3):>26}{_fmt(ratio[row], 3):>26}")
    if args.sdk_floor:
        env = {**os.environ, "PYTHONPATH": str(HERE.parent), "PYTHONDONTWRITEBYTECODE": "1"}
        done = subprocess.run(
            [sys.executable, __file__, "--measure", "sdk-floor"],
            capture_output=True,
            text=True,
            env=env,
            timeout=900,
            check=True,
        )
        floor = json.loads(done.stdout.strip().splitlines()[-1])
        turn_us = statistics.median(cpu[ROWS[0]]) * 1000
        print()
        print("the SDK's own calls in isolation (20,000 calls, median of 7), against the off row's")
        print(f"turn ({turn_us:.0f} us, median above); 5% of that turn is {turn_us * 0.05:.1f} us")
        print(f"{'call':<48}{'us per call':>14}{'% of a turn':>14}")
        print("-" * 76)
        for name in FLOOR_ROWS:
            print(f"{name:<48}{floor[name]:>14.2f}{100 * floor[name] / turn_us:>13.1f}%")


if __name__ == "__main__":
    main()
