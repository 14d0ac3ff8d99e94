"""Secrets stay secret: a recognisable API key, bearer token, gateway header, Foundry key, AWS
secret and session token never appear in a log record (the root logger at DEBUG, every library's
records), a repr, an exception's text or the CLI's output, on success and on every error path
(401, 5xx, a refused connection).

A loopback HTTP server plays the API; what it answers is set per test.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from _loopback import Request, serve

from agentkit import APIConnectionError, APIStatusError, AsyncClient, Client
from agentkit.bedrock import BedrockClient
from agentkit.foundry import FoundryClient

API_KEY = "sk-ant-secret-test-KEY-c0ffee"
BEARER = "bearer-secret-test-TOKEN-beef01"
GATEWAY = "gateway-secret-test-HEADER-f00d02"
FOUNDRY_KEY = "foundry-secret-test-KEY-d00d03"
AWS_ACCESS = "AKIASECRETTEST000004"
AWS_SECRET = "aws-secret-test-SECRET-ACCESS-KEY-0005"
AWS_SESSION = "aws-secret-test-SESSION-TOKEN-0006"
SECRETS = (API_KEY, BEARER, GATEWAY, FOUNDRY_KEY, AWS_SECRET, AWS_SESSION)

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
# Credential-like headers a user may add: each one's name alone marks it as a secret.
GATEWAY_HEADERS = {
    "proxy-authorization": f"Basic {GATEWAY}",
    "cookie": f"session={GATEWAY}",
    "x-goog-api-key": GATEWAY,
    "x-gateway-secret": GATEWAY,
    "x-upstream-credential": GATEWAY,
}


@dataclass
class API:
    """A loopback server answering every request with `status` (200: `MESSAGE`)."""

    status: int = 200
    url: str = ""

    def start(self) -> Callable[[], None]:
        self.url, stop = serve(self._answer)
        return stop

    def _answer(self, request: Request) -> tuple[int, dict[str, str], bytes]:
        if self.status == 200:
            body = json.dumps(MESSAGE).encode()
        else:
            error = {"type": "authentication_error", "message": "invalid x-api-key"}
            if self.status >= 500:
                error = {"type": "api_error", "message": "Internal server error"}
            body = json.dumps({"type": "error", "error": error}).encode()
        headers = {"content-type": "application/json", "request-id": "req_secret_test"}
        return self.status, headers, body


@pytest.fixture
def api() -> Iterator[API]:
    server = API()
    stop = server.start()
    try:
        yield server
    finally:
        stop()


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


class Records(logging.Handler):
    """Every record reaching the root logger, formatted with its arguments and traceback."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.texts: list[str] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.texts.append(self.format(record))
        self.texts.append(repr(record.args))


@pytest.fixture
def records() -> Iterator[Records]:
    """The root logger at DEBUG, every library's records propagating to it."""
    root = logging.getLogger()
    handler = Records()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    agentkit_logger = logging.getLogger("agentkit")
    agentkit_level = agentkit_logger.level
    agentkit_logger.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        agentkit_logger.setLevel(agentkit_level)


def exception_texts(exc: BaseException) -> list[str]:
    """The exception's text, repr and full formatted traceback with its causes."""
    return [str(exc), repr(exc), "".join(traceback.format_exception(exc))]


def assert_no_secret(texts: list[str]) -> None:
    joined = "\n".join(texts)
    for secret in SECRETS:
        assert secret not in joined, f"{secret!r} leaked"


def clients(url: str) -> list[Client]:
    """One client per credential kind, each with the gateway's credential-like headers."""
    made = [
        Client(api_key=API_KEY, base_url=url, default_headers=GATEWAY_HEADERS, max_retries=1),
        Client(auth_token=BEARER, base_url=url, default_headers=GATEWAY_HEADERS, max_retries=1),
        FoundryClient(
            api_key=FOUNDRY_KEY,
            base_url=url + "/anthropic",
            default_headers=GATEWAY_HEADERS,
            max_retries=1,
        ),
    ]
    try:
        import botocore  # noqa: F401
    except ImportError:
        return made
    made.append(
        BedrockClient(
            aws_access_key=AWS_ACCESS,
            aws_secret_key=AWS_SECRET,
            aws_session_token=AWS_SESSION,
            aws_region="us-east-1",
            base_url=url,
            default_headers=GATEWAY_HEADERS,
            max_retries=1,
        )
    )
    return made


def no_sleep(client: Client) -> Client:
    from agentkit.client import RetryPolicy

    return client.with_options(retry=RetryPolicy(max_retries=1, sleep=lambda _: None))


@pytest.mark.parametrize("status", [200, 401, 500])
def test_no_secret_in_logs_reprs_or_errors(status: int, api: API, records: Records) -> None:
    api.status = status
    texts: list[str] = []
    for made in clients(api.url):
        client = no_sleep(made)
        texts += [repr(client), repr(made), repr(client._config)]
        try:
            message = client.messages.create(**PARAMS, extra_headers={"x-request-token": GATEWAY})
            texts += [repr(message), str(message)]
        except APIStatusError as exc:
            assert exc.status_code == status
            texts += exception_texts(exc)
        else:
            assert status == 200
        made.close()
    assert len(records.texts) > 10  # the root logger did see DEBUG records
    assert any(t.startswith("agentkit DEBUG request POST") for t in records.texts)
    assert_no_secret(texts + records.texts)


def test_botocore_signing_logs_carry_no_credential(api: API, records: Records) -> None:
    pytest.importorskip("botocore")
    with BedrockClient(
        aws_access_key=AWS_ACCESS,
        aws_secret_key=AWS_SECRET,
        aws_session_token=AWS_SESSION,
        aws_region="us-east-1",
        base_url=api.url,
    ) as client:
        client.messages.create(**PARAMS)
    assert_no_secret(records.texts)
    # botocore still logs for everyone else: only what it emits while agentkit signs is dropped.
    logging.getLogger("botocore.auth").debug("outside agentkit's signing")
    assert any("outside agentkit's signing" in t for t in records.texts)


def test_botocore_would_log_the_session_token_without_the_filter(records: Records) -> None:
    # The control: botocore's own signer, called directly, logs x-amz-security-token at DEBUG.
    pytest.importorskip("botocore")
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest(method="POST", url="https://bedrock-runtime.us-east-1.amazonaws.com/x")
    SigV4Auth(Credentials(AWS_ACCESS, AWS_SECRET, AWS_SESSION), "bedrock", "us-east-1").add_auth(
        request
    )
    assert any(AWS_SESSION in t for t in records.texts)


def test_no_secret_when_the_connection_is_refused(records: Records) -> None:
    texts: list[str] = []
    for made in clients(closed_port_url()):
        client = no_sleep(made)
        with pytest.raises(APIConnectionError) as exc:
            client.messages.create(**PARAMS)
        texts += exception_texts(exc.value)
        made.close()
    assert_no_secret(texts + records.texts)


@pytest.mark.anyio
async def test_no_secret_async(api: API, records: Records) -> None:
    api.status = 401
    async with AsyncClient(
        api_key=API_KEY, base_url=api.url, default_headers=GATEWAY_HEADERS
    ) as client:
        with pytest.raises(APIStatusError) as exc:
            await client.messages.create(**PARAMS)
        texts = [repr(client), repr(client._config), *exception_texts(exc.value)]
    assert_no_secret(texts + records.texts)


@pytest.mark.parametrize("status", [401, 500, None])
def test_no_secret_in_the_cli_output(status: int | None, api: API) -> None:
    # AGENTKIT_LOG=debug and --debug (tracebacks): the most the CLI ever prints.
    if status is None:
        url = closed_port_url()
    else:
        api.status = status
        url = api.url
    env = {
        **os.environ,
        "ANTHROPIC_API_KEY": API_KEY,
        "ANTHROPIC_BASE_URL": url,
        "AGENTKIT_LOG": "debug",
    }
    env.pop("ANTHROPIC_AUTH_TOKEN", None)
    done = subprocess.run(
        [sys.executable, "-m", "agentkit", "--debug", "demo", "hi"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    output = done.stdout + done.stderr
    assert "request POST" in output  # the debug log did run
    assert API_KEY not in output


def test_redaction_is_by_rule() -> None:
    from agentkit.client._base import is_secret_header, redact_headers

    for name in (
        "Authorization",
        "proxy-authorization",
        "Cookie",
        "x-api-key",
        "api-key",
        "X-Goog-Api-Key",
        "x-amz-security-token",
        "x-my-token",
        "x-secret",
        "x-signature",
        "x-upstream-credential",
    ):
        assert is_secret_header(name), name
    for name in ("anthropic-version", "content-type", "anthropic-beta", "x-amz-date"):
        assert not is_secret_header(name), name
    assert redact_headers({"x-goog-api-key": GATEWAY, "accept": "a"}) == {
        "x-goog-api-key": "<redacted>",
        "accept": "a",
    }


def test_httpx_response_is_unchanged() -> None:
    # The redaction is agentkit's own: the request that goes out still carries the credential.
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=MESSAGE)

    http = httpx.Client(transport=httpx.MockTransport(handler))
    Client(api_key=API_KEY, http_client=http).messages.create(**PARAMS)
    assert seen[0].headers["x-api-key"] == API_KEY


def test_no_secret_in_stored_rows(tmp_path: Path, records: Records) -> None:
    from agentkit import Agent
    from agentkit.stores import SQLiteStore
    from agentkit.testing import FakeClaude, Reply

    fake = FakeClaude([Reply.text("stored")], api_key=API_KEY)
    client = Client(
        api_key=API_KEY, default_headers=GATEWAY_HEADERS, http_client=fake.http_client()
    )
    store = SQLiteStore(tmp_path / "runs.db")
    result = Agent("claude-haiku-4-5", client=client, store=store).run("hi")
    assert result.output == "stored"
    store.close()
    client.close()
    stored = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert b"stored" in stored  # the rows are there, in the files read
    for secret in SECRETS:
        assert secret.encode() not in stored
    assert_no_secret([*records.texts, repr(store), repr(result)])
