"""Status webhooks: every message status change, POSTed signed to the approval system.

How it fits (docs/decisions/0009-webhooks.md)::

    UPDATE messages SET status = …  ──trigger, same transaction──▶  webhook_events
                                                                   + webhook_deliveries (per URL)
                                                                   + NOTIFY cuiban_webhooks
    WebhookWorker  claim due deliveries (FOR UPDATE SKIP LOCKED, lease) → POST → record
                   2xx: delivered · else: retry at now + full-jitter backoff · max_attempts: dead

The body is JSON (:func:`payload`); ``X-Cuiban-Signature: sha256=<hex>`` is
HMAC-SHA256 with ``webhooks.secret`` over ``f"{timestamp}.{body}"`` where
``timestamp`` is the ``X-Cuiban-Timestamp`` header (Unix seconds, from the app's
clock). Time comes only from the app's :class:`~hub.clock.Clock`: under a manual
clock nothing runs in the background and :meth:`WebhookWorker.drain` (a test-clock
hook) delivers everything due before the advance returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import secrets
from collections.abc import AsyncIterator, Mapping
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import asyncpg
import structlog

from core.errors import ConfigError
from hub.clock import Clock
from hub.delivery.backoff import Backoff, Jitter
from hub.delivery.worker import QueueLoop
from hub.metrics import Metrics
from hub.notices.sealing import opened
from hub.notices.words import mask_address, mask_mobiles_in
from hub.privacy.vault import Vault
from hub.services import Services
from hub.signing import webhook_signature
from hub.store.queries import Q

__all__ = [
    "NOTIFY_CHANNEL",
    "WebhookWorker",
    "open_webhooks",
    "payload",
    "sign",
]

log = structlog.get_logger(__name__)

NOTIFY_CHANNEL = "cuiban_webhooks"  # pg_notify'd by the trigger of migration 0008
KEEP_DELIVERED = timedelta(days=30)
PRUNE_EVERY = timedelta(hours=1)
LEASE = timedelta(seconds=60)
TIMEOUT_SECONDS = 10.0
BATCH = 100
POLL_SECONDS = 1.0
USER_AGENT = "Cuiban-Webhooks/1"


sign = webhook_signature  # the X-Cuiban-Signature header; see hub/signing.py


def payload(row: Mapping[str, Any], tz: ZoneInfo) -> bytes:
    """The JSON body for one claimed delivery: the same bytes on every retry of the event."""
    data = row["data"] if isinstance(row["data"], dict) else json.loads(row["data"])
    error = data.get("error")
    body = {
        "event_id": row["event_id"],
        "type": "message.status",
        "message_id": row["message_id"],
        "kind": data.get("kind"),
        "channel": data.get("channel"),
        "status": row["status"],
        "case_no": data.get("case_no"),
        "node_id": data.get("node_id"),
        "person_id": data.get("person_id"),
        "recipient": mask_address(data.get("channel"), row["recipient"]),
        "attempts": data.get("attempts"),
        "provider_message_id": data.get("provider_message_id"),
        "error": mask_mobiles_in(error) if isinstance(error, str) else error,
        "error_code": data.get("error_code"),
        "occurred_at": row["occurred_at"].astimezone(tz).isoformat(),
    }
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


class WebhookWorker:
    """Claims due ``webhook_deliveries`` and POSTs them; one short transaction per outcome."""

    name = "webhooks"  # under the manual clock: the hook's name in a failed advance

    def __init__(
        self,
        *,
        pool: asyncpg.Pool,
        clock: Clock,
        session: aiohttp.ClientSession,
        urls: tuple[str, ...],
        secret: bytes,
        tz: ZoneInfo,
        max_attempts: int,
        vault: Vault,
        backoff: Backoff | None = None,
        jitter: Jitter = random.random,
        metrics: Metrics | None = None,
    ) -> None:
        self.pool, self.clock, self.session = pool, clock, session
        self.vault = vault  # opens the recipient, to mask it
        self.urls, self.secret, self.tz = urls, secret, tz
        self.max_attempts = max_attempts
        self.backoff = backoff or Backoff()
        self.jitter = jitter
        self.metrics = metrics or Metrics()
        self.owner = f"webhooks:{secrets.token_hex(4)}"
        self._pruned_at: datetime | None = None
        self._loop = QueueLoop(
            name="webhook",
            pool=pool,
            clock=clock,
            notify_channel=NOTIFY_CHANNEL,
            step=self._step,
            next_due=self._next_due,
            poll_seconds=POLL_SECONDS,
        )

    async def sync_targets(self) -> None:
        """Make ``webhook_targets`` the configured URLs (none: the trigger records nothing)."""
        async with self.pool.acquire() as conn:
            await conn.execute(Q["webhook_targets_sync"], list(self.urls), self.clock.now())

    async def run_once(self, now: datetime) -> int:
        """Claim one batch due at ``now`` and POST each; return how many were claimed."""
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(Q["webhook_claim"], now, BATCH, self.owner, now + LEASE)
        await asyncio.gather(*(self._deliver(row) for row in rows))
        return len(rows)

    async def _deliver(self, row: Mapping[str, Any]) -> None:
        body = payload(opened(self.vault, row), self.tz)
        timestamp = int(self.clock.now().timestamp())
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": USER_AGENT,
            "X-Cuiban-Event-Id": str(row["event_id"]),
            "X-Cuiban-Timestamp": str(timestamp),
            "X-Cuiban-Signature": sign(self.secret, timestamp, body),
        }
        status: int | None = None
        error: str | None = None
        try:
            async with self.session.post(row["url"], data=body, headers=headers) as resp:
                status = resp.status
                if not 200 <= status < 300:
                    text = (await resp.text(errors="replace"))[:200]
                    error = f"HTTP {status}: {text}".strip()
        except (aiohttp.ClientError, TimeoutError) as exc:
            error = f"{type(exc).__name__}: {exc}".rstrip(": ")
        await self._finish(row, status, error)

    async def _finish(self, row: Mapping[str, Any], status: int | None, error: str | None) -> None:
        now = self.clock.now()
        attempt = row["attempts"] + 1
        bound = log.bind(event_id=row["event_id"], message_id=row["message_id"], attempt=attempt)
        next_at: datetime | None = None
        if error is None:
            outcome = "delivered"
            bound.info("webhook_delivered", url=row["url"], status=status)
            self.metrics.inc("cuiban_webhooks_delivered_total")
        elif attempt >= self.max_attempts:
            outcome = "dead"
            error = f"gave up after {attempt} attempts: {error}"
            bound.error("webhook_dead", url=row["url"], error=error)
            self.metrics.inc("cuiban_webhooks_dead_total")
        else:
            outcome = "pending"
            next_at = now + self.backoff.after(attempt, self.jitter())
            bound.warning("webhook_failed", url=row["url"], error=error, retry_at=str(next_at))
            self.metrics.inc("cuiban_webhooks_failed_total")
        async with self.pool.acquire() as conn:
            await conn.execute(
                Q["webhook_finish"],
                row["event_id"],
                row["url"],
                self.owner,
                outcome,
                next_at,
                error,
                status,
                now,
            )

    async def prune(self, now: datetime) -> None:
        """At most once an hour (app clock): drop events delivered everywhere > 30 days ago."""
        if self._pruned_at is not None and now - self._pruned_at < PRUNE_EVERY:
            return
        self._pruned_at = now
        async with self.pool.acquire() as conn:
            await conn.execute(Q["webhook_prune"], now - KEEP_DELIVERED)

    async def next_due(self, after: datetime | None) -> datetime | None:
        """The manual clock's next stop: the first pending delivery (after ``after``)."""
        async with self.pool.acquire() as conn:
            if after is None:
                due: datetime | None = await conn.fetchval(Q["webhook_next_due"])
            else:
                due = await conn.fetchval(Q["webhook_next_due_after"], after)
        return due

    async def drain(self, now: datetime) -> None:
        """Deliver everything due up to ``now`` (retries that come due too), then return."""

        async def one_batch() -> int:
            await self.prune(now)
            return await self.run_once(now)

        await self._loop.drain(one_batch)

    # --- background loop (system and accelerated clocks) -------------------------------

    async def start(self) -> None:
        await self._loop.start()

    async def stop(self) -> None:
        await self._loop.stop()

    async def _step(self) -> bool:
        now = self.clock.now()
        await self.prune(now)
        return await self.run_once(now) >= BATCH

    async def _next_due(self) -> datetime | None:
        async with self.pool.acquire() as conn:
            next_due: datetime | None = await conn.fetchval(Q["webhook_next_due"])
        return next_due


def _check(urls: tuple[str, ...], secret: str) -> None:
    for url in urls:
        if not url.startswith(("http://", "https://")):
            raise ConfigError(f"webhooks.urls: {url!r} must start with http:// or https://")
    if urls and not secret:
        raise ConfigError("webhooks.secret: required when webhooks.urls is set (it signs posts)")


@contextlib.asynccontextmanager
async def open_webhooks(
    services: Services, *, jitter: Jitter = random.random
) -> AsyncIterator[WebhookWorker]:
    """A worker for the configured ``[webhooks]``, its targets synced, not yet started;
    its HTTP session closes when it is done."""
    settings = services.settings
    urls = tuple(settings.webhooks.urls)
    secret = settings.webhooks.secret.get_secret_value()
    _check(urls, secret)
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT_SECONDS))
    try:
        worker = WebhookWorker(
            pool=services.pool,
            clock=services.clock,
            session=session,
            urls=urls,
            secret=secret.encode(),
            tz=settings.calendar.tz,
            max_attempts=settings.policy.max_attempts,
            vault=services.vault,
            backoff=Backoff(
                base_seconds=settings.dispatch.backoff_base_seconds,
                cap_seconds=settings.dispatch.backoff_cap_seconds,
            ),
            jitter=jitter,
            metrics=services.metrics,
        )
        await worker.sync_targets()
        yield worker
    finally:
        await session.close()
