"""The outbox dispatcher: claims due messages under a lease and sends them.

A message row moves ``queued → sending → sent`` (``delivered`` later, from a
receipt; at once for WAP), or ``sending → failed`` (a transient error: retried
after a backoff) and ``→ dead`` (a permanent error, or ``max_attempts`` spent).
When a mandatory message dies, :func:`hub.notices.outbox.fall_back` queues it on the
person's next channel in the same transaction. Nothing is dropped silently.

How one process works (``Dispatcher.start``)::

    claim loop   ──claim batch (FOR UPDATE SKIP LOCKED, lease)──▶ the channel's lane
      ▲  wakes on LISTEN cuiban_outbox, else polls (≤ poll_seconds, or the next not_before)
    lane         [dispatch.concurrency] workers per channel (hub/delivery/lanes.py), each:
                 circuit gate → provider rate limit → adapter.send
                 → the outcome, written with others that finished meanwhile (finisher.py);
                   a sent row's lane goes on to its next send while it is written
    heartbeat    extends the leases of rows this process holds
    reaper       rows whose lease expired (a worker died) go back to the queue

Each status change is its own short transaction; sends happen between them.
Time comes only from the app's :class:`~hub.clock.Clock`; under a manual clock
nothing runs in the background and :meth:`Dispatcher.drain` (a test-clock hook)
sends everything due, retries and fallbacks included, before it returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import os
import random
import secrets
import socket
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import structlog
from aiolimiter import AsyncLimiter

from channels.base import Channel, DeliveryUnknown
from core.errors import CuibanError, PermanentError, TransientError
from core.notices import ChannelKind, MessageStatus, OutboundMessage
from hub.clock import Clock
from hub.delivery import wecom_limits
from hub.delivery.backoff import Backoff, Jitter
from hub.delivery.circuit import CircuitBreaker, CircuitState
from hub.delivery.finisher import OutcomeBatcher
from hub.delivery.lanes import Lanes, cancel_and_wait, work_through
from hub.delivery.recheck import recheck
from hub.delivery.registry import WAP_PROVIDER, ChannelRegistry, open_channels
from hub.delivery.worker import QueueLoop
from hub.metrics import Metrics
from hub.notices.outbox import NOTIFY_CHANNEL, fall_back
from hub.notices.sealing import opened
from hub.notices.words import mask_address, mask_mobiles_in
from hub.privacy.fields import address_lookup
from hub.privacy.vault import Vault
from hub.services import Services
from hub.settings import DispatchSettings
from hub.store.db import acquire_untouched
from hub.store.queries import Q

__all__ = ["DispatchSettings", "Dispatcher", "open_dispatcher"]

log = structlog.get_logger(__name__)


class Phase(enum.Enum):
    WAITING = "waiting"  # claimed, not yet handed to the adapter
    SENDING = "sending"  # inside adapter.send
    FINISHING = "finishing"  # writing the outcome


@dataclass(frozen=True, kw_only=True, slots=True)
class Outcome:
    """What one attempt ended in, ready for ``dispatch_finish``."""

    status: MessageStatus  # sent | delivered | failed | dead
    outcome: str  # sent | transient | permanent | unknown
    provider: str
    started_at: datetime
    provider_message_id: str | None = None
    error: str | None = None
    error_code: str | None = None
    not_before: datetime | None = None


def outbound_message(row: Mapping[str, Any]) -> OutboundMessage:
    """The stored, already rendered message as the adapter takes it; our id is the row id."""
    return OutboundMessage(
        id=str(row["id"]),
        kind=row["kind"],
        channel=row["channel"],
        recipient=row["recipient"],
        body=row["body"],
        person_id=row["person_id"],
        case_no=row["case_no"],
        subject=row["subject"],
        html=row["html"],
        link=row["link"],
        params={str(k): str(v) for k, v in (row["params"] or {}).items()},
        context=row["context"] or {},
    )


def without_address(error: str, row: Mapping[str, Any]) -> str:
    """``error`` with the row's recipient masked, and any mobile number in it too.

    SMTP names the refused address, WeCom the userid it does not know: stored or logged as
    they come, a message log kept sealed would still spell out whom it was for.
    """
    recipient = str(row.get("recipient") or "")
    if recipient and recipient in error:
        error = error.replace(recipient, mask_address(row.get("channel"), recipient) or "***")
    return mask_mobiles_in(error)


def _owner_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class Dispatcher:
    """Claims due ``messages`` rows and sends them through the channel adapters."""

    name = "dispatcher"  # under the manual clock: the hook's name in a failed advance

    def __init__(
        self,
        *,
        pool: asyncpg.Pool,
        clock: Clock,
        channels: ChannelRegistry,
        vault: Vault,
        settings: DispatchSettings | None = None,
        jitter: Jitter = random.random,
        metrics: Metrics | None = None,
        owner: str | None = None,
    ) -> None:
        self.pool = pool
        self.clock = clock
        self.channels = channels
        self.vault = vault  # opens the recipient and what is said, only to send them
        self.settings = settings or DispatchSettings()
        self.jitter = jitter
        self.metrics = metrics or Metrics()
        self.owner = owner or _owner_id()
        self._limiters: dict[str, AsyncLimiter | None] = {}
        self._breakers: dict[str, CircuitBreaker] = {}
        self._phase: dict[int, Phase] = {}
        self._held: dict[int, Mapping[str, Any]] = {}  # claimed, not yet done with
        self._writing: set[int] = set()  # sent; the outcome handed over, not yet written
        # Started (the background loop): a lane hands a sent row's outcome over and goes on.
        # Under the manual clock drain awaits each outcome, and reports a failed write.
        self._hand_over_sent = False
        self._lanes: Lanes[Mapping[str, Any]] = Lanes(
            name="dispatch",
            work=self.deliver,
            width=self.settings.concurrency_for,
            done=self._done,
        )
        self._background: list[asyncio.Task[None]] = []
        self.backoff = Backoff(
            base_seconds=self.settings.backoff_base_seconds,
            cap_seconds=self.settings.backoff_cap_seconds,
        )
        self._slot_free = asyncio.Event()
        self._claim_at_least = max(
            1, min(self.settings.batch_size, self.settings.max_in_flight // 4)
        )
        self._loop = QueueLoop(
            name="dispatch",
            pool=pool,
            clock=clock,
            notify_channel=NOTIFY_CHANNEL,
            step=self._claim_step,
            next_due=self._next_due,
            poll_seconds=self.settings.poll_seconds,
        )
        self._log = log.bind(owner=self.owner)
        self._merged: dict[int, Sequence[Mapping[str, Any]]] = {}  # WeCom digest -> its rows
        self._outcomes = OutcomeBatcher(
            pool=pool,
            owner=self.owner,
            now=clock.now,
            outage_grace=self.settings.lease_seconds,
        )

    # --- pacing ------------------------------------------------------------------------

    def _limiter(self, provider: str) -> AsyncLimiter | None:
        if provider not in self._limiters:
            rate = float(self.settings.rates.get(provider, 0.0))
            self._limiters[provider] = AsyncLimiter(rate, 1.0) if rate > 0 else None
        return self._limiters[provider]

    def breaker(self, provider: str) -> CircuitBreaker:
        """The circuit breaker of ``provider`` (made on first use)."""
        if provider not in self._breakers:
            self._breakers[provider] = CircuitBreaker(
                threshold=self.settings.circuit_threshold,
                open_for=timedelta(seconds=self.settings.circuit_open_seconds),
            )
        return self._breakers[provider]

    def _open_channels(self, now: datetime) -> list[str]:
        """Channels whose provider's circuit is open now: not claimed until it closes."""
        return [
            kind.value
            for kind in ChannelKind
            if self.breaker(self.channels.provider(kind)).state(now) is CircuitState.OPEN
        ]

    # --- database steps (each one short transaction) -------------------------------------

    async def claim(self, now: datetime, limit: int) -> list[Mapping[str, Any]]:
        """Lease up to ``limit`` due rows to this worker, best first."""
        lease_until = now + timedelta(seconds=self.settings.lease_seconds)
        async with acquire_untouched(self.pool) as conn:
            while True:
                rows = await conn.fetch(
                    Q["dispatch_claim"],
                    now,
                    limit,
                    self.owner,
                    lease_until,
                    self._open_channels(now),
                )
                # Held back for hours, perhaps: what is no longer true is cancelled, not sent.
                kept = await recheck(conn, rows, owner=self.owner, now=now, vault=self.vault)
                # A batch that was all cancelled says nothing about what is still due.
                if kept or not rows:
                    break
        sending = [opened(self.vault, row) for row in kept]
        return sorted(sending, key=lambda r: (r["priority"], r["not_before"], r["id"]))

    async def reap(self, now: datetime, *, limit: int = 1000) -> int:
        """Return rows whose lease expired to the queue (or settle them); return how many."""
        async with acquire_untouched(self.pool) as conn, conn.transaction():
            rows = await conn.fetch(Q["dispatch_reap"], now, limit)
            for row in rows:
                self._log.warning(
                    "lease_reaped",
                    message_id=row["id"],
                    channel=row["channel"],
                    attempt=row["attempts"],
                    previous_owner=row["old_owner"],
                    status=row["status"],
                )
                if row["status"] == MessageStatus.DEAD:
                    await fall_back(
                        conn,
                        dict(row),
                        now=now,
                        reason="dead: lease expired on the last attempt",
                        vault=self.vault,
                    )
        self.metrics.inc("cuiban_leases_reaped_total", len(rows))
        return len(rows)

    async def _heartbeat_once(self) -> None:
        ids = list(self._held)
        if not ids:
            return
        until = self.clock.now() + timedelta(seconds=self.settings.lease_seconds)
        async with acquire_untouched(self.pool) as conn:
            await conn.execute(Q["dispatch_heartbeat"], ids, self.owner, until)

    async def _release(self, row: Mapping[str, Any], not_before: datetime) -> None:
        ids = [row["id"], *(r["id"] for r in self._merged.pop(row["id"], ()))]
        async with acquire_untouched(self.pool) as conn:
            await conn.execute(Q["dispatch_release"], ids, self.owner, not_before, self.clock.now())

    async def _delay_provider(self, provider: str, until: datetime) -> None:
        """Push the waiting rows of every channel ``provider`` serves past ``until``."""
        now = self.clock.now()
        async with acquire_untouched(self.pool) as conn:
            for kind in ChannelKind:
                if self.channels.provider(kind) == provider:
                    await conn.execute(Q["dispatch_delay_channel"], kind.value, until, now)

    @staticmethod
    def _batched(row: Mapping[str, Any], result: Outcome) -> tuple[Any, ...]:
        """``result`` as one row of ``dispatch_finish_many`` (the batcher adds owner and now)."""
        return (
            row["id"],
            result.provider,
            result.status.value,
            result.provider_message_id,
            result.error,
            result.error_code,
            result.not_before,
            result.started_at,
            result.outcome,
        )

    async def _finish(self, row: Mapping[str, Any], result: Outcome) -> int | None:
        """Record ``result`` for ``row``; a dead mandatory message falls back in the same step."""
        if (
            result.status is not MessageStatus.DEAD
        ):  # nothing to fall back to: share a statement with others
            return await self._outcomes.finish(self._batched(row, result))
        now = self.clock.now()
        args = (
            row["id"],
            self.owner,
            result.provider,
            result.status.value,
            result.provider_message_id,
            result.error,
            result.error_code,
            result.not_before,
            now,
            result.started_at,
            result.outcome,
        )
        async with acquire_untouched(self.pool) as conn, conn.transaction():
            attempt: int | None = await conn.fetchval(Q["dispatch_finish"], *args)
            if attempt is not None and result.status is MessageStatus.DEAD:
                reason = result.error or "dead"
                new_id = await fall_back(conn, dict(row), now=now, reason=reason, vault=self.vault)
                if new_id is not None:
                    self._log.info(
                        "notice_fallback",
                        message_id=row["id"],
                        channel=row["channel"],
                        fallback_message_id=new_id,
                    )
        return attempt

    # --- one message ------------------------------------------------------------------

    async def deliver(self, row: Mapping[str, Any]) -> None:
        """Send one claimed row and record the outcome (never raises for a send failure)."""
        message_id: int = row["id"]
        channel: str = row["channel"]
        attempt = row["attempts"] + 1
        # Most sends log nothing: the logger is bound to the message only when one does
        # (what it writes names message_id, channel and attempt either way).
        bound = _MessageLog(self._log, message_id=message_id, channel=channel, attempt=attempt)
        self._phase[message_id] = Phase.WAITING
        try:
            await self._deliver(row, bound)
        finally:
            self._phase.pop(message_id, None)

    # Long on purpose: one send's states (WAP, no adapter, circuit, limits, send, outcome)
    # read in order; each branch ends in _settle or a release.
    async def _deliver(self, row: Mapping[str, Any], bound: Any) -> None:
        """One claimed message: ready it, pass the provider's circuit, send, record."""
        channel: str = row["channel"]
        provider = self.channels.provider(channel)
        ready = await self._ready(row, bound, channel, provider)
        if ready is None:
            return
        adapter, message = ready
        breaker = self.breaker(provider)
        if not await self._circuit_admits(row, bound, breaker, provider):
            return
        limiter = self._limiter(provider)
        if limiter is not None:
            await limiter.acquire()
        await self._send(row, bound, adapter, message, breaker, provider)

    async def _ready(
        self, row: Mapping[str, Any], bound: Any, channel: str, provider: str
    ) -> tuple[Channel, OutboundMessage] | None:
        """The adapter and the message to hand it, or None when the row was settled here."""
        if channel == ChannelKind.WAP.value:
            # A WAP message is delivered by being stored: the person's inbox page shows it.
            await self._settle(
                row,
                bound,
                Outcome(
                    status=MessageStatus.DELIVERED,
                    outcome="sent",
                    provider=WAP_PROVIDER,
                    started_at=self.clock.now(),
                ),
            )
            return None
        adapter = self.channels.adapter(channel)
        if adapter is None:
            await self._refuse(
                row,
                bound,
                provider,
                f"the {channel} channel is not enabled in this centre's configuration",
                "channel_disabled",
            )
            return None
        try:
            message = outbound_message(row)
        except CuibanError as exc:
            await self._refuse(row, bound, provider, str(exc), "invalid_message")
            return None
        if channel == ChannelKind.WECOM.value:
            held = await self._wecom_member_limit(row, message, bound)
            return None if held is None else (adapter, held)
        return adapter, message

    async def _circuit_admits(
        self, row: Mapping[str, Any], bound: Any, breaker: CircuitBreaker, provider: str
    ) -> bool:
        """False when the provider's circuit is open: the row is released until it may close."""
        while True:
            now = self.clock.now()
            state = breaker.state(now)
            if state is CircuitState.OPEN:
                assert breaker.open_until is not None
                # Delay, do not burn an attempt: the provider is down for everyone.
                await self._release(row, breaker.open_until)
                bound.info("notice_delayed", provider=provider, until=str(breaker.open_until))
                return False
            if state is CircuitState.HALF_OPEN:
                if breaker.probing:
                    await breaker.probe_done()
                    continue
                breaker.start_probe()
            return True

    async def _send(
        self,
        row: Mapping[str, Any],
        bound: Any,
        adapter: Channel,
        message: OutboundMessage,
        breaker: CircuitBreaker,
        provider: str,
    ) -> None:
        started = self.clock.now()
        self._phase[row["id"]] = Phase.SENDING
        try:
            receipt = await adapter.send(message)
        except TransientError as exc:  # DeliveryUnknown too: _failed tells them apart
            await self._failed(row, bound, provider, started, exc)
        except PermanentError as exc:
            self._phase[row["id"]] = Phase.FINISHING
            # A refusal for this message says nothing about the provider's health.
            breaker.record_success()
            refusal = str(exc) or type(exc).__name__
            code = getattr(exc, "code", None)
            await self._refuse(row, bound, provider, refusal, code, started)
        except Exception as exc:  # an adapter bug must not lose the message: retry it
            bound.exception("adapter_error", provider=provider)
            error = TransientError(f"{type(exc).__name__}: {exc}")
            await self._failed(row, bound, provider, started, error)
        else:
            self._phase[row["id"]] = Phase.FINISHING
            if breaker.record_success():
                bound.info("circuit_closed", provider=provider)
            sent = Outcome(
                status=MessageStatus.SENT,
                outcome="sent",
                provider=provider,
                started_at=started,
                provider_message_id=receipt.provider_message_id,
            )
            if self._hand_over_sent and row["id"] not in self._merged:  # (a WeCom digest's
                self._hand_over(row, bound, sent)  # rows settle together, awaited)
            else:
                await self._settle(row, bound, sent)

    async def _refuse(
        self,
        row: Mapping[str, Any],
        bound: Any,
        provider: str,
        error: str,
        code: str | None,
        started: datetime | None = None,
    ) -> None:
        """Dead-letter ``row``: the provider refused it for good, or (not ``started``)
        there is nothing a provider could take."""
        await self._settle(
            row,
            bound,
            Outcome(
                status=MessageStatus.DEAD,
                outcome="permanent",
                provider=provider,
                started_at=started or self.clock.now(),
                error=error,
                error_code=code,
            ),
        )

    async def _failed(
        self,
        row: Mapping[str, Any],
        bound: Any,
        provider: str,
        started: datetime,
        exc: TransientError,
    ) -> None:
        """A send that failed for now: count it against the provider's circuit, then settle."""
        self._phase[row["id"]] = Phase.FINISHING
        breaker = self.breaker(provider)
        opened = breaker.record_failure(self.clock.now())
        if isinstance(exc, DeliveryUnknown):
            # The provider may have taken it: resending could text the person twice.
            # Keep it as sent with the doubt on record; a receipt settles it.
            result = Outcome(
                status=MessageStatus.SENT,
                outcome="unknown",
                provider=provider,
                started_at=started,
                error=f"outcome unknown, not resent: {exc}",
                error_code=exc.code or "delivery_unknown",
            )
        else:
            result = self._transient(row, provider, started, exc)
        await self._settle(row, bound, result)
        await self._circuit_opened(provider, opened, bound)

    def _transient(
        self, row: Mapping[str, Any], provider: str, started: datetime, exc: TransientError
    ) -> Outcome:
        attempt = row["attempts"] + 1
        error = str(exc) or type(exc).__name__
        code = getattr(exc, "code", None)
        if attempt >= row["max_attempts"]:
            return Outcome(
                status=MessageStatus.DEAD,
                outcome="transient",
                provider=provider,
                started_at=started,
                error=f"gave up after {attempt} attempts: {error}",
                error_code=code,
            )
        delay = self.backoff.after(attempt, self.jitter())
        return Outcome(
            status=MessageStatus.FAILED,
            outcome="transient",
            provider=provider,
            started_at=started,
            error=error,
            error_code=code,
            not_before=self.clock.now() + delay,
        )

    async def _circuit_opened(self, provider: str, opened: bool, bound: Any) -> None:
        """After the outcome is stored: if the circuit just opened, hold the provider's queue."""
        breaker = self.breaker(provider)
        if opened and breaker.open_until is not None:
            bound.warning(
                "circuit_opened",
                provider=provider,
                failures=breaker.failures,
                until=str(breaker.open_until),
            )
            await self._delay_provider(provider, breaker.open_until)

    async def _settle(self, row: Mapping[str, Any], bound: Any, result: Outcome) -> None:
        if result.error:  # a provider's words may name the address: kept and logged masked
            result = replace(result, error=without_address(result.error, row))
        for merged in self._merged.pop(row["id"], ()):  # sent as one WeCom digest: same fate
            await self._settle(merged, bound.bind(merged_message_id=merged["id"]), result)
        self._recorded(row, bound, result, await self._finish(row, result))

    def _hand_over(self, row: Mapping[str, Any], bound: Any, result: Outcome) -> None:
        """Settle a sent ``row`` without waiting: its lane moves on to the next send while
        the outcome waits for the next flush. The row keeps its slot (and its lease, by
        the heartbeat) until the outcome is written; ``stop`` and ``drain`` wait for it."""
        self._writing.add(row["id"])
        written = self._outcomes.submit(self._batched(row, result))
        written.add_done_callback(lambda done: self._written(row, bound, result, done))

    def _written(
        self,
        row: Mapping[str, Any],
        bound: Any,
        result: Outcome,
        done: asyncio.Future[int | None],
    ) -> None:
        self._writing.discard(row["id"])
        try:
            if done.cancelled():
                bound.warning("outcome_not_written", reason="stopped")
            elif (error := done.exception()) is not None:
                # The database stayed away past the grace: the row is still ours, 'sending';
                # when the lease ends the reaper settles it (counted as an attempt).
                bound.error("outcome_not_written", error=f"{type(error).__name__}: {error}")
            else:
                self._recorded(row, bound, result, done.result())
        finally:
            self._done(row)

    def _recorded(
        self, row: Mapping[str, Any], bound: Any, result: Outcome, attempt: int | None
    ) -> None:
        """Log and count an outcome once it is stored (``attempt`` None: the lease was lost)."""
        if attempt is None:
            # Our lease was reaped while we sent (a stall longer than the lease).
            bound.warning("lease_lost", outcome=result.outcome, provider=result.provider)
            return
        fields_ = {
            "provider": result.provider,
            "provider_message_id": result.provider_message_id,
            "kind": row["kind"],
        }
        self._count(row, result)
        labels = {"channel": row["channel"], "provider": result.provider, "kind": row["kind"]}
        if result.status in (MessageStatus.SENT, MessageStatus.DELIVERED):
            if result.outcome == "unknown":
                bound.warning("notice_sent", outcome="unknown", error=result.error, **fields_)
            else:
                bound.info("notice_sent", **fields_)
            self.metrics.inc("cuiban_notices_sent_total", **labels)
        elif result.status is MessageStatus.FAILED:
            bound.warning(
                "notice_failed",
                error=result.error,
                code=result.error_code,
                retry_at=str(result.not_before),
                **fields_,
            )
            self.metrics.inc("cuiban_notices_failed_total", **labels)
        else:
            bound.error("notice_dead", error=result.error, code=result.error_code, **fields_)
            self.metrics.inc("cuiban_notices_dead_total", **labels)

    def _count(self, row: Mapping[str, Any], result: Outcome) -> None:
        now = self.clock.now()
        sent = result.status in (MessageStatus.SENT, MessageStatus.DELIVERED)
        allowed_at: datetime | None = row["not_before"]
        self.metrics.notice_outcome(
            channel=row["channel"],
            provider=result.provider,
            kind=row["kind"],
            status=result.status.value,
            seconds=(now - result.started_at).total_seconds(),
            late_by=(now - allowed_at).total_seconds() if sent and allowed_at else None,
        )

    # --- WeCom per-member limits (hub/delivery/wecom_limits.py) ---------------------------

    async def _wecom_member_limit(
        self, row: Mapping[str, Any], message: OutboundMessage, bound: Any
    ) -> OutboundMessage | None:
        """The message to send (a digest if rows were merged into it), or None if held back."""
        verdict = await wecom_limits.check(
            self.pool,
            row,
            now=self.clock.now(),
            owner=self.owner,
            lease=timedelta(seconds=self.settings.lease_seconds),
            indexes=address_lookup(self.vault, ChannelKind.WECOM, row["recipient"]),
        )
        if verdict.held_until is not None:
            bound.info("notice_delayed", reason="wecom_member_limit", until=str(verdict.held_until))
            return None
        if not verdict.merged:
            return message
        merged = [opened(self.vault, r) for r in verdict.merged]
        self._merged[row["id"]] = merged
        bound.info("wecom_digest", merged=[r["id"] for r in merged])
        return wecom_limits.digest(message, merged)

    # --- manual clock -----------------------------------------------------------------

    async def next_due(self, after: datetime | None) -> datetime | None:
        """The manual clock's next stop for sends: the first waiting row or expiring lease."""
        async with acquire_untouched(self.pool) as conn:
            due: datetime | None = await conn.fetchval(Q["dispatch_next_work"], after)
        return due

    async def drain(self, now: datetime | None = None, *, reap: bool = True) -> int:
        """Send everything due up to ``now`` (retries and fallbacks that come due too).

        The test-clock hook: returns when nothing due is left. A retry whose backoff
        ends later, or a provider whose circuit is open, waits for a later advance.
        ``reap=False``: the caller knows that no lease has expired by ``now``.
        """
        instant = now or self.clock.now()
        if reap:
            # Once: the clock stands still while it drains, and leases taken meanwhile
            # end after ``instant``.
            await self.reap(instant)

        async def one_batch() -> int:
            rows = await self.claim(instant, self.settings.batch_size)
            await work_through(
                rows,
                lane=_channel_of,
                width=self.settings.concurrency_for,
                work=self.deliver,
            )
            return len(rows)

        return await self._loop.drain(one_batch)

    # --- background loop ----------------------------------------------------------------

    async def start(self) -> None:
        """Listen for new work and start the claim loop, heartbeat and reaper."""
        self._hand_over_sent = True
        await self._loop.start()
        for job in (self._heartbeat_loop, self._reap_loop):
            self._background.append(asyncio.create_task(job(), name=f"dispatch:{job.__name__}"))
        self._log.info("dispatcher_started")

    async def _claim_step(self) -> bool:
        """Claim what fits in the free slots and start sending it; True if more may wait."""
        free = self.settings.max_in_flight - len(self._held)
        if free < self._claim_at_least and self._held:
            self._slot_free.clear()
            await self._slot_free.wait()
            return True
        limit = min(self.settings.batch_size, free)
        rows = await self.claim(self.clock.now(), limit)
        for row in rows:
            self._held[row["id"]] = row
            self._lanes.put(row["channel"], row)
        return len(rows) >= limit

    async def _next_due(self) -> datetime | None:
        async with acquire_untouched(self.pool) as conn:
            next_due: datetime | None = await conn.fetchval(Q["dispatch_next_due"])
        return next_due

    def _done(self, row: Mapping[str, Any]) -> None:
        """A claimed row is done with (sent, settled, or handed back on stop): a slot is free.

        A row whose outcome is still being written keeps its slot: ``_written`` frees it."""
        if row["id"] in self._writing:
            return
        self._held.pop(row["id"], None)
        if self.settings.max_in_flight - len(self._held) >= self._claim_at_least:
            self._slot_free.set()

    async def _heartbeat_loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.heartbeat_seconds)
            try:
                await self._heartbeat_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                self._log.exception("dispatch_heartbeat_error")

    async def _reap_loop(self) -> None:
        while True:
            try:
                await self.reap(self.clock.now())
            except asyncio.CancelledError:
                raise
            except Exception:
                self._log.exception("dispatch_reap_error")
            await asyncio.sleep(self.settings.reap_seconds)

    async def stop(self, grace: float | None = None) -> None:
        """Stop claiming; let sends in progress finish (bounded); give the rest back."""
        grace = self.settings.stop_timeout_seconds if grace is None else grace
        await self._loop.stop()
        # Rows still waiting for a channel slot were never sent: they go back at once; a
        # send at the provider gets ``grace``; an outcome being written is awaited.
        await self._lanes.stop(
            grace=grace,
            started=lambda row: self._phase.get(row["id"], Phase.WAITING) is not Phase.WAITING,
            at_provider=lambda row: self._phase.get(row["id"]) is Phase.SENDING,
        )
        # Sent rows whose outcome is still on its way to the database: written before the
        # rest is handed back (else a sent row would go back to the queue and out again).
        await self._outcomes.idle()
        self._hand_over_sent = False
        await cancel_and_wait(self._background)
        self._background.clear()
        async with acquire_untouched(self.pool) as conn:
            released = await conn.execute(Q["dispatch_release_owner"], self.owner, self.clock.now())
        self._log.info("dispatcher_stopped", released=released)


# structlog's method names and their levels (a filtering logger's is_enabled_for takes these).
_LEVELS = {"debug": 10, "info": 20, "warning": 30, "error": 40, "exception": 40, "critical": 50}


class _MessageLog:
    """A logger bound to one message's fields on first use, not on every send — nor for a
    line its level leaves out (``notice_sent`` is info: a warning-level log binds nothing)."""

    __slots__ = ("_base", "_bound", "_fields")

    def __init__(self, base: Any, **fields: Any) -> None:
        self._base = base
        self._fields = fields
        self._bound: Any = None

    def __getattr__(self, name: str) -> Any:
        if self._bound is None:
            level = _LEVELS.get(name)
            enabled = getattr(self._base, "is_enabled_for", None)  # a filtering logger's
            if level is not None and enabled is not None and not enabled(level):
                return getattr(self._base, name)  # structlog's no-op for a level turned off
            self._bound = self._base.bind(**self._fields)
        return getattr(self._bound, name)


def _channel_of(row: Mapping[str, Any]) -> str:
    channel: str = row["channel"]
    return channel


# --- start-up ------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def open_dispatcher(
    services: Services,
    *,
    channels: ChannelRegistry | None = None,
    settings: DispatchSettings | None = None,
    jitter: Jitter = random.random,
) -> AsyncIterator[Dispatcher]:
    """A dispatcher over the configured channels (or ``channels``, used as they are),
    not yet started; the channels close when it is done."""
    registry = channels or await open_channels(services.settings.channels, clock=services.clock.now)
    try:
        yield Dispatcher(
            pool=services.pool,
            clock=services.clock,
            channels=registry,
            vault=services.vault,
            settings=settings or services.settings.dispatch,
            jitter=jitter,
            metrics=services.metrics,
        )
    finally:
        await registry.aclose()
