"""BedrockClient / AsyncBedrockClient against respx: URLs, bodies, SigV4 (checked with botocore's
own signer, and a fixed-clock known answer computed by hand), API keys, regions, credentials,
streaming through MessageStream, token counting, and what Bedrock does not offer."""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import json
import logging
import re
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from recordings import load
from test_eventstream import bedrock_body, chunk_frame, exception_frame, sse_events

from agentkit import (
    Agent,
    APIConnectionError,
    BadRequestError,
    Client,
    ConfigurationError,
    RateLimitError,
    tool,
)
from agentkit.bedrock import (
    AnthropicAWSClient,
    AsyncAnthropicAWSClient,
    AsyncBedrockClient,
    BedrockClient,
    BedrockMantleClient,
)
from agentkit.client import make_status_error
from agentkit.client._base import RequestSpec
from agentkit.client._messages import message_spec
from agentkit.hosts._bedrock._client import bedrock_error_body, bedrock_invoke
from agentkit.hosts._bedrock._sigv4 import AWSCredentials
from agentkit.runner import RunFinished
from agentkit.testing import sse_events as render_sse

HOST = "bedrock-runtime.us-west-2.amazonaws.com"
KEY_ID = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
TOKEN = "FQoGZXIvYXdzEXAMPLESESSIONTOKEN"
MESSAGE = {
    "id": "msg_bdrk_01",
    "type": "message",
    "role": "assistant",
    "model": "claude-sonnet-4-5-20250929",
    "content": [{"type": "text", "text": "Hello!"}],
    "stop_reason": "end_turn",
    "stop_sequence": None,
    "usage": {"input_tokens": 9, "output_tokens": 3},
}
HELLO = [{"role": "user", "content": "Hello"}]
RECORDED = load("text-stream-basic-ratelimit-headers").sse
_AUTH = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/"
    r"(?P<service>[^/]+)/aws4_request, SignedHeaders=(?P<signed>[^,]+), "
    r"Signature=(?P<signature>[0-9a-f]{64})$"
)


@pytest.fixture(autouse=True)
def _no_ambient_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Tests must not see the machine's AWS setup, nor reach instance metadata.
    for name in (
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_PROFILE",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_BEARER_TOKEN_BEDROCK",
        "ANTHROPIC_BEDROCK_BASE_URL",
        "ANTHROPIC_BEDROCK_MANTLE_BASE_URL",
        "ANTHROPIC_AWS_BASE_URL",
        "ANTHROPIC_AWS_API_KEY",
        "ANTHROPIC_AWS_WORKSPACE_ID",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def client(**kwargs: Any) -> BedrockClient:
    options: dict[str, Any] = {
        "region": "us-west-2",
        "aws_access_key": KEY_ID,
        "aws_secret_key": SECRET,
        "aws_session_token": TOKEN,
        "max_retries": 0,
    }
    options.update(kwargs)
    return BedrockClient(**options)


def verify_sigv4(
    request: httpx.Request,
    *,
    key_id: str = KEY_ID,
    secret: str = SECRET,
    token: str | None = TOKEN,
    region: str = "us-west-2",
    service: str = "bedrock",
) -> str:
    """Check a sent request's signature with botocore's signer, independently of the client.

    The request is rebuilt from what went on the wire (raw path, signed headers, body bytes)
    and signed again at the timestamp it carries; returns the canonical request.
    """
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    match = _AUTH.match(request.headers["authorization"])
    assert match, request.headers["authorization"]
    assert (match["key"], match["region"], match["service"]) == (key_id, region, service)
    signed = match["signed"].split(";")
    # Everything sent is signed except what proxies may rewrite.
    assert set(signed) == set(request.headers) - {"authorization", "user-agent", "connection"}
    url = f"{request.url.scheme}://{request.url.netloc.decode()}{request.url.raw_path.decode()}"
    rebuilt = AWSRequest(
        method=request.method,
        url=url,
        headers={name: request.headers[name] for name in signed},
        data=request.content,
    )
    rebuilt.context["timestamp"] = request.headers["x-amz-date"]
    assert match["date"] == request.headers["x-amz-date"][:8]
    signer = SigV4Auth(Credentials(key_id, secret, token), service, region)
    canonical: str = signer.canonical_request(rebuilt)
    expected = signer.signature(signer.string_to_sign(rebuilt, canonical), rebuilt)
    assert match["signature"] == expected
    if token is not None:
        assert request.headers["x-amz-security-token"] == token
    return canonical


# -- request shape ----------------------------------------------------------------------------


@respx.mock
def test_invoke_url_body_and_headers() -> None:
    route = respx.post(f"https://{HOST}/model/anthropic.claude-sonnet-4-5-20250929-v1%3A0/invoke")
    route.return_value = httpx.Response(200, json=MESSAGE)
    message = client().messages.create(
        model="anthropic.claude-sonnet-4-5-20250929-v1:0",
        max_tokens=64,
        messages=HELLO,
        betas=["context-1m-2025-08-07", "interleaved-thinking-2025-05-14"],
    )
    assert message.content[0].text == "Hello!"  # type: ignore[union-attr]
    request = route.calls.last.request
    assert json.loads(request.content) == {
        "max_tokens": 64,
        "messages": HELLO,
        "anthropic_version": "bedrock-2023-05-31",
        "anthropic_beta": ["context-1m-2025-08-07", "interleaved-thinking-2025-05-14"],
    }
    assert "anthropic-version" not in request.headers
    assert "anthropic-beta" not in request.headers
    assert "x-api-key" not in request.headers
    verify_sigv4(request)


@respx.mock
def test_arn_model_ids_are_escaped_whole() -> None:
    arn = "arn:aws:bedrock:us-west-2:123456789012:inference-profile/us.anthropic.claude-x:0"
    route = respx.post(url__regex=r".*").mock(return_value=httpx.Response(200, json=MESSAGE))
    client().messages.create(model=arn, max_tokens=8, messages=HELLO)
    request = route.calls.last.request
    assert request.url.raw_path == (
        b"/model/arn%3Aaws%3Abedrock%3Aus-west-2%3A123456789012%3Ainference-profile"
        b"%2Fus.anthropic.claude-x%3A0/invoke"
    )
    # AWS re-escapes the escaped path for the canonical request: the signature must agree.
    canonical = verify_sigv4(request)
    assert canonical.splitlines()[1].startswith("/model/arn%253Aaws%253Abedrock")


@respx.mock
def test_pre_encoded_body_and_default_betas_are_reshaped() -> None:
    route = respx.post(url__regex=r".*").mock(return_value=httpx.Response(200, json=MESSAGE))
    bedrock = client(default_headers={"anthropic-beta": "token-efficient-tools-2025-02-19"})
    raw = json.dumps(
        {"model": "anthropic.claude-x", "max_tokens": 8, "messages": HELLO, "stream": False}
    ).encode()
    bedrock.call(message_spec(raw, headers={"Anthropic-Beta": "b2"}))
    request = route.calls.last.request
    assert request.url.path == "/model/anthropic.claude-x/invoke"
    body = json.loads(request.content)
    assert body["anthropic_beta"] == ["token-efficient-tools-2025-02-19", "b2"]
    assert "model" not in body and "stream" not in body
    assert not any(name.lower() == "anthropic-beta" for name in request.headers)
    verify_sigv4(request)


@respx.mock
def test_retry_is_signed_again() -> None:
    route = respx.post(url__regex=r".*").mock(
        side_effect=[
            httpx.Response(503, json={"message": "busy"}, headers={"retry-after-ms": "0"}),
            httpx.Response(200, json=MESSAGE),
        ]
    )
    client(max_retries=1).messages.create(model="anthropic.claude-x", max_tokens=8, messages=HELLO)
    first, second = (call.request for call in route.calls)
    assert first.headers["x-agentkit-retry-count"] == "0"
    assert second.headers["x-agentkit-retry-count"] == "1"
    assert first.headers["authorization"] != second.headers["authorization"]
    verify_sigv4(first)
    verify_sigv4(second)


def test_known_answer_at_a_fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pins the canonical request, and checks the signature with an HMAC chain written here."""
    import botocore.auth

    fixed = datetime.datetime(2026, 1, 2, 3, 4, 5)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: fixed)
    with respx.mock:
        route = respx.post(url__regex=r".*").mock(return_value=httpx.Response(200, json=MESSAGE))
        client(region="us-east-1", aws_session_token=None).messages.create(
            model="anthropic.claude-3-haiku-20240307-v1:0", max_tokens=16, messages=HELLO
        )
    request = route.calls.last.request
    body = (
        b'{"max_tokens":16,"messages":[{"role":"user","content":"Hello"}],'
        b'"anthropic_version":"bedrock-2023-05-31"}'
    )
    assert request.content == body
    canonical = "\n".join(
        [
            "POST",
            "/model/anthropic.claude-3-haiku-20240307-v1%253A0/invoke",
            "",
            "accept:application/json",
            f"content-length:{len(body)}",
            "content-type:application/json",
            "host:bedrock-runtime.us-east-1.amazonaws.com",
            "x-agentkit-retry-count:0",
            "x-amz-date:20260102T030405Z",
            "",
            "accept;content-length;content-type;host;x-agentkit-retry-count;x-amz-date",
            hashlib.sha256(body).hexdigest(),
        ]
    )
    assert verify_sigv4(request, token=None, region="us-east-1") == canonical

    def mac(key: bytes, text: str) -> bytes:
        return hmac.new(key, text.encode(), hashlib.sha256).digest()

    scope = "20260102/us-east-1/bedrock/aws4_request"
    string_to_sign = "\n".join(
        [
            "AWS4-HMAC-SHA256",
            "20260102T030405Z",
            scope,
            hashlib.sha256(canonical.encode()).hexdigest(),
        ]
    )
    key = mac(f"AWS4{SECRET}".encode(), "20260102")
    for part in ("us-east-1", "bedrock", "aws4_request"):
        key = mac(key, part)
    signature = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    assert request.headers["authorization"] == (
        f"AWS4-HMAC-SHA256 Credential={KEY_ID}/{scope}, SignedHeaders="
        f"accept;content-length;content-type;host;x-agentkit-retry-count;x-amz-date, "
        f"Signature={signature}"
    )
    assert request.headers["x-amz-date"] == "20260102T030405Z"


# -- auth and configuration -------------------------------------------------------------------


@respx.mock
def test_bedrock_api_key_is_a_bearer_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-first-party-must-not-leak")
    route = respx.post(url__regex=r".*").mock(return_value=httpx.Response(200, json=MESSAGE))
    BedrockClient(region="eu-west-1", api_key="bedrock-api-key-1").messages.create(
        model="anthropic.claude-x", max_tokens=8, messages=HELLO
    )
    request = route.calls.last.request
    assert request.url.host == "bedrock-runtime.eu-west-1.amazonaws.com"
    assert request.headers["authorization"] == "Bearer bedrock-api-key-1"
    assert "x-amz-date" not in request.headers
    assert "x-api-key" not in request.headers
    assert "sk-ant" not in str(request.headers)

    monkeypatch.setenv("AWS_BEARER_TOKEN_BEDROCK", "from-env")
    BedrockClient(region="eu-west-1").messages.create(
        model="anthropic.claude-x", max_tokens=8, messages=HELLO
    )
    assert route.calls.last.request.headers["authorization"] == "Bearer from-env"


@respx.mock
def test_explicit_keys_beat_the_api_key_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_BEARER_TOKEN_BEDROCK", "from-env")
    route = respx.post(url__regex=r".*").mock(return_value=httpx.Response(200, json=MESSAGE))
    client().messages.create(model="anthropic.claude-x", max_tokens=8, messages=HELLO)
    verify_sigv4(route.calls.last.request)


def test_conflicting_credentials_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="not both"):
        BedrockClient(region="us-east-1", api_key="k", aws_profile="p")
    with pytest.raises(ConfigurationError, match="both aws_access_key and aws_secret_key"):
        BedrockClient(region="us-east-1", aws_access_key=KEY_ID)


def test_region_from_argument_environment_or_default(monkeypatch: pytest.MonkeyPatch) -> None:
    assert BedrockClient(region="ap-south-1", api_key="k").region == "ap-south-1"
    monkeypatch.setenv("AWS_REGION", "eu-central-1")
    bedrock = BedrockClient(api_key="k")
    assert bedrock.base_url == "https://bedrock-runtime.eu-central-1.amazonaws.com"
    monkeypatch.delenv("AWS_REGION")
    with pytest.warns(UserWarning, match="no AWS region given.*us-east-1"):
        assert BedrockClient(api_key="k").region == "us-east-1"


@respx.mock
def test_standard_chain_credentials_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDFROMENV")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "env-secret")
    route = respx.post(url__regex=r".*").mock(return_value=httpx.Response(200, json=MESSAGE))
    BedrockClient(region="us-west-2").messages.create(
        model="anthropic.claude-x", max_tokens=8, messages=HELLO
    )
    verify_sigv4(route.calls.last.request, key_id="AKIDFROMENV", secret="env-secret", token=None)


@respx.mock
def test_profile_credentials_and_region(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "credentials").write_text(
        "[work]\naws_access_key_id = AKIDPROFILE\naws_secret_access_key = profile-secret\n"
    )
    (tmp_path / "config").write_text("[profile work]\nregion = ca-central-1\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    route = respx.post(url__regex=r".*").mock(return_value=httpx.Response(200, json=MESSAGE))
    bedrock = BedrockClient(aws_profile="work")
    assert bedrock.region == "ca-central-1"
    bedrock.messages.create(model="anthropic.claude-x", max_tokens=8, messages=HELLO)
    request = route.calls.last.request
    assert request.url.host == "bedrock-runtime.ca-central-1.amazonaws.com"
    verify_sigv4(
        request, key_id="AKIDPROFILE", secret="profile-secret", token=None, region="ca-central-1"
    )


def test_missing_profile_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="nope"):
        BedrockClient(aws_profile="nope")


@respx.mock
def test_no_credentials_anywhere_is_a_clear_error() -> None:
    route = respx.post(url__regex=r".*").mock(return_value=httpx.Response(200, json=MESSAGE))
    bedrock = BedrockClient(region="us-west-2")
    with pytest.raises(ConfigurationError, match="no AWS credentials found"):
        bedrock.messages.create(model="anthropic.claude-x", max_tokens=8, messages=HELLO)
    assert not route.called


@pytest.mark.anyio
async def test_async_refresh_runs_off_the_event_loop() -> None:
    loop_thread = threading.get_ident()
    seen: list[int] = []

    class Expiring:
        def refresh_needed(self) -> bool:
            return True

        def get_frozen_credentials(self) -> Any:
            from botocore.credentials import ReadOnlyCredentials

            seen.append(threading.get_ident())
            return ReadOnlyCredentials(KEY_ID, SECRET, None)

    credentials = AWSCredentials(access_key=KEY_ID, secret_key=SECRET)
    credentials._credentials = Expiring()
    frozen = await credentials.afrozen()
    assert frozen.access_key == KEY_ID
    assert seen and seen[0] != loop_thread


def test_failed_refresh_is_a_retryable_connection_error() -> None:
    class Broken:
        def get_frozen_credentials(self) -> Any:
            raise OSError("sts unreachable")

    credentials = AWSCredentials(access_key=KEY_ID, secret_key=SECRET)
    credentials._credentials = Broken()
    with pytest.raises(APIConnectionError, match="could not refresh AWS credentials"):
        credentials.frozen()


def test_secrets_stay_out_of_reprs_and_logs(caplog: pytest.LogCaptureFixture) -> None:
    bedrock = client()
    assert SECRET not in repr(bedrock) and TOKEN not in repr(bedrock)
    assert "sigv4" in repr(bedrock)
    assert "bedrock-api-key" not in repr(
        BedrockClient(region="us-east-1", api_key="bedrock-api-key")
    )
    caplog.set_level(logging.DEBUG, logger="agentkit")
    with respx.mock:
        respx.post(url__regex=r".*").mock(
            return_value=httpx.Response(400, json={"message": "bad model"})
        )
        with pytest.raises(BadRequestError) as caught:
            bedrock.messages.create(model="anthropic.claude-x", max_tokens=8, messages=HELLO)
    for text in (caplog.text, str(caught.value), repr(caught.value.body)):
        assert SECRET not in text and TOKEN not in text


# -- streaming --------------------------------------------------------------------------------


def _first_party_final() -> dict[str, Any]:
    """The final message the first-party client builds from the same content over SSE."""

    def serve(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/v1/messages"
        return httpx.Response(200, content=RECORDED, headers={"content-type": "text/event-stream"})

    http = httpx.Client(transport=httpx.MockTransport(serve))
    with Client(api_key="sk-test", http_client=http).messages.stream(
        model="claude-sonnet-4-5", max_tokens=64, messages=HELLO
    ) as stream:
        return stream.get_final_message().to_dict()


def _stream_route() -> respx.Route:
    return respx.post(f"https://{HOST}/model/anthropic.claude-x/invoke-with-response-stream").mock(
        return_value=httpx.Response(
            200,
            content=bedrock_body(RECORDED),
            headers={"content-type": "application/vnd.amazon.eventstream"},
        )
    )


@respx.mock
def test_stream_gives_the_same_message_as_first_party_sse() -> None:
    route = _stream_route()
    with client().messages.stream(
        model="anthropic.claude-x", max_tokens=64, messages=HELLO
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert final.to_dict() == _first_party_final()
    assert text == final.text
    request = route.calls.last.request
    assert "stream" not in json.loads(request.content)
    verify_sigv4(request)


@respx.mock
def test_create_stream_true_gives_raw_events() -> None:
    _stream_route()
    events = list(
        client().messages.create(
            model="anthropic.claude-x", max_tokens=64, messages=HELLO, stream=True
        )
    )
    assert events[0].type == "message_start" and events[-1].type == "message_stop"


@respx.mock
def test_mid_stream_throttling_is_a_rate_limit_error() -> None:
    events = sse_events(RECORDED)
    body = b"".join(chunk_frame(e.raw) for e in events[:3])
    respx.post(url__regex=r".*invoke-with-response-stream").mock(
        return_value=httpx.Response(
            200, content=body + exception_frame("throttlingException", {"message": "slow down"})
        )
    )
    bedrock = client()
    with bedrock.messages.stream(model="anthropic.claude-x", max_tokens=8, messages=HELLO) as s:
        with pytest.raises(RateLimitError, match="slow down") as caught:
            s.get_final_message()
    assert caught.value.partial_message is not None


@pytest.mark.anyio
async def test_async_client_streams_and_signs() -> None:
    with respx.mock:
        route = _stream_route()
        bedrock = AsyncBedrockClient(
            region="us-west-2",
            aws_access_key=KEY_ID,
            aws_secret_key=SECRET,
            aws_session_token=TOKEN,
        )
        async with bedrock.messages.stream(
            model="anthropic.claude-x", max_tokens=64, messages=HELLO
        ) as stream:
            final = await stream.get_final_message()
        await bedrock.close()
    assert final.to_dict() == _first_party_final()
    verify_sigv4(route.calls.last.request)


# -- count tokens and what Bedrock does not offer ---------------------------------------------


@respx.mock
def test_count_tokens_uses_the_count_tokens_operation() -> None:
    route = respx.post(
        f"https://{HOST}/model/anthropic.claude-sonnet-4-5-20250929-v1%3A0/count-tokens"
    ).mock(return_value=httpx.Response(200, json={"inputTokens": 12}))
    count = client().messages.count_tokens(
        model="us.anthropic.claude-sonnet-4-5-20250929-v1:0",  # a profile id: reduced
        messages=HELLO,
        system="Be brief.",
        betas=["b1"],
    )
    assert count.input_tokens == 12
    request = route.calls.last.request
    wrapper = json.loads(request.content)
    invoke = json.loads(base64.b64decode(wrapper["input"]["invokeModel"]["body"]))
    assert invoke == {
        "messages": HELLO,
        "system": "Be brief.",
        "anthropic_version": "bedrock-2023-05-31",
        "anthropic_beta": ["b1"],
        "max_tokens": 1,
    }
    verify_sigv4(request)


@pytest.mark.anyio
async def test_async_count_tokens() -> None:
    with respx.mock:
        respx.post(url__regex=r".*/count-tokens").mock(
            return_value=httpx.Response(200, json={"inputTokens": 5})
        )
        bedrock = AsyncBedrockClient(region="us-west-2", api_key="k")
        count = await bedrock.messages.count_tokens(model="anthropic.claude-x", messages=HELLO)
        await bedrock.close()
    assert count.input_tokens == 5


def test_what_bedrock_does_not_offer_is_a_clear_error() -> None:
    bedrock = client()
    with pytest.raises(ConfigurationError, match="Bedrock does not offer the models API"):
        bedrock.models.list()
    with pytest.raises(ConfigurationError, match="files"):
        _ = bedrock.files
    with pytest.raises(ConfigurationError, match="message batches"):
        _ = bedrock.messages.batches


@respx.mock
def test_with_options_keeps_bedrock_behaviour() -> None:
    route = respx.post(url__regex=r".*").mock(return_value=httpx.Response(200, json=MESSAGE))
    copy = client().with_options(timeout=30.0)
    assert isinstance(copy, BedrockClient)
    copy.messages.create(model="anthropic.claude-x", max_tokens=8, messages=HELLO)
    request = route.calls.last.request
    assert request.url.path == "/model/anthropic.claude-x/invoke"
    verify_sigv4(request)


# -- Bedrock Mantle and Claude Platform on AWS (first-party wire format, AWS auth) -------------


@respx.mock
def test_mantle_speaks_first_party_with_its_own_signing_name() -> None:
    route = respx.post("https://bedrock-mantle.us-west-2.api.aws/anthropic/v1/messages").mock(
        return_value=httpx.Response(
            200, content=RECORDED, headers={"content-type": "text/event-stream"}
        )
    )
    mantle = BedrockMantleClient(
        region="us-west-2", aws_access_key=KEY_ID, aws_secret_key=SECRET, aws_session_token=TOKEN
    )
    with mantle.messages.stream(model="claude-sonnet-4-5", max_tokens=64, messages=HELLO) as s:
        final = s.get_final_message()
    assert final.to_dict() == _first_party_final()
    request = route.calls.last.request
    assert request.headers["anthropic-version"] == "2023-06-01"
    assert json.loads(request.content)["model"] == "claude-sonnet-4-5"
    verify_sigv4(request, service="bedrock-mantle")
    with pytest.raises(ConfigurationError, match="Mantle does not offer the models API"):
        mantle.models.list()
    with pytest.raises(ConfigurationError, match="Mantle does not offer the files API"):
        _ = mantle.files
    with pytest.raises(ConfigurationError, match="Mantle does not offer the message batches"):
        _ = mantle.messages.batches


@respx.mock
def test_mantle_api_key_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_AWS_API_KEY", "mantle-key")
    route = respx.post(url__regex=r".*").mock(return_value=httpx.Response(200, json=MESSAGE))
    BedrockMantleClient(region="eu-west-1").messages.create(
        model="claude-sonnet-4-5", max_tokens=8, messages=HELLO
    )
    request = route.calls.last.request
    assert request.url.host == "bedrock-mantle.eu-west-1.api.aws"
    assert request.headers["authorization"] == "Bearer mantle-key"


@pytest.mark.anyio
async def test_claude_platform_on_aws_signs_and_names_the_workspace() -> None:
    with respx.mock:
        route = respx.post("https://aws-external-anthropic.us-west-2.api.aws/v1/messages").mock(
            return_value=httpx.Response(200, json=MESSAGE)
        )
        platform = AsyncAnthropicAWSClient(
            workspace_id="wrkspc_01",
            region="us-west-2",
            aws_access_key=KEY_ID,
            aws_secret_key=SECRET,
            aws_session_token=TOKEN,
        )
        await platform.messages.create(model="claude-sonnet-4-5", max_tokens=8, messages=HELLO)
        await platform.close()
    request = route.calls.last.request
    assert request.headers["anthropic-workspace-id"] == "wrkspc_01"
    verify_sigv4(request, service="aws-external-anthropic")


@respx.mock
def test_claude_platform_on_aws_api_key_and_workspace_required(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(ConfigurationError, match="needs a workspace"):
        AnthropicAWSClient(region="us-west-2", api_key="k")
    monkeypatch.setenv("ANTHROPIC_AWS_WORKSPACE_ID", "wrkspc_env")
    route = respx.post(url__regex=r".*").mock(return_value=httpx.Response(200, json=MESSAGE))
    AnthropicAWSClient(region="us-west-2", api_key="platform-key").messages.create(
        model="claude-sonnet-4-5", max_tokens=8, messages=HELLO
    )
    request = route.calls.last.request
    assert request.headers["x-api-key"] == "platform-key"
    assert request.headers["anthropic-workspace-id"] == "wrkspc_env"
    assert "authorization" not in request.headers


def test_invoke_reshaping_is_pure_and_merges_betas() -> None:
    spec = RequestSpec(
        "POST",
        "/v1/messages",
        body={"model": "m", "max_tokens": 1, "messages": HELLO, "anthropic_beta": ["b0"]},
        headers={"anthropic-beta": "b1,b0", "x-extra": "1"},
        stream=True,
    )
    out = bedrock_invoke(spec, {"anthropic-beta": "default-beta"})
    assert out.path == "/model/m/invoke-with-response-stream"
    assert out.body["anthropic_beta"] == ["b0", "default-beta", "b1"]
    assert out.headers == {"x-extra": "1"}
    assert spec.body["model"] == "m"  # the caller's body is untouched
    removed = bedrock_invoke(
        RequestSpec("POST", "/v1/messages", body={"model": "m"}, headers={"anthropic-beta": None}),
        {"anthropic-beta": "default-beta"},
    )
    assert "anthropic_beta" not in removed.body
    assert removed.path == "/model/m/invoke"


# -- the agent's tool loop, unchanged, on Bedrock ---------------------------------------------


@tool
def add(a: int, b: int) -> int:
    """Add two numbers.

    Args:
        a: The first number.
        b: The second number.
    """
    return a + b


def _bedrock_fake(seen: list[str]) -> Any:
    """A Bedrock-shaped fake: checks the invoke shape and the signature, answers a tool call,
    then the final text; JSON for `invoke`, event-stream frames for the streaming action."""

    def handle(request: httpx.Request) -> httpx.Response:
        match = re.fullmatch(
            r"/model/([^/]+)/(invoke|invoke-with-response-stream)", request.url.raw_path.decode()
        )
        assert match, request.url
        verify_sigv4(request)
        body = json.loads(request.content)
        assert "model" not in body and "stream" not in body
        assert body["anthropic_version"] == "bedrock-2023-05-31"
        seen.append(match[2])
        results = [
            block
            for message in body["messages"]
            if message["role"] == "user" and isinstance(message["content"], list)
            for block in message["content"]
            if block.get("type") == "tool_result"
        ]
        if not results:
            content: list[dict[str, Any]] = [
                {"type": "tool_use", "id": "toolu_01", "name": "add", "input": {"a": 2, "b": 3}}
            ]
            stop = "tool_use"
        else:
            assert results[0]["tool_use_id"] == "toolu_01" and "5" in json.dumps(results[0])
            content, stop = [{"type": "text", "text": "The sum is 5."}], "end_turn"
        message = {**MESSAGE, "content": content, "stop_reason": stop}
        if match[2] == "invoke":
            return httpx.Response(200, json=message)
        return httpx.Response(200, content=bedrock_body(b"".join(render_sse(message))))

    return handle


@respx.mock
def test_agent_tool_loop_runs_unchanged_on_bedrock() -> None:
    seen: list[str] = []
    respx.route(host=HOST).mock(side_effect=_bedrock_fake(seen))
    agent: Agent[Any, Any] = Agent("anthropic.claude-x", tools=[add], client=client())
    result = agent.run("What is 2 + 3?")
    assert result.message is not None and result.message.text == "The sum is 5."
    assert result.turns == 2 and seen == ["invoke", "invoke"]
    events = list(agent.stream("And again?"))
    assert isinstance(events[-1], RunFinished)
    assert events[-1].result.message.text == "The sum is 5."  # type: ignore[union-attr]
    assert seen[2:] == ["invoke-with-response-stream"] * 2


@pytest.mark.anyio
async def test_agent_tool_loop_runs_unchanged_on_async_bedrock() -> None:
    seen: list[str] = []
    with respx.mock:
        respx.route(host=HOST).mock(side_effect=_bedrock_fake(seen))
        bedrock = AsyncBedrockClient(
            region="us-west-2",
            aws_access_key=KEY_ID,
            aws_secret_key=SECRET,
            aws_session_token=TOKEN,
        )
        agent: Agent[Any, Any] = Agent("anthropic.claude-x", tools=[add], client=bedrock)
        events = [event async for event in agent.astream("What is 2 + 3?")]
        await bedrock.close()
    assert isinstance(events[-1], RunFinished)
    assert events[-1].result.message.text == "The sum is 5."  # type: ignore[union-attr]
    assert seen == ["invoke-with-response-stream"] * 2


def test_region_follows_aws_profile_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "config").write_text("[profile envprof]\nregion = sa-east-1\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_PROFILE", "envprof")
    assert BedrockClient(api_key="k").region == "sa-east-1"


def test_aws_error_bodies_take_the_api_shape() -> None:
    throttled = httpx.Response(
        429,
        json={"message": "Too many tokens, please wait."},
        headers={"x-amzn-ErrorType": "ThrottlingException:http://internal.amazon.com/coral/"},
    )
    body = bedrock_error_body(throttled, throttled.json())
    assert body == {
        "type": "error",
        "error": {
            "type": "rate_limit_error",
            "message": "Too many tokens, please wait.",
            "bedrock_exception": "ThrottlingException",
        },
    }
    error = make_status_error(throttled, body)
    assert isinstance(error, RateLimitError) and "Too many tokens" in str(error)
    plain = httpx.Response(503, json={"Message": "busy"})
    assert bedrock_error_body(plain, plain.json())["error"] == {
        "type": "overloaded_error",
        "message": "busy",
    }
    api_shaped = {"type": "error", "error": {"type": "invalid_request_error", "message": "x"}}
    assert bedrock_error_body(plain, api_shaped) is api_shaped
    assert bedrock_error_body(plain, "not json") == "not json"


@respx.mock
def test_bedrock_http_errors_are_typed_and_readable() -> None:
    respx.post(f"https://{HOST}/model/anthropic.claude-x/invoke").mock(
        return_value=httpx.Response(
            400,
            json={"message": "messages: field required"},
            headers={
                "x-amzn-ErrorType": "ValidationException:http://internal.amazon.com/coral/",
                "x-amzn-RequestId": "aws-req-1",
            },
        )
    )
    with pytest.raises(BadRequestError) as info:
        client().messages.create(model="anthropic.claude-x", max_tokens=8, messages=[])
    assert "messages: field required" in str(info.value)
    assert info.value.request_id == "aws-req-1"
