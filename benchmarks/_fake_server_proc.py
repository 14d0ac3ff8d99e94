"""A loopback fake Claude in its own process, for benchmarks that measure client CPU.

Usage: `python benchmarks/_fake_server_proc.py` prints its URL, then answers commands on stdin:
`count` prints how many TCP connections it has accepted; EOF stops it.

The script: a request whose system prompt contains `rounds=N` gets a `tool_use` of `add` until
its messages hold N tool results, then a text answer. Stateless, so any number of concurrent
conversations can run against one server. Thinking signatures are not checked (benchmarks send
a prebuilt history).
"""

from __future__ import annotations

import re
import sys
from typing import Any

from agentkit.testing import FakeClaude, FakeServer, Reply

_ROUNDS = re.compile(r"rounds=(\d+)")


def respond(body: dict[str, Any]) -> Reply:
    system = body.get("system") or ""
    text = system if isinstance(system, str) else " ".join(b.get("text", "") for b in system)
    match = _ROUNDS.search(text)
    rounds = int(match.group(1)) if match else 1
    done = sum(
        1
        for m in body["messages"]
        if m["role"] == "user"
        and isinstance(m["content"], list)
        and any(b.get("type") == "tool_result" for b in m["content"])
    )
    if done < rounds - 1:
        return Reply.tool_use("add", {"a": done, "b": 1})
    return Reply.text("The sum is done.")


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
