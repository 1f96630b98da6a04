"""Stored rows as the JSON the API answers with: local times, levels at the clock's now."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from core.instants import plausible
from core.levels import LEVEL_WORDS, Level, level_for
from hub.notices.words import mask_address, mask_mobile, mask_name


def local(instant: datetime | None, tz: ZoneInfo) -> str | None:
    """ISO-8601 in ``tz``; None for an absent instant or one outside 2000–2100 (stored before
    input was checked: year 1 would become year 0 in Beijing time)."""
    shown = plausible(instant)
    return shown.astimezone(tz).isoformat() if shown else None


def _day(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _parse(text: str | None) -> datetime | None:
    try:
        return plausible(datetime.fromisoformat(text)) if text else None
    except ValueError:
        return None


def level_of(
    *,
    warn_at: datetime | None,
    due_at: datetime | None,
    now: datetime,
    completed_at: datetime | None,
    suspended_since: datetime | None,
) -> Level | None:
    # What the approval system says is done is done, even if the clock has not caught up.
    if completed_at is not None:
        return Level.DONE
    due_at, warn_at = plausible(due_at), plausible(warn_at)
    if due_at is None or warn_at is None:
        return None
    return level_for(
        warn_at=warn_at,
        due_at=due_at,
        now=now,
        suspended_since=plausible(suspended_since),
    )


def row_level(row: Mapping[str, Any], *, now: datetime) -> Level | None:
    """:func:`level_of` for a stored case row (its deadline instants and suspension)."""
    return level_of(
        warn_at=row["warn_at"],
        due_at=row["due_at"],
        now=now,
        completed_at=row["completed_at"],
        suspended_since=row["suspended_since"],
    )


def _level_json(level: Level | None) -> dict[str, Any]:
    return {
        "level": str(level) if level else None,
        "level_text": LEVEL_WORDS[level] if level else None,
    }


def node_json(
    row: Mapping[str, Any], *, now: datetime, tz: ZoneInfo, suspended_since: datetime | None
) -> dict[str, Any]:
    is_open = row["completed_at"] is None
    level = level_of(
        warn_at=row["warn_at"],
        due_at=row["due_at"],
        now=now,
        completed_at=row["completed_at"],
        suspended_since=suspended_since,
    )
    return {
        "node_id": row["node_id"],
        "name": row["name"],
        "department": _ref(row["department_code"], row["department_name"]),
        "assignee": {"id": row["assignee_id"], "name": row["assignee_name"]},
        "status": "open" if is_open else "completed",
        **_level_json(level),
        "limit": _limit(row),
        "started_at": local(row["started_at"], tz),
        "completed_at": local(row["completed_at"], tz),
        "outcome": row["outcome"],
        "due_date": _day(row["due_date"]),
        "due_at": local(row["due_at"], tz),
        "warn_at": local(row["warn_at"], tz),
        "deadline_unknown": row["deadline_unknown"],
        "provisional": row["provisional"],
        "suspended": is_open and suspended_since is not None,
        "urges": row["urges"],
    }


def _ref(code: str | None, name: str | None) -> dict[str, Any] | None:
    return {"code": code, "name": name} if code else None


def _limit(row: Mapping[str, Any]) -> dict[str, Any] | None:
    if row["limit_value"] is None:
        return None
    return {"value": row["limit_value"], "unit": row["limit_unit"]}


def case_json(
    row: Mapping[str, Any],
    nodes: Sequence[Mapping[str, Any]],
    *,
    now: datetime,
    tz: ZoneInfo,
    reveal_query_code: bool = False,
) -> dict[str, Any]:
    """A case in full: what the list shows, plus applicant, stages, suspensions and nodes."""
    suspended_since: datetime | None = row["suspended_since"]
    applicant = row["applicant"]
    body = case_summary_json(row, now=now, tz=tz)
    body |= {
        "applicant": {
            "name": mask_name(applicant["name"]),
            "mobile": mask_mobile(applicant["mobile"]),
        }
        if applicant
        else None,
        "project": row["project"],
        "green_channel": row["green_channel"],
        "co_departments": list(row["co_departments"]),
        "limit": _limit(row),
        "warn_at": local(row["warn_at"], tz),
        "exceeds_statutory": row["exceeds_statutory"],
        "suspended_since": local(suspended_since, tz),
        "suspensions": [
            {
                "start": local(_parse(s["start"]), tz),
                "end": local(_parse(s["end"]), tz),
                "reason": s["reason"],
            }
            for s in row["suspensions"]
        ],
        "extensions": row["extensions"],
        "applied_at": local(row["applied_at"], tz),
        "accepted_at": local(row["accepted_at"], tz),
        "decided_at": local(row["decided_at"], tz),
        "decision": row["decision"],
        "ready_at": local(row["ready_at"], tz),
        "pickup": row["pickup"],
        "picked_up_at": local(row["picked_up_at"], tz),
        "closed_at": local(row["closed_at"], tz),
        "rating": row["rating"],
        "stages": [
            _stage_json(s, now=now, tz=tz, suspended_since=suspended_since) for s in row["stages"]
        ],
        "nodes": [node_json(n, now=now, tz=tz, suspended_since=suspended_since) for n in nodes],
    }
    if reveal_query_code:
        body["query_code"] = row["query_code"]
    return body


def _stage_json(
    stage: Mapping[str, Any], *, now: datetime, tz: ZoneInfo, suspended_since: datetime | None
) -> dict[str, Any]:
    completed_at = _parse(stage["completed_at"])
    level = level_of(
        warn_at=_parse(stage["warn_at"]),
        due_at=_parse(stage["due_at"]),
        now=now,
        completed_at=completed_at,
        # Only the decision stage's clock stops for a suspension (Art. 45).
        suspended_since=suspended_since if stage["stage"] == "decision" else None,
    )
    return {
        "stage": stage["stage"],
        "start": local(_parse(stage["start"]), tz),
        "due_date": stage["due_date"],
        "due_at": local(_parse(stage["due_at"]), tz),
        **_level_json(level),
        "completed_at": local(completed_at, tz),
        "deadline_unknown": stage["deadline_unknown"],
        "provisional": bool(stage.get("provisional", False)),
    }


def case_summary_json(row: Mapping[str, Any], *, now: datetime, tz: ZoneInfo) -> dict[str, Any]:
    level = row_level(row, now=now)
    return {
        "case_no": row["case_no"],
        "status": row["status"],
        "matter": _ref(row["matter_code"], row["matter_name"]),
        "department": _ref(row["department_code"], row["department_name"]),
        **_level_json(level),
        "due_date": _day(row["due_date"]),
        "due_at": local(row["due_at"], tz),
        "suspended": row["suspended_since"] is not None,
        "deadline_unknown": row["deadline_unknown"],
        # The date rests on a year computed from the statutory holidays (no 调休 yet).
        "provisional": row["provisional"],
        "urges": row["urges"],
    }


def person_json(row: Mapping[str, Any], tz: ZoneInfo) -> dict[str, Any]:
    away = None
    if row["away_deputy"]:
        away = {
            "from": local(row["away_from"], tz),
            "to": local(row["away_to"], tz),
            "deputy": row["away_deputy"],
        }
    return {
        "person_id": row["person_id"],
        "name": row["name"],
        "mobile": mask_mobile(row["mobile"]) if row["mobile"] else None,
        "email": mask_address("email", row["email"]),
        "wecom_userid": row["wecom_userid"],
        "wechat_openid": row["wechat_openid"],
        "channels": list(row["channels"]),
        "quiet_hours": row["quiet_hours"],
        "away": away,
    }


def department_json(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "code": row["code"],
        "name": row["name"],
        "head": row["head"],
        "deputy": row["deputy"],
        "supervisors": list(row["supervisors"]),
    }
