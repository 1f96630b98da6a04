"""The demo centre's directory: two departments, their people, matters and applicants.

Shared by ``cuiban demo`` (the tour) and ``cuiban serve --demo`` (seeded data).
"""

from __future__ import annotations

from datetime import datetime

import asyncpg

from hub.privacy.vault import Vault
from hub.store import ingest as store

DEPARTMENTS = {
    "SCJG": ("市场监督管理局", "p-scjg-head", "p-jc"),
    "ZJJ": ("住房和城乡建设局", "p-zjj-head", "p-jc"),
}
PEOPLE = {
    "p-scjg-head": ("王局长", "13800000001"),
    "p-zjj-head": ("赵局长", "13800000002"),
    "p-jc": ("周监察", "13800000003"),
    "p-zhang": ("张科员", "13800000011"),
    "p-wu": ("吴科员", "13800000012"),
    "p-sun": ("孙科员", "13800000013"),
    "p-zheng": ("郑科员", "13800000014"),
}
REVIEWERS = {"SCJG": ("p-zhang", "p-wu"), "ZJJ": ("p-sun", "p-zheng")}
MATTERS = {
    "SCJG": [
        ("SC-101", "食品经营许可"),
        ("SC-102", "药品零售许可"),
        ("SC-103", "特种设备使用登记"),
    ],
    "ZJJ": [
        ("ZJ-201", "建筑工程施工许可"),
        ("ZJ-202", "商品房预售许可"),
        ("ZJ-203", "建设工程规划许可"),
    ],
}
APPLICANTS = [
    "陈晓明",
    "林美华",
    "黄志强",
    "吴建国",
    "郑丽",
    "欧阳娜娜",
    "刘洋",
    "何静",
    "罗军",
    "高雪",
    "梁伟",
    "宋佳",
]


async def seed_directory(conn: asyncpg.Connection, now: datetime, vault: Vault) -> None:
    """Put the demo people and departments (the escalation ladder) in place."""
    for person_id, (name, mobile) in PEOPLE.items():
        fields = {"name": name, "mobile": mobile, "channels": ["sms"]}
        await store.put_person(conn, person_id, fields, now=now, vault=vault)
    for code, (name, head, supervisor) in DEPARTMENTS.items():
        await store.put_department(
            conn, code, {"name": name, "head": head, "supervisors": [supervisor]}, now=now
        )
