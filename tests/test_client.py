import json
import logging
import socket
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import httpx
import pytest
import respx

import agentkit
import agentkit.types
from agentkit import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AsyncClient,
    AuthenticationError,
    BadRequestError,
    Client,
    ConfigurationError,
    ConflictError,
    InternalServerError,
    Message,
    NotFoundError,
    OverloadedError,
    PermissionDeniedError,
    RateLimitError,
    RequestTooLargeError,
    UnprocessableEntityError,
)
from agentkit.client import RetryPolicy

BASE = "https://api.anthropic.com"
KEY = "sk-ant-test-secret-key-123"
MESSAGE = {
    "id": "msg_1",
    "type": "message",
    "role": "assistant",
    "model": "claude-haiku-4-5",
    "content": [{"type": "text", "text": "hi"}],
    "stop_reason": "end_turn",
    "stop_sequence": None,
    "usage": {"input_tokens": 3, "output_tokens": 1},
}
PARAMS = {
    "model": "claude-haiku-4-5",
    "max_tokens": 64,
    "messages": [{"role": "user", "content": "hi"}],
}


class SleepRecorder:
    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def make_client(**kwargs: object) -> tuple[Client, SleepRecorder]:
    sleeps = SleepRecorder()
    retry = RetryPolicy(sleep=sleeps, **kwargs.pop("retry_kwargs", {}))  # type: ignore[arg-type]
    return Client(api_key=KEY, retry=retry, **kwargs), sleeps  # type: ignore[arg-type]


def error_body(kind: str, message: str = "nope") -> dict[str, object]:
    return {"type": "error", "error": {"type": kind, "message": message}, "request_id": "req_body"}


def test_api_key_from_env_and_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_AUTH_TOKEN", raising=False)
    with pytest.raises(ConfigurationError, match="ANTHROPIC_API_KEY"):
        Client()
    monkeypatch.setenv("ANTHROPIC_API_KEY", "from-env")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://localhost:9999/")
    client = Client()
    assert client._config.api_key == "from-env"
    assert client.base_url == "http://localhost:9999"


def test_import_reads_no_environment_and_loads_nothing_heavy() -> None:
    import subprocess
    import sys

    # Fail if code inside the agentkit package reads os.environ while being imported
    # (the standard library and dependencies may read their own variables).
    code = (
        "import os, sys\n"
        "def check(k):\n"
        "    f = sys._getframe(2)\n"
        "    if '/agentkit/' in f.f_code.co_filename: raise SystemExit('agentkit read ' + k)\n"
        "class Env(dict):\n"
        "    def __getitem__(self, k): check(k); return dict.__getitem__(self, k)\n"
        "    def get(self, k, d=None): check(k); return dict.get(self, k, d)\n"
        "os.environ = Env(os.environ)\n"
        "import agentkit\n"
        "heavy = [m for m in sys.modules if m.split('.')[0] in "
        "('botocore', 'boto3', 'google', 'psycopg', 'temporalio', 'opentelemetry', 'anthropic')]\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@respx.mock
def test_request_headers_and_body() -> None:
    route = respx.post(f"{BASE}/v1/messages").mock(return_value=httpx.Response(200, json=MESSAGE))
    client, _ = make_client(default_headers={"x-team": "a"})
    message = client.messages.create(
        **PARAMS, betas=["b1", "b2"], extra_headers={"x-extra": "1"}, extra_body={"foo": 1}
    )
    assert isinstance(message, Message)
    request = route.calls.last.request
    assert request.headers["x-api-key"] == KEY
    assert request.headers["anthropic-version"] == "2023-06-01"
    assert request.headers["anthropic-beta"] == "b1,b2"
    assert request.headers["x-team"] == "a"
    assert request.headers["x-extra"] == "1"
    assert request.headers["user-agent"].startswith(f"agentkit/{agentkit.__version__}")
    assert request.headers["content-type"] == "application/json"
    import json

    assert json.loads(request.content) == {**PARAMS, "foo": 1}


@respx.mock
def test_auth_token_is_bearer() -> None:
    route = respx.post(f"{BASE}/v1/messages").mock(return_value=httpx.Response(200, json=MESSAGE))
    client = Client(auth_token="tok-secret")
    client.messages.create(**PARAMS)
    headers = route.calls.last.request.headers
    assert headers["authorization"] == "Bearer tok-secret"
    assert "x-api-key" not in headers


@respx.mock
def test_request_id_on_message() -> None:
    respx.post(f"{BASE}/v1/messages").mock(
        return_value=httpx.Response(200, json=MESSAGE, headers={"request-id": "req_abc"})
    )
    client, _ = make_client()
    assert client.messages.create(**PARAMS).request_id == "req_abc"


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ([(b"request-id", b"req_1")], "req_1"),
        ([(b"Request-Id", b"req_2")], "req_2"),  # another spelling
        ([(b"request-id", b"a"), (b"request-id", b"b")], "a, b"),  # sent twice: joined
        ([(b"x-amzn-requestid", b"bedrock-1")], "bedrock-1"),
        ([(b"request-id", b""), (b"x-amzn-requestid", b"bedrock-2")], "bedrock-2"),
        ([(b"request-id", "r\u00e9q".encode())], "r\u00e9q"),  # not ASCII: httpx decodes it
        ([(b"content-type", b"application/json")], None),
    ],
)
def test_request_id_of_reads_headers_as_httpx_does(
    headers: list[tuple[bytes, bytes]], expected: str | None
) -> None:
    from agentkit._exceptions import request_id_of

    parsed = httpx.Headers(headers)
    assert request_id_of(parsed) == expected
    assert expected == (parsed.get("request-id") or parsed.get("x-amzn-requestid"))


@respx.mock
def test_request_id_and_body_survive_copies_pickles_and_count_in_equality() -> None:
    import copy
    import pickle

    respx.post(f"{BASE}/v1/messages").mock(
        return_value=httpx.Response(200, json=MESSAGE, headers={"request-id": "req_abc"})
    )
    client, _ = make_client()
    message = client.messages.create(**PARAMS)
    copies = [message.model_copy(), copy.copy(message), copy.deepcopy(message)]
    for twin in [*copies, pickle.loads(pickle.dumps(message))]:
        assert twin == message
        assert twin._request_id == twin.request_id == "req_abc"
        assert twin.as_received() == MESSAGE
    copies[0]._request_id = "req_other"  # a copy's value is its own ...
    assert message.request_id == "req_abc" and copies[0] != message  # ... and part of ==
    built = Message.model_validate(MESSAGE)  # not from a response: no request id, no body
    assert built.request_id is None and built.as_received() is None
    built._request_id = "req_set"
    assert built.request_id == "req_set" and built.model_copy().request_id == "req_set"


@pytest.mark.parametrize(
    ("status", "cls", "kind"),
    [
        (400, BadRequestError, "invalid_request_error"),
        (401, AuthenticationError, "authentication_error"),
        (403, PermissionDeniedError, "permission_error"),
        (404, NotFoundError, "not_found_error"),
        (409, ConflictError, "conflict_error"),
        (413, RequestTooLargeError, "request_too_large"),
        (422, UnprocessableEntityError, "invalid_request_error"),
        (429, RateLimitError, "rate_limit_error"),
        (500, InternalServerError, "api_error"),
        (503, InternalServerError, "api_error"),
        (529, OverloadedError, "overloaded_error"),
        (418, APIStatusError, "teapot"),
    ],
)
@respx.mock
def test_status_to_error_class(status: int, cls: type[APIStatusError], kind: str) -> None:
    respx.post(f"{BASE}/v1/messages").mock(
        return_value=httpx.Response(
            status, json=error_body(kind), headers={"request-id": "req_xyz"}
        )
    )
    client, _ = make_client(max_retries=0)
    with pytest.raises(cls) as info:
        client.messages.create(**PARAMS)
    err = info.value
    assert type(err) is cls
    assert err.status_code == status
    assert err.request_id == "req_xyz"
    assert err.type == kind
    assert err.body == error_body(kind)
    assert "nope" in str(err) and "req_xyz" in str(err)
    assert err.response.status_code == status


@respx.mock
def test_retries_with_backoff_then_success() -> None:
    route = respx.post(f"{BASE}/v1/messages").mock(
        side_effect=[
            httpx.Response(529, json=error_body("overloaded_error")),
            httpx.Response(500, json=error_body("api_error")),
            httpx.Response(200, json=MESSAGE),
        ]
    )
    client, sleeps = make_client()
    assert client.messages.create(**PARAMS).id == "msg_1"
    assert route.call_count == 3
    assert 0.375 <= sleeps.waits[0] <= 0.5
    assert 0.75 <= sleeps.waits[1] <= 1.0
    retry_counts = [c.request.headers["x-agentkit-retry-count"] for c in route.calls]
    assert retry_counts == ["0", "1", "2"]


@respx.mock
def test_retries_exhausted_raise_last_error() -> None:
    route = respx.post(f"{BASE}/v1/messages").mock(
        return_value=httpx.Response(429, json=error_body("rate_limit_error"))
    )
    client, sleeps = make_client(max_retries=3)
    with pytest.raises(RateLimitError):
        client.messages.create(**PARAMS)
    assert route.call_count == 4
    assert len(sleeps.waits) == 3


@respx.mock
def test_per_request_max_retries() -> None:
    route = respx.post(f"{BASE}/v1/messages").mock(
        return_value=httpx.Response(500, json=error_body("api_error"))
    )
    client, _ = make_client()
    with pytest.raises(InternalServerError):
        client.messages.create(**PARAMS, max_retries=0)
    assert route.call_count == 1


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after-ms": "1500"}, 1.5),
        ({"retry-after": "7"}, 7.0),
        ({"retry-after": "120"}, 120.0),  # honoured beyond 60 s (the official SDK drops it)
        ({"retry-after": "5000"}, 300.0),  # capped at max_retry_after, not ignored
    ],
)
@respx.mock
def test_retry_after_honoured_and_capped(headers: dict[str, str], expected: float) -> None:
    respx.post(f"{BASE}/v1/messages").mock(
        side_effect=[
            httpx.Response(429, json=error_body("rate_limit_error"), headers=headers),
            httpx.Response(200, json=MESSAGE),
        ]
    )
    client, sleeps = make_client()
    client.messages.create(**PARAMS)
    assert sleeps.waits == [pytest.approx(expected)]


@respx.mock
def test_retry_after_http_date() -> None:
    when = datetime.now(timezone.utc) + timedelta(seconds=30)
    respx.post(f"{BASE}/v1/messages").mock(
        side_effect=[
            httpx.Response(
                429,
                json=error_body("rate_limit_error"),
                headers={"retry-after": format_datetime(when)},
            ),
            httpx.Response(200, json=MESSAGE),
        ]
    )
    client, sleeps = make_client()
    client.messages.create(**PARAMS)
    assert 25 <= sleeps.waits[0] <= 30


@respx.mock
def test_x_should_retry_both_ways() -> None:
    route = respx.post(f"{BASE}/v1/messages").mock(
        side_effect=[
            httpx.Response(
                400, json=error_body("invalid_request_error"), headers={"x-should-retry": "true"}
            ),
            httpx.Response(200, json=MESSAGE),
        ]
    )
    client, _ = make_client()
    client.messages.create(**PARAMS)
    assert route.call_count == 2

    route2 = respx.post(f"{BASE}/v1/messages/count_tokens").mock(
        return_value=httpx.Response(
            503, json=error_body("api_error"), headers={"x-should-retry": "false"}
        )
    )
    with pytest.raises(InternalServerError):
        client.messages.count_tokens(model="m", messages=[{"role": "user", "content": "x"}])
    assert route2.call_count == 1


@respx.mock
def test_non_retryable_status_is_not_retried() -> None:
    route = respx.post(f"{BASE}/v1/messages").mock(
        return_value=httpx.Response(400, json=error_body("invalid_request_error"))
    )
    client, sleeps = make_client()
    with pytest.raises(BadRequestError):
        client.messages.create(**PARAMS)
    assert route.call_count == 1 and sleeps.waits == []


@respx.mock
def test_connection_reset_and_timeout_retried_then_raised() -> None:
    route = respx.post(f"{BASE}/v1/messages").mock(
        side_effect=[
            httpx.ConnectError("reset"),
            httpx.ReadTimeout("slow"),
            httpx.ReadTimeout("slow"),
        ]
    )
    client, sleeps = make_client()
    with pytest.raises(APITimeoutError) as info:
        client.messages.create(**PARAMS)
    assert isinstance(info.value, APIConnectionError)
    assert isinstance(info.value.__cause__, httpx.ReadTimeout)
    assert route.call_count == 3 and len(sleeps.waits) == 2


@respx.mock
def test_secrets_never_logged_or_shown(caplog: pytest.LogCaptureFixture) -> None:
    respx.post(f"{BASE}/v1/messages").mock(
        side_effect=[
            httpx.Response(529, json=error_body("overloaded_error")),
            httpx.Response(401, json=error_body("authentication_error", "invalid x-api-key")),
        ]
    )
    client, _ = make_client()
    with (
        caplog.at_level(logging.DEBUG, logger="agentkit"),
        pytest.raises(AuthenticationError) as info,
    ):
        client.messages.create(**PARAMS)
    assert "retrying request (attempt 2 of 3)" in caplog.text
    assert "x-api-key" in caplog.text  # the header name is logged ...
    for text in (
        caplog.text,
        repr(client),
        str(info.value),
        repr(info.value),
        repr(client._config),
    ):
        assert KEY not in text  # ... its value never


def test_logging_switched_on_by_env(monkeypatch: pytest.MonkeyPatch) -> None:
    logger = logging.getLogger("agentkit")
    saved = (logger.handlers[:], logger.level)
    logger.handlers.clear()
    monkeypatch.setenv("AGENTKIT_LOG", "debug")
    try:
        Client(api_key=KEY)
        assert logger.level == logging.DEBUG and logger.handlers
    finally:
        logger.handlers[:] = saved[0]
        logger.setLevel(saved[1])


@respx.mock
def test_with_options_shares_pool_and_overrides() -> None:
    route = respx.post(f"{BASE}/v1/messages").mock(
        return_value=httpx.Response(500, json=error_body("api_error"))
    )
    client, _ = make_client()
    other = client.with_options(max_retries=0, timeout=3.0, default_headers={"x-a": "b"})
    assert other._http is client._http
    assert other.max_retries == 0 and client.max_retries == 2
    assert other.timeout.read == 3.0 and client.timeout.read == 600.0
    with pytest.raises(InternalServerError):
        other.messages.create(**PARAMS)
    assert route.call_count == 1
    assert route.calls.last.request.headers["x-a"] == "b"
    other.close()
    assert not client._http.is_closed


@respx.mock
def test_raw_response() -> None:
    respx.post(f"{BASE}/v1/messages").mock(
        return_value=httpx.Response(200, json=MESSAGE, headers={"request-id": "req_1", "x-h": "v"})
    )
    client, _ = make_client()
    raw = client.messages.with_raw_response.create(**PARAMS)
    assert raw.status_code == 200
    assert raw.headers["x-h"] == "v"
    assert raw.request_id == "req_1"
    message = raw.parse()
    assert isinstance(message, Message) and message.request_id == "req_1"


@respx.mock
def test_streaming_response_reads_on_demand() -> None:
    respx.post(f"{BASE}/v1/messages").mock(return_value=httpx.Response(200, json=MESSAGE))
    client, _ = make_client()
    with client.messages.with_streaming_response.create(**PARAMS) as response:
        assert not response.http_response.is_stream_consumed
        chunks = b"".join(response.iter_bytes())
    assert b'"msg_1"' in chunks
    assert response.http_response.is_closed


def test_long_request_guard() -> None:
    client, _ = make_client()
    with pytest.raises(ConfigurationError, match="stream"):
        client.messages.create(**{**PARAMS, "max_tokens": 21_334})


@respx.mock
def test_long_request_guard_off_with_explicit_timeout() -> None:
    respx.post(f"{BASE}/v1/messages").mock(return_value=httpx.Response(200, json=MESSAGE))
    client, _ = make_client()
    client.messages.create(**{**PARAMS, "max_tokens": 21_333})
    client.messages.create(**{**PARAMS, "max_tokens": 64_000}, timeout=900)


def _model_page(ids: list[str], has_more: bool) -> dict[str, object]:
    return {
        "data": [
            {"id": i, "type": "model", "display_name": i, "created_at": "2025-01-01T00:00:00Z"}
            for i in ids
        ],
        "has_more": has_more,
        "first_id": ids[0],
        "last_id": ids[-1],
    }


@respx.mock
def test_models_pagination_sync() -> None:
    route = respx.get(f"{BASE}/v1/models").mock(
        side_effect=[
            httpx.Response(200, json=_model_page(["a", "b"], True)),
            httpx.Response(200, json=_model_page(["c", "d"], True)),
            httpx.Response(200, json=_model_page(["e"], False)),
        ]
    )
    client, _ = make_client()
    page = client.models.list(limit=2)
    assert [m.id for m in page.data] == ["a", "b"]
    assert page.has_next_page()
    assert [m.id for m in page] == ["a", "b", "c", "d", "e"]
    queries = [dict(c.request.url.params) for c in route.calls]
    assert queries == [
        {"limit": "2"},
        {"limit": "2", "after_id": "b"},
        {"limit": "2", "after_id": "d"},
    ]


@respx.mock
def test_models_pagination_backwards_and_manual() -> None:
    route = respx.get(f"{BASE}/v1/models").mock(
        side_effect=[
            httpx.Response(200, json=_model_page(["x", "y"], True)),
            httpx.Response(200, json=_model_page(["v", "w"], False)),
        ]
    )
    client, _ = make_client()
    page = client.models.list(before_id="z")
    nxt = page.get_next_page()
    assert [m.id for m in nxt.data] == ["v", "w"]
    assert not nxt.has_next_page()
    assert dict(route.calls.last.request.url.params) == {"before_id": "x"}


@respx.mock
def test_models_retrieve_escapes_id() -> None:
    route = respx.get(f"{BASE}/v1/models/claude%2Fodd").mock(
        return_value=httpx.Response(200, json={"id": "claude/odd", "type": "model"})
    )
    client, _ = make_client()
    assert client.models.retrieve("claude/odd").id == "claude/odd"
    assert route.called


@respx.mock
def test_generic_request_methods() -> None:
    route = respx.get(f"{BASE}/v1/organizations/me").mock(
        side_effect=[
            httpx.Response(500, json=error_body("api_error")),
            httpx.Response(200, json={"ok": True}),
        ]
    )
    client, _ = make_client()
    assert client.get("/v1/organizations/me", query={"a": 1}) == {"ok": True}
    assert route.call_count == 2


@respx.mock
def test_unknown_blocks_and_null_vs_missing() -> None:
    body = {**MESSAGE, "content": [{"type": "future_block", "x": {"y": [1]}}], "new_field": None}
    respx.post(f"{BASE}/v1/messages").mock(return_value=httpx.Response(200, json=body))
    client, _ = make_client()
    message = client.messages.create(**PARAMS)
    assert message.to_dict() == body
    assert agentkit.types.is_set(message, "stop_sequence") and message.stop_sequence is None
    assert agentkit.types.is_set(message, "new_field")
    assert not agentkit.types.is_set(message.usage, "cache_read_input_tokens")


@respx.mock
def test_response_validation_error() -> None:
    respx.post(f"{BASE}/v1/messages").mock(return_value=httpx.Response(200, json={"id": 1}))
    client, _ = make_client()
    with pytest.raises(agentkit.APIResponseValidationError):
        client.messages.create(**PARAMS)


# -- async ---------------------------------------------------------------------------------


class AsyncSleepRecorder(SleepRecorder):
    async def __call__(self, seconds: float) -> None:  # type: ignore[override]
        self.waits.append(seconds)


@pytest.mark.anyio
@respx.mock
async def test_async_create_retry_and_errors() -> None:
    route = respx.post(f"{BASE}/v1/messages").mock(
        side_effect=[
            httpx.Response(529, json=error_body("overloaded_error"), headers={"retry-after": "2"}),
            httpx.Response(200, json=MESSAGE, headers={"request-id": "req_a"}),
        ]
    )
    sleeps = AsyncSleepRecorder()
    async with AsyncClient(api_key=KEY, retry=RetryPolicy(sleep=sleeps)) as client:
        message = await client.messages.create(**PARAMS)
    assert message.request_id == "req_a"
    assert sleeps.waits == [2.0]
    assert route.call_count == 2


@pytest.mark.anyio
@respx.mock
async def test_async_errors_raw_and_pages() -> None:
    respx.post(f"{BASE}/v1/messages").mock(
        return_value=httpx.Response(404, json=error_body("not_found_error"))
    )
    respx.post(f"{BASE}/v1/messages/count_tokens").mock(
        return_value=httpx.Response(200, json={"input_tokens": 12}, headers={"request-id": "r"})
    )
    respx.get(f"{BASE}/v1/models").mock(
        side_effect=[
            httpx.Response(200, json=_model_page(["a"], True)),
            httpx.Response(200, json=_model_page(["b"], False)),
        ]
    )
    client = AsyncClient(api_key=KEY, max_retries=0)
    with pytest.raises(NotFoundError):
        await client.messages.create(**PARAMS)
    raw = await client.messages.with_raw_response.count_tokens(model="m", messages=[])
    assert raw.request_id == "r" and (await raw.parse()).input_tokens == 12
    assert [m.id async for m in client.models.list()] == ["a", "b"]
    await client.close()


@respx.mock
def test_requests_accept_own_models() -> None:
    route = respx.post(f"{BASE}/v1/messages").mock(return_value=httpx.Response(200, json=MESSAGE))
    client, _ = make_client()
    previous = Message.model_validate(MESSAGE)
    client.messages.create(
        model="claude-haiku-4-5",
        max_tokens=64,
        messages=[
            {"role": "user", "content": [agentkit.types.TextBlock(text="hi")]},
            previous,  # type: ignore[list-item]
            {"role": "user", "content": "again"},
        ],
    )
    import json

    sent = json.loads(route.calls.last.request.content)["messages"]
    assert sent == [
        {"role": "user", "content": [{"type": "text", "text": "hi"}]},
        {"role": "assistant", "content": MESSAGE["content"]},
        {"role": "user", "content": "again"},
    ]


@pytest.mark.anyio
@respx.mock
async def test_async_streaming_response_as_context_manager() -> None:
    respx.post(f"{BASE}/v1/messages").mock(return_value=httpx.Response(200, json=MESSAGE))
    client = AsyncClient(api_key=KEY, max_retries=0)
    async with client.messages.with_streaming_response.create(**PARAMS) as response:
        assert not response.http_response.is_stream_consumed
        body = b"".join([chunk async for chunk in response.iter_bytes()])
    assert b'"msg_1"' in body and response.http_response.is_closed
    raw = await client.messages.with_raw_response.create(**PARAMS)  # awaitable as well
    assert (await raw.parse()).id == "msg_1"
    await client.close()


def test_the_sync_shells_are_the_current_copy_of_the_async_source() -> None:
    # `Client`, its resources and the sync streams are generated by scripts/unasync; a stale copy
    # would make the two clients drift apart.
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parent.parent / "scripts" / "unasync"
    done = subprocess.run(
        [sys.executable, str(script), "--check"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr


def test_a_spec_reads_events_as_a_stream_and_parses_what_it_is_told() -> None:
    from agentkit.client._base import RequestSpec, model_parser

    spec = RequestSpec("POST", "/v1/messages", events=True)
    assert spec.stream and spec.events
    assert not RequestSpec("GET", "/v1/models").stream
    parse = model_parser(agentkit.types.Message.model_validate)
    typed = RequestSpec("POST", "/v1/messages", parse=parse)
    response = httpx.Response(
        200, json=MESSAGE, headers={"request-id": "req_1"}, request=httpx.Request("POST", BASE)
    )
    message = typed.parse(response)
    assert message.id == "msg_1" and message.request_id == "req_1"
    with pytest.raises(agentkit.APIResponseValidationError):
        typed.parse(httpx.Response(200, json={"no": "message"}, request=response.request))


# --- create(stream=True): typed events, the SDK's raw event shapes ---------------------------


def test_create_stream_yields_typed_events_with_attribute_access() -> None:
    from agentkit.streaming import ContentBlockDeltaEvent, MessageStartEvent, MessageStopEvent
    from agentkit.testing import FakeClaude, Reply, text, tool_use

    fake = FakeClaude([Reply(text("Hello there"), tool_use("add", {"a": 1}))])
    client = Client(api_key=KEY, http_client=fake.http_client())
    stream = client.messages.create(**PARAMS, stream=True)  # type: ignore[arg-type]
    with stream:
        events = list(stream)
    types = [e.type for e in events]
    assert types[0] == "message_start" and types[-1] == "message_stop"
    assert "text" not in types and "input_json" not in types  # deltas stay content_block_delta
    start = events[0]
    assert isinstance(start, MessageStartEvent)
    assert start.message.usage.input_tokens > 0  # type: ignore[attr-defined]
    assert start.message["id"] == start.raw["message"]["id"]  # still a dict
    deltas = [e for e in events if isinstance(e, ContentBlockDeltaEvent)]
    text_pieces = [d.delta.text for d in deltas if d.delta.type == "text_delta"]  # type: ignore[attr-defined]
    assert "".join(text_pieces) == "Hello there"  # type: ignore[arg-type]
    json_pieces = [d.delta.partial_json for d in deltas if d.delta.type == "input_json_delta"]  # type: ignore[attr-defined]
    assert "".join(json_pieces).replace(" ", "") == '{"a":1}'  # type: ignore[arg-type]
    stop_reason = next(e for e in events if e.type == "message_delta").delta.stop_reason  # type: ignore[union-attr]
    assert stop_reason == "tool_use"
    assert isinstance(events[-1], MessageStopEvent) and events[-1].message.text == "Hello there"
    with pytest.raises(AttributeError, match="no 'nope'"):
        _ = start.message.nope  # type: ignore[attr-defined]


@pytest.mark.anyio
async def test_async_create_stream_yields_the_same_events() -> None:
    from agentkit.testing import FakeClaude, Reply

    fake = FakeClaude([Reply.text("Hi"), Reply.text("Hi")])
    sync_events = list(
        Client(api_key=KEY, http_client=fake.http_client()).messages.create(
            **PARAMS,  # type: ignore[arg-type]
            stream=True,
        )
    )
    client = AsyncClient(api_key=KEY, http_client=fake.async_http_client())
    stream = await client.messages.create(**PARAMS, stream=True)  # type: ignore[arg-type]
    events = [e async for e in stream]
    assert [type(e) for e in events] == [type(e) for e in sync_events]
    assert [e.type for e in events][:3] == [
        "message_start",
        "content_block_start",
        "content_block_delta",
    ]
    assert events[2].delta.text == "Hi"  # type: ignore[union-attr]


# --- the rest of the SDK's documented surface ------------------------------------------------


def fake_client(*replies: object) -> tuple[Client, object]:
    from agentkit.testing import FakeClaude

    fake = FakeClaude(list(replies) if replies else None)
    return Client(api_key=KEY, http_client=fake.http_client()), fake


def test_pages_have_next_page_info_and_request_id() -> None:
    from agentkit.client import PageInfo

    client, _ = fake_client()
    page = client.models.list(limit=2)
    assert page._request_id is not None and page._request_id.startswith("req_")
    info = page.next_page_info()
    assert info == PageInfo({"limit": 2, "after_id": page.last_id})
    nxt = page.get_next_page()
    assert nxt.query == info.params and nxt._request_id != page._request_id
    last = nxt
    while last.has_next_page():
        last = last.get_next_page()
    assert last.next_page_info() is None


def test_every_response_model_has_request_id() -> None:
    client, _ = fake_client()
    counted = client.messages.count_tokens(model="claude-haiku-4-5", messages=PARAMS["messages"])  # type: ignore[arg-type]
    model = client.models.retrieve(client.models.list(limit=1).data[0].id)
    batch = client.messages.batches.create(
        requests=[{"custom_id": "a", "params": {**PARAMS}}]  # type: ignore[typeddict-item]
    )
    uploaded = client.files.upload(file=("a.txt", b"hello", "text/plain"))
    deleted_file = client.files.delete(uploaded.id)
    ids = [r._request_id for r in (counted, model, batch, uploaded, deleted_file)]
    assert all(isinstance(i, str) and i.startswith("req_") for i in ids)
    assert len(set(ids)) == len(ids)


def test_streaming_response_iter_text_bytes_lines() -> None:
    client, _ = fake_client()
    with client.messages.with_streaming_response.create(**PARAMS) as response:  # type: ignore[arg-type]
        text = "".join(response.iter_text())
    assert json.loads(text)["type"] == "message"
    with client.messages.with_streaming_response.create(**PARAMS) as response:  # type: ignore[arg-type]
        chunks = list(response.iter_bytes())
    assert chunks and json.loads(b"".join(chunks))["role"] == "assistant"
    with client.messages.with_streaming_response.create(**PARAMS, stream=True) as response:  # type: ignore[arg-type]
        lines = list(response.iter_lines())
    assert "event: message_start" in lines and "event: message_stop" in lines


def test_undocumented_endpoints_cast_to_and_options() -> None:
    from agentkit.types import MessageTokensCount

    client, _ = fake_client()
    body = {"model": "claude-haiku-4-5", "messages": PARAMS["messages"]}
    response = client.post("/v1/messages/count_tokens", cast_to=httpx.Response, body=body)
    assert isinstance(response, httpx.Response) and response.json()["input_tokens"] > 0
    counted = client.post(
        "/v1/messages/count_tokens",
        cast_to=MessageTokensCount,
        body={"model": "claude-haiku-4-5"},
        options={"extra_json": {"messages": PARAMS["messages"]}, "headers": {"x-mine": "1"}},
    )
    assert isinstance(counted, MessageTokensCount) and counted._request_id.startswith("req_")
    assert counted.input_tokens == response.json()["input_tokens"]
    assert client.post("/v1/messages/count_tokens", cast_to=str, body=body).startswith("{")
    page = client.get("/v1/models", cast_to=dict[str, object], options={"params": {"limit": 1}})
    assert isinstance(page, dict) and len(page["data"]) == 1  # type: ignore[arg-type]
    assert client.get("/v1/models", query={"limit": 1})["data"] == page["data"]  # JSON by default
    with pytest.raises(TypeError, match="did you mean 'params'"):
        client.get("/v1/models", options={"param": {"limit": 1}})
    with pytest.raises(TypeError, match="cast_to"):
        client.get("/v1/models", cast_to=42)


def test_cast_to_a_model_of_yours_gets_the_request_id_in_its_private_attribute() -> None:
    from pydantic import BaseModel, PrivateAttr

    class Counted(BaseModel):  # the official SDK's models declare `_request_id` like this
        input_tokens: int
        _request_id: str | None = PrivateAttr(default=None)

    class Plain(BaseModel):  # no `_request_id`: none is added
        input_tokens: int

    client, _ = fake_client()
    body = {"model": "claude-haiku-4-5", "messages": PARAMS["messages"]}
    counted = client.post("/v1/messages/count_tokens", cast_to=Counted, body=body)
    assert counted._request_id is not None and counted._request_id.startswith("req_")
    assert counted.__pydantic_private__ == {"_request_id": counted._request_id}
    plain = client.post("/v1/messages/count_tokens", cast_to=Plain, body=body)
    assert plain.input_tokens == counted.input_tokens and not hasattr(plain, "_request_id")


@respx.mock
def test_custom_request_options_reach_the_wire() -> None:
    route = respx.post(f"{BASE}/v1/foo").mock(return_value=httpx.Response(200, json={"ok": True}))
    client, _ = make_client()
    out = client.post(
        "/v1/foo",
        body={"a": 1},
        options={"params": {"q": "x"}, "headers": {"x-h": "v"}, "extra_json": {"b": 2}},
    )
    assert out == {"ok": True}
    request = route.calls.last.request
    assert request.url.params["q"] == "x" and request.headers["x-h"] == "v"
    assert json.loads(request.content) == {"a": 1, "b": 2}


def test_default_httpx_clients_carry_agentkit_defaults() -> None:
    from agentkit.client import (
        DEFAULT_LIMITS,
        DEFAULT_TIMEOUT,
        DefaultAsyncHttpxClient,
        DefaultHttpxClient,
    )

    for cls in (DefaultHttpxClient, DefaultAsyncHttpxClient):
        http = cls()
        assert http.timeout == DEFAULT_TIMEOUT
        # httpx keeps the pool's socket options privately; SO_KEEPALIVE is (SOL_SOCKET, 9).
        pool = http._transport._pool  # type: ignore[attr-defined]
        assert (socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1) in pool._socket_options
        assert pool._max_connections == DEFAULT_LIMITS.max_connections
    mine = httpx.HTTPTransport()
    assert DefaultHttpxClient(transport=mine)._transport is mine
    assert DefaultHttpxClient(timeout=3.0).timeout.read == 3.0
    # The client's own pool is one of them.
    client = Client(api_key=KEY)
    assert isinstance(client._http, DefaultHttpxClient)


@pytest.mark.parametrize("name", ["Set-Cookie", "set-cookie2"])
def test_the_pools_keep_cookies_and_skip_responses_that_set_none(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The jar reads a response only when it sets a cookie; what it keeps is what httpx's
    keeps, and it goes back with the next request (also after `cookies=` is set again)."""
    import http.cookiejar

    from agentkit.client import DefaultAsyncHttpxClient, DefaultHttpxClient

    reads: list[object] = []
    extract = http.cookiejar.CookieJar.extract_cookies

    def counted(jar: http.cookiejar.CookieJar, response: object, request: object) -> None:
        reads.append(response)
        extract(jar, response, request)

    monkeypatch.setattr(http.cookiejar.CookieJar, "extract_cookies", counted)
    sent: list[str | None] = []

    def server(request: httpx.Request) -> httpx.Response:
        sent.append(request.headers.get("cookie"))
        if request.url.path == "/login":
            value = "session=abc; Path=/" if name == "Set-Cookie" else 'session="abc"; Version=1'
            return httpx.Response(200, headers={name: value}, json={})
        return httpx.Response(200, json={})

    plain = httpx.Client(transport=httpx.MockTransport(server))
    plain.get("https://api.example.com/login")
    reads.clear()
    http_client = DefaultHttpxClient(transport=httpx.MockTransport(server))
    http_client.get("https://api.example.com/v1/models")
    assert reads == []  # no Set-Cookie: the standard library's parse is skipped
    http_client.get("https://api.example.com/login")
    assert len(reads) == 1  # read, and kept as httpx keeps it (Set-Cookie2 is ignored)
    assert dict(http_client.cookies) == dict(plain.cookies)
    http_client.get("https://api.example.com/v1/models")
    assert sent[-1] == ("session=abc" if name == "Set-Cookie" else None)
    http_client.cookies = {"other": "1"}
    http_client.get("https://api.example.com/v1/models")
    assert sent[-1] == "other=1"
    assert type(http_client.cookies) is type(DefaultAsyncHttpxClient().cookies)


def test_with_options_http_client_and_closing() -> None:
    from agentkit.testing import FakeClaude

    fake = FakeClaude([Reply_text("a"), Reply_text("b")])
    first, second = fake.http_client(), fake.http_client()
    client = Client(api_key=KEY, http_client=first)
    other = client.with_options(http_client=second, max_retries=0)
    assert other._http is second and client._http is first
    assert other.messages.create(**PARAMS).text == "a"  # type: ignore[arg-type]
    other.close()
    assert second.is_closed and not first.is_closed
    same_pool = client.with_options(timeout=5.0)
    same_pool.close()
    assert not first.is_closed
    with client:
        assert client.messages.create(**PARAMS).text == "b"  # type: ignore[arg-type]
    assert first.is_closed  # the SDK's `with` closes the pool it was given too


def Reply_text(value: str) -> object:
    from agentkit.testing import Reply

    return Reply.text(value)


@pytest.mark.anyio
async def test_async_with_closes_a_passed_in_aiohttp_pool() -> None:
    pytest.importorskip("httpx_aiohttp", reason="the aiohttp extra is not installed")
    from agentkit.testing import FakeClaude, FakeServer

    with FakeServer(FakeClaude([Reply_text("hi")])) as server:
        http = agentkit.DefaultAioHttpClient()
        async with AsyncClient(api_key=KEY, base_url=server.url, http_client=http) as client:
            assert (await client.messages.create(**PARAMS)).text == "hi"  # type: ignore[arg-type]
        assert http.is_closed


def test_long_request_guard_is_a_value_error_too() -> None:
    from agentkit.client import LongRequestError

    client, _ = fake_client()
    with pytest.raises(ValueError, match="10 minutes") as info:
        client.messages.create(**{**PARAMS, "max_tokens": 64_000})  # type: ignore[arg-type]
    assert isinstance(info.value, LongRequestError) and isinstance(info.value, ConfigurationError)


def test_base64_source_data_may_be_a_path_or_a_binary_file(tmp_path: object) -> None:
    import base64
    import io
    from pathlib import Path

    from agentkit.testing import FakeClaude

    png = bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360f8cf00000301010018dd8db000000000"
        "49454e44ae426082"
    )
    path = Path(str(tmp_path)) / "dot.png"
    path.write_bytes(png)
    fake = FakeClaude()
    client = Client(api_key=KEY, http_client=fake.http_client())

    def image(data: object) -> list[dict[str, object]]:
        source = {"type": "base64", "media_type": "image/png", "data": data}
        block = {"type": "image", "source": source}
        return [{"role": "user", "content": [block, {"type": "text", "text": "What is it?"}]}]

    for data in (path, io.BytesIO(png)):
        client.messages.create(model="claude-haiku-4-5", max_tokens=64, messages=image(data))  # type: ignore[arg-type]
        sent = fake.message_bodies[-1]["messages"][0]["content"]
        assert base64.b64decode(sent[0]["source"]["data"]) == png
        assert sent[1] == {"type": "text", "text": "What is it?"}
    with pytest.raises(TypeError, match="binary mode"):
        client.messages.create(
            model="claude-haiku-4-5",
            max_tokens=64,
            messages=image(io.StringIO("text")),  # type: ignore[arg-type]
        )


def test_requests_carry_the_headers_httpx_would_add_in_its_order() -> None:
    """agentkit adds `Host` and `Content-Length` itself (httpx's `content=` path re-parses every
    header): the request on the wire is the one httpx would build, byte for byte."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"ok": True})

    http = httpx.Client(transport=httpx.MockTransport(handler))
    client = agentkit.Client(api_key="k", base_url="https://example.test:8443", http_client=http)
    client.post("/v1/x", body={"a": 1})
    client.post("/v1/empty")
    client.get("/v1/y", query={"q": "1"})
    client.get("https://elsewhere.test/v1/z")
    for request in seen:
        added = (b"host", b"content-length")
        given = [(k, v) for k, v in request.headers.raw if k.lower() not in added]
        body = request.content or None
        expected = httpx.Request(request.method, request.url, headers=given, content=body)
        assert request.headers.raw == expected.headers.raw
        assert request.content == expected.content
    assert seen[0].headers.raw[0] == (b"Host", b"example.test:8443")
    assert seen[0].headers["content-length"] == str(len(b'{"a":1}'))
    assert seen[0].content == b'{"a":1}'
    assert seen[1].headers["content-length"] == "0"
    assert "content-length" not in seen[2].headers and seen[2].url.params["q"] == "1"
    assert seen[3].headers["host"] == "elsewhere.test"
    client.close()


def test_max_in_flight_bounds_the_requests_out_at_once() -> None:
    import anyio

    active: list[int] = []
    most = 0
    release = anyio.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal most
        active.append(1)
        most = max(most, len(active))
        await release.wait()
        active.pop()
        return httpx.Response(200, json={"ok": True})

    async def main() -> list[object]:
        http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
        client = agentkit.AsyncClient(
            api_key="k", base_url="https://example.test", http_client=http, max_in_flight=2
        )
        answers: list[object] = []

        async def one() -> None:
            answers.append(await client.get("/v1/x"))

        async with anyio.create_task_group() as tg:
            for _ in range(5):
                tg.start_soon(one)
            await anyio.wait_all_tasks_blocked()
            assert len(active) == 2  # three wait in the client, not in the transport
            release.set()
        await client.close()
        return answers

    assert anyio.run(main) == [{"ok": True}] * 5
    assert most == 2


def test_a_sync_clients_max_in_flight_bounds_its_threads_and_gives_slots_back_on_errors() -> None:
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    active = 0
    most = 0
    lock = threading.Lock()
    release = threading.Event()

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal active, most
        with lock:
            active += 1
            most = max(most, active)
        release.wait(10)
        with lock:
            active -= 1
        if request.url.path == "/v1/fail":
            return httpx.Response(
                400, json={"type": "error", "error": {"type": "x", "message": "no"}}
            )
        return httpx.Response(200, json={"ok": True})

    http = httpx.Client(transport=httpx.MockTransport(handler))
    client = agentkit.Client(
        api_key="k", base_url="https://example.test", http_client=http, max_in_flight=2
    )
    with ThreadPoolExecutor(6) as pool:
        futures = [pool.submit(client.get, "/v1/x") for _ in range(5)]
        failing = pool.submit(client.get, "/v1/fail")
        deadline = time.monotonic() + 10
        while active < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.05)  # a third request, were it let through, would be in the handler now
        assert active == 2
        release.set()
        assert [f.result(timeout=10) for f in futures] == [{"ok": True}] * 5
        with pytest.raises(agentkit.BadRequestError):
            failing.result(timeout=10)
    assert most == 2
    # Every slot came back, the failed request's too: two at once still go through.
    release.clear()
    with ThreadPoolExecutor(2) as pool:
        pair = [pool.submit(client.get, "/v1/x") for _ in range(2)]
        deadline = time.monotonic() + 10
        while active < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert active == 2
        release.set()
        assert [f.result(timeout=10) for f in pair] == [{"ok": True}] * 2
    client.close()


def test_in_flight_slots_go_in_arrival_order_and_a_cancelled_waiter_passes_its_turn_on() -> None:
    import anyio

    from agentkit.client._inflight import AsyncInFlight

    limiter = AsyncInFlight(1)
    order: list[str] = []

    async def hold(name: str, until: anyio.Event) -> None:
        async with limiter:
            order.append(name)
            await until.wait()

    async def main() -> None:
        with anyio.fail_after(10):  # a slot lost to a cancelled waiter would hang the rest
            await in_order()

    async def in_order() -> None:
        done = anyio.Event()
        done.set()
        first_held = anyio.Event()
        async with anyio.create_task_group() as tg:
            tg.start_soon(hold, "a", first_held)
            await anyio.wait_all_tasks_blocked()
            assert order == ["a"]  # a free slot is taken at once
            gone = anyio.CancelScope()

            async def cancelled_in_line() -> None:
                with gone:
                    await hold("b", done)

            tg.start_soon(cancelled_in_line)
            await anyio.wait_all_tasks_blocked()
            for name in "cd":
                tg.start_soon(hold, name, done)
                await anyio.wait_all_tasks_blocked()
            gone.cancel()  # b leaves the line before its turn
            await anyio.wait_all_tasks_blocked()
            first_held.set()
        assert order == ["a", "c", "d"]
        # A waiter cancelled after the slot was handed to it hands it on.
        async with limiter:
            handed = anyio.CancelScope()

            async def handed_then_cancelled() -> None:
                with handed:
                    await hold("e", done)

            async with anyio.create_task_group() as tg:
                tg.start_soon(handed_then_cancelled)
                tg.start_soon(hold, "f", done)
                await anyio.wait_all_tasks_blocked()
                handed.cancel()  # e is cancelled, and not yet awake ...
                await limiter.__aexit__(None, None, None)  # ... when it is handed the slot
            await limiter.__aenter__()  # the slot came back: the context's exit gives it up
        assert order == ["a", "c", "d", "f"]
        async with limiter:  # free again
            pass

    anyio.run(main)


def test_a_parsed_message_keeps_the_body_it_came_in() -> None:
    from agentkit.testing import FakeClaude, Reply

    client = agentkit.Client(api_key="k", http_client=FakeClaude([Reply.text("hi")]).http_client())
    message = client.messages.create(
        model="claude-haiku-4-5", max_tokens=10, messages=[{"role": "user", "content": "hey"}]
    )
    assert message.as_received() == message.to_dict()
    message.content.clear()  # a change to the model is not in what was received
    assert message.as_received() != message.to_dict()
    assert Message.model_validate(message.to_dict()).as_received() is None


def test_raw_header_index_is_shared_and_sees_added_headers() -> None:
    # The pacer and the request id read one response's raw pairs through one index (issue 18);
    # a header added to the same object since is seen, other headers are indexed anew.
    from agentkit._exceptions import raw_names, request_id_of

    headers = httpx.Headers([(b"content-type", b"application/json")])
    first = raw_names(headers)
    assert raw_names(headers) is not None and raw_names(headers)[1] is first[1]
    assert request_id_of(headers) is None
    headers["request-id"] = "req_late"
    assert request_id_of(headers) == "req_late"
    other = httpx.Headers([(b"request-id", b"req_other")])
    assert request_id_of(other) == "req_other"
    assert request_id_of(headers) == "req_late"
