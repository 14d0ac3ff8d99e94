"""Client CPU per turn of a tool loop against a loopback fake Claude in another process.

Each scenario runs in its own subprocess (so CPU time and peak memory are its own) and the
fake server runs in a third process (so its CPU is not counted). Compared, on the same server:

- raw httpx loop (the floor): post JSON, parse, run the tool, append; sync and async twins;
- agentkit's Agent, sync and async;
- the official SDK's `tool_runner` and pydantic-ai's `Agent`, when installed in
  benchmarks/.venv-bench (`python -m venv benchmarks/.venv-bench && benchmarks/.venv-bench/bin/pip
  install -e . anthropic==0.121.0`, and pydantic-ai-slim[anthropic] in benchmarks/.venv-pydantic-ai;
  0.121.0 is the last SDK whose tool_runner resends the history; 2.x keeps it in server threads);
- per-turn CPU after a 200-turn, ~1.3 MB history (thinking and tool results included);
- 500 and 2,000 concurrent async conversations x 5 turns: CPU per turn, connections, peak RSS.

Run: `python benchmarks/bench_runner.py [--quick]`.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
MODEL = "claude-haiku-4-5"
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
HEADERS = {"x-api-key": "bench", "anthropic-version": "2023-06-01"}


def add(a: int, b: int) -> int:
    """Add two integers.

    Args:
        a: The first number.
        b: The second number.
    """
    return a + b


# -- raw loops (the floor) ------------------------------------------------------------------------


def raw_sync(url: str, rounds: int, history: list[dict[str, Any]] | None = None) -> int:
    import httpx

    messages: list[dict[str, Any]] = [*(history or []), {"role": "user", "content": "go"}]
    turns = 0
    with httpx.Client(base_url=url, headers=HEADERS, timeout=600) as client:
        while True:
            body = {"model": MODEL, "max_tokens": 1024, "system": f"rounds={rounds}",
                    "tools": TOOLS, "messages": messages}  # fmt: skip
            message = client.post("/v1/messages", json=body).json()
            turns += 1
            messages.append({"role": "assistant", "content": message["content"]})
            if message["stop_reason"] != "tool_use":
                return turns
            results = [
                {"type": "tool_result", "tool_use_id": b["id"], "content": str(add(**b["input"]))}
                for b in message["content"]
                if b["type"] == "tool_use"
            ]
            messages.append({"role": "user", "content": results})


async def raw_async_one(client: Any, rounds: int) -> int:
    messages: list[dict[str, Any]] = [{"role": "user", "content": "go"}]
    turns = 0
    while True:
        body = {"model": MODEL, "max_tokens": 1024, "system": f"rounds={rounds}",
                "tools": TOOLS, "messages": messages}  # fmt: skip
        response = await client.post("/v1/messages", json=body)
        message = response.json()
        turns += 1
        messages.append({"role": "assistant", "content": message["content"]})
        if message["stop_reason"] != "tool_use":
            return turns
        results = [
            {"type": "tool_result", "tool_use_id": b["id"], "content": str(add(**b["input"]))}
            for b in message["content"]
            if b["type"] == "tool_use"
        ]
        messages.append({"role": "user", "content": results})


# -- agentkit ------------------------------------------------------------------------------------


def agentkit_agent(url: str, rounds: int, *, sync: bool, http_client: Any = None) -> Any:
    import agentkit

    client: Any = (
        agentkit.Client(api_key="bench", base_url=url)
        if sync
        else agentkit.AsyncClient(api_key="bench", base_url=url, http_client=http_client)
    )
    return agentkit.Agent(
        MODEL,
        tools=[agentkit.tool(add)],
        client=client,
        max_tokens=1024,
        system=f"rounds={rounds}",
        limits=agentkit.Limits(max_turns=None),
    )


def big_history() -> list[dict[str, Any]]:
    """200 turns, ~1.3 MB: thinking with signatures, tool calls, 3 KB tool results."""
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


# -- scenarios (each runs in its own process) -----------------------------------------------------


def scenario(name: str, url: str, runs: int) -> dict[str, Any]:
    rounds = 20
    turns = 0
    extra: dict[str, Any] = {}
    # Every scenario warms up first (imports, connection, first-call caches), then measures.
    if name == "raw-sync":
        raw_sync(url, rounds)
        start_cpu, start_wall = time.process_time(), time.perf_counter()
        for _ in range(runs):
            turns += raw_sync(url, rounds)
    elif name == "agentkit-sync":
        agent = agentkit_agent(url, rounds, sync=True)
        agent.run("go")
        start_cpu, start_wall = time.process_time(), time.perf_counter()
        for _ in range(runs):
            turns += agent.run("go").turns
    elif name in ("raw-async", "agentkit-async"):
        import anyio
        import httpx

        async def main() -> tuple[int, float, float]:
            if name == "raw-async":
                async with httpx.AsyncClient(base_url=url, headers=HEADERS, timeout=600) as c:
                    await raw_async_one(c, rounds)
                    cpu, wall = time.process_time(), time.perf_counter()
                    return sum([await raw_async_one(c, rounds) for _ in range(runs)]), cpu, wall
            agent = agentkit_agent(url, rounds, sync=False)
            await agent.arun("go")
            cpu, wall = time.process_time(), time.perf_counter()
            return sum([(await agent.arun("go")).turns for _ in range(runs)]), cpu, wall

        turns, start_cpu, start_wall = anyio.run(main)
    elif name.startswith("history-"):
        history = big_history()
        size = len(json.dumps(history))
        extra["history_bytes"] = size
        if name == "history-raw":
            raw_sync(url, 3)
            start_cpu, start_wall = time.process_time(), time.perf_counter()
            for _ in range(runs):
                turns += raw_sync(url, 3, history)
        else:
            import agentkit

            agent = agentkit_agent(url, 3, sync=True)
            conversation = agentkit.Conversation(history)
            agent.run("go")
            start_cpu, start_wall = time.process_time(), time.perf_counter()
            for _ in range(runs):
                turns += agent.run("go", conversation=conversation.fork()).turns
    elif name.startswith("concurrent-"):
        import anyio
        import httpx

        _, kind, count_s = name.split("-")
        count = int(count_s)

        async def many() -> tuple[int, float, float]:
            total = 0

            async def one_raw(c: Any) -> None:
                nonlocal total
                turns = await raw_async_one(c, 5)
                total += turns

            if kind == "raw":
                async with httpx.AsyncClient(base_url=url, headers=HEADERS, timeout=600) as c:
                    await raw_async_one(c, 1)
                    total = 0
                    cpu, wall = time.process_time(), time.perf_counter()
                    async with anyio.create_task_group() as tg:
                        for _ in range(count):
                            tg.start_soon(one_raw, c)
                return total, cpu, wall
            import agentkit

            http = agentkit.DefaultAioHttpClient() if kind == "aiohttp" else None
            agent = agentkit_agent(url, 5, sync=False, http_client=http)
            await agent.arun("go")
            cpu, wall = time.process_time(), time.perf_counter()

            async def one_agent() -> None:
                nonlocal total
                turns = (await agent.arun("go")).turns
                total += turns

            async with anyio.create_task_group() as tg:
                for _ in range(count):
                    tg.start_soon(one_agent)
            if http is not None:
                await http.aclose()
            return total, cpu, wall

        turns, start_cpu, start_wall = anyio.run(many)
    elif name == "sdk-tool-runner":
        import anthropic
        from anthropic import beta_tool

        def add_text(a: int, b: int) -> str:
            """Add two integers (the SDK's tools return text).

            Args:
                a: The first number.
                b: The second number.
            """
            return str(a + b)

        sdk_add = beta_tool(add_text)
        client = anthropic.Anthropic(api_key="bench", base_url=url)
        start_cpu, start_wall = time.process_time(), time.perf_counter()
        for _ in range(runs):
            runner = client.beta.messages.tool_runner(
                model=MODEL, max_tokens=1024, system=f"rounds={rounds}", tools=[sdk_add],
                messages=[{"role": "user", "content": "go"}],
            )  # fmt: skip
            turns += sum(1 for _ in runner)
    elif name == "pydantic-ai":
        from pydantic_ai import Agent
        from pydantic_ai.models.anthropic import AnthropicModel
        from pydantic_ai.providers.anthropic import AnthropicProvider

        model = AnthropicModel(MODEL, provider=AnthropicProvider(api_key="bench", base_url=url))
        agent = Agent(model, tools=[add], system_prompt=f"rounds={rounds}")
        agent.run_sync("go")
        start_cpu, start_wall = time.process_time(), time.perf_counter()
        for _ in range(runs):
            result = agent.run_sync("go")
            turns += sum(1 for m in result.all_messages() if m.kind == "response")
    else:
        raise SystemExit(f"unknown scenario {name}")
    cpu = time.process_time() - start_cpu
    wall = time.perf_counter() - start_wall
    return {
        "scenario": name,
        "turns": turns,
        "cpu_ms_per_turn": 1000 * cpu / max(turns, 1),
        "wall_s": wall,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        **extra,
    }


def run_scenario(name: str, url: str, runs: int, python: str) -> dict[str, Any] | None:
    proc = subprocess.run(
        [python, __file__, "--scenario", name, "--url", url, "--runs", str(runs)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(HERE.parent)},
    )
    if proc.returncode != 0:
        print(f"  {name}: failed: {proc.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
        return None
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scenario")
    parser.add_argument("--url")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", help="comma-separated scenario name prefixes to run")
    args = parser.parse_args()
    if args.scenario:
        print(json.dumps(scenario(args.scenario, args.url, args.runs)))
        return

    server = subprocess.Popen(
        [sys.executable, str(HERE / "_fake_server_proc.py")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(HERE.parent)},
    )
    assert server.stdout is not None and server.stdin is not None
    url = server.stdout.readline().strip()

    def connections() -> int:
        assert server.stdin is not None and server.stdout is not None
        server.stdin.write("count\n")
        server.stdin.flush()
        return int(server.stdout.readline())

    bench_python = HERE / ".venv-bench" / "bin" / "python"
    runs = 3 if args.quick else 10
    plan: list[tuple[str, int, str]] = [
        ("raw-sync", runs, sys.executable),
        ("agentkit-sync", runs, sys.executable),
        ("raw-async", runs, sys.executable),
        ("agentkit-async", runs, sys.executable),
        ("history-raw", 2, sys.executable),
        ("history-agentkit", 2, sys.executable),
    ]
    if bench_python.exists():
        plan.append(("sdk-tool-runner", runs, str(bench_python)))
    pai_python = HERE / ".venv-pydantic-ai" / "bin" / "python"
    if pai_python.exists():
        plan.append(("pydantic-ai", runs, str(pai_python)))
    sizes = [500] if args.quick else [500, 2000]
    for size in sizes:
        plan += [
            (f"concurrent-{kind}-{size}", 1, sys.executable)
            for kind in ("raw", "agentkit", "aiohttp")
        ]
    if args.only:
        prefixes = tuple(args.only.split(","))
        plan = [p for p in plan if p[0].startswith(prefixes)]
    rows = []
    try:
        for name, n, python in plan:
            before = connections()
            result = run_scenario(name, url, n, python)
            if result is not None:
                result["connections"] = connections() - before
                rows.append(result)
                print(f"  done {name}", file=sys.stderr)
    finally:
        server.stdin.close()
        server.wait(timeout=30)

    floors = {"sync": None, "async": None}
    for r in rows:
        if r["scenario"] == "raw-sync":
            floors["sync"] = r["cpu_ms_per_turn"]
        if r["scenario"] == "raw-async":
            floors["async"] = r["cpu_ms_per_turn"]
    print()
    print(f"{'scenario':28} {'turns':>6} {'CPU ms/turn':>12} {'x raw':>7} {'wall s':>8} "
          f"{'conns':>6} {'peak MB':>8}")  # fmt: skip
    for r in rows:
        name = r["scenario"]
        floor = floors["async"] if "async" in name else floors["sync"]
        ratio = ""
        if name.startswith(("history-", "concurrent-")):
            raw_name = name.replace("agentkit", "raw").replace("aiohttp", "raw")
            twin = next((x for x in rows if x["scenario"] == raw_name and x is not r), None)
            if twin is not None and raw_name != name:
                ratio = f"{r['cpu_ms_per_turn'] / twin['cpu_ms_per_turn']:.2f}"
        elif floor and not name.startswith("raw"):
            ratio = f"{r['cpu_ms_per_turn'] / floor:.2f}"
        print(
            f"{name:28} {r['turns']:>6} {r['cpu_ms_per_turn']:>12.3f} {ratio:>7} "
            f"{r['wall_s']:>8.2f} {r['connections']:>6} {r['peak_rss_mb']:>8.1f}"
        )
    hist = next((r for r in rows if "history_bytes" in r), None)
    if hist:
        print(
            f"\nhistory size: {hist['history_bytes'] / 1e6:.2f} MB (JSON) before the measured turns"
        )
    print(
        "x raw: CPU per turn relative to the raw httpx loop of the same kind (sync/async/"
        "history/concurrency)."
    )


if __name__ == "__main__":
    main()
