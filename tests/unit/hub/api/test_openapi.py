"""The OpenAPI document built from the operations table, without an app or a database."""

from __future__ import annotations

from typing import Any

import pytest

from hub.api.openapi import OPERATIONS, openapi_document

DOCUMENT = openapi_document(tuple(sorted(OPERATIONS)))


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for value in node.values() for r in _refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in _refs(value)]
    return []


def test_every_reference_names_a_component() -> None:
    """A $ref anywhere in the document points at a schema the document holds."""
    schemas = DOCUMENT["components"]["schemas"]
    refs = _refs(DOCUMENT)
    assert refs
    for ref in refs:
        assert ref.startswith("#/components/schemas/"), ref
        assert ref.removeprefix("#/components/schemas/") in schemas, ref


def test_every_path_parameter_is_declared() -> None:
    """Each {name} in a path has a required path parameter of that name, and no other."""
    for path, operations in DOCUMENT["paths"].items():
        named = {part[1:-1] for part in path.split("/") if part.startswith("{")}
        for method, operation in operations.items():
            declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert declared == named, (method, path)


@pytest.mark.parametrize(("method", "path"), sorted(OPERATIONS))
def test_each_operation_answers_and_fails_in_documented_shapes(method: str, path: str) -> None:
    """A success answer with a schema; every error answer is problem+json."""
    responses = DOCUMENT["paths"][path][method]["responses"]
    assert any(code.startswith("2") for code in responses)
    for code, response in responses.items():
        [(media, content)] = response["content"].items()
        assert content.get("schema"), (method, path, code)
        if code.startswith("4"):
            assert media == "application/problem+json", (method, path, code)


def test_public_routes_ask_for_no_key_and_others_for_a_bearer() -> None:
    """Health, metrics, this document and the callbacks need no API key; the rest do."""
    for (method, path), operation in OPERATIONS.items():
        shown = DOCUMENT["paths"][path][method]
        assert ("security" in shown and shown["security"] == []) == operation.public, path
    assert DOCUMENT["security"] == [{"bearer": []}]
