"""Request bodies: small for forms, a deadline for every body, refused before they are read.

A WAP or supervision form is a few hundred bytes; the API takes batches up to 1 MiB
(contract: more is 413). A hostile client that announces a large body, or sends one
slowly, must cost neither memory nor a connection for long:

* :func:`body_size_middleware` gives pages (``/wap/``, ``/supervise/``) a
  :data:`FORM_MAX` (8 KiB) limit instead of the application's 1 MiB;
* :func:`body_deadline_middleware`, the innermost middleware (after the key and CSRF
  checks that need no body), refuses a ``Content-Length`` over the limit at once
  (413, nothing read), and reads any other body to its end within ``http.read_timeout``
  (408 past it), counting as it goes — aiohttp stops at the limit, so a chunked body
  cannot grow past it either. Handlers then read the cached bytes.

What aiohttp does after an early answer: it reads and discards the rest for at most
its lingering time (10 s), then closes — nothing is kept.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware

__all__ = [
    "FORM_MAX",
    "body_deadline_middleware",
    "body_size_middleware",
    "is_page",
    "read_body",
]

#: The largest form a page posts, with room to spare: a complaint of 500 Chinese characters
#: is 4,500 bytes urlencoded (``%E6%8A%95`` — 9 bytes a character), plus the token.
FORM_MAX = 8 * 1024

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_PAGES = ("/wap/", "/supervise/")
CALLBACKS = "/v1/callbacks/"


def is_page(path: str) -> bool:
    return path.startswith(_PAGES) or path in ("/wap", "/supervise")


@web.middleware
async def body_size_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Pages take forms, not uploads: :data:`FORM_MAX` instead of the API's 1 MiB."""
    if is_page(request.path) and request.client_max_size > FORM_MAX:
        request = request.clone(client_max_size=FORM_MAX)
    return await handler(request)


async def read_body(request: web.Request, read_timeout: float) -> bytes:
    """The whole body, within ``read_timeout`` and the request's size limit (413/408)."""
    limit = request.client_max_size
    announced = request.content_length
    if limit and announced is not None and announced > limit:
        raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=announced)
    try:
        async with asyncio.timeout(read_timeout):
            return await request.read()  # kept by aiohttp: later read()/post() get it
    except TimeoutError:
        raise web.HTTPRequestTimeout(
            text=f"the body did not arrive within {read_timeout:g} s"
        ) from None


def body_deadline_middleware(read_timeout: float) -> Middleware:
    """Refuse an announced oversize body unread; read the rest within ``read_timeout``.

    Callbacks read their own body once the token is checked (:mod:`hub.api.callbacks`):
    a token guesser's body is never read at all.
    """

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.body_exists and not request.path.startswith(CALLBACKS):
            await read_body(request, read_timeout)
        return await handler(request)

    return middleware
