"""`agentkit fake-server`: the fake Claude over HTTP for any client, scripted or test-model."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path
from typing import Any

__all__ = ["add_arguments", "run"]


def add_arguments(server: argparse.ArgumentParser) -> None:
    """The `fake-server` options."""
    server.add_argument("--host", default="127.0.0.1", help="interface (default: %(default)s)")
    server.add_argument("--port", type=int, default=0, help="port; 0 picks a free one")
    server.add_argument("--api-key", default=None, help="require this API key")
    server.add_argument("--seed", type=int, default=None, help="seed for the ids it makes")
    server.add_argument("--batch-delay", type=float, default=0.0, help="seconds per batch")
    server.add_argument(
        "--script",
        type=Path,
        default=None,
        metavar="FILE",
        help="a JSON list of replies and faults to serve in order (default: test-model mode)",
    )
    server.add_argument(
        "--no-check-thinking",
        dest="check_thinking",
        action="store_false",
        help="accept thinking signatures the fake did not make (to replay real recordings)",
    )
    server.add_argument(
        "--latency", type=float, default=0.0, help="seconds before every response's headers"
    )


def run(args: argparse.Namespace) -> int:
    """Serve until Ctrl-C or SIGTERM; the URL is the first line on stdout. 2 on a bad script."""
    from ..testing import FakeClaude, FakeServer, ScriptError, script_from_json

    script = None
    if args.script is not None:
        try:
            script = script_from_json(json.loads(args.script.read_text(encoding="utf-8")))
        except (OSError, ValueError) as exc:  # ScriptError and JSONDecodeError are ValueErrors
            kind = "" if isinstance(exc, ScriptError) else f"{type(exc).__name__}: "
            sys.stderr.write(f"agentkit fake-server: {args.script}: {kind}{exc}\n")
            return 2
    fake = FakeClaude(
        script,
        batch_delay=args.batch_delay,
        api_key=args.api_key,
        seed=args.seed,
        check_thinking=args.check_thinking,
        latency=args.latency,
    )

    def terminate(*_: Any) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, terminate)
    mode = "test-model mode" if script is None else f"{len(script)} scripted items"
    with FakeServer(fake, host=args.host, port=args.port) as server:
        print(server.url, flush=True)
        sys.stderr.write(
            f"fake Claude ({mode}) listening; use ANTHROPIC_BASE_URL={server.url} "
            "and any ANTHROPIC_API_KEY. Ctrl-C stops it.\n"
        )
        sys.stderr.flush()
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass
    return 0
