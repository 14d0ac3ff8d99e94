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

from ._http import FakeRequest, FakeResponse, IdMaker, error_response, iso_time, json_response, page

__all__ = ["FileStore", "StoredFile", "parse_multipart"]

_BOUNDARY = re.compile(r'boundary="?([^";]+)"?')
_DISPOSITION = re.compile(r'(\w+)="([^"]*)"')


@dataclass(frozen=True)
class StoredFile:
    """One file: its metadata object and its bytes."""

    meta: dict[str, object]
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
    ) -> dict[str, object]:
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

    def list_page(self, query: Mapping[str, str]) -> dict[str, object] | str:
        """A page of `GET /v1/files`."""
        return page([f.meta for f in list(self._files.values())[::-1]], query)

    def route(self, method: str, rest: list[str], req: FakeRequest, rid: str) -> FakeResponse:
        """Answer a request under `/v1/files` (`rest`: the path after it)."""
        store = self
        if not rest:
            if method == "GET":
                listed = store.list_page(req.query)
                if isinstance(listed, str):
                    return error_response(400, "invalid_request_error", listed, rid)
                return json_response(listed, rid)
            if method == "POST":
                parts = parse_multipart(req.headers.get("content-type", ""), req.content)
                if "file" not in parts:
                    return error_response(400, "invalid_request_error", "file: Field required", rid)
                filename, kind, data = parts["file"]
                meta = store.add(data, filename or "upload", kind, downloadable=False)
                return json_response(meta, rid)
            return error_response(405, "invalid_request_error", "Method Not Allowed", rid)
        stored = store.get(rest[0])
        if stored is None:
            return error_response(404, "not_found_error", f"File not found: {rest[0]}", rid)
        match (method, rest[1:]):
            case ("GET", []):
                return json_response(stored.meta, rid)
            case ("DELETE", []):
                store.delete(rest[0])
                return json_response({"id": rest[0], "type": "file_deleted"}, rid)
            case ("GET", ["content"]):
                if not stored.meta["downloadable"]:
                    message = f"File {rest[0]} is not downloadable (uploaded files never are)."
                    return error_response(400, "invalid_request_error", message, rid)
                headers = [("content-type", str(stored.meta["mime_type"])), ("request-id", rid)]
                return FakeResponse(200, headers, [stored.content])
        return error_response(404, "not_found_error", "Not Found", rid)
