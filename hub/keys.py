"""Typed keys for what the aiohttp application holds."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import asyncpg
from aiohttp import web

from core.cases import RulesFor
from hub.clock import Clock
from hub.metrics import Metrics
from hub.notices.recipients import Routing
from hub.planning.calendar_sync import CalendarSync
from hub.planning.planner import Planner
from hub.privacy.vault import Vault
from hub.services import Services
from hub.settings import Settings
from hub.signing import Keyring
from hub.store.calendars import LiveCalendar

Role = Literal["all", "api", "worker"]

SETTINGS = web.AppKey("settings", Settings)
CLOCK = web.AppKey("clock", Clock)
# One key per purpose, derived from auth.link_secret (hub/signing.py).
KEYRING = web.AppKey("keyring", Keyring)
POOL = web.AppKey("pool", asyncpg.Pool)
CALENDAR = web.AppKey("calendar", LiveCalendar)
CALENDAR_SYNC = web.AppKey("calendar_sync", CalendarSync)
RULES: web.AppKey[RulesFor] = web.AppKey("rules")
METRICS = web.AppKey("metrics", Metrics)
ROLE = web.AppKey("role", str)
PLANNER = web.AppKey("planner", Planner)
# Addressing notices: settings, calendar, signed links, enabled channels.
ROUTING = web.AppKey("routing", Routing)
# The random source of retry jitter (the dispatcher's and the webhooks'); tests fix it.
JITTER: web.AppKey[Callable[[], float]] = web.AppKey("dispatch_jitter")
# Seals personal fields at rest (hub/privacy/); also in SERVICES.
VAULT = web.AppKey("vault", Vault)
# The parts above, handed to jobs and services as one value (hub/services.py).
SERVICES = web.AppKey("services", Services)


@dataclass(frozen=True, kw_only=True)
class ClockWorker:
    """Work that the manual test clock drives instead of a background loop.

    ``run(now)`` does everything due by ``now``. ``next_due(after)`` is the earliest
    instant strictly after ``after`` at which the worker will have work due, or, with
    ``after=None``, the earliest instant with work pending at all (it may lie in the
    past); None when nothing is pending. The advance steps through these instants.
    """

    name: str
    run: Callable[[datetime], Awaitable[object]]
    next_due: Callable[[datetime | None], Awaitable[datetime | None]]


# Run, in order, at each instant the test clock stops at; the scheduler comes first.
TEST_CLOCK_HOOKS = web.AppKey("test_clock_hooks", list[ClockWorker])
