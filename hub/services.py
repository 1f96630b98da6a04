"""The hub's parts, built once at start-up and handed to what needs them.

Jobs and services take a :class:`Services` (or just the parts they use)
instead of reaching into the aiohttp application: they run the same from the
scheduler, the CLI, the demo or a test. hub/app.py builds it once the
database pool is open and keeps it under ``SERVICES``.
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from core.calendar import WorkingCalendar
from core.cases import RulesFor
from hub.clock import Clock
from hub.metrics import Metrics
from hub.notices.recipients import Routing
from hub.planning.planner import Planner
from hub.privacy.vault import Vault
from hub.settings import Settings


@dataclass(frozen=True, kw_only=True)
class Services:
    pool: asyncpg.Pool
    clock: Clock
    settings: Settings
    calendar: WorkingCalendar
    rules: RulesFor
    routing: Routing  # settings, calendar and signed links: where a notice goes
    planner: Planner
    metrics: Metrics
    vault: Vault  # seals personal fields and computes their blind indexes
