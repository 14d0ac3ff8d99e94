"""Terminal output for the `agentkit` command: styles that switch off when not a terminal, and a
printer that renders a streaming run's events (text, dimmed thinking, tool calls, usage)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any, TextIO

from ..runner import AgentEvent, RunFinished, ToolCallFinished, ToolCallStarted
from ..streaming import TextEvent, ThinkingEvent
from ..types._usage import RunUsage

__all__ = ["EventPrinter", "Style", "format_usage", "preview"]

_CODES = {"bold": "1", "dim": "2", "red": "31", "green": "32", "yellow": "33", "cyan": "36"}


@dataclass(frozen=True)
class Style:
    """ANSI styling that is a no-op when `enabled` is False.

    Attributes:
        enabled: Emit escape codes (only for a terminal, and never with `NO_COLOR` set).
        unicode: Use symbols such as ✓ and ✗ (plain ASCII when the output is not a terminal, so
            logs and pipes stay greppable).
    """

    enabled: bool = False
    unicode: bool = False

    @classmethod
    def for_stream(cls, stream: TextIO) -> Style:
        """The style for `stream`: colour on a terminal unless `NO_COLOR` is set (no-color.org)
        or `TERM=dumb`; `FORCE_COLOR` turns it on anywhere."""
        try:
            tty = stream.isatty()
        except (AttributeError, ValueError):
            tty = False
        if os.environ.get("FORCE_COLOR"):
            return cls(enabled=True, unicode=tty)
        colour = tty and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"
        return cls(enabled=colour, unicode=tty)

    def paint(self, text: str, *styles: str) -> str:
        """`text` wrapped in the escape codes of `styles` (names from `_CODES`)."""
        if not self.enabled or not styles:
            return text
        codes = ";".join(_CODES[s] for s in styles)
        return f"\x1b[{codes}m{text}\x1b[0m"

    @property
    def ok(self) -> str:
        """The mark of a tool call that succeeded."""
        return self.paint("✓" if self.unicode else "ok", "green")

    @property
    def fail(self) -> str:
        """The mark of a tool call that failed or was refused."""
        return self.paint("✗" if self.unicode else "failed", "red")

    @property
    def arrow(self) -> str:
        """The mark of a tool call that started."""
        return "→" if self.unicode else "->"


def preview(value: Any, limit: int = 120) -> str:
    """One line of at most `limit` characters showing `value` (JSON for non-strings)."""
    if isinstance(value, list) and all(isinstance(b, dict) for b in value):
        value = " ".join(str(b.get("text", f"[{b.get('type')}]")) for b in value)
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def format_usage(usage: RunUsage) -> str:
    """`usage` as one line: requests, tokens (cache reads and writes when there are any), cost."""
    parts = [
        f"{usage.requests} request{'s' if usage.requests != 1 else ''}",
        f"{usage.input_tokens:,} input",
        f"{usage.output_tokens:,} output tokens",
    ]
    if usage.cache_read_input_tokens or usage.cache_creation_input_tokens:
        parts.append(
            f"cache {usage.cache_read_input_tokens:,} read / "
            f"{usage.cache_creation_input_tokens:,} written"
        )
    cost = f"${usage.cost_usd:.4f}"
    if usage.unpriced:
        cost += f" (no price for {', '.join(sorted(usage.unpriced))})"
    parts.append(cost)
    return ", ".join(parts)


class EventPrinter:
    """Writes a streaming run's events to a text stream as they arrive.

    Text streams as it comes; thinking is dimmed (or prefixed when colour is off); each tool call
    gets a line when it starts and one when it finishes, with its input and a preview of its
    result. Tool calls of one turn run in parallel, so their finish lines come in finishing order.

    Args:
        out: Where to write.
        style: The colours to use.
        show_thinking: Print thinking deltas (else they are dropped).
        text_prefix: Written before the answer's text each time it starts (after tool calls).
    """

    def __init__(
        self,
        out: TextIO,
        style: Style,
        *,
        show_thinking: bool = True,
        text_prefix: str = "claude: ",
    ) -> None:
        self.out = out
        self.style = style
        self.show_thinking = show_thinking
        self.text_prefix = text_prefix
        self._mode: str | None = None  # "text" or "thinking" while a line is open
        self.tool_calls = 0
        self.tool_errors = 0

    def handle(self, event: AgentEvent) -> None:
        """Render one event."""
        if isinstance(event, TextEvent):
            if self._mode != "text":
                self._switch("text")
                self.out.write(self.style.paint(self.text_prefix, "bold"))
            self.out.write(event.text)
        elif isinstance(event, ThinkingEvent):
            if self.show_thinking:
                if self._mode != "thinking":
                    self._switch("thinking")
                    self.out.write(self.style.paint("thinking: ", "dim", "bold"))
                self.out.write(self.style.paint(event.thinking, "dim"))
        elif isinstance(event, ToolCallStarted):
            self._switch(None)
            arrow, dots = self.style.paint(self.style.arrow, "dim"), self.style.paint("...", "dim")
            self.out.write(f"{arrow} {self.style.paint(event.name, 'cyan')} {dots}\n")
        elif isinstance(event, ToolCallFinished):
            self._switch(None)
            self._tool_finished(event)
        elif isinstance(event, RunFinished):
            self._switch(None)
        self.out.flush()

    def _tool_finished(self, event: ToolCallFinished) -> None:
        outcome = event.outcome
        self.tool_calls += 1
        call = f"{outcome.call.name}({preview(outcome.call.input, 60)})"
        took = f"{outcome.duration * 1000:.0f} ms"
        if outcome.result is None:  # deferred: waits for a human
            reason = f": {outcome.reason}" if outcome.reason else ""
            self.out.write(f"  {self.style.paint('waiting', 'yellow')} {call}{reason}\n")
            return
        content = preview(outcome.result.get("content", ""))
        if outcome.is_error:
            self.tool_errors += 1
            mark = self.style.fail if self.style.unicode else outcome.status
            message = self.style.paint(content, "red")
            self.out.write(f"  {mark} {call}: {message} ({took})\n")
        else:
            self.out.write(f"  {self.style.ok} {call} = {content} ({took})\n")

    def _switch(self, mode: str | None) -> None:
        """End the open line when the kind of output changes."""
        if self._mode is not None and self._mode != mode:
            self.out.write("\n")
        self._mode = mode

    def finish_line(self) -> None:
        """Close an open text or thinking line (after an interrupted run)."""
        self._switch(None)
        self.out.flush()
