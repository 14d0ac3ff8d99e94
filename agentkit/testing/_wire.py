"""A small sans-IO HTTP/1.1 server codec: request bytes in, requests out; responses to bytes.

The loopback server spends most of its time here, so it is kept lean: requests with a
`Content-Length` or a chunked body, pipelining, `Connection: close` / HTTP/1.0, and
`Expect: 100-continue`; anything malformed is a `WireError` (answered with 400 and a close).
Responses carry a `Content-Length` or use chunked encoding (SSE and JSONL bodies, one chunk per
event or line).
"""

from __future__ import annotations

from dataclasses import dataclass
from http import HTTPStatus

__all__ = ["CONTINUE", "LAST_CHUNK", "RequestParser", "WireError", "WireRequest", "chunk", "head"]

CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
LAST_CHUNK = b"0\r\n\r\n"
_MAX_HEAD = 64 * 1024
_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})


class WireError(ValueError):
    """The client sent something that is not an HTTP/1.1 request this server can read."""


@dataclass(frozen=True)
class WireRequest:
    """One complete request."""

    method: str
    target: str
    headers: list[tuple[str, str]]
    body: bytes
    keep_alive: bool


@dataclass
class _Head:
    method: str
    target: str
    headers: list[tuple[str, str]]
    keep_alive: bool
    length: int | None  # None: chunked
    expects_continue: bool


class RequestParser:
    """Incremental request parser for one connection."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._head: _Head | None = None
        self._body = bytearray()
        self.continue_due = False
        """True once when a request asked for `100 Continue`: the server should send it now."""

    def feed(self, data: bytes) -> list[WireRequest]:
        """Add received bytes; returns the requests they completed, in order.

        Raises:
            WireError: The bytes are not a valid request.
        """
        self._buffer += data
        done: list[WireRequest] = []
        while True:
            if self._head is None:
                end = self._buffer.find(b"\r\n\r\n")
                if end < 0:
                    if len(self._buffer) > _MAX_HEAD:
                        raise WireError("request head too large")
                    return done
                self._head = _parse_head(bytes(self._buffer[:end]))
                del self._buffer[: end + 4]
                self.continue_due = self._head.expects_continue
            if not self._read_body():
                return done
            head = self._head
            body = bytes(self._body)
            done.append(WireRequest(head.method, head.target, head.headers, body, head.keep_alive))
            self._head = None
            self._body = bytearray()
            self.continue_due = False

    def _read_body(self) -> bool:
        """Move body bytes from the buffer; True when the body is complete."""
        assert self._head is not None
        if self._head.length is not None:
            need = self._head.length - len(self._body)
            self._body += self._buffer[:need]
            del self._buffer[:need]
            return len(self._body) == self._head.length
        while True:  # chunked: size line, data, CRLF ... then "0", trailers, blank line
            line_end = self._buffer.find(b"\r\n")
            if line_end < 0:
                return False
            try:
                size = int(bytes(self._buffer[:line_end]).split(b";")[0].strip(), 16)
            except ValueError:
                raise WireError("bad chunk size") from None
            if size == 0:  # the trailer section (usually empty) ends with a blank line
                end = self._buffer.find(b"\r\n\r\n", line_end)
                if end < 0:
                    return False
                del self._buffer[: end + 4]
                return True
            start = line_end + 2
            if len(self._buffer) < start + size + 2:
                return False
            if self._buffer[start + size : start + size + 2] != b"\r\n":
                raise WireError("chunk not followed by CRLF")
            self._body += self._buffer[start : start + size]
            del self._buffer[: start + size + 2]


def _parse_head(raw: bytes) -> _Head:
    lines = raw.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or parts[0] not in _METHODS or parts[2] not in ("HTTP/1.1", "HTTP/1.0"):
        raise WireError(f"bad request line: {lines[0][:80]!r}")
    method, target, version = parts
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip() or line[0] in " \t":
            raise WireError(f"bad header line: {line[:80]!r}")
        headers.append((name.lower(), value.strip()))
    fields = dict(headers)
    connection = fields.get("connection", "").lower()
    keep_alive = "close" not in connection and (version == "HTTP/1.1" or "keep-alive" in connection)
    length: int | None = 0
    if "chunked" in fields.get("transfer-encoding", "").lower():
        length = None
    elif "content-length" in fields:
        try:
            length = int(fields["content-length"])
        except ValueError:
            raise WireError("bad content-length") from None
        if length < 0:
            raise WireError("bad content-length")
    expects = fields.get("expect", "").lower() == "100-continue" and length != 0
    return _Head(method, target, headers, keep_alive, length, expects)


def head(
    status: int, headers: list[tuple[str, str]], *, length: int | None, keep_alive: bool
) -> bytes:
    """The status line and headers; `length=None` means a chunked body."""
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = ""
    lines = [f"HTTP/1.1 {status} {reason}"]
    lines += [f"{name}: {value}" for name, value in headers]
    lines.append("transfer-encoding: chunked" if length is None else f"content-length: {length}")
    if not keep_alive:
        lines.append("connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def chunk(data: bytes) -> bytes:
    """One chunk of a chunked body (never empty: that would end the body)."""
    return b"%x\r\n%s\r\n" % (len(data), data) if data else b""
