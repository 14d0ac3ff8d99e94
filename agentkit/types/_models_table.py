"""The one table of Claude models: ids, limits, thinking and effort support, prices, deprecation.

Every layer reads it: the client's long-request guard, the conversation's preflight, the cost
totals in `RunUsage`, and the fake Claude in `agentkit.testing` (which lists these models from
`GET /v1/models` in the API's own shape and rejects what each model does not support).

The capability values of the models in the Models API's list recorded in
`tests/fixtures/anthropic-recordings/cases/models-list` are copied from it. Models seen in
recorded replies but not in that list (`claude-sonnet-5`, `claude-opus-5`, `claude-fable-5`)
take their family's newest values; older snapshots take their documented limits.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

__all__ = [
    "MODEL_TABLE",
    "ModelSpec",
    "ModelPrice",
    "find_model",
    "model_catalog_entry",
]

EffortLevel = str


@dataclass(frozen=True)
class ModelPrice:
    """USD per million tokens. Cache writes cost more than input; cache reads much less.

    Attributes:
        input: Uncached input tokens.
        output: Output tokens (thinking included).
        cache_write_5m: Tokens written to the 5-minute cache (1.25x input by default).
        cache_write_1h: Tokens written to the 1-hour cache (2x input by default).
        cache_read: Tokens read from the cache (0.1x input by default).
    """

    input: float
    output: float
    cache_write_5m: float
    cache_write_1h: float
    cache_read: float

    @classmethod
    def from_base(cls, input: float, output: float) -> ModelPrice:
        """The usual multipliers applied to an input and an output price."""
        return cls(input, output, input * 1.25, input * 2.0, input * 0.1)


@dataclass(frozen=True)
class ModelSpec:
    """What agentkit knows about one Claude model.

    Attributes:
        id: The snapshot id replies carry (`claude-haiku-4-5-20251001`).
        aliases: Other ids that name it in requests (`claude-haiku-4-5`).
        display_name: The Models API's `display_name`.
        created_at: The Models API's `created_at`.
        context_window: Input tokens accepted (`max_input_tokens`).
        max_output: The largest `max_tokens` the model accepts.
        thinking_budget: Accepts `thinking: {"type": "enabled", "budget_tokens": ...}`.
        thinking_adaptive: Accepts `thinking: {"type": "adaptive"}`.
        effort: The `output_config.effort` levels it accepts (empty: no effort parameter).
        structured_outputs: Accepts `output_config.format` (JSON schema outputs).
        code_execution: Offers the code execution tool.
        context_edits: The `context_management` edit types it supports.
        sampling_exclusive: `temperature` and `top_p` may not both be set.
        price: List price; None when unknown (costs then say "unpriced").
        deprecated: The date the model was deprecated, if it was.
        long_context_beta: The beta header that unlocks `context_window`; without it the model
            takes 200,000 input tokens. None when the whole window is generally available.
        nonstreaming_max: The largest `max_tokens` a non-streaming call should ask for before it
            risks the 10-minute idle limit; None: the general 21,333 (128k tokens an hour). The
            official SDK's `MODEL_NONSTREAMING_TOKENS` holds the same per-model values.
    """

    id: str
    aliases: tuple[str, ...]
    display_name: str
    created_at: str
    context_window: int
    max_output: int
    thinking_budget: bool
    thinking_adaptive: bool
    effort: tuple[EffortLevel, ...]
    structured_outputs: bool
    code_execution: bool
    context_edits: tuple[str, ...]
    sampling_exclusive: bool
    price: ModelPrice | None
    deprecated: str | None = None
    long_context_beta: str | None = None
    nonstreaming_max: int | None = None

    @property
    def ids(self) -> tuple[str, ...]:
        """The snapshot id and every alias."""
        return (self.id, *self.aliases)

    def input_limit(self, betas: Collection[str] = ()) -> int:
        """The input tokens a request may hold, given its `anthropic-beta` values."""
        if self.long_context_beta is not None and self.long_context_beta not in betas:
            return min(self.context_window, 200_000)
        return self.context_window


_EFFORT_ALL = ("low", "medium", "high", "max")
_EDITS_OLD = ("clear_tool_uses_20250919", "clear_thinking_20251015")
_EDITS_ALL = (*_EDITS_OLD, "compact_20260112")
_OPUS_NEW = ModelPrice.from_base(5.0, 25.0)
_OPUS_OLD = ModelPrice.from_base(15.0, 75.0)
_SONNET = ModelPrice.from_base(3.0, 15.0)
_LONG = "context-1m-2025-08-07"


def _new(
    id: str,
    name: str,
    created: str,
    *,
    budget: bool,
    price: ModelPrice | None,
    aliases: tuple[str, ...],
) -> ModelSpec:
    """A 1M-context, 128k-output model with adaptive thinking and every effort level."""
    return ModelSpec(
        id, aliases, name, created, 1_000_000, 128_000, budget, True, _EFFORT_ALL, True, True,
        _EDITS_ALL, True, price,
    )  # fmt: skip


MODEL_TABLE: tuple[ModelSpec, ...] = (
    _new("claude-opus-5", "Claude Opus 5", "2026-09-01T00:00:00Z", budget=False,
         price=_OPUS_NEW, aliases=()),
    _new("claude-sonnet-5", "Claude Sonnet 5", "2026-09-01T00:00:00Z", budget=False,
         price=_SONNET, aliases=()),
    _new("claude-fable-5", "Claude Fable 5", "2026-09-01T00:00:00Z", budget=False,
         price=None, aliases=()),
    _new("claude-opus-4-8", "Claude Opus 4.8", "2026-05-28T00:00:00Z", budget=False,
         price=_OPUS_NEW, aliases=()),
    _new("claude-opus-4-7", "Claude Opus 4.7", "2026-04-14T00:00:00Z", budget=False,
         price=_OPUS_NEW, aliases=()),
    _new("claude-sonnet-4-6", "Claude Sonnet 4.6", "2026-02-17T00:00:00Z", budget=True,
         price=_SONNET, aliases=()),
    _new("claude-opus-4-6", "Claude Opus 4.6", "2026-02-04T00:00:00Z", budget=True,
         price=_OPUS_NEW, aliases=()),
    ModelSpec("claude-opus-4-5-20251101", ("claude-opus-4-5",), "Claude Opus 4.5",
              "2025-11-24T00:00:00Z", 200_000, 64_000, True, False, ("low", "medium", "high"),
              True, True, _EDITS_OLD, True, _OPUS_NEW),
    ModelSpec("claude-haiku-4-5-20251001", ("claude-haiku-4-5",), "Claude Haiku 4.5",
              "2025-10-15T00:00:00Z", 200_000, 64_000, True, False, (), True, False, _EDITS_OLD,
              True, ModelPrice.from_base(1.0, 5.0)),
    ModelSpec("claude-sonnet-4-5-20250929", ("claude-sonnet-4-5",), "Claude Sonnet 4.5",
              "2025-09-29T00:00:00Z", 1_000_000, 64_000, True, False, (), True, True, _EDITS_OLD,
              True, _SONNET, long_context_beta=_LONG),
    ModelSpec("claude-opus-4-1-20250805", ("claude-opus-4-1",), "Claude Opus 4.1",
              "2025-08-05T00:00:00Z", 200_000, 32_000, True, False, (), True, False, _EDITS_OLD,
              True, _OPUS_OLD, nonstreaming_max=8_192),
    ModelSpec("claude-opus-4-20250514", ("claude-opus-4-0",), "Claude Opus 4",
              "2025-05-22T00:00:00Z", 200_000, 32_000, True, False, (), False, False, _EDITS_OLD,
              False, _OPUS_OLD, nonstreaming_max=8_192),
    ModelSpec("claude-sonnet-4-20250514", ("claude-sonnet-4-0",), "Claude Sonnet 4",
              "2025-05-22T00:00:00Z", 1_000_000, 64_000, True, False, (), False, False, _EDITS_OLD,
              False, _SONNET, long_context_beta=_LONG),
    ModelSpec("claude-3-7-sonnet-20250219", ("claude-3-7-sonnet-latest",), "Claude Sonnet 3.7",
              "2025-02-24T00:00:00Z", 200_000, 64_000, True, False, (), False, False, (), False,
              _SONNET, deprecated="2025-10-28"),
    ModelSpec("claude-3-5-haiku-20241022", ("claude-3-5-haiku-latest",), "Claude Haiku 3.5",
              "2024-10-22T00:00:00Z", 200_000, 8_192, False, False, (), False, False, (), False,
              ModelPrice.from_base(0.8, 4.0), deprecated="2025-12-19"),
    ModelSpec("claude-3-haiku-20240307", (), "Claude Haiku 3", "2024-03-07T00:00:00Z", 200_000,
              4_096, False, False, (), False, False, (), False, ModelPrice.from_base(0.25, 1.25)),
)  # fmt: skip
"""Every model agentkit knows, newest first (the order `GET /v1/models` lists them in)."""

_BY_ID = {name: info for info in MODEL_TABLE for name in info.ids}


_CLOUD_ID = re.compile(r"^(?:[a-z]{2,4}\.)?anthropic\.(?P<name>.+?)(?:-v\d+(?::\d+)?)?$")


def find_model(model: str) -> ModelSpec | None:
    """The table entry for a model id, or None for a model agentkit does not know.

    Besides snapshot ids and aliases it reads the cloud hosts' spellings: Bedrock's
    `us.anthropic.claude-sonnet-4-5-20250929-v1:0` and Vertex's `claude-sonnet-4-5@20250929`.
    """
    found = _BY_ID.get(model)
    if found is None:
        cloud = _CLOUD_ID.match(model)
        name = cloud.group("name") if cloud else model.replace("@", "-")
        found = _BY_ID.get(name)
    return found


def _flags(names: tuple[str, ...], on: tuple[str, ...]) -> dict[str, object]:
    return {"supported": bool(on), **{n: {"supported": n in on} for n in names}}


def model_catalog_entry(info: ModelSpec) -> dict[str, object]:
    """The model as the Models API lists it (`GET /v1/models`), capabilities included."""
    thinking_types = {
        "enabled": {"supported": info.thinking_budget},
        "adaptive": {"supported": info.thinking_adaptive},
    }
    return {
        "type": "model",
        "id": info.id,
        "display_name": info.display_name,
        "created_at": info.created_at,
        "max_input_tokens": info.context_window,
        "max_tokens": info.max_output,
        "capabilities": {
            "batch": {"supported": True},
            "citations": {"supported": True},
            "code_execution": {"supported": info.code_execution},
            "context_management": _flags(_EDITS_ALL, info.context_edits),
            "effort": _flags(_EFFORT_ALL, info.effort),
            "image_input": {"supported": True},
            "pdf_input": {"supported": True},
            "structured_outputs": {"supported": info.structured_outputs},
            "thinking": {
                "supported": info.thinking_budget or info.thinking_adaptive,
                "types": thinking_types,
            },
        },
    }
