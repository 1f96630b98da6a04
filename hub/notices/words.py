"""The words Cuiban shows people, and how it hides what they must not see, in one place.

Case statuses, message statuses, suspension reasons and time-limit units as
applicants, reviewers and supervisors read them (SMS replies, WAP and
supervision pages, notices, digests), and the masks for names, mobile numbers and
other addresses (pages, webhooks, logs).
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, tzinfo

from core.notices import MessageStatus

# The approval system's case status as people read it (SMS ``CX`` replies, WAP, supervision).
STATUS_WORDS = {
    "pending": "待受理",
    "applied": "已申请，待受理",
    "accepted": "办理中",
    "decided": "已作出决定",
    "ready_for_pickup": "待领取",
    "picked_up": "已领取",
    "closed": "已办结",
    "withdrawn": "已撤回",
}

# A message's status as the applicant reads it on the case page.
SEND_WORDS = {
    MessageStatus.QUEUED: "待发送",
    MessageStatus.SENDING: "发送中",
    MessageStatus.SENT: "已发送",
    MessageStatus.DELIVERED: "已送达",
    MessageStatus.FAILED: "发送重试中",
    MessageStatus.DEAD: "发送失败",
    MessageStatus.CANCELLED: "已取消",
}

# The approval system sends the reason code; applicants read the Chinese.
SUSPENSION_REASONS = {
    "hearing": "听证",
    "expert_review": "专家评审",
    "testing": "检验检测",
    "supplement": "补正材料",
    "inspection": "现场核查",
    "quarantine": "检疫",
}

# A notice's kind as its reader sees it (WAP inbox and timeline, supervision pages): never the code.
NOTICE_WORDS = {
    "case_accepted": "受理通知",
    "case_suspended": "办理中止告知",
    "case_resumed": "恢复办理告知",
    "pickup_notice": "领取通知",
    "evaluation_prompt": "评价邀请",
    "status_reply": "进度查询回复",
    "appointment_slots": "预约时段",
    "appointment_reminder": "预约提醒",
    "appointment_confirmed": "预约成功",
    "green_channel": "绿色通道通知",
    "node_due_soon": "环节即将到期提醒",
    "node_overdue": "环节超期催办",
    "case_due_soon": "办件即将到期提醒",
    "case_overdue": "办件超期督办",
    "urge": "催办",
    "daily_digest": "每日待办汇总",
    "announcement": "公告",
    "complaint": "投诉",
    "deadline_unknown": "时限无法计算",
    "verification_code": "验证码",
    "monthly_report": "电子监察月报",
    "project_digest": "项目审批进展",
    "promised_date_changed": "承诺日期调整",
    "calendar_missing": "节假日安排未导入",
    "poor_rating": "差评整改",
    "rectification_due_soon": "整改即将到期提醒",
    "rectification_overdue": "整改超期督办",
    "rectification_reply": "整改答复",
}

CHANNEL_WORDS = {
    "sms": "短信",
    "email": "邮件",
    "wecom": "企业微信",
    "wechat_mp": "微信",
    "wap": "站内",
}


def notice_words(kind: str) -> str:
    """A notice kind in Chinese; an unknown kind reads 通知, never as its code."""
    return NOTICE_WORDS.get(kind, "通知")


# 个自然日 rather than 天: next to 个工作日 it says which days count.
UNIT_WORDS = {"working_days": "个工作日", "calendar_days": "个自然日", "hours": "小时"}


def status_words(status: str) -> str:
    """A case status's words, or the status itself when it is not one we know."""
    return STATUS_WORDS.get(status, status)


def suspension_reason(code: str) -> str:
    """The reason's words, or the code itself when it is not one we know."""
    return SUSPENSION_REASONS.get(code, code)


def limit_words(value: object, unit: str | None) -> str:
    """``20个工作日``; an unknown unit shows the number alone, a missing number nothing."""
    if value is None or value == "":
        return ""
    return f"{value}{UNIT_WORDS.get(str(unit), '')}"


# --- masks ----------------------------------------------------------------------------------

_MOBILE_IN_TEXT = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")


#: Two-character (复姓) surnames, after 《百家姓》; a name starting with one keeps both.
COMPOUND_SURNAMES = frozenset(
    """
    欧阳 司马 诸葛 上官 东方 皇甫 尉迟 公孙 慕容 长孙 宇文 司徒 司空 夏侯 轩辕 令狐
    钟离 独孤 南宫 西门 东门 端木 百里 呼延 太史 申屠 澹台 公冶 宗政 濮阳 淳于 单于
    赫连 闻人 万俟 拓跋 东郭 南门 第五 左丘 梁丘 羊舌 微生 公羊 乐正 仲孙 巫马 公西
    漆雕 壤驷 谷梁 段干 归海 公良 亓官 颛孙 子车 司寇 闾丘 鲜于 叱干 贺兰 完颜
    """.split()  # noqa: SIM905 - rows of 《百家姓》 read better than 63 quoted strings
)


def surname(name: str) -> str:
    """The family name: a compound one (欧阳) when the name is longer, else one character."""
    if len(name) > 2 and name[:2] in COMPOUND_SURNAMES:
        return name[:2]
    return name[:1]


def mask_name(name: str) -> str:
    """张* / 欧阳*: the family name stays; the given name and its length are hidden."""
    name = name.strip()
    if len(name) <= 1:
        return name
    return surname(name) + "*"


def mask_mobile(number: str) -> str:
    """138****5678: enough to recognise, not enough to call; anything shorter or odder keeps
    only its last two characters."""
    if len(number) >= 11:
        return number[:3] + "*" * (len(number) - 7) + number[-4:]
    return "*" * max(len(number) - 2, 0) + number[-2:]


def mask_mobiles_in(text: str) -> str:
    """Every mainland mobile number inside free text masked (log lines, comments, bodies)."""
    return _MOBILE_IN_TEXT.sub(lambda found: mask_mobile(found.group()), text)


def mask_address(channel: str | None, recipient: str | None) -> str | None:
    """Enough to recognise the address, never the whole of it: 138****5678, z***@example.cn."""
    if not recipient:
        return None
    if channel == "sms":
        return mask_mobile(recipient)
    if channel == "email" and "@" in recipient:
        local, _, domain = recipient.partition("@")
        return f"{local[:1]}***@{domain}"
    if len(recipient) > 6:
        return f"{recipient[:2]}***{recipient[-2:]}"
    return "***"


# --- digests -------------------------------------------------------------------------------


def short_date(iso_day: str) -> str:
    """A date "2026-10-08" as "10-08": enough within a digest read that morning."""
    return iso_day[5:] if len(iso_day) == len("2026-10-08") else iso_day


def digest_line(case_no: str, matter: str, node_name: str, due_date: str) -> str:
    """One case of a digest list: number, matter, node and the day it is due."""
    what = f"（{matter}）" if matter else ""
    return f"{case_no}{what}“{node_name}”{due_date}到期"


def digest_sms_list(label: str, cases: list[tuple[str, str]]) -> str:
    """The SMS digest's part for ``label`` (临期/超期): how many, and the first case with its date.

    One whole phrase (an SMS provider template variable, ≤ 35 characters for a usual
    case number): "超期2件：HB2609290031（10-08到期）等", or "无超期件".
    """
    if not cases:
        return f"无{label}件"
    case_no, due_date = cases[0]
    more = "等" if len(cases) > 1 else ""
    return f"{label}{len(cases)}件：{case_no}（{short_date(due_date)}到期）{more}"


# --- deadlines ------------------------------------------------------------------------------

#: Said where a reminder's deadline is not known at all (never an empty "将于到期").
DUE_PENDING = "时限待定"


def due_words(unit: str | None, due_date: date | None, due_at: datetime | None, tz: tzinfo) -> str:
    """When a deadline falls, as a reminder says it: "2026-09-24", or "9月24日14:10" for hours.

    An hours node is due at an instant, often later the same day: the date alone
    ("将于2026-09-24到期" for 14:10 today) leaves the reviewer guessing. Day limits end at
    23:59:59 of their date, so the date stays as it always read.

    Absolute, never "今天"/"明天": the text is rendered when the reminder is queued,
    and quiet hours or a day off may hold it until after midnight, when "今天" would
    be false. No year: an hours deadline is days away at most, and the SMS is short.
    """
    if unit == "hours" and due_at is not None:
        local = due_at.astimezone(tz)
        return f"{local.month}月{local.day}日{local:%H:%M}"
    if due_date is not None:
        return due_date.isoformat()
    if due_at is not None:
        return due_at.astimezone(tz).date().isoformat()
    return DUE_PENDING


# --- overdue --------------------------------------------------------------------------------


def overdue_for(unit: str | None, *, working_days: int, elapsed: timedelta) -> str:
    """How long a deadline is past, in its own unit: "2个工作日", "3小时", "不足1小时".

    Hours limits count elapsed hours (a 4-hour node is not "1个工作日" late at 13:00:01
    the same day); day limits count working days, at least one once overdue.
    """
    if unit == "hours":
        hours = int(elapsed.total_seconds() // 3600)
        return f"{hours}小时" if hours >= 1 else "不足1小时"
    return f"{max(1, working_days)}个工作日"
