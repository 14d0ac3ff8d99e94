"""Schemas, descriptions, validation and lint of `function_schema` (agentkit/_schema.py)."""

from __future__ import annotations

import dataclasses
import enum
import json
from collections.abc import Callable
from typing import Annotated, Any, Literal, Optional, Union

import docstring_parser
import jsonschema
import pydantic
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, Field
from recordings import load
from typing_extensions import TypedDict

from agentkit import RunContext, ToolDefinitionError, tool
from agentkit.tools import function_schema, strict_schema_problems


class Color(enum.Enum):
    red = "red"
    blue = "blue"


class Address(BaseModel):
    """A postal address."""

    street: str
    zip: str = Field(description="Postal code.")


@dataclasses.dataclass
class Point:
    x: float
    y: float


class Filter(TypedDict):
    field: str
    value: int


class Tree(BaseModel):
    label: str
    children: list[Tree] = []


def walk_schema(node: Any) -> list[dict[str, Any]]:
    """Every dict in a schema, to check properties that must hold everywhere."""
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        found.append(node)
        for value in node.values():
            found.extend(walk_schema(value))
    elif isinstance(node, list):
        for value in node:
            found.extend(walk_schema(value))
    return found


def assert_valid_2020_12(schema: dict[str, Any]) -> None:
    jsonschema.Draft202012Validator.check_schema(schema)
    # Every $ref resolves inside the schema.
    for node in walk_schema(schema):
        ref = node.get("$ref")
        if isinstance(ref, str):
            assert ref.startswith("#/$defs/")
            assert ref.removeprefix("#/$defs/") in schema["$defs"]


# --- a table of signatures and their literal schemas -------------------------------------------


def f_scalars(a: str, b: int, c: float, d: bool) -> None:
    pass


def f_defaults(a: str = "x", n: int = 3, tags: list[str] = []) -> None:  # noqa: B006
    pass


def f_optional(limit: Optional[int] = None, name: str | None = None) -> None:  # noqa: UP045
    pass


def f_literal_enum(units: Literal["c", "f"] = "c", color: Color = Color.red) -> None:
    pass


def f_nested(addr: Address, point: Point, filt: Filter) -> None:
    pass


def f_containers(
    m: dict[str, int],
    pair: tuple[int, str],
    u: Union[int, str],  # noqa: UP007
    ids: set[int],
) -> None:
    pass


def f_annotated(
    n: Annotated[int, Field(ge=1, le=10, description="How many.")],
    s: Annotated[str, "Plain text description."],
    p: Annotated[str, Field(pattern=r"^[a-z]+$")],
) -> None:
    pass


def f_shadowing(json: str, model_config: int, schema: bool = False) -> None:
    pass


def f_positional(a: int, /, b: int, *, c: int) -> None:
    pass


def f_context(ctx: RunContext[dict[str, int]], q: str, other: RunContext = None) -> None:  # type: ignore[assignment]
    pass


SCHEMA_TABLE: list[tuple[Any, dict[str, Any]]] = [
    (
        f_scalars,
        {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "a": {"type": "string"},
                "b": {"type": "integer"},
                "c": {"type": "number"},
                "d": {"type": "boolean"},
            },
            "required": ["a", "b", "c", "d"],
        },
    ),
    (
        f_defaults,
        {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "a": {"default": "x", "type": "string"},
                "n": {"default": 3, "type": "integer"},
                "tags": {"default": [], "items": {"type": "string"}, "type": "array"},
            },
            "required": [],
        },
    ),
    (
        f_optional,
        {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "limit": {"anyOf": [{"type": "integer"}, {"type": "null"}], "default": None},
                "name": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None},
            },
            "required": [],
        },
    ),
    (
        f_literal_enum,
        {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "units": {"default": "c", "enum": ["c", "f"], "type": "string"},
                "color": {"$ref": "#/$defs/Color", "default": "red"},
            },
            "required": [],
            "$defs": {"Color": {"enum": ["red", "blue"], "type": "string"}},
        },
    ),
    (
        f_nested,
        {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "addr": {"$ref": "#/$defs/Address"},
                "point": {"$ref": "#/$defs/Point"},
                "filt": {"$ref": "#/$defs/Filter"},
            },
            "required": ["addr", "point", "filt"],
            "$defs": {
                "Address": {
                    "description": "A postal address.",
                    "properties": {
                        "street": {"type": "string"},
                        "zip": {"description": "Postal code.", "type": "string"},
                    },
                    "required": ["street", "zip"],
                    "type": "object",
                },
                "Filter": {
                    "additionalProperties": False,
                    "properties": {"field": {"type": "string"}, "value": {"type": "integer"}},
                    "required": ["field", "value"],
                    "type": "object",
                },
                "Point": {
                    "additionalProperties": False,
                    "properties": {"x": {"type": "number"}, "y": {"type": "number"}},
                    "required": ["x", "y"],
                    "type": "object",
                },
            },
        },
    ),
    (
        f_containers,
        {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "m": {"additionalProperties": {"type": "integer"}, "type": "object"},
                "pair": {
                    "maxItems": 2,
                    "minItems": 2,
                    "prefixItems": [{"type": "integer"}, {"type": "string"}],
                    "type": "array",
                },
                "u": {"anyOf": [{"type": "integer"}, {"type": "string"}]},
                "ids": {"items": {"type": "integer"}, "type": "array", "uniqueItems": True},
            },
            "required": ["m", "pair", "u", "ids"],
        },
    ),
    (
        f_annotated,
        {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "n": {
                    "description": "How many.",
                    "maximum": 10,
                    "minimum": 1,
                    "type": "integer",
                },
                "s": {"description": "Plain text description.", "type": "string"},
                "p": {"pattern": "^[a-z]+$", "type": "string"},
            },
            "required": ["n", "s", "p"],
        },
    ),
    (
        f_shadowing,
        {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "json": {"type": "string"},
                "model_config": {"type": "integer"},
                "schema": {"default": False, "type": "boolean"},
            },
            "required": ["json", "model_config"],
        },
    ),
    (
        f_positional,
        {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "a": {"type": "integer"},
                "b": {"type": "integer"},
                "c": {"type": "integer"},
            },
            "required": ["a", "b", "c"],
        },
    ),
    (
        f_context,
        {
            "type": "object",
            "additionalProperties": False,
            "properties": {"q": {"type": "string"}},
            "required": ["q"],
        },
    ),
]


@pytest.mark.parametrize(
    ("func", "expected"), SCHEMA_TABLE, ids=lambda v: getattr(v, "__name__", "")
)
def test_schema_table(func: Any, expected: dict[str, Any]) -> None:
    if func is f_context:
        with pytest.raises(ToolDefinitionError) as info:
            function_schema(func)
        assert info.value.problems == [
            "parameter 'other': only one parameter can take the RunContext"
        ]
        return
    schema = function_schema(func).input_schema
    assert schema == expected
    assert_valid_2020_12(schema)
    assert not any(
        "title" in node for node in walk_schema(schema) if "type" in node or "$ref" in node
    )


def test_context_parameter_is_left_out_and_named() -> None:
    def search(q: str, ctx: RunContext[int]) -> None:
        pass

    fs = function_schema(search)
    assert fs.input_schema["properties"] == {"q": {"type": "string"}}
    assert fs.context_parameter == "ctx"
    args, kwargs = fs.bind(fs.validate({"q": "x"}), {"ctx": "CTX"})
    assert (args, kwargs) == ([], {"q": "x", "ctx": "CTX"})


def test_positional_only_parameters_are_passed_positionally() -> None:
    fs = function_schema(f_positional)
    assert fs.bind(fs.validate({"a": 1, "b": 2, "c": 3}), {}) == ([1], {"b": 2, "c": 3})


def test_a_property_called_title_is_kept() -> None:
    def note(title: str, body: str) -> None:
        pass

    assert list(function_schema(note).input_schema["properties"]) == ["title", "body"]


# --- docstring styles ---------------------------------------------------------------------------

GOOGLE = """Get the weather.

    Looks it up in the national service.

    Args:
        city: The city name.
        days: How many days ahead.

    Returns:
        A forecast text.

    Raises:
        ValueError: If the city is unknown.
    """

GOOGLE_NO_BLANK = """Get the weather.
    Args:
        city: The city name.
        days: How many days ahead.
    Returns:
        A forecast text.
    Raises:
        ValueError: If the city is unknown.
    """

GOOGLE_BLANK_AFTER_ARGS = """Get the weather.

    Args:

        city: The city name.
        days: How many days ahead.

    Returns:
        A forecast text.
    """

NUMPY = """Get the weather.

    Looks it up in the national service.

    Parameters
    ----------
    city : str
        The city name.
    days : int
        How many days ahead.

    Returns
    -------
    str
        A forecast text.

    Raises
    ------
    ValueError
        If the city is unknown.
    """

REST = """Get the weather.

    Looks it up in the national service.

    :param city: The city name.
    :param days: How many days ahead.
    :returns: A forecast text.
    :raises ValueError: If the city is unknown.
    """

EPYDOC = """Get the weather.

    Looks it up in the national service.

    @param city: The city name.
    @param days: How many days ahead.
    @return: A forecast text.
    @raise ValueError: If the city is unknown.
    """


def weather_with(doc: str) -> Any:
    def get_weather(city: str, days: int = 1) -> str:
        return city

    get_weather.__doc__ = doc
    return get_weather


@pytest.mark.parametrize(
    ("doc", "description"),
    [
        (GOOGLE, "Get the weather.\n\nLooks it up in the national service."),
        (GOOGLE_NO_BLANK, "Get the weather."),
        (GOOGLE_BLANK_AFTER_ARGS, "Get the weather."),
        (NUMPY, "Get the weather.\n\nLooks it up in the national service."),
        (REST, "Get the weather.\n\nLooks it up in the national service."),
        (EPYDOC, "Get the weather.\n\nLooks it up in the national service."),
    ],
    ids=["google", "google-no-blank", "google-blank-after-args", "numpy", "rest", "epydoc"],
)
def test_docstring_styles(doc: str, description: str) -> None:
    fs = function_schema(weather_with(doc))
    assert fs.description == description
    assert fs.input_schema == {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "city": {"description": "The city name.", "type": "string"},
            "days": {"default": 1, "description": "How many days ahead.", "type": "integer"},
        },
        "required": ["city"],
    }
    text = json.dumps(fs.input_schema) + fs.description
    for leaked in ("forecast", "unknown", "Returns", "Raises", "Args", ":param", "@param"):
        assert leaked not in text
    assert fs.lint_issues == ()


def test_no_docstring_gives_empty_description() -> None:
    def f(x: int) -> None:
        pass

    fs = function_schema(f)
    assert fs.description == ""
    assert [i.code for i in fs.lint_issues] == ["no-description", "undocumented-parameter"]


def test_examples_section_reaches_the_description() -> None:
    def f(x: int) -> None:
        """Double a number.

        Args:
            x: The number.

        Examples:
            f(2) gives 4.
        """

    assert function_schema(f).description == "Double a number.\n\nExamples:\nf(2) gives 4."


def test_explicit_name_and_description_win() -> None:
    fs = function_schema(weather_with(GOOGLE), name="forecast", description="Custom.")
    assert (fs.name, fs.description) == ("forecast", "Custom.")


# --- agent-frameworks §3 probes -----------------------------------------------------------------


class ProbeAddress(BaseModel):
    street: str
    city: str


PROBE_DOCS = {
    "google": """Look up a city.

        Args:
            city: The city to look up.
            units: Temperature units.
            limit: Maximum number of results.
            color: Marker color.
            addr: Street address to start from.
        """,
    "google-no-blank": """Look up a city.
        Args:
            city: The city to look up.
            units: Temperature units.
            limit: Maximum number of results.
            color: Marker color.
            addr: Street address to start from.
        """,
    "sphinx": """Look up a city.

        :param city: The city to look up.
        :param units: Temperature units.
        :param limit: Maximum number of results.
        :param color: Marker color.
        :param addr: Street address to start from.
        """,
    "numpy": """Look up a city.

        Parameters
        ----------
        city : str
            The city to look up.
        units : str
            Temperature units.
        limit : int, optional
            Maximum number of results.
        color : Color
            Marker color.
        addr : ProbeAddress, optional
            Street address to start from.
        """,
}

PROBE_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "city": {"description": "The city to look up.", "type": "string"},
        "units": {
            "default": "c",
            "description": "Temperature units.",
            "enum": ["c", "f"],
            "type": "string",
        },
        "limit": {
            "anyOf": [{"type": "integer"}, {"type": "null"}],
            "default": None,
            "description": "Maximum number of results.",
        },
        "color": {"$ref": "#/$defs/Color", "default": "red", "description": "Marker color."},
        "tags": {
            "default": [],
            "description": "Tags to attach.",
            "items": {"type": "string"},
            "type": "array",
        },
        "addr": {
            "anyOf": [{"$ref": "#/$defs/ProbeAddress"}, {"type": "null"}],
            "default": None,
            "description": "Street address to start from.",
        },
    },
    "required": ["city"],
    "$defs": {
        "Color": {"enum": ["red", "blue"], "type": "string"},
        "ProbeAddress": {
            "properties": {"street": {"type": "string"}, "city": {"type": "string"}},
            "required": ["street", "city"],
            "type": "object",
        },
    },
}


def probe(
    city: str,
    units: Literal["c", "f"] = "c",
    limit: Optional[int] = None,  # noqa: UP045
    color: Color = Color.red,
    tags: Annotated[list[str], Field(description="Tags to attach.")] = [],  # noqa: B006
    addr: ProbeAddress | None = None,
) -> str:
    return city


@pytest.mark.parametrize("style", list(PROBE_DOCS))
def test_framework_probe(style: str) -> None:
    probe.__doc__ = PROBE_DOCS[style]
    fs = function_schema(probe)
    assert fs.description == "Look up a city."
    assert fs.input_schema == PROBE_SCHEMA
    assert fs.lint_issues == ()
    assert_valid_2020_12(fs.input_schema)


def test_annotated_probe() -> None:
    def f(
        name: Annotated[str, "The name to greet."],
        count: Annotated[int, Field(ge=1, le=10, description="Times to greet.")] = 1,
    ) -> str:
        """Greet someone."""
        return name * count

    fs = function_schema(f)
    assert fs.input_schema["properties"] == {
        "name": {"description": "The name to greet.", "type": "string"},
        "count": {
            "default": 1,
            "description": "Times to greet.",
            "maximum": 10,
            "minimum": 1,
            "type": "integer",
        },
    }
    with pytest.raises(pydantic.ValidationError):
        fs.validate({"name": "x", "count": 11})


# --- strict -------------------------------------------------------------------------------------


def test_strict_schema_closes_every_object_and_moves_constraints() -> None:
    def f(
        n: Annotated[int, Field(ge=1, le=10, description="How many.")],
        word: Annotated[str, Field(min_length=2)],
        addr: Address,
        addrs: list[Address] = [],  # noqa: B006
        when: str | None = None,
    ) -> None:
        """Do it."""

    fs = function_schema(f, strict=True)
    assert fs.input_schema == {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "n": {"description": "How many. (minimum: 1, maximum: 10)", "type": "integer"},
            "word": {"description": "(minLength: 2)", "type": "string"},
            "addr": {"$ref": "#/$defs/Address"},
            "addrs": {"default": [], "items": {"$ref": "#/$defs/Address"}, "type": "array"},
            "when": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None},
        },
        # Optional parameters stay optional: the API does not force every property required.
        "required": ["n", "word", "addr"],
        "$defs": {
            "Address": {
                "additionalProperties": False,
                "description": "A postal address.",
                "properties": {
                    "street": {"type": "string"},
                    "zip": {"description": "Postal code.", "type": "string"},
                },
                "required": ["street", "zip"],
                "type": "object",
            }
        },
    }
    assert strict_schema_problems(fs.input_schema) == []
    assert_valid_2020_12(fs.input_schema)
    for node in walk_schema(fs.input_schema):
        if node.get("type") == "object":
            assert node["additionalProperties"] is False
    # The constraint left the schema but validation still enforces it.
    with pytest.raises(pydantic.ValidationError):
        fs.validate({"n": 11, "word": "ab", "addr": {"street": "s", "zip": "z"}})


class Cat(BaseModel):
    kind: Literal["cat"]
    lives: int


class Dog(BaseModel):
    kind: Literal["dog"]
    good: bool


def test_strict_turns_discriminated_unions_into_any_of() -> None:
    def adopt(pet: Annotated[Cat | Dog, Field(discriminator="kind")]) -> None:
        pass

    loose = function_schema(adopt).input_schema["properties"]["pet"]
    assert loose == {
        "discriminator": {
            "mapping": {"cat": "#/$defs/Cat", "dog": "#/$defs/Dog"},
            "propertyName": "kind",
        },
        "oneOf": [{"$ref": "#/$defs/Cat"}, {"$ref": "#/$defs/Dog"}],
    }
    fs = function_schema(adopt, strict=True)
    assert fs.input_schema["properties"]["pet"] == {
        "anyOf": [{"$ref": "#/$defs/Cat"}, {"$ref": "#/$defs/Dog"}]
    }
    assert fs.input_schema["$defs"]["Dog"] == {
        "additionalProperties": False,
        "properties": {"kind": {"const": "dog", "type": "string"}, "good": {"type": "boolean"}},
        "required": ["kind", "good"],
        "type": "object",
    }
    assert strict_schema_problems(fs.input_schema) == []
    assert_valid_2020_12(fs.input_schema)
    assert fs.validate({"pet": {"kind": "dog", "good": True}}) == {
        "pet": Dog(kind="dog", good=True)
    }


def test_strict_refuses_open_objects_and_recursion() -> None:
    def f(m: dict[str, int], tree: Tree) -> None:
        pass

    with pytest.raises(ToolDefinitionError) as info:
        function_schema(f, strict=True)
    assert info.value.problems == [
        "strict: #/properties/m is an open-ended object (a dict); strict tool use needs "
        "declared properties",
        "strict: recursive schema through $defs/Tree is not supported",
    ]


def test_strict_problems_of_a_hand_written_schema() -> None:
    schema = {
        "type": "object",
        "properties": {
            "a": {"type": "integer", "minimum": 0},
            "b": {"oneOf": [{"type": "string"}]},
        },
    }
    assert strict_schema_problems(schema) == [
        "strict: # must set additionalProperties to false",
        "strict: #/properties/a uses unsupported keyword 'minimum'",
        "strict: #/properties/b uses unsupported keyword 'oneOf'",
    ]


# --- definition errors and lint ------------------------------------------------------------------


class NotAType:
    pass


def test_definition_error_lists_every_problem() -> None:
    def bad(*args: int, a, b: NotAType, c: Nope, **kw: int) -> None:  # type: ignore[no-untyped-def, name-defined]  # noqa: F821
        pass

    with pytest.raises(ToolDefinitionError) as info:
        function_schema(bad, name="bad tool")
    assert info.value.problems == [
        "name 'bad tool' must match ^[a-zA-Z0-9_-]{1,64}$",
        "parameter 'c': cannot resolve annotation 'Nope' (name 'Nope' is not defined)",
        "*args is not supported: the model passes named arguments",
        "parameter 'a' has no type annotation",
        "**kw is not supported: every argument needs a declared type",
        "parameter 'b': unsupported type NotAType (pydantic cannot validate it)",
    ]
    assert str(info.value).startswith("cannot make a tool of 'bad tool':\n  - name 'bad tool'")


def test_types_without_json_schema_are_refused() -> None:
    def f(fn: Callable[[int], int]) -> None:
        pass

    with pytest.raises(ToolDefinitionError) as info:
        function_schema(f)
    assert info.value.problems == [
        "parameter 'fn': unsupported type Callable[[int], int] (it has no JSON schema)"
    ]


def test_generators_are_refused() -> None:
    def gen(x: int) -> Any:
        yield x

    with pytest.raises(ToolDefinitionError, match="generator functions cannot be tools"):
        function_schema(gen)


def test_lint_findings() -> None:
    def f(
        a: int,
        b: Annotated[int, Field(description="From the field.")],
        c: Annotated[str, "one", "two"],
        d: int | None,
    ) -> None:
        """Do things.

        Args:
            b: From the docstring.
            c: Returns: nothing
            ghost: Not a parameter.
        """

    assert [str(i) for i in function_schema(f).lint_issues] == [
        "description-lost: parameter 'b': the docstring description is ignored because the "
        "annotation has one",
        "description-lost: parameter 'c': text 'two' is ignored",
        "description-lost: parameter 'c': the docstring description is ignored because the "
        "annotation has one",
        "nullable-required: parameter 'd' accepts None but has no default, so it is required",
        "undocumented-parameter: parameter 'a' has no description",
        "undocumented-parameter: parameter 'd' has no description",
        "description-lost: the docstring documents 'ghost', which is not a parameter",
    ]


class Opaque:
    def __repr__(self) -> str:
        return "Opaque()"


def test_lint_reports_a_default_left_out_of_the_schema() -> None:
    def f(x: Any = Opaque()) -> None:  # noqa: B008
        """Do it.

        Args:
            x: Anything.
        """

    fs = function_schema(f)
    assert fs.input_schema["properties"] == {"x": {"description": "Anything."}}
    assert [str(i) for i in fs.lint_issues] == [
        "schema-warning: Default value Opaque() is not JSON serializable; excluding default "
        "from JSON schema [non-serializable-default]"
    ]


def test_an_unparsable_docstring_becomes_the_description(monkeypatch: pytest.MonkeyPatch) -> None:
    # docstring-parser's auto mode rarely fails; simulate it to check the fallback.
    def fail(text: str) -> Any:
        raise docstring_parser.ParseError("bad section")

    monkeypatch.setattr(docstring_parser, "parse", fail)

    def f(x: int) -> None:
        """Do it.

        Args:
            x: A number.
        """

    fs = function_schema(f)
    assert fs.description == "Do it.\n\nArgs:\n    x: A number."
    assert [i.code for i in fs.lint_issues] == [
        "docstring-unparsed",
        "leaked-section",
        "undocumented-parameter",
    ]


def test_lint_finds_a_leaked_section_header() -> None:
    def f(x: int) -> None:
        pass

    fs = function_schema(f, description="Do it.\n\nArgs:\n    x: a number")
    assert [i.code for i in fs.lint_issues] == ["leaked-section", "undocumented-parameter"]


# --- validation ---------------------------------------------------------------------------------


def test_validation_is_lax_and_rejects_unknown_keys() -> None:
    fs = function_schema(probe)
    values = fs.validate({"city": "Oslo", "limit": "3", "color": "blue"})
    assert values == {
        "city": "Oslo",
        "units": "c",
        "limit": 3,
        "color": Color.blue,
        "tags": [],
        "addr": None,
    }
    with pytest.raises(pydantic.ValidationError) as info:
        fs.validate({"city": "Oslo", "extra": 1})
    assert info.value.errors()[0]["loc"] == ("extra",)
    # Only the parameter names are accepted, never the model's internal field names.
    with pytest.raises(pydantic.ValidationError) as info:
        fs.validate({"a0": "Oslo"})
    assert [e["loc"] for e in info.value.errors()] == [("city",), ("a0",)]


def test_mutable_defaults_are_not_shared() -> None:
    fs = function_schema(probe)
    first = fs.validate({"city": "a"})
    first["tags"].append("x")
    assert fs.validate({"city": "a"})["tags"] == []


@dataclasses.dataclass
class Item:
    name: str
    qty: int


class Order(BaseModel):
    items: list[Item]
    note: str | None = None
    rush: bool = False


def order(
    order: Order,
    color: Color,
    units: Literal["c", "f"],
    scores: dict[str, float],
    filt: Filter,
    tag: int | str,
    n: Annotated[int, Field(ge=0, le=100)] = 5,
) -> None:
    pass


ORDER_SCHEMA = function_schema(order)
ORDER_VALIDATOR = jsonschema.Draft202012Validator(ORDER_SCHEMA.input_schema)

# Values for every parameter, built from the Python types, then sent as JSON.
arguments = st.fixed_dictionaries(
    {
        "order": st.builds(
            Order,
            items=st.lists(st.builds(Item, name=st.text(), qty=st.integers())),
            note=st.none() | st.text(),
            rush=st.booleans(),
        ),
        "color": st.sampled_from(Color),
        "units": st.sampled_from(["c", "f"]),
        "scores": st.dictionaries(st.text(), st.floats(allow_nan=False, allow_infinity=False)),
        "filt": st.fixed_dictionaries({"field": st.text(), "value": st.integers()}),
        "tag": st.integers() | st.text(),
        "n": st.integers(0, 100),
    }
)


@settings(max_examples=60, deadline=None)
@given(arguments)
def test_round_trip(values: dict[str, Any]) -> None:
    wire = json.loads(pydantic.TypeAdapter(dict[str, Any]).dump_json(values))
    ORDER_VALIDATOR.validate(wire)
    assert ORDER_SCHEMA.validate(wire) == values


# --- a real recording -------------------------------------------------------------------------


def test_matches_a_recorded_tool_definition() -> None:
    def retrieve_entity_info(name: str) -> str:
        """Get the knowledge about the given entity."""
        return name

    recorded = load("tools-nonstream-parallel-results").request
    assert recorded is not None
    assert [tool(retrieve_entity_info).to_param()] == recorded["body"]["tools"]
