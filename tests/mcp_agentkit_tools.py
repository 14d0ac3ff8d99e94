"""agentkit tools that tests/test_mcp_serve.py serves with `agentkit mcp serve` (stdio and HTTP)."""

from __future__ import annotations

import base64
from typing import Literal

from agentkit import ToolError, tool

# A 1x1 red PNG.
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC"


@tool
def convert(amount: float, unit: Literal["km", "mi"] = "km") -> dict[str, float]:
    """Convert a distance to metres.

    Args:
        amount: How far.
        unit: The unit of `amount`.
    """
    return {"metres": amount * (1000 if unit == "km" else 1609.344)}


@tool
def swatch(label: str) -> list[dict[str, object]]:
    """A labelled colour swatch.

    Args:
        label: The caption.
    """
    source = {"type": "base64", "media_type": "image/png", "data": PNG}
    return [{"type": "text", "text": label}, {"type": "image", "source": source}]


@tool
def refuse(reason: str) -> str:
    """Always refuses.

    Args:
        reason: Why.
    """
    raise ToolError(f"refused: {reason}")


assert base64.b64decode(PNG)
TOOLS = [convert, swatch, refuse]
