"""Code written the way a user of the official `anthropic` SDK writes it, run on agentkit.

Each test is one topic of the SDK's documentation (client usage, streaming, token counting,
tools and the tool runner, batches, files, errors, request ids, retries, timeouts, pagination,
headers, serialization, raw responses, undocumented endpoints, custom http clients, resource
management, betas) or of the API reference (messages, system prompts, vision, caching, thinking,
compaction). The examples are our own, written for this file; what they keep from an SDK user's
code is its shape: `import agentkit as anthropic` is the only import line that changes, the
client class is `anthropic.Client` / `anthropic.AsyncClient` (the SDK's `Anthropic` /
`AsyncAnthropic`), and names the SDK keeps in a submodule come from agentkit's
(`agentkit.runner.beta_tool`, `agentkit.types.MessageParam`).

The client reads `ANTHROPIC_API_KEY` and `ANTHROPIC_BASE_URL`, as the SDK's does: the `sdk`
fixture points them at a fake Claude served over loopback HTTP, so the user code below is
exactly what would run against the API. The fake answers in test-model mode unless a test
scripts its replies.
"""

from __future__ import annotations

import asyncio
import base64
import struct
import textwrap
import zlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import agentkit as anthropic
from agentkit.testing import FakeClaude, Fault, Reply, text, thinking

MODEL = "claude-sonnet-4-5"


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeClaude]:
    claude = FakeClaude()  # test-model mode until a test adds a script
    with claude.serve() as server:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", server.url)
        monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-usage-example")
        monkeypatch.delenv("ANTHROPIC_AUTH_TOKEN", raising=False)
        yield claude


# --- the SDK's documentation page ---------------------------------------------------------


def test_sync_usage(fake: FakeClaude) -> None:
    fake.add(Reply.text("Hi there, how can I help?"))
    client = anthropic.Client()
    message = client.messages.create(
        model=MODEL,
        max_tokens=512,
        messages=[{"role": "user", "content": "Say hi to me"}],
    )
    assert message.content[0].type == "text"
    assert message.content[0].text == "Hi there, how can I help?"
    assert message.role == "assistant" and message.stop_reason == "end_turn"
    assert fake.requests[0].headers["x-api-key"] == "sk-ant-usage-example"


def test_async_usage(fake: FakeClaude) -> None:
    fake.add(Reply.text("Hello from async"))
    client = anthropic.AsyncClient()

    async def main() -> str:
        message = await client.messages.create(
            model=MODEL,
            max_tokens=512,
            messages=[{"role": "user", "content": "Say hi asynchronously"}],
        )
        await client.close()
        return message.content[0].text

    assert asyncio.run(main()) == "Hello from async"


def test_async_usage_with_aiohttp(fake: FakeClaude) -> None:
    fake.add(Reply.text("over aiohttp"))

    async def main() -> str:
        async with anthropic.AsyncClient(http_client=anthropic.DefaultAioHttpClient()) as client:
            message = await client.messages.create(
                model=MODEL,
                max_tokens=256,
                messages=[{"role": "user", "content": "Which transport?"}],
            )
        return message.content[0].text

    assert asyncio.run(main()) == "over aiohttp"


def test_streaming_with_stream_true(fake: FakeClaude) -> None:
    fake.add(Reply.text("one two three"), Reply.text("async words"))
    client = anthropic.Client()
    stream = client.messages.create(
        model=MODEL,
        max_tokens=256,
        messages=[{"role": "user", "content": "Count to three"}],
        stream=True,
    )
    kinds = []
    pieces = []
    for event in stream:
        kinds.append(event.type)
        if event.type == "content_block_delta" and event.delta.type == "text_delta":
            pieces.append(event.delta.text)
        if event.type == "message_start":
            assert event.message.usage.input_tokens > 0
    assert "".join(pieces) == "one two three"
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop"

    async def streamed() -> list[str]:
        aclient = anthropic.AsyncClient()
        astream = await aclient.messages.create(
            model=MODEL,
            max_tokens=256,
            messages=[{"role": "user", "content": "Say something"}],
            stream=True,
        )
        found = [
            event.delta.text
            async for event in astream
            if event.type == "content_block_delta" and event.delta.type == "text_delta"
        ]
        await aclient.close()
        return found

    assert "".join(asyncio.run(streamed())) == "async words"


def test_streaming_helpers(fake: FakeClaude) -> None:
    fake.add(
        Reply.text("Rivers run to the sea."),
        Reply.tool_use("lookup", {"query": "rivers"}, text="Looking."),
        Reply.text("async helper text"),
    )
    client = anthropic.Client()
    with client.messages.stream(
        model=MODEL,
        max_tokens=1024,
        messages=[{"role": "user", "content": "A line about rivers"}],
    ) as stream:
        shown = "".join(stream.text_stream)
    message = stream.get_final_message()
    assert shown == "Rivers run to the sea." == message.content[0].text

    lookup = {
        "name": "lookup",
        "description": "Search the notes.",
        "input_schema": {
            "type": "object",
            "properties": {"query": {"type": "string"}},
            "required": ["query"],
        },
    }
    seen: dict[str, object] = {}
    with client.messages.stream(
        model=MODEL,
        max_tokens=1024,
        tools=[lookup],
        messages=[{"role": "user", "content": "Find notes on rivers"}],
    ) as stream:
        for event in stream:
            if event.type == "text":
                seen["text"] = event.snapshot
            elif event.type == "input_json":
                seen["partial"] = event.snapshot
            elif event.type == "content_block_stop":
                seen.setdefault("blocks", []).append(event.content_block.type)  # type: ignore[union-attr]
            elif event.type == "message_start":
                seen["id"] = event.message.id
        final = stream.get_final_message()
    assert seen["text"] == "Looking."
    assert seen["partial"] == {"query": "rivers"}
    assert seen["blocks"] == ["text", "tool_use"]
    assert seen["id"] == final.id and final.stop_reason == "tool_use"

    async def helper() -> str:
        aclient = anthropic.AsyncClient()
        async with aclient.messages.stream(
            model=MODEL, max_tokens=256, messages=[{"role": "user", "content": "Go"}]
        ) as astream:
            parts = [event.text async for event in astream if event.type == "text"]
            done = await astream.get_final_message()
        await aclient.close()
        assert done.content[0].text == "".join(parts)
        return "".join(parts)

    assert asyncio.run(helper()) == "async helper text"


def test_token_counting(fake: FakeClaude) -> None:
    client = anthropic.Client()
    count = client.messages.count_tokens(
        model=MODEL,
        system="You are a terse assistant.",
        messages=[{"role": "user", "content": "How long is this prompt?"}],
    )
    assert count.input_tokens > 0
    message = client.messages.create(
        model=MODEL, max_tokens=128, messages=[{"role": "user", "content": "Hi"}]
    )
    assert message.usage.input_tokens > 0 and message.usage.output_tokens > 0


def test_tool_helpers_and_the_tool_runner(fake: FakeClaude) -> None:
    from agentkit.runner import beta_async_tool, beta_tool

    @beta_tool
    def get_forecast(city: str, days: int = 1) -> str:
        """Weather forecast for a city.

        Args:
            city: The city name, e.g. Lisbon.
            days: How many days ahead.
        """
        return f"{city}: clear skies for {days} day(s)"

    fake.add(
        Reply.tool_use("get_forecast", {"city": "Lisbon", "days": 2}),
        Reply.text("Clear skies in Lisbon."),
    )
    client = anthropic.Client()
    runner = client.beta.messages.tool_runner(
        model=MODEL,
        max_tokens=1024,
        tools=[get_forecast],
        messages=[{"role": "user", "content": "Weather in Lisbon for two days?"}],
    )
    stops = [message.stop_reason for message in runner]
    assert stops == ["tool_use", "end_turn"]
    sent = fake.message_bodies[1]["messages"][-1]["content"][0]
    assert sent["type"] == "tool_result" and "clear skies for 2 day(s)" in str(sent["content"])

    @beta_async_tool
    async def add(a: int, b: int) -> str:
        """Add two numbers.

        Args:
            a: The first.
            b: The second.
        """
        return str(a + b)

    fake.add(Reply.tool_use("add", {"a": 2, "b": 3}), Reply.text("5"))

    async def run_async() -> str:
        aclient = anthropic.AsyncClient()
        arunner = aclient.beta.messages.tool_runner(
            model=MODEL,
            max_tokens=256,
            tools=[add],
            messages=[{"role": "user", "content": "2 + 3?"}],
        )
        last = await arunner.until_done()
        await aclient.close()
        return last.content[0].text

    assert asyncio.run(run_async()) == "5"


def test_batches_create_and_results(fake: FakeClaude) -> None:
    client = anthropic.Client()
    batch = client.messages.batches.create(
        requests=[
            {
                "custom_id": f"question-{n}",
                "params": {
                    "model": MODEL,
                    "max_tokens": 128,
                    "messages": [{"role": "user", "content": f"What is {n} squared?"}],
                },
            }
            for n in range(3)
        ]
    )
    assert batch.id.startswith("msgbatch_") and batch.request_counts.processing == 3
    while client.messages.batches.retrieve(batch.id).processing_status != "ended":
        pass  # the fake ends a batch the first time it is looked at
    answered = {}
    for entry in client.messages.batches.results(batch.id):
        if entry.result.type == "succeeded":
            answered[entry.custom_id] = entry.result.message.content[0].type
    assert answered == {f"question-{n}": "text" for n in range(3)}


def test_file_uploads(fake: FakeClaude, tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("Meeting moved to Thursday.")
    client = anthropic.Client()
    from_path = client.beta.files.upload(file=notes)
    from_tuple = client.beta.files.upload(file=("plan.md", b"# Plan\n", "text/markdown"))
    with notes.open("rb") as handle:
        from_handle = client.beta.files.upload(file=handle)
    assert from_path.filename == "notes.txt" and from_path.size_bytes == notes.stat().st_size
    assert from_tuple.mime_type == "text/markdown"
    assert from_handle.filename == "notes.txt"
    listed = [f.id for f in client.beta.files.list()]
    assert set(listed) == {from_path.id, from_tuple.id, from_handle.id}
    assert "files-api" in fake.requests[0].headers["anthropic-beta"]

    message = client.beta.messages.create(
        model=MODEL,
        max_tokens=256,
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "When is the meeting?"},
                    {"type": "document", "source": {"type": "file", "file_id": from_path.id}},
                ],
            }
        ],
        betas=["files-api-2025-04-14"],
    )
    assert message.content
    sent = fake.message_bodies[-1]["messages"][0]["content"][1]
    assert sent["source"] == {"type": "file", "file_id": from_path.id}


def test_errors(fake: FakeClaude) -> None:
    fake.add(
        Fault.status_error(
            400, "invalid_request_error", "max_tokens: too large", should_retry=False
        ),
        Fault.status_error(429, "rate_limit_error", "Slow down", should_retry=False),
        Fault.status_error(500, "api_error", "Internal server error", should_retry=False),
    )
    client = anthropic.Client()
    caught: list[tuple[str, int]] = []
    for _ in range(3):
        try:
            client.messages.create(
                model=MODEL, max_tokens=64, messages=[{"role": "user", "content": "Hi"}]
            )
        except anthropic.BadRequestError as e:
            caught.append(("bad request", e.status_code))
            assert e.body["error"]["type"] == "invalid_request_error"  # type: ignore[index]
        except anthropic.RateLimitError as e:
            caught.append(("rate limited", e.status_code))
            assert e.response.status_code == 429
        except anthropic.APIStatusError as e:
            caught.append(("other status", e.status_code))
            assert e.request_id and e.response.headers["request-id"] == e.request_id
    assert caught == [("bad request", 400), ("rate limited", 429), ("other status", 500)]

    offline = anthropic.Client(base_url="http://127.0.0.1:9", max_retries=0)
    try:
        offline.messages.create(
            model=MODEL, max_tokens=8, messages=[{"role": "user", "content": "x"}]
        )
    except anthropic.APIConnectionError as e:
        assert e.__cause__ is not None  # the httpx error underneath
    else:
        pytest.fail("a closed port did not raise APIConnectionError")

    fake.add(Fault.status_error(404, "not_found_error", "model: nope", should_retry=False))
    try:
        client.messages.create(
            model=MODEL, max_tokens=8, messages=[{"role": "user", "content": "x"}]
        )
    except anthropic.AnthropicError as e:  # the root of every error
        assert isinstance(e, anthropic.NotFoundError)


def test_request_ids(fake: FakeClaude) -> None:
    client = anthropic.Client()
    message = client.messages.create(
        model=MODEL, max_tokens=64, messages=[{"role": "user", "content": "Hi"}]
    )
    assert message._request_id and message._request_id.startswith("req_")
    count = client.messages.count_tokens(model=MODEL, messages=[{"role": "user", "content": "Hi"}])
    page = client.models.list()
    assert count._request_id and page._request_id
    assert len({message._request_id, count._request_id, page._request_id}) == 3


def test_retries(fake: FakeClaude) -> None:
    fake.add(Fault.rate_limit(retry_after=0), Fault.overloaded(), Reply.text("third time lucky"))
    client = anthropic.Client()  # two retries by default
    message = client.messages.create(
        model=MODEL, max_tokens=64, messages=[{"role": "user", "content": "Hi"}]
    )
    assert message.content[0].text == "third time lucky" and len(fake.requests) == 3

    fake.add(Fault.rate_limit(retry_after=0), Reply.text("unused"))
    no_retries = anthropic.Client(max_retries=0)
    with pytest.raises(anthropic.RateLimitError):
        no_retries.messages.create(
            model=MODEL, max_tokens=64, messages=[{"role": "user", "content": "Hi"}]
        )
    assert len(fake.requests) == 4
    retried = client.with_options(max_retries=5).messages.create(
        model=MODEL, max_tokens=64, messages=[{"role": "user", "content": "Again"}]
    )
    assert retried.content[0].text == "unused"


def test_timeouts(fake: FakeClaude) -> None:
    fake.add(Fault.slow(Reply.text("late"), delay=2.0), Reply.text("in time"))
    client = anthropic.Client(timeout=httpx.Timeout(60.0, read=0.3, write=10.0, connect=2.0))
    with pytest.raises(anthropic.APITimeoutError):
        client.with_options(max_retries=0).messages.create(
            model=MODEL, max_tokens=64, messages=[{"role": "user", "content": "Hi"}]
        )
    patient = anthropic.Client(timeout=20.0)
    message = patient.with_options(timeout=30.0).messages.create(
        model=MODEL, max_tokens=64, messages=[{"role": "user", "content": "Hi"}]
    )
    assert message.content[0].text == "in time"
    assert issubclass(anthropic.APITimeoutError, anthropic.APIConnectionError)


def _five_batches(client: anthropic.Client) -> list[str]:
    params = {"model": MODEL, "max_tokens": 16, "messages": [{"role": "user", "content": "Hi"}]}
    return [
        client.messages.batches.create(requests=[{"custom_id": "only", "params": params}]).id
        for _ in range(5)
    ]


def test_pagination(fake: FakeClaude) -> None:
    client = anthropic.Client()
    created = _five_batches(client)
    every = [batch.id for batch in client.messages.batches.list(limit=2)]  # all pages
    assert sorted(every) == sorted(created)

    first_page = client.messages.batches.list(limit=2)
    assert len(first_page.data) == 2 and first_page.has_next_page()
    info = first_page.next_page_info()
    assert info is not None and info.params == {"limit": 2, "after_id": first_page.last_id}
    second_page = first_page.get_next_page()
    assert [b.id for b in second_page.data] and second_page.data[0].id not in {
        b.id for b in first_page.data
    }

    async def listed() -> list[str]:
        aclient = anthropic.AsyncClient()
        found = [batch.id async for batch in aclient.messages.batches.list(limit=3)]
        page = await aclient.messages.batches.list(limit=3)
        assert page.has_next_page()
        await aclient.close()
        return found

    assert sorted(asyncio.run(listed())) == sorted(created)


def test_default_headers(fake: FakeClaude) -> None:
    client = anthropic.Client(
        default_headers={"x-team": "search", "anthropic-version": "2023-06-01"}
    )
    client.messages.create(model=MODEL, max_tokens=32, messages=[{"role": "user", "content": "Hi"}])
    client.with_options(default_headers={"x-team": "ads"}).models.list()
    assert fake.requests[0].headers["x-team"] == "search"
    assert fake.requests[0].headers["anthropic-version"] == "2023-06-01"
    assert fake.requests[1].headers["x-team"] == "ads"


def test_to_json_and_to_dict(fake: FakeClaude) -> None:
    import json

    fake.add(Reply.text("serialize me"))
    client = anthropic.Client()
    message = client.messages.create(
        model=MODEL, max_tokens=64, messages=[{"role": "user", "content": "Hi"}]
    )
    as_dict = message.to_dict()
    assert as_dict["content"] == [{"type": "text", "text": "serialize me"}]
    assert json.loads(message.to_json()) == as_dict
    assert message.to_json(indent=2).startswith("{\n  ")


def test_raw_and_streaming_responses(fake: FakeClaude) -> None:
    fake.add(Reply.text("raw"), Reply.text("line by line"))
    client = anthropic.Client()
    response = client.messages.with_raw_response.create(
        model=MODEL, max_tokens=64, messages=[{"role": "user", "content": "Hi"}]
    )
    assert response.headers.get("request-id", "").startswith("req_")
    message = response.parse()
    assert message.content[0].text == "raw"

    with client.messages.with_streaming_response.create(
        model=MODEL,
        max_tokens=64,
        messages=[{"role": "user", "content": "Hi"}],
        stream=True,
    ) as streamed:
        assert streamed.headers["content-type"].startswith("text/event-stream")
        lines = list(streamed.iter_lines())
    assert any(line.startswith("event: message_stop") for line in lines)


def test_undocumented_endpoints_and_params(fake: FakeClaude) -> None:
    client = anthropic.Client()
    response = client.post(
        "/v1/messages/count_tokens",
        cast_to=httpx.Response,
        body={"model": MODEL, "messages": [{"role": "user", "content": "Hi"}]},
    )
    assert response.status_code == 200 and response.json()["input_tokens"] > 0

    client.messages.create(
        model=MODEL,
        max_tokens=32,
        messages=[{"role": "user", "content": "Hi"}],
        extra_headers={"x-experiment": "on"},
        extra_query={"trace": "1"},
        extra_body={"metadata": {"user_id": "user-42"}},
    )
    sent = fake.requests[-1]
    assert sent.headers["x-experiment"] == "on" and sent.query["trace"] == "1"  # type: ignore[index]
    assert sent.body["metadata"] == {"user_id": "user-42"}  # type: ignore[index]


def test_custom_http_client_and_with_options(fake: FakeClaude) -> None:
    client = anthropic.Client(
        http_client=anthropic.DefaultHttpxClient(
            headers={"x-via": "corporate-proxy"},
            transport=httpx.HTTPTransport(local_address="127.0.0.1"),
        ),
    )
    client.messages.create(model=MODEL, max_tokens=32, messages=[{"role": "user", "content": "Hi"}])
    assert fake.requests[-1].headers["x-via"] == "corporate-proxy"

    other = client.with_options(http_client=anthropic.DefaultHttpxClient(headers={"x-via": "b"}))
    other.messages.create(model=MODEL, max_tokens=32, messages=[{"role": "user", "content": "Hi"}])
    assert fake.requests[-1].headers["x-via"] == "b"
    other.close()
    client.close()


def test_with_resource_management(fake: FakeClaude) -> None:
    with anthropic.Client() as client:
        message = client.messages.create(
            model=MODEL, max_tokens=32, messages=[{"role": "user", "content": "Hi"}]
        )
    assert message.content
    with pytest.raises(RuntimeError):  # httpx refuses a closed client
        client.messages.create(
            model=MODEL, max_tokens=32, messages=[{"role": "user", "content": "Hi"}]
        )

    async def main() -> None:
        async with anthropic.AsyncClient() as aclient:
            await aclient.models.list()

    asyncio.run(main())


def test_betas(fake: FakeClaude) -> None:
    client = anthropic.Client()
    message = client.beta.messages.create(
        model=MODEL,
        max_tokens=64,
        messages=[{"role": "user", "content": "Hi"}],
        betas=["context-1m-2025-08-07"],
    )
    assert message.content
    assert fake.requests[-1].headers["anthropic-beta"] == "context-1m-2025-08-07"
    counted = client.beta.messages.count_tokens(
        model=MODEL,
        messages=[{"role": "user", "content": "Hi"}],
        betas=["token-efficient-tools-2025-02-19"],
    )
    assert counted.input_tokens > 0
    assert fake.requests[-1].headers["anthropic-beta"] == "token-efficient-tools-2025-02-19"
    assert client.beta.models.list().data


def test_undocumented_response_fields_and_null_versus_missing(fake: FakeClaude) -> None:
    fake.add(Reply(text("hi"), extra={"brand_new_field": {"level": 2}}))
    client = anthropic.Client()
    message = client.messages.create(
        model=MODEL, max_tokens=32, messages=[{"role": "user", "content": "Hi"}]
    )
    assert message.brand_new_field == {"level": 2}  # kept, read by attribute
    assert (message.model_extra or {})["brand_new_field"] == {"level": 2}
    assert message.stop_sequence is None and "stop_sequence" in message.model_fields_set
    assert message.to_dict()["brand_new_field"] == {"level": 2}


def test_long_requests_need_streaming(fake: FakeClaude) -> None:
    client = anthropic.Client()
    try:
        client.messages.create(
            model=MODEL, max_tokens=64000, messages=[{"role": "user", "content": "Write a book"}]
        )
    except ValueError as e:  # what the SDK raises before sending
        assert "stream" in str(e)
    else:
        pytest.fail("a ten-minute non-streaming request was sent")
    assert fake.requests == []
    with client.messages.stream(
        model=MODEL, max_tokens=64000, messages=[{"role": "user", "content": "Write a book"}]
    ) as stream:
        assert stream.get_final_message().content


def test_structured_outputs(fake: FakeClaude) -> None:
    from pydantic import BaseModel

    class Invoice(BaseModel):
        number: str
        total_cents: int

    client = anthropic.Client()
    parsed = client.messages.parse(
        model=MODEL,
        max_tokens=512,
        messages=[{"role": "user", "content": "Invoice A-17 comes to 12.50 EUR."}],
        output_format=Invoice,
    )
    assert isinstance(parsed.parsed_output, Invoice)
    sent = fake.message_bodies[0]["output_config"]["format"]
    assert sent["type"] == "json_schema" and sent["schema"]["required"] == ["number", "total_cents"]


def test_logging_and_version(
    fake: FakeClaude, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    assert anthropic.__version__
    monkeypatch.setenv("ANTHROPIC_LOG", "debug")
    with caplog.at_level("DEBUG", logger="agentkit"):
        client = anthropic.Client()
        client.messages.create(
            model=MODEL, max_tokens=8, messages=[{"role": "user", "content": "Hi"}]
        )
    logged = caplog.text
    assert "/v1/messages" in logged and "sk-ant-usage-example" not in logged


# --- the API reference's topics ----------------------------------------------------------------


def test_messages_multi_turn_and_prefill(fake: FakeClaude) -> None:
    from agentkit.types import MessageParam

    fake.add(Reply.text("Paris."), Reply.text(' and it is in France."}'))
    client = anthropic.Client()
    history: list[MessageParam] = [{"role": "user", "content": "Capital of France?"}]
    first = client.messages.create(model=MODEL, max_tokens=64, messages=history)
    history.append({"role": "assistant", "content": first.content})
    history.append({"role": "user", "content": "As JSON, please."})
    history.append({"role": "assistant", "content": '{"answer": "Paris'})  # prefill
    second = client.messages.create(model=MODEL, max_tokens=64, messages=history)
    assert second.content[0].text.endswith('France."}')
    sent = fake.message_bodies[1]["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "user", "assistant"]
    assert sent[1]["content"] == [{"type": "text", "text": "Paris."}]


def test_tool_use_by_hand(fake: FakeClaude) -> None:
    fake.add(
        Reply.tool_use("get_stock_price", {"ticker": "ACME"}, text="Checking."),
        Reply.text("ACME trades at 12.5."),
    )
    client = anthropic.Client()
    tools = [
        {
            "name": "get_stock_price",
            "description": "The latest price of a stock.",
            "input_schema": {
                "type": "object",
                "properties": {"ticker": {"type": "string", "description": "e.g. ACME"}},
                "required": ["ticker"],
            },
        }
    ]
    messages: list[dict[str, object]] = [{"role": "user", "content": "What does ACME trade at?"}]
    response = client.messages.create(
        model=MODEL,
        max_tokens=512,
        tools=tools,
        tool_choice={"type": "auto"},
        messages=messages,  # type: ignore[arg-type]
    )
    assert response.stop_reason == "tool_use"
    call = next(block for block in response.content if block.type == "tool_use")
    assert call.name == "get_stock_price" and call.input == {"ticker": "ACME"}
    messages.append({"role": "assistant", "content": response.content})
    messages.append(
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "12.5"}],
        }
    )
    final = client.messages.create(
        model=MODEL,
        max_tokens=512,
        tools=tools,
        messages=messages,  # type: ignore[arg-type]
    )
    assert final.content[0].text == "ACME trades at 12.5."
    sent = fake.message_bodies[1]["messages"]
    assert sent[1]["content"][1]["id"] == call.id and sent[2]["content"][0]["content"] == "12.5"


def test_stop_sequences_and_sampling(fake: FakeClaude) -> None:
    fake.add(Reply.stopped_by("one, two, ", "three"))
    client = anthropic.Client()
    message = client.messages.create(
        model=MODEL,
        max_tokens=64,
        temperature=0.2,
        stop_sequences=["three"],
        metadata={"user_id": "user-7"},
        messages=[{"role": "user", "content": "Count to five"}],
    )
    assert message.stop_reason == "stop_sequence" and message.stop_sequence == "three"
    assert fake.message_bodies[0]["stop_sequences"] == ["three"]


def test_system_prompts(fake: FakeClaude) -> None:
    client = anthropic.Client()
    client.messages.create(
        model=MODEL,
        max_tokens=64,
        system="You answer in one word.",
        messages=[{"role": "user", "content": "Color of the sky?"}],
    )
    client.messages.create(
        model=MODEL,
        max_tokens=64,
        system=[
            {"type": "text", "text": "You are a librarian."},
            {"type": "text", "text": "Cite the shelf number."},
        ],
        messages=[{"role": "user", "content": "Where are the atlases?"}],
    )
    assert fake.message_bodies[0]["system"] == "You answer in one word."
    assert [b["text"] for b in fake.message_bodies[1]["system"]] == [
        "You are a librarian.",
        "Cite the shelf number.",
    ]


def _png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def test_vision(fake: FakeClaude) -> None:
    image_data = base64.standard_b64encode(_png(4, 4)).decode("utf-8")
    client = anthropic.Client()
    message = client.messages.create(
        model=MODEL,
        max_tokens=256,
        messages=[
            {
                "role": "user",
                "content": [
                    {
                        "type": "image",
                        "source": {"type": "base64", "media_type": "image/png", "data": image_data},
                    },
                    {
                        "type": "image",
                        "source": {"type": "url", "url": "https://example.com/cat.jpg"},
                    },
                    {"type": "text", "text": "Compare these two pictures."},
                ],
            }
        ],
    )
    assert message.content
    sent = fake.message_bodies[0]["messages"][0]["content"]
    assert sent[0]["source"]["data"] == image_data and sent[1]["source"]["type"] == "url"


def test_prompt_caching(fake: FakeClaude) -> None:
    manual = (
        textwrap.dedent(
            """\
        The reference manual of a small library, long enough to be worth caching in practice.
        """
        )
        * 50
    )
    client = anthropic.Client()
    system = [
        {"type": "text", "text": "You answer questions about the manual below."},
        {"type": "text", "text": manual, "cache_control": {"type": "ephemeral"}},
    ]
    first = client.messages.create(
        model=MODEL,
        max_tokens=128,
        system=system,
        messages=[{"role": "user", "content": "What is chapter one about?"}],
    )
    second = client.messages.create(
        model=MODEL,
        max_tokens=128,
        system=system,
        messages=[{"role": "user", "content": "And chapter two?"}],
    )
    assert first.usage.cache_creation_input_tokens and not first.usage.cache_read_input_tokens
    assert second.usage.cache_read_input_tokens == first.usage.cache_creation_input_tokens


def test_extended_thinking(fake: FakeClaude) -> None:
    fake.add(
        Reply(thinking("Seven times six is forty-two."), text("42")),
        Reply(thinking("Now streaming the thought."), text("streamed 42")),
    )
    client = anthropic.Client()
    message = client.messages.create(
        model=MODEL,
        max_tokens=16000,
        thinking={"type": "enabled", "budget_tokens": 10000},
        messages=[{"role": "user", "content": "What is 7 * 6?"}],
    )
    kinds = {}
    for block in message.content:
        if block.type == "thinking":
            kinds["thinking"] = block.thinking
            assert block.signature
        elif block.type == "text":
            kinds["text"] = block.text
    assert kinds == {"thinking": "Seven times six is forty-two.", "text": "42"}

    thought, answer = [], []
    with client.messages.stream(
        model=MODEL,
        max_tokens=16000,
        thinking={"type": "enabled", "budget_tokens": 10000},
        messages=[{"role": "user", "content": "Think out loud: 7 * 6?"}],
    ) as stream:
        for event in stream:
            if event.type == "thinking":
                thought.append(event.thinking)
            elif event.type == "text":
                answer.append(event.text)
    assert "".join(thought) == "Now streaming the thought." and "".join(answer) == "streamed 42"


def test_compaction(fake: FakeClaude) -> None:
    fake.add(Reply.compacted("Summary: the user plans a trip to Oslo.", "Noted."), "Oslo, yes.")
    client = anthropic.Client()
    edits = {
        "edits": [{"type": "compact_20260112", "trigger": {"type": "input_tokens", "value": 50000}}]
    }
    history: list[dict[str, object]] = [{"role": "user", "content": "Remember: Oslo in May."}]
    reply = client.beta.messages.create(
        model=MODEL,
        max_tokens=1024,
        messages=history,  # type: ignore[arg-type]
        context_management=edits,
        betas=["compact-2026-01-12"],
    )
    assert [b.type for b in reply.content] == ["compaction", "text"]
    history.append({"role": "assistant", "content": reply.content})
    history.append({"role": "user", "content": "Where am I going?"})
    again = client.beta.messages.create(
        model=MODEL,
        max_tokens=1024,
        messages=history,  # type: ignore[arg-type]
        context_management=edits,
        betas=["compact-2026-01-12"],
    )
    assert again.content[0].text == "Oslo, yes."
    sent = fake.message_bodies[1]["messages"][1]["content"][0]
    assert sent["type"] == "compaction" and sent["content"].startswith("Summary:")


# --- static types: the helper events narrow by `event.type` as the SDK's do --------------------

_TYPED_USAGE = """
import agentkit as anthropic
from typing_extensions import assert_type
from agentkit.types import Message

client = anthropic.Client()
with client.messages.stream(model="m", max_tokens=8, messages=[]) as stream:
    for event in stream:
        if event.type == "text":
            assert_type(event.text, str)
            assert_type(event.snapshot, str)
        elif event.type == "input_json":
            assert_type(event.partial_json, str)
            assert_type(event.snapshot, dict[str, object])
        elif event.type == "thinking":
            assert_type(event.thinking, str)
        elif event.type == "content_block_stop":
            print(event.content_block.type)
        elif event.type == "message_stop":
            assert_type(event.message, Message)
        elif event.type == "message_start":
            print(event.message.usage.input_tokens)
        elif event.type == "message_delta":
            print(event.delta.stop_reason, event.usage.output_tokens)
try:
    pass
except anthropic.AnthropicError as error:
    assert_type(error, anthropic.AgentkitError)
"""


def test_helper_stream_events_type_check_like_the_sdks(tmp_path: Path) -> None:
    from mypy import api

    source = tmp_path / "usage.py"
    source.write_text(_TYPED_USAGE)
    report, errors, status = api.run(
        ["--strict", "--no-incremental", "--cache-dir", str(tmp_path / "cache"), str(source)]
    )
    assert status == 0, report + errors
    broken = tmp_path / "broken.py"
    broken.write_text(_TYPED_USAGE.replace('event.type == "text"', 'event.type == "input_json"', 1))
    report, _, status = api.run(
        ["--strict", "--no-incremental", "--cache-dir", str(tmp_path / "cache"), str(broken)]
    )
    assert status == 1 and "has no attribute" in report  # the narrowing is real
