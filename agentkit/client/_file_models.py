"""The Files API's response models (`client.files`), loaded on first use: pydantic models cost
import time, and a program that never touches files never builds them (issue 18)."""

from __future__ import annotations

from ..types._message import APIModel
from ..types._private import PrivateValue

__all__ = ["DeletedFile", "FileMetadata"]


class FileMetadata(APIModel):
    """An uploaded file as the API describes it."""

    id: str
    type: str = "file"
    filename: str | None = None
    mime_type: str | None = None
    size_bytes: int | None = None
    created_at: str | None = None
    downloadable: bool | None = None

    _request_id = PrivateValue[str]()

    @property
    def request_id(self) -> str | None:
        """The `request-id` header of the response this metadata came in."""
        return self._request_id

    def content_block(self) -> dict[str, object]:
        """The content block that puts this file in a message, chosen by its media type.

        Images become `image` blocks, PDFs and plain text `document` blocks (the types the
        API reads itself); anything else (CSV, spreadsheets, data) is a `container_upload` for
        the code execution tool to read.
        """
        source: dict[str, object] = {"type": "file", "file_id": self.id}
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

    # The `request-id` header of the response (the official SDK's public `_request_id`).
    _request_id = PrivateValue[str]()
