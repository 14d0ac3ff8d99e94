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
- `on: in-memory, content captured` - the same with `Telemetry(capture_content=True)`.
Every row passes its providers through `Agent(telemetry=Telemetry(...))` except the first two,
which use the defaults. With `--baseline DIR` (a copy of the package from before observability,
e.g. `git archive <commit> | tar -x -C DIR`), a first row `baseline: DIR, OpenTelemetry not
imported` runs the same loop on that copy's `agentkit` (PYTHONPATH=DIR), for "within noise of
before".

Repetitions are paired: in each repetition every row runs once, in an order rotated by one per
repetition, and each row's ratio is taken against `off: OpenTelemetry not imported` of the same
repetition; the table shows the median and range over repetitions.

Run: `python benchmarks/bench_observability.py [--reps 5] [--conversations 15] [--baseline DIR]`.
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
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import (
        InMemoryMetricReader,
        MetricExporter,
        MetricExportResult,
        PeriodicExportingMetricReader,
    )
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from agentkit.observability import Telemetry

    class DropSpans(SpanExporter):
        def export(self, spans: Any) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    class DropMetrics(MetricExporter):
        def export(self, metrics_data: Any, timeout_millis: float = 0, **kwargs: Any) -> Any:
            return MetricExportResult.SUCCESS

        def force_flush(self, timeout_millis: float = 0) -> bool:
            return True

        def shutdown(self, timeout_millis: float = 0, **kwargs: Any) -> None:
            return None

    tracer_provider = TracerProvider()
    if row == ROWS[2]:
        tracer_provider.add_span_processor(SimpleSpanProcessor(DropSpans()))
        reader: Any = PeriodicExportingMetricReader(DropMetrics(), export_interval_millis=3_600_000)
    else:
        tracer_provider.add_span_processor(SimpleSpanProcessor(InMemorySpanExporter()))
        reader = InMemoryMetricReader()
    return Telemetry(
        tracer_provider=tracer_provider,
        meter_provider=MeterProvider(metric_readers=[reader]),
        capture_content=row == ROWS[4],
    )


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
    started = time.process_time()
    for _ in range(conversations):
        one()
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
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
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


if __name__ == "__main__":
    main()
