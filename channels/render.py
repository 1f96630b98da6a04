"""Render notices from ``templates/<kind>/<channel>.j2`` and compose outbound messages.

Template channels: ``sms``, ``email.txt``, ``email.html``, ``wecom``,
``wechat_mp``, ``wap``. Conventions the adapters rely on:

* ``sms`` is one line without the 【signature】. Its variables, in order of
  first appearance, are the provider-template parameters: register the same
  text at Aliyun as ``${matter}…`` and at Tencent as ``{1}…``.
* ``email.txt`` and ``wecom``/``wap``: the first line is the subject / card
  title, the rest is the body.
* ``wechat_mp``: one ``key: value`` line per template-message data field.
* Only ``email.html`` is autoescaped; every undefined variable is an error
  (``StrictUndefined``), so a typo fails a test rather than a citizen's SMS.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache

import jinja2
from jinja2 import nodes

from channels.phrases import with_phrases
from channels.sms_length import count_segments
from core.errors import ConfigError, InputError
from core.notices import ChannelKind, NoticeKind, OutboundMessage

__all__ = [
    "EXAMPLES",
    "TEMPLATE_CHANNELS",
    "Rendered",
    "check_sms_templates",
    "compose",
    "environment",
    "render",
    "render_notice",
    "sms_params",
]

TEMPLATE_CHANNELS = ("sms", "email.txt", "email.html", "wecom", "wechat_mp", "wap")

# Example contexts: documentation of each kind's variables, the start-up check
# that every template renders, and the demo's sample data.
_COMMON = {
    "case_no": "NJ20250312-0042",
    "matter": "食品经营许可",
    "link": "https://zw.example.gov.cn/wap/c/AbC123",
}
EXAMPLES: Mapping[NoticeKind, Mapping[str, str]] = {
    NoticeKind.CASE_ACCEPTED: {**_COMMON, "query_code": "738215", "due_date": "2025-03-26"},
    # A date not known yet reads "待定，确定后另行告知" (hub/notices/promised.py).
    NoticeKind.GREEN_CHANNEL: {**_COMMON, "limit": "5个工作日", "due_date": "2025-03-19"},
    NoticeKind.NODE_DUE_SOON: {**_COMMON, "node_name": "现场核查", "due_date": "2025-03-14"},
    NoticeKind.NODE_OVERDUE: {
        **_COMMON,
        "node_name": "现场核查",
        "due_date": "2025-03-14",
        "overdue_days": "2",
        "assignee_name": "王伟",
    },
    NoticeKind.CASE_DUE_SOON: {**_COMMON, "department": "市场监管局", "due_date": "2025-03-26"},
    NoticeKind.CASE_OVERDUE: {
        **_COMMON,
        "department": "市场监管局",
        "due_date": "2025-03-26",
        "overdue_days": "1",
    },
    NoticeKind.URGE: {
        **_COMMON,
        "node_name": "审查",
        "by_name": "督查科",
        "note": "申请人来电询问",
    },
    NoticeKind.CASE_SUSPENDED: {**_COMMON, "reason": "专家评审"},
    NoticeKind.CASE_RESUMED: {**_COMMON, "due_date": "2025-04-02"},
    NoticeKind.PICKUP_NOTICE: {
        **_COMMON,
        "location": "市民中心B区3号窗口",
        "hours": "工作日9:00-17:00",
        "documents": "身份证原件",
    },
    NoticeKind.EVALUATION_PROMPT: {**_COMMON},
    NoticeKind.DAILY_DIGEST: {
        "name": "王伟",
        "open_count": "6",
        "due_soon_count": "2",
        "overdue_count": "1",
        "overdue_list": "超期1件：NJ20250312-0040（03-12到期）",
        "due_soon_list": "临期2件：NJ20250312-0042（03-14到期）等",
        "overdue_cases": "NJ20250312-0040（食品经营许可）“现场核查”2025-03-12到期",
        "due_soon_cases": "NJ20250312-0042（食品经营许可）“审查”2025-03-14到期\n"
        "NJ20250312-0043（食品经营许可）“审查”2025-03-14到期",
        "link": "https://zw.example.gov.cn/wap/inbox/XyZ789",
    },
    NoticeKind.STATUS_REPLY: {
        **_COMMON,
        "status": "办理中",
        "node_name": "审查",
        "due_date": "2025-03-26",
    },
    NoticeKind.ANNOUNCEMENT: {
        "title": "系统维护",
        "content": "3月15日20:00-22:00网上办事大厅暂停服务。",
        "link": "https://zw.example.gov.cn/wap/",
    },
    NoticeKind.VERIFICATION_CODE: {
        "code": "482913",
        "minutes": "5",
        "link": "https://zw.example.gov.cn/wap/",
    },
    NoticeKind.APPOINTMENT_SLOTS: {
        **_COMMON,
        "slots": "1.3月16日上午 2.3月16日下午 3.3月17日上午",
    },
    NoticeKind.APPOINTMENT_CONFIRMED: {
        **_COMMON,
        "slot": "3月16日上午（09:00-12:00）",
        "location": "市民中心B区3号窗口",
    },
    NoticeKind.APPOINTMENT_REMINDER: {
        **_COMMON,
        "slot": "3月16日上午",
        "location": "市民中心B区3号窗口",
    },
    NoticeKind.COMPLAINT: {**_COMMON, "content": "窗口人员要求重复提交材料"},
    NoticeKind.DEADLINE_UNKNOWN: {**_COMMON, "year": "2027"},
    NoticeKind.CALENDAR_MISSING: {
        "year": "2027",
        "count": "12",
        "link": "https://zw.example.gov.cn/supervise/",
    },
    NoticeKind.PROMISED_DATE_CHANGED: {
        **_COMMON,
        "year": "2027",
        "due_date": "2027-02-22",
        "previous": "2027-02-19（暂按法定节假日推算）",
    },
    NoticeKind.MONTHLY_REPORT: {
        "title": "电子监察月报 2026-10",
        "content": "受理1234件，办结1190件，按时率97.9%。",
        "link": "https://zw.example.gov.cn/supervise/reports/2026-10",
    },
    NoticeKind.POOR_RATING: {
        **_COMMON,
        "department": "市场监管局",
        "rating": "非常不满意（1分）",
        "applicant": "张*",
        "mobile": "138****5678",
        "comment": "窗口让我跑了三趟",
        "verify_due_date": "2025-03-13",
        "rectify_due_date": "2025-04-02",
    },
    NoticeKind.RECTIFICATION_DUE_SOON: {
        **_COMMON,
        "department": "市场监管局",
        "stage": "整改答复",
        "due_date": "2025-04-02",
    },
    NoticeKind.RECTIFICATION_OVERDUE: {
        **_COMMON,
        "department": "市场监管局",
        "stage": "回访核实",
        "due_date": "2025-03-13",
        "overdue_days": "1",
    },
    NoticeKind.RECTIFICATION_REPLY: {
        **_COMMON,
        "department": "市场监管局",
        "outcome": "已整改",
        "reply": "已对窗口人员批评教育，并改为一次告知。",
    },
    NoticeKind.PROJECT_DIGEST: {
        "title": "项目动态：某产业园（3 项）",
        "content": "施工许可已受理",
        "link": "https://zw.example.gov.cn/supervise/projects/P-1",
    },
}


@cache
def environment() -> jinja2.Environment:
    """The Jinja environment over the installed ``templates`` package (one per process)."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader("templates", "."),
        autoescape=jinja2.select_autoescape(
            enabled_extensions=("html.j2",), default_for_string=False, default=False
        ),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        # Templates ship with the package: checking their mtime on every render (Jinja's
        # default) was a third of enqueue's time in bench/send_throughput.py.
        auto_reload=False,
    )


def _template_name(kind: NoticeKind | str, channel: str) -> str:
    kind = NoticeKind(kind)
    if channel not in TEMPLATE_CHANNELS:
        raise InputError(f"no template channel {channel!r}; expected one of {TEMPLATE_CHANNELS}")
    return f"{kind.value}/{channel}.j2"


_BLANK_RUNS = re.compile(r"\n{3,}")


def render(kind: NoticeKind | str, channel: str, context: Mapping[str, object]) -> str:
    """Render one template; trailing spaces and runs of blank lines are tidied away.

    A variable the template needs but ``context`` lacks raises :class:`InputError`;
    phrases for optional fields (:mod:`channels.phrases`) are derived first.
    """
    template = environment().get_template(_template_name(kind, channel))
    try:
        text = template.render(**with_phrases(context))
    except jinja2.UndefinedError as exc:
        raise InputError(f"{kind}/{channel}: {exc.message}") from exc
    lines = [line.rstrip() for line in text.strip().splitlines()]
    if channel == "sms":
        return " ".join(line for line in lines if line)
    return _BLANK_RUNS.sub("\n\n", "\n".join(lines))


@dataclass(frozen=True, kw_only=True, slots=True)
class Rendered:
    """The parts of a notice for one channel."""

    body: str
    subject: str | None = None
    html: str | None = None
    data: Mapping[str, str] | None = None


def _split_title(text: str) -> tuple[str, str]:
    title, _, rest = text.partition("\n")
    return title.strip(), "\n".join(line for line in rest.splitlines() if line.strip())


def parse_data_lines(text: str) -> dict[str, str]:
    """Parse ``key: value`` lines (the ``wechat_mp`` template) into an ordered dict."""
    data: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip():
            data[key.strip()] = value.strip()
    return data


def render_notice(
    kind: NoticeKind | str, channel: ChannelKind | str, context: Mapping[str, object]
) -> Rendered:
    """Render every part a channel needs: SMS text; e-mail subject, text and HTML; ..."""
    channel = ChannelKind(channel)
    if channel is ChannelKind.SMS:
        return Rendered(body=render(kind, "sms", context))
    if channel is ChannelKind.EMAIL:
        text = render(kind, "email.txt", context)
        subject, _, body = text.partition("\n")
        return Rendered(
            subject=subject.strip(),
            body=body.strip() + "\n",
            html=render(kind, "email.html", context),
        )
    if channel is ChannelKind.WECHAT_MP:
        text = render(kind, "wechat_mp", context)
        return Rendered(body=text, data=parse_data_lines(text))
    title, body = _split_title(render(kind, channel.value, context))
    return Rendered(subject=title, body=body)


@cache
def sms_params(kind: NoticeKind | str) -> tuple[str, ...]:
    """The variables of ``kind``'s SMS template in order of first appearance."""
    env = environment()
    name = _template_name(kind, "sms")
    source, _, _ = env.loader.get_source(env, name)  # type: ignore[union-attr]
    seen: dict[str, None] = {}
    for node in env.parse(source).find_all(nodes.Name):
        if node.ctx == "load":
            seen.setdefault(node.name, None)
    return tuple(seen)


def compose(
    *,
    message_id: str,
    kind: NoticeKind | str,
    channel: ChannelKind | str,
    recipient: str,
    context: Mapping[str, object],
    person_id: str | None = None,
    case_no: str | None = None,
) -> OutboundMessage:
    """Render ``kind`` for ``channel`` and wrap it as an :class:`OutboundMessage`.

    This is what the outbox dispatcher calls before handing the message to an
    adapter; ``context["link"]`` (the WAP page) becomes ``message.link``.
    """
    kind = NoticeKind(kind)
    channel = ChannelKind(channel)
    rendered = render_notice(kind, channel, context)
    params: Mapping[str, str] = {}
    if channel is ChannelKind.SMS:
        full = with_phrases(context)
        params = {name: str(full[name]) for name in sms_params(kind)}
    elif rendered.data is not None:
        params = rendered.data
    link = context.get("link")
    return OutboundMessage(
        id=message_id,
        kind=kind,
        channel=channel,
        recipient=recipient,
        person_id=person_id,
        case_no=case_no if case_no is not None else _opt_str(context.get("case_no")),
        body=rendered.body,
        subject=rendered.subject,
        html=rendered.html,
        link=str(link) if link else None,
        params=params,
        context=context,
    )


def _opt_str(value: object) -> str | None:
    return None if value is None else str(value)


def check_sms_templates(
    *,
    sign_name: str,
    max_segments: int,
    param_chars: Mapping[str, int] | None = None,
    default_param_chars: int = 20,
    kinds: Iterable[NoticeKind] = tuple(NoticeKind),
) -> dict[NoticeKind, int]:
    """Worst-case segment count per kind; :class:`ConfigError` if one can exceed the maximum.

    Each variable is filled with its longest allowed value (``param_chars``, else
    ``default_param_chars``); run at start-up so a template that could be split
    into too many billed messages stops the hub before it sends anything.
    """
    limits = dict(param_chars or {})
    worst: dict[NoticeKind, int] = {}
    for kind in kinds:
        context = {name: "字" * limits.get(name, default_param_chars) for name in sms_params(kind)}
        segments = count_segments(render(kind, "sms", context), sign_name)
        worst[kind] = segments
        if segments > max_segments:
            raise ConfigError(
                f"templates/{kind.value}/sms.j2 can reach {segments} SMS segments "
                f"with signature 【{sign_name}】; the maximum is {max_segments}"
            )
    return worst
