"""Every non-streaming recorded exchange replays through the client (respx): the response parses
and dumps back to the recorded JSON exactly, errors map to their typed class, and where the case
recorded its request, the client sends an equivalent body and beta header."""

import json
from typing import Any

import httpx
import pytest
import respx
from recordings import Recording, cases, replay_headers

import agentkit
from agentkit import APIStatusError
from agentkit.client import status_error_class

BASE = "https://api.anthropic.com"

MESSAGE_CASES = cases(streaming=False, endpoint="POST /v1/messages")
MESSAGE_CASES = [c for c in MESSAGE_CASES if not c.entry["endpoint"].startswith(
    ("POST /v1/messages/count_tokens", "POST /v1/messages/batches"))]  # fmt: skip
COUNT_CASES = cases(streaming=False, endpoint="POST /v1/messages/count_tokens")


def _mock(route: respx.Route, case: Recording) -> None:
    route.mock(
        return_value=httpx.Response(
            case.status, headers=replay_headers(case.headers()), content=case.body_bytes
        )
    )


def _call_params(case: Recording) -> tuple[dict[str, Any], list[str]]:
    request = case.request
    if request is None:  # the source did not record the request: any valid one will do
        params: dict[str, Any] = {
            "model": case.entry.get("model") or "claude-haiku-4-5",
            "max_tokens": 64,
            "messages": [{"role": "user", "content": "hi"}],
        }
        return params, []
    params = dict(request["body"])
    params.pop("stream", None)
    betas = []
    for name, value in (request.get("headers") or {}).items():
        if name.lower() == "anthropic-beta":
            betas = [b.strip() for b in value.split(",") if b.strip()]
    return params, betas


def _client() -> agentkit.Client:
    return agentkit.Client(api_key="test", max_retries=0)


@pytest.mark.parametrize("case", MESSAGE_CASES, ids=lambda c: c.name)
@respx.mock
def test_message_case_replays(case: Recording) -> None:
    route = respx.post(f"{BASE}/v1/messages")
    _mock(route, case)
    params, betas = _call_params(case)
    options: dict[str, Any] = {"timeout": 600.0}  # explicit: the long-request guard stays out
    if case.request is not None and case.request["body"].get("stream") is True:
        options["stream"] = True  # an error answered a streaming request before any event
    if betas:
        options["betas"] = betas
    if case.status == 200:
        message = _client().messages.create(**params, **options)
        assert message.to_dict() == case.body
    else:
        with pytest.raises(APIStatusError) as info:
            _client().messages.create(**params, **options)
        error = info.value
        kind = case.body.get("error", {}).get("type") if isinstance(case.body, dict) else None
        assert type(error) is status_error_class(case.status, kind)
        assert error.status_code == case.status and error.body == case.body
    sent = route.calls.last.request
    if case.request is not None:
        recorded = dict(case.request["body"])
        if recorded.get("stream") is False:
            recorded.pop("stream")  # the client leaves the default out
        assert json.loads(sent.content) == recorded
        if betas:
            assert sent.headers["anthropic-beta"] == ",".join(betas)


@pytest.mark.parametrize("case", COUNT_CASES, ids=lambda c: c.name)
@respx.mock
def test_count_tokens_case_replays(case: Recording) -> None:
    route = respx.post(f"{BASE}/v1/messages/count_tokens")
    _mock(route, case)
    params, betas = _call_params(case)
    if betas:
        params["betas"] = betas
    if case.status == 200:
        result = _client().messages.count_tokens(**params)
        assert result.to_dict() == case.body
    else:
        with pytest.raises(APIStatusError) as info:
            _client().messages.count_tokens(**params)
        assert info.value.status_code == case.status
    if case.request is not None:
        assert json.loads(route.calls.last.request.content) == case.request["body"]


@respx.mock
def test_models_cases_replay() -> None:
    listing = next(c for c in cases(endpoint="GET /v1/models") if c.name == "models-list")
    one = next(c for c in cases(endpoint="GET /v1/models/") if c.name == "models-get")
    _mock(respx.get(f"{BASE}/v1/models"), listing)
    model_id = one.body["id"]
    _mock(respx.get(f"{BASE}/v1/models/{model_id}"), one)
    client = _client()
    page = client.models.list()
    assert page.raw == listing.body
    assert [m.to_dict() for m in page.data] == listing.body["data"]
    assert client.models.retrieve(model_id).to_dict() == one.body


def test_every_non_streaming_message_case_is_covered() -> None:
    assert len(MESSAGE_CASES) >= 60
    assert {c.status for c in MESSAGE_CASES} >= {200, 400, 401, 404, 429}
