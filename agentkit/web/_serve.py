"""Serving the app alone: a store from a URL, and uvicorn on a host and port."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._exceptions import ConfigurationError
from ..runner import Agent
from ..stores import AsyncConversationStore, ConversationStore, MemoryStore
from ._app import create_app

if TYPE_CHECKING:
    from ._app import OwnerHook

__all__ = ["serve", "store_from_url"]

_SCHEMES = "sqlite:///PATH, postgresql://... (or postgres://...) or memory://"


def store_from_url(url: str) -> ConversationStore | AsyncConversationStore:
    """A store named by a URL.

    `sqlite:///chats.db` (a relative path; `sqlite:////srv/chats.db` an absolute one) is a
    `SQLiteStore`, for one process; `postgresql://user@host/db` an `AsyncPostgresStore`, for
    any number of worker processes; `memory://` a `MemoryStore`, forgotten on exit.

    Raises:
        ConfigurationError: Another scheme, or no path.
    """
    scheme, sep, rest = url.partition("://")
    if scheme == "sqlite" and sep and rest.startswith("/") and len(rest) > 1:
        from ..stores import SQLiteStore

        return SQLiteStore(rest[1:])
    if scheme in ("postgresql", "postgres") and sep:
        from ..stores.postgres import AsyncPostgresStore

        return AsyncPostgresStore(url)
    if url == "memory://":
        return MemoryStore()
    raise ConfigurationError(f"--store {url!r}: expected {_SCHEMES}")


def serve(
    agent: Agent[object, object],
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    owner: OwnerHook | None = None,
    banner: str | None = None,
) -> None:
    """Serve the chat app of `agent` with uvicorn until interrupted (one process).

    For several worker processes, serve `create_app(agent)` from a module with
    `uvicorn module:app --workers N` on a PostgreSQL store.
    """
    import uvicorn

    app = create_app(agent, owner=owner, banner=banner)
    uvicorn.run(app, host=host, port=port, log_level="info")
