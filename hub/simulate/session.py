"""One simulation: a hub on the manual clock, the scenario replayed, its log checked and summed."""

from __future__ import annotations

import csv
import statistics
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from channels.sms_length import count_segments
from hub.app import create_app, running
from hub.clock import ManualClock
from hub.keys import CHANNEL_REGISTRY, SERVICES, TEST_CLOCK_HOOKS
from hub.notices.budget import OFF_SMS
from hub.settings import ChannelsSettings, Settings
from hub.simulate import run
from hub.simulate.invariants import Facts, check_all
from hub.simulate.scenario import TZ, Scenario

REMINDER_KINDS = ("node_due_soon", "node_overdue", "urge", "daily_digest")


@dataclass(kw_only=True)
class Outcome:
    log: list[dict[str, Any]]
    broken: dict[str, str]  # invariant -> first counterexample
    rejected: list[str]
    facts: Facts


def simulation_settings(settings: Settings, data_dir: Path) -> Settings:
    """The centre's policy, every medium on (silent adapters), a manual clock, a scratch dir."""
    channels = ChannelsSettings.model_validate(
        {
            "sms": {"provider": "console"},
            "email": {"enabled": True},
            "wecom": {"enabled": True},
            "wechat_mp": {"enabled": True},
        }
    )
    database = settings.database.model_copy(update={"data_dir": data_dir})
    return settings.model_copy(update={"channels": channels, "database": database})


async def simulate(
    settings: Settings,
    scenario: Scenario,
    *,
    database_url: str,
    data_dir: Path,
    resolution: timedelta = timedelta(minutes=1),
    progress: run.Progress | None = None,
    max_reminder_sms: int = 12,
) -> Outcome:
    clock = ManualClock(scenario.start - timedelta(minutes=1))
    app = create_app(
        simulation_settings(settings, data_dir), clock=clock, database_url=database_url
    )
    app[CHANNEL_REGISTRY] = run.silent_channels()  # nothing leaves
    async with running(app):
        services = app[SERVICES]
        replay = await run.replay(
            services,
            app[TEST_CLOCK_HOOKS],
            clock,
            scenario,
            resolution=resolution,
            progress=progress,
        )
        log = await run.message_log(services)
        nodes = await run.nodes(services)
    policy = settings.policy
    facts = Facts(
        scenario=scenario,
        learnt=replay.learnt,
        nodes=nodes,
        office_start=policy.office_start,
        default_quiet=policy.quiet_hours,
        max_reminder_sms=max_reminder_sms,
    )
    broken = {name: found for name, found in check_all(log, facts).items() if found}
    return Outcome(log=log, broken=broken, rejected=replay.rejected, facts=facts)


def summary(outcome: Outcome, *, sms_price: float, sign_name: str = "") -> str:
    """What Cuiban would have sent: per kind and channel per day, reminders per person, SMS cost."""
    sent = [r for r in outcome.log if r["status"] in ("sent", "delivered") and r["sent_at"]]
    lines = [f"messages sent: {len(sent)} (of {len(outcome.log)} written)"]
    per_kind: Counter[tuple[str, str]] = Counter((r["kind"], r["channel"]) for r in sent)
    days = sorted({r["sent_at"].astimezone(TZ).date() for r in sent})
    lines.append(
        f"\nnotices per kind and channel (total, per day over {len(days)} days: mean / max)"
    )
    by_day: dict[tuple[str, str], Counter[Any]] = defaultdict(Counter)
    for r in sent:
        by_day[(r["kind"], r["channel"])][r["sent_at"].astimezone(TZ).date()] += 1
    for (kind, channel), total in sorted(per_kind.items()):
        daily = by_day[(kind, channel)]
        mean = total / max(1, len(days))
        lines.append(
            f"  {kind:<24} {channel:<10} {total:>6}   {mean:6.1f} / {max(daily.values()):>4}"
        )
    reminders = Counter(
        (r["person_id"], r["sent_at"].astimezone(TZ).date())
        for r in sent
        if r["kind"] in REMINDER_KINDS and r["person_id"] and r["channel"] != "wap"
    )
    values = sorted(reminders.values()) or [0]
    p95 = values[min(len(values) - 1, int(0.95 * len(values)))]
    lines.append(
        f"\nreminders per person per day: median {statistics.median(values):g}, "
        f"p95 {p95}, max {values[-1]} ({len(reminders)} person-days)"
    )
    budgeted = [r for r in outcome.log if (r.get("note") or "").startswith(OFF_SMS)]
    if budgeted:
        people = len({r["person_id"] for r in budgeted})
        lines.append(
            f"reminders past policy.max_reminder_sms, sent by other channels: {len(budgeted)} "
            f"({people} people; add reviewers or spread the work)"
        )
    sms = [r for r in sent if r["channel"] == "sms"]
    segments = sum(count_segments(r["body"] or "", sign_name) for r in sms)
    lines.append(
        f"SMS: {len(sms)} messages, {segments} segments, cost {segments * sms_price:.2f} "
        f"at {sms_price:g} per segment"
    )
    if outcome.rejected:
        lines.append(f"\nevents refused: {len(outcome.rejected)}; first: {outcome.rejected[0]}")
    if outcome.broken:
        lines.append("\ninvariants broken:")
        lines += [f"  {name}: {example}" for name, example in outcome.broken.items()]
    else:
        lines.append("\nall invariants hold")
    return "\n".join(lines) + "\n"


COLUMNS = ("id", "kind", "channel", "person_id", "case_no", "node_id", "status", "created_at",
           "not_before", "sent_at", "subject", "body", "note")  # fmt: skip


def write_outputs(outcome: Outcome, folder: Path) -> list[Path]:
    """The message log as CSV and a chart of messages per day and channel (SVG)."""
    folder.mkdir(parents=True, exist_ok=True)
    log_path = folder / "messages.csv"
    with log_path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(COLUMNS)
        for row in outcome.log:
            writer.writerow(
                [
                    row[c].astimezone(TZ).isoformat() if hasattr(row[c], "astimezone") else row[c]
                    for c in COLUMNS
                ]
            )
    chart = folder / "messages-per-day.svg"
    chart.write_text(_chart(outcome.log), "utf-8")
    return [log_path, chart]


_COLOURS = {"sms": "#d9534f", "email": "#5bc0de", "wecom": "#5cb85c", "wechat_mp": "#f0ad4e",
            "wap": "#999999"}  # fmt: skip


def _chart(log: Sequence[dict[str, Any]]) -> str:
    """Stacked bars: messages sent per day, by channel."""
    per_day: dict[Any, Counter[str]] = defaultdict(Counter)
    for r in log:
        if r["status"] in ("sent", "delivered") and r["sent_at"]:
            per_day[r["sent_at"].astimezone(TZ).date()][r["channel"]] += 1
    days = sorted(per_day)
    width, height, left, bottom = 900, 360, 50, 40
    top = max((sum(c.values()) for c in per_day.values()), default=1)
    bar = (width - left - 20) / max(1, len(days))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'font-family="sans-serif" font-size="11">',
        f'<text x="{left}" y="16">messages sent per day, by channel (max {top})</text>',
    ]
    scale = (height - bottom - 30) / top
    for i, day in enumerate(days):
        y = float(height - bottom)
        for channel, colour in _COLOURS.items():
            h = per_day[day][channel] * scale
            if h:
                y -= h
                parts.append(
                    f'<rect x="{left + i * bar:.1f}" y="{y:.1f}" width="{bar * 0.8:.1f}" '
                    f'height="{h:.1f}" fill="{colour}"><title>{day} {channel} '
                    f"{per_day[day][channel]}</title></rect>"
                )
        if i % max(1, len(days) // 10) == 0:
            parts.append(
                f'<text x="{left + i * bar:.1f}" y="{height - bottom + 14}">{day:%m-%d}</text>'
            )
    for n, (channel, colour) in enumerate(_COLOURS.items()):
        parts.append(
            f'<rect x="{left + n * 90}" y="{height - 14}" width="10" height="10" fill="{colour}"/>'
        )
        parts.append(f'<text x="{left + n * 90 + 14}" y="{height - 5}">{channel}</text>')
    parts.append("</svg>")
    return "\n".join(parts)
