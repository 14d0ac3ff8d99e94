"""The wire shapes every layer shares: messages and content blocks, request parameter types,
batch models, and token usage with its cost.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._lazy import lazy_getattr
from ._models_table import MODEL_TABLE, ModelSpec, find_model, model_catalog_entry
from ._params import (
    Base64ImageSourceParam,
    CacheControlParam,
    ContentBlockParam,
    CountTokensParams,
    DocumentBlockParam,
    ImageBlockParam,
    JSONOutputFormatParam,
    MessageCreateParams,
    MessageParam,
    MessageParseParams,
    MetadataParam,
    OutputConfigParam,
    RequestOptions,
    Role,
    TextBlockParam,
    ThinkingBlockParam,
    ThinkingConfigParam,
    TimeoutTypes,
    ToolChoiceParam,
    ToolParam,
    ToolResultBlockParam,
    ToolUseBlockParam,
    URLImageSourceParam,
)
from ._usage import (
    DEFAULT_PRICES,
    ModelPrice,
    RunUsage,
    price_for,
)

if TYPE_CHECKING:
    from ._batch import (
        BatchCanceledResult,
        BatchErroredResult,
        BatchExpiredResult,
        BatchRequest,
        BatchRequestCounts,
        BatchResult,
        BatchResultsUnavailableError,
        BatchSucceededResult,
        BatchUnknownResult,
        DeletedMessageBatch,
        MessageBatch,
    )
    from ._message import (
        APIModel,
        CompactionBlock,
        ContentBlock,
        Message,
        MessageTokensCount,
        ModelInfo,
        RedactedThinkingBlock,
        ServerToolUseBlock,
        StopReason,
        TextBlock,
        ThinkingBlock,
        ToolUseBlock,
        UnknownBlock,
        Usage,
        is_set,
    )

__all__ = [
    "APIModel",
    "Base64ImageSourceParam",
    "BatchCanceledResult",
    "BatchErroredResult",
    "BatchExpiredResult",
    "BatchRequest",
    "BatchRequestCounts",
    "BatchResult",
    "BatchResultsUnavailableError",
    "BatchSucceededResult",
    "BatchUnknownResult",
    "CacheControlParam",
    "CompactionBlock",
    "ContentBlock",
    "ContentBlockParam",
    "CountTokensParams",
    "DEFAULT_PRICES",
    "DeletedMessageBatch",
    "DocumentBlockParam",
    "ImageBlockParam",
    "JSONOutputFormatParam",
    "MODEL_TABLE",
    "Message",
    "MessageBatch",
    "MessageCreateParams",
    "MessageParam",
    "MessageParseParams",
    "MessageTokensCount",
    "MetadataParam",
    "ModelInfo",
    "ModelPrice",
    "ModelSpec",
    "OutputConfigParam",
    "RedactedThinkingBlock",
    "RequestOptions",
    "Role",
    "RunUsage",
    "ServerToolUseBlock",
    "StopReason",
    "TextBlock",
    "TextBlockParam",
    "ThinkingBlock",
    "ThinkingBlockParam",
    "ThinkingConfigParam",
    "TimeoutTypes",
    "ToolChoiceParam",
    "ToolParam",
    "ToolResultBlockParam",
    "ToolUseBlock",
    "ToolUseBlockParam",
    "URLImageSourceParam",
    "UnknownBlock",
    "Usage",
    "find_model",
    "is_set",
    "model_catalog_entry",
    "price_for",
]

# The response models (pydantic) load on first use: `from agentkit import Agent, Client, tool` does
# not build them, nor import pydantic's BaseModel machinery (issue 18).
_LAZY: dict[str, str] = {
    "BatchCanceledResult": "_batch",
    "BatchErroredResult": "_batch",
    "BatchExpiredResult": "_batch",
    "BatchRequest": "_batch",
    "BatchRequestCounts": "_batch",
    "BatchResult": "_batch",
    "BatchResultsUnavailableError": "_batch",
    "BatchSucceededResult": "_batch",
    "BatchUnknownResult": "_batch",
    "DeletedMessageBatch": "_batch",
    "MessageBatch": "_batch",
    "APIModel": "_message",
    "CompactionBlock": "_message",
    "ContentBlock": "_message",
    "Message": "_message",
    "MessageTokensCount": "_message",
    "ModelInfo": "_message",
    "RedactedThinkingBlock": "_message",
    "ServerToolUseBlock": "_message",
    "StopReason": "_message",
    "TextBlock": "_message",
    "ThinkingBlock": "_message",
    "ToolUseBlock": "_message",
    "UnknownBlock": "_message",
    "Usage": "_message",
    "is_set": "_message",
}


__getattr__ = lazy_getattr(__name__, _LAZY)


def __dir__() -> list[str]:
    return __all__
