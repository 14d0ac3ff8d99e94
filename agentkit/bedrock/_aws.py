"""Claude's first-party wire format served by AWS: Bedrock Mantle and Claude Platform on AWS.

Both take the ordinary `/v1/messages` requests and SSE streams of `Client`; only the base URL and
auth differ: an API key, or a SigV4 signature with the service's own signing name
(`bedrock-mantle`, `aws-external-anthropic`). The Claude Platform on AWS also needs the
`anthropic-workspace-id` header.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import ClassVar

import httpx

from .._base import DEFAULT_LIMITS
from .._client import AsyncClient, Client, _ClientMixin
from .._cloud import NoBatches, NoFiles, Unsupported
from .._exceptions import ConfigurationError
from .._messages import AsyncMessages, Messages
from .._retry import RetryPolicy
from .._types import TimeoutTypes
from ._client import resolve_region
from ._sigv4 import AWSCredentials, SigV4Auth

__all__ = [
    "AnthropicAWSClient",
    "AsyncAnthropicAWSClient",
    "AsyncBedrockMantleClient",
    "BedrockMantleClient",
]


class _AWSFirstPartyMixin(_ClientMixin):
    """Construction and auth for a first-party API behind AWS auth."""

    # Set by each host.
    _service: ClassVar[str]
    _key_env: ClassVar[tuple[str, ...]]
    _bearer_key: ClassVar[bool]  # the key goes as `Authorization: Bearer`, else `x-api-key`

    region: str
    _api_key: str | None
    _sigv4: SigV4Auth | None

    def _base_url_for(self, region: str) -> str:
        raise NotImplementedError

    def _init_aws(
        self,
        *,
        region: str | None,
        aws_access_key: str | None,
        aws_secret_key: str | None,
        aws_session_token: str | None,
        aws_profile: str | None,
        api_key: str | None,
        base_url: str | None,
        default_headers: Mapping[str, str] | None,
        timeout: TimeoutTypes,
        max_retries: int | None,
        retry: RetryPolicy | None,
    ) -> None:
        explicit_aws = aws_access_key is not None or aws_secret_key is not None or aws_profile
        if api_key is not None and explicit_aws:
            raise ConfigurationError("pass either api_key or AWS credentials, not both")
        if api_key is None and not explicit_aws:
            api_key = next((os.environ[n] for n in self._key_env if os.environ.get(n)), None)
        self._api_key = api_key
        self.region = resolve_region(region, aws_profile)
        self._sigv4 = None
        if api_key is None:
            credentials = AWSCredentials(
                access_key=aws_access_key,
                secret_key=aws_secret_key,
                session_token=aws_session_token,
                profile=aws_profile,
            )
            self._sigv4 = SigV4Auth(credentials, self._service, self.region)
        self._setup(
            api_key="",  # never the first-party ANTHROPIC_API_KEY
            auth_token=None,
            base_url=base_url or self._base_url_for(self.region),
            api_version=None,
            default_headers=default_headers,
            timeout=timeout,
            max_retries=max_retries,
            retry=retry,
            require_auth=False,
        )

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


# -- Bedrock Mantle ---------------------------------------------------------------------------


class MantleMessages(NoBatches, Messages):
    """`client.messages` on Bedrock Mantle: create, stream, count_tokens."""

    _host = "Bedrock Mantle"


class AsyncMantleMessages(NoBatches, AsyncMessages):
    """`client.messages` on Bedrock Mantle (async)."""

    _host = "Bedrock Mantle"


class _MantleMixin(NoFiles, _AWSFirstPartyMixin):
    _host = "Bedrock Mantle"
    _service = "bedrock-mantle"
    _key_env = ("AWS_BEARER_TOKEN_BEDROCK", "ANTHROPIC_AWS_API_KEY")
    _bearer_key = True

    def _base_url_for(self, region: str) -> str:
        return os.environ.get("ANTHROPIC_BEDROCK_MANTLE_BASE_URL") or (
            f"https://bedrock-mantle.{region}.api.aws/anthropic"
        )

    def _mark_unsupported(self) -> None:
        hint = "Bedrock Mantle serves the Messages API only"
        setattr(self, "models", Unsupported(self._host, "models", hint))  # noqa: B010


class BedrockMantleClient(_MantleMixin, Client):
    """Claude on Bedrock Mantle (the first-party Messages API inside AWS), synchronous.

    Args:
        region: The AWS region (argument, `AWS_REGION`, `AWS_DEFAULT_REGION`, the profile's).
        aws_access_key: An access key id (with `aws_secret_key`), for SigV4.
        aws_secret_key: The secret access key.
        aws_session_token: A session token.
        aws_profile: A named AWS profile.
        api_key: A Bedrock API key (default `AWS_BEARER_TOKEN_BEDROCK`, then
            `ANTHROPIC_AWS_API_KEY`), sent as a bearer token; without one, SigV4.
        base_url: Default `ANTHROPIC_BEDROCK_MANTLE_BASE_URL`, else the region's endpoint.
        default_headers: Headers sent with every request.
        timeout: Seconds or an `httpx.Timeout`.
        max_retries: Retries of a failed request (default 2).
        retry: A full `RetryPolicy`.
        http_client: Your own `httpx.Client`; you close it.
    """

    messages: MantleMessages

    def __init__(
        self,
        *,
        region: str | None = None,
        aws_access_key: str | None = None,
        aws_secret_key: str | None = None,
        aws_session_token: str | None = None,
        aws_profile: str | None = None,
        api_key: str | None = None,
        base_url: str | None = None,
        default_headers: Mapping[str, str] | None = None,
        timeout: TimeoutTypes = None,
        max_retries: int | None = None,
        retry: RetryPolicy | None = None,
        http_client: httpx.Client | None = None,
    ) -> None:
        self._init_aws(
            region=region,
            aws_access_key=aws_access_key,
            aws_secret_key=aws_secret_key,
            aws_session_token=aws_session_token,
            aws_profile=aws_profile,
            api_key=api_key,
            base_url=base_url,
            default_headers=default_headers,
            timeout=timeout,
            max_retries=max_retries,
            retry=retry,
        )
        self._http = http_client or httpx.Client(limits=DEFAULT_LIMITS, follow_redirects=True)
        self._owns_http = http_client is None
        self._build_resources()

    def _build_resources(self) -> None:
        super()._build_resources()
        self.messages = MantleMessages(self)
        self._mark_unsupported()


class AsyncBedrockMantleClient(_MantleMixin, AsyncClient):
    """Claude on Bedrock Mantle, asynchronous; the arguments of `BedrockMantleClient`."""

    messages: AsyncMantleMessages

    def __init__(
        self,
        *,
        region: str | None = None,
        aws_access_key: str | None = None,
        aws_secret_key: str | None = None,
        aws_session_token: str | None = None,
        aws_profile: str | None = None,
        api_key: str | None = None,
        base_url: str | None = None,
        default_headers: Mapping[str, str] | None = None,
        timeout: TimeoutTypes = None,
        max_retries: int | None = None,
        retry: RetryPolicy | None = None,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        self._init_aws(
            region=region,
            aws_access_key=aws_access_key,
            aws_secret_key=aws_secret_key,
            aws_session_token=aws_session_token,
            aws_profile=aws_profile,
            api_key=api_key,
            base_url=base_url,
            default_headers=default_headers,
            timeout=timeout,
            max_retries=max_retries,
            retry=retry,
        )
        self._http = http_client or httpx.AsyncClient(limits=DEFAULT_LIMITS, follow_redirects=True)
        self._owns_http = http_client is None
        self._build_resources()

    def _build_resources(self) -> None:
        super()._build_resources()
        self.messages = AsyncMantleMessages(self)
        self._mark_unsupported()


# -- Claude Platform on AWS -------------------------------------------------------------------


class _PlatformMixin(_AWSFirstPartyMixin):
    _service = "aws-external-anthropic"
    _key_env = ("ANTHROPIC_AWS_API_KEY",)
    _bearer_key = False
    workspace_id: str

    def _base_url_for(self, region: str) -> str:
        return os.environ.get("ANTHROPIC_AWS_BASE_URL") or (
            f"https://aws-external-anthropic.{region}.api.aws"
        )

    def _set_workspace(self, workspace_id: str | None) -> None:
        workspace_id = workspace_id or os.environ.get("ANTHROPIC_AWS_WORKSPACE_ID")
        if not workspace_id:
            raise ConfigurationError(
                "the Claude Platform on AWS needs a workspace: pass workspace_id=... or set "
                "ANTHROPIC_AWS_WORKSPACE_ID"
            )
        self.workspace_id = workspace_id

    def _default_headers(self) -> dict[str, str]:
        return {**super()._default_headers(), "anthropic-workspace-id": self.workspace_id}


class AnthropicAWSClient(_PlatformMixin, Client):
    """Claude Platform on AWS (the Claude API, billed and authenticated through AWS), synchronous.

    Takes the arguments of `BedrockMantleClient`, plus `workspace_id` (default
    `ANTHROPIC_AWS_WORKSPACE_ID`); the API key (default `ANTHROPIC_AWS_API_KEY`) goes as
    `x-api-key`; the base URL defaults to `ANTHROPIC_AWS_BASE_URL`, else the region's endpoint.
    """

    def __init__(
        self,
        *,
        workspace_id: str | None = None,
        region: str | None = None,
        aws_access_key: str | None = None,
        aws_secret_key: str | None = None,
        aws_session_token: str | None = None,
        aws_profile: str | None = None,
        api_key: str | None = None,
        base_url: str | None = None,
        default_headers: Mapping[str, str] | None = None,
        timeout: TimeoutTypes = None,
        max_retries: int | None = None,
        retry: RetryPolicy | None = None,
        http_client: httpx.Client | None = None,
    ) -> None:
        self._set_workspace(workspace_id)
        self._init_aws(
            region=region,
            aws_access_key=aws_access_key,
            aws_secret_key=aws_secret_key,
            aws_session_token=aws_session_token,
            aws_profile=aws_profile,
            api_key=api_key,
            base_url=base_url,
            default_headers=default_headers,
            timeout=timeout,
            max_retries=max_retries,
            retry=retry,
        )
        self._http = http_client or httpx.Client(limits=DEFAULT_LIMITS, follow_redirects=True)
        self._owns_http = http_client is None
        self._build_resources()


class AsyncAnthropicAWSClient(_PlatformMixin, AsyncClient):
    """Claude Platform on AWS, asynchronous; the arguments of `AnthropicAWSClient`."""

    def __init__(
        self,
        *,
        workspace_id: str | None = None,
        region: str | None = None,
        aws_access_key: str | None = None,
        aws_secret_key: str | None = None,
        aws_session_token: str | None = None,
        aws_profile: str | None = None,
        api_key: str | None = None,
        base_url: str | None = None,
        default_headers: Mapping[str, str] | None = None,
        timeout: TimeoutTypes = None,
        max_retries: int | None = None,
        retry: RetryPolicy | None = None,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        self._set_workspace(workspace_id)
        self._init_aws(
            region=region,
            aws_access_key=aws_access_key,
            aws_secret_key=aws_secret_key,
            aws_session_token=aws_session_token,
            aws_profile=aws_profile,
            api_key=api_key,
            base_url=base_url,
            default_headers=default_headers,
            timeout=timeout,
            max_retries=max_retries,
            retry=retry,
        )
        self._http = http_client or httpx.AsyncClient(limits=DEFAULT_LIMITS, follow_redirects=True)
        self._owns_http = http_client is None
        self._build_resources()
