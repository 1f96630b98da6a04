"""The OpenAPI document lists every API route the app serves, with its schemas."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aiohttp import web
from pydantic import BaseModel, TypeAdapter

from hub.api.openapi import OPERATIONS, Named, api_routes, openapi_document
from hub.keys import CLOCK, POOL, ROUTING
from hub.replies.evaluations import rate_case
from tests.conftest import ADMIN_KEY, SUPERVISOR_KEY, Api
from tests.integration import events as ev

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


def _adapter(model: Any) -> TypeAdapter[Any]:
    if isinstance(model, tuple):
        raise AssertionError("alternatives are request bodies, not answers")
    if isinstance(model, Named):
        return model.adapter
    return model if isinstance(model, TypeAdapter) else TypeAdapter(model)


async def test_answers_are_components_generated_from_the_models(app: web.Application) -> None:
    """Every JSON success answer is the schema pydantic generates for its model, by name."""
    document = openapi_document(_served(app))
    schemas = document["components"]["schemas"]
    for (method, path), operation in OPERATIONS.items():
        if path not in document["paths"]:
            continue  # not served by this app
        for status, answer in operation.answers.items():
            shown = document["paths"][path][method]["responses"][str(status)]
            schema = shown["content"][answer.media]["schema"]
            if isinstance(answer.model, type) and issubclass(answer.model, BaseModel):
                name = answer.model.__name__
                assert schema == {"$ref": f"#/components/schemas/{name}"}, (method, path)
                generated = answer.model.model_json_schema(
                    ref_template="#/components/schemas/{model}", by_alias=True
                )
                generated.pop("$defs", None)
                assert schemas[name] == generated
            else:
                assert schema, (method, path, status)


class _Recorder:
    """Calls the API and keeps each answer with the operation that documents it."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.seen: list[tuple[str, str, int, Any]] = []

    async def call(
        self, method: str, template: str, path: str, body: object = None, key: str = ADMIN_KEY
    ) -> Any:
        resp = await self.api.client.request(
            method,
            path,
            data=None if body is None else json.dumps(body, ensure_ascii=False).encode(),
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        )
        assert resp.status < 300, (method, path, resp.status, await resp.text())
        answer = await resp.json() if resp.content_type == "application/json" else await resp.text()
        self.seen.append((method.lower(), template, resp.status, answer))
        return answer


async def test_real_answers_match_their_documented_models(api: Api, app: web.Application) -> None:
    """What the routes answer for a worked case validates against the documented models."""
    r = _Recorder(api)
    await r.call(
        "PUT",
        "/v1/people/{person_id}",
        "/v1/people/p-head",
        {
            "name": "王局长",
            "mobile": "13900000001",
            "channels": ["sms"],
            "away": {
                "from": "2026-04-01T00:00:00+08:00",
                "to": "2026-04-03T00:00:00+08:00",
                "deputy": "p-sup",
            },
        },
    )
    await r.call(
        "PUT",
        "/v1/people/{person_id}",
        "/v1/people/p-sup",
        {"name": "赵监察", "mobile": "13900000002", "channels": ["sms"]},
    )
    await r.call(
        "PUT",
        "/v1/departments/{code}",
        "/v1/departments/SCJG",
        {"name": "市场监督管理局", "head": "p-head", "supervisors": ["p-sup"]},
    )
    events = [
        ev.accepted("OA-1", "2026-03-02T09:00:00+08:00"),
        ev.node_started("OA-1", "n1", "2026-03-02T09:10:00+08:00", limit=1),
        ev.accepted("OA-2", "2026-03-02T09:00:00+08:00"),
        ev.simple("case.picked_up", "OA-2", "2026-03-02T09:30:00+08:00"),
    ]
    await r.call("POST", "/v1/events", "/v1/events", {"events": events})
    await r.call(
        "POST", "/v1/cases/{case_no}/urge", "/v1/cases/OA-1/urge", {"by": "p-sup", "note": "请加快"}
    )
    await r.call(
        "POST",
        "/v1/test-clock/advance",
        "/v1/test-clock/advance",
        {"to": "2026-03-04T10:00:00+08:00"},
    )
    async with app[POOL].acquire() as conn:
        assert await rate_case(
            conn,
            "OA-2",
            1,
            comment="太慢",
            source="wap",
            now=app[CLOCK].now(),
            routing=app[ROUTING],
        )
    for key in (ADMIN_KEY, SUPERVISOR_KEY):
        await r.call("GET", "/v1/cases/{case_no}", "/v1/cases/OA-1", key=key)
        await r.call("GET", "/v1/cases", "/v1/cases?limit=1", key=key)
        await r.call("GET", "/v1/messages", "/v1/messages?limit=50", key=key)
        await r.call("GET", "/v1/audit", "/v1/audit", key=key)
        await r.call("GET", "/v1/inbound-sms", "/v1/inbound-sms", key=key)
        await r.call("GET", "/v1/rectifications", "/v1/rectifications", key=key)
    for group_by in ("", "department", "matter", "month"):
        await r.call("GET", "/v1/stats", f"/v1/stats?from=2026-03&group_by={group_by}")
    [rect] = (await r.call("GET", "/v1/rectifications", "/v1/rectifications"))["items"]
    rid = rect["id"]
    await r.call("GET", "/v1/rectifications/{id}", f"/v1/rectifications/{rid}")
    await r.call(
        "POST",
        "/v1/rectifications/{id}/verify",
        f"/v1/rectifications/{rid}/verify",
        {"by": "p-head", "finding": "属实"},
    )
    await r.call(
        "POST",
        "/v1/rectifications/{id}/close",
        f"/v1/rectifications/{rid}/close",
        {"by": "p-head", "outcome": "rectified", "reply": "已整改"},
    )
    await r.call(
        "PUT",
        "/v1/lists/{name}",
        "/v1/lists/news",
        {"description": "订阅", "mobiles": ["13800000009"]},
    )
    await r.call("GET", "/v1/lists/{name}", "/v1/lists/news")
    announcement = {"title": "系统维护", "content": "今晚维护", "audience": {"lists": ["news"]}}
    await r.call("POST", "/v1/broadcasts", "/v1/broadcasts?dry_run=true", announcement)
    progress = await r.call("POST", "/v1/broadcasts", "/v1/broadcasts", announcement)
    await r.call("GET", "/v1/broadcasts/{id}", f"/v1/broadcasts/{progress['id']}")
    await r.call("POST", "/v1/broadcasts/{id}/cancel", f"/v1/broadcasts/{progress['id']}/cancel")
    await r.call("GET", "/v1/calendar/years", "/v1/calendar/years")
    subject = "/v1/privacy/subjects/{mobile}"
    await r.call("GET", subject, "/v1/privacy/subjects/13812345678")
    await r.call("DELETE", subject, "/v1/privacy/subjects/13800000009")
    for path in ("/healthz", "/readyz", "/v1/openapi.json", "/metrics"):
        await r.call("GET", path, path)

    documented = set()
    for method, template, status, answer in r.seen:
        model = OPERATIONS[(method, template)].answers[status].model
        _adapter(model).validate_python(answer)
        documented.add((method, template))
    served = {(m, p) for m, p in _served(app) if not p.startswith("/v1/callbacks/")}
    missing = served - documented - {("put", "/v1/calendar/years/{year}")}
    assert not missing, f"no worked answer checked for {sorted(missing)}"
