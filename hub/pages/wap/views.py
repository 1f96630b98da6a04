"""Stored rows as what the WAP pages show: pure functions, time passed in, words not codes.

Only chosen fields leave here: an event's payload or an applicant's record may
hold an ID number, a full mobile or a query code, so nothing is passed through
whole. Names are masked (张*), mobiles too (138****5678).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from core.instants import plausible
from core.levels import LEVEL_WORDS, Level
from hub.api.views import row_level
from hub.notices.words import (
    CHANNEL_WORDS,
    NOTICE_WORDS,
    SEND_WORDS,
    limit_words,
    mask_mobile,
    mask_mobiles_in,
    mask_name,
    notice_words,
    status_words,
    suspension_reason,
)
from hub.replies.evaluations import RATING_WORDS

CLOSED_STATUSES = frozenset({"picked_up", "closed"})
OUTCOME_WORDS = {"pass": "通过", "return": "退回", "reject": "不予通过"}
DECISION_WORDS = {"approved": "准予许可", "rejected": "不予许可"}
# An inbox link in a text (signed at another time, it carries another token than the page's).
_INBOX_URL = re.compile(r"\s*(?:查看[:：]|详见[:：])?\s*https?://\S*?/wap/inbox/[A-Za-z0-9._~-]+")
_URGENCY = {Level.RED: 0, Level.YELLOW: 1, Level.GREEN: 2}
_UNKNOWN_FIRST = datetime(1970, 1, 1, tzinfo=UTC)  # an instant not shown sorts to the start


def when(instant: datetime | None, tz: ZoneInfo) -> str:
    shown = plausible(instant)  # one stored before input was checked shows as unknown
    return shown.astimezone(tz).strftime("%Y-%m-%d %H:%M") if shown else ""


def day(value: date | str | None) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else value.isoformat()


def level_view(level: Level | None) -> dict[str, str]:
    """A level as a CSS class and its words: colour never carries the meaning alone."""
    if level is None:
        return {"level": "none", "level_text": "时限待定"}
    return {"level": str(level), "level_text": LEVEL_WORDS[level]}


def reason_words(reason: str | None) -> str:
    if not reason:
        return ""
    return suspension_reason(reason)


def _limit_text(limit: Any) -> str:
    if not isinstance(limit, Mapping) or "value" not in limit:
        return ""
    return limit_words(limit["value"], limit.get("unit"))


def _text(value: Any) -> str:
    return str(value) if isinstance(value, str | int) else ""


def event_text(kind: str, payload: Mapping[str, Any], node_names: Mapping[str, str]) -> str | None:
    """What one event means to the applicant; None for events they need not see."""
    match kind:
        case "case.applied":
            return "申请已提交"
        case "case.accepted":
            limit = _limit_text(payload.get("limit"))
            return f"已受理，办理时限{limit}" if limit else "已受理"
        case "node.started":
            return f"进入“{_text(payload.get('name'))}”环节"
        case "node.completed":
            name = node_names.get(_text(payload.get("node_id")), "")
            outcome = OUTCOME_WORDS.get(_text(payload.get("outcome")), "")
            return f"“{name}”环节办理完成" + (f"（{outcome}）" if outcome else "")
        case "case.suspended":
            return f"办理中止：{reason_words(_text(payload.get('reason')))}"
        case "case.resumed":
            return "恢复办理"
        case "case.extended":
            limit = _limit_text(payload.get("limit"))
            return f"延长办理期限{limit}" if limit else "延长办理期限"
        case "case.decided":
            return f"作出决定：{DECISION_WORDS.get(_text(payload.get('decision')), '已决定')}"
        case "case.ready_for_pickup":
            return "办理结果可领取"
        case "case.picked_up":
            return "已领取办理结果"
        case "case.closed":
            return "已办结"
        case "case.withdrawn":
            return "已撤回"
    return None


def timeline(
    events: Sequence[Mapping[str, Any]],
    notices: Sequence[Mapping[str, Any]],
    node_names: Mapping[str, str],
    *,
    tz: ZoneInfo,
) -> list[dict[str, str]]:
    """Events and the notices sent to the applicant, oldest first."""
    items: list[tuple[datetime | None, int, str]] = []
    for event in events:
        text = event_text(event["type"], event["payload"], node_names)
        if text:
            items.append((plausible(event["occurred_at"]), 0, text))
    for notice in notices:
        what = NOTICE_WORDS.get(notice["kind"])
        if what is None:
            continue
        channel = CHANNEL_WORDS.get(notice["channel"], "")
        status = SEND_WORDS.get(notice["status"], "")
        items.append((plausible(notice["created_at"]), 1, f"{channel}{what}{status}"))
    items.sort(key=lambda item: (item[0] or _UNKNOWN_FIRST, item[1]))
    return [
        {"when": when(at, tz), "text": text, "kind": "notice" if n else "event"}
        for at, n, text in items
    ]


def case_view(
    case: Mapping[str, Any],
    nodes: Sequence[Mapping[str, Any]],
    events: Sequence[Mapping[str, Any]],
    notices: Sequence[Mapping[str, Any]],
    evaluation: Mapping[str, Any] | None,
    *,
    now: datetime,
    tz: ZoneInfo,
) -> dict[str, Any]:
    """Everything the case page shows, masked and in words."""
    applicant = case["applicant"] or {}
    level = row_level(case, now=now)
    reason = ""
    if case["suspended_since"] is not None:
        open_ones = [s for s in case["suspensions"] if not s.get("end")]
        reason = reason_words(open_ones[-1].get("reason") if open_ones else None)
    node_names = {n["node_id"]: n["name"] for n in nodes}
    return {
        "case_no": case["case_no"],
        "matter": case["matter_name"] or "",
        "department": case["department_name"] or case["department_code"] or "",
        "applicant_name": mask_name(_text(applicant.get("name"))),
        "applicant_mobile": mask_mobile(_text(applicant.get("mobile"))),
        "status_text": status_words(case["status"]),
        "current_nodes": [
            {"name": n["name"], "department": _node_department(n, case)}
            for n in nodes
            if n["completed_at"] is None
        ]
        if case["completed_at"] is None
        else [],
        "due_date": day(case["due_date"]),
        "deadline_unknown": case["deadline_unknown"],
        "provisional": bool(case.get("provisional")),
        **level_view(level),
        "suspended": case["suspended_since"] is not None,
        "suspension_reason": reason,
        "pickup": _pickup(case),
        "closed": case["status"] in CLOSED_STATUSES,
        "rating": _rating(case, evaluation),
        "timeline": timeline(events, notices, node_names, tz=tz),
    }


def _pickup(case: Mapping[str, Any]) -> dict[str, Any] | None:
    """Where and when to collect the result, while it is ready for pickup."""
    raw = case["pickup"]
    if case["status"] != "ready_for_pickup" or not raw:
        return None
    return {
        "location": _text(raw.get("location")),
        "hours": _text(raw.get("hours")),
        "documents": [_text(d) for d in raw.get("documents") or []],
    }


def _rating(case: Mapping[str, Any], evaluation: Mapping[str, Any] | None) -> dict[str, str] | None:
    """The applicant's rating in words, with their comment when they left one."""
    if evaluation is not None:
        return {
            "text": RATING_WORDS.get(evaluation["rating"], ""),
            # What people type may hold a phone number: pages show none in full.
            "comment": mask_mobiles_in(evaluation["comment"] or ""),
        }
    if case["rating"] is not None:
        return {"text": RATING_WORDS.get(case["rating"], ""), "comment": ""}
    return None


def _node_department(node: Mapping[str, Any], case: Mapping[str, Any]) -> str:
    # node.started may name its department by code only: the case's name for it then.
    if node["department_name"]:
        return str(node["department_name"])
    if node["department_code"] == case["department_code"] and case["department_name"]:
        return str(case["department_name"])
    return str(node["department_code"])


def case_list_item(row: Mapping[str, Any], *, now: datetime) -> dict[str, Any]:
    level = row_level(row, now=now)
    return {
        "case_no": row["case_no"],
        "matter": row["matter_name"] or "",
        "status_text": status_words(row["status"]),
        "due_date": day(row["due_date"]),
        **level_view(level),
    }


def inbox_nodes(rows: Sequence[Mapping[str, Any]], *, now: datetime) -> list[dict[str, Any]]:
    """A reviewer's open nodes, most urgent first: red, yellow, green, then by due time."""
    items = []
    for row in rows:
        level = row_level(row, now=now)
        rank = _URGENCY.get(level, 3) if level is not None else 3
        due = row["due_at"] or datetime.max.replace(tzinfo=now.tzinfo)
        items.append(
            (
                (rank, due, row["case_no"], row["node_id"]),
                {
                    "case_no": row["case_no"],
                    "matter": row["matter_name"] or "",
                    "name": row["name"],
                    "due_date": day(row["due_date"]),
                    "suspended": row["suspended_since"] is not None,
                    "urges": row["urges"],
                    "covering_for": row["covering_for"] or "",
                    **level_view(level),
                },
            )
        )
    items.sort(key=lambda item: item[0])
    return [view for _, view in items]


def inbox_notice(row: Mapping[str, Any], *, tz: ZoneInfo) -> dict[str, Any]:
    """One notice in the inbox: title, text (mobiles masked), when, and whether read.

    The link to the inbox that SMS and e-mail texts end with is left out: the reader
    is already there.
    """
    body = _INBOX_URL.sub("", mask_mobiles_in(row["body"] or ""))
    title = row["subject"] or notice_words(row["kind"])
    if not row["subject"] and row["channel"] == "wap" and "\n" in body:
        # A WAP inbox entry's first line is its title (templates/<kind>/wap.j2).
        title, body = body.split("\n", 1)
    return {
        "id": row["id"],
        "title": mask_mobiles_in(title),
        "body": body.strip(),
        "channel": CHANNEL_WORDS.get(row["channel"], row["channel"]),
        "case_no": row["case_no"] or "",
        "when": when(row["created_at"], tz),
        "read": row["read_at"] is not None,
    }
