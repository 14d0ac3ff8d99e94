"""Find every documented reason the Messages API would reject a request body, before it is sent.

`preflight_problems(body)` is a pure function over the JSON request body (a dict). It returns one
line per violated rule, worded like the API's own 400 message wherever that wording is known
(quoted in `reference/anthropic-sdk.md` §7 or seen verbatim in recorded API errors). Rules whose
wording the API has not been seen to use say so in the `_RULES` table below; they are still rules
the documentation states.

Two API behaviours shape every check:

* **Consecutive messages with the same role are merged** by the API before it validates, so
  indices in its messages count merged turns (a recorded 400 names `messages.0.content.1` for a
  request of two user messages). We merge the same way and report the same indices.
* **Compaction.** The API ignores every block before the latest `compaction` block, so rules are
  checked over the messages from that block on (the blocks before it are never looked at).

The checks are conservative: a rule is only enforced where the documentation (or a recorded
error) says the API enforces it, so that preflight never blocks a request the API would accept.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from ._exceptions import RequestValidationError

__all__ = ["check_request", "preflight_problems"]

_THINKING_DOCS = "https://docs.claude.com/en/docs/build-with-claude/extended-thinking"
_INTERLEAVED_BETA = "interleaved-thinking-2025-05-14"
_MAX_BREAKPOINTS = 4
_TOOL_ID = re.compile(r"^[a-zA-Z0-9_-]+$")
_THINKING_TYPES = frozenset({"thinking", "redacted_thinking"})

# The messages, exactly as the API words them. Where no API wording is known, the text is ours and
# the key ends in "*" so a reader (and the tests) can tell.
_RULES: dict[str, str] = {
    "model_required": "model: Field required",
    "max_tokens_required": "max_tokens: Field required",
    "messages_required": "messages: Field required",
    "no_messages": "messages: at least one message is required",
    "first_user": 'messages: first message must use the "user" role',
    "role": "messages.{i}.role: Input should be 'user' or 'assistant'",
    "empty_content": (
        "messages.{i}: all messages must have non-empty content except for the optional final "
        "assistant message"
    ),
    "empty_text": "{where}: text content blocks must be non-empty",
    "whitespace_text": "{where}: text content blocks must contain non-whitespace text",
    "trailing_whitespace": "messages: final assistant content cannot end with trailing whitespace",
    "tool_use_without_result": (
        "messages.{i}: `tool_use` ids were found without `tool_result` blocks immediately after: "
        "{ids}. Each `tool_use` block must have a corresponding `tool_result` block in the next "
        "message."
    ),
    "result_without_tool_use": (
        "messages.{i}.content.{k}: unexpected `tool_use_id` found in `tool_result` blocks: {ids}. "
        "Each `tool_result` block must have a corresponding `tool_use` block in the previous "
        "message."
    ),
    "tool_use_unique": "messages.{i}.content.{k}: `tool_use` ids must be unique",
    "tool_use_id_pattern": (
        "messages.{i}.content.{k}.tool_use.id: String should match pattern '^[a-zA-Z0-9_-]+$'"
    ),
    "tool_result_first*": (
        "messages.{i}.content.{k}: `tool_result` blocks must come first in a user message that "
        "answers `tool_use` blocks; other content must follow them"
    ),
    "thinking_first_final": (
        "messages.{i}.content.0.type: Expected `thinking` or `redacted_thinking`, but found "
        "`{found}`. When `thinking` is enabled, a final `assistant` message must start with a "
        "thinking block (preceeding the lastmost set of `tool_use` and `tool_result` blocks). We "
        "recommend you include thinking blocks from previous turns. To avoid this requirement, "
        "disable `thinking`. Please consult our documentation at " + _THINKING_DOCS
    ),
    "thinking_first_any": (
        "messages.{i}.content.0: If an assistant message contains any thinking blocks, the first "
        "block must be thinking or redacted_thinking. Found {found}."
    ),
    "thinking_disabled_final": (
        "messages.{i}.content.{k}: When thinking is disabled, an `assistant` message in the final "
        "position cannot contain `thinking`. To use thinking blocks, enable `thinking` in your "
        "request."
    ),
    "thinking_last_block": (
        "messages.{i}: The final block in an assistant message cannot be `thinking`."
    ),
    "budget_min": "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024",
    "budget_max": (
        "`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our "
        "documentation at " + _THINKING_DOCS + "#max-tokens-and-context-window-size"
    ),
    "forced_tool": "Thinking may not be enabled when tool_choice forces tool use.",
    "temperature": (
        "`temperature` may only be set to 1 when thinking is enabled. Please consult our "
        "documentation at "
        + _THINKING_DOCS
        + "#important-considerations-when-using-extended-thinking"
    ),
    "breakpoints": ("A maximum of 4 blocks with cache_control may be provided. Found {n}."),
    "ttl_order": (
        "{path}: a ttl='1h' cache_control block must not come after a "
        "ttl='5m' cache_control block. Note that blocks are processed in the following order: "
        "`tools`, `system`, `messages`."
    ),
    "ttl_value": "{path}: Input should be '5m' or '1h'",
    "thinking_cache_control*": (
        "messages.{i}.content.{k}: cache_control cannot be set on `{type}` blocks"
    ),
}


def _rule(key: str, **fields: object) -> str:
    return _RULES[key].format(**fields)


@dataclass
class _Turn:
    """Consecutive same-role messages merged, as the API sees them.

    `blocks` pairs each block's index in the merged content with the block; blocks before a
    compaction block in the compaction turn are left out (the API ignores them).
    """

    index: int
    role: str
    blocks: list[tuple[int, Any]] = field(default_factory=list)
    raw_empty: bool = True
    starts_with_compaction: bool = False
    _by_type: dict[str, list[tuple[int, dict[str, Any]]]] | None = None

    def typed(self, *types: str) -> list[tuple[int, dict[str, Any]]]:
        """The blocks of these types, in order (indexed once per turn: the checks ask often)."""
        by_type = self._by_type
        if by_type is None:
            by_type = self._by_type = {}
            for pair in self.blocks:
                block = pair[1]
                if type(block) is dict:
                    kind = block.get("type")
                    found = by_type.get(kind)  # type: ignore[arg-type]
                    if found is None:
                        by_type[kind] = [pair]  # type: ignore[index]
                    else:
                        found.append(pair)
        if len(types) == 1:
            return by_type.get(types[0], [])
        pairs = [pair for t in types for pair in by_type.get(t, ())]
        pairs.sort(key=lambda pair: pair[0])
        return pairs


def _as_blocks(content: Any) -> list[Any]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    if isinstance(content, list):
        return content
    return []


def _turns(messages: list[Any]) -> list[_Turn]:
    """Merge same-role neighbours and cut everything before the latest compaction block."""
    turns: list[_Turn] = []
    for message in messages:
        role = message.get("role") if isinstance(message, dict) else None
        role = role if isinstance(role, str) else "?"
        blocks = _as_blocks(message.get("content") if isinstance(message, dict) else None)
        if not turns or turns[-1].role != role:
            turns.append(_Turn(index=len(turns), role=role))
        turn = turns[-1]
        turn.blocks.extend(enumerate(blocks, len(turn.blocks)))
        turn.raw_empty = turn.raw_empty and not blocks
    # The API drops every block before the latest compaction block, so nothing before it can
    # break a rule; the turn holding it is kept from the compaction block on.
    for turn in reversed(turns):
        compactions = [k for k, _ in turn.typed("compaction")]
        if compactions:
            turn.blocks = [(k, b) for k, b in turn.blocks if k >= compactions[-1]]
            turn.starts_with_compaction = True
            turn._by_type = None
            return turns[turn.index :]
    return turns


def _cache_control_sites(body: Mapping[str, Any], turns: list[_Turn]) -> Iterator[tuple[str, Any]]:
    """Every `cache_control` in processing order (tools, system, messages), with its path."""
    tools = body.get("tools")
    if isinstance(tools, list):
        for i, tool in enumerate(tools):
            if isinstance(tool, dict) and "cache_control" in tool:
                yield f"tools.{i}", tool["cache_control"]
    system = body.get("system")
    if isinstance(system, list):
        for i, block in enumerate(system):
            if isinstance(block, dict) and "cache_control" in block:
                yield f"system.{i}", block["cache_control"]
    for turn in turns:
        for k, block in turn.blocks:
            if not isinstance(block, dict):
                continue
            where = f"messages.{turn.index}.content.{k}"
            if "cache_control" in block:
                yield where, block["cache_control"]
            nested = block.get("content")
            if block.get("type") == "tool_result" and isinstance(nested, list):
                for j, inner in enumerate(nested):
                    if isinstance(inner, dict) and "cache_control" in inner:
                        yield f"{where}.content.{j}", inner["cache_control"]
    # Automatic caching puts its breakpoint on the last cacheable block, i.e. last in order.
    if isinstance(body.get("cache_control"), dict):
        yield "", body["cache_control"]


def _cache_problems(body: Mapping[str, Any], turns: list[_Turn]) -> list[str]:
    problems: list[str] = []
    count = 0
    seen_5m = False
    for where, control in _cache_control_sites(body, turns):
        if control is None:
            continue
        count += 1
        ttl = control.get("ttl", "5m") if isinstance(control, dict) else "5m"
        path = f"{where}.cache_control.ttl" if where else "cache_control.ttl"
        if ttl not in ("5m", "1h"):
            problems.append(_rule("ttl_value", path=path))
        elif ttl == "5m":
            seen_5m = True
        elif seen_5m:
            problems.append(_rule("ttl_order", path=path))
    if count > _MAX_BREAKPOINTS:
        problems.append(_rule("breakpoints", n=count))
    return problems


def _thinking_on(body: Mapping[str, Any]) -> bool:
    thinking = body.get("thinking")
    return isinstance(thinking, dict) and thinking.get("type") in ("enabled", "adaptive")


def _parameter_problems(
    body: Mapping[str, Any], betas: Collection[str], count_tokens: bool
) -> list[str]:
    problems: list[str] = []
    # count_tokens takes the same body without max_tokens.
    for key in ("model",) if count_tokens else ("model", "max_tokens"):
        if key not in body:
            problems.append(_rule(f"{key}_required"))
    thinking = body.get("thinking")
    if not _thinking_on(body) or not isinstance(thinking, dict):
        return problems
    budget = thinking.get("budget_tokens")
    max_tokens = body.get("max_tokens")
    if thinking.get("type") == "enabled" and isinstance(budget, int):
        if budget < 1024:
            problems.append(_rule("budget_min"))
        # Interleaved thinking spreads the budget over a whole tool loop, so it may exceed
        # max_tokens there (the extended-thinking docs).
        elif (
            isinstance(max_tokens, int) and budget >= max_tokens and _INTERLEAVED_BETA not in betas
        ):
            problems.append(_rule("budget_max"))
    choice = body.get("tool_choice")
    if isinstance(choice, dict) and choice.get("type") in ("any", "tool"):
        problems.append(_rule("forced_tool"))
    temperature = body.get("temperature")
    if isinstance(temperature, (int, float)) and temperature != 1:
        problems.append(_rule("temperature"))
    return problems


def _content_problems(turns: list[_Turn]) -> list[str]:
    problems: list[str] = []
    last = len(turns) - 1
    empty_text_seen = whitespace_seen = False
    for n, turn in enumerate(turns):
        final_assistant = n == last and turn.role == "assistant"
        if turn.role not in ("user", "assistant"):
            problems.append(_rule("role", i=turn.index))
        if turn.raw_empty and not final_assistant:
            problems.append(_rule("empty_content", i=turn.index))
        for _k, block in turn.typed("text"):
            text = block.get("text")
            if not isinstance(text, str):
                continue
            if text == "" and not empty_text_seen:
                empty_text_seen = True
                problems.append(_rule("empty_text", where="messages"))
            # Responses can contain whitespace-only text (a recorded adaptive-thinking reply
            # starts with "\n\n"), so only user text is held to this rule.
            elif turn.role == "user" and text and not text.strip() and not whitespace_seen:
                whitespace_seen = True
                problems.append(_rule("whitespace_text", where="messages"))
        if final_assistant and turn.blocks:
            block = turn.blocks[-1][1]
            text = block.get("text") if isinstance(block, dict) else None
            if isinstance(text, str) and block.get("type") == "text" and text != text.rstrip():
                problems.append(_rule("trailing_whitespace"))
        for k, block in turn.typed(*_THINKING_TYPES):
            if "cache_control" in block:
                problems.append(
                    _rule("thinking_cache_control*", i=turn.index, k=k, type=block["type"])
                )
    return problems


def _tool_problems(turns: list[_Turn]) -> list[str]:
    problems: list[str] = []
    seen_ids: set[str] = set()
    for n, turn in enumerate(turns):
        if turn.role == "assistant":
            for k, block in turn.typed("tool_use", "server_tool_use"):
                tool_id = block.get("id")
                if not isinstance(tool_id, str):
                    continue
                if not _TOOL_ID.match(tool_id):
                    problems.append(_rule("tool_use_id_pattern", i=turn.index, k=k))
                if tool_id in seen_ids:
                    problems.append(_rule("tool_use_unique", i=turn.index, k=k))
                seen_ids.add(tool_id)
            wanted = [b.get("id") for _, b in turn.typed("tool_use")]
            # A final assistant message has no next message yet; the API reads it as a prefill.
            if wanted and n + 1 < len(turns):
                nxt = turns[n + 1]
                answered = {b.get("tool_use_id") for _, b in nxt.typed("tool_result")}
                missing = [str(i) for i in wanted if i not in answered]
                if nxt.role != "user" or missing:
                    unanswered = missing if nxt.role == "user" else [str(i) for i in wanted]
                    problems.append(
                        _rule("tool_use_without_result", i=turn.index, ids=", ".join(unanswered))
                    )
        elif turn.role == "user":
            previous = turns[n - 1] if n > 0 and turns[n - 1].role == "assistant" else None
            offered = {b.get("id") for _, b in previous.typed("tool_use")} if previous else set()
            results = list(turn.typed("tool_result"))
            orphans = [(k, b) for k, b in results if b.get("tool_use_id") not in offered]
            if orphans:
                orphan_ids = ", ".join(str(b.get("tool_use_id")) for _, b in orphans)
                problems.append(
                    _rule("result_without_tool_use", i=turn.index, k=orphans[0][0], ids=orphan_ids)
                )
            if results and offered:
                last_result = results[-1][0]
                for k, block in turn.blocks:
                    is_result = isinstance(block, dict) and block.get("type") == "tool_result"
                    if k < last_result and not is_result:
                        problems.append(_rule("tool_result_first*", i=turn.index, k=k))
                        break
    return problems


def _first_block(turn: _Turn) -> tuple[int, Any]:
    """The first block that counts for thinking placement.

    Whitespace-only text is skipped: the API itself returns adaptive-thinking replies that open
    with a "\n\n" text block before the thinking block (recording
    `text-nonstream-adaptive-thinking-leading-text`), so we do not refuse them when sent back.
    """
    for k, block in turn.blocks:
        if isinstance(block, dict) and block.get("type") == "text":
            text = block.get("text")
            if isinstance(text, str) and text and not text.strip():
                continue
        return k, block
    return turn.blocks[0]


def _turn_opening(turns: list[_Turn]) -> _Turn | None:
    """The first assistant message of the turn a request ending in tool results continues.

    A tool loop is one assistant turn: walking back over (assistant with tool_use, user with
    only tool results) pairs reaches the message that opened it. None unless the request ends
    with tool results.
    """

    def answers(user: _Turn, assistant: _Turn) -> bool:
        return (
            user.role == "user"
            and assistant.role == "assistant"
            and bool(user.typed("tool_result"))
            and bool(assistant.typed("tool_use"))
        )

    n = len(turns) - 1
    if n < 1 or not answers(turns[n], turns[n - 1]):
        return None
    opening = turns[n - 1]
    n -= 2
    # Earlier pairs belong to the same turn while the user side holds tool results only (a
    # user message with anything else starts a new turn).
    while n >= 1 and not opening.starts_with_compaction and answers(turns[n], turns[n - 1]):
        if len(turns[n].typed("tool_result")) != len(turns[n].blocks):
            break
        opening = turns[n - 1]
        n -= 2
    return opening


def _thinking_problems(body: Mapping[str, Any], turns: list[_Turn]) -> list[str]:
    problems: list[str] = []
    final = turns[-1] if turns else None
    for turn in turns:
        if turn.role != "assistant" or turn.starts_with_compaction or not turn.blocks:
            continue
        first = _first_block(turn)[1]
        first_type = first.get("type") if isinstance(first, dict) else None
        if turn.typed(*_THINKING_TYPES) and first_type not in _THINKING_TYPES:
            problems.append(_rule("thinking_first_any", i=turn.index, found=first_type))
    if final is not None and final.role == "assistant" and final.blocks:
        last = final.blocks[-1][1]
        if isinstance(last, dict) and last.get("type") == "thinking":
            problems.append(_rule("thinking_last_block", i=final.index))
    if _thinking_on(body):
        # When the request ends with tool results, the assistant turn they belong to must open
        # with thinking. A tool loop counts as one turn, so only its first message is held to it
        # (without interleaved thinking the later messages of the loop carry none).
        opening = _turn_opening(turns)
        if opening is not None and not opening.starts_with_compaction and opening.blocks:
            first = _first_block(opening)[1]
            first_type = first.get("type") if isinstance(first, dict) else None
            if first_type not in _THINKING_TYPES:
                problems.append(_rule("thinking_first_final", i=opening.index, found=first_type))
    elif final is not None and final.role == "assistant":
        thinking = final.typed(*_THINKING_TYPES)
        if thinking:
            problems.append(_rule("thinking_disabled_final", i=final.index, k=thinking[0][0]))
    return problems


def _system_problems(body: Mapping[str, Any]) -> list[str]:
    system = body.get("system")
    if isinstance(system, list):
        for block in system:
            if isinstance(block, dict) and block.get("type") == "text" and block.get("text") == "":
                return [_rule("empty_text", where="system")]
    return []


def preflight_problems(
    body: Mapping[str, Any], *, betas: Collection[str] = (), count_tokens: bool = False
) -> list[str]:
    """Every documented rule this Messages API request body breaks.

    Args:
        body: The JSON body of a `POST /v1/messages` request, as a dict.
        betas: The `anthropic-beta` values the request is sent with (some rules depend on them).
        count_tokens: The body is for `POST /v1/messages/count_tokens` (no `max_tokens`).

    Returns:
        One line per problem, worded like the API's 400 message; empty when none was found.
    """
    problems = _parameter_problems(body, betas, count_tokens)
    messages = body.get("messages")
    if not isinstance(messages, list):
        return [*problems, _rule("messages_required")]
    if not messages:
        return [*problems, _rule("no_messages")]
    turns = _turns(messages)
    if turns[0].role != "user" and not turns[0].starts_with_compaction:
        problems.append(_rule("first_user"))
    problems += _content_problems(turns)
    problems += _system_problems(body)
    problems += _tool_problems(turns)
    problems += _thinking_problems(body, turns)
    problems += _cache_problems(body, turns)
    return problems


def check_request(
    body: Mapping[str, Any], *, betas: Collection[str] = (), count_tokens: bool = False
) -> None:
    """Raise if the API would reject this request body for a documented reason.

    Args:
        body: The JSON request body.
        betas: The `anthropic-beta` values the request is sent with.
        count_tokens: The body is for `POST /v1/messages/count_tokens` (no `max_tokens`).

    Raises:
        RequestValidationError: With every problem found (`.problems`).
    """
    problems = preflight_problems(body, betas=betas, count_tokens=count_tokens)
    if problems:
        raise RequestValidationError(problems)
