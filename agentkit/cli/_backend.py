"""Which Claude the commands talk to: the real API when a key is set, else the built-in fake."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..client._base import DEFAULT_BASE_URL
from ..client._client import Client

if TYPE_CHECKING:
    from ..testing import FakeClaude

__all__ = ["Backend", "connect"]

# The offline fake signs thinking blocks with a fixed key, so a conversation saved by one
# `agentkit chat` process still validates when another process resumes it.
_OFFLINE_SECRET = b"agentkit-cli-offline-fake"


@dataclass
class Backend:
    """A client and a sentence saying where it goes.

    Attributes:
        client: The client to use.
        offline: True when `client` talks to the in-process fake Claude.
        banner: The first line to print: who answers, plainly.
        fake: The fake, when offline.
    """

    client: Client
    offline: bool
    banner: str
    fake: FakeClaude | None = None


def connect(model: str, command: str) -> Backend:
    """The real API when `ANTHROPIC_API_KEY` (or `ANTHROPIC_AUTH_TOKEN`) is set, else the fake.

    Args:
        model: The model, for the banner.
        command: The command's name, for the banner.

    Returns:
        The backend.
    """
    if os.environ.get("ANTHROPIC_API_KEY") or os.environ.get("ANTHROPIC_AUTH_TOKEN"):
        client = Client()
        where = "" if client.base_url == DEFAULT_BASE_URL else f" at {client.base_url}"
        return Backend(client, False, f"agentkit {command}: talking to Claude ({model}){where}.")
    from ..testing import FakeClaude

    fake = FakeClaude(secret=_OFFLINE_SECRET)
    client = Client(api_key="offline", http_client=fake.http_client())
    banner = (
        f"agentkit {command}: OFFLINE - no ANTHROPIC_API_KEY is set, so this runs on the built-in "
        "fake Claude in test-model mode (it calls every tool once with example arguments, "
        "then summarizes the results). Set ANTHROPIC_API_KEY to talk to Claude."
    )
    return Backend(client, True, banner, fake)
