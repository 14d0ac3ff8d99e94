"""Client CPU per turn of a tool loop against a loopback fake Claude in another process.

The fake (`_fake_server_proc.py`, its own process, so its CPU is never the client's) calls the
tool `add` each round, checks every tool result it gets back, then answers `The sum is done.`.
Every measured row runs in a fresh process of its own (so CPU time and peak memory are its own)
and measures `time.process_time()` (all threads of that process) around each conversation only:
building the client, the warm-up conversation and the checks are outside the figure, and so is
the process's first full garbage collection, owed by its imports (one `gc.collect()` after the
warm-up, in every row alike: else a row's figure holds it or not depending on how many objects
its imports made and where the collector's counters happen to stand). Each row builds ONE
client per process and reuses it for every conversation, as a careful user would.

Every conversation is checked: its final text, its turns and its tool calls as the row itself
reports them, and how often the `add` function really ran. A row that fails a check fails
loudly (the table prints FAILED and the script exits non-zero); it never prints a figure.

Tables:

1. The paired table: a 20-round loop (20 turns, 19 tool calls), per turn, for
   - `raw httpx sync` / `raw httpx async`: hand-written loops on one `httpx.Client` /
     `httpx.AsyncClient` per process; JSON encoded and parsed with `pydantic_core` (the parser
     agentkit itself uses, installed with pydantic; `to_json` for the body, `from_json` for the
     response), the tool called inline. These are the floors. `raw httpx loop, sync, stdlib
     json` is the same loop with httpx's own `json=` and `response.json()` (the standard
     library's json), for how much the parser alone moves the floor.
   - agentkit `Agent.run` with a sync tool (vs raw sync), `Agent.arun` with a sync tool and with
     an async tool (vs raw async);
   - the official SDK (`anthropic`, from the benchmark venv): a `client.messages.create` loop
     written like the raw one (vs raw sync), and `client.beta.messages.tool_runner` (vs raw
     sync) twice: with `thread=False` (the whole history every turn, as every other row sends)
     and as it runs by default in 2.x, on a server-side message thread that it continues with
     only the new turn (the fake implements threads since commit 0909c72; against an older fake
     that row fails with a 400);
   - pydantic-ai's `Agent` with `AnthropicModel`, `await agent.run()` (vs raw async);
   - `raw httpx2 sync` / `raw httpx2 async`: the raw loops on `httpx2`, the HTTP client the
     current SDK and pydantic-ai run on (benchmark venv), to show how much of their figure is
     their HTTP stack.
   Repetitions are paired: in each repetition every row runs once, in an order rotated by one
   per repetition, and each row's ratio is taken against the raw loop of the same kind (sync vs
   sync, async vs async) of the same repetition. The table shows the median and the range
   (min-max) over the repetitions.
2. The history table: per turn over a 5-turn loop (4 tool calls) that continues a 200-turn,
   ~1.3 MB history (thinking with signatures, tool calls, 3.3 KB tool results); the client is
   built once and warmed up; each conversation continues a fresh copy of the history (copying
   is outside the figure). agentkit `Agent.run`/`arun` against the raw loops (which re-encode the
   whole history every turn, as a hand-written loop does). `one Conversation continued`: the
   agent continues the same `Conversation` run after run (no fork; it grows by 5 turns a run).
3. The concurrency table: N concurrent async conversations x 5 turns (4 tool calls) on one
   client, async tools: agentkit on its default httpx pool (`agentkit.AsyncClient()`: 100
   connections, 100 kept alive) and on `agentkit.client.DefaultAioHttpClient()`, against raw
   loops on one shared `httpx.AsyncClient(limits=httpx.Limits(max_connections=100,
   max_keepalive_connections=100))` (httpx's default keeps only 20 of its 100 connections alive,
   which a careful user raises), one `aiohttp.ClientSession` (`TCPConnector(limit=100)`), and
   the same raw loop on `httpx2` (benchmark venv). CPU per turn, connections the fake server
   accepted (the warm-up conversation's included), peak RSS of the client process. A row that
   runs longer than `--timeout` seconds is killed and printed as such (never dropped).

The official SDK and pydantic-ai run in benchmarks/.venv-bench (never in .venv): the current
PyPI releases of `anthropic` and `pydantic-ai-slim[anthropic]`, installed by
`benchmarks/setup_venv`, which this script runs on first use (`--no-bench-venv` skips those
rows, and says so in the table).

Run: `python benchmarks/bench_runner.py [--quick] [--tables paired,history,concurrency]
[--reps N] [--conversations N] [--sizes 500,2000] [--timeout S]`.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
BENCH_VENV = HERE / ".venv-bench"
BENCH_PYTHON = BENCH_VENV / "bin" / "python"
MODEL = "claude-haiku-4-5"
ANSWER = "The sum is done."  # what _fake_server_proc.py answers once every round is done
TOOLS = [
    {
        "name": "add",
        "description": "Add two integers.",
        "input_schema": {
            "type": "object",
            "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
            "required": ["a", "b"],
            "additionalProperties": False,
        },
    }
]
HEADERS = {
    "x-api-key": "bench",
    "anthropic-version": "2023-06-01",
    "content-type": "application/json",
}
# The raw loops' pool: httpx's default connection cap, with every connection kept alive.
RAW_MAX_CONNECTIONS = 100

CALLS = 0  # how often `add` really ran in this process


def add(a: int, b: int) -> int:
    """Add two integers.

    Args:
        a: The first number.
        b: The second number.
    """
    global CALLS
    CALLS += 1
    return a + b


async def add_async(a: int, b: int) -> int:
    """Add two integers.

    Args:
        a: The first number.
        b: The second number.
    """
    global CALLS
    CALLS += 1
    return a + b


def big_history() -> list[dict[str, Any]]:
    """200 turns, ~1.3 MB: thinking with signatures, tool calls, 3.3 KB tool results."""
    history: list[dict[str, Any]] = [{"role": "user", "content": "start"}]
    for i in range(200):
        history.append(
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": "t" * 2500, "signature": "s" * 400},
                    {
                        "type": "tool_use",
                        "id": f"toolu_{i:05d}",
                        "name": "add",
                        "input": {"a": i, "b": 1},
                    },
                ],
            }
        )
        history.append(
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": f"toolu_{i:05d}", "content": "r" * 3300}
                ],
            }
        )
    history.append({"role": "assistant", "content": [{"type": "text", "text": "ok"}]})
    return history


# -- the rows: each builds its client once and returns (prepare, run, close) ---------------------
#
# prepare() -> a fresh conversation state (outside the figure); run(state) -> (final text, turns,
# tool calls as the row itself saw them); close() releases the client.

Outcome = tuple[str, int, int]


@dataclass
class Loop:
    prepare: Callable[[], Any]
    run: Callable[[Any], Any]  # returns Outcome, or an awaitable of it for async rows
    close: Callable[[], Any]


def _text(content: list[dict[str, Any]]) -> str:
    return "".join(b["text"] for b in content if b["type"] == "text")


def _tool_results(content: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {"type": "tool_result", "tool_use_id": b["id"], "content": str(add(**b["input"]))}
        for b in content
        if b["type"] == "tool_use"
    ]


def _start(history: list[dict[str, Any]] | None) -> Callable[[], list[dict[str, Any]]]:
    def prepare() -> list[dict[str, Any]]:
        return [*(history or []), {"role": "user", "content": "go"}]

    return prepare


def raw_sync(
    url: str,
    system: str,
    history: list[dict[str, Any]] | None,
    module: str,
    stdlib_json: bool = False,
) -> Loop:
    httpx: Any = __import__(module)
    from pydantic_core import from_json, to_json

    client = httpx.Client(base_url=url, headers=HEADERS, timeout=600)
    if stdlib_json:  # httpx's own `json=` and `.json()`: the standard library's json module

        def post(body: dict[str, Any]) -> dict[str, Any]:
            response = client.post("/v1/messages", json=body)
            response.raise_for_status()
            return response.json()  # type: ignore[no-any-return]
    else:

        def post(body: dict[str, Any]) -> dict[str, Any]:
            response = client.post("/v1/messages", content=to_json(body))
            response.raise_for_status()
            return from_json(response.content)  # type: ignore[no-any-return]

    def run(messages: list[dict[str, Any]]) -> Outcome:
        turns = calls = 0
        while True:
            body = {"model": MODEL, "max_tokens": 1024, "system": system, "tools": TOOLS,
                    "messages": messages}  # fmt: skip
            message = post(body)
            turns += 1
            content = message["content"]
            messages.append({"role": "assistant", "content": content})
            if message["stop_reason"] != "tool_use":
                return _text(content), turns, calls
            results = _tool_results(content)
            calls += len(results)
            messages.append({"role": "user", "content": results})

    return Loop(_start(history), run, client.close)


def raw_async(url: str, system: str, history: list[dict[str, Any]] | None, module: str) -> Loop:
    httpx: Any = __import__(module)
    from pydantic_core import from_json, to_json

    limits = httpx.Limits(
        max_connections=RAW_MAX_CONNECTIONS, max_keepalive_connections=RAW_MAX_CONNECTIONS
    )
    client = httpx.AsyncClient(base_url=url, headers=HEADERS, timeout=600, limits=limits)

    async def run(messages: list[dict[str, Any]]) -> Outcome:
        turns = calls = 0
        while True:
            body = {"model": MODEL, "max_tokens": 1024, "system": system, "tools": TOOLS,
                    "messages": messages}  # fmt: skip
            response = await client.post("/v1/messages", content=to_json(body))
            response.raise_for_status()
            message = from_json(response.content)
            turns += 1
            content = message["content"]
            messages.append({"role": "assistant", "content": content})
            if message["stop_reason"] != "tool_use":
                return _text(content), turns, calls
            results = _tool_results(content)
            calls += len(results)
            messages.append({"role": "user", "content": results})

    return Loop(_start(history), run, client.aclose)


def raw_aiohttp(url: str, system: str, history: list[dict[str, Any]] | None) -> Loop:
    import aiohttp
    from pydantic_core import from_json, to_json

    connector = aiohttp.TCPConnector(limit=RAW_MAX_CONNECTIONS)
    session = aiohttp.ClientSession(base_url=url, headers=HEADERS, connector=connector)

    async def run(messages: list[dict[str, Any]]) -> Outcome:
        turns = calls = 0
        while True:
            body = {"model": MODEL, "max_tokens": 1024, "system": system, "tools": TOOLS,
                    "messages": messages}  # fmt: skip
            async with session.post("/v1/messages", data=to_json(body)) as response:
                response.raise_for_status()
                message = from_json(await response.read())
            turns += 1
            content = message["content"]
            messages.append({"role": "assistant", "content": content})
            if message["stop_reason"] != "tool_use":
                return _text(content), turns, calls
            results = _tool_results(content)
            calls += len(results)
            messages.append({"role": "user", "content": results})

    return Loop(_start(history), run, session.close)


def _agentkit_outcome(result: Any) -> Outcome:
    calls = sum(
        1
        for m in result.new_messages
        if m["role"] == "assistant" and isinstance(m["content"], list)
        for b in m["content"]
        if b["type"] == "tool_use"
    )
    return result.text, result.turns, calls


def agentkit_loop(
    url: str,
    system: str,
    history: list[dict[str, Any]] | None,
    *,
    sync: bool,
    async_tool: bool = False,
    aiohttp: bool = False,
    fork: bool = True,
) -> Loop:
    from agentkit import Agent, AsyncClient, Client, Conversation, Limits, tool

    http_client = None
    if aiohttp:
        from agentkit.client import DefaultAioHttpClient

        http_client = DefaultAioHttpClient()
    client: Any = (
        Client(api_key="bench", base_url=url)
        if sync
        else AsyncClient(api_key="bench", base_url=url, http_client=http_client)
    )
    agent = Agent(
        MODEL,
        tools=[tool(add_async, name="add") if async_tool else tool(add)],
        client=client,
        max_tokens=1024,
        system=system,
        limits=Limits(max_turns=None),
    )
    base = Conversation(history) if history else None

    def prepare() -> Any:
        # A fresh copy of the history per conversation; or (fork=False) one conversation that
        # every run continues, growing by 5 turns a run (the memo of earlier turns is kept).
        return base.fork() if base is not None and fork else base

    if sync:

        def run(conversation: Any) -> Outcome:
            return _agentkit_outcome(agent.run("go", conversation=conversation))

        return Loop(prepare, run, client.close)

    async def arun(conversation: Any) -> Outcome:
        return _agentkit_outcome(await agent.arun("go", conversation=conversation))

    async def close() -> None:
        await client.close()
        if http_client is not None:
            await http_client.aclose()

    return Loop(prepare, arun, close)


def sdk_create(url: str, system: str, history: list[dict[str, Any]] | None) -> Loop:
    import anthropic

    client = anthropic.Anthropic(api_key="bench", base_url=url)

    def run(messages: list[dict[str, Any]]) -> Outcome:
        turns = calls = 0
        while True:
            message = client.messages.create(
                model=MODEL, max_tokens=1024, system=system, tools=TOOLS,  # type: ignore[arg-type]
                messages=messages,  # type: ignore[arg-type]
            )  # fmt: skip
            turns += 1
            messages.append({"role": "assistant", "content": message.content})
            if message.stop_reason != "tool_use":
                return "".join(b.text for b in message.content if b.type == "text"), turns, calls
            results = [
                {"type": "tool_result", "tool_use_id": b.id, "content": str(add(**b.input))}  # type: ignore[arg-type]
                for b in message.content
                if b.type == "tool_use"
            ]
            calls += len(results)
            messages.append({"role": "user", "content": results})

    return Loop(_start(history), run, client.close)


def sdk_tool_runner(
    url: str, system: str, history: list[dict[str, Any]] | None, threaded: bool = False
) -> Loop:
    import anthropic
    from anthropic import beta_tool

    client = anthropic.Anthropic(api_key="bench", base_url=url)

    def add_text(a: int, b: int) -> str:
        """Add two integers.

        Args:
            a: The first number.
            b: The second number.
        """
        return str(add(a, b))  # the SDK's tools return text or content blocks, not an int

    sdk_add = beta_tool(add_text, name="add")  # registered as `add`, the name the fake calls

    def run(messages: list[dict[str, Any]]) -> Outcome:
        runner = client.beta.messages.tool_runner(
            model=MODEL, max_tokens=1024, system=system, tools=[sdk_add],
            messages=messages,  # type: ignore[arg-type]
            **({} if threaded else {"thread": False}),  # type: ignore[arg-type]
        )  # fmt: skip
        turns = calls = 0
        last: Any = None
        for message in runner:
            turns += 1
            calls += sum(1 for b in message.content if b.type == "tool_use")
            last = message
        return "".join(b.text for b in last.content if b.type == "text"), turns, calls

    return Loop(_start(history), run, client.close)


def pydantic_ai_loop(url: str, system: str, history: list[dict[str, Any]] | None) -> Loop:
    from pydantic_ai import Agent
    from pydantic_ai.models.anthropic import AnthropicModel
    from pydantic_ai.providers.anthropic import AnthropicProvider

    if history:
        raise SystemExit("pydantic-ai: no history case")
    provider = AnthropicProvider(api_key="bench", base_url=url)
    model = AnthropicModel(MODEL, provider=provider)
    agent = Agent(model, tools=[add], system_prompt=system, model_settings={"max_tokens": 1024})

    async def run(_: Any) -> Outcome:
        result = await agent.run("go")
        responses = [m for m in result.all_messages() if m.kind == "response"]
        calls = sum(1 for m in responses for p in m.parts if p.part_kind == "tool-call")
        return str(result.output), len(responses), calls

    async def close() -> None:
        await provider.client.close()

    return Loop(lambda: None, run, close)


@dataclass(frozen=True)
class Row:
    name: str  # scenario id
    label: str  # as printed
    kind: str  # "sync" or "async": which raw loop it is compared with
    venv: str  # "main" (.venv) or "bench" (benchmarks/.venv-bench)
    make: Callable[[str, str, list[dict[str, Any]] | None], Loop]
    versions: tuple[str, ...]  # distributions whose versions the row reports


def _rows() -> list[Row]:
    return [
        Row("raw-httpx-sync", "raw httpx loop, sync (floor)", "sync", "main",
            lambda u, s, h: raw_sync(u, s, h, "httpx"), ("httpx",)),
        Row("raw-httpx-sync-stdlib-json", "raw httpx loop, sync, stdlib json", "sync", "main",
            lambda u, s, h: raw_sync(u, s, h, "httpx", stdlib_json=True), ("httpx",)),
        Row("agentkit-run", "agentkit Agent.run, sync tool", "sync", "main",
            lambda u, s, h: agentkit_loop(u, s, h, sync=True), ("httpx",)),
        Row("sdk-create", "SDK messages.create loop", "sync", "bench", sdk_create,
            ("anthropic", "httpx2")),
        Row("sdk-tool-runner", "SDK beta tool_runner", "sync", "bench", sdk_tool_runner,
            ("anthropic", "httpx2")),
        Row("sdk-tool-runner-threaded", "SDK beta tool_runner, threaded (default)", "sync",
            "bench", lambda u, s, h: sdk_tool_runner(u, s, h, threaded=True),
            ("anthropic", "httpx2")),
        Row("raw-httpx2-sync", "raw httpx2 loop, sync", "sync", "bench",
            lambda u, s, h: raw_sync(u, s, h, "httpx2"), ("httpx2",)),
        Row("agentkit-run-continued", "agentkit Agent.run, one Conversation continued",
            "sync", "main", lambda u, s, h: agentkit_loop(u, s, h, sync=True, fork=False),
            ("httpx",)),
        Row("raw-httpx-async", "raw httpx loop, async (floor)", "async", "main",
            lambda u, s, h: raw_async(u, s, h, "httpx"), ("httpx",)),
        Row("agentkit-arun", "agentkit Agent.arun, sync tool", "async", "main",
            lambda u, s, h: agentkit_loop(u, s, h, sync=False), ("httpx",)),
        Row("agentkit-arun-async-tool", "agentkit Agent.arun, async tool", "async", "main",
            lambda u, s, h: agentkit_loop(u, s, h, sync=False, async_tool=True), ("httpx",)),
        Row("pydantic-ai", "pydantic-ai Agent.run (async)", "async", "bench", pydantic_ai_loop,
            ("pydantic-ai-slim", "anthropic", "httpx2")),
        Row("raw-httpx2-async", "raw httpx2 loop, async", "async", "bench",
            lambda u, s, h: raw_async(u, s, h, "httpx2"), ("httpx2",)),
    ]  # fmt: skip


def _concurrent_rows() -> list[Row]:
    return [
        Row("raw-httpx-async", f"raw httpx, 1 AsyncClient ({RAW_MAX_CONNECTIONS}/"
            f"{RAW_MAX_CONNECTIONS} conns)", "async", "main",
            lambda u, s, h: raw_async(u, s, h, "httpx"), ("httpx",)),
        Row("agentkit-httpx", "agentkit arun, default httpx pool", "async", "main",
            lambda u, s, h: agentkit_loop(u, s, h, sync=False, async_tool=True), ("httpx",)),
        Row("agentkit-aiohttp", "agentkit arun, DefaultAioHttpClient", "async", "main",
            lambda u, s, h: agentkit_loop(u, s, h, sync=False, async_tool=True, aiohttp=True),
            ("httpx", "aiohttp", "httpx-aiohttp")),
        Row("raw-aiohttp", f"raw aiohttp, 1 ClientSession (limit {RAW_MAX_CONNECTIONS})",
            "async", "main", raw_aiohttp, ("aiohttp",)),
        Row("raw-httpx2-async", f"raw httpx2, 1 AsyncClient ({RAW_MAX_CONNECTIONS}/"
            f"{RAW_MAX_CONNECTIONS} conns)", "async", "bench",
            lambda u, s, h: raw_async(u, s, h, "httpx2"), ("httpx2",)),
    ]  # fmt: skip


def _paired_rows() -> list[Row]:
    return [r for r in _rows() if r.name != "agentkit-run-continued"]


def _history_rows() -> list[Row]:
    return [r for r in _rows() if r.name in HISTORY_ROWS]


HISTORY_ROWS = (
    "raw-httpx-sync",
    "raw-httpx-sync-stdlib-json",
    "agentkit-run",
    "agentkit-run-continued",
    "raw-httpx-async",
    "agentkit-arun",
)


# -- one measurement, in its own process ----------------------------------------------------------


def _versions(names: tuple[str, ...]) -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for name in names:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "?"
    return found


def _check(outcome: Outcome, rounds: int, calls_before: int) -> None:
    text, turns, calls = outcome
    ran = CALLS - calls_before
    expected = (ANSWER, rounds, rounds - 1, rounds - 1)
    if (text, turns, calls, ran) != expected:
        raise SystemExit(
            f"check failed: (text, turns, tool calls seen, tool runs) = "
            f"{(text[:200], turns, calls, ran)!r}, expected {expected!r}"
        )


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def measure(row: Row, url: str, mode: str, conversations: int) -> dict[str, Any]:
    """mode: "paired" (20 rounds), "history" (5 rounds after 1.3 MB) or "concurrent" (5 rounds,
    `conversations` at once)."""
    rounds = 20 if mode == "paired" else 5
    system = f"rounds={rounds}"
    history = big_history() if mode == "history" else None
    # An async row builds its client inside the event loop (aiohttp's session needs one).
    loop = row.make(url, system, history) if row.kind == "sync" else None
    extra: dict[str, Any] = {}
    if history is not None:
        extra["history_bytes"] = len(json.dumps(history))
    cpu = 0.0
    turns = 0
    if loop is not None:
        before = CALLS
        _check(loop.run(loop.prepare()), rounds, before)  # warm-up
        gc.collect()  # the start-up's first full collection, not the turns' (module docstring)
        start_wall = time.perf_counter()
        for _ in range(conversations):
            state, before = loop.prepare(), CALLS
            t0 = time.process_time()
            outcome = loop.run(state)
            cpu += time.process_time() - t0
            _check(outcome, rounds, before)
            turns += outcome[1]
        wall = time.perf_counter() - start_wall
        loop.close()
    else:

        async def main() -> tuple[float, int, float]:
            cpu, turns = 0.0, 0
            loop = row.make(url, system, history)
            run: Callable[[Any], Awaitable[Outcome]] = loop.run
            before = CALLS
            _check(await run(loop.prepare()), rounds, before)  # warm-up
            gc.collect()  # the start-up's first full collection, not the turns' (module docstring)
            extra["rss_before_mb"] = _rss_mb()
            start_wall = time.perf_counter()
            if mode == "concurrent":
                states, before = [loop.prepare() for _ in range(conversations)], CALLS
                t0 = time.process_time()
                outcomes = await asyncio.gather(*(run(s) for s in states))
                cpu = time.process_time() - t0
                for outcome in outcomes:  # each conversation's own figures; tool runs in total
                    _check(outcome, rounds, CALLS - (rounds - 1))
                turns = sum(o[1] for o in outcomes)
                if CALLS - before != conversations * (rounds - 1):
                    raise SystemExit(f"check failed: {CALLS - before} tool runs in all")
            else:
                for _ in range(conversations):
                    state, before = loop.prepare(), CALLS
                    t0 = time.process_time()
                    outcome = await run(state)
                    cpu += time.process_time() - t0
                    _check(outcome, rounds, before)
                    turns += outcome[1]
            wall = time.perf_counter() - start_wall
            await loop.close()
            return cpu, turns, wall

        cpu, turns, wall = asyncio.run(main())
    return {
        "row": row.name,
        "turns": turns,
        "cpu_ms_per_turn": 1000 * cpu / turns,
        "wall_s": wall,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "versions": _versions(row.versions),
        **extra,
    }


# -- the driver ------------------------------------------------------------------------------------


class FakeServerProcess:
    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "_fake_server_proc.py")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(HERE.parent)},
        )
        assert self.proc.stdout is not None
        self.url = self.proc.stdout.readline().strip()
        if not self.url:
            raise SystemExit("the fake server did not start")

    def connections(self) -> int:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write("count\n")
        self.proc.stdin.flush()
        return int(self.proc.stdout.readline())

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


@dataclass
class Result:
    row: Row
    rep: int
    data: dict[str, Any] | None  # None: failed or timed out
    error: str = ""
    connections: int = 0


def run_one(
    row: Row, server: FakeServerProcess, mode: str, conversations: int, timeout: float, rep: int
) -> Result:
    python = sys.executable if row.venv == "main" else str(BENCH_PYTHON)
    before = server.connections()
    args = [python, __file__, "--measure", row.name, "--mode", mode, "--url", server.url,
            "--conversations", str(conversations)]  # fmt: skip
    try:
        proc = subprocess.run(
            args,
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, "PYTHONPATH": str(HERE.parent)},
        )
    except subprocess.TimeoutExpired:
        return Result(row, rep, None, f"killed after {timeout:.0f} s (--timeout)")
    connections = server.connections() - before
    if proc.returncode != 0:
        lines = (proc.stderr.strip() or proc.stdout.strip() or "no output").splitlines()
        return Result(row, rep, None, f"FAILED: {lines[-1][:300]}", connections)
    return Result(row, rep, json.loads(proc.stdout.strip().splitlines()[-1]), "", connections)


def _fmt_range(values: list[float], digits: int = 2) -> str:
    if not values:
        return "-"
    med = statistics.median(values)
    if len(values) == 1:
        return f"{med:.{digits}f}"
    return f"{med:.{digits}f} ({min(values):.{digits}f}-{max(values):.{digits}f})"


def series(
    rows: list[Row],
    server: FakeServerProcess,
    mode: str,
    conversations: int,
    reps: int,
    timeout: float,
    loads: list[float],
) -> list[Result]:
    """Every row once per repetition, the order rotated by one each repetition."""
    results = []
    for rep in range(reps):
        order = rows[rep % len(rows) :] + rows[: rep % len(rows)]
        for row in order:
            loads.append(os.getloadavg()[0])
            result = run_one(row, server, mode, conversations, timeout, rep)
            results.append(result)
            status = result.error or f"{result.data['cpu_ms_per_turn']:.3f} ms/turn"  # type: ignore[index]
            print(f"  [{mode} rep {rep + 1}/{reps}] {row.name}: {status}", file=sys.stderr)
    return results


def floor_of(row: Row, concurrent: bool) -> str:
    if concurrent:
        return "raw-httpx-async"
    return "raw-httpx-sync" if row.kind == "sync" else "raw-httpx-async"


def table(
    title: str, rows: list[Row], results: list[Result], concurrent: bool = False
) -> tuple[list[str], bool]:
    """The printed lines, and whether every row measured."""
    by: dict[tuple[str, int], Result] = {(r.row.name, r.rep): r for r in results}
    reps = sorted({r.rep for r in results})
    lines = [title]
    ok = True
    head = f"{'row':52} {'CPU ms/turn':>22} {'x raw httpx (same rep)':>24}"
    if concurrent:
        head += f" {'x raw httpx2':>12} {'conns':>6} {'peak RSS MB':>12} {'wall s':>7}"
    else:
        head += f" {'wall ms/turn':>15}"
    lines += [head, "-" * len(head)]
    for row in rows:
        mine = [by[(row.name, rep)] for rep in reps if (row.name, rep) in by]
        good = [r for r in mine if r.data is not None]
        bad = [r for r in mine if r.data is None]
        label = f"{row.label} [{row.venv}]" if row.venv == "bench" else row.label
        if bad:
            ok = False
            lines.append(f"{label:52} {bad[0].error} ({len(bad)} of {len(mine)} runs)")
            if not good:
                continue
        cpu = [r.data["cpu_ms_per_turn"] for r in good]  # type: ignore[index]

        def ratios(floor: str, good: list[Result] = good) -> list[float]:
            out = []
            for r in good:
                twin = by.get((floor, r.rep))
                if twin is not None and twin.data is not None:
                    out.append(r.data["cpu_ms_per_turn"] / twin.data["cpu_ms_per_turn"])  # type: ignore[index]
            return out

        floor = floor_of(row, concurrent)
        ratio = "(floor)" if row.name == floor else _fmt_range(ratios(floor))
        line = f"{label:52} {_fmt_range(cpu, 3):>22} {ratio:>24}"
        if concurrent:
            r2 = (
                "(floor)"
                if row.name == "raw-httpx2-async"
                else _fmt_range(ratios("raw-httpx2-async"))
            )
            conns = "/".join(str(r.connections) for r in good)
            rss = _fmt_range([r.data["peak_rss_mb"] for r in good], 0)  # type: ignore[index]
            wall = _fmt_range([r.data["wall_s"] for r in good], 1)  # type: ignore[index]
            line += f" {r2:>12} {conns:>6} {rss:>12} {wall:>7}"
        else:
            walls = [1000 * r.data["wall_s"] / r.data["turns"] for r in good]  # type: ignore[index]
            line += f" {_fmt_range(walls, 2):>15}"
        lines.append(line)
    return lines, ok


def ensure_bench_venv(allow: bool) -> str:
    """'' when the benchmark venv is ready, else why its rows are not measured."""
    if BENCH_PYTHON.exists():
        return ""
    if not allow:
        return "not measured: --no-bench-venv"
    print("creating benchmarks/.venv-bench (benchmarks/setup_venv) ...", file=sys.stderr)
    proc = subprocess.run(["bash", str(HERE / "setup_venv")], capture_output=True, text=True)
    if proc.returncode != 0 or not BENCH_PYTHON.exists():
        tail = (proc.stderr.strip() or proc.stdout.strip()).splitlines()[-1:]
        return f"not measured: benchmarks/setup_venv failed: {tail}"
    return ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions and conversations")
    parser.add_argument("--tables", default="paired,history,concurrency")
    parser.add_argument("--reps", type=int, help="paired repetitions (default 7, quick 5)")
    parser.add_argument("--conversations", type=int, help="per row and repetition (30, quick 15)")
    parser.add_argument("--sizes", help="concurrent conversations (default 500,2000)")
    parser.add_argument("--concurrency-reps", help="repetitions per size (default 3,2; quick 2,1)")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per measured process")
    parser.add_argument("--only", help="comma-separated row names")
    parser.add_argument("--no-bench-venv", action="store_true")
    parser.add_argument("--json-out", help="also write every measurement to this JSON file")
    # internal: one measurement in this process
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("--mode", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        every = {r.name + "@" + m: r for m, rs in
                 (("paired", _rows()), ("history", _rows()), ("concurrent", _concurrent_rows()))
                 for r in rs}  # fmt: skip
        row = every[args.measure + "@" + args.mode]
        print(json.dumps(measure(row, args.url, args.mode, args.conversations)))
        return

    reps = args.reps or (5 if args.quick else 7)
    conversations = args.conversations or (15 if args.quick else 30)
    sizes = [int(s) for s in (args.sizes or "500,2000").split(",")]
    creps_default = "2,1" if args.quick else "3,2"
    creps = [int(s) for s in (args.concurrency_reps or creps_default).split(",")]
    creps += [creps[-1]] * (len(sizes) - len(creps))
    tables = set(args.tables.split(","))
    only = set(args.only.split(",")) if args.only else None

    def pick(rows: list[Row]) -> list[Row]:
        return [r for r in rows if only is None or r.name in only]

    skip = ensure_bench_venv(not args.no_bench_venv)
    loads: list[float] = []
    start = time.time()
    load_start = os.getloadavg()
    server = FakeServerProcess()
    out: list[str] = []
    raw: list[dict[str, Any]] = []  # every measurement, for --json-out
    all_ok = True
    skipped: list[str] = []

    def runnable(rows: list[Row]) -> list[Row]:
        if not skip:
            return rows
        skipped.extend(f"{r.label}: {skip}" for r in rows if r.venv == "bench")
        return [r for r in rows if r.venv != "bench"]

    try:
        if "paired" in tables:
            rows = runnable(pick(_paired_rows()))
            results = series(rows, server, "paired", conversations, reps, args.timeout, loads)
            raw += _dump("paired", results)
            lines, ok = table(
                f"Paired: 20-round tool loop (20 turns, 19 tool calls), {conversations} "
                f"conversations per row per repetition, {reps} repetitions; median (min-max)",
                rows,
                results,
            )
            out += [*lines, ""]
            all_ok &= ok
        if "history" in tables:
            rows = runnable(pick(_history_rows()))
            results = series(rows, server, "history", max(2, conversations // 2), reps,
                             args.timeout, loads)  # fmt: skip
            raw += _dump("history", results)
            size = next((r.data["history_bytes"] for r in results if r.data), 0)
            lines, ok = table(
                f"History: 5 turns (4 tool calls) after a 200-turn, {size / 1e6:.2f} MB history, "
                f"{max(2, conversations // 2)} conversations per row per repetition, {reps} "
                "repetitions; median (min-max)",
                rows,
                results,
            )
            out += [*lines, ""]
            all_ok &= ok
        if "concurrency" in tables:
            rows = runnable(pick(_concurrent_rows()))
            for size, n in zip(sizes, creps, strict=False):
                results = series(rows, server, "concurrent", size, n, args.timeout, loads)
                raw += _dump(f"concurrent-{size}", results)
                lines, ok = table(
                    f"Concurrency: {size} concurrent conversations x 5 turns (4 async tool "
                    f"calls), {n} repetition(s); median (min-max); conns per repetition",
                    rows,
                    results,
                    concurrent=True,
                )
                out += [*lines, ""]
                all_ok &= ok
    finally:
        server.close()

    load_end = os.getloadavg()
    print()
    print(
        f"bench_runner.py, {date.today().isoformat()}, {platform.python_implementation()} "
        f"{platform.python_version()}, {os.cpu_count()} CPUs, took {time.time() - start:.0f} s"
    )
    print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}")
    print(
        f"load average (1 min): {load_start[0]:.2f} at start, {load_end[0]:.2f} at end, "
        f"{min(loads or [0]):.2f}-{max(loads or [0]):.2f} before the measured runs"
    )
    print(f"versions: {_version_line()}")
    print()
    print("\n".join(out))
    for line in skipped:
        print(line)
    print(
        "CPU ms/turn: time.process_time() of the client process (all its threads) around the "
        "conversations only, divided by their turns.\nx raw: that row's CPU per turn over the raw "
        "httpx loop of the same kind (sync/async) in the same repetition."
    )
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(raw, indent=1))
    if not all_ok:
        raise SystemExit("some rows failed (see above)")


def _dump(table: str, results: list[Result]) -> list[dict[str, Any]]:
    return [
        {"table": table, "row": r.row.name, "rep": r.rep, "error": r.error,
         "connections": r.connections, **(r.data or {})}
        for r in results
    ]  # fmt: skip


def _version_line() -> str:
    main = _versions(("httpx", "httpcore", "aiohttp", "httpx-aiohttp", "pydantic-core", "anyio"))
    text = ", ".join(f"{k} {v}" for k, v in main.items())
    if BENCH_PYTHON.exists():
        proc = subprocess.run(
            [str(BENCH_PYTHON), "-c", "import json, importlib.metadata as m; print(json.dumps({n: "
             "m.version(n) for n in ('anthropic', 'httpx2', 'httpcore2', 'pydantic-ai-slim')}))"],
            capture_output=True, text=True,
        )  # fmt: skip
        if proc.returncode == 0:
            bench = json.loads(proc.stdout)
            text += "; bench venv: " + ", ".join(f"{k} {v}" for k, v in bench.items())
    try:
        commit = subprocess.run(
            ["git", "-C", str(HERE.parent), "rev-parse", "--short", "HEAD"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        dirty = subprocess.run(
            ["git", "-C", str(HERE.parent), "status", "--porcelain", "agentkit"],
            capture_output=True, text=True,
        ).stdout.strip()  # fmt: skip
        text += f"; agentkit at {commit}" + (
            " (+ uncommitted changes in agentkit/)" if dirty else ""
        )
    except (OSError, subprocess.CalledProcessError):
        # A private copy (`git archive HEAD | tar -x`) may say its commit in a COMMIT file.
        marker = HERE.parent / "COMMIT"
        commit = marker.read_text().strip() if marker.exists() else "unknown commit"
        text += f"; agentkit at {commit} (a copy in {HERE.parent}, not a git checkout)"
    return text


if __name__ == "__main__":
    main()
