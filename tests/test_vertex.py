"""VertexClient / AsyncVertexClient against respx: base URLs, rawPredict / streamRawPredict paths,
bodies and headers, count tokens, and tokens (fixed, provider, google-auth refresh and expiry,
off the event loop). No test touches the network: google-auth's own refresh runs against a
respx-mocked token endpoint."""

from __future__ import annotations

import datetime
import json
import logging
import re
import threading
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import httpx
import pytest
import respx
from recordings import load

from agentkit import Agent, Client, ConfigurationError, tool
from agentkit.client._messages import message_spec
from agentkit.runner import RunFinished
from agentkit.testing import sse_events as render_sse
from agentkit.vertex import AsyncVertexClient, GoogleToken, VertexClient, vertex_base_url

MESSAGE = {
    "id": "msg_vrtx_01",
    "type": "message",
    "role": "assistant",
    "model": "claude-sonnet-4-5@20250929",
    "content": [{"type": "text", "text": "Hello!"}],
    "stop_reason": "end_turn",
    "stop_sequence": None,
    "usage": {"input_tokens": 9, "output_tokens": 3},
}
HELLO = [{"role": "user", "content": "Hello"}]
MODEL = "claude-sonnet-4-5@20250929"
BASE = "https://us-east5-aiplatform.googleapis.com/v1/projects/proj-1/locations/us-east5"
MODELS = f"{BASE}/publishers/anthropic/models"
RECORDED = load("text-stream-basic-ratelimit-headers").sse


@pytest.fixture(autouse=True)
def _no_ambient_google(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in (
        "CLOUD_ML_REGION",
        "ANTHROPIC_VERTEX_PROJECT_ID",
        "ANTHROPIC_VERTEX_BASE_URL",
        "GOOGLE_CLOUD_PROJECT",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "none.json"))
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "gcloud"))
    monkeypatch.setenv("NO_GCE_CHECK", "True")


def vertex(**kwargs: Any) -> VertexClient:
    options: dict[str, Any] = {
        "region": "us-east5",
        "project_id": "proj-1",
        "access_token": "ya29.fixed",
        "max_retries": 0,
    }
    options.update(kwargs)
    return VertexClient(**options)


def test_base_urls() -> None:
    assert vertex_base_url("global") == "https://aiplatform.googleapis.com/v1"
    assert vertex_base_url("us") == "https://aiplatform.us.rep.googleapis.com/v1"
    assert vertex_base_url("eu") == "https://aiplatform.eu.rep.googleapis.com/v1"
    assert vertex_base_url("europe-west1") == "https://europe-west1-aiplatform.googleapis.com/v1"
    assert vertex(region="global").base_url == "https://aiplatform.googleapis.com/v1"


@respx.mock
def test_raw_predict_url_body_and_headers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-first-party-must-not-leak")
    route = respx.post(f"{MODELS}/{MODEL}:rawPredict").mock(
        return_value=httpx.Response(200, json=MESSAGE)
    )
    message = vertex().messages.create(
        model=MODEL, max_tokens=32, messages=HELLO, betas=["context-1m-2025-08-07"]
    )
    assert message.id == "msg_vrtx_01"
    request = route.calls.last.request
    assert json.loads(request.content) == {
        "max_tokens": 32,
        "messages": HELLO,
        "anthropic_version": "vertex-2023-10-16",
    }
    assert request.headers["authorization"] == "Bearer ya29.fixed"
    assert request.headers["anthropic-beta"] == "context-1m-2025-08-07"
    assert "anthropic-version" not in request.headers
    assert "x-api-key" not in request.headers


@respx.mock
def test_multi_region_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLOUD_ML_REGION", "eu")
    monkeypatch.setenv("ANTHROPIC_VERTEX_PROJECT_ID", "proj-env")
    route = respx.post(url__regex=r".*").mock(return_value=httpx.Response(200, json=MESSAGE))
    VertexClient(access_token="t").messages.create(model=MODEL, max_tokens=8, messages=HELLO)
    assert str(route.calls.last.request.url) == (
        "https://aiplatform.eu.rep.googleapis.com/v1/projects/proj-env/locations/eu/"
        f"publishers/anthropic/models/{MODEL}:rawPredict"
    )


@respx.mock
def test_pre_encoded_body() -> None:
    route = respx.post(url__regex=r".*").mock(return_value=httpx.Response(200, json=MESSAGE))
    client = vertex()
    raw = json.dumps({"model": MODEL, "max_tokens": 8, "messages": HELLO}).encode()
    client.call(message_spec(raw))
    request = route.calls.last.request
    assert request.url.path.endswith(f"/models/{MODEL}:rawPredict")
    assert json.loads(request.content)["anthropic_version"] == "vertex-2023-10-16"
    assert "model" not in json.loads(request.content)


@respx.mock
def test_count_tokens_keeps_the_model_in_the_body() -> None:
    route = respx.post(f"{MODELS}/count-tokens:rawPredict").mock(
        return_value=httpx.Response(200, json={"input_tokens": 14})
    )
    assert vertex().messages.count_tokens(model=MODEL, messages=HELLO).input_tokens == 14
    assert json.loads(route.calls.last.request.content) == {
        "model": MODEL,
        "messages": HELLO,
        "anthropic_version": "vertex-2023-10-16",
    }


def _first_party_final() -> dict[str, Any]:
    def serve(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=RECORDED, headers={"content-type": "text/event-stream"})

    http = httpx.Client(transport=httpx.MockTransport(serve))
    with Client(api_key="sk-test", http_client=http).messages.stream(
        model="claude-sonnet-4-5", max_tokens=64, messages=HELLO
    ) as stream:
        return stream.get_final_message().to_dict()


@respx.mock
def test_stream_raw_predict_gives_the_same_message_as_first_party() -> None:
    route = respx.post(f"{MODELS}/{MODEL}:streamRawPredict").mock(
        return_value=httpx.Response(
            200, content=RECORDED, headers={"content-type": "text/event-stream"}
        )
    )
    with vertex().messages.stream(model=MODEL, max_tokens=64, messages=HELLO) as stream:
        final = stream.get_final_message()
    assert final.to_dict() == _first_party_final()
    assert json.loads(route.calls.last.request.content)["stream"] is True


# -- tokens -----------------------------------------------------------------------------------


@respx.mock
def test_retry_asks_the_provider_again() -> None:
    calls: list[str] = []

    def provider() -> str:
        calls.append("x")
        return f"tok-{len(calls)}"

    route = respx.post(url__regex=r".*").mock(
        side_effect=[
            httpx.Response(503, json={}, headers={"retry-after-ms": "0"}),
            httpx.Response(200, json=MESSAGE),
        ]
    )
    vertex(access_token=None, token_provider=provider, max_retries=1).messages.create(
        model=MODEL, max_tokens=8, messages=HELLO
    )
    assert [c.request.headers["authorization"] for c in route.calls] == [
        "Bearer tok-1",
        "Bearer tok-2",
    ]


def test_bad_providers_are_clear_errors() -> None:
    async def async_provider() -> str:
        return "t"

    with respx.mock:
        respx.post(url__regex=r".*").mock(return_value=httpx.Response(200, json=MESSAGE))
        client = vertex(access_token=None, token_provider=async_provider)
        with pytest.raises(ConfigurationError, match="use the async client"):
            client.messages.create(model=MODEL, max_tokens=8, messages=HELLO)
        leaky = vertex(access_token=None, token_provider=lambda: b"secret-bytes")
        with pytest.raises(ConfigurationError, match="not bytes") as caught:
            leaky.messages.create(model=MODEL, max_tokens=8, messages=HELLO)
        assert "secret-bytes" not in str(caught.value)


@pytest.mark.anyio
async def test_async_provider_with_the_async_client() -> None:
    async def provider() -> str:
        await anyio.lowlevel.checkpoint()
        return "async-token"

    with respx.mock:
        route = respx.post(url__regex=r".*").mock(return_value=httpx.Response(200, json=MESSAGE))
        client = AsyncVertexClient(region="us-east5", project_id="proj-1", token_provider=provider)
        await client.messages.create(model=MODEL, max_tokens=8, messages=HELLO)
        await client.close()
    assert route.calls.last.request.headers["authorization"] == "Bearer async-token"


def _google_credentials(expiry_in: datetime.timedelta | None, log: list[int]) -> Any:
    pytest.importorskip("google.auth", reason="the vertex extra (google-auth) is not installed")
    from google.auth import _helpers, credentials

    class Fake(credentials.Credentials):
        def refresh(self, request: Any) -> None:
            log.append(threading.get_ident())
            self.token = f"ya29.refreshed-{len(log)}"
            self.expiry = _helpers.utcnow() + datetime.timedelta(hours=1)

    fake = Fake()
    if expiry_in is not None:
        fake.token = "ya29.current"
        fake.expiry = _helpers.utcnow() + expiry_in
    return fake


@respx.mock
def test_google_token_is_reused_while_fresh_and_refreshed_before_expiry() -> None:
    route = respx.post(url__regex=r".*").mock(return_value=httpx.Response(200, json=MESSAGE))
    refreshes: list[int] = []
    creds = _google_credentials(datetime.timedelta(minutes=30), refreshes)
    client = vertex(access_token=None, credentials=creds)
    client.messages.create(model=MODEL, max_tokens=8, messages=HELLO)
    assert route.calls.last.request.headers["authorization"] == "Bearer ya29.current"
    assert refreshes == []
    # One minute left: inside google-auth's refresh margin, so refreshed before it expires.
    from google.auth import _helpers

    creds.expiry = _helpers.utcnow() + datetime.timedelta(minutes=1)
    client.messages.create(model=MODEL, max_tokens=8, messages=HELLO)
    assert route.calls.last.request.headers["authorization"] == "Bearer ya29.refreshed-1"
    client.messages.create(model=MODEL, max_tokens=8, messages=HELLO)
    assert len(refreshes) == 1
    # Expired outright: refreshed again.
    creds.expiry = _helpers.utcnow() - datetime.timedelta(seconds=1)
    client.messages.create(model=MODEL, max_tokens=8, messages=HELLO)
    assert route.calls.last.request.headers["authorization"] == "Bearer ya29.refreshed-2"


@pytest.mark.anyio
async def test_async_refresh_runs_in_a_worker_thread_once_for_concurrent_requests() -> None:
    refreshes: list[int] = []
    creds = _google_credentials(None, refreshes)  # no token yet
    loop_thread = threading.get_ident()
    with respx.mock:
        route = respx.post(url__regex=r".*").mock(return_value=httpx.Response(200, json=MESSAGE))
        client = AsyncVertexClient(region="us-east5", project_id="proj-1", credentials=creds)
        async with anyio.create_task_group() as group:
            for _ in range(8):
                group.start_soon(
                    lambda: client.messages.create(model=MODEL, max_tokens=8, messages=HELLO)
                )
        await client.close()
    assert len(refreshes) == 1
    assert refreshes[0] != loop_thread
    assert {c.request.headers["authorization"] for c in route.calls} == {"Bearer ya29.refreshed-1"}


def _authorized_user_file(tmp_path: Path) -> Path:
    path = tmp_path / "adc.json"
    path.write_text(
        json.dumps(
            {
                "type": "authorized_user",
                "client_id": "client-id.apps.googleusercontent.com",
                "client_secret": "client-secret-value",
                "refresh_token": "refresh-token-value",
            }
        )
    )
    return path


@respx.mock
def test_application_default_credentials_refresh_through_google_auth(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("google.auth", reason="the vertex extra (google-auth) is not installed")
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(_authorized_user_file(tmp_path)))
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "proj-adc")
    token_route = respx.post("https://oauth2.googleapis.com/token").mock(
        side_effect=[
            httpx.Response(200, json={"access_token": "ya29.adc-1", "expires_in": 3600}),
            httpx.Response(200, json={"access_token": "ya29.adc-2", "expires_in": 3600}),
        ]
    )
    route = respx.post(url__regex=r".*aiplatform.*").mock(
        return_value=httpx.Response(200, json=MESSAGE)
    )
    client = VertexClient(region="global", max_retries=0)
    assert client.project_id == "proj-adc"
    client.messages.create(model=MODEL, max_tokens=8, messages=HELLO)
    client.messages.create(model=MODEL, max_tokens=8, messages=HELLO)
    assert token_route.call_count == 1
    form = token_route.calls.last.request.content.decode()
    assert "grant_type=refresh_token" in form and "refresh-token-value" in form
    assert str(route.calls.last.request.url).startswith(
        "https://aiplatform.googleapis.com/v1/projects/proj-adc/locations/global/"
    )
    assert route.calls.last.request.headers["authorization"] == "Bearer ya29.adc-1"
    # The token expires: the next request refreshes first.
    source = client._bearer.source
    assert isinstance(source, GoogleToken)
    source.credentials.expiry = datetime.datetime(2000, 1, 1)
    client.messages.create(model=MODEL, max_tokens=8, messages=HELLO)
    assert token_route.call_count == 2
    assert route.calls.last.request.headers["authorization"] == "Bearer ya29.adc-2"


@respx.mock
def test_refused_refresh_is_a_configuration_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("google.auth", reason="the vertex extra (google-auth) is not installed")
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(_authorized_user_file(tmp_path)))
    respx.post("https://oauth2.googleapis.com/token").mock(
        return_value=httpx.Response(
            400, json={"error": "invalid_grant", "error_description": "Token has been revoked."}
        )
    )
    route = respx.post(url__regex=r".*aiplatform.*").mock(
        return_value=httpx.Response(200, json=MESSAGE)
    )
    client = VertexClient(region="global", project_id="p", max_retries=0)
    with pytest.raises(ConfigurationError, match="refused") as caught:
        client.messages.create(model=MODEL, max_tokens=8, messages=HELLO)
    assert "refresh-token-value" not in str(caught.value)
    assert "client-secret-value" not in str(caught.value)
    assert not route.called


# -- configuration errors and unsupported resources -------------------------------------------


def test_configuration_errors() -> None:
    with pytest.raises(ConfigurationError, match="needs a region"):
        VertexClient(project_id="p", access_token="t")
    with pytest.raises(ConfigurationError, match="needs a project"):
        VertexClient(region="us-east5", access_token="t")
    with pytest.raises(ConfigurationError, match="not access_token and token_provider"):
        VertexClient(region="us-east5", project_id="p", access_token="t", token_provider=str)


def test_no_adc_is_a_clear_error() -> None:
    pytest.importorskip("google.auth", reason="the vertex extra (google-auth) is not installed")
    with pytest.raises(ConfigurationError, match="no Google credentials"):
        VertexClient(region="us-east5")


def test_unsupported_resources() -> None:
    client = vertex()
    with pytest.raises(ConfigurationError, match="Vertex AI does not offer the models API"):
        client.models.list()
    with pytest.raises(ConfigurationError, match="files"):
        _ = client.files
    with pytest.raises(ConfigurationError, match="batches"):
        _ = client.messages.batches


def test_secrets_stay_out_of_reprs_and_logs(caplog: pytest.LogCaptureFixture) -> None:
    client = vertex(access_token="ya29.secret-token")
    assert "ya29" not in repr(client)
    caplog.set_level(logging.DEBUG, logger="agentkit")
    with respx.mock:
        respx.post(url__regex=r".*").mock(return_value=httpx.Response(200, json=MESSAGE))
        client.messages.create(model=MODEL, max_tokens=8, messages=HELLO)
    assert "ya29.secret-token" not in caplog.text


# -- the agent's tool loop, unchanged, on Vertex AI -------------------------------------------


@tool
def add(a: int, b: int) -> int:
    """Add two numbers.

    Args:
        a: The first number.
        b: The second number.
    """
    return a + b


def _vertex_fake(seen: list[str]) -> Any:
    def handle(request: httpx.Request) -> httpx.Response:
        match = re.fullmatch(
            r"/v1/projects/proj-1/locations/us-east5/publishers/anthropic/models/"
            r"([^/:]+):(rawPredict|streamRawPredict)",
            request.url.path,
        )
        assert match, request.url
        assert request.headers["authorization"] == "Bearer ya29.fixed"
        body = json.loads(request.content)
        assert "model" not in body and body["anthropic_version"] == "vertex-2023-10-16"
        seen.append(match[2])
        done = any(
            block.get("type") == "tool_result"
            for message in body["messages"]
            if isinstance(message["content"], list)
            for block in message["content"]
        )
        content: list[dict[str, Any]] = (
            [{"type": "text", "text": "The sum is 5."}]
            if done
            else [{"type": "tool_use", "id": "toolu_01", "name": "add", "input": {"a": 2, "b": 3}}]
        )
        message = {**MESSAGE, "content": content, "stop_reason": "end_turn" if done else "tool_use"}
        if match[2] == "rawPredict":
            return httpx.Response(200, json=message)
        return httpx.Response(
            200,
            content=b"".join(render_sse(message)),
            headers={"content-type": "text/event-stream"},
        )

    return handle


@respx.mock
def test_agent_tool_loop_runs_unchanged_on_vertex() -> None:
    seen: list[str] = []
    respx.route(host="us-east5-aiplatform.googleapis.com").mock(side_effect=_vertex_fake(seen))
    agent: Agent[Any, Any] = Agent(MODEL, tools=[add], client=vertex())
    result = agent.run("What is 2 + 3?")
    assert result.message is not None and result.message.text == "The sum is 5."
    events = list(agent.stream("Again?"))
    assert isinstance(events[-1], RunFinished)
    assert seen == ["rawPredict", "rawPredict", "streamRawPredict", "streamRawPredict"]
