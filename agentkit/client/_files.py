"""`client.files`: upload, list, inspect, download and delete files (the Files API, beta).

Uploads stream: a path is opened and read in 64 KiB pieces while the request is sent, never
whole. Downloads stream too. Every request carries the `files-api-2025-04-14` beta (merged with
any betas the call names). An uploaded file goes into a message as a source:
`{"type": "document", "source": {"type": "file", "file_id": ...}}`; `FileMetadata.content_block()`
builds the right block, and requests that use one need the same beta
(`betas=[FILES_BETA]`).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import quote

import httpx
from pydantic import PrivateAttr
from typing_extensions import Unpack

from .._exceptions import request_id_of
from ..types._message import APIModel
from ..types._params import RequestOptions
from ._base import RequestSpec, spec_from_params, transport_error
from ._models_api import ListParams, split_list_params
from ._pagination import AsyncPage, AsyncPager, Page, build_page

if TYPE_CHECKING:
    from ._client import AsyncClient, Client

__all__ = [
    "FILES_BETA",
    "AsyncFileContent",
    "AsyncFiles",
    "DeletedFile",
    "FileContent",
    "FileInput",
    "FileMetadata",
    "Files",
]

FILES_BETA = "files-api-2025-04-14"

FileInput = (
    str
    | os.PathLike[str]
    | bytes
    | IO[bytes]
    | tuple[str, bytes | IO[bytes]]
    | tuple[str, bytes | IO[bytes], str | None]
)
"""What `files.upload` takes: a path (`str` or `PathLike`), bytes, a binary file object, or a
`(filename, content, media_type)` tuple whose content is bytes or a binary file object."""

_FieldTuple = tuple[str, bytes | IO[bytes], str | None]


class FileMetadata(APIModel):
    """An uploaded file as the API describes it."""

    id: str
    type: str = "file"
    filename: str | None = None
    mime_type: str | None = None
    size_bytes: int | None = None
    created_at: str | None = None
    downloadable: bool | None = None

    _request_id: str | None = PrivateAttr(default=None)

    @property
    def request_id(self) -> str | None:
        """The `request-id` header of the response this metadata came in."""
        return self._request_id

    def content_block(self) -> dict[str, Any]:
        """The content block that puts this file in a message, chosen by its media type.

        Images become `image` blocks, PDFs and plain text `document` blocks (the types the
        API reads itself); anything else (CSV, spreadsheets, data) is a `container_upload` for
        the code execution tool to read.
        """
        source = {"type": "file", "file_id": self.id}
        mime = (self.mime_type or "").split(";")[0].strip().lower()
        if mime.startswith("image/"):
            return {"type": "image", "source": source}
        if mime in ("application/pdf", "text/plain"):
            return {"type": "document", "source": source}
        return {"type": "container_upload", "file_id": self.id}


class DeletedFile(APIModel):
    """The answer of `files.delete`."""

    id: str
    type: str = "file_deleted"


# -- pure steps ----------------------------------------------------------------------------------


@contextmanager
def upload_field(file: FileInput) -> Iterator[_FieldTuple]:
    """The multipart `(filename, content, media type)` of an upload, opening a path for its span.

    A media type of None lets httpx guess it from the filename (`application/octet-stream` when
    it cannot).
    """
    if isinstance(file, str | os.PathLike):
        path = Path(file)
        with path.open("rb") as handle:
            yield (path.name, handle, None)
    elif isinstance(file, bytes | bytearray | memoryview):
        yield ("upload", bytes(file), None)
    elif isinstance(file, tuple):
        yield (file[0], file[1], file[2] if len(file) > 2 else None)
    else:
        yield (Path(str(getattr(file, "name", "upload"))).name, file, None)


def _rewindable(content: bytes | IO[bytes]) -> bool:
    if isinstance(content, bytes):
        return True
    seekable = getattr(content, "seekable", None)
    try:
        return bool(seekable()) if callable(seekable) else False
    except (OSError, ValueError):
        return False


def upload_spec(field: _FieldTuple, options: Mapping[str, Any]) -> RequestSpec:
    """The multipart `POST /v1/files` request."""
    spec = spec_from_params(
        "POST", "/v1/files", options, parse=FileMetadata.model_validate, default_betas=(FILES_BETA,)
    )
    # httpx rewinds a seekable file for each attempt; a pipe or socket cannot be rewound, so a
    # retry would send a truncated file as if it were whole. Send such a stream once.
    retries = spec.max_retries if _rewindable(field[1]) else 0
    return replace(spec, files={"file": field}, max_retries=retries)


def file_spec(
    method: str, file_id: str, suffix: str, options: Mapping[str, Any], **kwargs: Any
) -> RequestSpec:
    """A request about one file: metadata (GET), content (GET .../content), delete (DELETE)."""
    path = f"/v1/files/{quote(file_id, safe='')}{suffix}"
    return spec_from_params(
        method, path, options, body=False, default_betas=(FILES_BETA,), **kwargs
    )


def download_spec(file_id: str, options: Mapping[str, Any]) -> RequestSpec:
    """The streamed `GET /v1/files/{id}/content`."""
    spec = file_spec("GET", file_id, "/content", options, stream=True)
    return replace(spec, headers={**spec.headers, "accept": "application/binary"})


def list_files_spec(query: Mapping[str, object], options: Mapping[str, Any]) -> RequestSpec:
    """A `GET /v1/files` of one page."""
    return spec_from_params(
        "GET", "/v1/files", {**query, **options}, body=False, default_betas=(FILES_BETA,)
    )


# -- I/O shells ----------------------------------------------------------------------------------


class _ContentView:
    def __init__(self, response: httpx.Response) -> None:
        self.http_response = response

    @property
    def headers(self) -> httpx.Headers:
        """The response headers."""
        return self.http_response.headers

    @property
    def content_type(self) -> str | None:
        """The `content-type` of the file as served."""
        value: str | None = self.http_response.headers.get("content-type")
        return value

    @property
    def request_id(self) -> str | None:
        """The `request-id` header."""
        value: str | None = request_id_of(self.http_response.headers)
        return value


class FileContent(_ContentView):
    """A file's content as it downloads; read it once (`read`, `iter_bytes` or `write_to_file`).

    The connection closes when the body has been consumed, on `close()`, or when leaving `with`.
    """

    def read(self) -> bytes:
        """The whole content, in memory."""
        return b"".join(self.iter_bytes())

    def iter_bytes(self, chunk_size: int | None = None) -> Iterator[bytes]:
        """The content in chunks, as it arrives."""
        try:
            yield from self.http_response.iter_bytes(chunk_size)
        except httpx.TransportError as exc:
            raise transport_error(exc, self.http_response.request) from exc
        finally:
            self.close()

    def write_to_file(self, path: str | os.PathLike[str]) -> int:
        """Stream the content into `path` (created or truncated); returns the bytes written."""
        written = 0
        with open(path, "wb") as out:
            for chunk in self.iter_bytes():
                out.write(chunk)
                written += len(chunk)
        return written

    def close(self) -> None:
        """Release the connection."""
        self.http_response.close()

    def __enter__(self) -> FileContent:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncFileContent(_ContentView):
    """`FileContent` for async code: `await read()`, `async for` over `iter_bytes()` ..."""

    async def read(self) -> bytes:
        """The whole content, in memory."""
        return b"".join([chunk async for chunk in self.iter_bytes()])

    async def iter_bytes(self, chunk_size: int | None = None) -> AsyncIterator[bytes]:
        """The content in chunks, as it arrives."""
        try:
            async for chunk in self.http_response.aiter_bytes(chunk_size):
                yield chunk
        except httpx.TransportError as exc:
            raise transport_error(exc, self.http_response.request) from exc
        finally:
            await self.close()

    async def write_to_file(self, path: str | os.PathLike[str]) -> int:
        """Stream the content into `path` without blocking the event loop; returns the size."""
        import anyio

        written = 0
        async with await anyio.open_file(path, "wb") as out:
            async for chunk in self.iter_bytes():
                await out.write(chunk)
                written += len(chunk)
        return written

    async def close(self) -> None:
        """Release the connection."""
        await self.http_response.aclose()

    async def __aenter__(self) -> AsyncFileContent:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


class Files:
    """`client.files`: the Files API (beta `files-api-2025-04-14`)."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def upload(self, file: FileInput, **options: Unpack[RequestOptions]) -> FileMetadata:
        """Upload a file, streaming its content.

        Args:
            file: A path, bytes, a binary file object (sent from its start), or a
                `(filename, content, media_type)` tuple. Without a media type, it is guessed
                from the filename.
            **options: Request options (betas are added to the Files beta).

        Returns:
            The new file's metadata.

        Raises:
            OSError: the path cannot be opened.
            APIStatusError: the API refused the upload.
        """
        with upload_field(file) as field:
            result: FileMetadata = self._client._call(upload_spec(field, options))
        return result

    def list(self, **params: Unpack[ListParams]) -> Page[FileMetadata]:
        """The first page of files, newest first; iterate it for every file across pages."""
        query, options = split_list_params(dict(params))
        return self._page(query, options)

    def _page(self, query: dict[str, object], options: dict[str, Any]) -> Page[FileMetadata]:
        body = self._client._call(list_files_spec(query, options))
        page: Page[FileMetadata] = build_page(Page, body, query, FileMetadata.model_validate)
        page._fetch = lambda q: self._page(q, options)
        return page

    def retrieve_metadata(self, file_id: str, **options: Unpack[RequestOptions]) -> FileMetadata:
        """A file's metadata."""
        spec = file_spec("GET", file_id, "", options, parse=FileMetadata.model_validate)
        result: FileMetadata = self._client._call(spec)
        return result

    def download(self, file_id: str, **options: Unpack[RequestOptions]) -> FileContent:
        """Open a file's content for streaming (only files the API marks `downloadable`).

        Raises:
            APIStatusError: e.g. 404 for an unknown id, 400 for a file that cannot be downloaded.
        """
        return FileContent(self._client._send(download_spec(file_id, options), stream=True))

    def delete(self, file_id: str, **options: Unpack[RequestOptions]) -> DeletedFile:
        """Delete a file."""
        spec = file_spec("DELETE", file_id, "", options, parse=DeletedFile.model_validate)
        result: DeletedFile = self._client._call(spec)
        return result


class AsyncFiles:
    """`client.files` on an `AsyncClient`; see `Files`."""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def upload(self, file: FileInput, **options: Unpack[RequestOptions]) -> FileMetadata:
        """Upload a file, streaming its content; see `Files.upload`.

        httpx reads a file object with plain (blocking) reads of 64 KiB between network writes;
        pass a path or a regular file, not an async file object.
        """
        with upload_field(file) as field:
            result: FileMetadata = await self._client._call(upload_spec(field, options))
        return result

    def list(self, **params: Unpack[ListParams]) -> AsyncPager[FileMetadata]:
        """`await` for the first page, or `async for` over every file across pages."""
        query, options = split_list_params(dict(params))
        return AsyncPager(lambda: self._page(query, options))

    async def _page(
        self, query: dict[str, object], options: dict[str, Any]
    ) -> AsyncPage[FileMetadata]:
        body = await self._client._call(list_files_spec(query, options))
        page: AsyncPage[FileMetadata] = build_page(
            AsyncPage, body, query, FileMetadata.model_validate
        )
        page._fetch = lambda q: self._page(q, options)
        return page

    async def retrieve_metadata(
        self, file_id: str, **options: Unpack[RequestOptions]
    ) -> FileMetadata:
        """A file's metadata."""
        spec = file_spec("GET", file_id, "", options, parse=FileMetadata.model_validate)
        result: FileMetadata = await self._client._call(spec)
        return result

    async def download(self, file_id: str, **options: Unpack[RequestOptions]) -> AsyncFileContent:
        """Open a file's content for streaming; see `Files.download`."""
        response = await self._client._send(download_spec(file_id, options), stream=True)
        return AsyncFileContent(response)

    async def delete(self, file_id: str, **options: Unpack[RequestOptions]) -> DeletedFile:
        """Delete a file."""
        spec = file_spec("DELETE", file_id, "", options, parse=DeletedFile.model_validate)
        result: DeletedFile = await self._client._call(spec)
        return result
