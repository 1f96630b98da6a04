"""``cuiban``: serve, demo, migrate, report, deadline, calendar, keys.

Exit codes: 0 ok; 2 bad usage or bad input (one line on stderr, no traceback); 1 anything else.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.metadata
import json
import os
import secrets
import signal
import socket
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime
from itertools import groupby
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, cast
from zoneinfo import ZoneInfo

from core.calendar import CalendarYear
from core.deadlines import Limit, Suspension, Unit, WarnPolicy, compute_deadline
from core.errors import ConfigError, CuibanError, InputError
from hub.settings import Settings, load_settings

if TYPE_CHECKING:
    from hub.privacy.rotate import RotationResult
    from hub.privacy.vault import Vault

WEEKDAYS = "一二三四五六日"


class UsageError(InputError):
    """The command line is not valid."""


class PortUnavailable(CuibanError):
    """The HTTP port cannot be listened on."""


class _Exit(Exception):
    """argparse finished the command itself (--help, --version): exit with this status."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # main() prints "cuiban: "; a subcommand adds its own name ("cuiban: deadline: ...").
        command = self.prog.removeprefix("cuiban").strip()
        raise UsageError(f"{command}: {message}" if command else message)

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        if message:
            print(message.rstrip(), file=sys.stderr)
        raise _Exit(status)


def version() -> str:
    try:
        return importlib.metadata.version("cuiban")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


# Long on purpose: one block per subcommand of the contract's CLI table, in its order.
def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="cuiban", description="催办 — reminders for approval centres")
    parser.add_argument("--version", action="version", version=f"cuiban {version()}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    serve = sub.add_parser("serve", help="run the HTTP API, WAP pages, scheduler and dispatcher")
    serve.add_argument("--config", help="TOML settings file")
    serve.add_argument("--role", choices=["all", "api", "worker"], default="all")
    serve.add_argument(
        "--demo", action="store_true", help="seed demo departments, people and cases"
    )

    demo = sub.add_parser("demo", help="a self-contained tour on a throwaway database")
    demo.add_argument("--config", help="TOML settings file (policy, calendar)")
    demo.add_argument(
        "--verbose", action="store_true", help="show the hub's logs here (default: a log file)"
    )

    migrate = sub.add_parser("migrate", help="apply schema migrations")
    migrate.add_argument("--config", help="TOML settings file")

    deadline = sub.add_parser("deadline", help="compute a statutory deadline (pure; prints JSON)")
    deadline.add_argument("--config", help="TOML settings file (for calendar and policy)")
    deadline.add_argument(
        "--start", required=True, help="acceptance instant, ISO-8601 (local if no offset)"
    )
    deadline.add_argument("--limit", required=True, type=int, help="the limit N")
    deadline.add_argument("--unit", required=True, choices=[u.value for u in Unit])
    deadline.add_argument(
        "--suspend",
        action="append",
        default=[],
        metavar="FROM/TO",
        help="a suspension as ISO/ISO (TO may be empty: still suspended); repeatable",
    )
    deadline.add_argument(
        "--extend",
        action="append",
        type=int,
        default=[],
        metavar="M",
        help="an approved extension of M working days; repeatable",
    )
    deadline.add_argument(
        "--green-channel", action="store_true", help="halve the limit (rounded up)"
    )
    deadline.add_argument(
        "--provisional",
        action="store_true",
        help="compute the year after the last official one from its statutory holidays "
        '(no 调休); the result says "provisional": true',
    )

    report = sub.add_parser("report", help="write a month's supervision report (HTML, CSV, PNG)")
    report.add_argument("--month", required=True, help="the month, YYYY-MM")
    report.add_argument("--config", help="TOML settings file")
    report.add_argument("--out", type=Path, help="folder for the files (default: data_dir/reports)")

    sim = sub.add_parser(
        "simulate", help="replay events on a throwaway database: what Cuiban would have sent"
    )
    source = sim.add_mutually_exclusive_group(required=True)
    source.add_argument("--events", type=Path, help="exported events, one JSON object a line")
    source.add_argument("--synthetic", action="store_true", help="a seeded synthetic centre")
    sim.add_argument("--cases", type=int, default=150, help="synthetic: cases (default 150)")
    sim.add_argument("--days", type=int, default=30, help="synthetic: days (default 30)")
    sim.add_argument("--seed", type=int, default=1, help="synthetic: seed (default 1)")
    sim.add_argument("--config", help="TOML settings file (policy, calendar)")
    sim.add_argument("--sms-price", type=float, default=0.045, help="price per SMS segment")
    sim.add_argument(
        "--resolution", type=int, default=5, help="minutes events are grouped by (default 5)"
    )
    sim.add_argument("--out", type=Path, help="folder for messages.csv and a chart (SVG)")

    keys = sub.add_parser("keys", help="the data key of personal data at rest: new, rotate, status")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True, parser_class=_Parser)
    keys_sub.add_parser("new", help="print fresh key material for privacy.data_key, and its id")
    rotate = keys_sub.add_parser(
        "rotate",
        help="re-seal every personal value and blind index under privacy.data_key "
        "(the old keys in privacy.previous_keys); resumes after a crash",
    )
    rotate.add_argument("--config", help="TOML settings file")
    rotate.add_argument(
        "--batch-size", type=int, default=500, help="rows per transaction (default 500)"
    )
    rotate.add_argument(
        "--pause", type=float, default=0.0, help="seconds between batches, to spare a busy hub"
    )
    status = keys_sub.add_parser("status", help="the configured key ids and the last rotation")
    status.add_argument("--config", help="TOML settings file")

    calendar = sub.add_parser("calendar", help="the working-day calendar")
    cal_sub = calendar.add_subparsers(dest="calendar_command", required=True, parser_class=_Parser)
    show = cal_sub.add_parser("show", help="a year's holidays and 调休 make-up workdays")
    show.add_argument("year", type=int)
    show.add_argument(
        "--provisional",
        action="store_true",
        help="show the year after the last official one as computed provisionally",
    )
    show.add_argument("--config", help="TOML settings file")
    imp = cal_sub.add_parser("import", help="validate and keep a year file")
    imp.add_argument("file", type=Path)
    imp.add_argument("--config", help="TOML settings file")
    return parser


def _instant(text: str, tz: ZoneInfo, what: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{what}: {text!r} is not an ISO-8601 date or instant") from None
    return value if value.tzinfo else value.replace(tzinfo=tz)


def _suspension(text: str, tz: ZoneInfo) -> Suspension:
    start, sep, end = text.partition("/")
    if not sep:
        raise UsageError(f"--suspend: {text!r} must be FROM/TO (TO may be empty)")
    return Suspension(
        start=_instant(start, tz, "--suspend"), end=_instant(end, tz, "--suspend") if end else None
    )


def cmd_deadline(args: argparse.Namespace, settings: Settings) -> int:
    from hub.store.calendars import load_calendar, with_provisional_next_year

    tz = settings.calendar.tz
    calendar = load_calendar(settings.database.data_dir, settings.calendar.year_files)
    if args.provisional:
        calendar = with_provisional_next_year(calendar)
    if args.limit < 0:
        raise UsageError(f"--limit: must not be negative (got {args.limit})")
    for extension in args.extend:
        if extension < 0:
            raise UsageError(f"--extend: must not be negative (got {extension})")
    result = compute_deadline(
        _instant(args.start, tz, "--start"),
        Limit(value=args.limit, unit=Unit(args.unit)),
        calendar,
        suspensions=[_suspension(s, tz) for s in args.suspend],
        extensions=[Limit(value=m, unit=Unit.WORKING_DAYS) for m in args.extend],
        green_channel=args.green_channel,
        warn=WarnPolicy(
            working_days=settings.policy.warn_working_days,
            fraction=settings.policy.warn_fraction,
            office_start=settings.policy.office_start,
        ),
        tz=tz,
    )
    print(json.dumps(result.as_json(), ensure_ascii=False))
    return 0


def _weekday(day: date) -> str:
    return "星期" + WEEKDAYS[day.weekday()]


def cmd_calendar_show(args: argparse.Namespace, settings: Settings) -> int:
    from hub.store.calendars import load_calendar, with_provisional_next_year

    calendar = load_calendar(settings.database.data_dir, settings.calendar.year_files)
    if args.provisional:
        calendar = with_provisional_next_year(calendar)
    year = calendar.year(args.year)
    print(f"{year.year} 年  {year.source}".rstrip())
    if year.provisional:
        print("暂按法定节假日推算 (provisional: the State Council's notice is not imported yet)")
    print("放假 (holidays):")
    days = sorted(year.holidays.items())
    for name, run in groupby(days, key=lambda item: item[1]):
        # Split a name's days into consecutive runs (a name may recur, e.g. across years).
        run_days = [d for d, _ in run]
        start = prev = run_days[0]
        for d in [*run_days[1:], None]:
            if d is not None and (d - prev).days == 1:
                prev = d
                continue
            count = (prev - start).days + 1
            span = (
                start.isoformat() if start == prev else f"{start.isoformat()} – {prev.isoformat()}"
            )
            print(f"  {name:<8} {span}  共 {count} 天")
            if d is not None:
                start = prev = d
    print("调休上班 (make-up workdays):")
    for day, name in sorted(year.make_up_workdays.items()):
        print(f"  {day.isoformat()} {_weekday(day)}  {name}")
    if not year.make_up_workdays:
        print("  (none)")
    first, last = date(year.year, 1, 1), date(year.year + 1, 1, 1)
    count = sum(
        1
        for ordinal in range(first.toordinal(), last.toordinal())
        if year.is_working_day(date.fromordinal(ordinal))
    )
    print(f"工作日 (working days): {count}")
    return 0


def cmd_calendar_import(args: argparse.Namespace, settings: Settings) -> int:
    from hub.store.calendars import import_year_file

    year, dest = import_year_file(args.file, settings.database.data_dir)
    revision = asyncio.run(_store_year(settings, year))
    print(
        f"imported {year.year}: {len(year.holidays)} holiday days, "
        f"{len(year.make_up_workdays)} make-up workdays -> {dest}; "
        f"stored in the database (revision {revision}): running hubs use it within seconds "
        "and re-plan the deadlines it touches"
    )
    return 0


async def _store_year(settings: Settings, year: CalendarYear) -> int:
    from hub.store import db
    from hub.store.calendars import store_year

    url = await db.resolve_url(settings.database.url.get_secret_value(), settings.database.data_dir)
    pool = await db.create_pool(url, min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn:
            await db.migrate(conn)
            return await store_year(conn, year, by="cli", now=datetime.now(UTC))
    finally:
        await pool.close()


async def _migrate(settings: Settings) -> list[int]:
    from hub.store import db

    url = await db.resolve_url(settings.database.url.get_secret_value(), settings.database.data_dir)
    pool = await db.create_pool(url, min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn:
            return await db.migrate(conn)
    finally:
        await pool.close()


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    from hub.store.db import latest_version

    applied = asyncio.run(_migrate(settings))
    if applied:
        print(f"applied migrations {', '.join(map(str, applied))}; schema at {latest_version()}")
    else:
        print(f"schema already at {latest_version()}; nothing to apply")
    return 0


def _listen(host: str, port: int, *, reuse_port: bool = False) -> socket.socket:
    """The listening socket, bound before anything else starts (a busy port costs nothing)."""
    try:
        family, _, _, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        return socket.create_server(address, family=family, reuse_port=reuse_port)
    except OSError as exc:
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        raise PortUnavailable(
            f"cannot listen on {host}:{port}: {reason.lower()} (http.host / http.port)"
        ) from None


async def _serve(settings: Settings, *, role: str, demo: bool) -> None:
    from aiohttp import web

    from hub import heap, secret_policy
    from hub.api.connections import ConnectionGate, GatedSockSite, runner_options
    from hub.app import create_app
    from hub.demo.seed import seed_demo
    from hub.keys import CLOCK, ROUTING, SERVICES, Role
    from hub.notices.hold import hold_note

    admin_key = None
    if demo:  # random secrets instead of weak ones, so the demo runs with no config at all
        made = secret_policy.for_demo(settings)
        settings, admin_key = made.settings, made.admin_key
    if settings.clock.mode != "manual":
        secret_policy.check(settings)  # before the port is taken (create_app checks too)
    listener = _listen(settings.http.host, settings.http.port, reuse_port=settings.http.reuse_port)
    # Signals only set the event from here on: a Ctrl-C during start-up lets start-up
    # finish and then stops everything in order, instead of cancelling jobs mid-way.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    app = create_app(settings, role=cast(Role, role), demo=demo)
    http = settings.http
    runner = web.AppRunner(
        app, handle_signals=False, access_log=None, **runner_options(http.read_timeout)
    )
    gate = ConnectionGate(http.max_connections_per_client, exempt=http.trusted_proxies)
    try:
        await runner.setup()
        if not stop.is_set():
            await GatedSockSite(runner, listener, gate=gate).start()
        if demo and not stop.is_set():
            summary = await seed_demo(app[SERVICES])
            print(summary, flush=True)
            if admin_key:
                print(f"Admin API key for this run: {admin_key}", flush=True)
        if not stop.is_set():
            heap.settle()
            port = listener.getsockname()[1]
            url = f"http://{settings.http.host}:{port}/"
            print(f"Cuiban ({role}) is serving on {url}  (Ctrl-C stops)", flush=True)
            try:
                note = hold_note(app[ROUTING], app[CLOCK].now())
            except CuibanError:  # a year the calendar lacks: nothing useful to say
                note = None
            if note and role != "api":
                print(note, flush=True)
            await stop.wait()
    finally:
        await runner.cleanup()
        listener.close()
    # Not after a failed start-up: main() prints why instead, in one line.
    print("Cuiban stopped.", flush=True)


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    asyncio.run(_serve(settings, role=args.role, demo=args.demo))
    return 0


async def _report(settings: Settings, month: str, out: Path) -> list[Path]:
    from hub.app import clock_from_settings
    from hub.store import db
    from hub.supervision.report import build_report, write_report

    tz = settings.calendar.tz
    url = await db.resolve_url(settings.database.url.get_secret_value(), settings.database.data_dir)
    pool = await db.create_pool(url, min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn:
            # The configured clock, as the hub itself uses (a manual or accelerated demo).
            now = clock_from_settings(settings).now()
            built = await build_report(conn, month, now=now, tz=tz, vault=_report_vault(settings))
    finally:
        await pool.close()
    try:
        return await asyncio.to_thread(write_report, built, out)
    except OSError as exc:
        raise UsageError(f"--out: cannot write to {out}: {exc.strerror or exc}") from None


def _writable_folder(out: Path) -> None:
    """Refuse an ``--out`` that cannot be written before the report is computed."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--out: cannot create {out}: {exc.strerror or exc}") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise UsageError(f"--out: {out} is not writable")


def cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    from hub.supervision.stats import month_period

    try:
        month_period(args.month)
    except ValueError:
        raise UsageError(f"--month: {args.month!r} is not a month YYYY-MM") from None
    out = args.out or Path(settings.database.data_dir) / "reports"
    _writable_folder(out)
    for path in asyncio.run(_report(settings, args.month, out)):
        print(path)
    return 0


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from hub.demo.tour import demo

    return demo(settings, verbose=args.verbose)


def cmd_simulate(args: argparse.Namespace, settings: Settings) -> int:
    from hub.simulate.cli import simulate_command

    if args.cases < 1 or args.days < 1 or args.resolution < 1 or args.sms_price < 0:
        raise UsageError("--cases, --days and --resolution must be ≥ 1, --sms-price ≥ 0")
    if args.out is not None:
        _writable_folder(args.out)
    return simulate_command(args, settings)


def _report_vault(settings: Settings) -> Vault | None:
    """The key opens the rectifications' comments for the report; without one (a reporting
    machine need not hold it) the report leaves them out."""
    try:
        return _vault(settings)
    except ConfigError:
        return None


def _vault(settings: Settings) -> Vault:
    from hub.privacy.keys import load_vault

    return load_vault(
        settings.privacy,
        data_dir=settings.database.data_dir,
        allow_generated=settings.clock.mode == "manual",
    )


def cmd_keys_new(args: argparse.Namespace, settings: Settings) -> int:
    from hub.privacy.vault import DataKey

    material = secrets.token_hex(32)
    print(material)
    print(
        f"key id {DataKey.from_hex(material).key_id}: set it as privacy.data_key, move the "
        "old key to privacy.previous_keys, restart every hub process, then "
        "`cuiban keys rotate`",
        file=sys.stderr,
    )
    return 0


def cmd_keys_rotate(args: argparse.Namespace, settings: Settings) -> int:
    if args.batch_size < 1 or args.pause < 0:
        raise UsageError("keys rotate: --batch-size must be ≥ 1 and --pause ≥ 0")
    vault = _vault(settings)
    previous = [key.key_id for key in vault.keys()[1:]]
    print(
        f"rotating to key {vault.current.key_id}"
        + (f" (previous: {', '.join(previous)})" if previous else " (no previous keys)"),
        flush=True,
    )
    result = asyncio.run(_rotate(settings, vault, args.batch_size, args.pause))
    if result.finished:
        print(
            f"done: {result.resealed} values re-sealed; every value is under key "
            f"{result.key_id}; privacy.previous_keys may now be emptied",
            flush=True,
        )
        return 0
    print(
        f"not finished: {result.resealed} values re-sealed, {result.unopened} would not open "
        f"(a key not in privacy.previous_keys, or damaged), {result.stale} still under another "
        "key; the log names each; run again once fixed",
        file=sys.stderr,
    )
    return 1


async def _rotate(settings: Settings, vault: Vault, batch: int, pause: float) -> RotationResult:
    from hub.app import clock_from_settings
    from hub.privacy.rotate import rotate_keys
    from hub.replies import opt_outs
    from hub.store import db

    url = await db.resolve_url(settings.database.url.get_secret_value(), settings.database.data_dir)
    pool = await db.create_pool(url, min_size=1, max_size=2)
    try:
        async with pool.acquire() as conn:
            await db.migrate(conn)
            # Before opt_outs.mobile_index moves to the new key, each opt-out has its index
            # under both in opt_out_indexes, which the opt-out filter also compares.
            await opt_outs.index_under_every_key(conn, vault)
        return await rotate_keys(
            pool,
            vault,
            now=clock_from_settings(settings).now,
            batch=batch,
            pause=pause,
            report=lambda progress: print(progress.line(), flush=True),
        )
    finally:
        await pool.close()


def cmd_keys_status(args: argparse.Namespace, settings: Settings) -> int:
    vault = _vault(settings)
    print(f"current key: {vault.current.key_id}")
    for key in vault.keys()[1:]:
        print(f"previous key: {key.key_id}")
    latest = asyncio.run(_latest_rotation(settings))
    if latest is None:
        print("no rotation has run")
    else:
        state = (
            "superseded"
            if latest["superseded"]
            else ("finished" if latest["finished_at"] else "unfinished: run `cuiban keys rotate`")
        )
        started = (
            latest["started_at"].astimezone(settings.calendar.tz).isoformat(timespec="minutes")
        )
        print(
            f"last rotation: to key {latest['key_id']}, started {started}, "
            f"{latest['resealed']} values re-sealed, {state}"
        )
    return 0


async def _latest_rotation(settings: Settings) -> dict[str, Any] | None:
    from hub.store import db
    from hub.store.queries import Q

    url = await db.resolve_url(settings.database.url.get_secret_value(), settings.database.data_dir)
    pool = await db.create_pool(url, min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn:
            await db.migrate(conn)
            row = await conn.fetchrow(Q["rotation_latest"])
    finally:
        await pool.close()
    return dict(row) if row is not None else None


KEYS_COMMANDS = {"new": cmd_keys_new, "rotate": cmd_keys_rotate, "status": cmd_keys_status}

COMMANDS = {
    "serve": cmd_serve,
    "demo": cmd_demo,
    "migrate": cmd_migrate,
    "deadline": cmd_deadline,
    "report": cmd_report,
    "simulate": cmd_simulate,
}


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        settings = load_settings(getattr(args, "config", None))
        if args.command not in ("demo", "simulate"):  # they keep the hub's logs off the screen
            from hub.logging import configure_logging

            configure_logging(settings.logging.level, settings.logging.format)
        if args.command == "calendar":
            handler = cmd_calendar_show if args.calendar_command == "show" else cmd_calendar_import
        elif args.command == "keys":
            handler = KEYS_COMMANDS[args.keys_command]
        else:
            handler = COMMANDS[args.command]
        return handler(args, settings)
    except (InputError, ConfigError) as exc:
        print(f"cuiban: {exc}", file=sys.stderr)
        return 2
    except CuibanError as exc:
        print(f"cuiban: {exc}", file=sys.stderr)
        return 1
    except _Exit as done:
        return done.status
    except KeyboardInterrupt:
        return 130  # the shell's convention for a Ctrl-C


if __name__ == "__main__":
    raise SystemExit(main())
