"""Typed keys for what the aiohttp application holds."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Literal

import asyncpg
from aiohttp import web

from core.cases import RulesFor
from hub.clock import Clock
from hub.metrics import Metrics
from hub.notices.recipients import Routing
from hub.planning.planner import Planner
from hub.planning.tick import TickResult
from hub.services import Services
from hub.settings import Settings
from hub.signing import Keyring
from hub.store.calendars import LiveCalendar

# A hook may report what it set aside (the tick); the test clock's answer lists it.
TestClockHook = Callable[[datetime], Awaitable[TickResult | None]]
Role = Literal["all", "api", "worker"]

SETTINGS = web.AppKey("settings", Settings)
CLOCK = web.AppKey("clock", Clock)
# One key per purpose, derived from auth.link_secret (hub/signing.py).
KEYRING = web.AppKey("keyring", Keyring)
POOL = web.AppKey("pool", asyncpg.Pool)
CALENDAR = web.AppKey("calendar", LiveCalendar)
RULES: web.AppKey[RulesFor] = web.AppKey("rules")
METRICS = web.AppKey("metrics", Metrics)
ROLE = web.AppKey("role", str)
PLANNER = web.AppKey("planner", Planner)
# Addressing notices: settings, calendar, signed links, enabled channels.
ROUTING = web.AppKey("routing", Routing)
# Run, in order, after the test clock moves; the scheduler registers here.
TEST_CLOCK_HOOKS = web.AppKey("test_clock_hooks", list[TestClockHook])
# The random source of retry jitter (the dispatcher's and the webhooks'); tests fix it.
JITTER: web.AppKey[Callable[[], float]] = web.AppKey("dispatch_jitter")
# The parts above, handed to jobs and services as one value (hub/services.py).
SERVICES = web.AppKey("services", Services)
