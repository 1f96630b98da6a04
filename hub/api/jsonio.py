"""JSON in and out of handlers: bodies that PostgreSQL can store, answers in UTF-8."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from core.jsontext import NotJson, TooDeep, Unstorable, parse_json
from hub.api.problems import Problem


async def read_json(request: web.Request) -> Any:
    raw = await request.read()
    if not raw:
        raise Problem(400, "the request body is empty; send a JSON object")
    try:
        return parse_json(raw)
    except NotJson:
        raise Problem(400, "the request body is not valid JSON") from None
    except TooDeep as exc:
        raise Problem(400, f"{exc}; no event nests that deep") from None
    except Unstorable as exc:
        raise Problem(
            422,
            "the body holds a NUL character or invalid Unicode in a string",
            errors=[{"field": exc.field, "message": "holds a NUL character or invalid Unicode"}],
        ) from None


def respond(body: Any, status: int = 200) -> web.Response:
    return web.json_response(body, status=status, dumps=lambda v: json.dumps(v, ensure_ascii=False))
