"""A real loopback HTTP/1.1 server for a `FakeClaude`: `python -m agentkit.testing.server`.

It runs an anyio TCP listener in a background thread, one task per connection, keep-alive, so
many clients can hold connections at once; HTTP/1.1 framing is the lean sans-IO codec in
`_wire`. SSE and JSONL bodies go out chunk by chunk with chunked transfer encoding. Faults are
real: a delay before the status line, delays between chunks, and a cut connection closes the
socket part way through the body.

Usage::

    with FakeServer(FakeClaude()) as server:
        httpx.post(server.url + "/v1/messages", json=...)

or from a shell (test-model mode, prints the URL and serves until interrupted)::

    python -m agentkit.testing.server --port 0
"""

from __future__ import annotations

import argparse
import signal
import threading
from types import FrameType

from ._claude import FakeClaude
from ._server import FakeServer

__all__ = ["FakeServer", "main"]


def main(argv: list[str] | None = None) -> None:
    """Run a fake Claude server in test-model mode until interrupted; prints its URL."""
    parser = argparse.ArgumentParser(prog="python -m agentkit.testing.server", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--batch-delay", type=float, default=0.0, help="seconds per batch")
    parser.add_argument("--api-key", default=None, help="require this API key")
    parser.add_argument("--seed", type=int, default=None, help="seed for generated ids")
    args = parser.parse_args(argv)
    fake = FakeClaude(batch_delay=args.batch_delay, api_key=args.api_key, seed=args.seed)

    def terminate(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, terminate)
    with FakeServer(fake, host=args.host, port=args.port) as server:
        print(server.url, flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
