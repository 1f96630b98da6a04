"""Bearer API keys on ``/v1`` with roles: ``admin``, ``ingest`` (events only), ``supervisor``.

Keys are compared in constant time against every configured key, so the time
taken says nothing about how much of a guess was right.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable, Collection

from aiohttp import web
from aiohttp.typedefs import Middleware

from hub.api.problems import Problem
from hub.settings import ApiKey, Role

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

ROLE_KEY = web.RequestKey("role", str)
ACTOR_KEY = web.RequestKey("actor", str)
API_KEY = web.RequestKey("api_key", ApiKey)  # the configured key the request carries
_ALLOWED = "cuiban_roles"
_PUBLIC_PREFIXES = ("/v1/callbacks/", "/v1/openapi.json")


def allow(*roles: Role) -> Callable[[Handler], Handler]:
    """Mark a handler with the roles that may call it (admin always may)."""

    def mark(handler: Handler) -> Handler:
        setattr(handler, _ALLOWED, frozenset({"admin", *roles}))
        return handler

    return mark


def key_for(header: str | None, keys: Collection[ApiKey]) -> ApiKey | None:
    """The configured key the header carries; every key is compared, in constant time."""
    if not header or not header.startswith("Bearer "):
        return None
    offered = header.removeprefix("Bearer ").strip().encode()
    found: ApiKey | None = None
    for key in keys:
        if hmac.compare_digest(offered, key.key.get_secret_value().encode()):
            found = key
    return found


def role_for(header: str | None, keys: Collection[ApiKey]) -> Role | None:
    key = key_for(header, keys)
    return key.role if key else None


def actor_of(key: ApiKey) -> str:
    """Who acted, for the audit trail: the key's name, else its role and a fingerprint."""
    if key.name:
        return key.name
    digest = hashlib.sha256(key.key.get_secret_value().encode()).hexdigest()[:8]
    return f"{key.role}:{digest}"


def auth_middleware(keys: Collection[ApiKey]) -> Middleware:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.startswith("/v1/") or request.path.startswith(_PUBLIC_PREFIXES):
            return await handler(request)
        key = key_for(request.headers.get("Authorization"), keys)
        if key is None:
            raise Problem(
                401,
                "send an API key as 'Authorization: Bearer <key>'",
                headers={"WWW-Authenticate": 'Bearer realm="cuiban"'},
            )
        allowed = getattr(
            getattr(request.match_info, "handler", None), _ALLOWED, frozenset({"admin"})
        )
        if key.role not in allowed:
            raise Problem(
                403, f"a key with role {key.role!r} may not {request.method} {request.path}"
            )
        request[ROLE_KEY] = key.role
        request[ACTOR_KEY] = actor_of(key)
        request[API_KEY] = key
        return await handler(request)

    return middleware
