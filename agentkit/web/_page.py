"""The chat page: one HTML file (`chat.html`), read once."""

from __future__ import annotations

from functools import cache
from pathlib import Path

__all__ = ["page_html"]


@cache
def page_html() -> str:
    """The page's HTML: inline CSS and script, nothing fetched from elsewhere."""
    return (Path(__file__).parent / "chat.html").read_text(encoding="utf-8")
