"""agentkit.web under load: many concurrent chats on one server process, against the fake on
loopback.

    python benchmarks/bench_web.py [--chats 500] [--turns 3] [--store sqlite|memory]

Three processes: a loopback fake Claude (it answers each prompt with `echo: <prompt>`, streamed),
the web app served by uvicorn (one process, `create_app` on an agent with an `AsyncClient` to the
fake, conversations in SQLite or memory, owners from an `x-user` header), and this client, which
runs every chat at once, each one's turns one after another, as `useChat` would post them.

Checked, not assumed: every response is 200 with the UI message stream, ends with `finish` and
`[DONE]` and carries no `error` or `abort`; after the load, every chat's history (`GET
/api/chats/{id}`, as its owner) holds exactly its turns, in order, each answer the echo of its
own prompt (a lost or merged turn fails the run). Reported: time to the first text frame (p50,
p99: from sending the POST to reading the first `text-delta`), wall time, and the server
process's CPU per turn (its user + system time from /proc, Linux, over the load only).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _fake() -> None:
    from agentkit.testing import FakeClaude, FakeServer, Reply

    def echo(body: dict[str, Any]) -> Reply:
        content = body["messages"][-1]["content"]
        text = content if isinstance(content, str) else "".join(b.get("text", "") for b in content)
        return Reply.text(f"echo: {text}")

    fake = FakeClaude(echo, check_thinking=False)
    fake.context_window = 10_000_000
    with FakeServer(fake) as server:
        print(server.url, flush=True)
        sys.stdin.read()


def _serve(fake_url: str, port: int, store: str) -> None:
    import logging

    import uvicorn

    import agentkit
    from agentkit.web import create_app, store_from_url

    logging.getLogger("uvicorn.access").disabled = True
    client = agentkit.AsyncClient(api_key="bench", base_url=fake_url, max_retries=0)
    agent = agentkit.Agent("claude-sonnet-4-5", client=client, store=store_from_url(store))
    app = create_app(agent, owner=lambda request: request.headers.get("x-user"))
    # A long keep-alive: under this load the event loop lags by seconds, and uvicorn's default
    # (5 s) would close connections the client has just sent its next request on.
    uvicorn.run(
        app, host="127.0.0.1", port=port, log_level="warning", backlog=4096, timeout_keep_alive=75
    )


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _turn(http: Any, chat: str, text: str, ttft: list[float], errors: list[str]) -> None:
    message = {"id": "u", "role": "user", "parts": [{"type": "text", "text": text}]}
    body = {"id": chat, "messages": [message], "trigger": "submit-message"}
    start = time.perf_counter()
    first: float | None = None
    types: list[str] = []
    async with http.stream("POST", "/api/chat", json=body, headers={"x-user": chat}) as reply:
        if reply.status_code != 200:
            errors.append(f"{chat}: status {reply.status_code}: {(await reply.aread())[:200]!r}")
            return
        async for line in reply.aiter_lines():
            if not line.startswith("data: "):
                continue
            data = line[6:]
            if data == "[DONE]":
                types.append(data)
                continue
            kind = json.loads(data)["type"]
            types.append(kind)
            if kind == "text-delta" and first is None:
                first = time.perf_counter() - start
    if types[-2:] != ["finish", "[DONE]"] or "error" in types or "abort" in types:
        errors.append(f"{chat}: {types}")
    elif first is None:
        errors.append(f"{chat}: no text")
    else:
        ttft.append(first)


async def _chat(http: Any, chat: str, turns: int, ttft: list[float], errors: list[str]) -> None:
    for t in range(turns):
        try:
            await _turn(http, chat, f"{chat} turn {t}", ttft, errors)
        except Exception as exc:  # counted: a transport error is an error of the run
            errors.append(f"{chat} turn {t}: {exc!r} at {time.perf_counter():.3f}")


async def _check(http: Any, chat: str, turns: int) -> str | None:
    got = (await http.get(f"/api/chats/{chat}", headers={"x-user": chat})).json()
    said = [
        (m["role"], "".join(p.get("text", "") for p in m["parts"] if p["type"] == "text"))
        for m in got["messages"]
    ]
    want = []
    for t in range(turns):
        want += [("user", f"{chat} turn {t}"), ("assistant", f"echo: {chat} turn {t}")]
    return None if said == want else f"{chat}: history {said}"


async def _load(
    url: str, chats: int, turns: int, prefix: str = "chat"
) -> tuple[list[float], list[str], float]:
    import httpx

    # Idle connections expire well before the server closes them (after 75 s).
    limits = httpx.Limits(
        max_connections=chats + 10, max_keepalive_connections=chats + 10, keepalive_expiry=30
    )
    timeout = httpx.Timeout(120)
    ttft: list[float] = []
    errors: list[str] = []
    names = [f"{prefix}{i:04d}" for i in range(chats)]
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=timeout) as http:
        start = time.perf_counter()
        await asyncio.gather(*(_chat(http, n, turns, ttft, errors) for n in names))
        wall = time.perf_counter() - start
        checks = await asyncio.gather(*(_check(http, n, turns) for n in names))
    errors += [c for c in checks if c is not None]
    return ttft, errors, wall


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chats", type=int, default=500)
    parser.add_argument("--turns", type=int, default=3)
    parser.add_argument("--store", choices=["sqlite", "memory"], default="sqlite")
    args = parser.parse_args()

    python = sys.executable
    fake = subprocess.Popen(
        [python, __file__, "--fake"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert fake.stdout is not None
    fake_url = fake.stdout.readline().strip()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    folder = tempfile.mkdtemp(prefix="bench-web-")
    store = f"sqlite:///{folder}/chats.db" if args.store == "sqlite" else "memory://"
    server = subprocess.Popen([python, __file__, "--serve", fake_url, str(port), store])
    url = f"http://127.0.0.1:{port}"
    try:
        import httpx

        for _ in range(600):  # wait for the server to listen (at most a minute)
            try:
                httpx.get(url + "/api/info", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        asyncio.run(_load(url, 5, 1, "warmup"))  # warm up: imports, first connections
        cpu_before = _cpu_seconds(server.pid)
        ttft, errors, wall = asyncio.run(_load(url, args.chats, args.turns))
        cpu = _cpu_seconds(server.pid) - cpu_before
    finally:
        server.terminate()
        server.wait()
        fake.stdin.close()  # type: ignore[union-attr]
        fake.wait()
    turns = args.chats * args.turns
    load = os.getloadavg()[0]
    print(f"agentkit.web: {args.chats} concurrent chats x {args.turns} turns, one server process,")
    print(f"store {args.store}, fake Claude on loopback (load average {load:.2f})")
    print("| turns | errors, lost or merged turns | wall s | first text p50 ms | p99 ms |", end="")
    print(" server CPU ms/turn |")
    print("|---|---|---|---|---|---|")
    p50 = _percentile(ttft, 0.5) * 1000 if ttft else float("nan")
    p99 = _percentile(ttft, 0.99) * 1000 if ttft else float("nan")
    print(
        f"| {turns} | {len(errors)} | {wall:.1f} | {p50:.0f} | {p99:.0f} | "
        f"{cpu / turns * 1000:.2f} |"
    )
    for error in errors[:10]:
        print("ERROR", error[:300])
    if errors:
        sys.exit(1)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--fake"]:
        _fake()
    elif sys.argv[1:2] == ["--serve"]:
        _serve(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    else:
        main()
