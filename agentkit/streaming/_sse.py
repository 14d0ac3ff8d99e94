"""Decode a `text/event-stream` body, fed as bytes in any chunking, into server-sent events.

Sans-IO: `SSEDecoder.feed(bytes)` returns the events completed by that chunk and `flush()` the
last one when the body ends. It follows the WHATWG event-stream rules (CR, LF and CRLF line ends,
multi-line `data`, comments, `event`, `id`, `retry`, a leading BOM) and passes every event name
through; deciding what an event means is the caller's job.

Speed matters here: a long answer is thousands of tiny events. The decoder works on bytes,
splits whole chunks into lines with one C-level `split`, and never decodes the data:
`ServerSentEvent.json()` parses the UTF-8 bytes directly, and `.data` decodes them only when
asked. Because lines are only cut at line ends, a UTF-8 character split across two network reads
is joined before anything looks at it.
"""

from __future__ import annotations

from typing import Any

from pydantic_core import from_json

__all__ = ["SSEDecoder", "ServerSentEvent"]

_BOM = b"\xef\xbb\xbf"


class ServerSentEvent:
    """One dispatched event.

    Attributes:
        event: The event name (`"message"` when the stream named none, as the standard says).
        raw: The data as UTF-8 bytes, multi-line data joined with `\\n`.
        id: The last event id seen on the stream so far (the standard carries it forward), or None.
        retry: The reconnection time in milliseconds set by this event, or None.
    """

    __slots__ = ("event", "id", "raw", "retry")

    def __init__(
        self,
        event: str = "message",
        data: bytes | str = b"",
        id: str | None = None,
        retry: int | None = None,
    ) -> None:
        self.event = event
        self.raw = data.encode() if isinstance(data, str) else data
        self.id = id
        self.retry = retry

    @property
    def data(self) -> str:
        """The data as text (invalid UTF-8 replaced, as the standard says)."""
        return self.raw.decode("utf-8", "replace")

    def json(self) -> Any:
        """Parse the data as JSON (straight from the bytes).

        Raises:
            ValueError: The data is not valid JSON.
        """
        return from_json(self.raw)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ServerSentEvent):
            return NotImplemented
        return (self.event, self.raw, self.id, self.retry) == (
            other.event,
            other.raw,
            other.id,
            other.retry,
        )

    __hash__ = None  # type: ignore[assignment]  # mutable value object

    def __repr__(self) -> str:
        return (
            f"ServerSentEvent(event={self.event!r}, data={self.raw!r}, "
            f"id={self.id!r}, retry={self.retry!r})"
        )


class SSEDecoder:
    """Incremental event-stream decoder: bytes in, `ServerSentEvent`s out.

    Example:
        >>> decoder = SSEDecoder()
        >>> decoder.feed(b'event: ping\\ndata: {"type": "pi')
        []
        >>> decoder.feed(b'ng"}\\n\\n')
        [ServerSentEvent(event='ping', data=b'{"type": "ping"}', id=None, retry=None)]
    """

    __slots__ = (
        "_heads",
        "_last_id",
        "_names",
        "_pending",
        "_retry",
        "_skip_lf",
        "_started",
    )

    def __init__(self) -> None:
        # The tail of the input after the last line end, in pieces (joined once a line end comes,
        # so one-byte chunks do not cost quadratic copying).
        self._pending: list[bytes] = []
        # The last chunk ended in CR: a LF at the start of the next one belongs to that CRLF.
        self._skip_lf = False
        self._started = False
        self._retry: int | None = None
        self._last_id: str | None = None
        # Event names repeat all stream long; decode each distinct name once.
        self._names: dict[bytes, str] = {}
        self._heads: dict[bytes, str] = {}  # the same, keyed by the whole "event: NAME" line

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        """Take the next chunk of the body; return the events it completed, in order.

        Raises:
            TypeError: `chunk` is not bytes (text must be encoded first).
        """
        if not isinstance(chunk, bytes | bytearray):
            raise TypeError(f"SSEDecoder.feed() takes bytes, not {type(chunk).__name__}")
        return self._decode(chunk, pairs=False)

    def flush(self) -> list[ServerSentEvent]:
        """The body ended: dispatch what is left (a last event without its blank line)."""
        return self._rest(pairs=False)

    def feed_pairs(self, chunk: bytes) -> list[tuple[str, bytes]]:
        """`feed`, giving `(event, data)` pairs: what a stream needs, without building objects.

        The stream shells use this when the decoder has it; `id` and `retry` are tracked all the
        same but not reported.
        """
        return self._decode(chunk, pairs=True)

    def flush_pairs(self) -> list[tuple[str, bytes]]:
        """`flush`, giving `(event, data)` pairs."""
        return self._rest(pairs=True)

    def _decode(self, chunk: bytes, *, pairs: bool) -> list[Any]:
        if self._skip_lf:
            self._skip_lf = False
            if chunk[:1] == b"\n":
                chunk = chunk[1:]
        if not self._started:
            # A byte-order mark may open the stream, and may itself be split across chunks.
            head = b"".join(self._pending) + chunk
            self._pending = []
            if len(head) < 3 and _BOM.startswith(head):
                if head:
                    self._pending.append(head)
                return []
            self._started = True
            chunk = head[3:] if head.startswith(_BOM) else head
        # Membership tests use byte values (13 is CR, 10 is LF): `10 in b` is one memchr, while
        # `b"\n" in b` runs a general substring search that costs ten times as much.
        has_cr = 13 in chunk
        if not has_cr and 10 not in chunk:
            if chunk:
                self._pending.append(chunk)
            return []
        if self._pending:
            self._pending.append(chunk)
            chunk = b"".join(self._pending)
            self._pending = []
        if has_cr:
            if chunk[-1:] == b"\r":
                self._skip_lf = True
            chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        # Cut at blank lines: every piece but the last is one whole event.
        blocks = chunk.split(b"\n\n")
        tail = blocks.pop()
        if tail:
            self._pending.append(tail)
        out: list[Any] = []
        heads = self._heads
        for block in blocks:
            # The API's own shape, "event: NAME\ndata: JSON", takes the fast path: a partition
            # and a dict lookup of the "event: NAME" line, checked once per distinct name.
            head, sep, raw = block.partition(b"\ndata: ")
            if sep and 10 not in raw:
                name = heads.get(head)
                if name is None and head[:7] == b"event: " and 10 not in head:
                    name = heads[head] = head[7:].decode("utf-8", "replace") or "message"
                if name is not None:
                    out.append((name, raw) if pairs else ServerSentEvent(name, raw, self._last_id))
                    continue
            self._lines(block.split(b"\n"), out, pairs)
        return out

    def _rest(self, *, pairs: bool) -> list[Any]:
        out: list[Any] = []
        if self._pending:
            block = b"".join(self._pending)
            self._pending = []
            self._lines(block.split(b"\n"), out, pairs)
        return out

    def _lines(self, lines: list[bytes], out: list[Any], pairs: bool) -> None:
        """The general case: one event's lines (or several, with extra blank lines), any field."""
        event: bytes | None = None
        data: list[bytes] | None = None
        lines.append(b"")
        for line in lines:
            if not line:
                if data is not None or event is not None:
                    sse = self._dispatch(event, data)
                    out.append((sse.event, sse.raw) if pairs else sse)
                    event = data = None
                self._retry = None
            elif line[0] != 0x3A:  # ":" starts a comment
                event, data = self._field(line, event, data)

    def _field(
        self, line: bytes, event: bytes | None, data: list[bytes] | None
    ) -> tuple[bytes | None, list[bytes] | None]:
        name, colon, value = line.partition(b":")
        if colon and value[:1] == b" ":
            value = value[1:]
        if name == b"data":
            data = [value] if data is None else [*data, value]
        elif name == b"event":
            event = value
        elif name == b"id":
            if b"\0" not in value:
                self._last_id = value.decode("utf-8", "replace")
        elif name == b"retry":
            if value.isdigit():
                self._retry = int(value)
        # Any other field is ignored, as the standard says.
        return event, data

    def _dispatch(self, event: bytes | None, data: list[bytes] | None) -> ServerSentEvent:
        if event:
            name = self._names.get(event)
            if name is None:
                name = self._names[event] = event.decode("utf-8", "replace")
        else:
            name = "message"
        if data is None:
            raw = b""
        elif len(data) == 1:
            raw = data[0]
        else:
            raw = b"\n".join(data)
        return ServerSentEvent(name, raw, self._last_id, self._retry)
