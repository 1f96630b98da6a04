"""SMS length and billing segments, as the Chinese carriers and providers count them.

Domestic rule (Aliyun 短信发送规则, Tencent 国内短信内容长度计算规则): every
character counts as one — Chinese, Latin, digit, punctuation, space — and the
signature 【…】, brackets included, counts too. Up to 70 characters is one
message; a longer one is a concatenated SMS billed in 67-character segments
(each segment carries a 3-character user-data header).
"""

from __future__ import annotations

__all__ = ["SEGMENT_CHARS", "SINGLE_SMS_CHARS", "count_segments", "signed_text", "sms_length"]

SINGLE_SMS_CHARS = 70
SEGMENT_CHARS = 67


def signed_text(body: str, sign_name: str = "") -> str:
    """The text as the handset shows it: ``【sign】body`` (no signature when empty)."""
    return f"【{sign_name}】{body}" if sign_name else body


def sms_length(body: str, sign_name: str = "") -> int:
    """Characters billed for ``body`` sent under ``sign_name`` (signature included)."""
    return len(signed_text(body, sign_name))


def count_segments(body: str, sign_name: str = "") -> int:
    """Billed SMS count: 1 up to 70 characters, else ceil(length / 67); 0 for nothing."""
    length = sms_length(body, sign_name)
    if length == 0:
        return 0
    if length <= SINGLE_SMS_CHARS:
        return 1
    return -(-length // SEGMENT_CHARS)
