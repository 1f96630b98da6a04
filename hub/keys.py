"""Typed keys for what the aiohttp application holds."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import asyncpg
from aiohttp import web

from core.cases import RulesFor
from hub.clock import Clock
from hub.delivery.dispatcher import Dispatcher
from hub.delivery.registry import ChannelRegistry
from hub.delivery.webhooks import WebhookWorker
from hub.lifecycle import ClockWorker as ClockWorker  # where it was first; simulate imports it here
from hub.metrics import Metrics
from hub.notices.recipients import Routing
from hub.planning.calendar_sync import CalendarSync
from hub.planning.planner import Planner
from hub.privacy.vault import Vault
from hub.services import Services
from hub.settings import DispatchSettings, Settings
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
# Run, in order, at each instant the test clock stops at; the scheduler comes first.
TEST_CLOCK_HOOKS = web.AppKey("test_clock_hooks", list[ClockWorker])
# The running workers (hub/lifecycle.run_workers), for tests and the edge to look at.
DISPATCHER = web.AppKey("dispatcher", Dispatcher)
WEBHOOKS = web.AppKey("webhooks", WebhookWorker)
# Set before start-up: the channels to use as they are (``cuiban simulate``: silent
# adapters) and [dispatch] settings other than the configured ones (tests).
CHANNEL_REGISTRY = web.AppKey("channel_registry", ChannelRegistry)
DISPATCH_SETTINGS = web.AppKey("dispatch_settings", DispatchSettings)
