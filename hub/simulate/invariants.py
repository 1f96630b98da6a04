"""What must hold over a whole message log (contract: "Notices Cuiban sends").

Pure functions over the log rows, the scenario and the final nodes: each returns
the first counterexample it finds, in words a reviewer can check, or None.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

from hub.simulate.scenario import TZ, Scenario

Row = Mapping[str, Any]
SENT = ("sent", "delivered")
REMINDERS = ("node_due_soon", "node_overdue")
CASE_NO = re.compile(r"SIM\d{3}-\d{5}")
# A slot left empty: a sentence that stops where a value should be, or a raw placeholder.
HOLES = [
    re.compile(p)
    for p in (
        r"请携带[。，；]",
        r"[于至在为：:]\s*[，。；]",
        r"承诺\s*前",
        r"（\s*）",
        r"\(\s*\)",
        r"\bNone\b",
        r"\bnull\b",
        r"\{\{|\}\}",
        r"、[，。]",
        r"SIM\d{3}-\d{5}\d+件",  # a count glued to a case number
    )
]
MERGED_COUNT = re.compile(r"等(\d+)件")


@dataclass(frozen=True, kw_only=True)
class Facts:
    scenario: Scenario
    learnt: Mapping[str, datetime]  # event_id -> when the hub was told
    nodes: Sequence[Row]
    office_start: time
    default_quiet: str
    max_reminder_sms: int = 12


def _local(instant: datetime) -> datetime:
    return instant.astimezone(TZ)


def _sent(log: Sequence[Row]) -> list[Row]:
    return [r for r in log if r["status"] in SENT and r["sent_at"] is not None]


def _text(row: Row) -> str:
    return f"{row['subject'] or ''}\n{row['body'] or ''}"


def _show(row: Row) -> str:
    at = _local(row["sent_at"]).strftime("%m-%d %H:%M:%S") if row["sent_at"] else "-"
    body = (row["body"] or "").replace("\n", " ")[:90]
    who = row["person_id"] or row["recipient"]
    return f"#{row['id']} {row['kind']}/{row['channel']} → {who} at {at}: {body}"


def once_a_day(log: Sequence[Row], facts: Facts) -> str | None:
    """No two notices to one person of one kind about the same cases (for node reminders:
    the same node) on one day, per medium."""
    seen: dict[tuple[Any, ...], Row] = {}
    for row in _sent(log):
        cases = frozenset(CASE_NO.findall(_text(row))) or frozenset({row["case_no"] or ""})
        if row["kind"] in ("status_reply", "verification_code", "appointment_slots"):
            continue  # answers to the person's own requests
        key = (
            row["person_id"] or row["recipient"],
            row["kind"],
            row["channel"],
            cases,
            row["node_id"] or "",  # a case's nodes have deadlines of their own
            _local(row["sent_at"]).date(),
        )
        if row["kind"] in ("case_suspended", "case_resumed", "urge"):
            continue  # each suspension, resumption and 催办 is news of its own
        if key in seen:
            return f"{_show(seen[key])}  and again  {_show(row)}"
        seen[key] = row
    return None


def _node_facts(facts: Facts) -> dict[tuple[str, str], dict[str, Any]]:
    out: dict[tuple[str, str], dict[str, Any]] = {
        (n["case_no"], n["node_id"]): dict(n) for n in facts.nodes
    }
    suspended: dict[str, list[list[datetime | None]]] = defaultdict(list)
    for event in facts.scenario.events:
        learnt = facts.learnt.get(event["event_id"])
        if learnt is None:
            continue
        if event["type"] == "node.completed":
            key = (event["case_no"], event["node_id"])
            if key in out:
                out[key]["learnt_done"] = learnt
        elif event["type"] == "case.suspended":
            suspended[event["case_no"]].append([learnt, None])
        elif event["type"] == "case.resumed" and suspended[event["case_no"]]:
            suspended[event["case_no"]][-1][1] = learnt
        elif event["type"] in ("case.closed", "case.withdrawn"):
            for (case_no, _), node in out.items():
                if case_no == event["case_no"]:
                    node.setdefault("learnt_closed", learnt)
    for (case_no, _), node in out.items():
        node["suspended"] = suspended.get(case_no, [])
    return out


def no_stale_reminder(log: Sequence[Row], facts: Facts) -> str | None:
    """No reminder after its node's due_at (due-soon), completion, closing or suspension."""
    nodes = _node_facts(facts)
    for row in _sent(log):
        if row["kind"] not in REMINDERS or not row["node_id"]:
            continue
        node = nodes.get((row["case_no"], row["node_id"]))
        if node is None:
            continue
        at = row["sent_at"]
        if row["kind"] == "node_due_soon" and node["due_at"] and at >= node["due_at"]:
            return f"{_show(row)} — after the node's due_at {_local(node['due_at']):%m-%d %H:%M}"
        done = node.get("learnt_done")
        if done is not None and at > done:
            return f"{_show(row)} — the node was completed {_local(done):%m-%d %H:%M}"
        closed = node.get("learnt_closed")
        if closed is not None and at > closed:
            return f"{_show(row)} — the case was closed {_local(closed):%m-%d %H:%M}"
        for since, until in node["suspended"]:
            if since < at and (until is None or at < until):
                return f"{_show(row)} — the case was suspended {_local(since):%m-%d %H:%M}"
    return None


def _cases_of(row: Row) -> set[str]:
    """The cases a notice is about: its own, and every one a merged text names."""
    named = set(CASE_NO.findall(_text(row)))
    return named | ({row["case_no"]} if row["case_no"] else set())


def _overdue_chains(
    log: Sequence[Row],
) -> tuple[dict[str, list[Row]], dict[str, list[datetime]]]:
    """The overdue notices sent about each case named; and per person, when a merged notice
    told them of cases it does not name.

    A merged notice names its first cases only ("A、B等9件"): the others it covers are
    unnamed, so it may have told a head of any case on the ladder to that person.
    """
    chains: dict[str, list[Row]] = defaultdict(list)
    unnamed: dict[str, list[datetime]] = defaultdict(list)
    for row in _sent(log):
        if row["kind"] == "node_overdue" and row["channel"] != "wap":
            for case_no in _cases_of(row):
                chains[case_no].append(row)
            count = MERGED_COUNT.search(_text(row))
            if count and int(count.group(1)) > len(_cases_of(row)):
                unnamed[row["person_id"] or ""].append(row["sent_at"])
    return chains, unnamed


def ladder(log: Sequence[Row], facts: Facts) -> str | None:
    """Overdue notices about a case go first to an assignee (or deputy), then the head (or
    deputy head), then supervisors; never before the node's due_at (a merged notice counts
    for every case it names); day-unit nodes are chased from office start."""
    nodes = _node_facts(facts)
    by_case: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for node in nodes.values():
        by_case[node["case_no"]].append(node)
    departments = facts.scenario.departments
    deputies = {
        pid: body["away"]["deputy"] for pid, body in facts.scenario.people.items() if "away" in body
    }
    chains, unnamed = _overdue_chains(log)
    for case_no, rows in chains.items():
        case_nodes = by_case.get(case_no, [])
        if not case_nodes:
            continue
        depts = [departments.get(n["department_code"] or "", {}) for n in case_nodes]
        assignees = {n["assignee_id"] for n in case_nodes}
        allowed = [
            assignees | {deputies.get(a) for a in assignees},
            {d.get("head") for d in depts} | {d.get("deputy") for d in depts},
        ]
        supervisors = {p for d in depts for p in d.get("supervisors", [])}
        first_due = min((n["due_at"] for n in case_nodes if n["due_at"]), default=None)
        steps = sorted(rows, key=lambda r: r["sent_at"])
        for row in steps:
            if first_due is not None and row["sent_at"] < first_due:
                return f"{_show(row)} — before any node of {case_no} was due"
            own = nodes.get((row["case_no"], row["node_id"] or ""))
            day_unit = own is not None and own["limit_unit"] != "hours"
            if day_unit and _local(row["sent_at"]).time() < facts.office_start:
                return f"{_show(row)} — before office start"
        first = steps[0]
        assignee_told = any(
            t <= first["sent_at"] for p in allowed[0] for t in unnamed.get(p or "", [])
        )
        if first["person_id"] not in allowed[0] and not assignee_told:
            wanted = sorted(p for p in allowed[0] if p)
            return f"{_show(steps[0])} — the first overdue notice of {case_no} is for {wanted}"
        head_told = False
        for row in steps:
            if row["person_id"] not in allowed[0] | allowed[1] | supervisors:
                return f"{_show(row)} — not on the ladder of {case_no}"
            head_told = (
                head_told
                or row["person_id"] in allowed[1]
                or any(t <= row["sent_at"] for p in allowed[1] for t in unnamed.get(p or "", []))
            )
            if row["person_id"] in supervisors - allowed[1] and not head_told:
                return f"{_show(row)} — {case_no} reached the supervisors before the head"
    return None


def merged_texts(log: Sequence[Row], facts: Facts) -> str | None:
    """A merged notice names its first cases with 、 and counts distinct cases ("A、B等5件")."""
    for row in _sent(log):
        text = _text(row)
        for match in MERGED_COUNT.finditer(text):
            count = int(match.group(1))
            head = text[: match.start()]
            named = set(CASE_NO.findall(head.split("\n")[-1]))
            if count < 3 or count < len(named):
                return f"{_show(row)} — 等{count}件 after {len(named)} named case(s)"
    return None


def no_holes(log: Sequence[Row], facts: Facts) -> str | None:
    """No body of any medium shows an empty slot."""
    for row in log:
        text = _text(row)
        for hole in HOLES:
            if hole.search(text):
                return f"{_show(row)} — matches {hole.pattern!r}"
    return None


def _window(spec: str) -> tuple[time, time]:
    first, last = spec.split("-")
    return time.fromisoformat(first), time.fromisoformat(last)


def _quiet(at: datetime, spec: str) -> bool:
    start, end = _window(spec)
    moment = _local(at).time()
    return (start <= moment or moment < end) if start > end else start <= moment < end


def quiet_hours(log: Sequence[Row], facts: Facts) -> str | None:
    """Nothing reaches anyone in their quiet hours, except verification codes."""
    people = facts.scenario.people
    for row in _sent(log):
        if row["kind"] == "verification_code" or row["channel"] == "wap":
            continue
        person = people.get(row["person_id"] or "")
        spec = (person or {}).get("quiet_hours") or facts.default_quiet
        if _quiet(row["sent_at"], spec):
            return f"{_show(row)} — inside quiet hours {spec}"
    return None


def reminder_sms_bound(log: Sequence[Row], facts: Facts) -> str | None:
    """Reminder SMS per reviewer per day stay within the bound merging keeps."""
    counts: Counter[tuple[str, Any]] = Counter()
    last: dict[tuple[str, Any], Row] = {}
    for row in _sent(log):
        if row["channel"] != "sms" or row["kind"] not in (*REMINDERS, "urge", "daily_digest"):
            continue
        key = (row["person_id"] or row["recipient"], _local(row["sent_at"]).date())
        counts[key] += 1
        last[key] = row
        if counts[key] > facts.max_reminder_sms:
            return f"{key[0]} got {counts[key]} reminder SMS on {key[1]}; the last {_show(row)}"
    return None


Invariant = Callable[[Sequence[Row], Facts], str | None]
INVARIANTS: dict[str, Invariant] = {
    "once_a_day": once_a_day,
    "no_stale_reminder": no_stale_reminder,
    "ladder": ladder,
    "merged_texts": merged_texts,
    "no_holes": no_holes,
    "quiet_hours": quiet_hours,
    "reminder_sms_bound": reminder_sms_bound,
}


def check_all(log: Sequence[Row], facts: Facts) -> dict[str, str | None]:
    """Each invariant's first counterexample, or None where it holds."""
    return {name: check(log, facts) for name, check in INVARIANTS.items()}
