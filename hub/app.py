"""``create_app(settings) -> web.Application``: the hub's parts, started and stopped in order."""

from __future__ import annotations

import contextlib
import random
from collections.abc import AsyncIterator
from datetime import timedelta

from aiohttp import web

from channels.render import check_sms_templates
from core.calendar import WorkingCalendar
from core.cases import MatterRules, RulesFor
from core.deadlines import WarnPolicy
from hub import secret_policy
from hub.api import audit, broadcasts, callbacks, urges
from hub.api import calendar as calendar_api
from hub.api import messages as messages_api
from hub.api import metrics as metrics_api
from hub.api import privacy as privacy_api
from hub.api import rectifications as rectifications_api
from hub.api import routes as api
from hub.api import stats as stats_api
from hub.api.auth import auth_middleware
from hub.api.bodies import body_deadline_middleware, body_size_middleware
from hub.api.clients import real_client_middleware
from hub.api.openapi import api_routes, openapi_document
from hub.api.problems import problems_middleware
from hub.clock import AcceleratedClock, Clock, ManualClock, SystemClock
from hub.keys import (
    CALENDAR,
    CALENDAR_SYNC,
    CHANNEL_REGISTRY,
    CLOCK,
    DISPATCH_SETTINGS,
    DISPATCHER,
    JITTER,
    KEYRING,
    METRICS,
    PLANNER,
    POOL,
    ROLE,
    ROUTING,
    RULES,
    SERVICES,
    SETTINGS,
    TEST_CLOCK_HOOKS,
    VAULT,
    WEBHOOKS,
    Role,
)
from hub.lifecycle import WorkerOptions, run_workers
from hub.metrics import Metrics
from hub.notices.links import LinkSigner
from hub.notices.recipients import Routing
from hub.pages.supervise import routes as supervise
from hub.pages.supervise.errors import supervise_errors_middleware
from hub.pages.wap import routes as wap
from hub.pages.wap import text_size
from hub.planning.calendar_sync import CalendarSync
from hub.planning.planner import Planner
from hub.privacy.keys import load_vault
from hub.replies import opt_outs
from hub.services import Services
from hub.settings import PolicySettings, Settings
from hub.signing import Keyring
from hub.store import db
from hub.store.calendars import LiveCalendar, load_calendar

MAX_BODY = 1024 * 1024
# Each module's ``routes`` table, in the order they are added.
ROUTE_MODULES = (
    api,
    callbacks,
    urges,
    calendar_api,
    messages_api,
    audit,
    privacy_api,
    wap,
    text_size,
    stats_api,
    supervise,
    broadcasts,
    rectifications_api,
)


def clock_from_settings(settings: Settings) -> Clock:
    cfg = settings.clock
    if cfg.mode == "manual":
        assert cfg.start is not None
        return ManualClock(cfg.start)
    if cfg.mode == "accelerated":
        assert cfg.start is not None
        return AcceleratedClock(cfg.start, cfg.speed)
    return SystemClock()


def rules_from_policy(policy: PolicySettings) -> RulesFor:
    """Per-matter deadline rules: the [policy] defaults, overridden by [policy.matters.<code>]."""
    default = MatterRules(
        warn=WarnPolicy(
            working_days=policy.warn_working_days,
            fraction=policy.warn_fraction,
            office_start=policy.office_start,
        )
    )
    by_matter = {
        code: MatterRules(
            warn=WarnPolicy(
                working_days=(
                    m.warn_working_days
                    if m.warn_working_days is not None
                    else policy.warn_working_days
                ),
                fraction=m.warn_fraction if m.warn_fraction is not None else policy.warn_fraction,
                office_start=policy.office_start,
            ),
            governed_by_other_law=m.governed_by_other_law,
        )
        for code, m in policy.matters.items()
    }

    def rules_for(matter_code: str | None) -> MatterRules:
        return by_matter.get(matter_code or "", default)

    return rules_for


# Long on purpose: the wiring in start-up order (middlewares, keys, contexts, routes) in one place.
def create_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    calendar: WorkingCalendar | None = None,
    database_url: str | None = None,
    role: Role = "all",
    demo: bool = False,
) -> web.Application:
    """The hub as an aiohttp application; the database opens on startup and closes on cleanup."""
    if settings.clock.mode != "manual" and not isinstance(clock, ManualClock):
        secret_policy.check(settings)  # no shipped, short or shared secret in a real hub
    manual_clock = settings.clock.mode == "manual" or isinstance(clock, ManualClock)
    # Personal data at rest: a generated key only where the data is throwaway.
    vault = load_vault(
        settings.privacy,
        data_dir=settings.database.data_dir,
        allow_generated=demo or manual_clock,
    )
    sms = settings.channels.sms
    if sms.provider != "console":  # a real provider bills segments: refuse a template too long
        sign_name = getattr(getattr(sms, sms.provider), "sign_name", "")
        check_sms_templates(sign_name=sign_name, max_segments=sms.max_segments)
    app = web.Application(
        client_max_size=MAX_BODY,
        middlewares=[
            # Outermost: every answer is counted, whatever turned it into a page.
            metrics_api.count_requests,
            # These two clone the request, so they come before anyone else holds it; a
            # clone keeps client_max_size but not an overridden remote, hence this order.
            body_size_middleware,  # pages take small forms
            real_client_middleware(settings.http.trusted_proxies),  # the client behind a proxy
            problems_middleware,
            auth_middleware(settings.auth.api_keys),
        ],
    )
    app.middlewares.append(wap.wap_middleware)  # /wap/: HTML errors and security headers
    app.middlewares.append(text_size.text_size_middleware)  # /wap/: the reader's text size
    app.middlewares.append(supervise_errors_middleware)  # /supervise/: HTML errors
    # Innermost: after the key checks, so a request without one never has its body read.
    app.middlewares.append(body_deadline_middleware(settings.http.read_timeout))
    app[SETTINGS] = settings
    app[CLOCK] = clock or clock_from_settings(settings)
    # One live calendar for the whole process: an imported year reaches every part at once.
    app[CALENDAR] = LiveCalendar(
        calendar or load_calendar(settings.database.data_dir, settings.calendar.year_files),
        provisional_next_year=settings.calendar.provisional_next_year,
    )
    app[RULES] = rules_from_policy(settings.policy)
    app[METRICS] = Metrics()
    app[TEST_CLOCK_HOOKS] = []
    app[ROLE] = role
    app[VAULT] = vault
    app[KEYRING] = Keyring.from_secret(settings.auth.link_secret.get_secret_value().encode())
    app[ROUTING] = Routing(
        settings=settings,
        calendar=app[CALENDAR],
        links=LinkSigner(keys=app[KEYRING], lifetime=timedelta(days=settings.auth.link_days)),
        vault=vault,
    )
    app[PLANNER] = Planner(app[ROUTING])

    async def database(app: web.Application) -> AsyncIterator[None]:
        url = database_url or await db.resolve_url(
            settings.database.url.get_secret_value(), settings.database.data_dir
        )
        pool = await db.create_pool(url)
        try:
            async with pool.acquire() as conn:
                await db.migrate(conn)
                await opt_outs.index_stored(conn, vault)  # opt-outs from before sealing
                await opt_outs.index_under_every_key(conn, vault)  # a new data key
            app[POOL] = pool
            app[SERVICES] = Services(
                pool=pool,
                clock=app[CLOCK],
                settings=settings,
                calendar=app[CALENDAR],
                rules=app[RULES],
                routing=app[ROUTING],
                planner=app[PLANNER],
                metrics=app[METRICS],
                vault=vault,
            )
            yield
        finally:
            await pool.close()

    app.cleanup_ctx.append(database)
    # Years from the database (seeded from the bundled files), imports picked up live.
    from_database = calendar is None

    async def calendar_years(app: web.Application) -> AsyncIterator[None]:
        sync = CalendarSync(
            services=app[SERVICES],
            calendar=app[CALENDAR],
            from_database=from_database,
            replans=role in ("all", "worker"),
        )
        app[CALENDAR_SYNC] = sync
        async with sync.running():
            yield

    app.cleanup_ctx.append(calendar_years)
    if role in ("all", "worker"):
        # Started after the database and stopped before it: in-flight sends finish first.
        app.cleanup_ctx.append(background_workers)

    manual = isinstance(app[CLOCK], ManualClock)

    async def openapi(_: web.Request) -> web.Response:
        return web.json_response(document)

    for module in ROUTE_MODULES:
        app.add_routes(module.routes)
    app.router.add_get("/v1/openapi.json", openapi)
    app.router.add_get("/healthz", api.healthz)
    app.router.add_get("/readyz", api.readyz)
    app.router.add_get("/metrics", metrics_api.metrics)
    if manual:
        # Only a manual clock can be moved by a request (contract: 404 otherwise).
        app.router.add_post("/v1/test-clock/advance", api.advance_test_clock)
    # From the routes just added: a route without an operation stops start-up here.
    document = openapi_document(
        api_routes((r.method, r.resource.canonical) for r in app.router.routes() if r.resource)
    )
    return app


async def background_workers(app: web.Application) -> AsyncIterator[None]:
    """The scheduler, the dispatcher and the webhooks, handed the services built at start-up
    (and what a test or ``cuiban simulate`` set before it)."""
    options = WorkerOptions(
        dispatch=app.get(DISPATCH_SETTINGS),
        channels=app.get(CHANNEL_REGISTRY),
        jitter=app.get(JITTER, random.random),
    )
    async with run_workers(app[SERVICES], app[TEST_CLOCK_HOOKS], options) as workers:
        app[DISPATCHER] = workers.dispatcher
        app[CHANNEL_REGISTRY] = workers.dispatcher.channels
        app[WEBHOOKS] = workers.webhooks
        yield


@contextlib.asynccontextmanager
async def running(app: web.Application) -> AsyncIterator[web.Application]:
    """The application started (database, scheduler, dispatcher) without serving HTTP:
    the demo tour and ``cuiban simulate`` drive it in-process."""
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        yield app
    finally:
        await runner.cleanup()
