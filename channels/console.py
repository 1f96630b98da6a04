"""The console channel: writes each rendered notice to a text stream (default stdout).

The default SMS provider and what ``cuiban demo`` uses; it also serves any
other channel kind, so a centre can try Cuiban before it has provider keys.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import ClassVar, TextIO

import aiohttp

from channels.base import Clock, Receipt, utcnow
from channels.sms_length import count_segments, signed_text
from core.notices import ChannelKind, OutboundMessage

__all__ = ["ConsoleChannel", "ConsoleConfig", "format_notice"]


@dataclass(frozen=True, kw_only=True, slots=True)
class ConsoleConfig:
    """Where to write (``None``: the process's current ``sys.stdout``) and the SMS signature."""

    stream: TextIO | None = None
    sign_name: str = ""


def _masked(recipient: str) -> str:
    """138****5678: the console is a screen and a log; a full mobile number belongs in neither."""
    if len(recipient) == 11 and recipient.isdigit():
        return f"{recipient[:3]}****{recipient[7:]}"
    return recipient


def format_notice(message: OutboundMessage, *, sign_name: str = "") -> str:
    """The block written for one message: a header line, the subject, the body."""
    where = f" · {message.case_no}" if message.case_no else ""
    address = f"{message.channel.value}:{_masked(message.recipient)}"
    lines = [f"── {message.kind.value} → {address}{where} [{message.id}]"]
    if message.subject:
        lines.append(message.subject)
    body = message.body
    if message.channel is ChannelKind.SMS:
        body = signed_text(body, sign_name)
    lines.append(body.rstrip("\n"))
    if message.link and message.link not in body:
        lines.append(message.link)
    return "\n".join(lines) + "\n"


class ConsoleChannel:
    """Prints notices instead of sending them; every message is "accepted"."""

    kind: ClassVar[ChannelKind | None] = None  # serves every channel kind
    provider: ClassVar[str] = "console"
    config_type: ClassVar[type[ConsoleConfig]] = ConsoleConfig

    def __init__(
        self,
        config: ConsoleConfig | None = None,
        *,
        session: aiohttp.ClientSession | None = None,
        clock: Clock = utcnow,
    ) -> None:
        del session  # accepted for a uniform constructor; the console needs none
        self.config = config or ConsoleConfig()
        self._clock = clock

    def __repr__(self) -> str:
        return f"ConsoleChannel({self.config!r})"

    async def send(self, message: OutboundMessage) -> Receipt:
        """Write the notice and flush; the receipt id is ``console-<message id>``."""
        stream = self.config.stream or sys.stdout
        stream.write(format_notice(message, sign_name=self.config.sign_name))
        stream.flush()
        segments = 1
        if message.channel is ChannelKind.SMS:
            segments = count_segments(message.body, self.config.sign_name)
        return Receipt(
            provider_message_id=f"console-{message.id}",
            accepted_at=self._clock(),
            segments=segments,
        )

    async def aclose(self) -> None:
        """Nothing to release."""
