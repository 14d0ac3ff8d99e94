"""Read a request's messages as the API validates them: merged turns, cut at compaction, with facts.

Two API behaviours shape this view, and every preflight rule reads messages through it:

* **Consecutive messages with the same role are merged** by the API before it validates, so
  indices in its messages count merged turns (a recorded 400 names `messages.0.content.1` for a
  request of two user messages). `merge_turns` merges the same way, so the rules report the
  same indices.
* **Compaction.** The API ignores every block before the latest `compaction` block, so
  `merge_turns` keeps only the messages from that block on.

What the rules need from a turn's blocks is extracted once, in one pass (`Facts`), and a
`PreflightMemo` carries the turns between requests of one conversation, so that a growing
conversation only analyses its new turns.
"""

from __future__ import annotations

import bisect
import operator
from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = ["THINKING_TYPES", "Facts", "PreflightMemo", "Scan", "Turn", "merge_turns"]

THINKING_TYPES = frozenset({"thinking", "redacted_thinking"})


@dataclass(eq=False)
class Turn:
    """Consecutive same-role messages merged, as the API sees them, with what the rules need.

    `blocks` pairs each block's index in the merged content with the block. Everything derived
    from the blocks is computed once per turn (`facts`), and the preflight rules cache the
    problems that depend only on this turn and the one before it against that previous turn
    (`cached_problems`), so a conversation that passes the same memo for each request re-checks
    only new turns.
    """

    index: int
    role: str
    blocks: list[tuple[int, object]] = field(default_factory=list)
    raw_empty: bool = True
    starts_with_compaction: bool = False
    cached_problems: tuple[Turn | None, list[str]] | None = None
    _facts: Facts | None = None

    @property
    def facts(self) -> Facts:
        """What the rules read from this turn's blocks (extracted on first use)."""
        if self._facts is None:
            self._facts = Facts.of(self)
        return self._facts

    def trimmed(self, start: int) -> Turn:
        """A copy holding the blocks from index `start` on (the API ignores those before)."""
        return Turn(
            index=self.index,
            role=self.role,
            blocks=[(k, b) for k, b in self.blocks if k >= start],
            raw_empty=self.raw_empty,
            starts_with_compaction=True,
        )


@dataclass
class Facts:
    """What the rules read from one turn's blocks, extracted in one pass."""

    tool_ids: list[tuple[int, str]]  # tool_use and server_tool_use ids, with their index
    client_calls: list[str]  # tool_use ids, in order
    results: list[tuple[int, object]]  # (index, tool_use_id) of each tool_result
    results_only: bool  # every block is a tool_result
    first_other_index: int | None  # index of the first block that is not a tool_result
    thinking: list[tuple[int, str]]  # (index, type) of thinking and redacted_thinking blocks
    thinking_cache_control: list[tuple[int, str]]
    first_type: object  # type of the first block, skipping whitespace-only text
    last_type: object
    last_text: object
    empty_text: bool
    whitespace_text: bool
    compaction_at: int | None  # index of the last compaction block
    cache_sites: list[tuple[str, object]]  # (path below the message, cache_control)

    @classmethod
    def of(cls, turn: Turn) -> Facts:
        """Extract the facts of one turn's blocks."""
        tool_ids: list[tuple[int, str]] = []
        client_calls: list[str] = []
        results: list[tuple[int, object]] = []
        first_other: int | None = None
        thinking: list[tuple[int, str]] = []
        thinking_cc: list[tuple[int, str]] = []
        first_type: object = None
        empty_text = whitespace_text = False
        compaction_at: int | None = None
        sites: list[tuple[str, object]] = []
        for k, block in turn.blocks:
            if type(block) is not dict:
                if first_other is None:
                    first_other = k
                continue
            kind = block.get("type")
            kind_for_first = kind
            if kind == "text":
                text = block.get("text")
                if text == "":
                    empty_text = True
                elif isinstance(text, str) and not text.strip():
                    whitespace_text = True
                    # Whitespace-only text does not count as the first block: the API itself
                    # returns adaptive-thinking replies that open with "\n\n" before the thinking
                    # block (recording text-nonstream-adaptive-thinking-leading-text).
                    kind_for_first = None
            if first_type is None and kind_for_first is not None:
                first_type = kind_for_first
            if kind == "tool_result":
                results.append((k, block.get("tool_use_id")))
                nested = block.get("content")
                if isinstance(nested, list):
                    for j, inner in enumerate(nested):
                        if isinstance(inner, dict) and "cache_control" in inner:
                            sites.append((f"content.{k}.content.{j}", inner["cache_control"]))
            elif first_other is None:
                first_other = k
            if kind in ("tool_use", "server_tool_use"):
                tool_id = block.get("id")
                if isinstance(tool_id, str):
                    tool_ids.append((k, tool_id))
                    if kind == "tool_use":
                        client_calls.append(tool_id)
            elif kind in THINKING_TYPES:
                thinking.append((k, str(kind)))
                if "cache_control" in block:
                    thinking_cc.append((k, str(kind)))
            elif kind == "compaction":
                compaction_at = k
            if "cache_control" in block:
                sites.append((f"content.{k}", block["cache_control"]))
        sites.sort(key=lambda site: [int(p) for p in site[0].split(".")[1::2]])
        last = turn.blocks[-1][1] if turn.blocks else None
        last_type = last_text = None
        if type(last) is dict:
            last_type, last_text = last.get("type"), last.get("text")
        if first_type is None and turn.blocks:
            first = turn.blocks[0][1]
            first_type = first.get("type") if type(first) is dict else None
        return cls(
            tool_ids=tool_ids,
            client_calls=client_calls,
            results=results,
            results_only=bool(results) and len(results) == len(turn.blocks),
            first_other_index=first_other,
            thinking=thinking,
            thinking_cache_control=thinking_cc,
            first_type=first_type,
            last_type=last_type,
            last_text=last_text,
            empty_text=empty_text,
            whitespace_text=whitespace_text and turn.role == "user",
            compaction_at=compaction_at,
            cache_sites=sites,
        )


def _as_blocks(content: object) -> list[object]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    if isinstance(content, list):
        return content
    return []


class PreflightMemo:
    """Analysis of a growing message list, kept between requests of one conversation.

    Pass the same memo to `preflight_problems` for successive requests whose `messages` extend
    the previous list with the same message objects (as `Conversation.request_body` does): the
    turns already seen are not analysed again. Messages are matched by identity, so a message
    dict must not be changed after it was checked (conversation entries never are).
    """

    def __init__(self) -> None:
        self.messages: list[object] = []
        self.turns: list[Turn] = []
        self.ends: list[int] = []  # message index where each turn ends (exclusive)
        self.compactions: list[int] = []  # positions of the turns holding a compaction block
        self.scan: Scan | None = None
        # The settled turns and the cache breakpoints in them.
        self.sites: tuple[list[Turn], list[tuple[str, object]]] | None = (
            None  # where the message rules' last scan can go on from
        )


@dataclass
class Scan:
    """Where the message rules (`_preflight._message_problems`) were after some turns.

    Attributes:
        turns: The turns scanned, and the one after them (whose results the last one read).
        problems: What they found so far.
        empty_text: A user text block was empty so far.
        whitespace_text: A user text block was whitespace only so far.
        seen_ids: The tool_use ids so far.
    """

    turns: list[Turn]
    problems: list[str]
    empty_text: bool
    whitespace_text: bool
    seen_ids: set[str]


def merge_turns(messages: Sequence[object], memo: PreflightMemo | None = None) -> list[Turn]:
    """Merge same-role neighbours and cut everything before the latest compaction block.

    Args:
        messages: The request's `messages` (anything; malformed entries become turns of role
            `"?"` with no blocks, for the rules to report).
        memo: Turns of an earlier request of the same conversation to reuse; updated in place.

    Returns:
        The turns the API validates, numbered as the API numbers them.
    """
    turns: list[Turn] = []
    ends: list[int] = []
    start = 0
    if memo is not None and memo.turns:
        old = memo.messages
        if len(old) <= len(messages) and all(map(operator.is_, old, messages)):
            same = len(old)  # the common case: the conversation only grew
        else:
            same = 0
            limit = min(len(old), len(messages))
            while same < limit and old[same] is messages[same]:
                same += 1
        # A turn is reused when the message after it is unchanged too, so it still ends where
        # it did (that message had another role); the memo's last turn may grow, so it is
        # reused only when the first new message has another role (the common path: a reply
        # after the tool results, results after a reply).
        kept = bisect.bisect_left(memo.ends, same, 0, len(memo.ends) - 1)
        if same == len(old) < len(messages) and kept == len(memo.turns) - 1:
            following = messages[same]
            role = following.get("role") if isinstance(following, dict) else None
            if isinstance(role, str) and role != memo.turns[-1].role:
                kept += 1
        turns, ends = memo.turns[:kept], memo.ends[:kept]
        start = ends[-1] if ends else 0
    reused = len(turns)
    for n in range(start, len(messages)):
        message = messages[n]
        role = message.get("role") if isinstance(message, dict) else None
        role = role if isinstance(role, str) else "?"
        blocks = _as_blocks(message.get("content") if isinstance(message, dict) else None)
        if not turns or turns[-1].role != role:
            turns.append(Turn(index=len(turns), role=role))
            ends.append(n + 1)
        else:
            ends[-1] = n + 1
        turn = turns[-1]
        turn.blocks.extend(enumerate(blocks, len(turn.blocks)))
        turn.raw_empty = turn.raw_empty and not blocks
    # Where compaction blocks are: the memo's, for the turns reused; the new turns' own.
    compactions = [p for p in (memo.compactions if memo is not None else []) if p < reused]
    compactions += [
        p for p in range(reused, len(turns)) if turns[p].facts.compaction_at is not None
    ]
    if memo is not None:
        memo.messages, memo.turns, memo.ends = list(messages), list(turns), ends
        memo.compactions = compactions
    # The API drops every block before the latest compaction block, so nothing before it can
    # break a rule; the turn holding it is kept from the compaction block on.
    if compactions:
        position = compactions[-1]
        at = turns[position].facts.compaction_at
        assert at is not None
        return [turns[position].trimmed(at), *turns[position + 1 :]]
    return turns
