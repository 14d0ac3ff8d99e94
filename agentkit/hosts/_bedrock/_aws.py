"""Claude's first-party wire format served by AWS: Bedrock Mantle and Claude Platform on AWS.

Both take the ordinary `/v1/messages` requests and SSE streams of `Client`; only the base URL and
auth differ: an API key, or a SigV4 signature with the service's own signing name
(`bedrock-mantle`, `aws-external-anthropic`). The Claude Platform on AWS also needs the
`anthropic-workspace-id` header.
"""

from __future__ import annotations

import os

import httpx
from typing_extensions import Unpack

from ..._exceptions import ConfigurationError
from ...client import AsyncClient, AsyncMessages, Client, Messages
from ...client._base import H
from .._cloud import HostResources, NoBatches, NoFiles
from ._client import AWSOptions, _AWSMixin

__all__ = [
    "AnthropicAWSClient",
    "AsyncAnthropicAWSClient",
    "AsyncBedrockMantleClient",
    "BedrockMantleClient",
]


# -- Bedrock Mantle ---------------------------------------------------------------------------


class MantleMessages(NoBatches, Messages):
    """`client.messages` on Bedrock Mantle: create, stream, count_tokens."""

    _host = "Bedrock Mantle"


class AsyncMantleMessages(NoBatches, AsyncMessages):
    """`client.messages` on Bedrock Mantle (async)."""

    _host = "Bedrock Mantle"


class _MantleMixin(NoFiles, HostResources[H], _AWSMixin[H]):
    _host = "Bedrock Mantle"
    _models_hint = "Bedrock Mantle serves the Messages API only"
    _service = "bedrock-mantle"
    _key_env = ("AWS_BEARER_TOKEN_BEDROCK", "ANTHROPIC_AWS_API_KEY")
    _bearer_key = True

    def _base_url_for(self, region: str) -> str:
        return os.environ.get("ANTHROPIC_BEDROCK_MANTLE_BASE_URL") or (
            f"https://bedrock-mantle.{region}.api.aws/anthropic"
        )


class BedrockMantleClient(_MantleMixin[httpx.Client], Client):
    """Claude on Bedrock Mantle (the first-party Messages API inside AWS), synchronous.

    Args:
        aws_region: The AWS region (`region` is an alias): the argument, `AWS_REGION`,
            `AWS_DEFAULT_REGION`, the profile's.
        aws_access_key: An access key id (with `aws_secret_key`), for SigV4.
        aws_secret_key: The secret access key.
        aws_session_token: A session token.
        aws_profile: A named AWS profile.
        api_key: A Bedrock API key (default `AWS_BEARER_TOKEN_BEDROCK`, then
            `ANTHROPIC_AWS_API_KEY`), sent as a bearer token; without one, SigV4.
        base_url: Default `ANTHROPIC_BEDROCK_MANTLE_BASE_URL`, else the region's endpoint.
        **options: `default_headers`, `timeout`, `max_retries`, `retry` and `http_client`, as
            for `Client`.
    """

    messages: MantleMessages

    _messages_type = MantleMessages


class AsyncBedrockMantleClient(_MantleMixin[httpx.AsyncClient], AsyncClient):
    """Claude on Bedrock Mantle, asynchronous; the arguments of `BedrockMantleClient`."""

    messages: AsyncMantleMessages

    _messages_type = AsyncMantleMessages


# -- Claude Platform on AWS -------------------------------------------------------------------


class _PlatformMixin(_AWSMixin[H]):
    _service = "aws-external-anthropic"
    _key_env = ("ANTHROPIC_AWS_API_KEY",)
    _bearer_key = False
    workspace_id: str

    def __init__(
        self, *, workspace_id: str | None = None, **options: Unpack[AWSOptions[H]]
    ) -> None:
        self._set_workspace(workspace_id)
        self._init_aws(options, "workspace_id")

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


class AnthropicAWSClient(_PlatformMixin[httpx.Client], Client):
    """Claude Platform on AWS (the Claude API, billed and authenticated through AWS), synchronous.

    Takes the arguments of `BedrockMantleClient`, plus `workspace_id` (default
    `ANTHROPIC_AWS_WORKSPACE_ID`); the API key (default `ANTHROPIC_AWS_API_KEY`) goes as
    `x-api-key`; the base URL defaults to `ANTHROPIC_AWS_BASE_URL`, else the region's endpoint.
    """


class AsyncAnthropicAWSClient(_PlatformMixin[httpx.AsyncClient], AsyncClient):
    """Claude Platform on AWS, asynchronous; the arguments of `AnthropicAWSClient`."""
