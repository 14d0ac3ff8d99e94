"""One agentkit loop of `bench_runner.py` for a sampling profiler, and a summary of its profile.

`bench_runner.py` measures; this script is what a profiler watches: N conversations of the
20-round tool loop against the loopback fake, in one process (`--mode sync`: `Agent.run` with a
sync tool; `async`, `async-tool`; `raw-sync`, `raw-async`: the hand-written httpx loops;
`client`, `client-unpaced`: the raw sync loop on agentkit's `Client`, with and without pacing).
It prints the loop's CPU per turn. With
py-spy (not a dependency: `pip install py-spy` anywhere):

    py-spy record -r 1000 --gil -f raw -o run.raw --threads -- \\
        python benchmarks/profile_loop.py --mode sync -n 60
    python benchmarks/profile_loop.py --summarize run.raw

`--gil` keeps only samples that hold the GIL, i.e. CPU work, not waiting. The summary counts the
samples inside `Agent.run` by what they were doing, then lists the top functions outside httpx,
httpcore and h11 (inclusive): where agentkit's own cost is.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import gc
import os
import re
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

# (category, a function name that puts a sample in it), first match wins.
CATEGORIES = [
    ("httpx/httpcore/h11 (the raw loop pays this too)", ("httpx/", "httpcore/", "h11/")),
    ("response parse + validate", ("model_parser",)),
    ("preflight (check_request)", ("check_request",)),
    ("request body splice (without preflight)", ("Conversation.request_body",)),
    ("tool call (flow, validation, result, journal)", ("_tools_here",)),
    ("appending the reply (Entry, usage, cost)", ("Transcript.append_reply",)),
    ("agentkit request building around httpx.Request", ("BaseClient._build_request",)),
    ("agentkit send loop (retry controller, in-flight limit)", ("Client.send (agentkit",)),
]


def _name(frame: str) -> str:
    frame = re.sub(r"/[^ ]*/(site-packages|lib/python3\.\d+|agentkit)/", r"\1/", frame)
    return re.sub(r":\d+\)$", ")", frame)


def summarize(path: str, top: int) -> None:
    inclusive: collections.Counter[str] = collections.Counter()
    kinds: collections.Counter[str] = collections.Counter()
    total = 0
    for line in Path(path).read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = [_name(f) for f in stack.split(";")]
        if not any(f.startswith("Agent.run ") for f in frames):
            continue
        n = int(count)
        total += n
        for frame in dict.fromkeys(frames):
            inclusive[frame] += n
        for label, marks in CATEGORIES:
            if any(mark in f for f in frames for mark in marks):
                kinds[label] += n
                break
        else:
            kinds["the loop, hooks, events and the rest"] += n
    print(f"samples inside Agent.run: {total}")
    for label, n in kinds.most_common():
        print(f"{100 * n / total:5.1f}%  {label}")
    print("\ntop functions inside Agent.run, outside httpx/httpcore/h11 (inclusive):")
    shown = 0
    skip = ("thread (", "<module>", "Agent.run ", "run ", "main ", "agentkit_loop")
    for frame, n in inclusive.most_common():
        if frame.startswith(skip) or any(m in frame for m in CATEGORIES[0][1]):
            continue
        print(f"{100 * n / total:5.1f}%  {frame}")
        shown += 1
        if shown == top:
            break


def client_loop(url: str, system: str, *, paced: bool) -> Any:
    """The raw sync loop with agentkit's `Client` in place of httpx (`client.messages.create`,
    a validated `Message` per response), with or without rate-limit pacing: what the client
    layer costs apart from the agent's."""
    import bench_runner as br

    from agentkit import Client

    client = Client(api_key="bench", base_url=url, rate_limiter=None if paced else False)

    def run(messages: list[Any]) -> tuple[str, int, int]:
        turns = calls = 0
        while True:
            message = client.messages.create(
                model=br.MODEL, max_tokens=1024, system=system, tools=br.TOOLS, messages=messages
            )
            turns += 1
            content: Any = (message.as_received() or {})["content"]
            messages.append({"role": "assistant", "content": content})
            if message.stop_reason != "tool_use":
                return br._text(content), turns, calls
            results = br._tool_results(content)
            calls += len(results)
            messages.append({"role": "user", "content": results})

    return br.Loop(br._start(None), run, client.close)


def run(mode: str, conversations: int) -> None:
    import bench_runner as br

    fake = br.FakeServerProcess()
    try:
        system = "rounds=20"
        if mode == "raw-sync":
            loop = br.raw_sync(fake.url, system, None, "httpx")
        elif mode == "raw-async":
            loop = br.raw_async(fake.url, system, None, "httpx")
        elif mode in ("client", "client-unpaced"):
            loop = client_loop(fake.url, system, paced=mode == "client")
        else:
            sync, async_tool = mode == "sync", mode == "async-tool"
            loop = br.agentkit_loop(fake.url, system, None, sync=sync, async_tool=async_tool)
        if mode in ("async", "async-tool", "raw-async"):

            async def main() -> tuple[os.times_result, os.times_result]:
                await loop.run(loop.prepare())
                gc.collect()  # see below
                start = os.times()
                for _ in range(conversations):
                    await loop.run(loop.prepare())
                end = os.times()
                await loop.close()
                return start, end

            start, end = asyncio.run(main())
        else:
            loop.run(loop.prepare())
            # The process's first full collection (owed by the imports, ~16 M instructions)
            # happens here, not among the measured turns: else whether `icount`'s larger run
            # holds it (async-tool's did: +0.16 M a turn) depends on how many objects start-up
            # made, not on the turns' own work.
            gc.collect()
            start = os.times()
            for _ in range(conversations):
                loop.run(loop.prepare())
            end = os.times()
            loop.close()
        turns = conversations * 20
        user, system = (end.user - start.user) / turns, (end.system - start.system) / turns
        print(
            f"{mode}: {1000 * (user + system):.3f} ms CPU per turn "
            f"({1000 * user:.3f} user, {1000 * system:.3f} system)"
        )
    finally:
        fake.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    modes = ["sync", "async", "async-tool", "raw-sync", "raw-async", "client", "client-unpaced"]
    parser.add_argument("--mode", choices=modes, default="sync")
    parser.add_argument("-n", type=int, default=60, help="conversations")
    parser.add_argument("--summarize", help="a py-spy raw profile to summarize instead")
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()
    if args.summarize:
        summarize(args.summarize, args.top)
    else:
        run(args.mode, args.n)


if __name__ == "__main__":
    main()
