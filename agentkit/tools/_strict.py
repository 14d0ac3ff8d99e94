"""Fit a tool's JSON schema to the subset strict tool use accepts, and list where one does not fit.

Strict tool use (grammar-constrained sampling) supports a subset of JSON Schema. `make_strict`
rewrites a generated schema into that subset; `strict_schema_problems` checks any schema, hand
written ones included. Both walk the schema with `walk`, which `agentkit.tools._schema` also uses.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping

__all__ = ["make_strict", "strict_schema_problems", "walk"]

# Keywords whose value is a map of name -> subschema, a list of subschemas, or one subschema.
_SCHEMA_MAPS = frozenset(
    {"properties", "$defs", "definitions", "patternProperties", "dependentSchemas"}
)
_SCHEMA_LISTS = frozenset({"anyOf", "allOf", "oneOf", "prefixItems"})
_SCHEMA_ONE = frozenset(
    "items additionalProperties not contains if then else propertyNames unevaluatedProperties"
    " unevaluatedItems".split()
)

# Constraints outside the strict subset are moved into the description, where the model still
# reads them; validation keeps enforcing them, so a violation becomes an is_error result the
# model can correct.
_STRICT_UNSUPPORTED = tuple(
    "minimum maximum exclusiveMinimum exclusiveMaximum multipleOf minLength maxLength maxItems"
    " uniqueItems minProperties maxProperties".split()
)
_STRICT_FORMATS = frozenset(
    {"date-time", "time", "date", "duration", "email", "hostname", "uri", "ipv4", "ipv6", "uuid"}
)


def _subschemas(node: dict[str, object]) -> Iterator[tuple[str, dict[str, object]]]:
    """Yield (relative path, subschema) for each direct subschema of a schema node."""
    for key, value in node.items():
        if key in _SCHEMA_MAPS and isinstance(value, dict):
            for name, sub in value.items():
                if isinstance(sub, dict):
                    yield f"{key}/{name}", sub
        elif key in _SCHEMA_LISTS and isinstance(value, list):
            for i, sub in enumerate(value):
                if isinstance(sub, dict):
                    yield f"{key}/{i}", sub
        elif key in _SCHEMA_ONE and isinstance(value, dict):
            yield key, value


def walk(node: dict[str, object], path: str = "#") -> Iterator[tuple[str, dict[str, object]]]:
    """Yield (JSON pointer, node) for a schema node and every subschema below it, parents first.

    Args:
        node: A JSON schema (or subschema) as a dict.
        path: The pointer of `node` itself.

    Yields:
        Each node with its pointer; the nodes are the schema's own dicts, so callers may edit
        them.
    """
    yield path, node
    for rel, sub in _subschemas(node):
        yield from walk(sub, f"{path}/{rel}")


def make_strict(schema: dict[str, object]) -> list[str]:
    """Rewrite a schema in place into the subset strict tool use accepts; report what cannot be.

    Args:
        schema: A generated input schema, edited in place.

    Returns:
        One message per part of the schema that cannot be made strict.
    """
    problems: list[str] = []
    for path, node in walk(schema):
        if "oneOf" in node:  # pydantic's discriminated unions; the branches are exclusive anyway
            node["anyOf"] = node.pop("oneOf")
        node.pop("discriminator", None)
        moved = {k: node.pop(k) for k in _STRICT_UNSUPPORTED if k in node}
        min_items = node.get("minItems", 0)
        if isinstance(min_items, (int, float)) and min_items > 1:
            moved["minItems"] = node.pop("minItems")
        if "format" in node and node["format"] not in _STRICT_FORMATS:
            moved["format"] = node.pop("format")
        if moved:
            hint = ", ".join(f"{k}: {json.dumps(v)}" for k, v in moved.items())
            node["description"] = (
                f"{node['description']} ({hint})" if "description" in node else f"({hint})"
            )
        if node.get("type") == "object" or "properties" in node:
            extra = node.get("additionalProperties", False)
            if extra is not False or "properties" not in node:
                problems.append(
                    f"strict: {path} is an open-ended object (a dict); strict tool use needs "
                    "declared properties"
                )
            node["additionalProperties"] = False
    return problems


def strict_schema_problems(schema: Mapping[str, object]) -> list[str]:
    """List the ways a schema breaks the strict tool use subset of JSON Schema.

    Args:
        schema: An input schema.

    Returns:
        One message per problem; empty when the schema is valid for `strict: true`.
    """
    problems: list[str] = []
    node_schema = dict(schema)
    for path, node in walk(node_schema):
        if node.get("type") == "object" or "properties" in node:
            if node.get("additionalProperties") is not False:
                problems.append(f"strict: {path} must set additionalProperties to false")
        for key in (*_STRICT_UNSUPPORTED, "oneOf"):
            if key in node:
                problems.append(f"strict: {path} uses unsupported keyword {key!r}")
        ref = node.get("$ref")
        if isinstance(ref, str) and not ref.startswith("#/"):
            problems.append(f"strict: {path} has an external $ref {ref!r}")
    defs = node_schema.get("$defs")
    if not isinstance(defs, Mapping):
        defs = {}
    for name in defs:
        if _reaches(defs, name, f"#/$defs/{name}", set()):
            problems.append(f"strict: recursive schema through $defs/{name} is not supported")
    return problems


def _reaches(defs: Mapping[str, object], start: str, target: str, seen: set[str]) -> bool:
    """Whether the definition `start` refers (directly or not) to `target`."""
    definition = defs.get(start)
    if start in seen or not isinstance(definition, dict):
        return False
    seen.add(start)
    for _, node in walk(definition):
        ref = node.get("$ref")
        if ref == target:
            return True
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            if _reaches(defs, ref.removeprefix("#/$defs/"), target, seen):
                return True
    return False
