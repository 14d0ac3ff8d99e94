"""Claude on Amazon Bedrock (`BedrockClient`: InvokeModel, SigV4 or a Bedrock API key, AWS
event-stream decoding), plus the first-party API behind AWS auth: Bedrock Mantle
(`BedrockMantleClient`) and Claude Platform on AWS (`AnthropicAWSClient`). SigV4 needs the
`bedrock` extra (botocore), imported when the first request is signed."""

from .hosts._bedrock._aws import (
    AnthropicAWSClient,
    AsyncAnthropicAWSClient,
    AsyncBedrockMantleClient,
    BedrockMantleClient,
)
from .hosts._bedrock._client import AsyncBedrockClient, BedrockClient
from .hosts._bedrock._eventstream import EventStreamDecoder, EventStreamError

__all__ = [
    "AnthropicAWSClient",
    "AsyncAnthropicAWSClient",
    "AsyncBedrockClient",
    "AsyncBedrockMantleClient",
    "BedrockClient",
    "BedrockMantleClient",
    "EventStreamDecoder",
    "EventStreamError",
]
