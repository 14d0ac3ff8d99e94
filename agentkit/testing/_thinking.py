"""Sign the thinking blocks the fake emits and check the ones a request sends back.

The real API binds each thinking signature to the thinking text and to the response it came in,
and rejects a request whose thinking blocks were altered, dropped or reordered. The fake does the
same with an HMAC: every signature (and every `redacted_thinking.data`) encodes a per-response
nonce, the block's position among that response's thinking blocks, how many there were, and a
MAC over all of it plus the thinking text, keyed with a per-fake secret.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = ["ThinkingSigner", "thinking_problems"]

_THINKING = frozenset({"thinking", "redacted_thinking"})
_VERSION = b"\x01"
_MAC_LEN = 32
_NONCE_LEN = 12


@dataclass(frozen=True)
class _Token:
    nonce: bytes
    index: int
    count: int


class ThinkingSigner:
    """Creates and verifies the opaque thinking tokens of one fake."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def _mac(self, head: bytes, payload: str) -> bytes:
        return hmac.new(self._secret, head + payload.encode(), hashlib.sha256).digest()

    def sign(self, nonce: bytes, index: int, count: int, payload: str) -> str:
        """The token for block `index` of `count` thinking blocks in response `nonce`."""
        head = _VERSION + nonce + bytes((index, count))
        return base64.b64encode(head + self._mac(head, payload)).decode()

    def verify(self, token: object, payload: str) -> _Token | None:
        """The decoded token when it is one of ours and matches `payload`, else None."""
        if not isinstance(token, str):
            return None
        try:
            raw = base64.b64decode(token, validate=True)
        except (binascii.Error, ValueError):
            return None
        head, mac = raw[:-_MAC_LEN], raw[-_MAC_LEN:]
        if len(head) != 1 + _NONCE_LEN + 2 or head[:1] != _VERSION:
            return None
        if not hmac.compare_digest(mac, self._mac(head, payload)):
            return None
        return _Token(head[1 : 1 + _NONCE_LEN], head[-2], head[-1])


def redacted_payload(nonce: bytes) -> str:
    """What a `redacted_thinking` token signs: its nonce stands in for the hidden text."""
    return "redacted:" + nonce.hex()


def _block_token(signer: ThinkingSigner, block: Mapping[str, object]) -> _Token | None:
    if block.get("type") == "thinking":
        text = block.get("thinking")
        return signer.verify(block.get("signature"), text if isinstance(text, str) else "")
    data = block.get("data")
    if not isinstance(data, str):
        return None
    try:
        nonce = base64.b64decode(data, validate=True)[1 : 1 + _NONCE_LEN]
    except (binascii.Error, ValueError):
        return None
    return signer.verify(data, redacted_payload(nonce))


_MODIFIED = (
    "messages.{i}.content.{k}: `thinking` or `redacted_thinking` blocks in the latest assistant "
    "message cannot be modified. These blocks must remain as they were in the original response."
)


def thinking_problems(
    signer: ThinkingSigner, messages: Sequence[tuple[int, Mapping[str, object]]]
) -> list[str]:
    """Problems with the thinking blocks of the assistant messages in a request.

    A response's thinking blocks must come back complete and in order. Dropping all of them is
    left to the structural rules (with thinking on, the API then wants a thinking block first;
    with it off, old thinking may go).

    Args:
        signer: The fake's signer.
        messages: `(index in the request, message)` for the messages the API looks at (those after
            the latest compaction block).

    Returns:
        The 400 messages, worded like the API's.
    """
    problems: list[str] = []
    for i, message in messages:
        content = message.get("content")
        if message.get("role") != "assistant" or not isinstance(content, list):
            continue
        seen: dict[bytes, list[int]] = {}
        counts: dict[bytes, int] = {}
        for k, block in enumerate(content):
            if not isinstance(block, dict) or block.get("type") not in _THINKING:
                continue
            token = _block_token(signer, block)
            if token is None:
                kind = block.get("type")
                field = "signature" if kind == "thinking" else "data"
                problems.append(f"messages.{i}.content.{k}: Invalid `{field}` in `{kind}` block")
                continue
            counts[token.nonce] = token.count
            positions = seen.setdefault(token.nonce, [])
            if token.index != len(positions):  # a block before it was dropped, or they swapped
                problems.append(_MODIFIED.format(i=i, k=k))
            positions.append(token.index)
        for nonce, positions in seen.items():
            if len(positions) != counts[nonce]:  # trailing blocks dropped
                problems.append(_MODIFIED.format(i=i, k=len(content) - 1))
    return problems
