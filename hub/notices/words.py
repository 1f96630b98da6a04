"""The words Cuiban shows people, in one place: suspension reasons, time-limit units."""

from __future__ import annotations

# The approval system sends the reason code; applicants read the Chinese.
SUSPENSION_REASONS = {
    "hearing": "听证",
    "expert_review": "专家评审",
    "testing": "检验检测",
    "supplement": "补正材料",
    "inspection": "现场核查",
    "quarantine": "检疫",
}

UNIT_WORDS = {"working_days": "个工作日", "calendar_days": "天", "hours": "小时"}


def suspension_reason(code: str) -> str:
    """The reason's words, or the code itself when it is not one we know."""
    return SUSPENSION_REASONS.get(code, code)
