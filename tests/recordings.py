"""Load the real API recordings vendored in `tests/fixtures/anthropic-recordings` for tests.

Each case is one HTTP exchange (see the corpus README): `request.json`, `response.json`, and the
raw body in `response.sse` / `response.jsonl` when it is not JSON. `AGENTKIT_RECORDINGS` points
elsewhere if the corpus lives somewhere else.

    from recordings import cases, load

    for rec in cases(streaming=True):
        rec.sse            # the raw text/event-stream body, bytes
        rec.httpx_response(request)   # a replayable httpx.Response
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

__all__ = ["RECORDINGS_DIR", "Recording", "cases", "load", "replay_headers"]

RECORDINGS_DIR = Path(
    os.environ.get(
        "AGENTKIT_RECORDINGS",
        Path(__file__).resolve().parent / "fixtures" / "anthropic-recordings",
    )
)

# The corpus stores bodies decoded; these recorded headers describe the original encoding and
# would make httpx decode or length-check the replayed body wrongly (corpus README).
_STALE_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})


@dataclass(frozen=True)
class Recording:
    """One recorded exchange.

    Attributes:
        name: The case directory name, e.g. `"text-stream-basic-ratelimit-headers"`.
        entry: The case's entry in `index.json` (covers, detected features, streaming, ...).
    """

    name: str
    entry: dict[str, Any]

    @property
    def path(self) -> Path:
        """The case directory."""
        return RECORDINGS_DIR / "cases" / self.name

    @property
    def streaming(self) -> bool:
        """True when the response body is a text/event-stream."""
        return bool(self.entry.get("streaming"))

    @property
    def meta(self) -> dict[str, Any]:
        """`meta.json`: source, fidelity notes, redactions, sequence."""
        meta: dict[str, Any] = _read_json(self.path / "meta.json")
        return meta

    @property
    def request(self) -> dict[str, Any] | None:
        """`request.json` ({method, url, path, query, headers, body}), or None when not recorded."""
        path = self.path / "request.json"
        return _read_json(path) if path.exists() else None

    @property
    def response(self) -> dict[str, Any]:
        """`response.json` ({status, status_text, headers, body, body_file?})."""
        response: dict[str, Any] = _read_json(self.path / "response.json")
        return response

    @property
    def status(self) -> int:
        """The HTTP status (200 when the source kept only a body)."""
        status = self.response.get("status")
        return int(status) if status is not None else 200

    @property
    def body(self) -> Any:
        """The parsed JSON body, or None when the body is SSE or JSONL."""
        return self.response.get("body")

    @property
    def body_bytes(self) -> bytes:
        """The body exactly as it goes over the wire when replayed."""
        body_file = self.response.get("body_file")
        if body_file:
            return (self.path / str(body_file)).read_bytes()
        raw_file = self.response.get("body_raw_file")
        if raw_file:
            return (self.path / str(raw_file)).read_bytes()
        return json.dumps(self.body).encode()

    @property
    def sse(self) -> bytes:
        """The raw event-stream body.

        Raises:
            ValueError: The case is not a streaming one.
        """
        if self.response.get("body_file") != "response.sse":
            raise ValueError(f"{self.name} has no SSE body")
        return (self.path / "response.sse").read_bytes()

    def headers(self) -> dict[str, str]:
        """The recorded response headers, minus the ones that no longer describe the body."""
        return replay_headers(self.response.get("headers") or {}, streaming=self.streaming)

    def httpx_response(
        self, request: httpx.Request | None = None, *, chunks: Iterable[bytes] | None = None
    ) -> httpx.Response:
        """A replayable response: the recorded status, cleaned headers, and the body.

        Args:
            request: The request to attach (respx attaches its own).
            chunks: Serve the body in these pieces instead of the recorded body in one piece.
        """
        if chunks is None:
            return httpx.Response(
                self.status, headers=self.headers(), content=self.body_bytes, request=request
            )
        return httpx.Response(
            self.status, headers=self.headers(), stream=_ChunkStream(list(chunks)), request=request
        )


class _ChunkStream(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A body that arrives in the given pieces, for sync and async clients alike."""

    def __init__(self, chunks: list[bytes]) -> None:
        self._chunks = chunks

    def __iter__(self) -> Any:
        yield from self._chunks

    async def __aiter__(self) -> Any:
        for chunk in self._chunks:
            yield chunk


def replay_headers(headers: dict[str, str], *, streaming: bool = False) -> dict[str, str]:
    """Recorded headers fit for replay: encoding/length headers dropped, a content type ensured."""
    out = {k: v for k, v in headers.items() if k.lower() not in _STALE_HEADERS}
    if not any(k.lower() == "content-type" for k in out):
        out["content-type"] = (
            "text/event-stream; charset=utf-8" if streaming else "application/json"
        )
    return out


@functools.cache
def _index() -> tuple[dict[str, Any], ...]:
    return tuple(_read_json(RECORDINGS_DIR / "index.json"))


def cases(*, streaming: bool | None = None, endpoint: str | None = None) -> list[Recording]:
    """Every case in index order, optionally only (non-)streaming ones or one endpoint.

    Args:
        streaming: True for SSE cases only, False for non-streaming only, None for all.
        endpoint: e.g. `"POST /v1/messages"`; matched as a prefix of the case's endpoint.
    """
    out = []
    for entry in _index():
        if streaming is not None and bool(entry.get("streaming")) != streaming:
            continue
        if endpoint is not None and not str(entry.get("endpoint") or "").startswith(endpoint):
            continue
        out.append(Recording(entry["case"], entry))
    return out


def load(name: str) -> Recording:
    """The case called `name`.

    Raises:
        KeyError: No such case.
    """
    for entry in _index():
        if entry["case"] == name:
            return Recording(name, entry)
    raise KeyError(name)


def _read_json(path: Path) -> Any:
    with path.open(encoding="utf-8") as f:
        return json.load(f)
