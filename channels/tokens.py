"""A shared access-token cache for WeCom and WeChat (``gettoken`` / ``token``).

Both providers hand out a token valid for ``expires_in`` seconds (7200) and
limit how often it may be fetched, so a process keeps one token per app:

* reused until ``margin`` seconds before it expires (a fifth of its life when
  that is shorter), so a send never races the expiry;
* fetched once however many sends wait for it (single flight): concurrent
  callers await the same fetch, and share its failure too;
* :meth:`invalidate` drops a token the provider called invalid (40014, 42001),
  but only that token, so a burst of failures triggers one refetch, not many.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import urlencode

import aiohttp

from channels.base import (
    Clock,
    ConfigT,
    HttpAdapter,
    HttpRequest,
    ProviderPermanent,
    ProviderTransient,
    Receipt,
    classify,
    utcnow,
)
from core.notices import OutboundMessage

__all__ = ["TokenCache", "TokenedAdapter", "post_json", "utf8_truncate"]

Fetch = Callable[[], Awaitable[tuple[str, float]]]


class TokenCache:
    """Caches the ``(token, expires_in)`` that ``fetch`` returns; see the module docstring."""

    def __init__(
        self,
        fetch: Fetch,
        *,
        margin: float = 300.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._margin = margin
        self._monotonic = monotonic
        self._token: str | None = None
        self._refresh_at = 0.0
        self._inflight: asyncio.Task[str] | None = None
        self.fetches = 0

    def __repr__(self) -> str:
        state = "fresh" if self._valid() else "empty"
        return f"TokenCache({state}, fetches={self.fetches})"

    def _valid(self) -> bool:
        return self._token is not None and self._monotonic() < self._refresh_at

    async def get(self) -> str:
        """A valid token, fetching one (once, for every waiter) when needed."""
        if self._valid():
            assert self._token is not None  # noqa: S101 -- narrowed by _valid()
            return self._token
        task = self._inflight
        if task is None:
            task = asyncio.ensure_future(self._refresh())
            self._inflight = task
            task.add_done_callback(self._clear)
        # shield: one waiter being cancelled must not cancel the others' fetch
        return await asyncio.shield(task)

    def _clear(self, task: asyncio.Task[str]) -> None:
        if self._inflight is task:
            self._inflight = None
        if not task.cancelled():
            task.exception()  # retrieved: an unawaited failure is not "never retrieved"

    async def _refresh(self) -> str:
        self.fetches += 1
        token, expires_in = await self._fetch()
        lead = min(self._margin, expires_in / 5)
        self._token = token
        self._refresh_at = self._monotonic() + expires_in - lead
        return token

    def invalidate(self, token: str) -> None:
        """Forget ``token`` if it is still the cached one (the provider rejected it)."""
        if self._token == token:
            self._token = None
            self._refresh_at = 0.0


# --- the WeCom / WeChat call pattern: token, call, refresh once on a stale token ---


class TokenedAdapter(HttpAdapter[ConfigT]):
    """Base for adapters whose API wants ``?access_token=`` from a token endpoint.

    Subclasses supply the token request and the send request (and may refuse
    an ``errcode`` 0 answer in ``_accept``); this class does the caching, the
    ``msgid`` receipt and the "stale token: fetch a new one and retry once"
    rule (``STALE_TOKEN`` codes).
    """

    ERRORS: Mapping[int, type[ProviderTransient] | type[ProviderPermanent]] = {}
    STALE_TOKEN: frozenset[int] = frozenset({40001, 40014, 42001})

    def __init__(
        self,
        config: ConfigT,
        *,
        session: aiohttp.ClientSession | None = None,
        clock: Clock = utcnow,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(config, session=session, clock=clock)
        self.tokens = TokenCache(self._fetch_token, monotonic=monotonic)

    def _token_request(self) -> HttpRequest:
        raise NotImplementedError

    def _send_request(self, message: OutboundMessage, token: str) -> HttpRequest:
        raise NotImplementedError

    def _accept(self, message: OutboundMessage, payload: Mapping[str, Any]) -> Receipt:
        """The receipt for an ``errcode`` 0 answer: both providers return ``msgid``."""
        return Receipt(
            provider_message_id=str(payload.get("msgid") or "") or None,
            accepted_at=self._clock(),
            raw=payload,
        )

    def _error(
        self, what: str, payload: Mapping[str, Any]
    ) -> ProviderTransient | ProviderPermanent:
        code = _errcode(payload)
        return classify(
            f"{self.provider} {what}",
            str(code),
            str(payload.get("errmsg", "")),
            {str(k): v for k, v in self.ERRORS.items()},
        )

    async def _fetch_token(self) -> tuple[str, float]:
        _, payload = await self._exchange(self._token_request())
        token = payload.get("access_token")
        if _errcode(payload) != 0 or not isinstance(token, str) or not token:
            raise self._error("token", payload)
        expires_in = payload.get("expires_in", 7200)
        return token, float(expires_in) if isinstance(expires_in, int | float) else 7200.0

    async def send(self, message: OutboundMessage) -> Receipt:
        """Send with a cached token; on a stale-token code fetch a new one and retry once."""
        for attempt in (1, 2):
            token = await self.tokens.get()
            _, payload = await self._exchange(self._send_request(message, token))
            code = _errcode(payload)
            if code in self.STALE_TOKEN and attempt == 1:
                self.tokens.invalidate(token)
                continue
            if code in self.STALE_TOKEN:
                raise ProviderTransient(
                    f"{self.provider}: the access token was refused twice ({code})", code=str(code)
                )
            if code != 0:
                raise self._error("send", payload)
            return self._accept(message, payload)
        raise AssertionError("unreachable")  # pragma: no cover


def _errcode(payload: Mapping[str, Any]) -> int:
    code = payload.get("errcode", 0)
    try:
        return int(code)
    except (TypeError, ValueError):
        return -1


def post_json(
    api_base: str, path: str, body: Mapping[str, Any], *, access_token: str
) -> HttpRequest:
    """``POST <api_base><path>?access_token=`` with ``body`` as compact UTF-8 JSON."""
    query = urlencode({"access_token": access_token})
    return HttpRequest(
        method="POST",
        url=f"{api_base.rstrip('/')}{path}?{query}",
        headers={"Content-Type": "application/json; charset=utf-8"},
        body=json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8"),
    )


def utf8_truncate(text: str, max_bytes: int) -> str:
    """``text`` cut to at most ``max_bytes`` UTF-8 bytes on a character boundary."""
    data = text.encode("utf-8")
    if len(data) <= max_bytes:
        return text
    return data[:max_bytes].decode("utf-8", errors="ignore")
