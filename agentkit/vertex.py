"""`VertexClient` and `AsyncVertexClient`: the Claude clients, speaking to Google Vertex AI.

Each is a `Client` / `AsyncClient` with Vertex's hooks, so the runner, tools, stores and stream
helpers work unchanged. What differs from the first-party API: the URL names the project, region
and model (`.../publishers/anthropic/models/{model}:rawPredict`, `:streamRawPredict` when
streaming); the body loses `model` and gains `anthropic_version: vertex-2023-10-16`; auth is an
OAuth bearer token. The stream is ordinary SSE.

Tokens come from an explicit `access_token`, your `token_provider`, or google-auth credentials
(the `vertex` extra, imported only then: given ones, or Application Default Credentials). A
google-auth token is refreshed before it expires, under a lock, and the async client refreshes in
a worker thread, because google-auth's refresh is blocking HTTP."""

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
