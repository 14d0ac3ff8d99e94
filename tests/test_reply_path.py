"""The reply and user-message path of a turn (`Transcript.append_reply` / `append_user`,
`Entry.of`, `Conversation.append`): what it stores and the totals it keeps, against the plain
definitions it shortcuts (issue 18: usage priced once a response, one pass over the blocks)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

import agentkit
from agentkit import Agent, Conversation, tool
from agentkit.conversation import Entry, pending_tool_uses, tool_results_message
from agentkit.runner._loop import RunSpec
from agentkit.runner._transcript import Transcript
from agentkit.testing import FakeClaude, Reply
from agentkit.types import DEFAULT_PRICES, Message, ModelPrice, RunUsage
from agentkit.types._private import set_private

MODEL = "claude-haiku-4-5"
PRICES = {"claude-haiku": ModelPrice.from_base(2.0, 9.0)}


def _usage(n: int) -> dict[str, Any]:
    return {
        "input_tokens": 1000 + n,
        "output_tokens": 37 * n + 1,
        "cache_creation_input_tokens": 300 * n,
        "cache_read_input_tokens": 7 * n,
        "cache_creation": {"ephemeral_1h_input_tokens": 100 * n, "ephemeral_5m_input_tokens": 0},
    }


def _received(body: dict[str, Any]) -> Message:
    """A `Message` as the client parses one: the decoded body kept with it (a body the model
    would refuse, missing a field, is kept with a valid model: the path reads the body)."""
    message = Message.model_validate({**_body(0), **body})
    set_private(message, "_received", body)
    return message


def _body(n: int, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": f"msg_{n}",
        "type": "message",
        "role": "assistant",
        "model": MODEL,
        "content": [
            {"type": "text", "text": f"step {n}"},
            {"type": "tool_use", "id": f"toolu_{n}a", "name": "add", "input": {"a": n}},
            {"type": "tool_use", "id": f"toolu_{n}b", "name": "add", "input": {"b": n}},
        ],
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": _usage(n),
    }
    body.update(fields)
    return {k: v for k, v in body.items() if v is not _ABSENT}


_ABSENT: Any = object()

# Responses whose model or usage is unusual: no model, an unknown model, no usage at all.
BODIES = [
    _body(1),
    _body(2, model=_ABSENT),
    _body(3, model="not-a-claude-model"),
    _body(4, usage=_ABSENT),
    _body(5, model=""),
    _body(6),
]


@pytest.mark.parametrize("prices", [None, PRICES])
def test_reply_and_conversation_totals_are_the_plain_definitions(
    prices: dict[str, ModelPrice] | None,
) -> None:
    # The reply's usage: its response priced at the run's prices (the spec's model when the
    # response names none). The conversation's: every response priced at the default prices
    # for the model it names, added one by one. Compared exactly, cost included.
    spec = RunSpec(params={"model": MODEL, "max_tokens": 64}, prices=prices)
    conversation = Conversation([{"role": "user", "content": "go"}])
    transcript = Transcript(spec, conversation)
    conversation_totals = RunUsage()
    run_totals = RunUsage()
    for body in BODIES:
        expected_body = copy.deepcopy(body)
        reply = transcript.append_reply(_received(body))
        usage = expected_body.get("usage")
        named = str(expected_body.get("model") or MODEL)
        expected = RunUsage().add(usage or {}, named, prices=prices)
        assert reply.usage == expected
        if isinstance(usage, dict):
            conversation_totals = conversation_totals.add(
                usage, str(expected_body.get("model", ""))
            )
        run_totals = run_totals + reply.usage
        assert conversation.usage == conversation_totals
        assert reply.text == expected_body["content"][0]["text"]
        assert [c.id for c in reply.calls] == [b["id"] for b in expected_body["content"][1:]]
        assert reply.stop_reason == "tool_use" and reply.container is None
        entry = conversation[-1]
        assert entry.message == {"role": "assistant", "content": expected_body["content"]}
        expected_body.pop("role"), expected_body.pop("content")
        assert entry.meta == {"response": expected_body}
        results = {
            c.id: {"type": "tool_result", "tool_use_id": c.id, "content": "ok"} for c in reply.calls
        }
        transcript.results.update(results)
        transcript.append_user("results", [{"type": "text", "text": "more"}])
        assert conversation[-1].message == {
            "role": "user",
            "content": [*results.values(), {"type": "text", "text": "more"}],
        }
    assert conversation.usage.unpriced == {"", "not-a-claude-model"}
    # A conversation rebuilt from its entries, and a fork, price them the same.
    assert conversation.fork().usage == conversation.usage
    assert conversation.fork(len(conversation) - 1).usage == conversation.usage
    rebuilt = Conversation.from_entries(list(conversation), id="again")
    assert rebuilt.usage == conversation.usage
    assert run_totals.requests == len(BODIES)


def test_a_given_usage_is_the_same_totals_as_pricing_the_response() -> None:
    response = {"type": "message", "role": "assistant", "model": MODEL, "content": []}
    plain, given = Conversation(), Conversation()
    for n in range(4):
        body = {**response, "usage": _usage(n)}
        plain.append(body)
        given.append(body, usage=RunUsage().add(_usage(n), MODEL))
    assert given.usage == plain.usage and given.usage.cost_usd > 0
    # A message with no usage to add ignores it.
    given.append({"role": "user", "content": "hi"}, usage=RunUsage().add(_usage(9), MODEL))
    assert given.usage == plain.usage


def test_agent_totals_with_and_without_prices() -> None:
    @tool
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    for prices in (None, PRICES):
        fake = FakeClaude([Reply.tool_use("add", {"a": 1, "b": 2})] * 3 + [Reply.text("3")])
        client = agentkit.Client(api_key="test", http_client=fake.http_client())
        agent = Agent(MODEL, client=client, tools=[add], prices=prices)
        result = agent.run("add")
        responses = [e.meta["response"] for e in result.conversation if "response" in e.meta]
        assert len(responses) == 4
        by_default = RunUsage()
        by_run = RunUsage()
        for response in responses:
            assert isinstance(response, dict)
            by_default = by_default.add(response["usage"], str(response["model"]))
            by_run = by_run + RunUsage().add(response["usage"], MODEL, prices=prices)
        assert result.conversation.usage == by_default
        assert result.usage == by_run
        assert (result.usage == result.conversation.usage) is (prices is None)


CONTENTS: list[Any] = [
    "plain",
    [{"type": "text", "text": "no hints"}],
    [{"type": "text", "text": "hint", "cache_control": {"type": "ephemeral"}}],
    [{"type": "text", "text": "null hint", "cache_control": None}],
    [
        {
            "type": "tool_result",
            "tool_use_id": "t",
            "content": [{"type": "text", "text": "x", "cache_control": {"type": "ephemeral"}}],
        }
    ],
    [{"type": "compaction", "content": "summary"}],
    [{"type": "text", "text": 'mentions "cache_control" and "compaction"'}],
    [{"type": "text", "text": "x", "citations": [{"cache_control": {"type": "ephemeral"}}]}],
    [],
]


@pytest.mark.parametrize("role", ["user", "assistant"])
@pytest.mark.parametrize("content", CONTENTS)
def test_entry_flags_are_those_of_a_full_scan(role: str, content: Any) -> None:
    # `Entry.of` skips the scan when its JSON names neither a hint nor a compaction block;
    # `from_raw` always scans: both must agree.
    for message in ({"role": role, "content": content}, _response_of(role, content)):
        entry = Entry.of(message)
        scanned = Entry.from_raw(entry.raw, entry.meta, entry.created_at)
        assert scanned == entry
        assert (entry.breakpoints, entry.has_compaction, entry.empty_reply) == (
            scanned.breakpoints,
            scanned.has_compaction,
            scanned.empty_reply,
        )


def _response_of(role: str, content: Any) -> dict[str, Any]:
    return {"type": "message", "role": role, "content": content, "model": MODEL}


def test_an_entry_keeps_its_own_dicts() -> None:
    body = _body(1)
    entry = Entry.of(body)
    param = {"role": "user", "content": "hi", "extra": 1}
    entry2 = Entry.of(param, {"note": 1})
    body["model"], body["role"], body["content"] = "changed", "user", []
    param["content"] = "changed"
    assert entry.message["role"] == "assistant" and len(entry.message["content"]) == 3  # type: ignore[arg-type]
    assert entry.meta["response"]["model"] == MODEL  # type: ignore[index]
    assert entry2.message == {"role": "user", "content": "hi", "extra": 1}
    assert entry2.meta == {"note": 1}
    # A response's meta given by the caller wins, as before.
    assert Entry.of(_body(2), {"response": {"id": "x"}}).meta == {"response": {"id": "x"}}


def test_user_message_answers_the_last_message_when_something_came_between() -> None:
    spec = RunSpec(params={"model": MODEL, "max_tokens": 64})
    conversation = Conversation([{"role": "user", "content": "go"}])
    transcript = Transcript(spec, conversation)
    reply = transcript.append_reply(_received(_body(1)))
    # Something else (a hook, say) appends another reply before the user message goes in.
    other = {"role": "assistant", "content": [{"type": "tool_use", "id": "t9", "name": "add"}]}
    conversation.append(other)
    results = {
        i: {"type": "tool_result", "tool_use_id": i, "content": "ok"}
        for i in ["t9", *(c.id for c in reply.calls)]
    }
    transcript.results.update(results)
    pending = pending_tool_uses(conversation)
    transcript.append_user("results", [])
    assert conversation[-1].message == tool_results_message(pending, results)
    assert [b["tool_use_id"] for b in conversation[-1].blocks] == ["t9"]


def test_cut_off_answers_every_call_of_the_reply() -> None:
    spec = RunSpec(params={"model": MODEL, "max_tokens": 64})
    conversation = Conversation([{"role": "user", "content": "go"}])
    transcript = Transcript(spec, conversation)
    reply = transcript.append_reply(_received(_body(1)))
    transcript.append_user("cut_off", [{"type": "text", "text": "go on"}])
    blocks = conversation[-1].blocks
    assert [b.get("tool_use_id") for b in blocks] == [c.id for c in reply.calls] + [None]
    assert all(b.get("is_error") for b in blocks[:2])


def test_a_streamed_reply_is_appended_from_its_model() -> None:
    # No body kept (a stream's message): the model's dict is appended and priced.
    spec = RunSpec(params={"model": MODEL, "max_tokens": 64}, prices=PRICES)
    conversation = Conversation([{"role": "user", "content": "go"}])
    body = _body(1)
    reply = Transcript(spec, conversation).append_reply(Message.model_validate(body))
    assert reply.usage == RunUsage().add(_usage(1), MODEL, prices=PRICES)
    assert conversation.usage == RunUsage().add(_usage(1), MODEL)
    assert [c.id for c in reply.calls] == ["toolu_1a", "toolu_1b"]
    assert DEFAULT_PRICES  # the default table is untouched by a run's prices


def test_every_change_to_the_default_table_is_seen() -> None:
    # `price_for` keeps what it found while the table stays as it was: every way of changing
    # the table is seen, the dict methods called on it directly too.
    from agentkit.types import price_for

    table = DEFAULT_PRICES
    saved = dict(table)
    dearer = ModelPrice.from_base(30.0, 150.0)
    try:
        assert price_for(MODEL) == saved[MODEL]
        table[MODEL] = dearer
        assert price_for(MODEL) is dearer
        del table[MODEL]
        assert price_for(MODEL) == saved["claude-haiku-4"]  # the family prefix
        table.update({MODEL: dearer})
        assert price_for(MODEL) is dearer
        table.pop(MODEL)
        assert price_for(MODEL) == saved["claude-haiku-4"]
        table |= {MODEL: dearer}
        assert price_for(MODEL) is dearer
        table.pop(MODEL, None)
        table.setdefault(MODEL, saved[MODEL])
        assert price_for(MODEL) == saved[MODEL]
        table.clear()
        assert price_for(MODEL) is None
        table.update(haiku=dearer)  # keyword form
        table.setdefault("claude-haiku-4-5", dearer)
        assert price_for(MODEL) is dearer
        while table:
            table.popitem()
        assert price_for(MODEL) is None
        dict.update(table, {MODEL: dearer})
        assert price_for(MODEL) is dearer
    finally:
        table.clear()
        table.update(saved)
    assert price_for(MODEL) == saved[MODEL]
    # Still a plain dict to its users: copies and unions of it are dicts.
    assert type(table | {}) is dict and type(dict(table)) is dict
    assert isinstance(table, dict) and table == saved


def test_a_user_message_after_the_reply_was_taken_back() -> None:
    # A reply appended, then dropped with everything uncommitted: the user message that follows
    # answers what the conversation holds (nothing), not the dropped reply's calls.
    spec = RunSpec(params={"model": MODEL, "max_tokens": 64})
    conversation = Conversation()
    transcript = Transcript(spec, conversation)
    transcript.append_reply(_received(_body(1)))
    conversation.discard_uncommitted(0)
    transcript.append_user("results", [{"type": "text", "text": "hi"}])
    assert conversation.messages == [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]
