"""`client.files`: upload, list, inspect, download and delete files."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import anyio
from typing_extensions import Unpack

from ...types._params import RequestOptions
from .._files import (
    FileInput,
    download_spec,
    file_spec,
    list_files_spec,
    parse_deleted,
    parse_metadata,
    upload_field,
    upload_spec,
    validate_metadata,
)
from .._models_api import ListParams, cursor_query
from ._pagination import AsyncPager, list_pages
from ._requester import AsyncRequester
from ._response import AsyncBody

if TYPE_CHECKING:
    from .._file_models import DeletedFile, FileMetadata

__all__ = ["AsyncFileContent", "AsyncFiles"]


class AsyncFileContent(AsyncBody):
    """A file's content as it downloads; read it once (`read`, `iter_bytes` or `write_to_file`).

    The connection closes when the body has been consumed, on `close()`, or when leaving `with`.
    """

    @property
    def content_type(self) -> str | None:
        """The `content-type` of the file as served."""
        value: str | None = self.http_response.headers.get("content-type")
        return value

    async def read(self) -> bytes:
        """The whole content, in memory."""
        return b"".join([chunk async for chunk in self.iter_bytes()])

    async def iter_bytes(self, chunk_size: int | None = None) -> AsyncIterator[bytes]:
        """The content in chunks, as it arrives."""
        try:
            async for chunk in self._chunks(chunk_size):
                yield chunk
        finally:
            await self.close()

    async def write_to_file(self, path: str | os.PathLike[str]) -> int:
        """Stream the content into `path` (created or truncated); returns the bytes written.

        Async code writes without blocking the event loop.
        """
        written = 0
        opened = await anyio.open_file(path, "wb")  # unasync: opened = open(path, "wb")
        async with opened as out:
            async for chunk in self.iter_bytes():
                await out.write(chunk)
                written += len(chunk)
        return written


class AsyncFiles:
    """`client.files`: the Files API (beta `files-api-2025-04-14`)."""

    def __init__(self, client: AsyncRequester) -> None:
        self._client = client

    async def upload(self, file: FileInput, **options: Unpack[RequestOptions]) -> FileMetadata:
        """Upload a file, streaming its content.

        httpx reads a file object with plain (blocking) reads of 64 KiB between network writes;
        in async code, pass a path or a regular file, not an async file object.

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
            return await self._client.call(upload_spec(field, options))

    def list(self, **params: Unpack[ListParams]) -> AsyncPager[FileMetadata]:
        """The files, newest first: the first page, iterable over every file across pages."""
        query = cursor_query(params)
        return list_pages(self._client, lambda q: list_files_spec(params, q), query, _metadata)

    async def retrieve_metadata(
        self, file_id: str, **options: Unpack[RequestOptions]
    ) -> FileMetadata:
        """A file's metadata."""
        return await self._client.call(file_spec("GET", file_id, "", options, parse_metadata))

    async def download(self, file_id: str, **options: Unpack[RequestOptions]) -> AsyncFileContent:
        """Open a file's content for streaming (only files the API marks `downloadable`).

        Raises:
            APIStatusError: e.g. 404 for an unknown id, 400 for a file that cannot be downloaded.
        """
        spec = download_spec(file_id, options)
        return AsyncFileContent(await self._client.send(spec, stream=True))

    async def delete(self, file_id: str, **options: Unpack[RequestOptions]) -> DeletedFile:
        """Delete a file."""
        return await self._client.call(file_spec("DELETE", file_id, "", options, parse_deleted))


def _metadata(item: object) -> FileMetadata:
    return validate_metadata(item)
