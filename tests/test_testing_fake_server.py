"""`agentkit fake-server` for any client: JSON scripts, faults, keys, latency, rate-limit headers;
and the fake's timing faults as clients see them (bare statuses, timeouts in process)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from recordings import load

import agentkit
from agentkit.testing import FakeClaude, Fault, Reply, ScriptError, script_from_json

AGENTKIT = str(Path(sys.executable).with_name("agentkit"))
HI = {
    "model": "claude-haiku-4-5",
    "max_tokens": 50,
    "messages": [{"role": "user", "content": "Hi"}],
}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    recorded = load("thinking-nonstream-signature").body["content"]
    script = [
        "first",
        {"content": [{"type": "text", "text": "second"}], "usage": {"output_tokens": 7}},
        {"fault": "status_error", "status": 409, "error_type": "conflict_error", "message": "b"},
        {"content": recorded},
        {"fault": "rate_limit", "retry_after": 0},
        "after the retry",
    ]
    path = tmp_path / "script.json"
    path.write_text(json.dumps(script))
    command = [AGENTKIT, "fake-server", "--port", "0", "--api-key", "k", "--script", str(path)]
    command += ["--no-check-thinking", "--latency", "0.2", "--seed", "3"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        yield proc.stdout.readline().strip()
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert "fake Claude (6 scripted items) listening" in err


def test_fake_server_serves_a_json_script_to_any_client(server: str) -> None:
    key = {"x-api-key": "k"}
    with httpx.Client(base_url=server, headers=key) as http:
        assert http.post("/v1/messages", json=HI, headers={"x-api-key": "wrong"}).status_code == 401
        started = time.monotonic()
        first = http.post("/v1/messages", json=HI)
        assert time.monotonic() - started >= 0.2  # --latency
        assert first.json()["content"] == [{"type": "text", "text": "first"}]
        assert first.json()["model"] == "claude-haiku-4-5-20251001"
        assert first.headers["request-id"].startswith("req_")
        assert first.headers["anthropic-ratelimit-requests-limit"] == "20000"
        remaining = int(first.headers["anthropic-ratelimit-requests-remaining"])
        second = http.post("/v1/messages", json=HI)
        assert second.json()["usage"]["output_tokens"] == 7
        # The budget refills continuously (20,000 a minute), so it never shows more than the
        # limit less the request just made.
        assert remaining <= 19_999
        assert int(second.headers["anthropic-ratelimit-requests-remaining"]) <= 19_999
        assert second.headers["anthropic-ratelimit-tokens-reset"].endswith("Z")
        conflict = http.post("/v1/messages", json=HI)
        assert conflict.status_code == 409 and "x-should-retry" not in conflict.headers
        # The recorded thinking block (a real signature) goes back: accepted with the check off.
        recorded = http.post("/v1/messages", json=HI).json()["content"]
        replay = {**HI, "messages": [*HI["messages"], {"role": "assistant", "content": recorded},
                                     {"role": "user", "content": "And?"}]}  # fmt: skip
        replay["thinking"] = {"type": "enabled", "budget_tokens": 1024}
        replay["max_tokens"] = 2048
        client = agentkit.Client(api_key="k", base_url=server, max_retries=1)
        with client:
            message = client.messages.create(**replay)
        assert message.text == "after the retry"  # the 429 in between was retried


def test_a_bad_script_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(["ok", {"fault": "explode"}]))
    done = subprocess.run(
        [AGENTKIT, "fake-server", "--script", str(path)], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 2
    assert "script[1].fault: 'explode' is not one of status_error, rate_limit" in done.stderr
    path.write_text("[oops")
    done = subprocess.run(
        [AGENTKIT, "fake-server", "--script", str(path)], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 2 and "JSONDecodeError" in done.stderr


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"content": []}, "a script is a JSON list"),
        ([5], "script[0]: a reply is a string or an object, not 5"),
        ([{"text": "hi"}], "script[0]: unknown reply keys ['text']"),
        ([{"content": "hi"}], "script[0].content: a list of blocks"),
        ([{"fault": "rate_limit", "after": 1}], "script[0]: Fault.rate_limit(): "),
        ([{"fault": "slow", "reply": 3}], "script[0].reply: a reply is a string or an object"),
    ],
)
def test_script_errors_name_the_item(data: object, message: str) -> None:
    with pytest.raises(ScriptError) as info:
        script_from_json(data)
    assert str(info.value).startswith(message)


def test_json_script_items_are_replies_and_faults() -> None:
    items = script_from_json(
        [
            "plain",
            {"content": [{"type": "tool_use", "name": "f", "input": {}}]},
            {"fault": "slow", "reply": "late", "delay": 0.5},
            {"fault": "batch_outcome", "outcome": "expired"},
        ]
    )
    plain, call, slow, outcome = items
    assert isinstance(plain, Reply) and plain.blocks[0].data == {"type": "text", "text": "plain"}
    assert isinstance(call, Reply) and call.stop_reason == "tool_use"
    assert isinstance(slow, Fault) and slow.delay == 0.5 and slow.reply is not None
    assert outcome == Fault.batch_outcome("expired")


def test_the_in_process_transport_honours_read_timeouts() -> None:
    fake = FakeClaude([Fault.slow(Reply.text("late"), delay=5.0), "on time"])
    with fake.http_client(timeout=httpx.Timeout(5.0, read=0.1)) as http:
        started = time.monotonic()
        with pytest.raises(httpx.ReadTimeout):
            http.post("/v1/messages", json=HI)
        assert time.monotonic() - started < 2  # the timeout fired, not the 5 s delay
        assert http.post("/v1/messages", json=HI).json()["content"][0]["text"] == "on time"


def test_a_slow_stream_times_out_between_chunks() -> None:
    fake = FakeClaude([Fault.slow(Reply.text("late " * 40), chunk_delay=5.0)])
    with fake.http_client(timeout=httpx.Timeout(5.0, read=0.1)) as http:
        with pytest.raises(httpx.ReadTimeout):
            with http.stream("POST", "/v1/messages", json={**HI, "stream": True}) as response:
                response.read()


@pytest.mark.anyio
async def test_async_transport_honours_read_timeouts() -> None:
    fake = FakeClaude([Fault.slow(Reply.text("late"), delay=5.0)])
    async with fake.async_http_client(timeout=httpx.Timeout(5.0, read=0.1)) as http:
        with pytest.raises(httpx.ReadTimeout):
            await http.post("/v1/messages", json=HI)


def test_the_agentkit_client_retries_a_bare_409() -> None:
    fake = FakeClaude([Fault.status_error(409, "conflict_error", "busy"), "fine"])
    client = agentkit.Client(api_key="k", http_client=fake.http_client(), max_retries=1)
    with client:
        assert client.messages.create(**HI).text == "fine"
    assert len(fake.requests) == 2
