"""`BedrockClient` and `AsyncBedrockClient`: the Claude clients, speaking to Amazon Bedrock.

Each is a `Client` / `AsyncClient` with Bedrock's hooks, so the runner, tools, stores and stream
helpers work unchanged. What differs from the first-party API, all decided by pure functions here:
the URL names the model (`/model/{id}/invoke`, `/invoke-with-response-stream`); the body loses
`model` and `stream` and gains `anthropic_version` and the betas as `anthropic_beta`; no
`anthropic-version` header; auth is a SigV4 signature (or a Bedrock API key as a bearer token);
and the stream is AWS event-stream framing, not SSE.
"""

from __future__ import annotations

import base64
import os
import re
import warnings
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import ClassVar, TypeVar
from urllib.parse import quote

import httpx
from pydantic_core import to_json
from typing_extensions import Unpack

from ..._exceptions import ConfigurationError
from ..._options import option_names
from ...client import AsyncClient, AsyncMessages, Client, ClientOptions, Messages
from ...client._base import BaseClient, H, RequestSpec, model_parser
from ...client._messages import count_spec
from ...streaming._core import EventDecoder
from ...types._message import MessageTokensCount
from ...types._params import CountTokensParams
from .._cloud import HostResources, NoBatches, NoFiles, beta_list, body_dict
from ._eventstream import EventStreamDecoder, exception_error_type, status_error_type
from ._sigv4 import AWSCredentials, SigV4Auth

__all__ = [
    "BEDROCK_ANTHROPIC_VERSION",
    "AsyncBedrockClient",
    "BedrockClient",
    "bedrock_count_tokens",
    "bedrock_error_body",
    "bedrock_invoke",
    "resolve_region",
]

T = TypeVar("T")

BEDROCK_ANTHROPIC_VERSION = "bedrock-2023-05-31"
_HOST = "Amazon Bedrock"
DEFAULT_REGION = "us-east-1"

# Cross-region inference profile ids put a geography before the model id
# (`us.anthropic.claude-...`). Token counting takes the bare foundation model id.
_PROFILE_PREFIX = re.compile(r"^(?:us|eu|apac|global|jp|au|ca|us-gov)\.(anthropic\..+)$")


# -- pure decisions ---------------------------------------------------------------------------


def resolve_region(region: str | None, profile: str | None = None) -> str:
    """The AWS region: the argument, `AWS_REGION`, `AWS_DEFAULT_REGION`, the region of the
    profile (the argument or `AWS_PROFILE`), else `us-east-1` with a warning (a silent default
    sends traffic to a region you did not pick).
    """
    region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if region:
        return region
    # botocore picks the profile from AWS_PROFILE for credentials; its region should follow.
    profile = profile or os.environ.get("AWS_PROFILE") or None
    if profile is not None:
        from ._sigv4 import import_botocore

        botocore = import_botocore()
        try:
            region = botocore.session.Session(profile=profile).get_config_variable("region")
        except Exception as exc:  # ProfileNotFound and friends
            raise ConfigurationError(f"cannot read AWS profile {profile!r}: {exc}") from exc
        if region:
            return str(region)
    warnings.warn(
        f"no AWS region given (aws_region=..., AWS_REGION); using {DEFAULT_REGION}",
        UserWarning,
        stacklevel=4,
    )
    return DEFAULT_REGION


def _model_path(model: object) -> str:
    if not isinstance(model, str) or not model:
        raise ConfigurationError("a Bedrock request needs `model` (a model id, profile id or ARN)")
    # Every reserved character escaped, ':' and '/' of ARNs included, as botocore serializes a
    # URI label; SigV4 then signs the escaped path (AWS re-escapes it for the canonical request).
    return quote(model, safe="")


def _invoke_body(body: object, betas: list[str]) -> tuple[str, dict[str, object]]:
    fields = body_dict(body)
    model = fields.pop("model", None)
    fields.pop("stream", None)
    fields.setdefault("anthropic_version", BEDROCK_ANTHROPIC_VERSION)
    existing = fields.get("anthropic_beta")
    if isinstance(existing, list):
        betas = beta_list(*[str(b) for b in existing], *betas)
    if betas:
        fields["anthropic_beta"] = betas
    return _model_path(model), fields


def _split_betas(
    spec: RequestSpec[T], default_headers: Mapping[str, str]
) -> tuple[dict[str, str | None], list[str]]:
    values = [v for k, v in default_headers.items() if k.lower() == "anthropic-beta"]
    headers: dict[str, str | None] = {}
    for name, value in spec.headers.items():
        if name.lower() == "anthropic-beta":
            if value is None:
                values = []  # None removes the default header's betas, as for a header
            else:
                values.append(value)
        else:
            headers[name] = value
    return headers, beta_list(*values)


def bedrock_invoke(spec: RequestSpec[T], default_headers: Mapping[str, str]) -> RequestSpec[T]:
    """Reshape a first-party `POST /v1/messages` for Bedrock's InvokeModel (pure).

    Args:
        spec: The first-party request (body a dict or pre-encoded JSON bytes).
        default_headers: The client's default headers (their `anthropic-beta` moves too).

    Returns:
        The request to `/model/{id}/invoke` (or `/invoke-with-response-stream`).
    """
    headers, betas = _split_betas(spec, default_headers)
    model, body = _invoke_body(spec.body, betas)
    action = "invoke-with-response-stream" if spec.stream else "invoke"
    return replace(spec, path=f"/model/{model}/{action}", body=body, headers=headers)


def bedrock_count_tokens(
    spec: RequestSpec[T], default_headers: Mapping[str, str]
) -> RequestSpec[T]:
    """Reshape `POST /v1/messages/count_tokens` for Bedrock's CountTokens operation (pure).

    The InvokeModel body travels base64-encoded (the API models it as a blob) inside
    `{"input": {"invokeModel": {"body": ...}}}`.
    """
    headers, betas = _split_betas(spec, default_headers)
    fields = body_dict(spec.body)
    model = fields.get("model")
    if isinstance(model, str) and (match := _PROFILE_PREFIX.match(model)):
        fields["model"] = match.group(1)
    model_path, body = _invoke_body(fields, betas)
    # The invoke body's schema requires max_tokens; it does not change the input count.
    body.setdefault("max_tokens", 1)
    blob = base64.b64encode(to_json(body)).decode("ascii")
    return replace(
        spec,
        path=f"/model/{model_path}/count-tokens",
        body={"input": {"invokeModel": {"body": blob}}},
        headers=headers,
    )


def bedrock_error_body(response: httpx.Response, body: object) -> object:
    """An AWS error body (`{"message": ...}` plus the `x-amzn-ErrorType` header) in the API's
    error shape, so the typed error says what went wrong (pure).

    Bodies already in the API's shape (errors the model itself returned) pass through.
    """
    if not isinstance(body, dict) or isinstance(body.get("error"), dict):
        return body
    message = body.get("message") or body.get("Message")
    if not isinstance(message, str):
        return body
    kind = response.headers.get("x-amzn-errortype", "").split(":", 1)[0]
    error: dict[str, object] = {
        "type": status_error_type(response.status_code),
        "message": message,
    }
    if kind:
        error["type"] = exception_error_type(kind)
        error["bedrock_exception"] = kind
    return {"type": "error", "error": error}


def _count(body: object) -> MessageTokensCount:
    if isinstance(body, dict) and "inputTokens" in body:
        return MessageTokensCount(input_tokens=body["inputTokens"])
    return MessageTokensCount.model_validate(body)


_parse_count = model_parser(_count)


# -- the shells ---------------------------------------------------------------------------------


class AWSOptions(ClientOptions[H], total=False):
    """The options of a client behind AWS auth, on top of `ClientOptions`: the official SDK's
    names (`aws_region` ...), and `region`, a documented alias of `aws_region`."""

    aws_region: str | None
    region: str | None
    aws_access_key: str | None
    aws_secret_key: str | None
    aws_session_token: str | None
    aws_profile: str | None
    api_key: str | None


_AWS_OPTIONS = option_names(AWSOptions)


def _region_option(options: AWSOptions[H]) -> str | None:
    """`aws_region`, or its alias `region` (both only when they agree)."""
    aws_region, region = options.get("aws_region"), options.get("region")
    if aws_region is not None and region is not None and aws_region != region:
        raise ConfigurationError(
            f"aws_region={aws_region!r} and region={region!r} disagree: pass aws_region only "
            "(region is its alias)"
        )
    return aws_region if aws_region is not None else region


class _AWSMixin(BaseClient[H]):
    """Construction and auth for a client behind AWS: a region, then an API key or SigV4."""

    # Set by each host.
    _service: ClassVar[str]  # the SigV4 signing name
    _key_env: ClassVar[tuple[str, ...]]  # where an API key comes from, in order
    _bearer_key: ClassVar[bool] = True  # the key goes as `Authorization: Bearer`, else `x-api-key`
    _both_error: ClassVar[str] = "pass either api_key or AWS credentials, not both"

    region: str
    _api_key: str | None
    _sigv4: SigV4Auth | None

    def __init__(self, **options: Unpack[AWSOptions[H]]) -> None:
        self._init_aws(options)

    def _init_aws(self, options: AWSOptions[H], *own: str) -> None:
        self._check_options(options, *_AWS_OPTIONS, *own)
        api_key = options.get("api_key")
        aws_profile = options.get("aws_profile")
        explicit_aws = (
            options.get("aws_access_key") is not None
            or options.get("aws_secret_key") is not None
            or options.get("aws_session_token") is not None
            or aws_profile
        )
        if api_key is not None and explicit_aws:
            raise ConfigurationError(self._both_error)
        if api_key is None and not explicit_aws:
            api_key = next((os.environ[n] for n in self._key_env if os.environ.get(n)), None)
        self._api_key = api_key
        # Called from each constructor directly, so the no-region warning names the caller.
        self.region = resolve_region(_region_option(options), aws_profile)
        self._sigv4 = None
        if api_key is None:
            credentials = AWSCredentials(
                access_key=options.get("aws_access_key"),
                secret_key=options.get("aws_secret_key"),
                session_token=options.get("aws_session_token"),
                profile=aws_profile,
            )
            self._sigv4 = SigV4Auth(credentials, self._service, self.region)
        self._setup_host(
            options, base_url=options.get("base_url") or self._base_url_for(self.region)
        )

    def _base_url_for(self, region: str) -> str:
        raise NotImplementedError

    def __repr__(self) -> str:
        auth = "api_key" if self._api_key else "sigv4"
        return f"{type(self).__name__}(region={self.region!r}, auth={auth})"

    def _auth_headers(self) -> dict[str, str]:
        if not self._api_key:
            return {}
        if self._bearer_key:
            return {"authorization": f"Bearer {self._api_key}"}
        return {"x-api-key": self._api_key}

    def _auth(self) -> httpx.Auth | None:
        return self._sigv4


class _BedrockMixin(NoFiles, HostResources[H], _AWSMixin[H]):
    """Bedrock's hooks, shared by the sync and async clients."""

    _host = _HOST
    _models_hint = "list models with AWS's ListFoundationModels API"
    _service = "bedrock"
    _key_env = ("AWS_BEARER_TOKEN_BEDROCK",)
    _both_error = (
        "pass either api_key (a Bedrock API key) or AWS credentials (keys or a profile), not both"
    )

    def _base_url_for(self, region: str) -> str:
        return os.environ.get("ANTHROPIC_BEDROCK_BASE_URL") or (
            f"https://bedrock-runtime.{region}.amazonaws.com"
        )

    def _default_headers(self) -> dict[str, str]:
        # Bedrock takes the version and the betas in the body, never as headers.
        headers = super()._default_headers()
        return {
            k: v
            for k, v in headers.items()
            if k.lower() not in ("anthropic-version", "anthropic-beta")
        }

    def _adapt(self, spec: RequestSpec[T]) -> RequestSpec[T]:
        if spec.method.upper() == "POST" and spec.path == "/v1/messages":
            return bedrock_invoke(spec, self._config.default_headers)
        if spec.method.upper() == "POST" and spec.path == "/v1/messages/count_tokens":
            return bedrock_count_tokens(spec, self._config.default_headers)
        return spec

    def event_decoder(self) -> Callable[[], EventDecoder]:
        return EventStreamDecoder

    def _error_body(self, response: httpx.Response, body: object) -> object:
        # For the error hook of `BaseClient` (see bedrock_error_body).
        return bedrock_error_body(response, body)


class BedrockMessages(NoBatches, Messages):
    """`client.messages` on Bedrock: create, stream, count_tokens."""

    _host = _HOST
    _batches_hint = "use Bedrock batch inference jobs"

    def count_tokens(self, **params: Unpack[CountTokensParams]) -> MessageTokensCount:
        """Count input tokens with Bedrock's CountTokens operation (bare foundation model ids;
        a cross-region profile id such as `us.anthropic...` is reduced to its model id)."""
        return self._client.call(replace(count_spec(params), parse=_parse_count))


class AsyncBedrockMessages(NoBatches, AsyncMessages):
    """`client.messages` on Bedrock (async)."""

    _host = _HOST
    _batches_hint = "use Bedrock batch inference jobs"

    async def count_tokens(self, **params: Unpack[CountTokensParams]) -> MessageTokensCount:
        """Count input tokens with Bedrock's CountTokens operation."""
        return await self._client.call(replace(count_spec(params), parse=_parse_count))


class BedrockClient(_BedrockMixin[httpx.Client], Client):
    """A synchronous Claude client for Amazon Bedrock; the same interface as `Client`.

    Args:
        aws_region: The AWS region (the official SDK's name; `region` is an alias); else
            `AWS_REGION`, `AWS_DEFAULT_REGION`, the profile's region, else `us-east-1` with a
            warning.
        aws_access_key: An access key id (with `aws_secret_key`).
        aws_secret_key: The secret access key.
        aws_session_token: A session token, for temporary credentials.
        aws_profile: A named profile from the AWS config files.
        api_key: A Bedrock API key, sent as a bearer token (default `AWS_BEARER_TOKEN_BEDROCK`
            when no AWS credentials are passed). Without one, requests are SigV4-signed with
            explicit keys, the profile or the standard AWS chain (needs `agentkit[bedrock]`).
        base_url: Defaults to `ANTHROPIC_BEDROCK_BASE_URL`, else the region's runtime endpoint.
        **options: `default_headers`, `timeout`, `max_retries`, `retry` and `http_client`, as
            for `Client`.

    Raises:
        TypeError: an unknown keyword (naming the closest valid one).
        ConfigurationError: conflicting credentials, or an unreadable profile.
    """

    messages: BedrockMessages

    _messages_type = BedrockMessages


class AsyncBedrockClient(_BedrockMixin[httpx.AsyncClient], AsyncClient):
    """An asynchronous Claude client for Amazon Bedrock; the same interface as `AsyncClient`.

    Takes the arguments of `BedrockClient`, with an `httpx.AsyncClient` as `http_client`.
    Credential refreshes (SSO, STS, instance metadata) run in a worker thread.
    """

    messages: AsyncBedrockMessages

    _messages_type = AsyncBedrockMessages
