"""Find every documented reason the Messages API would reject a request body, before it is sent.

`preflight_problems(body)` is a pure function over the JSON request body (a dict). It returns one
line per violated rule, worded like the API's own 400 message wherever that wording is known
(quoted in `reference/anthropic-sdk.md` §7 or seen verbatim in recorded API errors). Rules whose
wording the API has not been seen to use say so in the `_RULES` table below; they are still rules
the documentation states.

Every message rule reads the messages as the API validates them: same-role neighbours merged
(so reported indices count merged turns, like the API's) and nothing before the latest
`compaction` block. `agentkit.conversation._turns` builds that view; this module holds the rules.

The checks are conservative: a rule is only enforced where the documentation (or a recorded
error) says the API enforces it, so that preflight never blocks a request the API would accept.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from collections.abc import Set as AbstractSet

from .._exceptions import RequestValidationError
from ..types import find_model
from ._turns import THINKING_TYPES, PreflightMemo, Scan, Turn, merge_turns

__all__ = ["PreflightMemo", "check_request", "preflight_problems"]

_THINKING_DOCS = "https://docs.claude.com/en/docs/build-with-claude/extended-thinking"
_INTERLEAVED_BETA = "interleaved-thinking-2025-05-14"
_MAX_BREAKPOINTS = 4
_TOOL_ID = re.compile(r"^[a-zA-Z0-9_-]+$")
_NO_IDS: frozenset[str] = frozenset()

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
    "max_tokens_limit": (
        "max_tokens: {n} > {limit}, which is the maximum allowed number of output tokens for "
        "{model}"
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


def _parameter_problems(
    body: Mapping[str, object], betas: Collection[str], count_tokens: bool, thinking_on: bool
) -> list[str]:
    problems: list[str] = []
    if "model" not in body:
        problems.append(_rule("model_required"))
    # count_tokens takes the same body without max_tokens.
    if not count_tokens and "max_tokens" not in body:
        problems.append(_rule("max_tokens_required"))
    # The model table knows each model's output limit (an unknown model is the API's to judge).
    model, max_tokens = body.get("model"), body.get("max_tokens")
    spec = find_model(model) if isinstance(model, str) else None
    if spec is not None and isinstance(max_tokens, int) and max_tokens > spec.max_output:
        problems.append(
            _rule("max_tokens_limit", n=max_tokens, limit=spec.max_output, model=spec.id)
        )
    thinking = body.get("thinking")
    if not thinking_on or not isinstance(thinking, dict):
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


def _cache_problems(
    body: Mapping[str, object], message_sites: list[tuple[str, object]]
) -> list[str]:
    """At most 4 breakpoints, and no 1h breakpoint after a 5m one (tools, system, messages)."""
    sites: list[tuple[str, object]] = []
    for key in ("tools", "system"):
        items = body.get(key)
        if isinstance(items, list):
            for i, item in enumerate(items):
                if isinstance(item, dict) and "cache_control" in item:
                    sites.append((f"{key}.{i}", item["cache_control"]))
    sites += message_sites
    # Automatic caching puts its breakpoint on the last cacheable block, i.e. last in order.
    if isinstance(body.get("cache_control"), dict):
        sites.append(("", body["cache_control"]))
    problems: list[str] = []
    count = 0
    seen_5m = False
    for where, control in sites:
        if control is None:
            continue
        count += 1
        ttl = control.get("ttl", "5m") if isinstance(control, dict) else "5m"
        if ttl == "5m":
            seen_5m = True
        elif ttl != "1h":
            problems.append(_rule("ttl_value", path=_ttl_path(where)))
        elif seen_5m:
            problems.append(_rule("ttl_order", path=_ttl_path(where)))
    if count > _MAX_BREAKPOINTS:
        problems.append(_rule("breakpoints", n=count))
    return problems


def _ttl_path(where: str) -> str:
    return f"{where}.cache_control.ttl" if where else "cache_control.ttl"


def _own_problems(turn: Turn, previous: Turn | None) -> list[str]:
    """Problems that depend only on this turn and the one before it (cached per pair)."""
    i = turn.index
    problems: list[str] = []
    role = turn.role
    if role != "user" and role != "assistant":
        problems.append(_rule("role", i=i))
    if turn.thinking_cache_control:
        problems += [
            _rule("thinking_cache_control*", i=i, k=k, type=t)
            for k, t in turn.thinking_cache_control
        ]
    if role == "assistant":
        for k, tool_id in turn.tool_ids:
            if not _TOOL_ID.match(tool_id):
                problems.append(_rule("tool_use_id_pattern", i=i, k=k))
        if (
            turn.thinking
            and not turn.starts_with_compaction
            and turn.first_type not in THINKING_TYPES
        ):
            problems.append(_rule("thinking_first_any", i=i, found=turn.first_type))
    elif role == "user":
        offered: AbstractSet[str] = _NO_IDS
        if previous is not None and previous.role == "assistant":
            offered = previous.call_ids
        # Every result answering an offered call is the common case, told by one set test.
        if turn.result_ids is None or not turn.result_ids <= offered:
            orphans = [(k, t) for k, t in turn.results if t not in offered]
            if orphans:
                ids = ", ".join(str(t) for _, t in orphans)
                problems.append(_rule("result_without_tool_use", i=i, k=orphans[0][0], ids=ids))
        if turn.results and offered:
            other = turn.first_other_index
            if other is not None and other < turn.results[-1][0]:
                problems.append(_rule("tool_result_first*", i=i, k=other))
    turn.cached_problems = (previous, problems)
    return problems


def _check_turn(scan: Scan, turns: list[Turn], n: int, earlier_ids: Collection[str]) -> None:
    """Add what the rules find in turn `n` to `scan` (`earlier_ids`: tool_use ids before it).

    Reads turns `n - 1` to `n + 1` and nothing else, so a settled turn's findings stay true.
    """
    turn = turns[n]
    last = len(turns) - 1
    problems = scan.problems
    if turn.raw_empty and not (n == last and turn.role == "assistant"):
        problems.append(_rule("empty_content", i=turn.index))
    if turn.empty_text:
        scan.empty_text = True
    if turn.whitespace_text:
        scan.whitespace_text = True
    previous = turns[n - 1] if n else None
    cached = turn.cached_problems
    own = cached[1] if cached is not None and cached[0] is previous else None
    if own is None:
        own = _own_problems(turn, previous)
    if own:
        problems += own
    if turn.role == "assistant":
        if turn.tool_ids:
            seen_ids = scan.seen_ids
            for k, tool_id in turn.tool_ids:
                if tool_id in seen_ids or tool_id in earlier_ids:
                    problems.append(_rule("tool_use_unique", i=turn.index, k=k))
                seen_ids.add(tool_id)
        # A final assistant message has no next message yet; the API reads it as a prefill.
        if turn.client_calls and n < last:
            nxt = turns[n + 1]
            answered: AbstractSet[object] | None = nxt.result_ids if nxt.role == "user" else _NO_IDS
            if answered is None:
                answered = {t for _, t in nxt.results}
            if not turn.call_ids <= answered:
                missing = [c for c in turn.client_calls if c not in answered]
                problems.append(
                    _rule("tool_use_without_result", i=turn.index, ids=", ".join(missing))
                )
    if turn.cache_sites:
        scan.sites += [(f"messages.{turn.index}.{p}", c) for p, c in turn.cache_sites]


def _message_problems(
    turns: list[Turn], memo: PreflightMemo | None = None
) -> tuple[list[str], list[tuple[str, object]]]:
    """The message rules' problems, and the cache breakpoints in the messages in order.

    With a memo, the settled turns' findings are the memo's `Scan`, extended here: when the
    conversation only grew, only the turns added since are read (in a tool loop each turn is
    checked once, as one of the last two, then taken as found). A view whose settled turns changed
    starts a new scan.
    """
    last = len(turns) - 1
    kept = memo.scan if memo is not None else None
    reused = memo.reused if memo is not None else 0
    if kept is None or (kept.count and kept.count + 1 > reused):
        kept = Scan()
        if memo is not None:
            memo.scan = kept
    scan = kept
    start, tail = scan.count, scan.tail
    # The previous request's tail (its last two turns, from `start` on) still holds when both
    # are settled in this view (two turns follow them), they and the turns they read are the
    # same objects as then, and the one that was last is not an assistant turn (the only role
    # whose rules read whether it is last): what they were found to break is what they break
    # here, so take it instead of checking them again.
    if (
        tail is not None
        and tail.count - start == 2
        and start + 3 <= last
        and start + 2 <= reused
        and turns[start + 1].role != "assistant"
    ):
        if tail.problems:
            scan.problems += tail.problems
        if tail.empty_text:
            scan.empty_text = True
        if tail.whitespace_text:
            scan.whitespace_text = True
        if tail.seen_ids:
            scan.seen_ids |= tail.seen_ids
        if tail.sites:
            scan.sites += tail.sites
        scan.count = start = tail.count
    # Settle the turns with two turns after them; the last two are checked apart (`tail`), on
    # top of the settled ones, since the next request may extend or answer them.
    for n in range(start, last - 1):
        _check_turn(scan, turns, n, _NO_IDS)
    scan.count = start = max(start, last - 1)
    # The new tail reuses the old one's object when nothing but tool_use ids was found in it.
    tail = scan.tail
    if tail is None or tail.problems or tail.sites or tail.empty_text or tail.whitespace_text:
        tail = scan.tail = Scan()
    else:
        tail.seen_ids.clear()
    for n in range(start, last + 1):
        _check_turn(tail, turns, n, scan.seen_ids)
    tail.count = last + 1
    problems = (
        [] if turns[0].role == "user" or turns[0].starts_with_compaction else [_rule("first_user")]
    )
    problems += scan.problems
    problems += tail.problems
    if scan.empty_text or tail.empty_text:
        problems.append(_rule("empty_text", where="messages"))
    if scan.whitespace_text or tail.whitespace_text:
        # Responses can contain whitespace-only text (a recorded adaptive-thinking reply starts
        # with "\n\n"), so only user text is held to this rule.
        problems.append(_rule("whitespace_text", where="messages"))
    final = turns[last]
    if final.role == "assistant" and final.blocks:
        text = final.last_text
        # (What `rstrip()` would remove, read from the last character without copying.)
        if final.last_type == "text" and isinstance(text, str) and text[-1:].isspace():
            problems.append(_rule("trailing_whitespace"))
    sites = scan.sites + tail.sites if tail.sites else scan.sites
    return problems, sites


def _answers(user: Turn, assistant: Turn) -> bool:
    return (
        user.role == "user"
        and assistant.role == "assistant"
        and bool(user.results)
        and bool(assistant.client_calls)
    )


def _turn_opening(turns: list[Turn], memo: PreflightMemo | None = None) -> Turn | None:
    """The first assistant message of the turn a request ending in tool results continues.

    A tool loop is one assistant turn: walking back over (assistant with tool_use, user with
    only tool results) pairs reaches the message that opened it. None unless the request ends
    with tool results.

    Every user turn on the way leads to the same opening, so a memo keeps it for each of their
    positions (`PreflightMemo.openings`): a growing tool loop then walks back one pair, not
    the whole loop, per request.
    """
    n = len(turns) - 1
    if n < 1 or not _answers(turns[n], turns[n - 1]):
        return None
    known = memo.openings if memo is not None else []
    walked: list[int] = []
    while True:
        if n < len(known) and known[n] is not None:
            opening = known[n]
            break
        walked.append(n)
        opening = turns[n - 1]
        # Earlier pairs belong to the same turn while the user side holds tool results only (a
        # user message with anything else starts a new turn).
        if (
            n < 3
            or opening.starts_with_compaction
            or not _answers(turns[n - 2], turns[n - 3])
            or not turns[n - 2].results_only
        ):
            break
        n -= 2
    if walked and memo is not None:
        known.extend([None] * (walked[0] + 1 - len(known)))
        for n in walked:
            known[n] = opening
    return opening


def _thinking_problems(
    turns: list[Turn], thinking_on: bool, memo: PreflightMemo | None
) -> list[str]:
    problems: list[str] = []
    final = turns[-1]
    if final.role == "assistant" and final.last_type == "thinking":
        problems.append(_rule("thinking_last_block", i=final.index))
    if thinking_on:
        # When the request ends with tool results, the assistant turn they belong to must open
        # with thinking. A tool loop counts as one turn, so only its first message is held to it
        # (without interleaved thinking the later messages of the loop carry none).
        opening = _turn_opening(turns, memo)
        if opening is not None and not opening.starts_with_compaction and opening.blocks:
            if opening.first_type not in THINKING_TYPES:
                problems.append(
                    _rule("thinking_first_final", i=opening.index, found=opening.first_type)
                )
    elif final.role == "assistant" and final.thinking:
        problems.append(_rule("thinking_disabled_final", i=final.index, k=final.thinking[0][0]))
    return problems


def _system_problems(system: list[object]) -> list[str]:
    for block in system:
        if isinstance(block, dict) and block.get("type") == "text" and block.get("text") == "":
            return [_rule("empty_text", where="system")]
    return []


def preflight_problems(
    body: Mapping[str, object],
    *,
    betas: Collection[str] = (),
    count_tokens: bool = False,
    memo: PreflightMemo | None = None,
) -> list[str]:
    """Every documented rule this Messages API request body breaks.

    Args:
        body: The JSON body of a `POST /v1/messages` request, as a dict.
        betas: The `anthropic-beta` values the request is sent with (some rules depend on them).
        count_tokens: The body is for `POST /v1/messages/count_tokens` (no `max_tokens`).
        memo: Reuse the analysis of earlier requests of the same conversation (see
            `PreflightMemo`); the result is the same with or without it.

    Returns:
        One line per problem, worded like the API's 400 message; empty when none was found.
    """
    thinking = body.get("thinking")
    thinking_on = isinstance(thinking, dict) and thinking.get("type") in ("enabled", "adaptive")
    problems = _parameter_problems(body, betas, count_tokens, thinking_on)
    messages = body.get("messages")
    if not isinstance(messages, list):
        return [*problems, _rule("messages_required")]
    if not messages:
        return [*problems, _rule("no_messages")]
    turns = merge_turns(messages, memo)
    message_problems, message_sites = _message_problems(turns, memo)
    problems += message_problems
    system = body.get("system")
    if isinstance(system, list):
        problems += _system_problems(system)
    if thinking_on or turns[-1].role == "assistant":  # (else no thinking rule applies)
        problems += _thinking_problems(turns, thinking_on, memo)
    problems += _cache_problems(body, message_sites)
    return problems


def check_request(
    body: Mapping[str, object],
    *,
    betas: Collection[str] = (),
    count_tokens: bool = False,
    memo: PreflightMemo | None = None,
) -> None:
    """Raise if the API would reject this request body for a documented reason.

    Args:
        body: The JSON request body.
        betas: The `anthropic-beta` values the request is sent with.
        count_tokens: The body is for `POST /v1/messages/count_tokens` (no `max_tokens`).
        memo: Reuse the analysis of earlier requests of the same conversation.

    Raises:
        RequestValidationError: With every problem found (`.problems`).
    """
    problems = preflight_problems(body, betas=betas, count_tokens=count_tokens, memo=memo)
    if problems:
        raise RequestValidationError(problems)
