"""Conversation: lossless entries, request view, incremental bodies, forks, usage, resume."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from pydantic_core import to_json
from recordings import Recording, cases

from agentkit import Conversation, Message, RequestValidationError
from agentkit.conversation import Entry, missing_tool_uses, pending_tool_uses, tool_results_message

PARAMS = {"model": "claude-sonnet-4-5", "max_tokens": 1024}


def _accumulate(sse: bytes) -> dict[str, Any]:
    """The final message of a recorded stream (a minimal accumulator, for test data only)."""
    message: dict[str, Any] = {}
    partial: dict[int, list[str]] = {}
    for frame in sse.replace(b"\r\n", b"\n").split(b"\n\n"):
        data = b"".join(
            line[5:].strip() for line in frame.split(b"\n") if line.startswith(b"data:")
        )
        if not data:
            continue
        event = json.loads(data)
        kind = event.get("type")
        if kind == "message_start":
            message = event["message"]
        elif kind == "content_block_start":
            message["content"].append(event["content_block"])
        elif kind == "content_block_delta":
            block, delta = message["content"][event["index"]], event["delta"]
            match delta["type"]:
                case "text_delta":
                    block["text"] += delta["text"]
                case "thinking_delta":
                    block["thinking"] += delta["thinking"]
                case "signature_delta":
                    block["signature"] = delta["signature"]
                case "input_json_delta":
                    partial.setdefault(event["index"], []).append(delta["partial_json"])
                case "citations_delta":
                    block.setdefault("citations", []).append(delta["citation"])
                case "compaction_delta":
                    block.update({k: v for k, v in delta.items() if k != "type"})
        elif kind == "content_block_stop" and event["index"] in partial:
            text = "".join(partial.pop(event["index"]))
            message["content"][event["index"]]["input"] = json.loads(text) if text else {}
        elif kind == "message_delta":
            message.update(event["delta"])
            message["usage"] = {**message.get("usage", {}), **event.get("usage", {})}
    return message


def _request_body(rec: Recording) -> dict[str, Any] | None:
    request = rec.request
    body = request.get("body") if request else None
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError:
            return None
    return body if isinstance(body, dict) else None


def exchanges() -> list[tuple[str, list[dict[str, Any]], dict[str, Any] | None]]:
    """Every recorded Messages exchange: (case, request messages, response message or None)."""
    out = []
    for rec in cases(endpoint="POST /v1/messages"):
        if "count_tokens" in str(rec.entry.get("endpoint")) or rec.status != 200:
            continue
        body = _request_body(rec)
        messages = list(body.get("messages", [])) if body else []
        response: dict[str, Any] | None = None
        if rec.streaming:
            try:
                response = _accumulate(rec.sse)
            except (ValueError, KeyError):  # the one synthetic stream cut mid-JSON
                response = None
        elif isinstance(rec.body, dict) and rec.body.get("type") == "message":
            response = rec.body
        if messages or response:
            out.append((rec.name, messages, response))
    return out


EXCHANGES = exchanges()


def test_the_recordings_give_enough_exchanges() -> None:
    assert len(EXCHANGES) > 60
    assert sum(1 for _, _, r in EXCHANGES if r is not None) > 60


@pytest.mark.parametrize(("name", "messages", "response"), EXCHANGES, ids=[e[0] for e in EXCHANGES])
def test_every_recorded_exchange_is_kept_exactly(
    name: str, messages: list[dict[str, Any]], response: dict[str, Any] | None
) -> None:
    conversation = Conversation(messages)
    if response is not None:
        entry = conversation.append(Message.model_validate(response))
        assert entry.message == {"role": "assistant", "content": response["content"]}
        assert entry.meta["response"] == {
            k: v for k, v in response.items() if k not in ("role", "content")
        }
    assert conversation.messages == [
        *messages,
        *([] if response is None else [conversation[-1].message]),
    ]
    for entry in conversation:
        assert json.loads(entry.raw) == entry.message
        assert entry.raw == to_json(entry.message)


def test_a_response_dict_and_a_message_give_the_same_entry() -> None:
    response = next(
        r for _, _, r in EXCHANGES if r and any(b["type"] == "thinking" for b in r["content"])
    )
    a, b = Entry.of(response), Entry.of(Message.model_validate(response))
    # Equal as data; the model dump may order keys differently from the wire (JSON objects are
    # unordered), which is why each entry keeps the bytes it was first encoded to.
    assert a.message == b.message and a.meta == b.meta
    assert a.message["content"] == response["content"]  # thinking signature and all


def test_request_body_is_spliced_from_the_stored_bytes() -> None:
    # Entries rebuilt from bytes that the encoder would never produce (spaces, key order): the
    # request carries those bytes verbatim, which proves history is not re-serialized.
    odd = [
        b'{"content": "hi",  "role": "user"}',
        b'{"role":"assistant","content":[{"text":"yo","type":"text"}]}',
    ]
    conversation = Conversation.from_entries([Entry.from_raw(raw, {}, 0.0) for raw in odd], id="c")
    conversation.append({"role": "user", "content": "again"})
    body = conversation.request_body(PARAMS, check=True)
    assert body.startswith(b'{"model":"claude-sonnet-4-5","max_tokens":1024,')
    assert odd[0] + b"," + odd[1] + b"," + conversation[-1].raw in body
    assert json.loads(body) == {
        **PARAMS,
        "cache_control": {"type": "ephemeral"},
        "messages": [json.loads(r) for r in odd] + [{"role": "user", "content": "again"}],
    }


def test_building_a_turn_encodes_only_params(monkeypatch: pytest.MonkeyPatch) -> None:
    import agentkit.conversation._conversation as module

    conversation = Conversation()
    for i in range(50):
        conversation.append({"role": "user", "content": f"question {i}"})
        conversation.append(
            {"role": "assistant", "content": [{"type": "text", "text": f"answer {i}"}]}
        )
    conversation.append({"role": "user", "content": "last"})
    encoded: list[Any] = []

    def counting(value: Any, **kwargs: Any) -> bytes:
        encoded.append(value)
        return to_json(value, **kwargs)

    monkeypatch.setattr(module, "to_json", counting)
    conversation.request_body(PARAMS)
    assert len(encoded) == 1 and "messages" not in encoded[0]


def test_request_view_starts_at_the_latest_compaction_and_history_keeps_all() -> None:
    compaction = {"type": "compaction", "content": "The user pasted notes; I said hello."}
    conversation = Conversation(
        [
            {"role": "user", "content": "long notes"},
            {"role": "assistant", "content": [compaction, {"type": "text", "text": "Hello!"}]},
            {"role": "user", "content": "What did I ask?"},
        ]
    )
    assert len(conversation) == 3
    body = json.loads(conversation.request_body(PARAMS))
    assert body["messages"] == conversation.messages[1:]
    later = {"type": "compaction", "content": "Second summary."}
    conversation.append({"role": "assistant", "content": [later]})
    conversation.append({"role": "user", "content": "and now?"})
    assert [e.message for e in conversation.request_view()] == conversation.messages[3:]
    assert conversation.fork(3).request_view()[0].message == conversation[1].message


def test_recorded_compaction_replay_request_matches_the_view() -> None:
    rec = next(r for r in cases() if r.name == "compaction-replay-request")
    body = _request_body(rec)
    assert body is not None
    conversation = Conversation(body["messages"])
    assert conversation.request_view()[0].message == body["messages"][1]
    conversation.request_body(PARAMS)  # the view passes preflight


def test_thinking_blocks_go_back_unchanged() -> None:
    response = next(
        r
        for _, _, r in EXCHANGES
        if r and r["content"] and r["content"][0]["type"] == "redacted_thinking"
    )
    conversation = Conversation([{"role": "user", "content": "hi"}])
    conversation.append(response)
    conversation.append({"role": "user", "content": "more"})
    body = json.loads(
        conversation.request_body(
            {**PARAMS, "max_tokens": 4096, "thinking": {"type": "enabled", "budget_tokens": 2048}}
        )
    )
    assert body["messages"][1]["content"] == response["content"]


def test_preflight_runs_before_a_body_is_built_and_can_be_turned_off() -> None:
    conversation = Conversation([{"role": "assistant", "content": "I start"}])
    with pytest.raises(RequestValidationError, match='first message must use the "user" role'):
        conversation.request_body(PARAMS)
    assert (
        json.loads(conversation.request_body(PARAMS, check=False))["messages"][0]["role"]
        == "assistant"
    )
    with pytest.raises(ValueError, match="messages"):
        conversation.request_body({**PARAMS, "messages": []})


def test_fork_shares_the_prefix_and_copies_on_write() -> None:
    parent = Conversation(
        [{"role": "user", "content": f"m{i}"} for i in range(4)], metadata={"t": 1}
    )
    child = parent.fork(2)
    assert child._log is parent._log and len(child) == 2 and child.id != parent.id
    child.append({"role": "assistant", "content": "child"})
    parent.append({"role": "assistant", "content": "parent"})
    assert [e.message["content"] for e in child] == ["m0", "m1", "child"]
    assert [e.message["content"] for e in parent] == ["m0", "m1", "m2", "m3", "parent"]
    twin = parent.fork()
    twin.append({"role": "user", "content": "twin"})  # the twin extends the shared list first
    parent.append({"role": "user", "content": "parent again"})
    assert twin[-1].message["content"] == "twin" and parent[-1].message["content"] == "parent again"
    assert len(twin) == len(parent) == 6 and twin[4] is parent[4]
    assert child.metadata == {"t": 1} and child.metadata is not parent.metadata
    with pytest.raises(IndexError):
        parent.fork(99)
    assert len(parent.fork(-1)) == 5


def test_usage_and_cost_totals_follow_appends_and_forks() -> None:
    responses = [
        r
        for _, _, r in EXCHANGES
        if r and r.get("model", "").startswith("claude-haiku-4-5") and r.get("usage")
    ][:3]
    assert len(responses) == 3
    conversation = Conversation()
    for response in responses:
        conversation.append({"role": "user", "content": "q"})
        conversation.append(response)
    assert conversation.usage.requests == 3
    assert conversation.usage.output_tokens == sum(r["usage"]["output_tokens"] for r in responses)
    assert conversation.usage.cost_usd > 0
    assert conversation.fork(2).usage.requests == 1
    assert conversation.fork().usage == conversation.usage


def test_resume_helpers_find_the_missing_tools_and_order_results() -> None:
    calls = [
        {"type": "tool_use", "id": f"toolu_{i}", "name": "f", "input": {"i": i}} for i in range(3)
    ]
    conversation = Conversation(
        [{"role": "user", "content": "go"}, {"role": "assistant", "content": calls}]
    )
    pending = pending_tool_uses(conversation)
    assert pending == calls
    journaled = {"toolu_1": {"type": "tool_result", "tool_use_id": "toolu_1", "content": "one"}}
    assert [c["id"] for c in missing_tool_uses(pending, journaled)] == ["toolu_0", "toolu_2"]
    results = {
        **journaled,
        **{
            c["id"]: {"type": "tool_result", "tool_use_id": c["id"], "content": "x"}
            for c in calls
            if c["id"] != "toolu_1"
        },
    }
    message = tool_results_message(pending, results)
    assert [b["tool_use_id"] for b in message["content"]] == ["toolu_0", "toolu_1", "toolu_2"]
    conversation.append(message)
    assert pending_tool_uses(conversation) == []
    assert pending_tool_uses(Conversation()) == []


def test_entries_index_and_uncommitted() -> None:
    conversation = Conversation(
        [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]
    )
    assert conversation[-1].role == "assistant" and conversation[0].blocks == [
        {"type": "text", "text": "a"}
    ]
    with pytest.raises(IndexError):
        conversation[2]
    assert len(conversation.uncommitted) == 2
    conversation.version = 1
    assert [e.message["content"] for e in conversation.uncommitted] == ["b"]
    assert "messages=2" in repr(conversation)


def test_the_docs_page_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # docs/conversations.md promises code that runs: execute its snippets in order.
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    page = (Path(__file__).resolve().parents[1] / "docs" / "conversations.md").read_text()
    snippets = re.findall(r"```python\n(.*?)```", page, re.S)
    assert len(snippets) >= 10
    exec(compile("\n".join(snippets), "docs/conversations.md", "exec"), {})


def test_extend_json_object_splices_encoded_members() -> None:
    from agentkit.conversation import extend_json_object, json_array

    messages = json_array([b'{"role":"user","content":"hi"}', b'{"a": 1}'])
    assert messages == b'[{"role":"user","content":"hi"},{"a": 1}]'
    assert extend_json_object(b'{"model":"m"}', {"messages": messages}) == (
        b'{"model":"m","messages":' + messages + b"}"
    )
    # The empty object gets no leading comma; no members leave the object as it was.
    assert extend_json_object(b"{}", {"messages": b"[]"}) == b'{"messages":[]}'
    assert extend_json_object(b"{ }", {"x": b"1", "y\\": b"2"}) == b'{ "x":1,"y\\\\":2}'
    assert extend_json_object(b'{"a":1}', {}) == b'{"a":1}'
    assert json.loads(extend_json_object(b'{"a":1}', {"é": b"true"})) == {"a": 1, "é": True}
    with pytest.raises(ValueError):
        extend_json_object(b"[1]", {"x": b"1"})


def test_usage_follows_changes_to_the_default_price_table(monkeypatch: pytest.MonkeyPatch) -> None:
    from agentkit.types import DEFAULT_PRICES, ModelPrice, RunUsage

    usage = {"input_tokens": 1_000_000, "output_tokens": 0}
    assert RunUsage().add(usage, "claude-haiku-4-5").cost_usd == 1.0  # $1 per million input
    # The lookup is remembered per model, but a change to the table is seen at once.
    monkeypatch.setitem(DEFAULT_PRICES, "claude-haiku-4-5", ModelPrice.from_base(3.0, 15.0))
    assert RunUsage().add(usage, "claude-haiku-4-5").cost_usd == 3.0
    monkeypatch.delitem(DEFAULT_PRICES, "claude-haiku-4-5")
    monkeypatch.delitem(DEFAULT_PRICES, "claude-haiku-4")
    assert RunUsage().add(usage, "claude-haiku-4-5").unpriced == {"claude-haiku-4-5"}


def test_added_usage_is_the_same_as_a_constructed_one() -> None:
    # `add` and `+` build their result without the dataclass's `__init__` (issue 18): it must be
    # indistinguishable from one the constructor made, field by field, and stay frozen.
    import copy
    import dataclasses
    import pickle

    from agentkit.types import RunUsage

    usage = {
        "input_tokens": 7,
        "output_tokens": 11,
        "cache_creation_input_tokens": 13,
        "cache_read_input_tokens": 17,
    }
    one = RunUsage().add(usage, "claude-haiku-4-5")
    built = RunUsage(1, 7, 11, 13, 17, one.cost_usd, frozenset())
    assert one == built and hash(one) == hash(built)
    assert dataclasses.asdict(one) == dataclasses.asdict(built)
    assert [f.name for f in dataclasses.fields(one)] == list(vars(one))
    two = one + RunUsage().add(usage, "not-a-model")
    assert two == RunUsage(2, 14, 22, 26, 34, one.cost_usd, frozenset({"not-a-model"}))
    assert copy.deepcopy(two) == two and pickle.loads(pickle.dumps(two)) == two
    assert dataclasses.replace(two, requests=5).requests == 5
    with pytest.raises(dataclasses.FrozenInstanceError):
        two.requests = 3  # type: ignore[misc]
