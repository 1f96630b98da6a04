"""Every error an HTTP client sees is ``application/problem+json`` (RFC 9457).

No request, however malformed, gets a 5xx for its content: validation errors
are 422 with an ``errors`` list naming each bad field; unreadable bodies 400;
oversized bodies 413. A database outage is 503 with ``Retry-After``, and so is a
database that cannot take more (SQLSTATE class 53: disk full, out of memory, too many
connections) or is shutting down (class 57, e.g. ``admin_shutdown``).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import asyncpg
import structlog
from aiohttp import web
from pydantic import ValidationError

from core.errors import Conflict, InputError, NotFound
from core.events import EVENT_TYPES
from core.jsontext import storable
from hub.store.db import DatabaseUnavailable

log = structlog.get_logger(__name__)

PROBLEM_TYPE = "application/problem+json"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Problem(Exception):
    """An HTTP error with a detail a person can act on."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        title: str | None = None,
        errors: Sequence[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.title = title
        self.errors = list(errors) if errors else None
        self.headers = headers or {}


def problem_response(
    status: int,
    detail: str,
    *,
    title: str | None = None,
    errors: Sequence[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> web.Response:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title or _reason(status),
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = list(errors)
    return web.Response(
        status=status,
        text=json.dumps(body, ensure_ascii=False),
        content_type=PROBLEM_TYPE,
        charset="utf-8",
        headers=headers,
    )


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def field_errors(exc: ValidationError, *, prefix: Sequence[str | int] = ()) -> list[dict[str, Any]]:
    """Pydantic's errors as ``{"field": "events.3.limit.value", "message": ...}``."""
    out = []
    for error in exc.errors(include_url=False, include_context=False, include_input=False):
        loc = [part for part in error["loc"] if part not in EVENT_TYPES]
        if error["type"] in ("union_tag_invalid", "union_tag_not_found"):
            loc.append("type")
            message = "must be one of: " + ", ".join(EVENT_TYPES)
        else:
            message = str(error["msg"]).removeprefix("Value error, ")
        out.append(
            {
                "field": ".".join(str(p) for p in [*prefix, *loc]) or "body",
                "message": message,
                "type": error["type"],
            }
        )
    return out


def _check_request_text(request: web.Request) -> None:
    parts = [request.path, *request.query.keys(), *request.query.values()]
    if not all(storable(part) for part in parts):
        raise Problem(400, "the URL holds a NUL byte or invalid Unicode")


@web.middleware
async def problems_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        _check_request_text(request)
        return await handler(request)
    except Problem as exc:
        return problem_response(
            exc.status, exc.detail, title=exc.title, errors=exc.errors, headers=exc.headers
        )
    except ValidationError as exc:
        return problem_response(
            422, "the request has invalid fields; see errors", errors=field_errors(exc)
        )
    except InputError as exc:
        return problem_response(422, str(exc), errors=exc.errors or None)
    except NotFound as exc:
        return problem_response(404, str(exc))
    except Conflict as exc:
        return problem_response(409, str(exc))
    except web.HTTPRequestEntityTooLarge:
        return problem_response(413, "the body is larger than 1 MiB; send smaller batches")
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        detail = {
            404: f"no such resource: {request.path}",
            405: f"{request.method} is not allowed on {request.path}",
        }.get(exc.status, exc.reason)
        return problem_response(exc.status, detail, headers=_allow(exc))
    except (asyncpg.InsufficientResourcesError, asyncpg.OperatorInterventionError) as exc:
        # The transaction rolled back whole; the client's retry is the way forward.
        log.error("database_refused", error=str(exc), sqlstate=exc.sqlstate, path=request.path)
        reason = "is out of space" if isinstance(exc, asyncpg.DiskFullError) else "is overloaded"
        return problem_response(
            503,
            f"the database {reason} or shutting down; nothing was stored, retry shortly",
            headers={"Retry-After": "30"},
        )
    except (
        DatabaseUnavailable,
        asyncpg.ConnectionDoesNotExistError,
        ConnectionError,
        OSError,
    ) as exc:
        if client_gone(request, exc):
            raise  # aiohttp drops the connection quietly; nobody is left to answer
        log.warning("database_unavailable", error=str(exc), path=request.path)
        return problem_response(
            503, "the database is unavailable; retry shortly", headers={"Retry-After": "5"}
        )
    except Exception:
        log.exception("unhandled_error", path=request.path, method=request.method)
        return problem_response(500, "an internal error occurred; it has been logged")


def client_gone(request: web.Request, exc: BaseException) -> bool:
    """Whether ``exc`` is the client hanging up (mid-body, say) rather than the database.

    Both surface as ``ConnectionResetError``; only the client's leaves our side of the
    socket closed. Logged at info as ``client_disconnected``: nothing is wrong here.
    """
    transport = request.transport
    if not isinstance(exc, ConnectionError) or (
        transport is not None and not transport.is_closing()
    ):
        return False
    log.info("client_disconnected", path=request.path, method=request.method, error=str(exc))
    return True


def _allow(exc: web.HTTPException) -> dict[str, str] | None:
    allow = exc.headers.get("Allow")
    return {"Allow": allow} if allow else None
