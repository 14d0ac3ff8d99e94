"""Turn conversations into JSON / JSONL documents and back, keeping each message's bytes.

A conversation document is one JSON object:

    {"id": ..., "metadata": {...}, "created_at": ..., "updated_at": ...,
     "messages": [{"message": <the stored message JSON>, "meta": {...}, "created_at": ...}, ...]}

The stored message bytes are written into the document verbatim (never re-encoded), and a
document read back re-encodes each message with the same encoder that produced it, so an
export/import round trip gives the same bytes. JSONL holds one such document per line.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic_core import from_json, to_json

from .._exceptions import StoreError
from ..conversation import Conversation, Entry

__all__ = ["dump_conversation", "dump_jsonl", "parse_conversation", "parse_jsonl"]


def dump_conversation(conversation: Conversation) -> bytes:
    """One conversation as a compact JSON document (one line, no newline)."""
    head = to_json(
        {
            "id": conversation.id,
            "metadata": conversation.metadata,
            "created_at": conversation.created_at,
            "updated_at": conversation.updated_at,
        }
    )
    items = [
        b'{"message":'
        + entry.raw
        + b',"meta":'
        + to_json(entry.meta)
        + b',"created_at":'
        + to_json(entry.created_at)
        + b"}"
        for entry in conversation
    ]
    return head[:-1] + b',"messages":[' + b",".join(items) + b"]}"


def dump_jsonl(conversations: Iterable[Conversation]) -> bytes:
    """Conversations as JSONL: one document per line."""
    return b"".join(dump_conversation(c) + b"\n" for c in conversations)


def parse_conversation(data: bytes | str | dict[str, Any]) -> Conversation:
    """A conversation from a document made by `dump_conversation` (or the same shape).

    Raises:
        StoreError: The document is not a conversation document.
    """
    try:
        doc = from_json(data) if isinstance(data, (bytes, str)) else data
        entries = [
            Entry.from_raw(to_json(item["message"]), item.get("meta"), float(item["created_at"]))
            for item in doc["messages"]
        ]
        conversation = Conversation.from_entries(
            entries,
            id=str(doc["id"]),
            metadata=doc.get("metadata"),
            created_at=doc.get("created_at"),
            updated_at=doc.get("updated_at"),
            version=0,
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise StoreError(f"not a conversation document: {exc}") from exc
    return conversation


def parse_jsonl(data: bytes | str) -> list[Conversation]:
    """Every conversation in a JSONL export (blank lines are skipped)."""
    text = data.encode() if isinstance(data, str) else data
    return [parse_conversation(line) for line in text.splitlines() if line.strip()]
