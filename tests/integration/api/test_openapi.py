"""The OpenAPI document lists every API route the app serves, with its schemas."""

from __future__ import annotations

import pytest
from aiohttp import web

from hub.api.openapi import api_routes, openapi_document
from tests.conftest import Api

# Routes that take no body although they change something (the path says it all).
BODYLESS = {("post", "/v1/broadcasts/{id}/cancel")}


def _served(app: web.Application) -> tuple[tuple[str, str], ...]:
    return api_routes((r.method, r.resource.canonical) for r in app.router.routes() if r.resource)


async def test_every_route_is_documented_with_its_schemas(app: web.Application, api: Api) -> None:
    """Each API route in app.router has an operation with request and response schemas."""
    status, document = await api.get("/v1/openapi.json", key=None)
    assert status == 200
    served = _served(app)
    assert ("post", "/v1/broadcasts") in served and ("put", "/v1/lists/{name}") in served
    assert ("post", "/v1/callbacks/sms/aliyun/report") in served
    for method, path in served:
        operation = document["paths"][path][method]
        answers = {c: r for c, r in operation["responses"].items() if c.startswith("2")}
        assert answers, f"{method} {path}: no success response"
        for code, response in answers.items():
            schemas = [m["schema"] for m in response["content"].values()]
            assert schemas, f"{method} {path} {code}: no response schema"
        if method in ("post", "put") and (method, path) not in BODYLESS:
            body = operation["requestBody"]["content"]
            assert any("schema" in m for m in body.values()), f"{method} {path}: no body schema"
    documented = {(m, p) for p, ops in document["paths"].items() for m in ops}
    assert documented == set(served)  # nothing documented that is not served


async def test_pages_are_not_part_of_the_api(app: web.Application) -> None:
    """/wap/ and /supervise/ are pages for people: left out of the document."""
    assert not [p for _, p in _served(app) if p.startswith(("/wap", "/supervise"))]


def test_a_route_without_an_operation_stops_start_up() -> None:
    """A new route that nobody documented is named, not silently left out."""
    with pytest.raises(LookupError, match="GET /v1/new-thing has no operation"):
        openapi_document((("get", "/v1/new-thing"),))


def test_the_broadcast_body_comes_from_its_model() -> None:
    """POST /v1/broadcasts takes the BroadcastIn schema that validates it."""
    document = openapi_document((("post", "/v1/broadcasts"),))
    body = document["paths"]["/v1/broadcasts"]["post"]["requestBody"]["content"]
    schema = body["application/json"]["schema"]
    assert {"title", "audience"} <= set(schema["required"])
    assert schema["additionalProperties"] is False  # extra="forbid", as the model says
