"""JSON in and out of handlers: bodies that PostgreSQL can store, answers in UTF-8."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from hub.api.problems import Problem, storable


async def read_json(request: web.Request) -> Any:
    raw = await request.read()
    if not raw:
        raise Problem(400, "the request body is empty; send a JSON object")
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        raise Problem(400, "the request body is not valid JSON") from None
    _require_storable(body)
    return body


def _require_storable(value: Any) -> None:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if not storable(item):
                raise Problem(422, "the body holds a NUL character or invalid Unicode in a string")
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def respond(body: Any, status: int = 200) -> web.Response:
    return web.json_response(body, status=status, dumps=lambda v: json.dumps(v, ensure_ascii=False))
