"""Turn a typed Python function and its docstring into a tool's input schema and argument validator.

This is the only code that looks at signatures. Types go through pydantic's public API (a model
built with `create_model`, one field per parameter); descriptions come from the docstring through
docstring-parser, which reads the Google, NumPy, reST/Sphinx and Epydoc styles. Every problem is
collected first and raised as one `ToolDefinitionError`, so a developer fixes a tool in one pass.
Fitting the schema to strict tool use is `agentkit.tools._strict`'s job.
"""

from __future__ import annotations

import functools
import inspect
import re
import typing
import warnings
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pydantic_core import PydanticUndefined

from .._exceptions import ToolDefinitionError
from ._context import RunContext
from ._strict import make_strict, strict_schema_problems, walk

if TYPE_CHECKING:  # typing_extensions has TypeForm from 4.13; only the type checker needs it
    import docstring_parser
    from pydantic import BaseModel
    from typing_extensions import TypeForm

__all__ = [
    "FunctionSchema",
    "LintIssue",
    "clean_schema",
    "function_schema",
    "strict_schema_problems",
]

# The API's rule for tool names.
_NAME_RE = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")

# A docstring section header (or reST/Epydoc field) that ended up in plain description text.
_LEAKED_SECTION_RE = re.compile(
    r"^\s*(?:(?:Args|Arguments|Parameters|Params|Keyword Args|Keyword Arguments|Other Parameters"
    r"|Returns?|Yields?|Raises|Exceptions?|Attributes)\s*:?\s*$|-{3,}\s*$|[:@](?:param|type|returns?"
    r"|rtype|raises?)\b)",
    re.MULTILINE,
)


@dataclass(frozen=True)
class LintIssue:
    """One finding of the schema lint: the tool works, but the model may be told less than meant.

    Attributes:
        code: A stable identifier, e.g. `"undocumented-parameter"`.
        message: A sentence for a human.
        parameter: The parameter concerned, if any.
    """

    code: str
    message: str
    parameter: str | None = None

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


ParameterRole = Literal["argument", "context", "injected"]


@dataclass(frozen=True)
class Parameter:
    """A parameter of the tool function and where its value comes from.

    Attributes:
        name: The parameter's name.
        positional_only: Whether it must be passed positionally.
        role: `"argument"` (from the model's input), `"context"` (the `RunContext`) or
            `"injected"` (a resource the runtime supplies).
    """

    name: str
    positional_only: bool
    role: ParameterRole


@dataclass(frozen=True, eq=False)
class FunctionSchema:
    """Everything derived from a function's signature and docstring.

    Attributes:
        name: The tool name.
        description: The tool description.
        input_schema: The JSON schema of the tool input (a fresh dict is never shared with callers
            of `Tool.to_param`).
        parameters: The function's parameters in order (without a method's receiver).
        lint_issues: What the schema lint found.
        model: The pydantic model that validates the input.
    """

    name: str
    description: str
    input_schema: dict[str, object]
    parameters: tuple[Parameter, ...]
    lint_issues: tuple[LintIssue, ...]
    model: type[BaseModel]

    @functools.cached_property
    def context_parameter(self) -> str | None:
        """The name of the parameter that receives the `RunContext`, if there is one."""
        for p in self.parameters:
            if p.role == "context":
                return p.name
        return None

    def validate(self, arguments: object) -> dict[str, object]:
        """Validate the model's input and return the argument values by parameter name.

        Args:
            arguments: The `input` of a `tool_use` block.

        Returns:
            One value per schema parameter, defaults filled in.

        Raises:
            pydantic.ValidationError: The input does not match the schema.
        """
        values = self.model.model_validate(arguments).__dict__
        return {name: values[field_name] for field_name, name in self._fields}

    @functools.cached_property
    def _fields(self) -> tuple[tuple[str, str], ...]:
        # Fields are named a0, a1, ... (the parameter name is the alias), so a parameter
        # called `json` or `model_config` cannot clash with BaseModel's attributes.
        arguments = [p.name for p in self.parameters if p.role == "argument"]
        return tuple((f"a{i}", name) for i, name in enumerate(arguments))

    def bind(
        self, arguments: Mapping[str, object], injected: Mapping[str, object]
    ) -> tuple[list[object], dict[str, object]]:
        """Arrange validated arguments and injected values as a call's `*args` and `**kwargs`.

        Args:
            arguments: The output of `validate`.
            injected: Values for the context and injected parameters, by name.

        Returns:
            Positional and keyword arguments for the function.
        """
        args: list[object] = []
        kwargs: dict[str, object] = {}
        for p in self.parameters:
            value = arguments[p.name] if p.role == "argument" else injected[p.name]
            if p.positional_only:
                args.append(value)
            else:
                kwargs[p.name] = value
        return args, kwargs


def function_schema(
    func: Callable[..., object],
    *,
    name: str | None = None,
    description: str | None = None,
    strict: bool = False,
    skip_receiver: bool = False,
    injected: Collection[str] = (),
) -> FunctionSchema:
    """Build the schema, validator and description of a tool from a function.

    Args:
        func: The function (sync or async).
        name: The tool name; defaults to the function's `__name__`.
        description: The tool description; defaults to the docstring's summary and body.
        strict: Make the schema valid for strict tool use.
        skip_receiver: Leave out the first parameter (`self` of a method).
        injected: Names of parameters the runtime fills in (resources); not in the schema.

    Returns:
        The function's schema.

    Raises:
        ToolDefinitionError: Listing every problem found.
    """
    # pydantic's model machinery loads when the first tool is defined, not at import (issue 18).
    from pydantic import Field

    tool_name = name if name is not None else getattr(func, "__name__", repr(func))
    problems: list[str] = []
    lint: list[LintIssue] = []
    if not _NAME_RE.match(tool_name):
        problems.append(f"name {tool_name!r} must match {_NAME_RE.pattern}")
    if inspect.isasyncgenfunction(func) or inspect.isgeneratorfunction(func):
        problems.append("generator functions cannot be tools; return the result instead")
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError) as exc:
        raise ToolDefinitionError(tool_name, [f"no inspectable signature: {exc}"]) from exc

    doc = _parse_docstring(inspect.getdoc(func) or "", lint)
    doc_params = {p.arg_name: p.description or "" for p in doc.params}
    hints = _type_hints(func, signature, problems)

    params: list[Parameter] = []
    fields: dict[str, tuple[TypeForm[object], object]] = {}
    field_names: dict[str, str] = {}
    sig_params = list(signature.parameters.values())
    if skip_receiver and sig_params:
        sig_params = sig_params[1:]
    for sp in sig_params:
        if sp.kind is sp.VAR_POSITIONAL:
            problems.append(f"*{sp.name} is not supported: the model passes named arguments")
            continue
        if sp.kind is sp.VAR_KEYWORD:
            problems.append(f"**{sp.name} is not supported: every argument needs a declared type")
            continue
        positional_only = sp.kind is sp.POSITIONAL_ONLY
        if sp.name in injected:
            params.append(Parameter(sp.name, positional_only, "injected"))
            continue
        annotation = hints.get(sp.name, sp.annotation)
        if _is_run_context(annotation):
            if any(p.role == "context" for p in params):
                problems.append(
                    f"parameter {sp.name!r}: only one parameter can take the RunContext"
                )
            params.append(Parameter(sp.name, positional_only, "context"))
            continue
        if annotation is inspect.Parameter.empty:
            problems.append(f"parameter {sp.name!r} has no type annotation")
            continue
        if sp.name not in hints:  # unresolvable annotation, already reported
            continue
        desc = _parameter_description(sp.name, annotation, doc_params.get(sp.name), lint)
        default = PydanticUndefined if sp.default is sp.empty else sp.default
        internal = f"a{len(fields)}"
        fields[internal] = (annotation, Field(default, alias=sp.name, description=desc))
        field_names[internal] = sp.name
        params.append(Parameter(sp.name, positional_only, "argument"))
        if sp.default is sp.empty and _is_nullable(annotation):
            lint.append(
                LintIssue(
                    "nullable-required",
                    f"parameter {sp.name!r} accepts None but has no default, so it is required",
                    sp.name,
                )
            )
    for extra in injected:
        if extra not in signature.parameters:
            problems.append(f"injected parameter {extra!r} is not a parameter of the function")

    # Build even when problems were found, so type errors are reported in the same pass.
    model, schema = _build(tool_name, fields, field_names, problems, lint)
    if model is not None and strict:
        problems.extend(make_strict(schema))
        problems.extend(strict_schema_problems(schema))

    tool_description = description if description is not None else _doc_description(doc)
    _lint_docs(tool_description, doc_params, params, schema, lint)
    if problems or model is None:
        raise ToolDefinitionError(tool_name, problems)
    return FunctionSchema(
        name=tool_name,
        description=tool_description,
        input_schema=schema,
        parameters=tuple(params),
        lint_issues=tuple(lint),
        model=model,
    )


def _parse_docstring(text: str, lint: list[LintIssue]) -> docstring_parser.Docstring:
    import docstring_parser  # the schema machinery loads when a tool is first defined

    try:
        return docstring_parser.parse(text)
    except docstring_parser.ParseError as exc:
        # Keep the whole text as the description rather than refuse the tool.
        lint.append(LintIssue("docstring-unparsed", f"the docstring could not be parsed: {exc}"))
        doc = docstring_parser.Docstring()
        doc.short_description = text.strip() or None
        return doc


def _type_hints(
    func: Callable[..., object], signature: inspect.Signature, problems: list[str]
) -> dict[str, TypeForm[object]]:
    """Resolve annotations (strings under `from __future__ import annotations` too)."""
    target = inspect.unwrap(func)
    try:
        return typing.get_type_hints(target, include_extras=True)
    except Exception:
        pass  # narrowed down per parameter below
    # Some annotation does not resolve; find which ones, so the error names each of them.
    globalns = getattr(target, "__globals__", {})
    hints: dict[str, TypeForm[object]] = {}
    for sp in signature.parameters.values():
        ann = sp.annotation
        if ann is sp.empty:
            continue
        if isinstance(ann, str):
            try:
                ann = eval(ann, globalns)  # the same evaluation get_type_hints performs
            except Exception as exc:
                problems.append(
                    f"parameter {sp.name!r}: cannot resolve annotation {sp.annotation!r} ({exc})"
                )
                continue
        hints[sp.name] = ann
    return hints


def _is_run_context(annotation: object) -> bool:
    """`RunContext`, `RunContext[D]`, optionally inside `Annotated` or `... | None`."""
    if typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    if annotation is RunContext or typing.get_origin(annotation) is RunContext:
        return True
    members = [a for a in typing.get_args(annotation) if a is not type(None)]
    return _is_nullable(annotation) and len(members) == 1 and _is_run_context(members[0])


def _is_nullable(annotation: object) -> bool:
    if typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation is None or type(None) in typing.get_args(annotation)


def _parameter_description(
    name: str, annotation: object, from_doc: str | None, lint: list[LintIssue]
) -> str | None:
    """Pick a parameter's description: `Field(description=...)`, then `Annotated[T, "text"]`,
    then the docstring. The explicit annotation wins because it sits next to the type."""
    from pydantic.fields import FieldInfo

    texts: list[str] = []
    field_desc: str | None = None
    if typing.get_origin(annotation) is typing.Annotated:
        for meta in typing.get_args(annotation)[1:]:
            if isinstance(meta, str):
                texts.append(meta)
            elif isinstance(meta, FieldInfo) and meta.description:
                field_desc = meta.description
    chosen = field_desc or (texts[0] if texts else None)
    dropped = texts[1:] if field_desc is None else texts
    for text in dropped:
        lint.append(
            LintIssue("description-lost", f"parameter {name!r}: text {text!r} is ignored", name)
        )
    if chosen is None:
        return from_doc or None
    if from_doc and from_doc.strip() != chosen.strip():
        lint.append(
            LintIssue(
                "description-lost",
                f"parameter {name!r}: the docstring description is ignored "
                "because the annotation has one",
                name,
            )
        )
    return chosen


def _doc_description(doc: docstring_parser.Docstring) -> str:
    from docstring_parser.common import DocstringExample

    parts = [doc.short_description, doc.long_description]
    # Examples help the model use the tool; Returns/Raises describe the Python function, not
    # the call the model makes, so they stay out.
    for meta in doc.meta:
        if isinstance(meta, DocstringExample) and meta.description:
            parts.append("Examples:\n" + meta.description)
    return "\n\n".join(p.strip() for p in parts if p and p.strip())


def _build(
    tool_name: str,
    fields: dict[str, tuple[TypeForm[object], object]],
    field_names: dict[str, str],
    problems: list[str],
    lint: list[LintIssue],
) -> tuple[type[BaseModel] | None, dict[str, object]]:
    """Create the validating model and its JSON schema, or explain which parameters fail."""
    from pydantic import ConfigDict, TypeAdapter, create_model
    from pydantic.errors import PydanticUserError
    from pydantic.json_schema import PydanticJsonSchemaWarning

    # Fields validate by alias (the parameter name) only, pydantic's default.
    config = ConfigDict(extra="forbid")
    # mypy matches a `**dict` against every keyword of create_model (`__doc__`, `__base__` ...),
    # so the field definitions go in as pydantic's own parameter type says: Any.
    definitions: dict[str, Any] = dict(fields)
    try:
        model = create_model(f"{tool_name}_input", __config__=config, **definitions)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", PydanticJsonSchemaWarning)
            schema = model.model_json_schema()
    except (PydanticUserError, TypeError, ValueError, NameError) as whole:
        # Build each parameter alone to name every one that fails.
        before = len(problems)
        for internal, (annotation, _) in fields.items():
            try:
                TypeAdapter(annotation).json_schema()
            except (PydanticUserError, TypeError, ValueError, NameError) as exc:
                problems.append(
                    f"parameter {field_names[internal]!r}: unsupported type "
                    f"{_type_name(annotation)} ({_why_unsupported(exc)})"
                )
        if len(problems) == before:  # each type works alone; say what failed together
            problems.append(f"cannot build the input schema: {_why_unsupported(whole)}")
        return None, {}
    for w in caught:
        lint.append(LintIssue("schema-warning", str(w.message)))
    clean_schema(schema)
    return model, schema


def _why_unsupported(exc: Exception) -> str:
    from pydantic.errors import PydanticInvalidForJsonSchema, PydanticSchemaGenerationError

    if isinstance(exc, PydanticInvalidForJsonSchema):
        return "it has no JSON schema"
    if isinstance(exc, PydanticSchemaGenerationError):
        return "pydantic cannot validate it"
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


def _type_name(annotation: object) -> str:
    if isinstance(annotation, type):
        return annotation.__qualname__
    return repr(annotation).replace("typing.", "").replace("collections.abc.", "")


def clean_schema(schema: dict[str, object]) -> None:
    """Tidy a pydantic JSON schema in place into a tool's `input_schema`.

    Drops pydantic's `title` noise (the tool name and property names already say it), makes
    `properties` and `required` explicit, forbids extra properties, and orders the keys
    (`type` first, `$defs` last).

    Args:
        schema: An object schema from pydantic (`TypeAdapter.json_schema()` or similar).
    """
    for _, node in walk(schema):
        node.pop("title", None)
    schema.setdefault("properties", {})
    schema.setdefault("required", [])
    schema["additionalProperties"] = False
    # Keep the key order stable and readable: type first, $defs last.
    ordered: dict[str, object] = {"type": "object"}
    ordered.update((k, v) for k, v in schema.items() if k not in ("type", "$defs"))
    if "$defs" in schema:
        ordered["$defs"] = schema["$defs"]
    schema.clear()
    schema.update(ordered)


def _lint_docs(
    description: str,
    doc_params: Mapping[str, str],
    params: list[Parameter],
    schema: Mapping[str, object],
    lint: list[LintIssue],
) -> None:
    if not description:
        lint.append(LintIssue("no-description", "the tool has no description"))
    elif _LEAKED_SECTION_RE.search(description):
        lint.append(
            LintIssue("leaked-section", "the description contains a docstring section header")
        )
    properties = schema.get("properties")
    names = {p.name for p in params}
    for p in params:
        if p.role != "argument":
            continue
        prop = properties.get(p.name) if isinstance(properties, Mapping) else None
        text = prop.get("description", "") if isinstance(prop, Mapping) else ""
        if not text:
            lint.append(
                LintIssue(
                    "undocumented-parameter", f"parameter {p.name!r} has no description", p.name
                )
            )
        elif _LEAKED_SECTION_RE.search(text):
            lint.append(
                LintIssue(
                    "leaked-section",
                    f"parameter {p.name!r}: the description contains a docstring section header",
                    p.name,
                )
            )
    for doc_name in doc_params:
        if doc_name not in names:
            lint.append(
                LintIssue(
                    "description-lost",
                    f"the docstring documents {doc_name!r}, which is not a parameter",
                    doc_name,
                )
            )
