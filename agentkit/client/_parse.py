"""Structured outputs for `messages.parse`: the request's `output_config.format` from a type or
a JSON schema, and the reply's text validated into `parsed_output` (pure steps).

The API constrains the reply to the schema (the same JSON Schema subset as strict tool use), so
the schema goes through `make_strict` first: objects closed (`additionalProperties: false`),
constraints outside the subset moved into descriptions, where the model still reads them, while
the validation here keeps enforcing them.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Generic, TypeVar

import httpx
from pydantic import PrivateAttr, TypeAdapter
from pydantic_core import from_json

from .._exceptions import ConfigurationError
from ..tools import make_strict
from ..types._message import Message
from ..types._params import MessageParseParams
from ._base import RequestSpec, model_parser
from ._messages import create_spec

__all__ = [
    "OutputFormat",
    "ParsedMessage",
    "output_config",
    "parse_spec",
    "parsed_message_parser",
]

T = TypeVar("T")

OutputFormat = type[T] | Mapping[str, object]
"""What `parse(output_format=...)` takes: a type pydantic validates (a model, a TypedDict,
`list[int]` ...) or a JSON schema."""


class ParsedMessage(Message, Generic[T]):
    """A `Message` whose text was validated against the request's output format.

    `parsed_output` is the validated value (a JSON schema's output is the decoded JSON); it is
    not part of the message's JSON, so the message goes back into a conversation unchanged.
    """

    _parsed_output: T | None = PrivateAttr(default=None)

    @property
    def parsed_output(self) -> T | None:
        """The reply's text as the output format's type (None when the reply has no text)."""
        return self._parsed_output


def _schema(output_format: OutputFormat[T]) -> dict[str, object]:
    if isinstance(output_format, Mapping):
        return copy.deepcopy(dict(output_format))
    try:
        schema: dict[str, object] = TypeAdapter(output_format).json_schema()
    except Exception as exc:  # pydantic's errors for a type it cannot describe
        raise TypeError(
            f"output_format={output_format!r}: pydantic cannot make a JSON schema of this type"
        ) from exc
    return schema


def output_config(
    output_format: OutputFormat[T], config: Mapping[str, object] | None
) -> dict[str, object]:
    """The request's `output_config` with `format` set from `output_format` (pure).

    Raises:
        TypeError: a type pydantic cannot make a schema of.
        ConfigurationError: a schema the API's structured outputs cannot take (an open-ended
            object such as a `dict[str, int]` field).
    """
    schema = _schema(output_format)
    problems = make_strict(schema)
    if problems:
        raise ConfigurationError(
            "output_format cannot be a structured output: " + "; ".join(problems)
        )
    return {**(config or {}), "format": {"type": "json_schema", "schema": schema}}


def parsed_message_parser(
    output_format: OutputFormat[T],
) -> Callable[[httpx.Response], ParsedMessage[T]]:
    """A `parse` function: the response as a `ParsedMessage` with its text validated.

    The function raises `APIResponseValidationError` when the body is not a message, and
    `ValueError` when the text does not validate (pydantic's `ValidationError` is one) or, for
    a JSON schema, is not JSON.
    """
    validate: Callable[[str], object]
    if isinstance(output_format, Mapping):
        validate = _json
    else:
        validate = TypeAdapter(output_format).validate_json
    as_parsed: Callable[[httpx.Response], ParsedMessage[T]] = model_parser(
        ParsedMessage[T].model_validate
    )

    def parse(response: httpx.Response) -> ParsedMessage[T]:
        message = as_parsed(response)
        if message.text:
            message._parsed_output = validate(message.text)  # type: ignore[assignment]  # T
        return message

    return parse


def _json(text: str) -> object:
    try:
        return from_json(text)
    except ValueError as exc:
        raise ValueError(f"the reply is not JSON: {text[:200]!r}") from exc


def parse_spec(
    params: MessageParseParams, output_format: OutputFormat[T], *, default_timeout: bool
) -> RequestSpec[ParsedMessage[T]]:
    """The request of `messages.parse` (pure): `create`'s, with `output_config.format` set.

    Raises:
        TypeError: an unknown keyword, or a type pydantic cannot make a schema of.
        ConfigurationError: a schema structured outputs cannot take.
    """
    config = output_config(output_format, params.get("output_config"))
    fields: MessageParseParams = {**params, "output_config": config}
    return create_spec(
        fields,
        parsed_message_parser(output_format),
        stream=False,
        default_timeout=default_timeout,
    )
