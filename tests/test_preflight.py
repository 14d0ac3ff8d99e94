"""Preflight: each rule with a failing and a passing body, in the API's own words."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from recordings import RECORDINGS_DIR

from agentkit import Conversation, RequestValidationError
from agentkit.conversation import PreflightMemo, check_request, preflight_problems
from agentkit.conversation._preflight import _RULES

RECORDINGS = RECORDINGS_DIR / "cases"
DOCS = "https://docs.claude.com/en/docs/build-with-claude/extended-thinking"


def body(*messages: dict[str, Any], **params: Any) -> dict[str, Any]:
    return {"model": "claude-sonnet-4-5", "max_tokens": 4096, "messages": list(messages), **params}


def user(*content: Any) -> dict[str, Any]:
    return {
        "role": "user",
        "content": content[0]
        if len(content) == 1 and isinstance(content[0], str)
        else list(content),
    }


def assistant(*content: Any) -> dict[str, Any]:
    return {
        "role": "assistant",
        "content": content[0]
        if len(content) == 1 and isinstance(content[0], str)
        else list(content),
    }


def text(t: str, **extra: Any) -> dict[str, Any]:
    return {"type": "text", "text": t, **extra}


def call(tool_id: str) -> dict[str, Any]:
    return {"type": "tool_use", "id": tool_id, "name": "get_weather", "input": {"city": "Paris"}}


def result(tool_id: str, **extra: Any) -> dict[str, Any]:
    return {"type": "tool_result", "tool_use_id": tool_id, "content": "sunny", **extra}


THINK = {"type": "thinking", "thinking": "Let me think.", "signature": "EqQBCkYIB"}
REDACTED = {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix"}
ON = {"type": "enabled", "budget_tokens": 2048}
EPHEMERAL = {"type": "ephemeral"}
HOUR = {"type": "ephemeral", "ttl": "1h"}

# name -> (failing body, passing body, the exact message expected for the failing body)
CASES: dict[str, tuple[dict[str, Any], dict[str, Any], str]] = {
    "model required": (
        {"max_tokens": 5, "messages": [user("hi")]},
        body(user("hi")),
        "model: Field required",
    ),
    "max_tokens required": (
        {"model": "m", "messages": [user("hi")]},
        body(user("hi")),
        "max_tokens: Field required",
    ),
    "messages required": (
        {"model": "m", "max_tokens": 5},
        body(user("hi")),
        "messages: Field required",
    ),
    "at least one message": (
        body(),
        body(user("hi")),
        "messages: at least one message is required",
    ),
    "first message is user": (
        body(assistant("Hello"), user("hi")),
        body(user("hi"), assistant("Hello"), user("hi")),
        'messages: first message must use the "user" role',
    ),
    "role literal": (
        body(user("hi"), {"role": "robot", "content": "beep"}),
        body(user("hi"), assistant("beep")),
        "messages.1.role: Input should be 'user' or 'assistant'",
    ),
    "empty content": (
        body(user("hi"), {"role": "assistant", "content": []}, user("again")),
        body(
            user("hi"), {"role": "assistant", "content": []}
        ),  # the optional final assistant message may be empty
        "messages.1: all messages must have non-empty content except for the optional final "
        "assistant message",
    ),
    "empty string content": (
        body(user("")),
        body(user("x")),
        "messages.0: all messages must have non-empty content except for the optional final "
        "assistant message",
    ),
    "empty text block": (
        body(user(text("a"), text(""))),
        body(user(text("a"), text("b"))),
        "messages: text content blocks must be non-empty",
    ),
    "whitespace text block": (
        body(user(text("  \n"))),
        body(user(text(" x "))),
        "messages: text content blocks must contain non-whitespace text",
    ),
    "empty system text": (
        body(user("hi"), system=[text("")]),
        body(user("hi"), system=[text("be brief")]),
        "system: text content blocks must be non-empty",
    ),
    "trailing whitespace in prefill": (
        body(user("hi"), assistant("The answer is ")),
        body(user("hi"), assistant("The answer is")),
        "messages: final assistant content cannot end with trailing whitespace",
    ),
    "tool_use answered in the next message": (
        body(
            user("weather?"),
            assistant(text("Checking."), call("toolu_1"), call("toolu_2")),
            user(result("toolu_1")),
        ),
        body(
            user("weather?"),
            assistant(text("Checking."), call("toolu_1"), call("toolu_2")),
            user(result("toolu_1"), result("toolu_2")),
        ),
        "messages.1: `tool_use` ids were found without `tool_result` blocks immediately after: "
        "toolu_2. Each `tool_use` block must have a corresponding `tool_result` block in the next "
        "message.",
    ),
    "tool_result answers the previous message": (
        body(
            user("weather?"),
            assistant(call("toolu_1")),
            user(result("toolu_1")),
            assistant("Sunny."),
            user(result("toolu_1")),
        ),
        body(
            user("weather?"),
            assistant(call("toolu_1")),
            user(result("toolu_1")),
            assistant("Sunny."),
            user("thanks"),
        ),
        "messages.4.content.0: unexpected `tool_use_id` found in `tool_result` blocks: toolu_1. "
        "Each `tool_result` block must have a corresponding `tool_use` block in the previous "
        "message.",
    ),
    "tool_result before other content": (
        body(user("weather?"), assistant(call("toolu_1")), user(text("here:"), result("toolu_1"))),
        body(user("weather?"), assistant(call("toolu_1")), user(result("toolu_1"), text("and?"))),
        _RULES["tool_result_first*"].format(i=2, k=0),
    ),
    "tool_use ids unique": (
        body(
            user("a"),
            assistant(call("toolu_1")),
            user(result("toolu_1")),
            assistant(call("toolu_1")),
            user(result("toolu_1")),
        ),
        body(
            user("a"),
            assistant(call("toolu_1")),
            user(result("toolu_1")),
            assistant(call("toolu_2")),
            user(result("toolu_2")),
        ),
        "messages.3.content.0: `tool_use` ids must be unique",
    ),
    "tool_use id pattern": (
        body(user("a"), assistant(call("call 1")), user(result("call 1"))),
        body(user("a"), assistant(call("call_1")), user(result("call_1"))),
        "messages.1.content.0.tool_use.id: String should match pattern '^[a-zA-Z0-9_-]+$'",
    ),
    "thinking first in the final assistant turn": (
        body(
            user("a"),
            assistant(text("Let me check."), call("toolu_1")),
            user(result("toolu_1")),
            thinking=ON,
        ),
        body(
            user("a"),
            assistant(THINK, text("Let me check."), call("toolu_1")),
            user(result("toolu_1")),
            thinking=ON,
        ),
        "messages.1.content.0.type: Expected `thinking` or `redacted_thinking`, but found `text`. "
        "When `thinking` is enabled, a final `assistant` message must start with a thinking block "
        "(preceeding the lastmost set of `tool_use` and `tool_result` blocks). We recommend you "
        "include thinking blocks from previous turns. To avoid this requirement, disable "
        f"`thinking`. Please consult our documentation at {DOCS}",
    ),
    "thinking first in any assistant message that has thinking": (
        body(user("a"), assistant(text("x"), THINK, text("y")), user("b")),
        body(user("a"), assistant(REDACTED, THINK, text("y")), user("b")),
        "messages.1.content.0: If an assistant message contains any thinking blocks, the first "
        "block must be thinking or redacted_thinking. Found text.",
    ),
    "no thinking in a final prefill when thinking is off": (
        body(user("a"), assistant(THINK, text("So"))),
        body(user("a"), assistant(THINK, text("So")), thinking=ON),
        "messages.1.content.0: When thinking is disabled, an `assistant` message in the final "
        "position cannot contain `thinking`. To use thinking blocks, enable `thinking` in your "
        "request.",
    ),
    "thinking is not the last block of a prefill": (
        body(user("a"), assistant(THINK), thinking=ON),
        body(user("a"), assistant(THINK, text("So")), thinking=ON),
        "messages.1: The final block in an assistant message cannot be `thinking`.",
    ),
    "thinking budget minimum": (
        body(user("a"), thinking={"type": "enabled", "budget_tokens": 1000}),
        body(user("a"), thinking={"type": "enabled", "budget_tokens": 1024}),
        "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024",
    ),
    "max_tokens within the model's output limit (the model table)": (
        {"model": "claude-opus-4-1", "max_tokens": 32001, "messages": [user("a")]},
        {"model": "claude-opus-4-1", "max_tokens": 32000, "messages": [user("a")]},
        "max_tokens: 32001 > 32000, which is the maximum allowed number of output tokens for "
        "claude-opus-4-1-20250805",
    ),
    "thinking budget below max_tokens": (
        body(user("a"), thinking={"type": "enabled", "budget_tokens": 4096}),
        body(user("a"), thinking={"type": "enabled", "budget_tokens": 4095}),
        f"`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our "
        f"documentation at {DOCS}#max-tokens-and-context-window-size",
    ),
    "no forced tool use with thinking": (
        body(user("a"), thinking=ON, tool_choice={"type": "any"}),
        body(user("a"), thinking=ON, tool_choice={"type": "auto"}),
        "Thinking may not be enabled when tool_choice forces tool use.",
    ),
    "temperature 1 with thinking": (
        body(user("a"), thinking=ON, temperature=0.2),
        body(user("a"), thinking=ON, temperature=1),
        f"`temperature` may only be set to 1 when thinking is enabled. Please consult our "
        f"documentation at {DOCS}#important-considerations-when-using-extended-thinking",
    ),
    "no cache_control on thinking": (
        body(user("a"), assistant({**THINK, "cache_control": EPHEMERAL}, text("b")), user("c")),
        body(user("a"), assistant(THINK, text("b", cache_control=EPHEMERAL)), user("c")),
        _RULES["thinking_cache_control*"].format(i=1, k=0, type="thinking"),
    ),
    "at most 4 breakpoints": (
        body(
            user(text("1", cache_control=EPHEMERAL), text("2", cache_control=EPHEMERAL)),
            assistant(text("3", cache_control=EPHEMERAL)),
            user(text("4", cache_control=EPHEMERAL)),
            cache_control=EPHEMERAL,  # automatic caching takes a slot too
        ),
        body(
            user(text("1", cache_control=EPHEMERAL), text("2", cache_control=EPHEMERAL)),
            assistant(text("3", cache_control=EPHEMERAL)),
            user(text("4", cache_control=EPHEMERAL)),
        ),
        "A maximum of 4 blocks with cache_control may be provided. Found 5.",
    ),
    "1h never after 5m": (
        body(user(text("a", cache_control=HOUR)), system=[text("s", cache_control=EPHEMERAL)]),
        body(user(text("a", cache_control=EPHEMERAL)), system=[text("s", cache_control=HOUR)]),
        "messages.0.content.0.cache_control.ttl: a ttl='1h' cache_control block must not come "
        "after a ttl='5m' cache_control block. Note that blocks are processed in the following "
        "order: `tools`, `system`, `messages`.",
    ),
    "top-level 1h after a 5m block": (
        body(user(text("a", cache_control=EPHEMERAL)), cache_control=HOUR),
        body(user(text("a", cache_control=HOUR)), cache_control=EPHEMERAL),
        "cache_control.ttl: a ttl='1h' cache_control block must not come after a ttl='5m' "
        "cache_control block. Note that blocks are processed in the following order: `tools`, "
        "`system`, `messages`.",
    ),
    "ttl values": (
        body(user(text("a", cache_control={"type": "ephemeral", "ttl": "10m"}))),
        body(user(text("a", cache_control={"type": "ephemeral", "ttl": "5m"}))),
        "messages.0.content.0.cache_control.ttl: Input should be '5m' or '1h'",
    ),
}


@pytest.mark.parametrize("name", CASES)
def test_rule_fails_then_passes(name: str) -> None:
    failing, passing, expected = CASES[name]
    assert preflight_problems(failing) == [expected]
    assert preflight_problems(passing) == []


def test_every_rule_is_exercised() -> None:
    produced = {p for failing, _, _ in CASES.values() for p in preflight_problems(failing)}
    templates = set(_RULES)
    hit = {k for k in templates if any(_matches(_RULES[k], p) for p in produced)}
    assert hit == templates


def _matches(template: str, problem: str) -> bool:
    fixed = [part for part in template.replace("}", "{").split("{")[::2] if part]
    return all(part in problem for part in fixed)


def test_check_request_raises_with_every_problem() -> None:
    bad = body(assistant("x "), thinking={"type": "enabled", "budget_tokens": 10})
    with pytest.raises(RequestValidationError) as info:
        check_request(bad)
    assert info.value.problems == preflight_problems(bad)
    assert len(info.value.problems) == 3
    check_request(body(user("fine")))


def test_consecutive_same_role_messages_are_merged_like_the_api() -> None:
    # Recorded 400 (tools-400-tool-result-without-tool-use): two user messages are one turn, so
    # the orphan tool_result is content 1 of message 0.
    recorded = json.loads(
        (RECORDINGS / "tools-400-tool-result-without-tool-use/response.json").read_text()
    )
    request = json.loads(
        (RECORDINGS / "tools-400-tool-result-without-tool-use/request.json").read_text()
    )
    assert preflight_problems(request["body"]) == [recorded["body"]["error"]["message"]]


def test_every_recorded_successful_request_passes() -> None:
    checked = 0
    for case in sorted(RECORDINGS.iterdir()):
        request_file = case / "request.json"
        if not request_file.exists():
            continue
        request = json.loads(request_file.read_text())
        status = json.loads((case / "response.json").read_text()).get("status")
        payload = request.get("body")
        if isinstance(payload, str):
            try:
                payload = json.loads(payload)
            except ValueError:
                continue
        if not isinstance(payload, dict) or "messages" not in payload or status != 200:
            continue
        count_tokens = "count_tokens" in str(request.get("path") or request.get("url"))
        assert preflight_problems(payload, count_tokens=count_tokens) == [], case.name
        checked += 1
    assert checked > 40


def test_blocks_before_the_latest_compaction_are_ignored() -> None:
    compaction = {"type": "compaction", "content": "Summary so far."}
    # Before the compaction: an unanswered tool_use and a thinking-first violation. Ignored.
    history = body(
        user("a"),
        assistant(text("x"), THINK, call("toolu_1")),
        user("b"),
        assistant(compaction, text("Hello")),
        user("What did I ask?"),
    )
    assert preflight_problems(history) == []
    # The same problems after the compaction block are reported.
    after = body(
        user("a"),
        assistant(compaction, text("Hello")),
        user("b"),
        assistant(text("x"), THINK, call("toolu_1")),
        user("c"),
    )
    assert len(preflight_problems(after)) == 2
    # A request view that starts at the compaction message may open with the assistant turn.
    assert preflight_problems(body(assistant(compaction, text("Hi")), user("more"))) == []


def test_cache_control_before_the_compaction_does_not_count() -> None:
    compaction = {"type": "compaction", "content": "Summary so far."}
    marked = [text(str(i), cache_control=EPHEMERAL) for i in range(4)]
    history = body(
        user(*marked), assistant(compaction, text("ok")), user(text("q", cache_control=EPHEMERAL))
    )
    assert preflight_problems(history) == []


def test_interleaved_thinking_beta_lifts_the_budget_rule() -> None:
    big = body(user("a"), thinking={"type": "enabled", "budget_tokens": 8000})
    assert preflight_problems(big) != []
    assert preflight_problems(big, betas=["interleaved-thinking-2025-05-14"]) == []


def test_unknown_blocks_and_server_tools_pass() -> None:
    server = {
        "type": "server_tool_use",
        "id": "srvtoolu_1",
        "name": "web_search",
        "input": {"q": "x"},
    }
    found = {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": []}
    future = {"type": "block_from_the_future", "payload": {"a": 1}}
    assert (
        preflight_problems(
            body(user("a"), assistant(server, found, future, text("done")), user("b"))
        )
        == []
    )


def test_a_tool_loop_is_one_thinking_turn() -> None:
    loop = [
        user("weather in two cities?"),
        assistant(THINK, call("toolu_1")),
        user(result("toolu_1")),
        assistant(call("toolu_2")),  # no interleaved thinking: later loop messages carry none
        user(result("toolu_2")),
    ]
    assert preflight_problems(body(*loop, thinking=ON)) == []
    # The turn's opening message is the one held to the rule, wherever the loop ends.
    unthinking = [user("q"), assistant(text("Let me see."), call("toolu_1")), *loop[2:]]
    assert preflight_problems(body(*unthinking, thinking=ON)) == [
        CASES["thinking first in the final assistant turn"][2]
    ]
    # A user message with more than tool results starts a new turn: its reply opens it.
    new_turn = [
        user("q"),
        assistant(text("no thinking"), call("toolu_1")),
        user(result("toolu_1"), text("also check Rome")),
        assistant(THINK, call("toolu_2")),
        user(result("toolu_2")),
    ]
    assert preflight_problems(body(*new_turn, thinking=ON)) == []


def test_whitespace_text_before_thinking_is_accepted_as_the_api_sends_it() -> None:
    # Recorded: an adaptive-thinking reply that opens with a "\n\n" text block.
    leading = assistant(text("\n\n"), THINK, text("Answer."), call("toolu_1"))
    assert preflight_problems(body(user("q"), leading, user(result("toolu_1")), thinking=ON)) == []


BLOCKS: list[dict[str, Any]] = [
    text("hello"),
    text(""),
    text(" \n"),
    text("cached", cache_control=EPHEMERAL),
    text("cached long", cache_control=HOUR),
    THINK,
    REDACTED,
    {**THINK, "cache_control": EPHEMERAL},
    call("toolu_a"),
    call("toolu_b"),
    call("bad id"),
    result("toolu_a"),
    result("toolu_b"),
    result("toolu_c", content=[text("x", cache_control=EPHEMERAL)]),
    {"type": "compaction", "content": "summary"},
    {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {}},
]


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["user", "assistant"]),
            st.lists(st.sampled_from(range(len(BLOCKS))), max_size=4),
        ),
        min_size=1,
        max_size=12,
    ),
    st.lists(st.integers(min_value=1, max_value=12), min_size=1, max_size=8),
    st.sampled_from([None, ON]),
)
def test_a_memo_never_changes_the_answer(
    spec: list[tuple[str, list[int]]], cuts: list[int], thinking: dict[str, Any] | None
) -> None:
    messages = [{"role": role, "content": [BLOCKS[i] for i in picks]} for role, picks in spec]
    memo = PreflightMemo()
    extra = {"thinking": thinking} if thinking else {}
    # Growing prefixes (the usual case), then prefixes in any order (forks, retries).
    for n in [*range(1, len(messages) + 1), *cuts]:
        request = body(*messages[:n], **extra)
        assert preflight_problems(request, memo=memo) == preflight_problems(request)


def _through_one_memo(*requests: dict[str, Any]) -> list[list[str]]:
    """Each request's problems with one memo passed along, checked against the memo-less answer."""
    memo = PreflightMemo()
    found = []
    for request in requests:
        problems = preflight_problems(request, memo=memo)
        assert problems == preflight_problems(request)
        found.append(problems)
    return found


def _tool_loop(rounds: int) -> list[dict[str, Any]]:
    messages = [user("go")]
    for n in range(rounds):
        messages += [assistant(text("adding"), call(f"toolu_{n}")), user(result(f"toolu_{n}"))]
    return messages


def test_a_memo_follows_a_growing_tool_loop() -> None:
    loop = _tool_loop(6)
    assert _through_one_memo(*(body(*loop[:n]) for n in range(1, len(loop) + 1, 2))) == [[]] * 7
    # A duplicate id far into the loop is still found against the ids of the settled turns.
    repeat = [*loop, assistant(call("toolu_1")), user(result("toolu_1"))]
    found = _through_one_memo(*(body(*repeat[:n]) for n in range(1, len(repeat) + 1, 2)))
    assert found[-1] == ["messages.13.content.0: `tool_use` ids must be unique"]


def test_a_memo_sees_a_message_replaced_in_the_middle() -> None:
    loop = _tool_loop(5)
    edited = [*loop]
    edited[4] = user(result("toolu_x"))  # the result of round 2 now answers nothing
    found = _through_one_memo(body(*loop), body(*edited), body(*loop))
    assert found[0] == found[2] == []
    assert found[1] == [
        "messages.3: `tool_use` ids were found without `tool_result` blocks immediately after: "
        "toolu_1. Each `tool_use` block must have a corresponding `tool_result` block in the next "
        "message.",
        "messages.4.content.0: unexpected `tool_use_id` found in `tool_result` blocks: toolu_x. "
        "Each `tool_result` block must have a corresponding `tool_use` block in the previous "
        "message.",
    ]


def test_a_memo_sees_the_last_turn_grow() -> None:
    # The tool results are answered later by another user message: the API merges the two, and
    # the results still come first; a text before the results breaks the order.
    loop = _tool_loop(3)
    after = [*loop, user("and now?")]
    before = [*loop[:-1], user("first"), loop[-1]]
    found = _through_one_memo(body(*loop), body(*after), body(*loop), body(*before))
    assert found[:3] == [[], [], []]
    assert found[3] == [
        "messages.6.content.0: `tool_result` blocks must come first in a user message that "
        "answers `tool_use` blocks; other content must follow them"
    ]


def test_a_memo_sees_the_last_message_marked_for_caching_each_request() -> None:
    # Explicit cache placement sends a marked copy of the last message, a new object each time.
    loop = _tool_loop(4)
    requests = []
    for n in range(1, len(loop) + 1, 2):
        *rest, final = loop[:n]
        content = final["content"]
        last = text(content) if isinstance(content, str) else content[-1]
        marked = {**final, "content": [{**last, "cache_control": HOUR}]}
        requests.append(body(*rest, marked, system=[text("s", cache_control=EPHEMERAL)]))
    found = _through_one_memo(*requests)
    assert found[-1] == [
        "messages.8.content.0.cache_control.ttl: a ttl='1h' cache_control block must not come "
        "after a ttl='5m' cache_control block. Note that blocks are processed in the following "
        "order: `tools`, `system`, `messages`."
    ]


def test_a_memo_sees_a_compaction_block_appear_later() -> None:
    compaction = {"type": "compaction", "content": "Summary so far."}
    loop = _tool_loop(3)
    broken = [*loop[:2]]  # round 0 is unanswered: a problem until it is compacted away
    compacted = [*broken, assistant(compaction, text("Hello")), user("more")]
    longer = [*compacted, assistant(call("toolu_9")), user(result("toolu_9"))]
    found = _through_one_memo(
        body(*broken, user("x")),
        body(*compacted),
        body(*longer),
        body(*longer, assistant(call("toolu_9"))),
        body(*broken, user("x")),
    )
    assert found[1:3] == [[], []]
    assert found[0] == found[4] != []
    assert found[3] == ["messages.5.content.0: `tool_use` ids must be unique"]


def test_a_memo_is_reused_with_another_head() -> None:
    loop = [*_tool_loop(2), assistant(THINK)]
    found = _through_one_memo(
        body(*loop), body(*loop, thinking=ON), body(*loop, max_tokens=10**9), body(*loop)
    )
    assert found[0] == found[3]
    assert _RULES["thinking_last_block"].format(i=5) in found[0]
    assert found[1] == [_RULES["thinking_last_block"].format(i=5)]
    assert found[2][0].startswith("max_tokens: 1000000000 > ")


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["grow", "replace", "cut", "mark", "head"]),
            st.sampled_from(["user", "assistant"]),
            st.lists(st.sampled_from(range(len(BLOCKS))), max_size=3),
            st.integers(min_value=0, max_value=11),
        ),
        min_size=1,
        max_size=14,
    )
)
def test_a_memo_never_changes_the_answer_whatever_the_edits(
    steps: list[tuple[str, str, list[int], int]],
) -> None:
    memo = PreflightMemo()
    messages: list[dict[str, Any]] = [user("go")]
    extra: dict[str, Any] = {}
    for op, role, picks, at in steps:
        message = {"role": role, "content": [BLOCKS[i] for i in picks]}
        if op == "grow":
            messages = [*messages, message]
        elif op == "replace":
            messages = [*messages]
            messages[at % len(messages)] = message
        elif op == "cut":
            messages = messages[: max(1, at % (len(messages) + 1))]
        elif op == "head":
            extra = {} if extra else {"thinking": ON, "system": [text("s", cache_control=HOUR)]}
        request = body(*messages, **extra)
        if op == "mark":  # a marked copy of the last message, as explicit caching sends it
            final = messages[-1]
            blocks = [*final["content"], text("m", cache_control=EPHEMERAL)]
            request = body(*messages[:-1], {**final, "content": blocks}, **extra)
        assert preflight_problems(request, memo=memo) == preflight_problems(request)


def test_a_memo_checks_a_final_assistant_turn_again_once_it_is_followed() -> None:
    # A final assistant message is a prefill: no results are due yet and it may be empty. Once
    # turns follow it, both rules apply, though nothing before it changed.
    loop = _tool_loop(1)
    later = [user("no results"), assistant(text("ok")), user("next")]
    for final in (assistant(call("toolu_x")), {"role": "assistant", "content": []}):
        found = _through_one_memo(body(*loop, final), body(*loop, final, *later))
        assert found[0] == []
        assert len(found[1]) == 1 and found[1][0].startswith("messages.3")


def test_a_memo_finds_the_opening_of_a_growing_tool_loop() -> None:
    # Thinking on: the assistant message that opened the tool loop must start with thinking,
    # however many rounds follow it, and replacing that message is seen.
    loop = _tool_loop(5)
    thinking_first = [*loop]
    thinking_first[1] = assistant(THINK, text("adding"), call("toolu_0"))
    requests = [body(*loop[:n], thinking=ON) for n in range(3, len(loop) + 1, 2)]
    # The last request is sent twice (a retry): its opening is known from the first time.
    found = _through_one_memo(
        *requests, body(*thinking_first, thinking=ON), body(*loop, thinking=ON), requests[-1]
    )
    assert found[5] == []
    assert found[:5] == [[_RULES["thinking_first_final"].format(i=1, found="text")]] * 5
    assert found[6] == found[7] == found[4]


def test_a_memo_sees_tools_and_system_changed_in_place() -> None:
    # A before_model hook may change the request's tools or system list in place between
    # requests: the same objects, other contents. Their rules are read again every request.
    tools: list[dict[str, Any]] = [{"name": "add", "input_schema": {"type": "object"}}]
    system: list[dict[str, Any]] = [text("Be brief.")]
    loop = _tool_loop(3)
    memo = PreflightMemo()

    def check(rounds: int) -> list[str]:
        request = body(*loop[: 2 * rounds + 1], tools=tools, system=system)
        problems = preflight_problems(request, memo=memo)
        assert problems == preflight_problems(request)
        return problems

    assert check(0) == []
    tools[0]["cache_control"] = {"type": "ephemeral", "ttl": "2h"}
    assert check(1) == [_RULES["ttl_value"].format(path="tools.0.cache_control.ttl")]
    del tools[0]["cache_control"]
    assert check(2) == []
    system.append(text(""))
    assert check(3) == [_RULES["empty_text"].format(where="system")]


def test_a_conversation_checks_params_changed_in_place_between_requests() -> None:
    tools: list[dict[str, Any]] = [{"name": "add", "input_schema": {"type": "object"}}]
    system: list[dict[str, Any]] = [text("Be brief.")]
    params: dict[str, Any] = {"model": "claude-sonnet-4-5", "max_tokens": 1024}
    params.update(tools=tools, system=system)
    conversation = Conversation([user("go")])
    conversation.request_body(params)
    conversation.append(assistant(text("adding"), call("toolu_0")))
    conversation.append(user(result("toolu_0")))
    system.append(text(""))  # in place, as a hook could
    with pytest.raises(RequestValidationError) as caught:
        conversation.request_body(params)
    assert caught.value.problems == [_RULES["empty_text"].format(where="system")]
    system.pop()
    tools[0]["cache_control"] = {"type": "ephemeral", "ttl": "2h"}
    conversation.append(assistant(text("done")))
    conversation.append(user("thanks"))
    with pytest.raises(RequestValidationError) as caught:
        conversation.request_body(params)
    assert caught.value.problems == [_RULES["ttl_value"].format(path="tools.0.cache_control.ttl")]


def test_whitespace_text_with_cache_control_is_a_breakpoint() -> None:
    # Whitespace-only text is skipped when finding a message's first block, not as a breakpoint.
    request = body(
        user(text("hi", cache_control=EPHEMERAL)),
        assistant(text("\n\n", cache_control=HOUR), text("hello")),
        user("more"),
    )
    assert preflight_problems(request) == [
        _RULES["ttl_order"].format(path="messages.1.content.0.cache_control.ttl")
    ]
