"""A generated month of cases for the supervision tests, and its figures worked out by hand.

The expected figures come from the event list and the working-day rules alone:
the holidays are ``chinese_calendar``'s (not Cuiban's calendar files), deadlines
are counted here day by day, and nothing calls Cuiban's SQL or deadline code.
"""

from __future__ import annotations

import math
import random
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import chinese_calendar

from tests.conftest import INGEST_KEY, SUPERVISOR_KEY, Api

TZ = ZoneInfo("Asia/Shanghai")
MONTH_FIRST = date(2026, 3, 1)
MONTH_LAST = date(2026, 3, 31)
LO = datetime.combine(MONTH_FIRST, time(), TZ)
HI = datetime.combine(MONTH_LAST + timedelta(days=1), time(), TZ)
NOW_AFTER = datetime(2026, 4, 1, 10, 0, tzinfo=TZ)

DEPARTMENTS = {
    "SCJG": ("市场监督管理局", [("SC-101", "食品经营许可"), ("SC-102", "药品零售许可")]),
    "ZJJ": ("住房和城乡建设局", [("ZJ-201", "建筑工程施工许可"), ("ZJ-202", "商品房预售许可")]),
    "FGW": ("发展和改革委员会", [("FG-301", "企业投资项目核准"), ("FG-302", "节能审查")]),
    "STJ": ("生态环境局", [("ST-401", "环评审批"), ("ST-402", "排污许可")]),
}


def working(day: date) -> bool:
    return bool(chinese_calendar.is_workday(day))


def nth_working_after(day: date, n: int) -> date:
    """The n-th working day after ``day`` (``day`` itself for n = 0)."""
    while n > 0:
        day += timedelta(days=1)
        if working(day):
            n -= 1
    return day


def working_days_in(first: date, end: date) -> int:
    """Working days in [first, end)."""
    count, day = 0, first
    while day < end:
        count += working(day)
        day += timedelta(days=1)
    return count


def previous_working(day: date) -> date:
    day -= timedelta(days=1)
    while not working(day):
        day -= timedelta(days=1)
    return day


@dataclass
class Plan:
    """One case as the generator means it to go, with its deadline worked out by hand."""

    case_no: str
    department: str
    matter: tuple[str, str]
    accepted_at: datetime
    limit: int
    unit: str
    green: bool = False
    suspensions: list[tuple[datetime, datetime | None]] = field(default_factory=list)
    extension: int = 0
    decided_at: datetime | None = None
    closed_only_at: datetime | None = None  # case.closed without a decision
    withdrawn_at: datetime | None = None
    picked_up_at: datetime | None = None
    project: dict[str, str] | None = None
    rating: tuple[int, datetime] | None = None

    @property
    def effective_limit(self) -> int:
        return math.ceil(self.limit / 2) if self.green else self.limit

    def base_due(self) -> date:
        accepted = self.accepted_at.astimezone(TZ).date()
        if self.unit == "working_days":
            return nth_working_after(accepted, self.effective_limit)
        due = accepted + timedelta(days=self.effective_limit)
        while not working(due):
            due += timedelta(days=1)
        return due

    def due_date(self, *, known_at: datetime | None = None) -> date:
        """The adjusted deadline from the events up to ``known_at`` (all events if None)."""
        shift = 0
        for start, end in self.suspensions:
            if end is None or (known_at is not None and end > known_at):
                continue  # an open suspension freezes the level but moves no date
            shift += working_days_in(start.astimezone(TZ).date(), end.astimezone(TZ).date())
        shift += self.extension
        return nth_working_after(self.base_due(), shift)

    def due_at(self) -> datetime:
        return datetime.combine(self.due_date(), time(23, 59, 59), TZ)

    def warn_at(self) -> datetime:
        warn = datetime.combine(previous_working(self.due_date()), time(9, 0), TZ)
        return max(warn, self.accepted_at)

    @property
    def completed_at(self) -> datetime | None:
        return self.decided_at or self.withdrawn_at or self.closed_only_at

    @property
    def withdrawn_only(self) -> bool:
        return self.withdrawn_at is not None and self.decided_at is None

    def suspended_since(self) -> datetime | None:
        if self.suspensions and self.suspensions[-1][1] is None:
            return self.suspensions[-1][0]
        return None

    def verdict(self) -> str:
        closed = self.completed_at
        assert closed is not None
        if closed > self.due_at():
            return "late"
        if closed.astimezone(TZ).date() < self.due_date():
            return "early"
        return "on_time"


def _office_moment(rng: random.Random, day: date) -> datetime:
    minutes = rng.randrange(9 * 60, 17 * 60)
    return datetime.combine(day, time(minutes // 60, minutes % 60), TZ)


def _working_days(first: date, last: date) -> list[date]:
    out, day = [], first
    while day <= last:
        if working(day):
            out.append(day)
        day += timedelta(days=1)
    return out


def generate(count: int, *, seed: int = 7) -> list[Plan]:
    """``count`` cases: most accepted in March 2026, some in February; every kind of ending."""
    rng = random.Random(seed)  # noqa: S311 -- reproducible test data, not secrets
    march = _working_days(date(2026, 3, 2), date(2026, 3, 27))
    february = _working_days(date(2026, 2, 2), date(2026, 2, 13))
    plans = []
    for index in range(count):
        code = list(DEPARTMENTS)[index % len(DEPARTMENTS)]
        matter = DEPARTMENTS[code][1][rng.randrange(2)]
        accepted_day = rng.choice(february if rng.random() < 0.12 else march)
        unit = "calendar_days" if rng.random() < 0.15 else "working_days"
        plan = Plan(
            case_no=f"2026{index:05d}",
            department=code,
            matter=matter,
            accepted_at=_office_moment(rng, accepted_day),
            limit=rng.choice([3, 5, 8, 10, 15]) if unit == "working_days" else 10,
            unit=unit,
            green=rng.random() < 0.1,
        )
        if index % 9 == 4:
            n = (index // 9) % 3
            plan.project = {"id": f"XM-{n}", "name": f"项目{n}", "manager": "p-pm"}
        accepted = plan.accepted_at.astimezone(TZ).date()
        roll = rng.random()
        if roll < 0.15:
            start = _office_moment(rng, nth_working_after(accepted, 1))
            if rng.random() < 0.2:
                plan.suspensions.append((start, None))  # still suspended after the month
            else:
                end_day = nth_working_after(start.date(), rng.randrange(1, 5))
                plan.suspensions.append((start, _office_moment(rng, end_day)))
        elif roll < 0.25:
            plan.extension = rng.choice([3, 5, 10])
        if rng.random() < 0.04:
            plan.withdrawn_at = _office_moment(rng, nth_working_after(accepted, 1))
        else:
            # Decide around the adjusted deadline: a few working days early, on the day, or late.
            due = plan.due_date()
            offset = rng.choice([-3, -2, -1, 0, 0, 1, 2, 4, None])
            if offset is not None and not plan.suspended_since():
                if offset < 0:
                    day = due
                    for _ in range(-offset):
                        day = previous_working(day)
                    day = max(day, accepted)
                else:
                    day = nth_working_after(due, offset)
                moment = _office_moment(rng, day)
                if day == accepted:
                    moment = plan.accepted_at + timedelta(hours=1)
                for _, end in plan.suspensions:
                    # Decided after the resumption: the suspension has already moved the date.
                    moment = max(moment, end + timedelta(hours=1)) if end else moment
                if moment < datetime(2026, 3, 31, 18, 0, tzinfo=TZ):
                    if rng.random() < 0.05:
                        plan.closed_only_at = moment
                    else:
                        plan.decided_at = moment
                        if moment + timedelta(days=2) < HI:
                            plan.picked_up_at = moment + timedelta(days=2)
                        if rng.random() < 0.5 and moment + timedelta(days=1) < HI:
                            plan.rating = (rng.randrange(1, 6), moment + timedelta(days=1))
        plans.append(plan)
    return plans


def _ev(plan: Plan, n: int, kind: str, at: datetime, **fields: Any) -> dict[str, Any]:
    return {
        "event_id": f"{plan.case_no}-{n:02d}",
        "type": kind,
        "occurred_at": at.isoformat(),
        "case_no": plan.case_no,
        **fields,
    }


def events_of(plan: Plan) -> list[dict[str, Any]]:
    """The events an approval system would send for ``plan``."""
    name, _ = DEPARTMENTS[plan.department]
    accepted = _ev(
        plan,
        0,
        "case.accepted",
        plan.accepted_at,
        matter={"code": plan.matter[0], "name": plan.matter[1]},
        department={"code": plan.department, "name": name},
        applicant={"name": "申请人", "mobile": "13800000000"},
        limit={"value": plan.limit, "unit": plan.unit},
        green_channel=plan.green,
    )
    if plan.project:
        accepted["project"] = plan.project
    out = [
        accepted,
        _ev(
            plan,
            1,
            "node.started",
            plan.accepted_at + timedelta(minutes=10),
            node_id="n1",
            name="审查",
            department=plan.department,
            assignee={"id": f"p-{plan.department.lower()}", "name": "审查员"},
            limit={"value": 2, "unit": "working_days"},
        ),
    ]
    for i, (start, end) in enumerate(plan.suspensions):
        out.append(_ev(plan, 10 + 2 * i, "case.suspended", start, reason="expert_review"))
        if end is not None:
            out.append(_ev(plan, 11 + 2 * i, "case.resumed", end))
    if plan.extension:
        out.append(
            _ev(
                plan,
                20,
                "case.extended",
                plan.accepted_at + timedelta(minutes=30),
                limit={"value": plan.extension, "unit": "working_days"},
                approved_by="p-head",
            )
        )
    finished = plan.completed_at
    if finished is not None:
        out.append(
            _ev(
                plan,
                30,
                "node.completed",
                finished - timedelta(minutes=5),
                node_id="n1",
                outcome="pass",
            )
        )
    if plan.decided_at:
        out.append(_ev(plan, 31, "case.decided", plan.decided_at, decision="approved"))
    if plan.picked_up_at:
        out.append(_ev(plan, 32, "case.picked_up", plan.picked_up_at))
    if plan.closed_only_at:
        out.append(_ev(plan, 33, "case.closed", plan.closed_only_at))
    if plan.withdrawn_at:
        out.append(_ev(plan, 34, "case.withdrawn", plan.withdrawn_at))
    return out


def _days(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


@dataclass
class Loaded:
    plans: list[Plan]
    urges: list[tuple[str, datetime]]


async def load_month(api: Api, plans: list[Plan], *, urge_every: int = 11) -> Loaded:
    """Post every event through ``POST /v1/events`` day by day, urging some open cases."""
    events = sorted(
        (e for p in plans for e in events_of(p)), key=lambda e: (e["occurred_at"], e["event_id"])
    )
    by_day: dict[date, list[dict[str, Any]]] = defaultdict(list)
    for event in events:
        by_day[datetime.fromisoformat(event["occurred_at"]).astimezone(TZ).date()].append(event)
    urges: list[tuple[str, datetime]] = []
    first = min(by_day)
    earlier = [e for d in _days(first, date(2026, 3, 1)) for e in by_day.get(d, [])]
    await _post(api, earlier)
    for day in _days(date(2026, 3, 2), MONTH_LAST):
        midnight = datetime.combine(day + timedelta(days=1), time(), TZ)
        status, _ = await api.post("/v1/test-clock/advance", {"to": midnight.isoformat()})
        assert status == 200
        await _post(api, by_day.get(day, []))
        if day < date(2026, 3, 30) and working(day):
            for plan in plans[day.day % urge_every :: urge_every]:
                if plan.accepted_at < midnight and (
                    plan.completed_at is None or plan.completed_at > midnight
                ):
                    status, _ = await api.post(
                        f"/v1/cases/{plan.case_no}/urge",
                        {"by": "p-jc", "note": "请加快办理"},
                        key=SUPERVISOR_KEY,
                    )
                    assert status == 202, status
                    urges.append((plan.case_no, midnight))
    status, _ = await api.post("/v1/test-clock/advance", {"to": NOW_AFTER.isoformat()})
    assert status == 200
    return Loaded(plans=plans, urges=urges)


async def _post(api: Api, events: list[dict[str, Any]]) -> None:
    for start in range(0, len(events), 1000):
        status, body = await api.post(
            "/v1/events", {"events": events[start : start + 1000]}, key=INGEST_KEY
        )
        assert status == 202, body


def expected_figures(
    plans: list[Plan],
    urges: list[tuple[str, datetime]],
    *,
    key: str,
    as_of: datetime = HI,
) -> dict[str | None, Counter[str]]:
    """Figures per ``key`` ('department', 'matter' or '' for the total), from the plans alone."""

    def group(plan: Plan) -> str:
        return {"department": plan.department, "matter": plan.matter[0], "": ""}[key]

    out: dict[str | None, Counter[str]] = defaultdict(Counter)
    for plan in plans:
        g = out[group(plan)]
        if LO <= plan.accepted_at < HI:
            g["accepted"] += 1
            g["green_channel"] += plan.green
            done = plan.completed_at
            if done is not None and done < HI and not plan.withdrawn_only:
                g["closed_of_accepted"] += 1
        done = plan.completed_at
        if done is not None and LO <= done < HI:
            if plan.withdrawn_only:
                g["withdrawn"] += 1
            else:
                g[plan.verdict()] += 1
                g["closed"] += 1
        if plan.accepted_at < as_of and (done is None or done >= as_of):
            g["open"] += 1
            since = plan.suspended_since()
            moment = min(as_of, since) if since else as_of
            if moment > plan.due_at():
                g["open_overdue"] += 1
            elif moment >= plan.warn_at():
                g["open_due_soon"] += 1
        if plan.rating and LO <= plan.rating[1] < HI:
            g[f"rating_{plan.rating[0]}"] += 1
            g["rating_sum"] += plan.rating[0]
    by_case = {p.case_no: p for p in plans}
    for case_no, at in urges:
        if LO <= at < HI:
            out[group(by_case[case_no])]["urges"] += 1
    return out
