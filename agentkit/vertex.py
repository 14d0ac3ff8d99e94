"""Claude on Google Vertex AI: `VertexClient` and `AsyncVertexClient`, the Claude clients with
Vertex's URLs, body shape and OAuth tokens (google-auth only with the `vertex` extra).

The implementation and its full story live in `agentkit/hosts/_vertex.py`."""

from .hosts._vertex import (
    VERTEX_ANTHROPIC_VERSION,
    AsyncVertexClient,
    GoogleToken,
    VertexClient,
    vertex_base_url,
    vertex_request,
)

__all__ = [
    "AsyncVertexClient",
    "GoogleToken",
    "VERTEX_ANTHROPIC_VERSION",
    "VertexClient",
    "vertex_base_url",
    "vertex_request",
]
