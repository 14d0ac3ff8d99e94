"""`agentkit conversations`: list, show, export and delete the conversations `agentkit chat` saved,
and where that SQLite file lives by default."""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, TextIO

from ..conversation._conversation import Entry
from ._output import Style, preview

if TYPE_CHECKING:
    from ..stores import SQLiteStore

__all__ = [
    "default_db_path",
    "delete_conversation",
    "export_conversation",
    "list_conversations",
    "open_store",
    "render_conversation",
    "show_conversation",
]


def default_db_path() -> Path:
    """`$XDG_DATA_HOME/agentkit/conversations.db`, else `~/.local/share/agentkit/...`."""
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "agentkit" / "conversations.db"


def open_store(path: Path | None, *, create: bool = True) -> SQLiteStore:
    """Open the conversations database (creating its directory when `create`).

    Args:
        path: The database file; the default location when None.
        create: Create the file if missing; when False a missing file is an error.

    Returns:
        The store.

    Raises:
        FileNotFoundError: The file does not exist and `create` is False.
    """
    from ..stores import SQLiteStore

    db = path if path is not None else default_db_path()
    if not db.exists():
        if not create:
            raise FileNotFoundError(f"no conversations database at {db} (use --db to choose one)")
        db.parent.mkdir(parents=True, exist_ok=True)
    return SQLiteStore(db)


def _when(timestamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(timestamp))


def list_conversations(store: SQLiteStore, out: TextIO, style: Style, limit: int | None) -> int:
    """Print one line per conversation, most recently updated first.

    Returns:
        The exit code.
    """
    from ..batches import MANIFEST_PREFIX

    # Batch runs keep their state in message-less "manifest" conversations; `batch status` shows
    # them, this list shows only conversations.
    infos = [i for i in store.list(limit=limit) if not i.id.startswith(MANIFEST_PREFIX)]
    if not infos:
        out.write("no conversations\n")
        return 0
    out.write(style.paint(f"{'ID':32}  {'UPDATED':16}  {'MSGS':>4}  TITLE", "bold") + "\n")
    for info in infos:
        title = preview(info.metadata.get("title", ""), 60)
        out.write(f"{info.id:32}  {_when(info.updated_at):16}  {info.version:>4}  {title}\n")
    return 0


def render_conversation(entries: Iterable[Entry], out: TextIO, style: Style) -> None:
    """Write messages for reading: each message's text, thinking and tool traffic."""
    for entry in entries:
        who = style.paint(f"{entry.role}:", "bold")
        for block in entry.blocks:
            out.write(f"{who} {_block_line(block, style)}\n")
            who = " " * (len(entry.role) + 1)


def _block_line(block: dict[str, object], style: Style) -> str:
    kind = block.get("type")
    if kind == "text":
        return str(block.get("text", ""))
    if kind == "thinking":
        return style.paint(f"(thinking) {preview(block.get('thinking', ''), 200)}", "dim")
    if kind == "tool_use":
        return style.paint(
            f"[tool call] {block.get('name')}({preview(block.get('input'))})", "cyan"
        )
    if kind == "tool_result":
        mark = "error" if block.get("is_error") else "result"
        content = preview(block.get("content", ""))
        return style.paint(f"[tool {mark}] {content}", "red" if block.get("is_error") else "dim")
    return style.paint(f"[{kind}]", "dim")


def show_conversation(
    store: SQLiteStore, conversation_id: str, out: TextIO, style: Style, *, cache: bool = False
) -> int:
    """Print a stored conversation's header, messages and usage (and with `cache`, each model
    call's cache reads and writes, a miss explained).

    Returns:
        The exit code.
    """
    from ._output import format_usage

    conversation = store.load(conversation_id)
    title = conversation.metadata.get("title")
    out.write(style.paint(f"conversation {conversation.id}", "bold"))
    out.write(f" ({len(conversation)} messages, updated {_when(conversation.updated_at)})\n")
    if title:
        out.write(f"title: {title}\n")
    render_conversation(conversation.entries, out, style)
    if conversation.usage.requests:
        out.write(style.paint(f"usage: {format_usage(conversation.usage)}", "dim") + "\n")
    if cache:
        from ._cache import render_cache

        render_cache(conversation.entries, out, style)
    return 0


def export_conversation(
    store: SQLiteStore, conversation_id: str, out: BinaryIO, *, jsonl: bool = False
) -> int:
    """Write a conversation as the store's JSON export (message bytes verbatim).

    Returns:
        The exit code.
    """
    data = store.export_jsonl([conversation_id]) if jsonl else store.export_json(conversation_id)
    out.write(data if jsonl else data + b"\n")
    out.flush()
    return 0


def delete_conversation(store: SQLiteStore, conversation_id: str, out: TextIO) -> int:
    """Delete a conversation.

    Returns:
        The exit code.

    Raises:
        ConversationNotFoundError: No such conversation.
    """
    from ..stores import ConversationNotFoundError

    if not store.delete(conversation_id):
        raise ConversationNotFoundError(conversation_id)
    out.write(f"deleted conversation {conversation_id}\n")
    return 0
