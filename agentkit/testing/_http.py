"""The sans-IO request and response of the fake, and the API's shared response shapes.

A `FakeResponse` is a plan, not bytes on a socket: status, headers, body chunks, and the faults to
act out while sending them (a delay before the headers, a delay between chunks, a cut after some
chunks). The httpx transport and the loopback server each carry out the same plan.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Protocol

from pydantic_core import from_json

from ._render import json_bytes

__all__ = [
    "FakeHandler",
    "FakeRequest",
    "FakeResponse",
    "IdMaker",
    "error_response",
    "iso_time",
    "json_response",
    "page",
]

_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


@dataclass(frozen=True)
class FakeRequest:
    """One request as the fake received it (also the entry type of `FakeClaude.requests`).

    Attributes:
        method: `GET`, `POST` ...
        path: The URL path, e.g. `/v1/messages`.
        query: Query parameters (last value wins).
        headers: Header names lower-cased.
        content: The raw body.
        body: The body parsed as JSON, or None when it is empty or not JSON.
    """

    method: str
    path: str
    query: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    content: bytes = b""
    body: Any = None

    @classmethod
    def build(
        cls,
        method: str,
        path: str,
        *,
        query: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | Sequence[tuple[str, str]] | None = None,
        content: bytes = b"",
    ) -> FakeRequest:
        """A request with lower-cased header names and the body parsed when it is JSON."""
        pairs = headers.items() if isinstance(headers, Mapping) else headers or ()
        lowered = {k.lower(): v for k, v in pairs}
        body: Any = None
        if content and "multipart/" not in lowered.get("content-type", ""):
            try:
                body = from_json(content)
            except ValueError:
                body = None
        return cls(method.upper(), path, dict(query or {}), lowered, content, body)


@dataclass
class FakeResponse:
    """What to send back, and how.

    Attributes:
        status: HTTP status.
        headers: Response headers, in order.
        chunks: The body, one item per write (one SSE event, one JSONL line ...).
        delay: Seconds to wait before sending the headers.
        chunk_delay: Seconds to wait before each chunk after the first.
        cut_after: Send this many bytes of the body, then drop the connection.
    """

    status: int
    headers: list[tuple[str, str]]
    chunks: list[bytes]
    delay: float = 0.0
    chunk_delay: float = 0.0
    cut_after: int | None = None

    @property
    def body(self) -> bytes:
        """The whole body (ignoring the cut)."""
        return b"".join(self.chunks)

    @property
    def streaming(self) -> bool:
        """True when the body is sent in chunks (SSE, JSONL) rather than with a length."""
        kind = dict(self.headers).get("content-type", "")
        return kind.startswith(("text/event-stream", "application/binary", "application/x-jsonl"))

    def planned_chunks(self) -> list[bytes]:
        """The chunks actually sent: the body cut after `cut_after` bytes when set."""
        if self.cut_after is None:
            return self.chunks
        sent: list[bytes] = []
        left = self.cut_after
        for chunk in self.chunks:
            if left <= 0:
                break
            sent.append(chunk[:left])
            left -= len(chunk)
        return sent


class FakeHandler(Protocol):
    """What the adapters (`FakeTransport`, `FakeServer`) serve: a fake that answers requests."""

    def handle(self, request: FakeRequest, *, origin: str = ...) -> FakeResponse:
        """Answer one request; `origin` is the scheme and host the client used."""
        ...


class IdMaker:
    """Ids in the API's formats (`msg_01...`, `toolu_01...`, `req_011C...`), seeded."""

    def __init__(self, seed: int | None) -> None:
        self._random = random.Random(seed)

    def make(self, prefix: str, length: int = 24) -> str:
        """A fresh id: the prefix, then base58 characters."""
        number = self._random.getrandbits(6 * length)
        digits = []
        for _ in range(length - 2):
            number, digit = divmod(number, 58)
            digits.append(_ALPHABET[digit])
        tail = "".join(digits)
        return f"{prefix}_01{tail}"

    def nonce(self) -> bytes:
        """12 bytes for a thinking signature."""
        return self._random.randbytes(12)


def iso_time(timestamp: float, *, zulu: bool = False) -> str:
    """RFC 3339 time as the API writes it (`+00:00` for batches, `Z` for files)."""
    moment = datetime.fromtimestamp(timestamp, timezone.utc)
    if zulu:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return moment.isoformat()


def json_response(
    value: object, request_id: str, *, status: int = 200, headers: Sequence[tuple[str, str]] = ()
) -> FakeResponse:
    """A JSON response with the `request-id` header."""
    return FakeResponse(
        status,
        [("content-type", "application/json"), ("request-id", request_id), *headers],
        [json_bytes(value)],
    )


def error_response(
    status: int,
    error_type: str,
    message: str,
    request_id: str,
    *,
    headers: Sequence[tuple[str, str]] = (),
    final: bool = True,
    error_code: str | None = None,
) -> FakeResponse:
    """An error in the API's shape.

    A 4xx gets `x-should-retry: false` unless `headers` says otherwise or `final` is False (a
    scripted fault sends only the headers it was given). `error_code` goes to
    `error.details.error_code`, where the API names a specific cause.
    """
    error: dict[str, object] = {"type": error_type, "message": message}
    if error_code is not None:
        error["details"] = {"error_code": error_code}
    body = {"type": "error", "error": error, "request_id": request_id}
    extra = list(headers)
    given = any(name.lower() == "x-should-retry" for name, _ in extra)
    if final and not given and status < 500:
        extra.append(("x-should-retry", "false"))
    return json_response(body, request_id, status=status, headers=extra)


def page(
    items: Sequence[Mapping[str, object]], query: Mapping[str, str]
) -> dict[str, object] | str:
    """One page of a list endpoint (`items` newest first), or an error message.

    `after_id` pages forward (older items), `before_id` pages backward, `limit` is 1-1000
    (default 20), as the API's cursor pagination.
    """
    try:
        limit = int(query.get("limit", "20"))
    except ValueError:
        return "limit: Input should be a valid integer"
    if not 1 <= limit <= 1000:
        return "limit: Input should be between 1 and 1000"
    ids = [str(item["id"]) for item in items]
    after, before = query.get("after_id"), query.get("before_id")
    if after is not None and before is not None:
        return "Only one of after_id and before_id may be given"
    if after is not None:
        start = ids.index(after) + 1 if after in ids else len(ids)
        chosen = list(items[start : start + limit])
        more = start + limit < len(items)
    elif before is not None:
        end = ids.index(before) if before in ids else 0
        chosen = list(items[max(0, end - limit) : end])
        more = end - limit > 0
    else:
        chosen = list(items[:limit])
        more = limit < len(items)
    return {
        "data": chosen,
        "has_more": more,
        "first_id": chosen[0]["id"] if chosen else None,
        "last_id": chosen[-1]["id"] if chosen else None,
    }
