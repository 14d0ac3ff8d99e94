"""`agentkit chat`: an interactive multi-turn chat, saved in SQLite and resumable.

Each user turn is one agent run on a fork of the conversation; the turn's messages are written
to the store in one transaction only when the run finishes. So Ctrl-C in the middle of a turn
(while the model streams or tools run) drops exactly that turn: the stored conversation stays
as it was after the last complete turn, and never ends in a dangling `tool_use`.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TextIO

from .._exceptions import AgentkitError
from ..conversation._conversation import Conversation
from ..runner._agent import Agent
from ..runner._events import RunFinished, RunResult
from ._output import EventPrinter, Style, format_usage, preview

if TYPE_CHECKING:
    from ..stores import ConversationStore

__all__ = ["HELP", "ChatSession", "chat_loop", "catch_ctrl_c"]

HELP = """commands:
  /help   show this help
  /new    start a new conversation (the current one stays saved)
  /quit   leave (Ctrl-D works too)
Ctrl-C while Claude answers cancels that turn; the conversation keeps every earlier turn."""


def catch_ctrl_c() -> None:
    """Make Ctrl-C raise KeyboardInterrupt (Python's default), even if it was ignored.

    A process started in the background by a non-interactive shell (`cmd &`), and some
    launchers, inherit SIGINT ignored; Python then leaves it ignored, and Ctrl-C could not
    cancel a turn. The chat calls this when it runs on a terminal, where Ctrl-C is the way to
    cancel. It must run in the main thread.
    """
    signal.signal(signal.SIGINT, signal.default_int_handler)


class ChatSession:
    """One chat: the agent, the store and the current conversation.

    Args:
        agent: The agent (without a store of its own: the session commits whole turns).
        store: Where conversations are saved.
        out: Where to write.
        style: Colours.
        conversation: The conversation to continue; a new one when None.
    """

    def __init__(
        self,
        agent: Agent[Any, Any],
        store: ConversationStore,
        out: TextIO,
        style: Style,
        conversation: Conversation | None = None,
    ) -> None:
        self.agent = agent
        self.store = store
        self.out = out
        self.style = style
        self.conversation = conversation if conversation is not None else Conversation()
        self.stored = conversation is not None

    def new(self) -> None:
        """Start a new, empty conversation."""
        self.conversation = Conversation()
        self.stored = False

    def turn(self, prompt: str) -> RunResult[Any] | None:
        """Run one user turn, streaming it to `out`, and save it.

        Returns:
            The run's result, or None when the turn was cancelled (Ctrl-C).
        """
        start = len(self.conversation)
        work = self.conversation.fork(id=self.conversation.id)
        printer = EventPrinter(self.out, self.style)
        result: RunResult[Any] | None = None
        try:
            for event in self.agent.stream(prompt, conversation=work):
                printer.handle(event)
                if isinstance(event, RunFinished):
                    result = event.result
        except KeyboardInterrupt:
            printer.finish_line()
            self.out.write(
                self.style.paint(
                    "(cancelled: this turn was dropped; the conversation is kept)", "yellow"
                )
                + "\n"
            )
            return None
        except AgentkitError as exc:
            # An API error that outlived the retries ends the turn, not the chat.
            printer.finish_line()
            message = " ".join(str(exc).split())
            self.out.write(self.style.paint(f"error: {message} (this turn was not saved)", "red"))
            self.out.write("\n")
            return None
        assert result is not None
        self._save(work, start, prompt)
        self.out.write(self.style.paint(f"[usage: {format_usage(result.usage)}]", "dim") + "\n")
        return result

    def _save(self, work: Conversation, start: int, prompt: str) -> None:
        """Store the turn's messages in one transaction, then make `work` the conversation."""
        if not self.stored:
            work.metadata.setdefault("title", preview(prompt, 80))
            self.store.create(work)
            self.stored = True
        else:
            work.version = self.store.append(
                work.id, list(work.entries[start:]), expected_version=start
            )
        self.conversation = work


def chat_loop(
    session: ChatSession,
    read: Callable[[str], str],
    *,
    db_label: str,
    echo: bool = False,
) -> int:
    """Read prompts and slash commands until `/quit` or end of input.

    Args:
        session: The chat.
        read: Reads one line given a prompt (`input`); raises EOFError at the end.
        db_label: The database path, for the goodbye line.
        echo: Write each line read after the prompt (when input is not a terminal, so the
            transcript shows what was asked).

    Returns:
        The exit code.
    """
    out, style = session.out, session.style
    prompt_text = style.paint("you> ", "bold", "cyan")
    while True:
        try:
            line = read(prompt_text).strip()
        except EOFError:
            out.write("\n")
            break
        except KeyboardInterrupt:
            out.write("\n(type /quit or press Ctrl-D to leave)\n")
            continue
        if echo:
            out.write(line + "\n")
        if not line:
            continue
        if line.startswith("/"):
            command = line.split()[0].lower()
            if command in ("/quit", "/exit", "/q"):
                break
            if command == "/help":
                out.write(HELP + "\n")
            elif command == "/new":
                session.new()
                out.write(f"new conversation {session.conversation.id}\n")
            else:
                out.write(f"unknown command {command}; try /help\n")
            continue
        session.turn(line)
    if session.stored:
        conv_id = session.conversation.id
        out.write(
            f"saved conversation {conv_id} in {db_label}\n"
            f"resume with: agentkit chat --resume {conv_id}\n"
        )
    out.flush()
    return 0
