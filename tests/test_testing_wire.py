"""The loopback server's HTTP/1.1 codec: any split of the bytes, pipelining, chunked bodies."""

from __future__ import annotations

import socket

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentkit.testing import FakeClaude
from agentkit.testing._wire import LAST_CHUNK, RequestParser, WireError, chunk, head

BODY = b'{"model":"claude-haiku-4-5","max_tokens":8,"messages":[{"role":"user","content":"Hi"}]}'
SIMPLE = (
    b"POST /v1/messages?beta=true HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    b"Content-Length: %d\r\n\r\n%s" % (len(BODY), BODY)
)
CHUNKED = (
    b"POST /v1/files HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nX-Trailer: 1\r\n\r\n"
)
CLOSE = b"GET /v1/models HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
OLD = b"GET /v1/models HTTP/1.0\r\n\r\n"
STREAM = SIMPLE + CHUNKED + CLOSE + OLD


def parse_in_pieces(data: bytes, cuts: list[int]) -> list[tuple[str, str, bytes, bool]]:
    parser = RequestParser()
    out = []
    start = 0
    for cut in [*sorted(cuts), len(data)]:
        for request in parser.feed(data[start:cut]):
            out.append((request.method, request.target, request.body, request.keep_alive))
        start = cut
    return out


EXPECTED = [
    ("POST", "/v1/messages?beta=true", BODY, True),
    ("POST", "/v1/files", b"hello, world", True),
    ("GET", "/v1/models", b"", False),
    ("GET", "/v1/models", b"", False),
]


def test_every_single_split_point() -> None:
    for cut in range(len(STREAM) + 1):
        assert parse_in_pieces(STREAM, [cut]) == EXPECTED, cut


@given(st.lists(st.integers(min_value=0, max_value=len(STREAM)), max_size=12))
def test_any_chunking(cuts: list[int]) -> None:
    assert parse_in_pieces(STREAM, cuts) == EXPECTED


def test_headers_are_lower_cased_and_kept_in_order() -> None:
    (request,) = RequestParser().feed(SIMPLE)
    assert request.headers[:2] == [("host", "x"), ("content-type", "application/json")]


def test_expect_continue_is_flagged_once_the_head_arrives() -> None:
    parser = RequestParser()
    raw = b"POST /x HTTP/1.1\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n"
    assert parser.feed(raw) == []
    assert parser.continue_due
    (request,) = parser.feed(b"abc")
    assert request.body == b"abc" and not parser.continue_due


@pytest.mark.parametrize(
    "raw",
    [
        b"NOPE / HTTP/1.1\r\n\r\n",
        b"GET / HTTP/2\r\n\r\n",
        b"GET / HTTP/1.1\r\nno colon\r\n\r\n",
        b"GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"GET / HTTP/1.1\r\nX: " + b"a" * 70_000,
    ],
)
def test_malformed_requests_are_errors(raw: bytes) -> None:
    with pytest.raises(WireError):
        RequestParser().feed(raw)


def test_response_encoding() -> None:
    assert head(200, [("content-type", "application/json")], length=2, keep_alive=True) == (
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n"
    )
    assert head(529, [], length=None, keep_alive=False) == (
        b"HTTP/1.1 529 \r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n"
    )
    assert chunk(b"event") + LAST_CHUNK == b"5\r\nevent\r\n0\r\n\r\n"
    assert chunk(b"") == b""


def raw_exchange(url: str, data: bytes) -> bytes:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(data)
        received = b""
        while chunk_ := sock.recv(65536):
            received += chunk_
    return received


def test_server_answers_pipelined_requests_and_bad_ones() -> None:
    fake = FakeClaude()
    with fake.serve() as server:
        answer = raw_exchange(server.url, SIMPLE + CLOSE)
        assert answer.count(b"HTTP/1.1 200 OK") == 2
        assert answer.rstrip().endswith(b'"last_id":"claude-3-haiku-20240307"}')
        bad = raw_exchange(server.url, b"BREW /pot HTTP/1.1\r\n\r\n")
        assert bad.startswith(b"HTTP/1.1 400 Bad Request") and b"connection: close" in bad
        host, port = server.url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=5) as sock:
            sock.sendall(
                b"GET /v1/models/claude-haiku-4-5-20251001 HTTP/1.1\r\nConnection: close\r\n"
                b"Content-Length: 2\r\nExpect: 100-continue\r\n\r\n"
            )
            assert sock.recv(65536) == b"HTTP/1.1 100 Continue\r\n\r\n"
            sock.sendall(b"{}")
            assert sock.recv(65536).startswith(b"HTTP/1.1 200 OK")
    assert [r.path for r in fake.requests] == [
        "/v1/messages",
        "/v1/models",
        "/v1/models/claude-haiku-4-5-20251001",
    ]
    assert fake.requests[0].query == {"beta": "true"}


def test_server_holds_hundreds_of_open_connections() -> None:
    fake = FakeClaude()
    with fake.serve() as server:
        host, port = server.url.removeprefix("http://").split(":")
        sockets = [socket.create_connection((host, int(port)), timeout=10) for _ in range(200)]
        try:
            for sock in sockets:  # every connection is open before any is answered
                sock.sendall(SIMPLE)
            for sock in sockets:
                received = b""
                while b"\r\n\r\n" not in received:
                    received += sock.recv(65536)
                assert received.startswith(b"HTTP/1.1 200 OK")
                length = int(received.split(b"content-length: ")[1].split(b"\r\n")[0])
                body = received.split(b"\r\n\r\n", 1)[1]
                while len(body) < length:
                    body += sock.recv(65536)
                assert b'"type":"message"' in body
        finally:
            for sock in sockets:
                sock.close()
    assert len(fake.requests) == 200
