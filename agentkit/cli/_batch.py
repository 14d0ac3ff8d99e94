"""`agentkit batch run PROMPTS.jsonl --agent module:agent` and `agentkit batch status`.

`run` drives every prompt's tool loop through the Message Batches API (`BatchRunner`), showing a
progress bar on a terminal and plain lines otherwise; running the same command again resumes an
interrupted run. `status` prints the batch runs a conversations database holds.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from ..batches import BatchJob, BatchProgress, BatchRunResult
    from ._output import Style

# Only argparse loads with the parser, so `agentkit --help` stays quick; the
# runner, the agent machinery and the output helpers load when a subcommand runs.

__all__ = ["ProgressPrinter", "add_parser", "read_jobs", "run"]

_DESCRIPTION = (
    "Run an agent's tool loop on every prompt of a JSONL file through the Message Batches API "
    "(half price; each round is one batch). State is kept in the conversations database, so "
    "running the same command again resumes an interrupted run without resubmitting finished "
    "work. Without ANTHROPIC_API_KEY (and an agent without a client) it runs on the built-in "
    "fake Claude."
)
_PROMPTS_HELP = (
    'JSONL, one job per line: a JSON string (the prompt) or {"prompt": ..., "id": ..., '
    '"metadata": {...}}; "prompt" is text or content blocks, "id" the conversation id'
)


def add_parser(
    subparsers: Any, parents: Sequence[argparse.ArgumentParser] = ()
) -> argparse.ArgumentParser:
    """Add the `batch` command (`run`, `status`) to the `agentkit` subparsers.

    Args:
        subparsers: What `ArgumentParser.add_subparsers()` returned.
        parents: Parsers whose options every batch subcommand takes too (e.g. `--debug`).

    Returns:
        The `batch` parser.
    """
    batch = subparsers.add_parser(
        "batch",
        parents=list(parents),
        help="run many agent conversations through the Message Batches API",
        description=_DESCRIPTION,
    )
    actions = batch.add_subparsers(dest="action", metavar="ACTION")
    start = actions.add_parser(
        "run",
        parents=list(parents),
        help="run (or resume) a prompts file",
        description=_DESCRIPTION,
    )
    start.add_argument("prompts", type=Path, help=_PROMPTS_HELP)
    start.add_argument(
        "--agent", required=True, help="module:object naming an Agent (or a function making one)"
    )
    start.add_argument("--db", type=Path, default=None, help="the conversations database file")
    start.add_argument(
        "--run-id", default=None, help="names the run (default: from the file's name and content)"
    )
    start.add_argument(
        "--retries", type=int, default=2, help="resubmissions of an errored or expired request"
    )
    start.add_argument(
        "--fallback", action="store_true", help="after the retries, call the model directly"
    )
    start.add_argument(
        "--poll-interval", type=float, default=5.0, help="first wait between polls (seconds)"
    )
    start.add_argument(
        "--concurrency", type=int, default=64, help="conversations running tools at once"
    )
    status = actions.add_parser(
        "status",
        parents=list(parents),
        help="show the batch runs in a conversations database",
        description="Show each batch run: conversations by status, rounds, the batch in "
        "flight and the cost so far (batch replies at half price).",
    )
    status.add_argument("run_id", nargs="?", help="show only this run, with its failures")
    status.add_argument("--db", type=Path, default=None, help="the conversations database file")
    return batch  # type: ignore[no-any-return]


def run(args: argparse.Namespace) -> int:
    """Run the `batch` subcommand `args` were parsed for.

    Returns:
        The exit status: 0 when every conversation finished, 1 otherwise.
    """
    if getattr(args, "action", None) == "run":
        return _run(args, sys.stdout, sys.stderr)
    if getattr(args, "action", None) == "status":
        return _status(args, sys.stdout)
    sys.stderr.write(
        "agentkit batch: choose an action: run or status (see agentkit batch --help)\n"
    )
    return 1


# -- run ----------------------------------------------------------------------------------------


def read_jobs(path: Path) -> list[BatchJob]:
    """The jobs of a prompts file (see `--help`).

    Raises:
        ConfigurationError: A line is not a prompt.
    """
    from .._exceptions import ConfigurationError
    from ..batches import BatchJob

    jobs = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ConfigurationError(f"{path}:{number}: not JSON: {exc}") from None
        if isinstance(item, dict) and "prompt" in item:
            conversation_id = item.get("id")
            jobs.append(
                BatchJob(
                    item["prompt"],
                    conversation_id=None if conversation_id is None else str(conversation_id),
                    metadata=dict(item.get("metadata") or {}),
                )
            )
        elif isinstance(item, str):
            jobs.append(BatchJob(item))
        else:
            raise ConfigurationError(f'{path}:{number}: expected a string or {{"prompt": ...}}')
    if not jobs:
        raise ConfigurationError(f"{path} holds no prompts")
    return jobs


def _default_run_id(path: Path) -> str:
    """The file's name and a hash of its content: the same file resumes the same run."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:10]
    stem = re.sub(r"[^a-zA-Z0-9_-]", "_", path.stem)[:30]
    return f"{stem}-{digest}"


def _load_agent(target: str) -> Any:
    from .._exceptions import ConfigurationError
    from ..runner._agent import Agent
    from ._lint import load_target

    agent = load_target(target)
    if not isinstance(agent, Agent) and callable(agent):
        agent = agent()
    if not isinstance(agent, Agent):
        raise ConfigurationError(f"{target} is a {type(agent).__name__}, not an Agent")
    return agent


def _run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ..batches import BatchRunner
    from ._conversations import default_db_path, open_store

    jobs = read_jobs(args.prompts)
    agent = _load_agent(args.agent)
    if agent.client is None:
        from ._backend import connect

        backend = connect(agent.model, "batch")
        agent.client = backend.client
        err.write(backend.banner + "\n")
    run_id = args.run_id or _default_run_id(args.prompts)
    db = args.db if args.db is not None else default_db_path()
    printer = ProgressPrinter(err, len(jobs))
    with open_store(db) as store:
        runner = BatchRunner(
            agent,
            store=store,
            run_id=run_id,
            max_retries=args.retries,
            fallback=args.fallback,
            max_concurrency=args.concurrency,
            poll_interval=args.poll_interval,
            max_interval=max(60.0, args.poll_interval),
            on_progress=printer,
        )
        err.write(f"batch run {run_id}: {len(jobs)} conversations, database {db}\n")
        result = runner.run(jobs)
    printer.close()
    from ._output import Style

    return _summary(result, out, Style.for_stream(out))


def _summary(result: BatchRunResult, out: TextIO, style: Style) -> int:
    from ._output import format_usage

    counts: dict[str, int] = {}
    for outcome in result.outcomes.values():
        counts[outcome.status] = counts.get(outcome.status, 0) + 1
    listed = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    out.write(f"run {result.run_id}: {listed} after {result.rounds} rounds\n")
    out.write(f"usage (batch replies at half price): {format_usage(result.usage)}\n")
    failed = [o for o in result.outcomes.values() if o.status in ("failed", "canceled")]
    for outcome in failed[:20]:
        out.write(f"  {style.fail} {outcome.conversation_id}: {outcome.error}\n")
    if len(failed) > 20:
        out.write(f"  ... and {len(failed) - 20} more (agentkit batch status {result.run_id})\n")
    return 1 if failed else 0


class ProgressPrinter:
    """A `BatchRunner` progress callback: a redrawn bar on a terminal, plain lines otherwise.

    Args:
        stream: Where to write (a terminal gets the bar).
        total: The number of conversations.
        width: Characters of the bar.
    """

    def __init__(self, stream: TextIO, total: int, width: int = 24) -> None:
        from ._output import Style

        self.stream = stream
        self.total = max(total, 1)
        self.width = width
        self.style = Style.for_stream(stream)
        self.tty = self.style.unicode  # `unicode` is exactly "this stream is a terminal"
        self._drawn = False

    def __call__(self, progress: BatchProgress) -> None:
        if self.tty:
            self._draw(progress)
        elif progress.phase != "waiting" or (progress.batch and progress.batch.ended):
            self.stream.write(self.line(progress) + "\n")
            self.stream.flush()

    def line(self, progress: BatchProgress, *, batch_id: bool = True) -> str:
        """One line describing `progress` (`batch_id`: name the batch in flight)."""
        parts = [f"round {progress.round}", progress.phase]
        batch = progress.batch
        if batch is not None:
            counts = batch.request_counts
            name = f" {batch.id}" if batch_id else ""
            parts.append(f"batch{name} {counts.done}/{counts.total} {batch.processing_status}")
        tally = f"running {progress.running}, finished {progress.finished}"
        tally += f", failed {progress.failed}"
        if progress.canceled:
            tally += f", canceled {progress.canceled}"
        parts.append(tally)
        parts.append(f"${progress.cost_usd:.4f}")
        return " | ".join(parts)

    def _draw(self, progress: BatchProgress) -> None:
        done = (progress.finished + progress.failed + progress.canceled) / self.total
        filled = round(done * self.width)
        bar = "█" * filled + "░" * (self.width - filled)
        # One terminal line, or the carriage return could not redraw it.
        columns = shutil.get_terminal_size().columns - self.width - 8
        text = self.line(progress, batch_id=False)[: max(columns, 10)]
        self.stream.write(f"\r\x1b[2K{self.style.paint(bar, 'green')} {done:4.0%}  {text}")
        self.stream.flush()
        self._drawn = True

    def close(self) -> None:
        """End the bar's line."""
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False


# -- status -------------------------------------------------------------------------------------


def _status(args: argparse.Namespace, out: TextIO) -> int:
    from .._exceptions import ConfigurationError
    from ..batches import batch_runs
    from ._conversations import default_db_path, open_store
    from ._output import format_usage

    if args.db is None and args.run_id is None and not default_db_path().exists():
        # Nothing has run yet: that is an answer, not an error.
        out.write(f"no batch runs yet: `agentkit batch run` keeps them in {default_db_path()}\n")
        return 0
    with open_store(args.db, create=False) as store:
        runs = batch_runs(store.list())
    if args.run_id is not None:
        runs = [r for r in runs if r.run_id == args.run_id]
        if not runs:
            raise ConfigurationError(f"no batch run {args.run_id!r} in the database")
    if not runs:
        out.write("no batch runs\n")
        return 0
    for info in runs:
        counts = ", ".join(f"{n} {status}" for status, n in sorted(info.counts.items()))
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(info.updated_at))
        flight = f", in flight: {', '.join(info.in_flight)}" if info.in_flight else ""
        out.write(f"{info.run_id}  {when}  {info.rounds} rounds{flight}\n")
        out.write(f"  {counts or 'no conversations'}\n")
        out.write(f"  {format_usage(info.usage)}\n")
        if args.run_id is not None:
            for conversation_id, error in sorted(info.errors.items()):
                out.write(f"  {conversation_id}: {error}\n")
    return 0
