"""`client.messages.batches` against the recorded batch exchanges (replayed through respx)."""

from __future__ import annotations

import functools
import json
import re
import sys
import types
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from hypothesis import given, settings
from hypothesis import strategies as st
from recordings import Recording, load

from agentkit import (
    APIConnectionError,
    APIResponseValidationError,
    AsyncClient,
    Client,
    NotFoundError,
    RequestValidationError,
)
from agentkit.client import BatchResults, PollSchedule, RetryPolicy
from agentkit.types import (
    BatchErroredResult,
    BatchResult,
    BatchResultsUnavailableError,
    BatchSucceededResult,
    BatchUnknownResult,
    MessageBatch,
)
from agentkit.types._batch import JSONLDecoder, ResultsDecoder

BASE = "https://api.anthropic.com"
KEY = "sk-ant-test-key"


@functools.cache
def _shared_client() -> Client:
    return Client(api_key=KEY, retry=RetryPolicy(max_retries=0))


def client(**kwargs: Any) -> Client:
    # One client for the module: building an httpx client (its TLS context) costs ~0.1 s.
    return _shared_client().with_options(**kwargs) if kwargs else _shared_client()


def aclient() -> AsyncClient:
    return AsyncClient(api_key=KEY, retry=RetryPolicy(max_retries=0))


def recorded_url(rec: Recording) -> str:
    assert rec.request is not None
    return BASE + rec.request["path"]


def sent_json(request: httpx.Request) -> Any:
    return json.loads(request.content)


def jsonl_lines(rec: Recording) -> list[dict[str, Any]]:
    return [json.loads(line) for line in rec.body_bytes.splitlines() if line.strip()]


def ended_batch(batch_id: str) -> dict[str, Any]:
    """The recorded ended batch, renamed to `batch_id` (for result recordings whose own
    retrieve was not recorded)."""
    body = dict(load("batch-ended").body)
    body["id"] = batch_id
    body["results_url"] = f"{BASE}/v1/messages/batches/{batch_id}/results"
    return body


# -- create, retrieve, list, cancel, delete ---------------------------------------------------


@respx.mock
def test_create_sends_recorded_body_and_parses_reply() -> None:
    rec = load("batch-create")
    assert rec.request is not None
    route = respx.post(recorded_url(rec)).mock(return_value=rec.httpx_response())
    batch = client().messages.batches.create(requests=rec.request["body"]["requests"])
    request = route.calls.last.request
    assert request.method == "POST"
    assert sent_json(request) == rec.request["body"]
    assert request.headers["content-type"] == "application/json"
    assert "anthropic-beta" not in request.headers
    assert batch.to_dict() == rec.body
    assert batch.processing_status == "in_progress" and not batch.ended
    assert batch.request_counts.total == 1 and batch.request_counts.done == 0


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)


@given(
    fields=st.dictionaries(st.text().filter(lambda k: k != "requests"), _JSON, max_size=3),
    params=st.lists(
        st.tuples(st.dictionaries(st.text(), _JSON, max_size=3), st.booleans()), max_size=4
    ),
)
def test_batch_body_is_the_json_of_its_fields_and_requests(
    fields: dict[str, Any], params: list[tuple[dict[str, Any], bool]]
) -> None:
    # Pre-encoded params are spliced in as given; the body decodes as if encoded whole.
    from agentkit.client._batches import encode_batch_body

    requests: list[Any] = [
        {"custom_id": f"r{i}", "params": json.dumps(p).encode() if encoded else p}
        for i, (p, encoded) in enumerate(params)
    ]
    body = json.loads(encode_batch_body(fields, requests))
    assert body == {
        **fields,
        "requests": [{"custom_id": f"r{i}", "params": p} for i, (p, _) in enumerate(params)],
    }


@respx.mock
def test_create_splices_pre_encoded_params_and_extra_body() -> None:
    rec = load("batch-create")
    assert rec.request is not None
    route = respx.post(recorded_url(rec)).mock(return_value=rec.httpx_response())
    original = rec.request["body"]["requests"][0]
    encoded = json.dumps(original["params"]).encode()
    client().messages.batches.create(
        requests=[
            {"custom_id": "a", "params": encoded},
            {"custom_id": "b", "params": original["params"]},
        ],
        extra_body={"note": "x"},
        betas=["some-beta"],
    )
    request = route.calls.last.request
    assert sent_json(request) == {
        "note": "x",
        "requests": [
            {"custom_id": "a", "params": original["params"]},
            {"custom_id": "b", "params": original["params"]},
        ],
    }
    assert request.headers["anthropic-beta"] == "some-beta"


@respx.mock
def test_create_refuses_requests_the_api_would_reject() -> None:
    route = respx.post(f"{BASE}/v1/messages/batches")
    batches = client().messages.batches
    params = {"model": "m", "max_tokens": 1, "messages": []}
    with pytest.raises(RequestValidationError) as info:
        batches.create(
            requests=[
                {"custom_id": "same", "params": params},
                {"custom_id": "same", "params": params},
                {"custom_id": "has space", "params": params},
                {"custom_id": "x" * 65, "params": params},
            ]
        )
    assert [p.split(":")[0] for p in info.value.problems] == [
        "requests.1.custom_id",
        "requests.2.custom_id",
        "requests.3.custom_id",
    ]
    assert "not unique" in info.value.problems[0]
    with pytest.raises(RequestValidationError, match="at least one request"):
        batches.create(requests=[])
    assert not route.called


@pytest.mark.parametrize("case", ["batch-retrieve", "batch-ended"])
@respx.mock
def test_retrieve_replays(case: str) -> None:
    rec = load(case)
    route = respx.get(recorded_url(rec)).mock(return_value=rec.httpx_response())
    batch = client().messages.batches.retrieve(rec.body["id"])
    assert route.calls.last.request.content == b""
    assert batch.to_dict() == rec.body
    assert batch.ended == (rec.body["processing_status"] == "ended")


@respx.mock
def test_list_replays_and_pages() -> None:
    rec = load("batch-list")
    route = respx.get(f"{BASE}/v1/messages/batches").mock(return_value=rec.httpx_response())
    page = client().messages.batches.list(limit=1000)
    assert dict(route.calls.last.request.url.params) == rec.request["query"]  # type: ignore[index]
    assert [b.to_dict() for b in page.data] == rec.body["data"]
    assert not page.has_next_page()
    assert len(list(page)) == len(rec.body["data"])


@respx.mock
def test_list_iterates_every_page() -> None:
    batches = load("batch-list").body["data"]
    pages = [
        {"data": batches[:2], "has_more": True, "first_id": "p1a", "last_id": batches[1]["id"]},
        {"data": batches[2:3], "has_more": False, "first_id": "p2a", "last_id": "p2z"},
    ]
    route = respx.get(f"{BASE}/v1/messages/batches").mock(
        side_effect=[httpx.Response(200, json=p) for p in pages]
    )
    ids = [b.id for b in client().messages.batches.list(limit=2)]
    assert ids == [b["id"] for b in batches[:3]]
    assert [dict(c.request.url.params) for c in route.calls] == [
        {"limit": "2"},
        {"limit": "2", "after_id": batches[1]["id"]},
    ]


@respx.mock
def test_cancel_replays() -> None:
    rec = load("batch-cancel")
    route = respx.post(recorded_url(rec)).mock(return_value=rec.httpx_response())
    batch = client().messages.batches.cancel(rec.body["id"])
    assert sent_json(route.calls.last.request) == rec.request["body"]  # type: ignore[index]
    assert batch.to_dict() == rec.body
    assert batch.processing_status == "canceling"


@respx.mock
def test_delete_replays() -> None:
    rec = load("batch-delete")
    route = respx.delete(recorded_url(rec)).mock(return_value=rec.httpx_response())
    deleted = client().messages.batches.delete(rec.body["id"])
    assert route.calls.last.request.content == b""
    assert deleted.to_dict() == rec.body and deleted.type == "message_batch_deleted"


@respx.mock
def test_ids_are_escaped_in_paths() -> None:
    route = respx.get(f"{BASE}/v1/messages/batches/a%2Fb").mock(
        return_value=httpx.Response(200, json={"id": "a/b", "processing_status": "ended"})
    )
    assert client().messages.batches.retrieve("a/b").id == "a/b"
    assert route.called


# -- results -----------------------------------------------------------------------------------


@pytest.mark.parametrize("case", ["batch-results-jsonl", "batch-results-jsonl-2"])
@respx.mock
def test_results_replay(case: str) -> None:
    rec = load(case)
    batch_id = rec.request["path"].split("/")[4]  # type: ignore[index]
    retrieve = respx.get(f"{BASE}/v1/messages/batches/{batch_id}").mock(
        return_value=httpx.Response(200, json=ended_batch(batch_id))
    )
    download = respx.get(recorded_url(rec)).mock(return_value=rec.httpx_response())
    with client().messages.batches.results(batch_id) as results:
        entries = list(results)
    assert retrieve.call_count == 1
    assert download.calls.last.request.headers["accept"] == "application/binary"
    assert [e.to_dict() for e in entries] == jsonl_lines(rec)
    for entry in entries:
        assert isinstance(entry.result, BatchSucceededResult)
        assert entry.message is not None and entry.message.usage.service_tier == "batch"
    assert download.calls.last.response.is_closed


@respx.mock
def test_results_of_an_ended_batch_object_skip_the_retrieve() -> None:
    rec = load("batch-results-jsonl-2")
    batch = MessageBatch.model_validate(load("batch-ended").body)
    download = respx.get(batch.results_url).mock(return_value=rec.httpx_response())
    assert [e.custom_id for e in client().messages.batches.results(batch)] == ["0", "1"]
    assert download.call_count == 1  # and no other route was called (respx would raise)


@pytest.mark.parametrize("case", ["batch-results-jsonl", "batch-results-jsonl-2"])
def test_results_decode_the_same_at_every_chunk_boundary(case: str) -> None:
    rec = load(case)
    body = rec.body_bytes
    expected = jsonl_lines(rec)
    request = httpx.Request("GET", recorded_url(rec))
    decoder = ResultsDecoder(rec.httpx_response(request))
    for cut in range(len(body) + 1):
        entries = [*decoder.decoder.feed(body[:cut]), *decoder.decoder.feed(body[cut:])]
        assert [e.to_dict() for e in [*entries, *decoder.decoder.flush()]] == expected, cut
    one_byte = [body[i : i + 1] for i in range(len(body))]
    response = rec.httpx_response(request, chunks=one_byte)
    assert [e.to_dict() for e in BatchResults(response)] == expected


@respx.mock
def test_results_not_ready_is_the_recorded_404() -> None:
    # The recording has the 404 of the results URL but not a retrieve that names that URL;
    # the retrieve here is the listed state of the same batch with its results_url filled in.
    rec = load("batch-results-not-ready-404")
    batch_id = "msgbatch_01WuMXKjnNAS9GYb5Jye7gh9"
    listed = next(b for b in load("batch-list").body["data"] if b["id"] == batch_id)
    respx.get(f"{BASE}/v1/messages/batches/{batch_id}").mock(
        return_value=httpx.Response(200, json={**listed, "results_url": recorded_url(rec)})
    )
    respx.get(recorded_url(rec)).mock(return_value=rec.httpx_response())
    with pytest.raises(NotFoundError, match="has no available results") as info:
        client().messages.batches.results(batch_id)
    assert info.value.status_code == 404
    assert info.value.request_id == "req_011CbXcvjy4GrzKjbDbJp3hg"


@respx.mock
def test_results_of_a_running_batch_raise_before_downloading() -> None:
    rec = load("batch-retrieve")
    respx.get(recorded_url(rec)).mock(return_value=rec.httpx_response())
    with pytest.raises(BatchResultsUnavailableError, match="in_progress") as info:
        client().messages.batches.results(rec.body["id"])
    assert info.value.batch.id == rec.body["id"]


@respx.mock
def test_results_never_leave_the_configured_base_url() -> None:
    rec = load("batch-results-jsonl-2")
    batch = MessageBatch.model_validate(load("batch-ended").body)
    proxy = "https://proxy.example/anthropic"
    route = respx.get(f"{proxy}/v1/messages/batches/{batch.id}/results").mock(
        return_value=rec.httpx_response()
    )
    results = client(base_url=proxy).messages.batches.results(batch)
    assert len(list(results)) == 2 and route.called


def test_results_report_broken_lines_and_connections() -> None:
    request = httpx.Request("GET", f"{BASE}/r")
    good = load("batch-results-jsonl-2").body_bytes.splitlines()[0]
    bad = httpx.Response(200, content=good + b"\n{not json}\n", request=request)
    results = iter(BatchResults(bad))
    assert next(results).custom_id == "0"
    with pytest.raises(APIResponseValidationError, match="not a result entry") as info:
        next(results)
    assert info.value.body == "{not json}"

    class Broken(httpx.SyncByteStream):
        def __iter__(self) -> Any:
            yield good + b"\n"
            raise httpx.ReadError("reset")

    broken = httpx.Response(200, stream=Broken(), request=request)
    seen: list[str] = []
    with pytest.raises(APIConnectionError):
        seen.extend(e.custom_id for e in BatchResults(broken))
    assert seen == ["0"]


def test_result_types_parse_and_dump_back() -> None:
    errored_new = {
        "custom_id": "e1",
        "result": {
            "type": "errored",
            "error": {
                "type": "error",
                "error": {"type": "invalid_request_error", "message": "bad"},
                "request_id": "req_1",
            },
        },
    }
    errored_old = {
        "custom_id": "e2",
        "result": {"type": "errored", "error": {"type": "api_error", "message": "boom"}},
    }
    others = [
        {"custom_id": "c", "result": {"type": "canceled"}},
        {"custom_id": "x", "result": {"type": "expired"}},
        {"custom_id": "u", "result": {"type": "deferred", "until": 3}},
    ]
    parsed = [BatchResult.model_validate(v) for v in [errored_new, errored_old, *others]]
    assert [p.to_dict() for p in parsed] == [errored_new, errored_old, *others]
    first, second = parsed[0].result, parsed[1].result
    assert isinstance(first, BatchErroredResult) and isinstance(second, BatchErroredResult)
    assert (first.error_type, first.error_message) == ("invalid_request_error", "bad")
    assert (second.error_type, second.error_message) == ("api_error", "boom")
    assert [p.result.type for p in parsed[2:]] == ["canceled", "expired", "deferred"]
    assert isinstance(parsed[4].result, BatchUnknownResult)
    assert all(p.message is None for p in parsed)


# -- the JSONL decoder ---------------------------------------------------------------------------


def test_jsonl_decoder_line_endings() -> None:
    decoder = JSONLDecoder(json.loads)
    assert list(decoder.feed(b'{"a":1}\r')) == [{"a": 1}]
    assert list(decoder.feed(b'\n{"b":2}\r\n\n{"c"')) == [{"b": 2}]
    assert list(decoder.feed(b":3}")) == []
    assert decoder.flush() == [{"c": 3}]
    assert decoder.flush() == []


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(
        st.dictionaries(st.text(max_size=5), st.integers() | st.text(max_size=8), max_size=3),
        max_size=6,
    ),
    endings=st.lists(st.sampled_from([b"\n", b"\r\n", b"\r"]), min_size=6, max_size=6),
    trailing=st.booleans(),
    cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=8),
)
def test_jsonl_decoder_any_chunking(
    values: list[dict[str, Any]], endings: list[bytes], trailing: bool, cuts: list[int]
) -> None:
    lines = [json.dumps(v, ensure_ascii=False).encode() for v in values]
    body = b"".join(line + endings[i] for i, line in enumerate(lines))
    if lines and not trailing:
        body = body[: -len(endings[len(lines) - 1])]
    points = sorted({min(c, len(body)) for c in cuts})
    chunks = [body[a:b] for a, b in zip([0, *points], [*points, len(body)], strict=True)]
    decoder = JSONLDecoder(json.loads)
    out = [v for chunk in chunks for v in decoder.feed(chunk)] + decoder.flush()
    assert out == values


# -- wait ----------------------------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def poll_responses(batch_id: str) -> list[httpx.Response]:
    """in_progress (with the recorded `retry-after: 10`), twice more in progress, then ended."""
    first = load("batch-retrieve")
    running = {**first.body, "id": batch_id}
    ended = {**load("batch-ended").body, "id": batch_id}
    return [
        httpx.Response(200, json=running, headers=first.headers()),
        httpx.Response(200, json=running),
        httpx.Response(200, json={**running, "processing_status": "canceling"}),
        httpx.Response(200, json=ended),
    ]


@respx.mock
def test_wait_polls_with_backoff_and_reports_progress() -> None:
    route = respx.get(f"{BASE}/v1/messages/batches/b1").mock(side_effect=poll_responses("b1"))
    clock = FakeClock()
    seen: list[tuple[str, int]] = []
    batch = client().messages.batches.wait(
        "b1",
        poll_interval=2.0,
        max_interval=12.0,
        on_progress=lambda b: seen.append((b.processing_status, b.request_counts.done)),
        sleep=clock.sleep,
        clock=clock,
    )
    assert batch.ended and batch.results_url is not None
    assert route.call_count == 4
    # 10 s from the server's retry-after, then the growing interval: 2 * 1.5, 2 * 1.5 ** 2.
    assert clock.sleeps == [10.0, 3.0, 4.5]
    assert seen == [("in_progress", 0), ("in_progress", 0), ("canceling", 0), ("ended", 2)]


@respx.mock
def test_wait_times_out() -> None:
    running = load("batch-retrieve")
    respx.get(recorded_url(running)).mock(return_value=httpx.Response(200, json=running.body))
    clock = FakeClock()
    with pytest.raises(TimeoutError, match="still in_progress"):
        client().messages.batches.wait(
            running.body["id"],
            poll_interval=4.0,
            max_interval=4.0,
            timeout=10.0,
            sleep=clock.sleep,
            clock=clock,
        )
    assert clock.sleeps == [4.0, 4.0, 2.0]  # the last poll happens at the deadline itself


def test_poll_schedule_caps_and_validates() -> None:
    running = MessageBatch.model_validate(load("batch-retrieve").body)
    schedule = PollSchedule(1.0, 3.0, None, lambda: 0.0)
    delays = [schedule.after_poll(running, None) for _ in range(5)]
    assert delays == [1.0, 1.5, 2.25, 3.0, 3.0]
    assert schedule.after_poll(running, 120.0) == 3.0  # a server hint is capped too
    assert schedule.after_poll(MessageBatch.model_validate(load("batch-ended").body), None) is None
    with pytest.raises(ValueError):
        PollSchedule(5.0, 1.0, None, lambda: 0.0)


# -- async -----------------------------------------------------------------------------------


@pytest.mark.anyio
@respx.mock
async def test_async_lifecycle() -> None:
    create, listed, cancel, delete = (
        load(c) for c in ("batch-create", "batch-list", "batch-cancel", "batch-delete")
    )
    respx.post(recorded_url(create)).mock(return_value=create.httpx_response())
    first_page = {**listed.body, "data": listed.body["data"][:3], "has_more": True}
    respx.get(f"{BASE}/v1/messages/batches").mock(
        side_effect=[
            httpx.Response(200, json=first_page),
            httpx.Response(200, json={**listed.body, "data": listed.body["data"][3:]}),
            httpx.Response(200, json=first_page),
        ]
    )
    respx.post(recorded_url(cancel)).mock(return_value=cancel.httpx_response())
    respx.delete(recorded_url(delete)).mock(return_value=delete.httpx_response())
    async with aclient() as ac:
        batches = ac.messages.batches
        made = await batches.create(requests=create.request["body"]["requests"])  # type: ignore[index]
        assert made.to_dict() == create.body
        assert [b.to_dict() async for b in batches.list()] == listed.body["data"]
        first = await batches.list(limit=3)
        assert len(first.data) == 3 and first.has_next_page()
        assert (await batches.cancel(cancel.body["id"])).to_dict() == cancel.body
        assert (await batches.delete(delete.body["id"])).to_dict() == delete.body


@pytest.mark.anyio
@respx.mock
async def test_async_wait_and_results() -> None:
    rec = load("batch-results-jsonl-2")
    batch_id = "msgbatch_01GUqGVJfUzZfBnjRymfPdV3"
    respx.get(f"{BASE}/v1/messages/batches/{batch_id}").mock(side_effect=poll_responses(batch_id))
    body = rec.body_bytes
    download = respx.get(recorded_url(rec)).mock(
        return_value=rec.httpx_response(chunks=[body[:7], body[7:300], body[300:]])
    )
    clock = FakeClock()
    statuses: list[str] = []

    async def sleep(seconds: float) -> None:
        clock.sleep(seconds)

    async def progress(batch: MessageBatch) -> None:
        statuses.append(batch.processing_status)

    async with aclient() as ac:
        batches = ac.messages.batches
        ended = await batches.wait(batch_id, poll_interval=1.0, on_progress=progress, sleep=sleep)
        assert statuses[-1] == "ended" and clock.sleeps == [10.0, 1.5, 2.25]
        results = await batches.results(ended)
        entries = [e async for e in results]
    assert [e.to_dict() for e in entries] == jsonl_lines(rec)
    assert download.calls.last.request.headers["accept"] == "application/binary"
    assert results.http_response.is_closed


@pytest.mark.anyio
@respx.mock
async def test_async_results_errors() -> None:
    running = load("batch-retrieve")
    respx.get(recorded_url(running)).mock(return_value=running.httpx_response())
    async with aclient() as ac:
        with pytest.raises(BatchResultsUnavailableError):
            await ac.messages.batches.results(running.body["id"])


# -- docs/batches.md -------------------------------------------------------------------------


DOC = Path(__file__).resolve().parents[1] / "docs" / "batches.md"


def test_docs_examples_run_in_order() -> None:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert len(blocks) >= 8
    module = types.ModuleType("docs_batches")
    sys.modules[module.__name__] = module
    try:
        for index, block in enumerate(blocks):
            exec(compile(block, f"docs/batches.md block {index}", "exec"), module.__dict__)
    finally:
        del sys.modules[module.__name__]
