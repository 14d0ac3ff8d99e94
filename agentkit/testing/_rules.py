"""The API's rules that a request's shape alone does not decide: per model, and inside values.

`model_problems` checks a body that already passed the shape check (`_schema`) against the
model table (`agentkit.types.find_model`) and against what its values hold: max_tokens against
the model's output limit, the thinking modes and effort levels the model has, temperature with
top_p, structured outputs, unique tool names, a `tool_choice` naming an offered tool, and image
bytes matching their declared media type. Messages are the API's own where known (recorded, or
quoted in public bug reports); the rest are ours and keyed with a trailing "*" in `_RULES`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from agentkit.types import ModelSpec

from ._media import decode_base64, image_info

__all__ = ["model_problems"]

_RULES: dict[str, str] = {
    "max_tokens": (
        "max_tokens: {n} > {limit}, which is the maximum allowed number of output tokens for "
        "{model}"
    ),
    "effort_level": (
        "This model does not support effort level '{level}'. Supported levels: {levels}."
    ),
    "effort*": "output_config.effort: This model does not support the effort parameter.",
    "thinking_type*": "thinking.type: '{type}' thinking is not supported by {model}.",
    "sampling": (
        "`temperature` and `top_p` cannot both be specified for this model. Please use only one."
    ),
    "structured*": "output_config.format: {model} does not support structured outputs.",
    "additional_properties": (
        "{path}: For 'object' type, 'additionalProperties' must be explicitly set to false"
    ),
    "unique_tools": "tools: Tool names must be unique.",
    "tool_choice*": "tool_choice.tool.name: Tool '{name}' not found in the provided tools.",
    "image_mismatch": (
        "{path}: The image was specified using the {declared} media type, but the image appears "
        "to be a {actual} image"
    ),
    "image_invalid*": "{path}: The image data is not a valid {declared} image.",
}


def _rule(key: str, **fields: object) -> str:
    return _RULES[key].format(**fields)


def _objects_without_closed_properties(schema: object) -> bool:
    """True when an object schema anywhere inside lacks `additionalProperties: false`."""
    if isinstance(schema, dict):
        kind = schema.get("type")
        is_object = kind == "object" or (isinstance(kind, list) and "object" in kind)
        if is_object and schema.get("additionalProperties") is not False:
            return True
        return any(_objects_without_closed_properties(v) for v in schema.values())
    if isinstance(schema, list):
        return any(_objects_without_closed_properties(v) for v in schema)
    return False


def _images(body: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Every base64 image source in the messages, with its error path."""
    for i, message in enumerate(body.get("messages") or []):
        content = message.get("content")
        if not isinstance(content, list):
            continue
        for k, block in enumerate(content):
            where = f"messages.{i}.content.{k}"
            inner: list[tuple[str, Any]] = [(where, block)]
            if block.get("type") == "tool_result" and isinstance(block.get("content"), list):
                inner = [
                    (f"{where}.tool_result.content.{j}", b) for j, b in enumerate(block["content"])
                ]
            for path, item in inner:
                source = item.get("source") if item.get("type") == "image" else None
                if isinstance(source, dict) and source.get("type") == "base64":
                    yield f"{path}.image.source.base64", source


def _image_problems(body: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    for path, source in _images(body):
        declared = source["media_type"]
        raw = decode_base64(source["data"])
        info = image_info(raw) if raw is not None else None
        if info is None:
            problems.append(_rule("image_invalid*", path=path, declared=declared))
        elif info[0] != declared:
            problems.append(_rule("image_mismatch", path=path, declared=declared, actual=info[0]))
    return problems


def _tool_problems(body: Mapping[str, Any]) -> list[str]:
    tools = body.get("tools") or []
    names = [t.get("name") for t in tools if t.get("name") is not None]
    problems: list[str] = []
    if len(names) != len(set(names)):
        problems.append(_rule("unique_tools"))
    for i, tool in enumerate(tools):
        if tool.get("strict") and _objects_without_closed_properties(tool.get("input_schema")):
            problems.append(_rule("additional_properties", path=f"tools.{i}.custom.input_schema"))
    choice = body.get("tool_choice")
    if isinstance(choice, dict) and choice.get("type") == "tool" and choice["name"] not in names:
        problems.append(_rule("tool_choice*", name=choice["name"]))
    return problems


def _model_rules(body: Mapping[str, Any], model: ModelSpec) -> list[str]:
    problems: list[str] = []
    max_tokens = body.get("max_tokens")
    if isinstance(max_tokens, int) and max_tokens > model.max_output:
        problems.append(_rule("max_tokens", n=max_tokens, limit=model.max_output, model=model.id))
    thinking = body.get("thinking") or {}
    kind = thinking.get("type")
    if (kind == "enabled" and not model.thinking_budget) or (
        kind == "adaptive" and not model.thinking_adaptive
    ):
        problems.append(_rule("thinking_type*", type=kind, model=model.id))
    config = body.get("output_config") or {}
    effort = config.get("effort")
    if effort is not None:
        if not model.effort:
            problems.append(_rule("effort*"))
        elif effort not in model.effort:
            levels = ", ".join(sorted(model.effort))
            problems.append(_rule("effort_level", level=effort, levels=levels))
    if body.get("temperature") is not None and body.get("top_p") is not None:
        if model.sampling_exclusive:
            problems.append(_rule("sampling"))
    for key in ("output_config", "output_format"):
        section = body.get(key) or {}
        schema_format = section.get("format") if key == "output_config" else section
        if not schema_format:
            continue
        if not model.structured_outputs:
            problems.append(_rule("structured*", model=model.id))
        elif _objects_without_closed_properties(schema_format.get("schema")):
            path = (
                "output_config.format.schema" if key == "output_config" else "output_format.schema"
            )
            problems.append(_rule("additional_properties", path=path))
    return problems


def model_problems(body: Mapping[str, Any], model: ModelSpec) -> list[str]:
    """The API's 400 messages for a well-shaped body sent to `model`, in the API's order.

    Args:
        body: A request body that passed the shape check.
        model: The model it names, from the model table.

    Returns:
        One message per problem; empty when there is none.
    """
    return [*_model_rules(body, model), *_tool_problems(body), *_image_problems(body)]
