"""A seeded centre and its month: departments, people, and every kind of case event.

Pure: a :class:`Scenario` is built from a seed and the working-day calendar, with
no I/O and no clock. The month test and ``cuiban simulate --synthetic`` replay the
same scenario for the same seed. ``load_events`` reads exported events instead.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from core.calendar import WorkingCalendar
from core.errors import InputError

TZ = ZoneInfo("Asia/Shanghai")
# A month across Mid-Autumn and National Day 2026 (25–27 Sept and 1–7 Oct off, 调休 Sat 10 Oct).
DEFAULT_START = datetime(2026, 9, 21, 8, 0, tzinfo=TZ)
OFFICE_OPEN, OFFICE_CLOSE = time(9, 0), time(17, 30)

ActionKind = Literal["event", "urge", "rate"]


@dataclass(frozen=True, kw_only=True)
class Action:
    """One thing that happens to the hub at ``at``: an event, a 催办 or an applicant's rating."""

    at: datetime
    kind: ActionKind
    body: dict[str, Any]


@dataclass(kw_only=True)
class Scenario:
    start: datetime
    end: datetime
    people: dict[str, dict[str, Any]] = field(default_factory=dict)  # PUT /v1/people bodies
    departments: dict[str, dict[str, Any]] = field(default_factory=dict)
    actions: list[Action] = field(default_factory=list)

    @property
    def events(self) -> list[dict[str, Any]]:
        return [a.body for a in self.actions if a.kind == "event"]


DEPARTMENTS = {
    "SCJG": "市场监督管理局",
    "ZJJ": "住房和城乡建设局",
    "STHJ": "生态环境局",
}
MATTERS = {
    "SCJG": [("SC-101", "食品经营许可"), ("SC-102", "药品零售许可")],
    "ZJJ": [("ZJ-201", "建筑工程施工许可"), ("ZJ-202", "商品房预售许可")],
    "STHJ": [("ST-301", "排污许可"), ("ST-302", "环评审批")],
}
NODES = ["受理审查", "现场核查", "审核", "审批"]
QUIET = ["22:00-07:30", "21:00-08:00", "23:00-07:00", "22:30-07:30"]
CHANNEL_MIXES = [["sms"], ["sms"], ["wecom", "sms"], ["email", "sms"], ["wechat_mp", "sms"]]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平"
REASONS = ["expert_review", "testing", "supplement", "hearing", "inspection"]


class _Centre:
    def __init__(self, seed: int, calendar: WorkingCalendar) -> None:
        self.rng = random.Random(seed)  # noqa: S311 -- a reproducible scenario, not a secret
        self.calendar = calendar
        self.seed = seed

    def name(self) -> str:
        return self.rng.choice(SURNAMES) + "".join(self.rng.choices(GIVEN, k=2))

    def working(self, day: date) -> bool:
        return self.calendar.is_working_day(day)

    def in_office(self, moment: datetime) -> datetime:
        """``moment`` if it falls in office hours of a working day, else the next opening."""
        local = moment.astimezone(TZ)
        day = local.date()
        if self.working(day) and OFFICE_OPEN <= local.time() < OFFICE_CLOSE:
            return local
        if self.working(day) and local.time() < OFFICE_OPEN:
            return datetime.combine(day, OFFICE_OPEN, TZ)
        day += timedelta(days=1)
        while not self.working(day):
            day += timedelta(days=1)
        return datetime.combine(day, OFFICE_OPEN, TZ)

    def work_time(self, start: datetime, hours: float) -> datetime:
        """``hours`` of elapsed time after ``start``, then moved into office hours."""
        spread = timedelta(minutes=self.rng.randrange(0, 50))
        return self.in_office(start + timedelta(hours=hours)) + spread


def synthetic(
    *, seed: int, cases: int, days: int, calendar: WorkingCalendar, start: datetime | None = None
) -> Scenario:
    """A centre of 3 departments and 12 reviewers, and ``cases`` cases over ``days`` days."""
    if cases < 1 or days < 1:
        raise InputError("--cases and --days must be at least 1")
    centre = _Centre(seed, calendar)
    rng = centre.rng
    begin = start or DEFAULT_START
    scenario = Scenario(start=begin, end=begin + timedelta(days=days))
    reviewers: dict[str, list[str]] = {}
    for code, dept_name in DEPARTMENTS.items():
        lower = code.lower()
        head, deputy, sup = f"{lower}-head", f"{lower}-deputy", f"{lower}-sup"
        staff = [f"{lower}-r{i}" for i in range(1, 5)]
        reviewers[code] = staff
        for index, person_id in enumerate([head, deputy, sup, *staff]):
            scenario.people[person_id] = _person(centre, index)
        scenario.departments[code] = {
            "name": dept_name,
            "head": head,
            "deputy": deputy,
            "supervisors": [sup],
        }
    # Two reviewers are away for a week; a colleague in the department covers.
    for code in rng.sample(sorted(DEPARTMENTS), 2):
        away, deputy = rng.sample(reviewers[code], 2)
        first = begin + timedelta(days=rng.randrange(0, max(1, days // 2)))
        scenario.people[away]["away"] = {
            "from": first.isoformat(),
            "to": (first + timedelta(days=7)).isoformat(),
            "deputy": deputy,
        }
    accept_days = [
        d
        for n in range(max(1, int(days * 0.8)))
        if centre.working(d := (begin + timedelta(days=n)).date())
    ] or [begin.date()]
    for number in range(cases):
        scenario.actions += _case(centre, number, accept_days, reviewers)
    scenario.actions = sorted(
        (a for a in scenario.actions if a.at < scenario.end), key=lambda a: a.at
    )
    return scenario


def _person(centre: _Centre, index: int) -> dict[str, Any]:
    rng = centre.rng
    mobile = f"139{centre.seed % 100:02d}{rng.randrange(0, 10**6):06d}"
    channels = rng.choice(CHANNEL_MIXES)
    body: dict[str, Any] = {
        "name": centre.name(),
        "mobile": mobile,
        "email": f"u{rng.randrange(10**6)}@gov.example.cn",
        "wecom_userid": f"wx{rng.randrange(10**6)}",
        "wechat_openid": f"o{rng.randrange(10**9)}",
        "channels": channels,
    }
    if rng.random() < 0.5:
        body["quiet_hours"] = rng.choice(QUIET)
    return body


@dataclass
class _CaseScript:
    """The actions of one case, in the order they are written; event ids count up."""

    case_no: str
    out: list[Action] = field(default_factory=list)
    _seq: Iterator[int] = field(default_factory=lambda: iter(range(1000)))

    def event(self, kind: str, at: datetime, **fields: Any) -> None:
        body = {
            "event_id": f"{self.case_no}-{next(self._seq):03d}",
            "type": kind,
            "occurred_at": at.isoformat(),
            "case_no": self.case_no,
            **fields,
        }
        self.out.append(Action(at=at, kind="event", body=body))


# The steps of a case below draw from the one seeded generator in a fixed order: moving a
# draw from one step to another changes every scenario after it.


def _case(
    centre: _Centre, number: int, accept_days: list[date], reviewers: dict[str, list[str]]
) -> list[Action]:
    rng = centre.rng
    code = rng.choice(sorted(DEPARTMENTS))
    matter = rng.choice(MATTERS[code])
    day = rng.choice(accept_days)
    accepted = datetime.combine(day, OFFICE_OPEN, TZ) + timedelta(minutes=rng.randrange(0, 500))
    script = _CaseScript(case_no=f"SIM{centre.seed % 1000:03d}-{number + 1:05d}")
    co = _accept(centre, script, number, code, matter, accepted)
    if rng.random() < 0.02:
        script.event("case.withdrawn", centre.work_time(accepted, rng.uniform(2, 30)))
        return script.out
    moment = accepted + timedelta(minutes=rng.randrange(5, 40))
    finished = _nodes(centre, script, code, co, moment, reviewers)
    if finished is not None:
        _decide_and_close(centre, script, finished)
    return script.out


def _accept(
    centre: _Centre,
    script: _CaseScript,
    number: int,
    code: str,
    matter: tuple[str, str],
    accepted: datetime,
) -> str | None:
    """``case.accepted``, now and then green-channel or with a co-department (returned)."""
    rng = centre.rng
    green = rng.random() < 0.05
    co = rng.choice([c for c in DEPARTMENTS if c != code]) if rng.random() < 0.2 else None
    applicant: dict[str, Any] = {
        "name": centre.name(),
        "mobile": f"138{rng.randrange(0, 10**8):08d}",
    }
    if rng.random() < 0.2:
        applicant["email"] = f"a{number}@mail.example.cn"
    script.event(
        "case.accepted",
        accepted,
        matter={"code": matter[0], "name": matter[1]},
        department={"code": code, "name": DEPARTMENTS[code]},
        applicant=applicant,
        limit={"value": rng.choice([5, 10, 15, 20]), "unit": "working_days"},
        green_channel=green,
        **({"co_departments": [co]} if co else {}),
    )
    return co


def _nodes(
    centre: _Centre,
    script: _CaseScript,
    code: str,
    co: str | None,
    moment: datetime,
    reviewers: dict[str, list[str]],
) -> datetime | None:
    """The review nodes, some late, urged, suspended or extended; when the last ended.

    None when the last node is left open past the month (a stuck case).
    """
    rng = centre.rng
    node_count = rng.choice([2, 3, 3, 4])
    suspend_after = rng.randrange(node_count) if rng.random() < 0.08 else None
    stuck = rng.random() < 0.06  # a node left open past the month
    for index in range(node_count):
        node_id = f"n{index + 1}"
        dept = co if co and index == 1 else code
        assignee = rng.choice(reviewers[dept])
        hours = rng.random() < 0.35
        value = rng.choice([4, 8, 24]) if hours else rng.choice([1, 2, 3, 5])
        script.event(
            "node.started",
            moment,
            node_id=node_id,
            name=NODES[index % len(NODES)],
            department=dept if rng.random() < 0.5 else {"code": dept, "name": DEPARTMENTS[dept]},
            assignee={"id": assignee, "name": f"审查员{assignee[-2:]}"},
            limit={"value": value, "unit": "hours" if hours else "working_days"},
        )
        span = value * (1 if hours else 24)
        if rng.random() < 0.05:  # the applicant calls; the supervisor urges the node
            _urge(script, code, centre.work_time(moment, span * 0.5))
        if stuck and index == node_count - 1:
            return None
        late = rng.random() < 0.2
        done = centre.work_time(
            moment, span * (rng.uniform(1.05, 2.5) if late else rng.uniform(0.1, 0.9))
        )
        script.event("node.completed", done, node_id=node_id, outcome="pass")
        moment = done + timedelta(minutes=rng.randrange(5, 60))
        if suspend_after == index:
            script.event("case.suspended", moment, reason=rng.choice(REASONS))
            resumed = centre.work_time(moment, 24 * rng.uniform(1, 6))
            script.event("case.resumed", resumed)
            moment = resumed + timedelta(minutes=10)
        if index == 0 and rng.random() < 0.05:
            script.event(
                "case.extended",
                moment,
                limit={"value": rng.choice([5, 10]), "unit": "working_days"},
                approved_by=f"{code.lower()}-head",
            )
    return moment


def _urge(script: _CaseScript, code: str, at: datetime) -> None:
    body = {"case_no": script.case_no, "by": f"{code.lower()}-sup", "note": "申请人来电催问"}
    script.out.append(Action(at=at, kind="urge", body=body))


def _decide_and_close(centre: _Centre, script: _CaseScript, moment: datetime) -> None:
    """Decision, pickup and closing; most applicants then rate the service."""
    rng = centre.rng
    script.event("case.decided", moment, decision="approved" if rng.random() < 0.9 else "rejected")
    ready = centre.work_time(moment, rng.uniform(1, 30))
    pickup: dict[str, Any] = {"location": f"政务服务中心{rng.randrange(1, 30)}号窗口"}
    if rng.random() < 0.5:
        pickup["hours"] = "工作日9:00-17:00"
    if rng.random() < 0.5:
        pickup["documents"] = rng.sample(["身份证原件", "受理通知书", "授权委托书"], 2)
    script.event("case.ready_for_pickup", ready, **pickup)
    picked = centre.work_time(ready, rng.uniform(2, 60))
    script.event("case.picked_up", picked)
    script.event("case.closed", picked + timedelta(minutes=5))
    if rng.random() < 0.6:
        rating = rng.choices([5, 4, 3, 2, 1], weights=[55, 25, 10, 6, 4])[0]
        rated = picked + timedelta(hours=rng.uniform(1.5, 30))
        body = {"case_no": script.case_no, "rating": rating}
        script.out.append(Action(at=rated, kind="rate", body=body))


def load_events(path: Path) -> Scenario:
    """Exported events, one JSON object a line, into a scenario (InputError naming the line)."""
    actions = []
    try:
        lines = path.read_text("utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {path}: {exc}") from None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            body = json.loads(line)
            at = datetime.fromisoformat(body["occurred_at"])
        except (ValueError, KeyError, TypeError) as exc:
            raise InputError(f"{path}:{number}: not an event with occurred_at ({exc})") from None
        if not isinstance(body, dict) or at.tzinfo is None:
            raise InputError(f"{path}:{number}: occurred_at needs a UTC offset")
        actions.append(Action(at=at, kind="event", body=body))
    if not actions:
        raise InputError(f"{path}: no events")
    actions.sort(key=lambda a: a.at)
    return Scenario(start=actions[0].at, end=actions[-1].at + timedelta(days=7), actions=actions)


def dump_events(actions: Iterable[Action]) -> str:
    return "".join(
        json.dumps(a.body, ensure_ascii=False) + "\n" for a in actions if a.kind == "event"
    )
