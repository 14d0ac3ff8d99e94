"""An MCP tool's input schema as agentkit's executor uses it: validation and lint.

The server's JSON schema is sent to the model as it is; the executor validates the model's
input against it (with `jsonschema`, which the `mcp` package depends on) before the call
leaves for the server, so a bad call is answered at once with per-field errors, as for a
`@tool` function.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import jsonschema
import jsonschema.exceptions
import jsonschema.validators
import pydantic
import pydantic_core

from ..tools import FunctionSchema, LintIssue
from ..tools._schema import Parameter

__all__ = ["MCPInputSchema", "input_schema", "schema_lint"]

# The API's rule for tool names.
NAME_RE = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")

_PARAMETERS = (
    Parameter("arguments", positional_only=False, role="argument"),
    Parameter("ctx", positional_only=False, role="context"),
)


@dataclass(frozen=True, eq=False)
class MCPInputSchema(FunctionSchema):
    """A `FunctionSchema` whose input is checked against the server's JSON schema.

    `validate` returns `{"arguments": <the input>}`: the MCP tool's function takes the whole
    input as one dict and its `RunContext`.
    """

    validator: jsonschema.protocols.Validator | None = field(default=None, repr=False)

    def validate(self, arguments: object) -> dict[str, object]:
        """Check the model's input against the server's schema.

        Raises:
            pydantic.ValidationError: One line error per schema violation.
        """
        if not isinstance(arguments, Mapping):
            raise _validation_error(self.name, [((), "Input should be an object", arguments)])
        if self.validator is not None:
            errors = sorted(self.validator.iter_errors(dict(arguments)), key=lambda e: e.path)
            if errors:
                found = [(tuple(e.absolute_path), e.message, e.instance) for e in errors]
                raise _validation_error(self.name, found)
        return {"arguments": dict(arguments)}


def _validation_error(
    name: str, errors: list[tuple[tuple[str | int, ...], str, object]]
) -> pydantic.ValidationError:
    details: list[pydantic_core.InitErrorDetails] = [
        {
            "type": pydantic_core.PydanticCustomError("json_schema", "{message}", {"message": m}),
            "loc": loc,
            "input": value,
        }
        for loc, m, value in errors
    ]
    return pydantic.ValidationError.from_exception_data(name, details)


def input_schema(name: str, description: str, schema: dict[str, object]) -> MCPInputSchema:
    """The executor's schema for one MCP tool.

    An invalid JSON schema gets no validator (the server judges the input) and a lint finding.
    """
    validator: jsonschema.protocols.Validator | None
    try:
        cls = jsonschema.validators.validator_for(schema)
        cls.check_schema(schema)
        validator = cls(schema)
    except jsonschema.exceptions.SchemaError:
        validator = None
    return MCPInputSchema(
        input_schema=schema,
        name=name,
        description=description,
        parameters=_PARAMETERS,
        lint_issues=tuple(schema_lint(description, schema, validator is not None)),
        model=pydantic.BaseModel,
        validator=validator,
    )


def schema_lint(description: str, schema: Mapping[str, object], valid: bool) -> list[LintIssue]:
    """What the model may not be told by a server's tool definition."""
    issues: list[LintIssue] = []
    if not valid:
        issues.append(LintIssue("invalid-schema", "the input schema is not a valid JSON schema"))
    if schema.get("type") != "object":
        issues.append(LintIssue("not-an-object", "the input schema's type is not 'object'"))
    properties = schema.get("properties")
    if isinstance(properties, Mapping):
        for param, spec in properties.items():
            if not isinstance(spec, Mapping) or not spec.get("description"):
                issues.append(
                    LintIssue(
                        "undocumented-parameter",
                        f"parameter {param!r} has no description",
                        parameter=str(param),
                    )
                )
    if not description:
        issues.insert(0, LintIssue("no-description", "the tool has no description"))
    return issues
