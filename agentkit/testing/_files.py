"""The fake's Files API store, and the multipart parsing its upload endpoint needs.

Uploaded files are kept in memory. Like the real API, files uploaded by a client are not
downloadable (`downloadable: false`, the content endpoint answers 400); files a test adds with
`FakeClaude.add_file(..., downloadable=True)` stand in for files that tools such as code execution
create, and those can be downloaded.
"""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ._http import IdMaker, iso_time, page

__all__ = ["FileStore", "StoredFile", "parse_multipart"]

_BOUNDARY = re.compile(r'boundary="?([^";]+)"?')
_DISPOSITION = re.compile(r'(\w+)="([^"]*)"')


@dataclass(frozen=True)
class StoredFile:
    """One file: its metadata object and its bytes."""

    meta: dict[str, Any]
    content: bytes


def parse_multipart(content_type: str, body: bytes) -> dict[str, tuple[str | None, str, bytes]]:
    """The parts of a `multipart/form-data` body: name -> (filename, content type, bytes)."""
    found = _BOUNDARY.search(content_type)
    if found is None:
        return {}
    delimiter = b"--" + found.group(1).encode()
    parts: dict[str, tuple[str | None, str, bytes]] = {}
    for raw in body.split(delimiter)[1:]:
        if raw.startswith(b"--"):
            break
        head, _, data = raw.partition(b"\r\n\r\n")
        if data.endswith(b"\r\n"):
            data = data[:-2]
        headers: dict[str, str] = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        fields = dict(_DISPOSITION.findall(headers.get("content-disposition", "")))
        if "name" in fields:
            kind = headers.get("content-type", "application/octet-stream")
            parts[fields["name"]] = (fields.get("filename"), kind, data)
    return parts


class FileStore:
    """All files of one fake, newest first in listings."""

    def __init__(self, ids: IdMaker, clock: Callable[[], float]) -> None:
        self._ids = ids
        self._clock = clock
        self._files: dict[str, StoredFile] = {}

    def add(
        self, content: bytes, filename: str, mime_type: str | None, *, downloadable: bool
    ) -> dict[str, Any]:
        """Store a file; returns its metadata object."""
        if not mime_type:  # the API keeps the part's content type; guess only when there is none
            mime_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        meta = {
            "type": "file",
            "id": self._ids.make("file"),
            "size_bytes": len(content),
            "created_at": iso_time(self._clock(), zulu=True),
            "filename": filename,
            "mime_type": mime_type,
            "downloadable": downloadable,
        }
        self._files[str(meta["id"])] = StoredFile(meta, content)
        return meta

    def get(self, file_id: str) -> StoredFile | None:
        """The file, or None."""
        return self._files.get(file_id)

    def delete(self, file_id: str) -> bool:
        """Remove a file; False when there was none."""
        return self._files.pop(file_id, None) is not None

    def list_page(self, query: Mapping[str, str]) -> dict[str, Any] | str:
        """A page of `GET /v1/files`."""
        return page([f.meta for f in list(self._files.values())[::-1]], query)
