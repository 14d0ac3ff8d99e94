"""Read what the API reads from images and PDFs: the image format and size, the PDF page count.

Only headers are parsed (PNG IHDR, JPEG SOF markers, GIF logical screen, WebP VP8/VP8L/VP8X), so
no imaging library is needed. The token formulas are the documented ones: an image costs
`width * height / 750` tokens after it is scaled down to at most 1568 px on the long edge and
about 1.15 megapixels; a PDF page is sent as text plus an image of the page.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
import struct

__all__ = ["decode_base64", "image_info", "image_tokens", "pdf_pages", "pdf_tokens"]

_MAX_EDGE = 1568
_MAX_PIXELS = 1_150_000  # ~1600 tokens, the documented ceiling before resizing
# Each page goes to the model as an image, rendered at the documented size cap, plus its text
# (compressed in the file, so the fake takes a short page's worth). One page costs about 1,600
# tokens: the low end of the documented 1,500-3,000 a page, and what the recorded one-page PDFs
# cost (1,599 and 1,615 input tokens with a short question).
_PAGE_IMAGE = (1240, 927)
_PAGE_TEXT_TOKENS = 50
_PAGE = re.compile(rb"/Type\s*/Page(?![a-zA-Z])")
_COUNT = re.compile(rb"/Count\s+(\d+)")


def decode_base64(data: str) -> bytes | None:
    """The decoded bytes, or None when `data` is not base64."""
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return None


def _jpeg_size(raw: bytes) -> tuple[int, int] | None:
    pos = 2
    while pos + 9 < len(raw):
        if raw[pos] != 0xFF:
            return None
        marker = raw[pos + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        (length,) = struct.unpack(">H", raw[pos + 2 : pos + 4])
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", raw[pos + 5 : pos + 9])
            return width, height
        pos += 2 + length
    return None


def _webp_size(raw: bytes) -> tuple[int, int] | None:
    chunk = raw[12:16]
    if chunk == b"VP8 " and len(raw) >= 30:
        width, height = struct.unpack("<HH", raw[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L" and len(raw) >= 25:
        bits = int.from_bytes(raw[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X" and len(raw) >= 30:
        return int.from_bytes(raw[24:27], "little") + 1, int.from_bytes(raw[27:30], "little") + 1
    return None


def image_info(raw: bytes) -> tuple[str, tuple[int, int] | None] | None:
    """`(media type, (width, height) or None)` from an image's header; None when unrecognized."""
    if raw.startswith(b"\x89PNG\r\n\x1a\n"):
        size = struct.unpack(">II", raw[16:24]) if len(raw) >= 24 else None
        return "image/png", size
    if raw.startswith(b"\xff\xd8\xff"):
        return "image/jpeg", _jpeg_size(raw)
    if raw.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif", struct.unpack("<HH", raw[6:10]) if len(raw) >= 10 else None
    if raw.startswith(b"RIFF") and raw[8:12] == b"WEBP":
        return "image/webp", _webp_size(raw)
    return None


def image_tokens(width: int, height: int) -> int:
    """The documented cost of an image: `w * h / 750` after the documented downscaling."""
    scale = min(
        1.0, _MAX_EDGE / max(width, height, 1), math.sqrt(_MAX_PIXELS / max(1, width * height))
    )
    return max(1, math.ceil(int(width * scale) * int(height * scale) / 750))


def pdf_pages(raw: bytes) -> int:
    """The number of pages in a PDF: the page tree's `/Count`, else its page objects; at least 1."""
    counts = [int(n) for n in _COUNT.findall(raw)]
    return max(1, max(counts, default=0) or len(_PAGE.findall(raw)))


def pdf_tokens(raw: bytes) -> int:
    """A PDF's cost: per page, its image and its text (the documented per-page estimate)."""
    return pdf_pages(raw) * (image_tokens(*_PAGE_IMAGE) + _PAGE_TEXT_TOKENS)
