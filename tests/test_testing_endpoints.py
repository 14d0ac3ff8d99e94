"""Batches, files, models, count_tokens and usage of the fake, shaped like the recordings."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from recordings import load

from agentkit import Message
from agentkit.testing import FakeClaude, Fault, Reply
from agentkit.types import ModelInfo


class Clock:
    def __init__(self) -> None:
        self.now = 1_780_000_000.0

    def __call__(self) -> float:
        return self.now


def params(text: str = "Hi", **extra: Any) -> dict[str, Any]:
    return {
        "model": "claude-haiku-4-5",
        "max_tokens": 64,
        "messages": [{"role": "user", "content": text}],
        **extra,
    }


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def fake(clock: Clock) -> FakeClaude:
    return FakeClaude(batch_delay=60, clock=clock)


@pytest.fixture
def http(fake: FakeClaude) -> Iterator[httpx.Client]:
    with fake.http_client() as client:
        yield client


def create(http: httpx.Client, *ids: str) -> dict[str, Any]:
    requests = [{"custom_id": i, "params": params(f"question {i}")} for i in ids]
    response = http.post("/v1/messages/batches", json={"requests": requests})
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


# ----- batches ----------------------------------------------------------------------------------


def test_batch_lifecycle(fake: FakeClaude, http: httpx.Client, clock: Clock) -> None:
    created = create(http, "a", "b")
    recorded = load("batch-create").body
    assert list(created) == list(recorded)
    assert created["processing_status"] == "in_progress"
    assert created["request_counts"] == {**recorded["request_counts"], "processing": 2}
    assert created["id"].startswith("msgbatch_01")

    early = http.get(f"/v1/messages/batches/{created['id']}/results")
    assert early.status_code == 404
    assert early.json()["error"]["message"] == load("batch-results-not-ready-404").body["error"][
        "message"
    ].replace("msgbatch_01WuMXKjnNAS9GYb5Jye7gh9", created["id"])

    clock.now += 61
    ended = http.get(f"/v1/messages/batches/{created['id']}").json()
    assert list(ended) == list(load("batch-ended").body)
    assert ended["processing_status"] == "ended"
    assert ended["request_counts"]["succeeded"] == 2
    assert (
        ended["results_url"]
        == f"https://api.anthropic.com/v1/messages/batches/{ended['id']}/results"
    )

    with http.stream("GET", ended["results_url"]) as response:
        assert response.headers["content-type"] == "application/x-jsonl"
        lines = list(response.iter_lines())
    entries = [json.loads(line) for line in lines]
    recorded_entry = json.loads(load("batch-results-jsonl-2").body_bytes.splitlines()[0])
    assert {e["custom_id"] for e in entries} == {"a", "b"}
    for entry in entries:
        assert list(entry) == list(recorded_entry)
        assert list(entry["result"]["message"]) == list(recorded_entry["result"]["message"])
        assert entry["result"]["message"]["usage"]["service_tier"] == "batch"
        Message.model_validate(entry["result"]["message"])

    deleted = http.delete(f"/v1/messages/batches/{created['id']}").json()
    assert deleted == {"id": created["id"], "type": "message_batch_deleted"}
    assert http.get(f"/v1/messages/batches/{created['id']}").status_code == 404


def test_zero_delay_ends_on_the_first_look() -> None:
    fake = FakeClaude()
    with fake.http_client() as http:
        created = create(http, "only")
        assert created["processing_status"] == "in_progress"  # the API never ends on create
        assert (
            http.get(f"/v1/messages/batches/{created['id']}").json()["processing_status"] == "ended"
        )


def test_cancel(fake: FakeClaude, http: httpx.Client) -> None:
    created = create(http, "x", "y")
    canceling = http.post(f"/v1/messages/batches/{created['id']}/cancel").json()
    assert list(canceling) == list(load("batch-cancel").body)
    assert canceling["processing_status"] == "canceling"
    assert canceling["cancel_initiated_at"] is not None
    ended = http.get(f"/v1/messages/batches/{created['id']}").json()
    assert ended["request_counts"]["canceled"] == 2


def test_delete_in_progress_is_refused(http: httpx.Client) -> None:
    created = create(http, "z")
    response = http.delete(f"/v1/messages/batches/{created['id']}")
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"


def test_batch_results_follow_the_script_and_validation(clock: Clock) -> None:
    fake = FakeClaude(
        ["first", Fault.overloaded(), Fault.batch_outcome("expired"), Reply.text("fourth")],
        clock=clock,
    )
    requests = [{"custom_id": f"r{n}", "params": params()} for n in range(4)]
    requests.append({"custom_id": "bad", "params": {"model": "claude-haiku-4-5", "messages": []}})
    with fake.http_client() as http:
        batch = http.post("/v1/messages/batches", json={"requests": requests}).json()
        ended = http.get(f"/v1/messages/batches/{batch['id']}").json()
        lines = http.get(f"/v1/messages/batches/{batch['id']}/results").text.splitlines()
    results = {e["custom_id"]: e["result"] for e in map(json.loads, lines)}
    assert results["r0"]["message"]["content"][0]["text"] == "first"
    assert results["r1"] == {
        "type": "errored",
        "error": {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
    }
    assert results["r2"] == {"type": "expired"}
    assert results["r3"]["message"]["content"][0]["text"] == "fourth"
    assert results["bad"]["type"] == "errored"
    assert results["bad"]["error"]["error"]["type"] == "invalid_request_error"
    assert ended["request_counts"] == {
        "processing": 0,
        "succeeded": 2,
        "errored": 2,
        "canceled": 0,
        "expired": 1,
    }


def test_log_of_submitted_custom_ids(fake: FakeClaude, http: httpx.Client) -> None:
    create(http, "a", "b")
    create(http, "c", "a")
    assert fake.submitted_custom_ids == ["a", "b", "c", "a"]


@pytest.mark.parametrize(
    ("requests", "message"),
    [
        ([], "requests: List should have at least 1 item after validation, not 0"),
        (
            [{"custom_id": "has space", "params": params()}],
            "requests.0.custom_id: String should match",
        ),
        (
            [{"custom_id": "a", "params": params()}] * 2,
            "requests: custom_id `a` is used more than once",
        ),
    ],
)
def test_invalid_batches(http: httpx.Client, requests: list[Any], message: str) -> None:
    response = http.post("/v1/messages/batches", json={"requests": requests})
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith(message)


def test_batch_list_pagination(http: httpx.Client) -> None:
    ids = [create(http, f"c{n}")["id"] for n in range(5)]
    newest_first = ids[::-1]
    page = http.get("/v1/messages/batches", params={"limit": 2}).json()
    assert list(page) == list(load("batch-list").body)
    assert [b["id"] for b in page["data"]] == newest_first[:2]
    assert (page["has_more"], page["first_id"], page["last_id"]) == (True, ids[4], ids[3])
    nxt = http.get("/v1/messages/batches", params={"limit": 2, "after_id": page["last_id"]}).json()
    assert [b["id"] for b in nxt["data"]] == newest_first[2:4]
    last = http.get("/v1/messages/batches", params={"limit": 2, "after_id": nxt["last_id"]}).json()
    assert ([b["id"] for b in last["data"]], last["has_more"]) == ([ids[0]], False)
    back = http.get("/v1/messages/batches", params={"limit": 2, "before_id": last["first_id"]})
    assert [b["id"] for b in back.json()["data"]] == newest_first[2:4]
    assert http.get("/v1/messages/batches", params={"limit": 0}).status_code == 400


# ----- files ------------------------------------------------------------------------------------


def test_file_lifecycle(fake: FakeClaude, http: httpx.Client) -> None:
    files = {
        "file": ("test.txt", b"Hello from genai file upload test.", "application/octet-stream")
    }
    uploaded = http.post(
        "/v1/files", files=files, headers={"anthropic-beta": "files-api-2025-04-14"}
    )
    assert uploaded.status_code == 200
    meta = uploaded.json()
    recorded = load("files-upload-multipart").body
    assert list(meta) == list(recorded)
    assert {
        k: meta[k] for k in ("type", "size_bytes", "filename", "mime_type", "downloadable")
    } == {k: recorded[k] for k in ("type", "size_bytes", "filename", "mime_type", "downloadable")}
    assert meta["id"].startswith("file_01")

    assert http.get(f"/v1/files/{meta['id']}").json() == meta
    assert http.get(f"/v1/files/{meta['id']}/content").status_code == 400  # uploads never are
    made = fake.add_file(b"%PDF-1.4 ...", "report.pdf")
    assert made["mime_type"] == "application/pdf"
    content = http.get(f"/v1/files/{made['id']}/content")
    assert (content.content, content.headers["content-type"]) == (
        b"%PDF-1.4 ...",
        "application/pdf",
    )

    listing = http.get("/v1/files", params={"limit": 1}).json()
    assert ([f["id"] for f in listing["data"]], listing["has_more"]) == ([made["id"]], True)

    deleted = http.delete(f"/v1/files/{meta['id']}").json()
    assert deleted == {"id": meta["id"], "type": "file_deleted"}
    assert list(deleted) == list(load("files-delete").body)
    assert http.get(f"/v1/files/{meta['id']}").status_code == 404


def test_upload_without_a_file_part(http: httpx.Client) -> None:
    response = http.post("/v1/files", files={"other": ("a.txt", b"x")})
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "file: Field required"


# ----- models, count_tokens, usage --------------------------------------------------------------


def test_models(http: httpx.Client) -> None:
    listing = http.get("/v1/models").json()
    recorded = load("models-list").body
    assert list(listing) == list(recorded)
    assert set(listing["data"][0]) == set(recorded["data"][0])
    for entry in listing["data"]:
        ModelInfo.model_validate(entry)
    one = http.get(f"/v1/models/{listing['data'][1]['id']}").json()
    assert one == listing["data"][1]
    missing = http.get("/v1/models/claude-nope")
    assert (missing.status_code, missing.json()["error"]["message"]) == (404, "model: claude-nope")


def test_count_tokens(http: httpx.Client) -> None:
    body = params("Hello, world!")
    del body["max_tokens"]
    counted = http.post("/v1/messages/count_tokens", json=body).json()
    assert list(counted) == list(load("count-tokens-basic").body)
    bigger = http.post("/v1/messages/count_tokens", json=params("Hello, world! " * 100)).json()
    assert bigger["input_tokens"] > counted["input_tokens"] > 0
    bad = http.post("/v1/messages/count_tokens", json={**body, "messages": []})
    assert bad.status_code == 400


def test_cache_write_then_read(http: httpx.Client) -> None:
    system = [
        {"type": "text", "text": "You are helpful. " * 200, "cache_control": {"type": "ephemeral"}}
    ]
    first = http.post("/v1/messages", json=params(system=system)).json()["usage"]
    second = http.post("/v1/messages", json=params("Other question", system=system)).json()["usage"]
    recorded = load("cache-write").body["usage"]
    assert set(first) >= {
        "cache_creation_input_tokens",
        "cache_read_input_tokens",
        "cache_creation",
    }
    assert set(first["cache_creation"]) == set(recorded["cache_creation"])
    assert first["cache_creation_input_tokens"] > 800 and first["cache_read_input_tokens"] == 0
    assert (
        first["cache_creation"]["ephemeral_5m_input_tokens"] == first["cache_creation_input_tokens"]
    )
    assert second["cache_read_input_tokens"] == first["cache_creation_input_tokens"]
    assert second["cache_creation_input_tokens"] == 0
    assert second["input_tokens"] < second["cache_read_input_tokens"]


def test_one_hour_ttl_and_automatic_caching(http: httpx.Client) -> None:
    system = [
        {"type": "text", "text": "x " * 500, "cache_control": {"type": "ephemeral", "ttl": "1h"}}
    ]
    usage = http.post("/v1/messages", json=params(system=system)).json()["usage"]
    assert (
        usage["cache_creation"]["ephemeral_1h_input_tokens"]
        == usage["cache_creation_input_tokens"]
        > 0
    )
    auto = params("Automatic " * 50, cache_control={"type": "ephemeral"})
    first = http.post("/v1/messages", json=auto).json()["usage"]
    again = http.post("/v1/messages", json=auto).json()["usage"]
    assert first["cache_creation_input_tokens"] > 0
    assert again["cache_read_input_tokens"] == first["cache_creation_input_tokens"]


def test_no_cache_control_no_cache_usage(http: httpx.Client) -> None:
    usage = http.post("/v1/messages", json=params("plain " * 100)).json()["usage"]
    assert usage["cache_creation_input_tokens"] == usage["cache_read_input_tokens"] == 0
    assert usage["input_tokens"] > 100


def test_log_endpoint_for_other_processes(fake: FakeClaude) -> None:
    with fake.serve() as server, httpx.Client(base_url=server.url) as http:
        http.post("/v1/messages", json=params(), headers={"x-api-key": "sk-secret"})
        created = create(http, "a", "b")
        log = http.get("/_fake/log").json()
    assert [(r["method"], r["path"]) for r in log["requests"]] == [
        ("POST", "/v1/messages"),
        ("POST", "/v1/messages/batches"),
    ]
    assert log["requests"][0]["body"] == params()
    assert "x-api-key" not in log["requests"][0]["headers"]
    assert "sk-secret" not in json.dumps(log)
    assert log["submitted_custom_ids"] == ["a", "b"]
    assert created["id"] not in json.dumps(log["requests"][0])
    assert len(fake.requests) == 2  # reading the log is not logged
