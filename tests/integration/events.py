"""Builders for the events an approval system sends, as plain JSON dicts."""

from __future__ import annotations

from typing import Any

_ids = iter(range(1, 10**9))


def _id(prefix: str) -> str:
    return f"{prefix}-{next(_ids)}"


def accepted(
    case_no: str, at: str, *, limit: int = 20, unit: str = "working_days", **extra: Any
) -> dict[str, Any]:
    return {
        "event_id": _id("acc"),
        "type": "case.accepted",
        "occurred_at": at,
        "case_no": case_no,
        "matter": {"code": "SC-101", "name": "食品经营许可"},
        "department": {"code": "SCJG", "name": "市场监督管理局"},
        "applicant": {"name": "张三丰", "mobile": "13812345678"},
        "limit": {"value": limit, "unit": unit},
        **extra,
    }


def node_started(
    case_no: str,
    node_id: str,
    at: str,
    *,
    limit: int | None = 3,
    assignee: str = "p-li",
    **extra: Any,
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "event_id": _id("ns"),
        "type": "node.started",
        "occurred_at": at,
        "case_no": case_no,
        "node_id": node_id,
        "name": "审查",
        "department": "SCJG",
        "assignee": {"id": assignee, "name": "李四", "mobile": "13900001111"},
        **extra,
    }
    if limit is not None:
        event["limit"] = {"value": limit, "unit": "working_days"}
    return event


def node_completed(case_no: str, node_id: str, at: str, outcome: str = "pass") -> dict[str, Any]:
    return {
        "event_id": _id("nc"),
        "type": "node.completed",
        "occurred_at": at,
        "case_no": case_no,
        "node_id": node_id,
        "outcome": outcome,
    }


def simple(kind: str, case_no: str, at: str, **extra: Any) -> dict[str, Any]:
    return {"event_id": _id(kind), "type": kind, "occurred_at": at, "case_no": case_no, **extra}
