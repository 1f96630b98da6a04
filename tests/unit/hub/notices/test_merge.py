"""Merged reminders read "A、B等5件": the first cases, then the number of distinct cases."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from channels.render import render
from core.notices import ChannelKind, NoticeKind
from hub.notices.merge import case_list, collapse
from hub.notices.outbox import Address, Notice

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
SMS = (Address(channel=ChannelKind.SMS, recipient="13900001111"),)


def notice(
    case_no: str,
    node_id: str = "n1",
    *,
    kind: NoticeKind = NoticeKind.NODE_OVERDUE,
    person: str = "p-li",
    department: str = "市场监督管理局",
) -> Notice:
    return Notice(
        kind=kind,
        dedupe_key=f"{kind}:{case_no}:{node_id}:{person}",
        addresses=SMS,
        context={
            "case_no": case_no,
            "matter": "食品经营许可",
            "department": department,
            "due_date": "2026-03-02",
            "link": "https://zw.gov.cn/wap/inbox/x",
            "node_name": "审查",
            "assignee_name": "李四",
            "overdue_days": "1",
        },
        not_before=NOW,
        case_no=case_no,
        node_id=node_id,
        person_id=person,
    )


def sms(merged: Notice) -> str:
    return render(merged.kind, "sms", merged.context)


def test_two_cases_read_a_and_b_without_a_count() -> None:
    """Exactly two cases merged: "A、B", no count glued to the second case number."""
    (merged,) = collapse([notice("HB260929002"), notice("HB260929003")])
    text = sms(merged)
    assert "超期提醒：HB260929002、HB260929003（食品经营许可）" in text
    assert "件" not in text.split("（")[0]


def test_the_count_is_of_cases_not_notices() -> None:
    """Two nodes of one case and two other cases make "等3件", not "等4件"."""
    merged = collapse([notice("A1"), notice("A1", "co-SCJ"), notice("B2"), notice("C3")])
    (one,) = merged
    assert sms(one).startswith("超期提醒：A1、B2等3件（")
    assert one.context["merged_case_nos"] == ["A1", "B2", "C3"]


def test_two_nodes_of_one_case_are_still_about_that_case() -> None:
    """A case's own node and its co-department's node merge into a notice naming the case."""
    (merged,) = collapse([notice("A1"), notice("A1", "co-SCJ")])
    assert merged.case_no == "A1"
    assert sms(merged).startswith("超期提醒：A1（食品经营许可）")
    assert merged.context["merged_refs"] == [["A1", "n1"], ["A1", "co-SCJ"]]


def test_yellow_alerts_merge_within_one_department_only() -> None:
    """A supervisor's case alerts for two departments stay two, each under its own name."""
    merged = collapse(
        [
            notice("A1", "", kind=NoticeKind.CASE_DUE_SOON, person="p-sup", department="市场局"),
            notice("B2", "", kind=NoticeKind.CASE_DUE_SOON, person="p-sup", department="住建局"),
            notice("C3", "", kind=NoticeKind.CASE_DUE_SOON, person="p-sup", department="市场局"),
        ]
    )
    assert [sms(m).split("（")[0] for m in merged] == [
        "黄灯预警：市场局办理的A1、C3",
        "黄灯预警：住建局办理的B2",
    ]


@given(st.lists(st.sampled_from(["A1", "B22", "C333", "D4", "E5"]), min_size=1, max_size=12))
def test_case_lists_are_well_formed(case_nos: list[str]) -> None:
    """Any mix: at most two names, "等N件" only beyond two, N the distinct cases."""
    text = case_list(case_nos)
    distinct = list(dict.fromkeys(case_nos))
    match = re.fullmatch(r"([^、等]+)(?:、([^、等]+))?(?:等(\d+)件)?", text)
    assert match is not None
    names = [n for n in match.groups()[:2] if n]
    assert names == distinct[:2]
    count = match.group(3)
    assert (int(count) if count else len(names)) == len(distinct)
    assert count is None or len(distinct) > 2


def test_a_merged_due_soon_names_the_earliest_deadline_by_its_instant() -> None:
    """ "10月1日08:00" sorts before "9月30日17:00" as text; the merge goes by the instant,
    and a day-limit node (due at the end of its date) is later than an hours node that day."""
    due = {
        "A1": ("2026-09-30T09:00:00+00:00", "9月30日17:00"),
        "B2": ("2026-10-01T00:00:00+00:00", "10月1日08:00"),
        "C3": ("2026-09-30T15:59:59+00:00", "2026-09-30"),
    }
    notices = []
    for case_no in ("B2", "C3", "A1"):
        n = notice(case_no, kind=NoticeKind.NODE_DUE_SOON)
        due_at, words = due[case_no]
        notices.append(replace(n, context=n.context | {"due_at": due_at, "due_date": words}))
    (merged,) = collapse(notices)
    assert merged.context["due_date"] == "9月30日17:00"
    assert merged.context["due_at"] == "2026-09-30T09:00:00+00:00"
    assert "环节将于9月30日17:00到期" in sms(merged)
    (day_first,) = collapse([notices[1], notices[0]])
    assert "环节将于2026-09-30到期" in sms(day_first)
