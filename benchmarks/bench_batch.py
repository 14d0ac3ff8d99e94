"""The batch runner's own cost: 1,000 conversations x 3 tool rounds through the fake batch API.

The fake Claude runs in a separate process (this file with `--serve`) with its batch processing
delay at zero, so the figures are the client's: wall time, and the CPU seconds of this process
(every thread: event loop, tool threads, HTTP). The server's CPU is reported beside them, read
from the child's resource usage when it exits. Each conversation runs three rounds of two
parallel tool calls (one sync, one async tool) and then answers: four batches of 1,000 requests.

    python benchmarks/bench_batch.py [--conversations 1000] [--direct]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio

from agentkit import Agent, AsyncClient, Client, tool
from agentkit.batches import BatchRunner
from agentkit.stores import MemoryStore, SQLiteStore
from agentkit.testing import FakeClaude, Reply

MODEL = "claude-haiku-4-5"


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@tool
async def mul(a: int, b: int) -> int:
    """Multiply two integers."""
    return a * b


def three_rounds(body: dict[str, Any]) -> Reply:
    """Two parallel tool calls per round for three rounds, then an answer."""
    rounds = sum(
        1
        for m in body["messages"]
        if m["role"] == "user"
        and isinstance(m["content"], list)
        and any(b.get("type") == "tool_result" for b in m["content"])
    )
    if rounds < 3:
        return Reply.tool_uses(("add", {"a": rounds, "b": 1}), ("mul", {"a": rounds, "b": 2}))
    return Reply.text("All three rounds done.")


def serve() -> None:
    """The server process: print the URL, serve until stdin closes."""
    from agentkit.testing import FakeServer

    with FakeServer(FakeClaude(three_rounds, batch_delay=0.0)) as server:
        print(server.url, flush=True)
        sys.stdin.read()


class Server:
    """The fake in a child process; `cpu` is its user+system seconds once stopped."""

    def __enter__(self) -> Server:
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--serve"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        self.url = self.proc.stdout.readline().strip()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.close()
        _, status, usage = os.wait4(self.proc.pid, 0)
        self.proc.returncode = os.waitstatus_to_exitcode(status)
        self.proc.stdout.close()
        self.cpu = usage.ru_utime + usage.ru_stime


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def agent(client: Any) -> Agent[Any, Any]:
    return Agent(MODEL, tools=[add, mul], client=client, max_tokens=512)


def batch_run(url: str, count: int, store: Any, sync: bool) -> tuple[int, int]:
    client: Any = Client if sync else AsyncClient
    runner = BatchRunner(
        agent(client(api_key="bench", base_url=url)),
        store=store,
        run_id="bench",
        poll_interval=0.05,
        max_interval=0.05,
    )
    result = runner.run([f"question {i}" for i in range(count)])
    statuses = {o.status for o in result.outcomes.values()}
    assert statuses == {"complete"}, statuses
    return result.rounds, result.usage.requests


def direct_run(url: str, count: int, concurrency: int = 16) -> tuple[int, int]:
    """The same conversations with `Agent.arun`, `concurrency` at a time, for comparison."""

    async def main() -> int:
        client = AsyncClient(api_key="bench", base_url=url)
        bench_agent = agent(client)
        limit = anyio.CapacityLimiter(concurrency)
        turns = 0

        async def one(i: int) -> None:
            nonlocal turns
            async with limit:
                result = await bench_agent.arun(f"question {i}")
            turns += result.turns

        async with anyio.create_task_group() as tg:
            for i in range(count):
                tg.start_soon(one, i)
        await client.close()
        return turns

    return 0, anyio.run(main)


def measure(name: str, work: Callable[[str], tuple[int, int]]) -> dict[str, Any]:
    with Server() as server:
        wall, cpu = time.perf_counter(), cpu_seconds()
        rounds, requests = work(server.url)
        wall, cpu = time.perf_counter() - wall, cpu_seconds() - cpu
    return {
        "name": name,
        "rounds": rounds,
        "requests": requests,
        "wall": wall,
        "cpu": cpu,
        "server": server.cpu,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=1000)
    parser.add_argument(
        "--direct", action="store_true", help="also run them directly (Agent.arun, 16 at a time)"
    )
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve()
        return
    n = args.conversations
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        cases: list[tuple[str, Callable[[str], tuple[int, int]]]] = [
            ("batch, MemoryStore, async client", lambda u: batch_run(u, n, MemoryStore(), False)),
            ("batch, MemoryStore, sync client", lambda u: batch_run(u, n, MemoryStore(), True)),
            (
                "batch, SQLiteStore durable=False",
                lambda u: batch_run(u, n, SQLiteStore(Path(tmp) / "a.db", durable=False), False),
            ),
            (
                "batch, SQLiteStore durable=True",
                lambda u: batch_run(u, n, SQLiteStore(Path(tmp) / "b.db"), False),
            ),
        ]
        if args.direct:
            cases.append(("direct Agent.arun x16, no store", lambda u: direct_run(u, n)))
        for name, work in cases:
            rows.append(measure(name, work))
    print(f"\n{n:,} conversations x 3 tool rounds (4 model calls each), fake server in another")
    print("process, batch delay 0; CPU = user+system seconds of the process named\n")
    header = (
        f"{'scenario':<34} {'rounds':>7} {'requests':>8} {'wall s':>7} {'client CPU s':>12} "
        f"{'CPU ms/request':>14} {'server CPU s':>12}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        per = 1000 * r["cpu"] / max(r["requests"], 1)
        rounds = str(r["rounds"]) if r["rounds"] else "-"
        print(
            f"{r['name']:<34} {rounds:>7} {r['requests']:>8,} {r['wall']:>7.2f} "
            f"{r['cpu']:>12.2f} {per:>14.2f} {r['server']:>12.2f}"
        )


if __name__ == "__main__":
    main()
