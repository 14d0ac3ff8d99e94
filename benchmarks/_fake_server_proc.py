"""A loopback fake Claude in its own process, for benchmarks that measure client CPU.

Usage: `python benchmarks/_fake_server_proc.py` prints its URL, then answers commands on stdin:
`count` prints how many TCP connections it has accepted; EOF stops it.

The script: a request whose system prompt contains `rounds=N` gets a `tool_use` of `add` until
the messages after the last prompt (the last user message without a tool result) hold N - 1 tool
results, then the text answer `ANSWER`: N turns, N - 1 tool calls. Counting from the last prompt
lets a conversation continue a long prebuilt history for several turns. Every tool result after
the prompt is checked: the i-th must be `str(i + 1)` (the sum `add(a=i, b=1)` returns) and not an
error, else the answer is `bad tool result ...`, so a client whose tool never ran (a wrong name, a
failed call) fails its own check on the final text instead of printing a figure. Stateless, so
any number of concurrent conversations can run against one server. Thinking signatures are not
checked (benchmarks send a prebuilt history).
"""

from __future__ import annotations

import re
import sys
from typing import Any

from agentkit.testing import FakeClaude, FakeServer, Reply

_ROUNDS = re.compile(r"rounds=(\d+)")


ANSWER = "The sum is done."


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(b.get("text", "") for b in content if isinstance(b, dict))
    return repr(content)


def respond(body: dict[str, Any]) -> Reply:
    system = body.get("system") or ""
    text = system if isinstance(system, str) else " ".join(b.get("text", "") for b in system)
    match = _ROUNDS.search(text)
    rounds = int(match.group(1)) if match else 1
    messages = body["messages"]
    results: list[dict[str, Any]] = []
    for message in messages:
        if message["role"] != "user":
            continue
        content = message["content"]
        blocks = (
            [b for b in content if b.get("type") == "tool_result"]
            if isinstance(content, list)
            else []
        )
        if blocks:
            results += blocks
        else:
            results = []  # a new prompt: count from here
    for i, result in enumerate(results):
        got = _text_of(result.get("content"))
        if result.get("is_error") or got != str(i + 1):
            return Reply.text(f"bad tool result {i}: {got[:200]!r}")
    done = len(results)
    if done < rounds - 1:
        return Reply.tool_use("add", {"a": done, "b": 1})
    return Reply.text(ANSWER)


class CountingServer(FakeServer):
    connections = 0

    async def _connection(self, stream: Any) -> None:
        CountingServer.connections += 1
        await super()._connection(stream)


def main() -> None:
    fake = FakeClaude(respond, check_thinking=False)
    fake.context_window = 10_000_000
    with CountingServer(fake) as server:
        print(server.url, flush=True)
        for line in sys.stdin:
            if line.strip() == "count":
                print(CountingServer.connections, flush=True)


if __name__ == "__main__":
    main()
