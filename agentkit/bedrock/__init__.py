"""Claude on Amazon Bedrock: `BedrockClient` / `AsyncBedrockClient` (SigV4 or a Bedrock API key,
AWS event-stream decoding). SigV4 needs the `bedrock` extra (botocore), imported on first use."""

from ._client import AsyncBedrockClient, BedrockClient
from ._eventstream import EventStreamDecoder, EventStreamError

__all__ = ["AsyncBedrockClient", "BedrockClient", "EventStreamDecoder", "EventStreamError"]
