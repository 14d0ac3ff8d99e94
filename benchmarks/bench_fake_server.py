"""Requests per second of the fake Claude, over loopback HTTP and in-process, JSON and SSE.

Run: python benchmarks/bench_fake_server.py [--requests N]

The loopback server runs in its own process (`python -m agentkit.testing.server`), so the figures
are what a test suite sees when it points a client at it. Each row is measured, not computed:
wall time for N requests of a one-turn text reply, sequentially with `httpx.Client` and with 32
concurrent requests over `httpx.AsyncClient`; then the in-process transport (no socket) and the
bare sans-IO `FakeClaude.handle` for comparison.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable

import anyio
import httpx

from agentkit.testing import FakeClaude, FakeRequest

BODY = {
    "model": "claude-sonnet-4-5",
    "max_tokens": 1024,
    "messages": [{"role": "user", "content": "Say hello in a sentence or two."}],
}
CONCURRENCY = 32

_FIXED = json.dumps({"type": "message", "content": [{"type": "text", "text": "Hello"}]}).encode()


async def _baseline_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    # The smallest keep-alive HTTP/1.1 server: one fixed JSON reply. A yardstick for the client
    # and the machine: the fake can only be "not the bottleneck" relative to this.
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
            writer.write(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s"
                % (len(_FIXED), _FIXED)
            )
    except (asyncio.IncompleteReadError, ConnectionError):
        writer.close()


async def _baseline_server() -> None:
    server = await asyncio.start_server(_baseline_connection, "127.0.0.1", 0)
    print(f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}", flush=True)
    await server.serve_forever()


def timed(run: Callable[[], None]) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def process_cpu(pid: int) -> float | None:
    """CPU seconds (user + system) a process has used, from /proc (Linux only)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def sequential(url: str, body: dict[str, object], n: int) -> float:
    with httpx.Client(base_url=url) as http:
        http.post("/v1/messages", json=body)  # warm the connection

        def run() -> None:
            for _ in range(n):
                response = http.post("/v1/messages", json=body)
                assert response.status_code == 200

        return timed(run)


def concurrent(url: str, body: dict[str, object], n: int) -> float:
    async def main() -> float:
        limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
        async with httpx.AsyncClient(base_url=url, limits=limits) as http:
            await http.post("/v1/messages", json=body)

            async def worker(count: int) -> None:
                for _ in range(count):
                    response = await http.post("/v1/messages", json=body)
                    assert response.status_code == 200

            started = time.perf_counter()
            async with anyio.create_task_group() as tg:
                for _ in range(CONCURRENCY):
                    tg.start_soon(worker, n // CONCURRENCY)
            return time.perf_counter() - started

    return anyio.run(main)


def in_process(body: dict[str, object], n: int) -> float:
    with FakeClaude().http_client() as http:

        def run() -> None:
            for _ in range(n):
                http.post("/v1/messages", json=body)

        return timed(run)


def sans_io(body: dict[str, object], n: int) -> float:
    fake = FakeClaude()
    request = FakeRequest.build("POST", "/v1/messages", content=json.dumps(body).encode())
    return timed(lambda: [fake.handle(request) for _ in range(n)] and None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=640)
    parser.add_argument("--baseline-server", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.baseline_server:
        asyncio.run(_baseline_server())
        return
    n = args.requests // CONCURRENCY * CONCURRENCY
    rows: list[tuple[str, str, str, float, float | None, float | None]] = []
    fake_server = [sys.executable, "-m", "agentkit.testing.server", "--port", "0"]
    baseline = [sys.executable, __file__, "--baseline-server"]
    both = (("JSON", BODY), ("SSE", {**BODY, "stream": True}))
    for name, command, bodies in (
        ("fake server", fake_server, both),
        ("baseline asyncio server", baseline, both[:1]),
    ):
        with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as server:
            try:
                assert server.stdout is not None
                url = server.stdout.readline().strip()
                for kind, body in bodies:
                    for client, conc, run in (
                        ("httpx.Client", "1", sequential),
                        ("httpx.AsyncClient", str(CONCURRENCY), concurrent),
                    ):
                        server_before = process_cpu(server.pid)
                        client_before = time.process_time()
                        seconds = run(url, body, n)
                        client_cpu = time.process_time() - client_before
                        server_after = process_cpu(server.pid)
                        server_cpu = (
                            None
                            if server_before is None or server_after is None
                            else server_after - server_before
                        )
                        rows.append(
                            (f"{name}, {client}", kind, conc, seconds, server_cpu, client_cpu)
                        )
            finally:
                server.terminate()
                server.wait()
    for kind, body in both:
        before = time.process_time()
        seconds = in_process(body, n)
        cpu = time.process_time() - before
        rows.append(("in-process transport, httpx.Client", kind, "1", seconds, None, cpu))
        before = time.process_time()
        seconds = sans_io(body, n)
        cpu = time.process_time() - before
        rows.append(("sans-IO FakeClaude.handle", kind, "1", seconds, None, cpu))

    def ms(cpu: float | None) -> str:
        return "-" if cpu is None else f"{cpu / n * 1000:.3f}"

    print(f"fake Claude throughput, {n} requests per row (one-turn text reply)")
    print("server/client ms: CPU per request of the server process / of this (client) process")
    header = f"{'path':<44} {'body':<5} {'conc':>4} {'seconds':>8} {'req/s':>7}"
    print(f"{header} {'server ms':>9} {'client ms':>9}")
    for path, kind, conc, seconds, server_cpu, client_cpu in rows:
        line = f"{path:<44} {kind:<5} {conc:>4} {seconds:>8.2f} {n / seconds:>7.0f}"
        print(f"{line} {ms(server_cpu):>9} {ms(client_cpu):>9}")
    print(f"machine load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
