"""`client.files`: upload, list, inspect, download and delete files (the Files API, beta).

Uploads stream: a path is opened and read in 64 KiB pieces while the request is sent, never
whole. Downloads stream too. Every request carries the `files-api-2025-04-14` beta (merged with
any betas the call names). An uploaded file goes into a message as a source:
`{"type": "document", "source": {"type": "file", "file_id": ...}}`; `FileMetadata.content_block()`
builds the right block, and requests that use one need the same beta
(`betas=[FILES_BETA]`).

This module holds the models and the pure request building; `AsyncFiles` (`_async/_files.py`)
and the sync copy generated from it send them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import IO, TYPE_CHECKING, TypeVar
from urllib.parse import quote

import httpx

from ..types._params import RequestOptions
from ._base import FileField, RequestSpec, json_object, model_parser, spec_from_params

if TYPE_CHECKING:
    from ._file_models import DeletedFile, FileMetadata

__all__ = [
    "FILES_BETA",
    "FileInput",
    "download_spec",
    "file_spec",
    "list_files_spec",
    "parse_deleted",
    "parse_metadata",
    "upload_field",
    "upload_spec",
    "validate_metadata",
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


# -- pure steps ----------------------------------------------------------------------------------


@contextmanager
def upload_field(file: FileInput) -> Iterator[FileField]:
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


def upload_spec(field: FileField, options: RequestOptions) -> RequestSpec[FileMetadata]:
    """The multipart `POST /v1/files` request."""
    spec = spec_from_params(
        "POST", "/v1/files", options, parse=parse_metadata, default_betas=(FILES_BETA,)
    )
    # httpx rewinds a seekable file for each attempt; a pipe or socket cannot be rewound, so a
    # retry would send a truncated file as if it were whole. Send such a stream once.
    retries = spec.max_retries if _rewindable(field[1]) else 0
    return replace(spec, files={"file": field}, max_retries=retries)


T = TypeVar("T")


def file_spec(
    method: str,
    file_id: str,
    suffix: str,
    options: RequestOptions,
    parse: Callable[[httpx.Response], T],
    *,
    stream: bool = False,
) -> RequestSpec[T]:
    """A request about one file: metadata (GET), content (GET .../content), delete (DELETE)."""
    path = f"/v1/files/{quote(file_id, safe='')}{suffix}"
    return spec_from_params(
        method,
        path,
        options,
        parse=parse,
        stream=stream,
        body=False,
        default_betas=(FILES_BETA,),
    )


def download_spec(file_id: str, options: RequestOptions) -> RequestSpec[httpx.Response]:
    """The streamed `GET /v1/files/{id}/content`; its result is the unread response."""
    spec = file_spec("GET", file_id, "/content", options, _unread, stream=True)
    return replace(spec, headers={**spec.headers, "accept": "application/binary"})


def list_files_spec(
    options: RequestOptions, query: Mapping[str, object]
) -> RequestSpec[dict[str, object]]:
    """A `GET /v1/files` of one page (`query`: its cursor)."""
    return spec_from_params(
        "GET",
        "/v1/files",
        options,
        query=query,
        body=False,
        parse=json_object,
        default_betas=(FILES_BETA,),
    )


def _unread(response: httpx.Response) -> httpx.Response:
    return response


def validate_metadata(data: object) -> FileMetadata:
    """`FileMetadata.model_validate`, the model loaded on first use (not at import)."""
    from ._file_models import FileMetadata

    return FileMetadata.model_validate(data)


def _validate_deleted(data: object) -> DeletedFile:
    from ._file_models import DeletedFile

    return DeletedFile.model_validate(data)


parse_metadata = model_parser(validate_metadata)
parse_deleted = model_parser(_validate_deleted)
