"""Benchmark Bedrock streaming and signing: AWS event-stream decoding against SSE, and SigV4 cost.

The same content as bench_sse.py's synthetic stream (~5,000 text deltas, then ~500 tool-input
fragments) framed two ways: first-party SSE, and Bedrock's event stream (one `chunk` frame per
event, base64 JSON inside, both CRCs). Measured, per whole stream:

- decoder only: `SSEDecoder` on the SSE bytes; `EventStreamDecoder` on the Bedrock bytes;
  botocore's `EventStreamBuffer` + base64 + JSON (what the official SDK does) as a reference;
- end to end: `MessageStream.get_final_message()` over an in-memory response, SSE vs Bedrock;
- SigV4: signing one request (a 20 kB body) through `SigV4Auth.sign` (botocore underneath).

Run: python benchmarks/bench_eventstream.py [--runs N]
"""

from __future__ import annotations

import argparse
import base64
import gc
import json
import statistics
import struct
import sys
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_sse import build_stream

from agentkit.bedrock import EventStreamDecoder
from agentkit.hosts._bedrock._sigv4 import AWSCredentials, SigV4Auth
from agentkit.streaming import MessageStream, SSEDecoder


def _frame(event_raw: bytes) -> bytes:
    payload = json.dumps({"bytes": base64.b64encode(event_raw).decode(), "p": "abcdefgh"}).encode()
    headers = b""
    for name, value in (
        (":event-type", "chunk"),
        (":content-type", "application/json"),
        (":message-type", "event"),
    ):
        headers += bytes([len(name)]) + name.encode() + b"\x07"
        headers += struct.pack(">H", len(value)) + value.encode()
    total = 12 + len(headers) + len(payload) + 4
    prelude = struct.pack(">II", total, len(headers))
    message = prelude + struct.pack(">I", zlib.crc32(prelude)) + headers + payload
    return message + struct.pack(">I", zlib.crc32(message))


def bedrock_bytes(sse: bytes) -> bytes:
    decoder = SSEDecoder()
    events = decoder.feed(sse) + decoder.flush()
    return b"".join(_frame(e.raw) for e in events if e.event != "ping")


def chunks(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def best(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        gc.collect()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)  # type: ignore[return-value]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs

    sse = build_stream()
    bedrock = bedrock_bytes(sse)
    n_events = len(EventStreamDecoder().feed(bedrock))
    print(
        f"stream: {n_events} events; SSE {len(sse) / 1e6:.2f} MB, "
        f"Bedrock {len(bedrock) / 1e6:.2f} MB"
    )
    print()

    def sse_decode(parts: list[bytes]) -> None:
        d = SSEDecoder()
        for p in parts:
            d.feed(p)
        d.flush()

    def es_decode(parts: list[bytes]) -> None:
        d = EventStreamDecoder()
        for p in parts:
            d.feed(p)
        d.flush()

    def botocore_decode(parts: list[bytes]) -> None:
        from botocore.eventstream import EventStreamBuffer

        buffer = EventStreamBuffer()
        for p in parts:
            buffer.add_data(p)
            for message in buffer:
                json.loads(base64.b64decode(json.loads(message.payload)["bytes"]))

    def final(body: bytes, factory: Callable[[], object] | None) -> None:
        request = httpx.Request("POST", "https://example.invalid/")
        response = httpx.Response(200, stream=httpx.ByteStream(body), request=request)
        kwargs = {} if factory is None else {"decoder_factory": factory}
        MessageStream(response, **kwargs).get_final_message()  # type: ignore[arg-type]

    rows: list[tuple[str, str, float, float]] = []
    for size in (16384, 512):
        for name, fn, data in (
            ("SSEDecoder (SSE bytes)", sse_decode, sse),
            ("EventStreamDecoder (Bedrock bytes)", es_decode, bedrock),
            ("botocore EventStreamBuffer + b64 + json", botocore_decode, bedrock),
        ):
            parts = chunks(data, size)
            low, median = best(lambda fn=fn, parts=parts: fn(parts), runs)
            rows.append((name, f"{size} B reads", low, median))
    for name, body, factory in (
        ("MessageStream.get_final_message, SSE", sse, None),
        ("MessageStream.get_final_message, Bedrock", bedrock, EventStreamDecoder),
    ):
        low, median = best(lambda body=body, factory=factory: final(body, factory), runs)
        rows.append((name, "one body", low, median))

    print(f"{'decoder':44} {'chunks':>12} {'best ms':>9} {'median ms':>10} {'us/event':>9}")
    for name, chunking, low, median in rows:
        print(
            f"{name:44} {chunking:>12} {low * 1e3:9.2f} {median * 1e3:10.2f} "
            f"{low / n_events * 1e6:9.2f}"
        )

    # SigV4: one signature over a 20 kB body.
    auth = SigV4Auth(
        AWSCredentials(access_key="AKIDEXAMPLE", secret_key="secret"), "bedrock", "us-east-1"
    )
    body = b"x" * 20_000
    request = httpx.Request(
        "POST",
        "https://bedrock-runtime.us-east-1.amazonaws.com/model/anthropic.claude-x%3A0/invoke",
        content=body,
        headers={"content-type": "application/json", "accept": "application/json"},
    )
    credentials = auth.credentials.frozen()
    auth.sign(request, credentials)  # warm the lazy imports
    n = 2000
    start = time.perf_counter()
    for _ in range(n):
        auth.sign(request, credentials)
    per = (time.perf_counter() - start) / n
    print()
    print(f"SigV4 sign, 20 kB body: {per * 1e6:.1f} us per request ({n} signatures)")


if __name__ == "__main__":
    main()
