"""Benchmark streaming: SSE throughput and client CPU per 1,000 events, against a floor.

One synthetic stream -- ~5,000 text deltas, then a tool input in ~500 `input_json_delta`
fragments, with the API's whitespace padding and pings -- is served from memory through an
httpx transport, the same bytes for every contender:

- floor: a minimal raw-httpx loop (`iter_lines`, then parse each `data:` line's JSON);
- agentkit raw `Stream` (events as dicts);
- agentkit `MessageStream`: typed events + final message; `text_stream`; `get_final_message()` only;
- the official SDK's `MessageStream`, when `anthropic` is importable (install it only in a
  benchmark venv: `python -m venv benchmarks/.venv-bench && benchmarks/.venv-bench/bin/pip
  install -e . anthropic`, then run this script with that venv's python).

Run: python benchmarks/bench_sse.py [--runs N]
"""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import httpx
from pydantic_core import from_json

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agentkit.streaming import MessageStream, Stream

URL = "https://api.anthropic.com/v1/messages"
WORDS = (
    "the of and a to in is you that it he was for on are as with his they I at be this have "
    "from or one had by word but not what all were we when your can said there use an each "
    "which she do how their if will up other about out many then them these so some her would "
    "make like him into time has look two more write go see number no way could people my than "
    "first water been call who oil its now find long down day did get come made may part über "
    "café naïve 東京 — “quoted” résumé"
).split()


def build_stream(text_deltas: int = 5000, json_fragments: int = 500, seed: int = 7) -> bytes:
    """Realistic SSE bytes: event + data lines, padding spaces before the closing brace."""
    rng = random.Random(seed)
    out: list[bytes] = []

    def emit(event: dict[str, Any]) -> None:
        body = json.dumps(event, separators=(",", ":"), ensure_ascii=False)
        pad = " " * rng.randint(0, 14)  # the API pads data lines like this (see the recordings)
        out.append(f"event: {event['type']}\ndata: {body[:-1]}{pad}}}\n\n".encode())

    emit(
        {
            "type": "message_start",
            "message": {
                "model": "claude-sonnet-4-5-20250929",
                "id": "msg_01BenchBenchBenchBenchBench",
                "type": "message",
                "role": "assistant",
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {
                    "input_tokens": 1200,
                    "cache_creation_input_tokens": 0,
                    "cache_read_input_tokens": 0,
                    "cache_creation": {
                        "ephemeral_5m_input_tokens": 0,
                        "ephemeral_1h_input_tokens": 0,
                    },
                    "output_tokens": 1,
                    "service_tier": "standard",
                },
            },
        }
    )
    emit({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}})
    out.append(b'event: ping\ndata: {"type": "ping"}\n\n')
    for _ in range(text_deltas):
        text = " " + " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 5)))
        emit(
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "text_delta", "text": text},
            }
        )
    emit({"type": "content_block_stop", "index": 0})
    tool_input = {
        "path": "notes/summary.md",
        "content": " ".join(rng.choice(WORDS) for _ in range(1500)),
        "tags": [rng.choice(WORDS) for _ in range(40)],
        "overwrite": True,
    }
    emit(
        {
            "type": "content_block_start",
            "index": 1,
            "content_block": {
                "type": "tool_use",
                "id": "toolu_01BenchBenchBenchBench",
                "name": "write_file",
                "input": {},
            },
        }
    )
    text = json.dumps(tool_input, ensure_ascii=False)
    cuts = sorted(rng.sample(range(1, len(text)), json_fragments - 1))
    for start, end in zip([0, *cuts], [*cuts, len(text)], strict=True):
        emit(
            {
                "type": "content_block_delta",
                "index": 1,
                "delta": {"type": "input_json_delta", "partial_json": text[start:end]},
            }
        )
    emit({"type": "content_block_stop", "index": 1})
    emit(
        {
            "type": "message_delta",
            "delta": {"stop_reason": "tool_use", "stop_sequence": None},
            "usage": {
                "input_tokens": 1200,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0,
                "output_tokens": 9000,
            },
        }
    )
    emit({"type": "message_stop"})
    return b"".join(out)


def per_event_chunks(data: bytes) -> list[bytes]:
    """One chunk per event, as a live stream usually arrives."""
    return [part + b"\n\n" for part in data.split(b"\n\n") if part]


def fixed_chunks(data: bytes, size: int = 16384) -> list[bytes]:
    """Large chunks, as a fast connection or a replay delivers them."""
    return [data[i : i + size] for i in range(0, len(data), size)]


class _Chunks(httpx.SyncByteStream):
    def __init__(self, chunks: list[bytes]) -> None:
        self._chunks = chunks

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._chunks)


def make_client(chunks: list[bytes]) -> httpx.Client:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            headers={"content-type": "text/event-stream", "request-id": "req_bench"},
            stream=_Chunks(chunks),
        )

    return httpx.Client(transport=httpx.MockTransport(handler))


# --- contenders: each reads the whole stream once -------------------------------------------


def floor_json(client: httpx.Client) -> int:
    """The floor: split lines, `json.loads` each data line. Nothing else."""
    n = 0
    with client.stream("POST", URL, json={}) as response:
        for line in response.iter_lines():
            if line.startswith("data:"):
                json.loads(line[5:])
                n += 1
    return n


def floor_pydantic_core(client: httpx.Client) -> int:
    """The floor with pydantic-core's parser (the one agentkit uses)."""
    n = 0
    with client.stream("POST", URL, json={}) as response:
        for line in response.iter_lines():
            if line.startswith("data:"):
                from_json(line[5:])
                n += 1
    return n


def agentkit_raw(client: httpx.Client) -> int:
    with client.stream("POST", URL, json={}) as response:
        return sum(1 for _ in Stream(response))


def agentkit_events(client: httpx.Client) -> int:
    with client.stream("POST", URL, json={}) as response:
        stream = MessageStream(response)
        n = sum(1 for _ in stream)
        stream.get_final_message()
    return n


def agentkit_text_stream(client: httpx.Client) -> int:
    with client.stream("POST", URL, json={}) as response:
        stream = MessageStream(response)
        n = sum(1 for _ in stream.text_stream)
        stream.get_final_message()
    return n


def agentkit_final(client: httpx.Client) -> int:
    with client.stream("POST", URL, json={}) as response:
        message = MessageStream(response).get_final_message()
    return len(message.content)


def sdk_version() -> str:
    return str(importlib.import_module("anthropic").__version__)


def sdk_contender() -> Callable[[list[bytes]], Callable[[], int]] | None:
    """The official SDK's MessageStream over the same bytes, if `anthropic` is importable."""
    try:
        anthropic: Any = importlib.import_module("anthropic")
    except ImportError:
        return None
    # Use the httpx the SDK itself imports: anthropic 2.x ships a fork, httpx2, and rejects
    # objects from httpx; 0.x uses httpx.
    http: Any = importlib.import_module("anthropic._base_client").httpx

    def setup(chunks: list[bytes]) -> Callable[[], int]:
        class Chunks(http.SyncByteStream):  # type: ignore[misc]
            def __iter__(self) -> Iterator[bytes]:
                return iter(chunks)

        def handler(request: Any) -> Any:
            headers = {"content-type": "text/event-stream", "request-id": "req_bench"}
            return http.Response(200, headers=headers, stream=Chunks())

        client = http.Client(transport=http.MockTransport(handler))
        sdk = anthropic.Anthropic(api_key="bench", http_client=client, max_retries=0)
        messages: Any = [{"role": "user", "content": "hi"}]

        def run() -> int:
            with sdk.messages.stream(
                model="claude-sonnet-4-6", max_tokens=9000, messages=messages
            ) as stream:
                n = sum(1 for _ in stream)
                stream.get_final_message()
            return n

        return run

    return setup


# --- measuring --------------------------------------------------------------------------------


def measure(contenders: list[tuple[str, Callable[[], int]]], runs: int) -> dict[str, list[float]]:
    """CPU and wall seconds of each full read, contenders interleaved round by round so that
    load from other processes hits them all alike (after one warm-up read each)."""
    for _, run in contenders:
        run()
    cpu: dict[str, list[float]] = {name: [] for name, _ in contenders}
    wall: dict[str, list[float]] = {name: [] for name, _ in contenders}
    for _ in range(runs):
        for name, run in contenders:
            gc.collect()
            c0, w0 = time.process_time(), time.perf_counter()
            run()
            cpu[name].append(time.process_time() - c0)
            wall[name].append(time.perf_counter() - w0)
    return {**{f"cpu:{k}": v for k, v in cpu.items()}, **{f"wall:{k}": v for k, v in wall.items()}}


FLOOR = "floor: iter_lines + pydantic_core"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()

    data = build_stream()
    events = data.count(b"\n\n")
    deltas = data.count(b"text_delta"), data.count(b"input_json_delta")
    print(f"stream: {len(data) / 1e6:.2f} MB, {events} events ({deltas[0]} text deltas, ", end="")
    print(f"{deltas[1]} json fragments, pings and padding as the API sends them)")
    print(
        f"python {sys.version.split()[0]}, httpx {httpx.__version__}, median of {args.runs} runs;"
    )
    print(f"'x floor' is the median per-round CPU ratio to '{FLOOR}' (the faster floor)\n")

    sdk = sdk_contender()
    for label, chunks in (
        ("one chunk per event", per_event_chunks(data)),
        ("16 KiB chunks", fixed_chunks(data)),
    ):
        client = make_client(chunks)
        contenders: list[tuple[str, Callable[[], int]]] = [
            ("floor: iter_lines + json.loads", partial(floor_json, client)),
            (FLOOR, partial(floor_pydantic_core, client)),
            ("agentkit Stream (raw dicts)", partial(agentkit_raw, client)),
            ("agentkit MessageStream: get_final_message", partial(agentkit_final, client)),
            ("agentkit MessageStream: text_stream", partial(agentkit_text_stream, client)),
            ("agentkit MessageStream: typed events", partial(agentkit_events, client)),
        ]
        if sdk is not None:
            contenders.append((f"anthropic {sdk_version()} MessageStream", sdk(chunks)))
        results = measure(contenders, args.runs)
        print(f"## {label} ({len(chunks)} chunks)")
        header = f"{'contender':44} {'MB/s':>6} {'events/s':>9} {'CPU ms/1k ev':>13} {'x floor':>8}"
        print(header)
        print("-" * len(header))
        floor = results[f"cpu:{FLOOR}"]
        for name, _ in contenders:
            cpu, wall = results[f"cpu:{name}"], results[f"wall:{name}"]
            ratio = statistics.median(c / f for c, f in zip(cpu, floor, strict=True))
            med_wall = statistics.median(wall)
            print(
                f"{name:44} {len(data) / med_wall / 1e6:6.1f} {events / med_wall:9.0f} "
                f"{statistics.median(cpu) / events * 1e6:13.3f} {ratio:8.2f}"
            )
        if sdk is None:
            print(f"{'anthropic SDK MessageStream':44} not installed")
        print()


if __name__ == "__main__":
    main()
