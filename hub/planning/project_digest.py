"""Investment projects (项目经理负责制): the project manager's digest of every change.

Cases that carry the same ``project.id`` form one project; ``project.manager``
names the person who answers for all its approvals. :func:`project_digest_job`
runs from the periodic work: for each project with events received since the
last digest, it queues one notice to the manager listing them, with a link to
``/supervise/projects/{id}``. Each digest records the last event sequence it
covered (``upto_seq`` in its context), so running the job again — from any
number of processes — sends nothing new until something changes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import structlog

from core.notices import NoticeKind
from hub.notices.notify import notify_reviewers
from hub.services import Services
from hub.store.queries import Q

__all__ = ["EVENT_WORDS", "change_line", "project_digest_job"]

log = structlog.get_logger(__name__)

MAX_LINES = 50
EVENT_WORDS = {
    "case.applied": "申请",
    "case.accepted": "受理",
    "node.started": "进入环节",
    "node.completed": "环节办结",
    "case.suspended": "中止（暂停计时）",
    "case.resumed": "恢复计时",
    "case.extended": "延期",
    "case.decided": "作出决定",
    "case.ready_for_pickup": "待领证",
    "case.picked_up": "已领证",
    "case.closed": "办结",
    "case.withdrawn": "撤回",
}
_DECISIONS = {"approved": "准予许可", "rejected": "不予许可"}


def change_line(row: Mapping[str, Any], tz: ZoneInfo) -> str:
    """One event as a digest line: when, which approval, what happened."""
    payload = row["payload"]
    what = EVENT_WORDS.get(row["type"], row["type"])
    if row["type"] in ("node.started", "node.completed") and payload.get("name"):
        what += f"「{payload['name']}」"
    if row["type"] == "case.decided":
        what += f"：{_DECISIONS.get(payload.get('decision'), payload.get('decision'))}"
    where = row["department_name"] or ""
    return (
        f"{row['occurred_at'].astimezone(tz):%m-%d %H:%M} {row['matter_name'] or ''}"
        f"（{row['case_no']}，{where}）{what}"
    )


async def project_digest_job(services: Services, now: datetime) -> int:
    """Queue a digest to each project manager whose project changed; return how many."""
    tz = services.settings.calendar.tz
    routing = services.routing
    queued = 0
    async with services.pool.acquire() as conn:
        projects = await conn.fetch(Q["projects_with_changes"])
        for project in projects:
            changes = await conn.fetch(
                Q["project_changes"], project["project_id"], project["since"], MAX_LINES + 1
            )
            lines = [change_line(row, tz) for row in changes[:MAX_LINES]]
            if len(changes) > MAX_LINES:
                lines.append("……更多变化见项目页面")
            upto = project["upto"] if len(changes) <= MAX_LINES else changes[MAX_LINES - 1]["seq"]
            page = "/supervise/projects/" + quote(project["project_id"], safe="")
            async with conn.transaction():
                queued += await notify_reviewers(
                    conn,
                    routing,
                    [project["manager"]],
                    NoticeKind.PROJECT_DIGEST,
                    f"project_digest:{project['project_id']}:{upto}",
                    _context(project, lines, upto),
                    now=now,
                    link=routing.settings.http.public_base_url + page,
                )
    if queued:
        log.info("project_digests_queued", count=queued)
    return queued


def _context(project: Mapping[str, Any], lines: Sequence[str], upto: int) -> dict[str, Any]:
    """What the manager's digest says: a title with the count, one line per change."""
    name = project["project_name"] or project["project_id"]
    return {
        "title": f"项目动态：{name}（{len(lines)} 项）",
        "content": "\n".join(lines),
        "project_id": project["project_id"],
        "upto_seq": upto,
    }
