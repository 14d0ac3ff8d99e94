"""Read a request's messages as the API validates them: merged turns, cut at compaction, with facts.

Two API behaviours shape this view, and every preflight rule reads messages through it:

* **Consecutive messages with the same role are merged** by the API before it validates, so
  indices in its messages count merged turns (a recorded 400 names `messages.0.content.1` for a
  request of two user messages). `merge_turns` merges the same way, so the rules report the
  same indices.
* **Compaction.** The API ignores every block before the latest `compaction` block, so
  `merge_turns` keeps only the messages from that block on.

What the rules need from a turn's blocks is extracted once, in one pass (`Turn`), and a
`PreflightMemo` carries the turns between requests of one conversation, so that a growing
conversation only analyses its new turns.
"""

from __future__ import annotations

import bisect
import operator
from collections.abc import Sequence
from collections.abc import Set as AbstractSet

__all__ = ["THINKING_TYPES", "PreflightMemo", "Scan", "Turn", "merge_turns"]

THINKING_TYPES = frozenset({"thinking", "redacted_thinking"})
_NO_IDS: frozenset[str] = frozenset()


class Turn:
    """Consecutive same-role messages merged, as the API sees them, with what the rules need.

    `blocks` pairs each block's index in the merged content with the block. A turn is built
    once its messages are known and never changes after: what the rules read from its blocks
    is extracted then, in one pass (the attributes below), and a memo reuses the object itself
    while the messages it was merged from are unchanged. The preflight rules cache the problems
    that depend only on this turn and the one before it against that previous turn
    (`cached_problems`).

    Attributes:
        tool_ids: tool_use and server_tool_use ids, with their index.
        client_calls: tool_use ids, in order.
        call_ids: The same, as a set.
        results: (index, tool_use_id) of each tool_result.
        result_ids: Their tool_use_ids as a set; None unless all are strings.
        results_only: Every block is a tool_result.
        first_other_index: Index of the first block that is not a tool_result.
        thinking: (index, type) of thinking and redacted_thinking blocks.
        thinking_cache_control: The same, for those with cache_control.
        first_type: Type of the first block, skipping whitespace-only text.
        last_type: Type of the last block.
        last_text: Text of the last block.
        empty_text: A text block is empty.
        whitespace_text: A user text block is whitespace only.
        compaction_at: Index of the last compaction block.
        cache_sites: (path below the message, cache_control), in order.
    """

    __slots__ = (
        "_trimmed",
        "blocks",
        "cache_sites",
        "cached_problems",
        "call_ids",
        "client_calls",
        "compaction_at",
        "empty_text",
        "first_other_index",
        "first_type",
        "index",
        "last_text",
        "last_type",
        "raw_empty",
        "result_ids",
        "results",
        "results_only",
        "role",
        "starts_with_compaction",
        "thinking",
        "thinking_cache_control",
        "tool_ids",
        "whitespace_text",
    )

    def __init__(
        self,
        index: int,
        role: str,
        blocks: list[tuple[int, object]],
        raw_empty: bool,
        starts_with_compaction: bool = False,
    ) -> None:
        self.index = index
        self.role = role
        self.blocks = blocks
        self.raw_empty = raw_empty
        self.starts_with_compaction = starts_with_compaction
        self.cached_problems: tuple[Turn | None, list[str]] | None = None
        self._trimmed: Turn | None = None
        # Most lists stay empty (a tool loop's turns hold text, tool_use or tool_result blocks):
        # each is made on its first item, and an empty one is a shared constant.
        tool_ids: list[tuple[int, str]] | None = None
        client_calls: list[str] | None = None
        call_ids: set[str] | None = None
        results: list[tuple[int, object]] | None = None
        result_ids: set[str] | None = None
        all_str = True
        first_other: int | None = None
        thinking: list[tuple[int, str]] | None = None
        thinking_cc: list[tuple[int, str]] | None = None
        first_type: object = None
        empty_text = whitespace_text = False
        compaction_at: int | None = None
        sites: list[tuple[str, object]] | None = None
        for k, block in blocks:
            if type(block) is not dict:
                if first_other is None:
                    first_other = k
                continue
            kind = block.get("type")
            if kind == "text":
                text = block.get("text")
                if isinstance(text, str) and text.isspace():  # stops at the first letter
                    whitespace_text = True
                    # Whitespace-only text does not count as the first block: the API itself
                    # returns adaptive-thinking replies that open with "\n\n" before the thinking
                    # block (recording text-nonstream-adaptive-thinking-leading-text).
                elif first_type is None:
                    first_type = kind
                if text == "":
                    empty_text = True
                if first_other is None:
                    first_other = k
            else:
                if first_type is None:
                    first_type = kind
                if kind == "tool_result":
                    answers = block.get("tool_use_id")
                    if results is None:
                        results = []
                    results.append((k, answers))
                    if type(answers) is str:
                        if result_ids is None:
                            result_ids = set()
                        result_ids.add(answers)
                    else:
                        all_str = False
                    nested = block.get("content")
                    if isinstance(nested, list):
                        for j, inner in enumerate(nested):
                            if isinstance(inner, dict) and "cache_control" in inner:
                                if sites is None:
                                    sites = []
                                sites.append((f"content.{k}.content.{j}", inner["cache_control"]))
                else:
                    if first_other is None:
                        first_other = k
                    if kind == "tool_use" or kind == "server_tool_use":
                        tool_id = block.get("id")
                        if isinstance(tool_id, str):
                            if tool_ids is None:
                                tool_ids = []
                            tool_ids.append((k, tool_id))
                            if kind == "tool_use":
                                if client_calls is None or call_ids is None:
                                    client_calls, call_ids = [], set()
                                client_calls.append(tool_id)
                                call_ids.add(tool_id)
                    elif kind in THINKING_TYPES:
                        if thinking is None:
                            thinking = []
                        thinking.append((k, str(kind)))
                        if "cache_control" in block:
                            if thinking_cc is None:
                                thinking_cc = []
                            thinking_cc.append((k, str(kind)))
                    elif kind == "compaction":
                        compaction_at = k
            if "cache_control" in block:
                if sites is None:
                    sites = []
                sites.append((f"content.{k}", block["cache_control"]))
        if sites is not None and len(sites) > 1:
            sites.sort(key=_site_order)
        last = blocks[-1][1] if blocks else None
        last_type = last_text = None
        if type(last) is dict:
            last_type, last_text = last.get("type"), last.get("text")
        if first_type is None and blocks:
            first = blocks[0][1]
            first_type = first.get("type") if type(first) is dict else None
        self.tool_ids: Sequence[tuple[int, str]] = tool_ids or ()
        self.client_calls: Sequence[str] = client_calls or ()
        self.call_ids: AbstractSet[str] = call_ids or _NO_IDS
        self.results: Sequence[tuple[int, object]] = results or ()
        self.result_ids: AbstractSet[str] | None = (result_ids or _NO_IDS) if all_str else None
        self.results_only = results is not None and len(results) == len(blocks)
        self.first_other_index = first_other
        self.thinking: Sequence[tuple[int, str]] = thinking or ()
        self.thinking_cache_control: Sequence[tuple[int, str]] = thinking_cc or ()
        self.first_type = first_type
        self.last_type = last_type
        self.last_text = last_text
        self.empty_text = empty_text
        self.whitespace_text = whitespace_text and role == "user"
        self.compaction_at = compaction_at
        self.cache_sites: Sequence[tuple[str, object]] = sites or ()

    def trimmed(self, start: int) -> Turn:
        """A copy holding the blocks from index `start` on (the API ignores those before).

        The copy is kept, so every view cut at this turn's compaction block holds the same object
        (a memo recognises the turns it has checked by identity).
        """
        cut = self._trimmed
        if cut is None or cut.blocks[0][0] != start:
            blocks = [(k, b) for k, b in self.blocks if k >= start]
            cut = self._trimmed = Turn(self.index, self.role, blocks, self.raw_empty, True)
        return cut


def _site_order(site: tuple[str, object]) -> list[int]:
    return [int(p) for p in site[0].split(".")[1::2]]


def _as_blocks(content: object) -> list[object]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    if isinstance(content, list):
        return content
    return []


def _role(message: object) -> str:
    role = message.get("role") if isinstance(message, dict) else None
    return role if isinstance(role, str) else "?"


class Scan:
    """What the message rules found in the settled turns of a memo's view, extended in place.

    Turn `n` of a view is settled once the view has two turns after it: it can no longer grow
    (turn `n + 1` follows it) nor be the final turn, and the turn it reads (`n + 1`, for the
    results of its tool calls) cannot grow either. What the rules found in `turns[:count]` then
    holds for every later view whose first `count + 1` turns are the same objects. The turns
    after them (the last two) are checked on top of them by each request, into `tail`, which
    joins the settled findings once those turns settle with nothing they read changed.

    Attributes:
        count: How many turns are settled.
        problems: What the rules found in them, in order.
        empty_text: A user text block was empty in them.
        whitespace_text: A user text block was whitespace only in them.
        seen_ids: Their tool_use ids.
        sites: Their cache breakpoints, as (path, cache_control).
        tail: What the rules found in the view's last two turns (the turns that are not
            settled yet), checked on top of these; its `count` is where the view ended.
    """

    __slots__ = ("count", "empty_text", "problems", "seen_ids", "sites", "tail", "whitespace_text")

    def __init__(self) -> None:
        self.count = 0
        self.tail: Scan | None = None
        self.problems: list[str] = []
        self.empty_text = False
        self.whitespace_text = False
        self.seen_ids: set[str] = set()
        self.sites: list[tuple[str, object]] = []


class PreflightMemo:
    """Analysis of a growing message list, kept between requests of one conversation.

    Pass the same memo to `preflight_problems` for successive requests whose `messages` extend
    the previous list with the same message objects (as `Conversation.request_body` does): the
    turns already seen are not analysed again. Messages are matched by identity, so a message
    dict must not be changed after it was checked (conversation entries never are). A request
    whose messages differ from the previous one's reuses what is before the first difference.
    """

    def __init__(self) -> None:
        # The previous request's messages and their turns (all of them, before any compaction
        # cut), kept up to date in place.
        self.messages: list[object] = []
        self.turns: list[Turn] = []
        self.ends: list[int] = []  # message index where each turn ends (exclusive)
        self.compactions: list[int] = []  # positions of the turns holding a compaction block
        # The view the last `merge_turns` returned: where it starts in `turns` (-1: not cut at a
        # compaction block), and how many of its first turns are the same objects as in the view
        # before it.
        self.view_start = -1
        self.reused = 0
        self.scan: Scan | None = None  # the message rules' settled state, for that view
        # Per position of the view, the assistant turn a tool loop ending there opened with
        # (None: not known). An entry holds while the turns up to its position are unchanged,
        # so `merge_turns` drops those from the first changed turn on.
        self.openings: list[Turn | None] = []


def merge_turns(messages: Sequence[object], memo: PreflightMemo | None = None) -> list[Turn]:
    """Merge same-role neighbours and cut everything before the latest compaction block.

    Args:
        messages: The request's `messages` (anything; malformed entries become turns of role
            `"?"` with no blocks, for the rules to report).
        memo: Turns of an earlier request of the same conversation to reuse; updated in place
            (with a memo, the list returned may be the memo's own: read it before the next call).

    Returns:
        The turns the API validates, numbered as the API numbers them.
    """
    if memo is None:
        turns: list[Turn] = []
        ends: list[int] = []
        compactions: list[int] = []
        kept = 0
    else:
        turns, ends, compactions = memo.turns, memo.ends, memo.compactions
        kept = _keep(memo, messages)
        del turns[kept:], ends[kept:]
        while compactions and compactions[-1] >= kept:
            compactions.pop()
    # Group the new messages into runs of one role, and build each run's turn once.
    start = ends[-1] if ends else 0
    role, raw_empty = "", True
    blocks: list[tuple[int, object]] = []
    for n in range(start, len(messages)):
        message = messages[n]
        if isinstance(message, dict):
            kind, content = message.get("role"), message.get("content")
            kind = kind if isinstance(kind, str) else "?"
            found = content if type(content) is list else _as_blocks(content)
        else:
            kind, found = "?", []
        if kind != role and n > start:
            turns.append(Turn(len(turns), role, blocks, raw_empty))
            ends.append(n)
            blocks, raw_empty = [], True
        role = kind
        blocks.extend(enumerate(found, len(blocks)))
        raw_empty = raw_empty and not found
    if len(messages) > start:
        turns.append(Turn(len(turns), role, blocks, raw_empty))
        ends.append(len(messages))
    for p in range(kept, len(turns)):
        if turns[p].compaction_at is not None:
            compactions.append(p)
    # The API drops every block before the latest compaction block, so nothing before it can
    # break a rule; the turn holding it is kept from the compaction block on.
    view_start = compactions[-1] if compactions else -1
    if memo is not None:
        # The view's first turns are the previous view's when it starts at the same turn and
        # those turns were kept (the cut turn's copy is kept on the turn, so it is the same too).
        if view_start != memo.view_start:
            memo.reused, memo.view_start = 0, view_start
        elif view_start < 0:
            memo.reused = kept
        else:
            memo.reused = max(kept - view_start, 0)
        del memo.openings[memo.reused :]
    if view_start < 0:
        return turns
    at = turns[view_start].compaction_at
    assert at is not None
    return [turns[view_start].trimmed(at), *turns[view_start + 1 :]]


def _keep(memo: PreflightMemo, messages: Sequence[object]) -> int:
    """How many of the memo's turns this request still has; updates `memo.messages`.

    A turn is kept when its messages are the same objects and the message after them is either
    absent or of another role, so that the turn still ends where it did.
    """
    old = memo.messages
    if len(old) <= len(messages) and all(map(operator.is_, old, messages)):
        same = len(old)  # the common case: the conversation only grew
        old.extend(messages[same:])
    else:
        same = 0
        limit = min(len(old), len(messages))
        while same < limit and old[same] is messages[same]:
            same += 1
        memo.messages = list(messages)
    ends = memo.ends
    kept = bisect.bisect_left(ends, same)  # the turns that end before the first change
    if kept < len(ends) and ends[kept] == same:
        # This turn ends just before the first change: it is unchanged unless the message
        # there continues it (has its role).
        if same == len(messages) or _role(messages[same]) != memo.turns[kept].role:
            kept += 1
    return kept
