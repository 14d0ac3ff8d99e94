"""Credentials stay with their origin: agentkit follows no redirect, so a 307 from a gateway
never hands the API key, a bearer token, a Foundry key or an AWS signature to the host it names.

Two real loopback HTTP servers: the first redirects every request to the second, which records
what reaches it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import httpx
import pytest
from _loopback import Request, serve

from agentkit import APIStatusError, AsyncClient, Client
from agentkit.bedrock import BedrockClient
from agentkit.foundry import FoundryClient

API_KEY = "sk-ant-redirect-test-KEY-7f3a"
BEARER = "bearer-redirect-test-TOKEN-91c2"
FOUNDRY_KEY = "foundry-redirect-test-KEY-44d0"
AWS_ACCESS = "AKIAREDIRECTTEST0001"
AWS_SECRET = "aws-redirect-test-SECRET-5e6f"
AWS_SESSION = "aws-redirect-test-SESSION-TOKEN-8b9c"
SECRETS = (API_KEY, BEARER, FOUNDRY_KEY, AWS_ACCESS, AWS_SECRET, AWS_SESSION)

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
    "max_tokens": 16,
    "messages": [{"role": "user", "content": "hi"}],
}


@dataclass
class Server:
    """A loopback HTTP server: `redirect_to` set, it answers 307 there; else 200 `MESSAGE`."""

    redirect_to: str | None = None
    seen: list[dict[str, str]] = field(default_factory=list)
    url: str = ""

    def start(self) -> Callable[[], None]:
        self.url, stop = serve(self._answer)
        return stop

    def _answer(self, request: Request) -> tuple[int, dict[str, str], bytes]:
        self.seen.append(request.headers)
        if self.redirect_to is not None:
            return 307, {"location": self.redirect_to + request.path}, b""
        return 200, {"content-type": "application/json"}, json.dumps(MESSAGE).encode()


@pytest.fixture
def origins() -> Iterator[tuple[Server, Server]]:
    """(gateway, elsewhere): the gateway redirects every request to `elsewhere`."""
    elsewhere = Server()
    stop_elsewhere = elsewhere.start()
    gateway = Server(redirect_to=elsewhere.url)
    stop_gateway = gateway.start()
    try:
        yield gateway, elsewhere
    finally:
        stop_gateway()
        stop_elsewhere()


def assert_stayed(gateway: Server, elsewhere: Server, exc: pytest.ExceptionInfo[APIStatusError]):
    assert exc.value.status_code == 307
    assert "another origin" in str(exc.value) and elsewhere.url in str(exc.value)
    assert len(gateway.seen) == 1  # a redirect is not retried either
    assert elsewhere.seen == []  # nothing, credentials or not, reached the second origin


def test_the_servers_would_leak_a_key_to_a_client_that_follows(
    origins: tuple[Server, Server],
) -> None:
    # The control: httpx following redirects keeps x-api-key on the cross-origin hop.
    gateway, elsewhere = origins
    with httpx.Client(follow_redirects=True) as http:
        http.post(gateway.url + "/v1/messages", headers={"x-api-key": API_KEY}, json=PARAMS)
    assert elsewhere.seen[0]["x-api-key"] == API_KEY


def test_api_key(origins: tuple[Server, Server]) -> None:
    gateway, elsewhere = origins
    with Client(api_key=API_KEY, base_url=gateway.url) as client:
        with pytest.raises(APIStatusError) as exc:
            client.messages.create(**PARAMS)
    assert gateway.seen[0]["x-api-key"] == API_KEY
    assert_stayed(gateway, elsewhere, exc)


def test_api_key_with_your_own_pool_that_follows_redirects(
    origins: tuple[Server, Server],
) -> None:
    gateway, elsewhere = origins
    http = httpx.Client(follow_redirects=True)
    with Client(api_key=API_KEY, base_url=gateway.url, http_client=http) as client:
        with pytest.raises(APIStatusError) as exc:
            client.messages.create(**PARAMS)
        with pytest.raises(APIStatusError):
            with client.messages.stream(**PARAMS) as stream:
                stream.get_final_message()
    http.close()
    assert exc.value.status_code == 307
    assert elsewhere.seen == []


@pytest.mark.anyio
async def test_api_key_async(origins: tuple[Server, Server]) -> None:
    gateway, elsewhere = origins
    http = httpx.AsyncClient(follow_redirects=True)
    async with AsyncClient(api_key=API_KEY, base_url=gateway.url, http_client=http) as client:
        with pytest.raises(APIStatusError) as exc:
            await client.messages.create(**PARAMS)
        with pytest.raises(APIStatusError):
            await client.models.list()
    await http.aclose()
    assert exc.value.status_code == 307
    assert elsewhere.seen == []


def test_bearer_token(origins: tuple[Server, Server]) -> None:
    gateway, elsewhere = origins
    with Client(auth_token=BEARER, base_url=gateway.url) as client:
        with pytest.raises(APIStatusError) as exc:
            client.messages.create(**PARAMS)
    assert gateway.seen[0]["authorization"] == f"Bearer {BEARER}"
    assert_stayed(gateway, elsewhere, exc)


def test_foundry_key(origins: tuple[Server, Server]) -> None:
    gateway, elsewhere = origins
    with FoundryClient(api_key=FOUNDRY_KEY, base_url=gateway.url + "/anthropic") as client:
        with pytest.raises(APIStatusError) as exc:
            client.messages.create(**PARAMS)
    assert gateway.seen[0]["api-key"] == FOUNDRY_KEY
    assert_stayed(gateway, elsewhere, exc)


def test_sigv4(origins: tuple[Server, Server]) -> None:
    pytest.importorskip("botocore")
    gateway, elsewhere = origins
    client = BedrockClient(
        aws_access_key=AWS_ACCESS,
        aws_secret_key=AWS_SECRET,
        aws_session_token=AWS_SESSION,
        aws_region="us-east-1",
        base_url=gateway.url,
    )
    with client, pytest.raises(APIStatusError) as exc:
        client.messages.create(**PARAMS)
    signed = gateway.seen[0]
    assert signed["authorization"].startswith("AWS4-HMAC-SHA256 Credential=" + AWS_ACCESS)
    assert signed["x-amz-security-token"] == AWS_SESSION
    assert_stayed(gateway, elsewhere, exc)


def test_a_same_origin_redirect_is_an_error_too(origins: tuple[Server, Server]) -> None:
    gateway, _ = origins
    gateway.redirect_to = gateway.url + "/moved"
    with Client(api_key=API_KEY, base_url=gateway.url, max_retries=0) as client:
        with pytest.raises(APIStatusError, match="307 redirect to the same origin") as exc:
            client.messages.create(**PARAMS)
    assert "set base_url to its new address" in str(exc.value)
    assert len(gateway.seen) == 1


def test_the_error_never_shows_the_target_query(origins: tuple[Server, Server]) -> None:
    gateway, elsewhere = origins
    gateway.redirect_to = elsewhere.url + "/signed?X-Amz-Signature=sig-in-a-query-0d1e&"
    with Client(api_key=API_KEY, base_url=gateway.url) as client:
        with pytest.raises(APIStatusError) as exc:
            client.messages.create(**PARAMS)
    assert "sig-in-a-query-0d1e" not in str(exc.value)
    assert f"{elsewhere.url}/signed" in str(exc.value)
    for secret in SECRETS:
        assert secret not in str(exc.value) and secret not in repr(exc.value)
