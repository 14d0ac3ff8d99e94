"""`client.files` against the recorded Files API exchanges (replayed through respx)."""

from __future__ import annotations

import functools
import io
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from recordings import Recording, load

from agentkit import AsyncClient, Client, InternalServerError, NotFoundError
from agentkit.client import FILES_BETA, FileMetadata, RetryPolicy

BASE = "https://api.anthropic.com"
KEY = "sk-ant-test-key"
CHUNK = 64 * 1024


@functools.cache
def client() -> Client:
    # One client for the module: building an httpx client (its TLS context) costs ~0.1 s.
    return Client(api_key=KEY, retry=RetryPolicy(max_retries=0))


def aclient() -> AsyncClient:
    return AsyncClient(api_key=KEY, retry=RetryPolicy(max_retries=0))


def recorded_url(rec: Recording) -> str:
    assert rec.request is not None
    return BASE + rec.request["path"]


def boundary(request: httpx.Request) -> str:
    found = re.search(r"boundary=([0-9a-f]+)", request.headers["content-type"])
    assert found is not None
    return found.group(1)


def metadata(file_id: str, **extra: Any) -> dict[str, Any]:
    return {**load("files-upload-multipart").body, "id": file_id, **extra}


class Chunks(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A response body that arrives in the given pieces (sync or async)."""

    def __init__(self, pieces: list[bytes]) -> None:
        self.pieces = pieces

    def __iter__(self) -> Iterator[bytes]:
        yield from self.pieces

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for piece in self.pieces:
            yield piece


class ReadRecorder(io.BytesIO):
    """A file object that remembers the size of every read (-1 for "everything")."""

    def __init__(self, data: bytes, *, seekable: bool = True) -> None:
        super().__init__(data)
        self.reads: list[int] = []
        self._seekable = seekable

    def read(self, size: int | None = -1) -> bytes:
        self.reads.append(-1 if size is None else size)
        return super().read(size)

    def seekable(self) -> bool:
        return self._seekable

    def seek(self, offset: int, whence: int = 0) -> int:
        if not self._seekable:
            raise io.UnsupportedOperation("not seekable")
        return super().seek(offset, whence)


# -- upload --------------------------------------------------------------------------------------


@respx.mock
def test_upload_sends_the_recorded_multipart_body() -> None:
    rec = load("files-upload-multipart")
    assert rec.request is not None
    route = respx.post(recorded_url(rec)).mock(return_value=rec.httpx_response())
    meta = client().files.upload(
        ("test.txt", b"Hello from genai file upload test.", "application/octet-stream")
    )
    request = route.calls.last.request
    recorded_boundary = re.search(r"boundary=(\w+)", rec.request["headers"]["Content-Type"])
    assert recorded_boundary is not None
    expected = rec.request["body"].replace(recorded_boundary.group(1), boundary(request))
    assert request.content == expected.encode()
    assert request.headers["anthropic-beta"] == FILES_BETA
    assert request.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert meta.to_dict() == rec.body
    assert meta.size_bytes == 34 and meta.downloadable is False


@respx.mock
def test_upload_from_a_path_streams_it_and_merges_betas(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    data = b"x" * (3 * CHUNK + 17)
    path.write_bytes(data)
    route = respx.post(f"{BASE}/v1/files").mock(
        return_value=httpx.Response(200, json=metadata("file_1", filename="notes.txt"))
    )
    meta = client().files.upload(path, betas=["other-beta", FILES_BETA])
    request = route.calls.last.request
    assert request.headers["anthropic-beta"] == f"{FILES_BETA},other-beta"
    assert request.headers["content-length"] == str(len(request.content))
    head = b'Content-Disposition: form-data; name="file"; filename="notes.txt"\r\n'
    assert head + b"Content-Type: text/plain\r\n\r\n" + data + b"\r\n" in request.content
    assert meta.id == "file_1"
    client().files.upload(str(path))  # a str is a path too
    assert route.call_count == 2


@respx.mock
def test_upload_reads_a_file_object_in_pieces_never_whole() -> None:
    data = bytes(range(256)) * (5 * CHUNK // 256) + b"tail"
    source = ReadRecorder(data)
    source.name = "/somewhere/data.bin"  # type: ignore[misc]
    route = respx.post(f"{BASE}/v1/files").mock(
        return_value=httpx.Response(200, json=metadata("file_2"))
    )
    client().files.upload(source)
    assert source.reads and max(source.reads) == CHUNK and -1 not in source.reads
    assert len(source.reads) >= 6
    content = route.calls.last.request.content
    assert b'filename="data.bin"\r\nContent-Type: application/octet-stream\r\n\r\n' in content
    assert data in content


@respx.mock
def test_upload_bytes_and_two_tuples() -> None:
    route = respx.post(f"{BASE}/v1/files").mock(
        return_value=httpx.Response(200, json=metadata("file_3"))
    )
    client().files.upload(b"raw")
    assert b'filename="upload"\r\nContent-Type: application/octet-stream\r\n\r\nraw\r\n' in (
        route.calls.last.request.content
    )
    client().files.upload(("pic.png", io.BytesIO(b"\x89PNG")))
    assert b'filename="pic.png"\r\nContent-Type: image/png\r\n\r\n\x89PNG\r\n' in (
        route.calls.last.request.content
    )


@respx.mock
def test_upload_retries_only_what_it_can_send_again() -> None:
    rec = load("files-upload-multipart")
    retrying = Client(api_key=KEY, retry=RetryPolicy(max_retries=2, sleep=lambda s: None))
    route = respx.post(f"{BASE}/v1/files").mock(
        side_effect=[httpx.Response(500), rec.httpx_response()]
    )
    seekable = ReadRecorder(b"abc" * 1000)
    assert retrying.files.upload(("a.txt", seekable, "text/plain")).id == rec.body["id"]
    assert route.call_count == 2
    assert all(b"abc" * 1000 in call.request.content for call in route.calls)

    route.side_effect = [httpx.Response(500), rec.httpx_response()]
    route.calls.clear()
    pipe = ReadRecorder(b"abc" * 1000, seekable=False)
    with pytest.raises(InternalServerError):
        retrying.files.upload(("a.txt", pipe, "text/plain"))
    assert route.call_count == 1  # a second attempt would have sent an empty file
    retrying.close()


# -- list, metadata, download, delete ------------------------------------------------------------


@respx.mock
def test_list_pages_with_the_beta_header() -> None:
    pages = [
        {
            "data": [metadata("f1"), metadata("f2")],
            "has_more": True,
            "first_id": "f1",
            "last_id": "f2",
        },
        {"data": [metadata("f3")], "has_more": False, "first_id": "f3", "last_id": "f3"},
    ]
    route = respx.get(f"{BASE}/v1/files").mock(
        side_effect=[httpx.Response(200, json=p) for p in pages]
    )
    files = list(client().files.list(limit=2))
    assert [f.id for f in files] == ["f1", "f2", "f3"]
    assert [f.to_dict() for f in files] == [*pages[0]["data"], *pages[1]["data"]]
    assert [dict(c.request.url.params) for c in route.calls] == [
        {"limit": "2"},
        {"limit": "2", "after_id": "f2"},
    ]
    assert all(c.request.headers["anthropic-beta"] == FILES_BETA for c in route.calls)


@respx.mock
def test_retrieve_metadata() -> None:
    body = metadata("file_011CXu8YNDgo3naeP9KUDZc8")
    route = respx.get(f"{BASE}/v1/files/file_011CXu8YNDgo3naeP9KUDZc8").mock(
        return_value=httpx.Response(200, json=body, headers={"request-id": "req_m"})
    )
    meta = client().files.retrieve_metadata("file_011CXu8YNDgo3naeP9KUDZc8")
    assert meta.to_dict() == body and meta.request_id == "req_m"
    assert route.calls.last.request.headers["anthropic-beta"] == FILES_BETA


@respx.mock
def test_download_streams_content(tmp_path: Path) -> None:
    data = bytes(range(256)) * 1000
    pieces = [data[i : i + 4096] for i in range(0, len(data), 4096)]

    def serve(request: httpx.Request) -> httpx.Response:
        empty = request.url.path.endswith("/empty/content")
        body = Chunks([] if empty else pieces)
        return httpx.Response(200, headers={"content-type": "image/png"}, stream=body)

    route = respx.get(url__regex=rf"{BASE}/v1/files/[^/]+/content").mock(side_effect=serve)
    files = client().files
    with files.download("file_d") as content:
        assert content.content_type == "image/png"
        assert content.read() == data
    request = route.calls.last.request
    assert request.headers["accept"] == "application/binary"
    assert request.headers["anthropic-beta"] == FILES_BETA
    assert b"".join(files.download("file_d").iter_bytes()) == data
    target = tmp_path / "out.png"
    assert files.download("file_d").write_to_file(target) == len(data)
    assert target.read_bytes() == data
    assert files.download("empty").read() == b""


@respx.mock
def test_download_errors_are_typed() -> None:
    respx.get(f"{BASE}/v1/files/nope/content").mock(
        return_value=httpx.Response(
            404,
            json={"type": "error", "error": {"type": "not_found_error", "message": "no file"}},
        )
    )
    with pytest.raises(NotFoundError, match="no file"):
        client().files.download("nope")


@respx.mock
def test_delete_replays() -> None:
    rec = load("files-delete")
    assert rec.request is not None
    route = respx.delete(recorded_url(rec)).mock(return_value=rec.httpx_response())
    deleted = client().files.delete(rec.body["id"])
    request = route.calls.last.request
    assert request.method == "DELETE" and request.content == b""
    assert request.headers["anthropic-beta"] == rec.request["headers"]["Anthropic-Beta"]
    assert deleted.to_dict() == rec.body and deleted.type == "file_deleted"


def test_content_block_by_media_type() -> None:
    def block(mime: str) -> dict[str, Any]:
        return FileMetadata(id="f", mime_type=mime).content_block()

    source = {"type": "file", "file_id": "f"}
    assert block("image/png") == {"type": "image", "source": source}
    assert block("application/pdf") == {"type": "document", "source": source}
    assert block("text/plain") == {"type": "document", "source": source}
    assert block("text/plain; charset=utf-8") == {"type": "document", "source": source}
    assert block("text/csv") == {"type": "container_upload", "file_id": "f"}
    assert block("application/vnd.ms-excel") == {"type": "container_upload", "file_id": "f"}


# -- async ---------------------------------------------------------------------------------------


@pytest.mark.anyio
@respx.mock
async def test_async_files(tmp_path: Path) -> None:
    upload, delete = load("files-upload-multipart"), load("files-delete")
    path = tmp_path / "test.txt"
    path.write_bytes(b"Hello from genai file upload test.")
    up = respx.post(f"{BASE}/v1/files").mock(return_value=upload.httpx_response())
    respx.get(f"{BASE}/v1/files").mock(
        side_effect=[
            httpx.Response(200, json={"data": [upload.body], "has_more": True, "last_id": "a"}),
            httpx.Response(200, json={"data": [metadata("b")], "has_more": False}),
        ]
    )
    respx.get(f"{BASE}/v1/files/{upload.body['id']}").mock(
        return_value=httpx.Response(200, json=upload.body)
    )
    data = b"0123456789" * 10_000
    respx.get(f"{BASE}/v1/files/{upload.body['id']}/content").mock(
        return_value=httpx.Response(200, stream=Chunks([data[:5000], data[5000:]]))
    )
    dl = respx.delete(recorded_url(delete)).mock(return_value=delete.httpx_response())
    async with aclient() as ac:
        meta = await ac.files.upload(path)
        assert meta.to_dict() == upload.body
        assert up.calls.last.request.headers["anthropic-beta"] == FILES_BETA
        assert b"\r\n\r\nHello from genai file upload test.\r\n" in up.calls.last.request.content
        assert [f.id async for f in ac.files.list()] == [upload.body["id"], "b"]
        assert (await ac.files.retrieve_metadata(meta.id)).to_dict() == upload.body
        async with await ac.files.download(meta.id) as content:
            assert await content.read() == data
        target = tmp_path / "copy.bin"
        assert await (await ac.files.download(meta.id)).write_to_file(target) == len(data)
        assert target.read_bytes() == data
        chunks = [c async for c in (await ac.files.download(meta.id)).iter_bytes()]
        assert b"".join(chunks) == data
        assert (await ac.files.delete(delete.body["id"])).to_dict() == delete.body
    assert dl.calls.last.request.headers["anthropic-beta"] == FILES_BETA


@pytest.mark.anyio
@respx.mock
async def test_async_upload_streams_a_file_object() -> None:
    source = ReadRecorder(b"z" * (4 * CHUNK))
    route = respx.post(f"{BASE}/v1/files").mock(
        return_value=httpx.Response(200, json=metadata("file_z"))
    )
    async with aclient() as ac:
        await ac.files.upload(("z.bin", source, "application/octet-stream"))
    assert max(source.reads) == CHUNK and -1 not in source.reads
    assert b"z" * (4 * CHUNK) in route.calls.last.request.content
