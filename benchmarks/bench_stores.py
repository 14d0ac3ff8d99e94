"""Conversation stores and request building, measured.

    python benchmarks/bench_stores.py

1. Per store (memory, SQLite, PostgreSQL when a server is available): the latency of appending
   1,000 messages one step at a time, and the time to load the 1,000-message conversation.
2. Request building at turn 1 and turn 200 of a realistic agent history (~1.3 MB: thinking with
   signatures, text, tool calls and tool results): `Conversation.request_body` (spliced from the
   per-message bytes, with and without preflight) against `json.dumps` of the whole body.

PostgreSQL comes from AGENTKIT_TEST_POSTGRES_DSN, or from a server `scripts/postgres` already
started (the benchmark does not start one). That test server runs with fsync off.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agentkit import Conversation  # noqa: E402
from agentkit.conversation import Entry  # noqa: E402
from agentkit.stores import ConversationStore, MemoryStore, PostgresStore, SQLiteStore  # noqa: E402

PARAMS: dict[str, Any] = {
    "model": "claude-sonnet-4-5",
    "max_tokens": 16000,
    "thinking": {"type": "enabled", "budget_tokens": 8000},
    "system": [{"type": "text", "text": "You are a careful coding agent. " * 40}],
    "tools": [
        {
            "name": f"tool_{i}",
            "description": "Does a thing with a path and options. " * 5,
            "input_schema": {
                "type": "object",
                "properties": {"path": {"type": "string"}, "options": {"type": "object"}},
                "required": ["path"],
            },
        }
        for i in range(12)
    ],
}


def _words(n: int, seed: int) -> str:
    vocab = "the model reads a file then edits the function and runs tests again".split()
    return " ".join(vocab[(seed + i * 7) % len(vocab)] for i in range(n))


def turn(n: int) -> list[dict[str, Any]]:
    """One agent turn: the assistant thinks, says something, calls a tool; the user answers."""
    call_id = f"toolu_{n:05d}_{uuid.UUID(int=n).hex[:12]}"
    assistant = {
        "role": "assistant",
        "content": [
            {"type": "thinking", "thinking": _words(370, n), "signature": "Eq" + "x9Zk" * 90},
            {"type": "text", "text": _words(120, n + 1)},
            {
                "type": "tool_use",
                "id": call_id,
                "name": f"tool_{n % 12}",
                "input": {"path": f"src/module_{n}.py", "options": {"line": n, "dry": False}},
            },
        ],
    }
    result = {
        "role": "user",
        "content": [{"type": "tool_result", "tool_use_id": call_id, "content": _words(600, n + 2)}],
    }
    return [assistant, result]


def history(turns: int) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = [{"role": "user", "content": "Fix the failing tests."}]
    for n in range(turns):
        messages.extend(turn(n))
    return messages


def timed(func: Callable[[], Any], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        out.append(time.perf_counter() - start)
    return out


def ms(seconds: float) -> str:
    return f"{seconds * 1000:9.3f}"


def postgres_dsn() -> str | None:
    dsn = os.environ.get("AGENTKIT_TEST_POSTGRES_DSN")
    if dsn:
        return dsn
    script = ROOT / "scripts" / "postgres"
    status = subprocess.run([str(script), "status"], capture_output=True, check=False)
    folder = subprocess.run([str(script), "dir"], capture_output=True, text=True, check=False)
    dsn_file = Path(folder.stdout.strip()) / "dsn"
    if status.returncode == 0 and folder.stdout.strip() and dsn_file.exists():
        return dsn_file.read_text().strip()
    return None


def bench_store(name: str, store: ConversationStore, rows: list[list[str]]) -> None:
    messages = history(500)[:1000]
    entries = [Entry.of(m) for m in messages]
    conversation = Conversation(id=f"bench-{uuid.uuid4().hex}")
    store.create(conversation)
    version = 0
    latencies = []
    for entry in entries:
        start = time.perf_counter()
        version = store.append(conversation.id, [entry], expected_version=version)
        latencies.append(time.perf_counter() - start)
    loads = timed(lambda: store.load(conversation.id), 5)
    size = sum(len(e.raw) for e in entries)
    latencies.sort()
    rows.append(
        [
            name,
            ms(statistics.mean(latencies)),
            ms(latencies[len(latencies) // 2]),
            ms(latencies[int(len(latencies) * 0.99)]),
            ms(min(loads)),
            f"{size / 1e6:6.2f} MB",
        ]
    )
    store.delete(conversation.id)


def bench_requests() -> list[list[str]]:
    rows = []
    for turns in (1, 200):
        messages = history(turns)[:-1]  # ends with the assistant asking for a tool ...
        messages.append(turn(turns - 1)[1])  # ... answered by the user: a request is due
        messages[-2] = turn(turns - 1)[0]
        conversation = Conversation(messages)
        size = len(conversation.request_body(PARAMS))
        repeat = 200 if turns == 1 else 30
        spliced = min(timed(lambda c=conversation: c.request_body(PARAMS), repeat))
        # The first request of a freshly loaded conversation: preflight sees every turn once.
        entries = list(conversation.entries)
        cold = []
        for _ in range(5):
            fresh = Conversation.from_entries(entries, id="cold")
            cold += timed(lambda c=fresh: c.request_body(PARAMS), 1)
        unchecked = min(timed(lambda c=conversation: c.request_body(PARAMS, check=False), repeat))
        body = {**PARAMS, "cache_control": {"type": "ephemeral"}, "messages": messages}
        naive = min(timed(lambda b=body: json.dumps(b).encode(), repeat))
        append = min(timed(lambda m=messages[-1]: Entry.of(m), repeat))
        rows.append(
            [
                f"turn {turns}",
                f"{len(messages):5d}",
                f"{size / 1e6:6.2f} MB",
                ms(spliced),
                ms(min(cold)),
                ms(unchecked),
                ms(naive),
                f"{naive / unchecked:6.1f}x",
                ms(append),
            ]
        )
    return rows


def table(headers: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(h), *(len(r[i].strip()) for r in rows)) for i, h in enumerate(headers)]
    print("  ".join(h.rjust(w) for h, w in zip(headers, widths, strict=True)))
    for row in rows:
        print("  ".join(c.strip().rjust(w) for c, w in zip(row, widths, strict=True)))


def main() -> None:
    store_rows: list[list[str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        bench_store("memory", MemoryStore(), store_rows)
        sqlite = SQLiteStore(Path(tmp) / "bench.db")
        bench_store("sqlite (WAL, synchronous=FULL)", sqlite, store_rows)
        sqlite.close()
        fast = SQLiteStore(Path(tmp) / "bench-normal.db", durable=False)
        bench_store("sqlite (WAL, synchronous=NORMAL)", fast, store_rows)
        fast.close()
    dsn = postgres_dsn()
    if dsn:
        pg = PostgresStore(dsn)
        bench_store("postgres (local, fsync off)", pg, store_rows)
        pg.close()
    print("Appending 1,000 messages one step at a time, then loading them (times in ms)")
    table(["store", "append mean", "p50", "p99", "load 1,000", "stored"], store_rows)
    if not dsn:
        print("postgres: skipped (set AGENTKIT_TEST_POSTGRES_DSN or run scripts/postgres)")
    print()
    print("Building a request body (best of N, ms); preflight on unless noted. request_body:")
    print("a conversation that has built requests before (preflight checks new turns only)")
    table(
        [
            "at",
            "msgs",
            "body",
            "request_body",
            "first after load",
            "no preflight",
            "json.dumps",
            "dumps/spliced",
            "encode 1 msg",
        ],
        bench_requests(),
    )


if __name__ == "__main__":
    main()
