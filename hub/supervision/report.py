"""The monthly supervision report (电子监察月报): a per-department table and two charts.

:func:`build_report` computes a month's figures (:mod:`hub.supervision.stats`), draws the
on-time rate and overdue counts per department (:mod:`hub.supervision.charts`, off the
event loop: SVG for the HTML page, PNG files beside it) and renders the HTML page
plus a CSV of the table.
:func:`monthly_report_job` runs from the periodic work: on or after the first
working day of a month it writes last month's report under
``<data_dir>/reports`` and e-mails every department supervisor a summary with a
link to the page — once per month (the messages' dedupe keys say so).
"""

from __future__ import annotations

import asyncio
import base64
import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import structlog

from core.calendar import WorkingCalendar
from core.notices import NoticeKind
from hub.notices.notify import notify_reviewers
from hub.privacy.vault import Vault
from hub.rectifications import listing as rectification_listing
from hub.services import Services
from hub.store.queries import Q
from hub.supervision import charts, stats
from hub.supervision.templates import environment

__all__ = [
    "CASE_COLUMNS",
    "CSV_COLUMNS",
    "RECTIFICATION_COLUMNS",
    "Report",
    "build_report",
    "chart_label",
    "group_label",
    "monthly_report_job",
    "previous_month",
    "svg_uri",
    "write_report",
]

log = structlog.get_logger(__name__)

#: (field of Figures.as_json, column heading) of the cases table on the pages.
CASE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("accepted", "受理"),
    ("closed", "办结"),
    ("early", "提前办结"),
    ("on_time", "按时办结"),
    ("late", "超期办结"),
    ("withdrawn", "撤件"),
    ("open", "在办"),
    ("open_due_soon", "临期"),
    ("open_overdue", "在办超期"),
    ("urges", "催办"),
    ("closed_rate", "办结率"),
    ("on_time_rate", "按时办结率"),
    ("early_rate", "提前办结率"),
    ("satisfaction", "满意度"),
    ("satisfaction_count", "评价数"),
    ("notices_sent", "通知已发"),
    ("notices_failed", "通知失败"),
)
#: The 好差评 figures (差评整改), a table of their own on the pages.
RECTIFICATION_COLUMNS: tuple[tuple[str, str], ...] = (
    ("poor_ratings", "差评"),
    ("verified_on_time", "按时回访核实"),
    ("verified_on_time_rate", "回访核实率"),
    ("rectified", "已整改答复"),
    ("rectified_on_time", "按时整改答复"),
    ("rectified_on_time_rate", "差评按时整改率"),
)
#: Every column of the CSV.
CSV_COLUMNS: tuple[tuple[str, str], ...] = CASE_COLUMNS + RECTIFICATION_COLUMNS


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


def svg_uri(svg: str) -> str:
    """An SVG chart for an ``<img>``: its own document, so two charts share no element ids."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


@dataclass(frozen=True, kw_only=True)
class Report:
    month: str
    figures: stats.Stats
    charts: dict[str, bytes]
    svgs: dict[str, str]
    html: str
    csv: str


def previous_month(day: date) -> str:
    last = day.replace(day=1) - timedelta(days=1)
    return f"{last.year:04d}-{last.month:02d}"


def group_label(group: stats.Group) -> str:
    """A group's name on the page, the report and the CSV; else its code, else （未关联办件）."""
    return group.name or group.key or stats.UNLINKED


def chart_label(group: stats.Group) -> charts.Label:
    """A department's name on a chart; its code where no Chinese font draws the name."""
    return charts.Label(group_label(group), group.key or "unlinked")


def _charts(month: str, groups: Sequence[stats.Group]) -> dict[str, charts.Chart]:
    departments = [g for g in groups if g.key is not None]
    labels = [chart_label(g) for g in departments] or [charts.Label("—", "-")]
    # A department with nothing closed has no on-time rate: "—" as in the table, not 0%.
    rates = [g.figures.on_time_rate for g in departments] or [None]
    late = [float(g.figures.late) for g in departments] or [0.0]
    overdue = [float(g.figures.open_overdue) for g in departments] or [0.0]
    return {
        "on_time_rate": charts.Chart(
            labels=labels,
            series=[charts.Series(name=charts.Label("按时办结率", "On-time rate"), values=rates)],
            title=charts.Label(f"{month} 各部门按时办结率", f"{month} on-time rate by department"),
            percent=True,
        ),
        "overdue": charts.Chart(
            labels=labels,
            series=[
                charts.Series(name=charts.Label("超期办结", "Closed late"), values=late),
                charts.Series(name=charts.Label("在办超期", "Open overdue"), values=overdue),
            ],
            title=charts.Label(f"{month} 各部门超期件数", f"{month} overdue cases by department"),
        ),
    }


def _draw(month: str, groups: Sequence[stats.Group]) -> tuple[dict[str, bytes], dict[str, str]]:
    """The report's charts as PNG (files, e-mail) and SVG (pages)."""
    drawn = _charts(month, groups)
    pngs = {name: charts.bar_chart_png(chart) for name, chart in drawn.items()}
    svgs = {name: charts.bar_chart_svg(chart) for name, chart in drawn.items()}
    return pngs, svgs


def _csv(report_stats: stats.Stats) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["部门代码", "部门", *(title for _, title in CSV_COLUMNS)])
    rows = [(g.key or "", group_label(g), g.figures.as_json()) for g in report_stats.groups]
    rows.append(("", "合计", report_stats.total.as_json()))
    for code, name, figures in rows:
        writer.writerow(
            [code, name, *("" if figures[f] is None else figures[f] for f, _ in CSV_COLUMNS)]
        )
    return out.getvalue()


async def build_report(
    conn: asyncpg.Connection, month: str, *, now: datetime, tz: ZoneInfo, vault: Vault | None
) -> Report:
    """The report of ``month`` (``YYYY-MM``); raises ValueError for a malformed month.

    Without ``vault`` the rectifications' comments, stored sealed, are left out."""
    period = stats.month_period(month)
    figures = await stats.compute(conn, period, group_by="department", now=now, tz=tz)
    lo, hi = period.bounds(tz)
    opened = await rectification_listing.opened_between(conn, lo, hi, now=now, tz=tz, vault=vault)
    pngs, svgs = await asyncio.to_thread(_draw, month, figures.groups)
    html = (
        environment()
        .get_template("report.html.j2")
        .render(
            month=month,
            stats=figures,
            columns=CASE_COLUMNS,
            rectification_columns=RECTIFICATION_COLUMNS,
            rectifications=opened,
            label=group_label,
            charts={name: svg_uri(svg) for name, svg in svgs.items()},
            generated=now.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
            as_of=figures.as_of.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
        )
    )
    return Report(
        month=month, figures=figures, charts=pngs, svgs=svgs, html=html, csv=_csv(figures)
    )


def write_report(report: Report, folder: Path) -> list[Path]:
    """Write ``report-<month>.html`` (charts inline), ``.csv`` (UTF-8 with BOM) and the PNGs."""
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"report-{report.month}"
    paths = [folder / f"{stem}.html", folder / f"{stem}.csv"]
    paths[0].write_text(report.html, "utf-8")
    # The BOM lets spreadsheet programs on Windows read the Chinese headings.
    paths[1].write_text(report.csv, "utf-8-sig")
    for name, png in report.charts.items():
        path = folder / f"{stem}-{name.replace('_', '-')}.png"
        path.write_bytes(png)
        paths.append(path)
    return paths


def _first_working_day(calendar: WorkingCalendar, day: date) -> date:
    first = day.replace(day=1)
    for offset in range(31):
        candidate = first + timedelta(days=offset)
        try:
            if calendar.is_working_day(candidate):
                return candidate
        except Exception:  # a year the calendar lacks: fall back to Monday–Friday
            if candidate.weekday() < 5:
                return candidate
    return first


def _summary(report: Report) -> str:
    total = report.figures.total.as_json()
    pct = environment().filters["pct"]
    lines = [
        f"受理 {total['accepted']} 件，办结 {total['closed']} 件，"
        f"办结率 {pct(total['closed_rate'])}，按时办结率 {pct(total['on_time_rate'])}；"
        f"在办超期 {total['open_overdue']} 件，"
        f"催办 {total['urges']} 次。",
    ]
    for group in report.figures.groups:
        f = group.figures.as_json()
        lines.append(
            f"{group_label(group)}：办结 {f['closed']}，按时 {pct(f['on_time_rate'])}，"
            f"超期办结 {f['late']}，在办超期 {f['open_overdue']}"
        )
    return "\n".join(lines)


async def monthly_report_job(services: Services, now: datetime) -> int:
    """On or after a month's first working day: save last month's report and mail supervisors.

    Idempotent (safe every tick, from any number of processes): the messages'
    dedupe keys ``monthly_report:<YYYY-MM>:<person>`` stop a second mailing, and
    the file is not written again once sent. Returns the number of notices queued.
    """
    settings = services.settings
    tz = settings.calendar.tz
    today = now.astimezone(tz).date()
    if today < _first_working_day(services.calendar, today):
        return 0
    month = previous_month(today)
    folder = Path(settings.database.data_dir) / "reports"
    async with services.pool.acquire() as conn:
        if await conn.fetchval(Q["monthly_report_sent"], month):
            return 0
        supervisors = [r["person_id"] for r in await conn.fetch(Q["report_supervisors"])]
        if not supervisors and (folder / f"report-{month}.html").exists():
            return 0
        report = await build_report(conn, month, now=now, tz=tz, vault=services.vault)
        await asyncio.to_thread(write_report, report, folder)
        routing = services.routing
        link = f"{settings.http.public_base_url}/supervise/reports/{month}"
        context = {
            "title": f"电子监察月报 {month}",
            "content": _summary(report),
            "report_month": month,
        }
        queued = await notify_reviewers(
            conn,
            routing,
            supervisors,
            NoticeKind.MONTHLY_REPORT,
            f"monthly_report:{month}",
            context,
            now=now,
            link=link,
        )
    log.info("monthly_report_written", month=month, folder=str(folder), notices=queued)
    return queued


def report_context(report: Report) -> dict[str, Any]:
    """What the CLI prints about a written report."""
    total = report.figures.total.as_json()
    return {"month": report.month, "accepted": total["accepted"], "closed": total["closed"]}
